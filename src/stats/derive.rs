//! Derived dimensions: low-cardinality values computed from one field of the
//! anonymized record, so statistics group by "which endpoint" and "which kind
//! of outcome" instead of by per-user URLs and exact status codes.
//!
//! - `path_template`: drops the query string and fragment, and replaces every
//!   path segment that is numeric, hexadecimal with at least 8 digits, or a
//!   UUID by `{id}` (`/api/v1/users/4411/orders?page=2` ->
//!   `/api/v1/users/{id}/orders`).
//! - `status_class`: an HTTP status 100..=599, as a number or 3-digit text,
//!   becomes `"1xx"` ..= `"5xx"`; anything else is missing (JSON null).

use super::extract::{Record, Val};
use super::spec::DeriveKind;

/// Placeholder for identifier-like path segments.
const ID: &str = "{id}";

/// Computes `kind` from `v` into `out` (cleared first); `false` when the input
/// has the wrong type or shape, i.e. the derived value is missing.
pub(crate) fn derive(kind: DeriveKind, rec: &Record, v: Val, out: &mut String) -> bool {
    out.clear();
    match kind {
        DeriveKind::PathTemplate => match v {
            Val::Str(..) => {
                path_template(rec.text(v), out);
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
    let end = path.find(['?', '#']).unwrap_or(path.len());
    for (i, segment) in path[..end].split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(if is_identifier(segment) { ID } else { segment });
    }
}

fn is_identifier(segment: &str) -> bool {
    let b = segment.as_bytes();
    if b.is_empty() {
        return false;
    }
    b.iter().all(u8::is_ascii_digit)
        || (b.len() >= 8 && b.iter().all(u8::is_ascii_hexdigit))
        || is_uuid(b)
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
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
            ("/o/123e4567-e89b-12d3-a456-42661417400g", "/o/123e4567-e89b-12d3-a456-42661417400g"),
            ("/", "/"),
            ("", ""),
            ("?q=1", ""),
            ("/a//b/", "/a//b/"),
            ("/v2/42", "/v2/{id}"),
            ("/caf\u{e9}/7", "/caf\u{e9}/{id}"),
        ] {
            assert_eq!(template(input), expected, "{input}");
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
            let ok = derive(DeriveKind::StatusClass, &rec, v, &mut out);
            assert_eq!(ok.then_some(out.as_str()), expected, "{v:?}");
        }
        for (text, expected) in
            [("503", Some("5xx")), ("50", None), ("5033", None), ("x03", None), ("099", None)]
        {
            let v = rec.push_str(text);
            let ok = derive(DeriveKind::StatusClass, &rec, v, &mut out);
            assert_eq!(ok.then_some(out.as_str()), expected, "{text}");
        }
    }

    #[test]
    fn path_template_needs_a_string() {
        let mut rec = Record::default();
        let mut out = String::from("stale");
        assert!(!derive(DeriveKind::PathTemplate, &rec, Val::UInt(1), &mut out));
        assert!(out.is_empty());
        let v = rec.push_str("/u/12?x");
        assert!(derive(DeriveKind::PathTemplate, &rec, v, &mut out));
        assert_eq!(out, "/u/{id}");
    }
}
