//! Derived dimensions: low-cardinality values computed from one field of the
//! anonymized record, so statistics group by "which endpoint" and "which kind
//! of outcome" instead of by per-user URLs and exact status codes.
//!
//! - `path_template`: drops the query string and fragment (also when
//!   percent-encoded) and matrix parameters, and replaces every path segment
//!   that the shared identifier classifier ([`crate::classify`]) flags, judged
//!   percent-decoded, by its placeholder (`{email}`, `{phone}`, `{id}`,
//!   `{token}`, ...), and every other all-digit segment by `{id}`
//!   (`/api/v1/users/4411/orders?page=2` -> `/api/v1/users/{id}/orders`,
//!   `/u/alice%40example.com;s=1` -> `/u/{email}`). The `url` action uses the
//!   same classifier, so a template never holds a segment it would hide; the
//!   extra all-digit rule only merges groups.
//! - `status_class`: an HTTP status 100..=599, as a number or 3-digit text,
//!   becomes `"1xx"` ..= `"5xx"`; anything else is missing (JSON null).

use std::collections::HashMap;

use super::extract::{Record, Val};
use super::spec::DeriveKind;

use crate::classify::{cut_segment, segment_kind, IdKind};

/// Templates of recently seen paths, per worker: a path's template is a
/// function of the path before its query string, and an access log has few
/// distinct paths, so the classifier runs once per path instead of once per
/// record. Paths are remembered with the digits of their short all-digit
/// segments written as `0` (`/p/17` and `/p/42` are both `/p/00`): such a
/// segment becomes `{id}` whatever its digits, and numbers that short are
/// kept by the `url` action, so each would otherwise be a first sighting.
/// Holds anonymized output values only (the statistics read nothing
/// else); bounded, emptied when full.
#[derive(Debug, Default)]
pub(crate) struct PathTemplates {
    known: HashMap<Box<[u8]>, Box<str>, foldhash::fast::RandomState>,
    /// The current path with its short numbers masked.
    masked: Vec<u8>,
}

/// Paths whose template a [`PathTemplates`] keeps.
const PATH_TEMPLATES_KEPT: usize = 4096;

impl PathTemplates {
    /// Writes the template of `path` into `out`, as [`path_template`] does.
    fn write(&mut self, path: &str, out: &mut String) {
        let key = &path[..memchr::memchr2(b'?', b'#', path.as_bytes()).unwrap_or(path.len())];
        let masked = mask_short_numbers(key, &mut self.masked);
        let remembered = if masked { self.masked.as_slice() } else { key.as_bytes() };
        if let Some(t) = self.known.get(remembered) {
            out.push_str(t);
            return;
        }
        path_template(key, out);
        if self.known.len() >= PATH_TEMPLATES_KEPT {
            self.known.clear();
        }
        self.known.insert(remembered.into(), out.as_str().into());
    }
}

/// Copies `path` into `out` with the digits of every all-digit segment
/// shorter than [`crate::classify::MIN_DIGITS`] written as `0` (a segment
/// [`path_template`] turns into `{id}` whatever its digits); `false`, and
/// `out` not to be read, when the path has none.
fn mask_short_numbers(path: &str, out: &mut Vec<u8>) -> bool {
    let b = path.as_bytes();
    let mut found = false;
    let (mut start, mut digits) = (0, true);
    for i in 0..=b.len() {
        match b.get(i) {
            Some(b'/') | None => {
                if digits && i > start && i - start < crate::classify::MIN_DIGITS {
                    if !found {
                        out.clear();
                        out.extend_from_slice(b);
                        found = true;
                    }
                    out[start..i].fill(b'0');
                }
                (start, digits) = (i + 1, true);
            }
            Some(c) => digits &= c.is_ascii_digit(),
        }
    }
    found
}

/// Computes `kind` from `v` into `out` (cleared first); `false` when the input
/// has the wrong type or shape, i.e. the derived value is missing.
pub(crate) fn derive(
    kind: DeriveKind,
    rec: &Record,
    v: Val,
    templates: &mut PathTemplates,
    out: &mut String,
) -> bool {
    out.clear();
    match kind {
        DeriveKind::PathTemplate => match v {
            Val::Str(..) => {
                templates.write(rec.text(v), out);
                true
            }
            _ => false,
        },
        DeriveKind::StatusClass => {
            let code = match v {
                Val::Int(i) => Some(i),
                Val::UInt(u) => i64::try_from(u).ok(),
                Val::Str(..) => status_from_text(rec.text(v)),
                _ => None,
            };
            match code.and_then(status_class) {
                Some(class) => {
                    out.push_str(class);
                    true
                }
                None => false,
            }
        }
    }
}

/// Writes the template of a URL path into `out`.
pub(crate) fn path_template(path: &str, out: &mut String) {
    let end = memchr::memchr2(b'?', b'#', path.as_bytes()).unwrap_or(path.len());
    for (i, raw) in path[..end].split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let (segment, ends_path) = cut_segment(raw);
        out.push_str(segment_template(segment).unwrap_or(segment));
        if ends_path {
            return;
        }
    }
}

/// The placeholder of an identifier-like segment (classifier, or all digits).
fn segment_template(segment: &str) -> Option<&'static str> {
    let b = segment.as_bytes();
    if !b.is_empty() && b.iter().all(u8::is_ascii_digit) && b.len() < crate::classify::MIN_DIGITS {
        return Some(IdKind::Id.placeholder());
    }
    segment_kind(segment).map(IdKind::placeholder)
}

fn status_from_text(s: &str) -> Option<i64> {
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

fn status_class(code: i64) -> Option<&'static str> {
    Some(match code {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(p: &str) -> String {
        let mut out = String::new();
        path_template(p, &mut out);
        out
    }

    #[test]
    fn path_templates() {
        for (input, expected) in [
            ("/api/v1/users/4411/orders?page=2", "/api/v1/users/{id}/orders"),
            ("/api/v1/users/4411/orders", "/api/v1/users/{id}/orders"),
            ("/files/deadbeef01/raw#frag", "/files/{id}/raw"),
            ("/files/deadbee/raw", "/files/deadbee/raw"),
            ("/o/123e4567-e89b-12d3-a456-426614174000/x", "/o/{id}/x"),
            ("/o/123e4567-e89b-12d3-a456-42661417400g", "/o/{token}"),
            ("/o/123e4567-e89b-12d3", "/o/{token}"),
            ("/", "/"),
            ("", ""),
            ("?q=1", ""),
            ("/a//b/", "/a//b/"),
            ("/v2/42", "/v2/{id}"),
            ("/caf\u{e9}/7", "/caf\u{e9}/{id}"),
            ("/api/v1/users/alice.wang@example.com/orders", "/api/v1/users/{email}/orders"),
            ("/u/alice%40example.com;s=1/x", "/u/{email}/x"),
            ("/shop;jsessionid=ABC123DEF456/cart", "/shop/cart"),
            ("/a%3Ftoken=secret&page=2", "/a"),
            ("/a%2F%3ftoken=secret/b", "/a%2F"),
            ("/p/13800138000", "/p/{phone}"),
            ("/p/%2B8613800138000", "/p/{phone}"),
            ("/c/4111111111111111", "/c/{card}"),
            ("/id/11010519491231002X", "/id/{cn_id}"),
            ("/h/203.0.113.77", "/h/{ip}"),
            ("/s/Dm9x2LqPzR4tW8vK", "/s/{token}"),
            ("/a/u_6113088066/b", "/a/{id}/b"),
            ("/a/%EF%BC%91%EF%BC%93%EF%BC%98%EF%BC%90%EF%BC%90%EF%BC%91%EF%BC%93%EF%BC%98%EF%BC%90%EF%BC%90%EF%BC%90", "/a/{phone}"),
            ("/a/%252540x", "/a/"),
        ] {
            assert_eq!(template(input), expected, "{input}");
        }
    }

    proptest::proptest! {
        /// No segment of a template, percent-decoded, is one the shared
        /// classifier flags (it is a placeholder or harmless), whatever mix
        /// of identifiers, encodings and matrix parameters the path had.
        #[test]
        fn templates_never_hold_a_flagged_segment(
            pieces in proptest::collection::vec(
                "[a-z]{1,6}|[0-9]{1,12}|[a-z]{2,6}(@|%40)[a-z]{2,6}\\.com|1[3-9][0-9]{9}|[A-Za-z0-9]{16,24}|;[a-z]=[A-Z0-9]{4}|%3[Bb]x=[0-9]{6}",
                0..6,
            ),
        ) {
            let path = format!("/{}", pieces.join("/"));
            let out = template(&path);
            for segment in out.split('/') {
                let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
                let placeholder = decoded.starts_with('{') && decoded.ends_with('}');
                proptest::prop_assert!(
                    placeholder || crate::classify::classify(&decoded).is_none(),
                    "{} -> {}", path, out
                );
                proptest::prop_assert!(!segment.contains(';'));
            }
        }
    }

    #[test]
    fn status_classes() {
        let mut rec = Record::default();
        let mut out = String::new();
        for (v, expected) in [
            (Val::UInt(404), Some("4xx")),
            (Val::Int(200), Some("2xx")),
            (Val::UInt(599), Some("5xx")),
            (Val::UInt(100), Some("1xx")),
            (Val::UInt(99), None),
            (Val::UInt(600), None),
            (Val::Int(-404), None),
            (Val::UInt(u64::MAX), None),
            (Val::Float(404.0), None),
            (Val::Null, None),
            (Val::Missing, None),
        ] {
            let ok =
                derive(DeriveKind::StatusClass, &rec, v, &mut PathTemplates::default(), &mut out);
            assert_eq!(ok.then_some(out.as_str()), expected, "{v:?}");
        }
        for (text, expected) in
            [("503", Some("5xx")), ("50", None), ("5033", None), ("x03", None), ("099", None)]
        {
            let v = rec.push_str(text);
            let ok =
                derive(DeriveKind::StatusClass, &rec, v, &mut PathTemplates::default(), &mut out);
            assert_eq!(ok.then_some(out.as_str()), expected, "{text}");
        }
    }

    #[test]
    fn path_template_needs_a_string() {
        let mut rec = Record::default();
        let mut out = String::from("stale");
        let t = &mut PathTemplates::default();
        assert!(!derive(DeriveKind::PathTemplate, &rec, Val::UInt(1), t, &mut out));
        assert!(out.is_empty());
        let v = rec.push_str("/u/12?x");
        assert!(derive(DeriveKind::PathTemplate, &rec, v, t, &mut out));
        assert_eq!(out, "/u/{id}");
    }

    #[test]
    fn short_numbers_share_one_remembered_path() {
        let t = &mut PathTemplates::default();
        for p in ["/p/17/x", "/p/18/x?q", "/p/99/x#f"] {
            let mut out = String::new();
            t.write(p, &mut out);
            assert_eq!(out, "/p/{id}/x", "{p}");
        }
        assert_eq!(t.known.len(), 1);
        for p in ["/p/{id}/x", "/p/0001/x", "/p/12345/x", "/p/00/x"] {
            let mut out = String::new();
            t.write(p, &mut out);
            assert_eq!(out, template(p), "{p}");
        }
        assert_eq!(t.known.len(), 4, "17, 18, 99 and 00 are one path");
        let mut masked = Vec::new();
        assert!(!mask_short_numbers("/a/b12/12345/", &mut masked));
        assert!(mask_short_numbers("/7//a/99", &mut masked));
        assert_eq!(masked, b"/0//a/00");
        assert!(mask_short_numbers("12/x/3", &mut masked));
        assert_eq!(masked, b"00/x/0");
    }

    proptest::proptest! {
        /// Remembered templates (through the masked paths) equal the
        /// computed ones, in any order and with the cache warm.
        #[test]
        fn remembered_templates_equal_computed_ones_for_any_mix(
            paths in proptest::collection::vec(
                proptest::collection::vec(
                    "[0-9]{1,6}|\\{id\\}|[a-z]{1,4}|[0-9]{1,3};[a-z]=1|[0-9]{1,2}%3[Bb]|%3[Ff]|[0-9]{2}%23|u_[0-9]{10}|\\.|",
                    0..6,
                ),
                1..12,
            ),
        ) {
            let t = &mut PathTemplates::default();
            for round in 0..2 {
                for pieces in &paths {
                    let p = format!("/{}", pieces.join("/"));
                    let (mut cached, mut direct) = (String::new(), String::new());
                    t.write(&p, &mut cached);
                    path_template(&p, &mut direct);
                    proptest::prop_assert_eq!(cached, direct, "{} (round {})", p, round);
                }
            }
        }
    }

    #[test]
    fn remembered_templates_equal_computed_ones() {
        let t = &mut PathTemplates::default();
        let paths =
            ["/u/12?x", "/u/12#f", "/u/12", "/a%3Fb/7?q", "/u/alice%40example.com;s=1", "/u/12"];
        for round in 0..2 {
            for p in paths.iter().chain(&["/x/1/y/2"; 1]) {
                let (mut cached, mut direct) = (String::new(), String::new());
                t.write(p, &mut cached);
                path_template(p, &mut direct);
                assert_eq!(cached, direct, "{p} (round {round})");
            }
        }
        // Bounded: emptied when full.
        for i in 0..PATH_TEMPLATES_KEPT + 10 {
            t.write(&format!("/p{i}/1"), &mut String::new());
        }
        assert!(t.known.len() <= PATH_TEMPLATES_KEPT);
    }
}
