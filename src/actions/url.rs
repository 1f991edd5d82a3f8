//! `url`: reduce a URL to its origin or path, keeping only listed query parameters.
//!
//! Query strings and fragments carry tokens, e-mail addresses, search terms and
//! session ids; the userinfo part (`user:pass@`) carries credentials. This module
//! owns cutting all of that away while keeping what statistics need (which site,
//! which page, a few harmless parameters such as `page`). It is a single scan
//! over the input that validates before writing, so a rejected value appends
//! nothing and the caller drops the field.

use serde::{Deserialize, Serialize};

/// Which part of a URL survives (`keep = "path"` in a pipeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlKeep {
    /// Scheme, host and port only: `https://www.example.com:8443`.
    Origin,
    /// Origin (if any) plus path and the listed query parameters.
    Path,
}

/// Schemes accepted for absolute URLs; anything else (`javascript:`, `mailto:`,
/// `data:`, `file:`) is rejected.
const SCHEMES: [&str; 5] = ["http", "https", "ws", "wss", "ftp"];

/// The validated pieces of an absolute URL's authority.
struct Origin<'a> {
    scheme: &'a str,
    host: &'a str,
    /// Port digits as written; empty when absent (or written as a bare `:`).
    port: &'a str,
}

/// Reduces a URL to its origin or path and appends the result to `out`.
///
/// Input is an absolute URL (`https://user:pw@www.example.com:8443/a/b?x=1&page=2#frag`)
/// with scheme http, https, ws, wss or ftp, or an origin-relative path
/// (`/api/v1/users/44?page=2&token=abc`).
///
/// - [`UrlKeep::Origin`]: `https://www.example.com:8443` (scheme and host lowercased,
///   port as written). A path-only input has no origin: returns false.
/// - [`UrlKeep::Path`]: `https://www.example.com:8443/a/b?page=2`, or `/api/v1/users/44?page=2`
///   for a relative input. An empty path of an absolute URL becomes `/`.
///
/// Only query parameters whose name, percent-decoded (`+` as space), is in
/// `keep_params` survive, in their original order and encoding; there is no `?`
/// when none survive. The fragment and userinfo are always dropped. The referrer
/// placeholder `-` and the empty string carry nothing and are appended unchanged.
///
/// Returns false, appending nothing, for anything else: other schemes, missing
/// `//`, whitespace or control characters anywhere, an empty or malformed host,
/// a bad port, a backslash in the authority, or a relative path starting with
/// `//` whose first segment contains `@` (it would read as userinfo).
pub fn reduce_url(text: &str, keep: UrlKeep, keep_params: &[String], out: &mut String) -> bool {
    if text.is_empty() || text == "-" {
        out.push_str(text);
        return true;
    }
    if has_control_or_space(text) {
        return false;
    }
    let without_fragment = before_byte(text, b'#');
    let (before_query, query) = match split_at_byte(without_fragment, b'?') {
        Some((before, query)) => (before, Some(query)),
        None => (without_fragment, None),
    };

    if before_query.starts_with('/') {
        if keep == UrlKeep::Origin || looks_like_userinfo(before_query) {
            return false;
        }
        out.push_str(before_query);
        push_kept_params(query, keep_params, out);
        return true;
    }

    if at_sign_after_authority(text) {
        return false;
    }
    let Some((origin, path)) = split_absolute(before_query) else {
        return false;
    };
    push_origin(&origin, out);
    if keep == UrlKeep::Path {
        out.push_str(if path.is_empty() { "/" } else { path });
        push_kept_params(query, keep_params, out);
    }
    true
}

// Byte-level helpers for ASCII delimiters: an ASCII byte never occurs inside
// a multi-byte UTF-8 sequence, so its index is always a char boundary. They
// replace `str` char-pattern searches, whose setup cost dominated on short URLs.

/// Index of the first `b` in `s`.
#[inline]
fn find_byte(s: &str, b: u8) -> Option<usize> {
    s.bytes().position(|c| c == b)
}

/// `s` up to the first `b` (all of `s` without one).
#[inline]
fn before_byte(s: &str, b: u8) -> &str {
    find_byte(s, b).map_or(s, |i| &s[..i])
}

/// `split_once(b)` for an ASCII byte.
#[inline]
fn split_at_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    find_byte(s, b).map(|i| (&s[..i], &s[i + 1..]))
}

/// `rsplit_once(b)` for an ASCII byte.
#[inline]
fn rsplit_at_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    s.bytes().rposition(|c| c == b).map(|i| (&s[..i], &s[i + 1..]))
}

/// Whether `text` has a control or whitespace character. For ASCII text
/// those are exactly the bytes up to 0x20 and 0x7f, checked without
/// decoding characters.
fn has_control_or_space(text: &str) -> bool {
    // One branch-free pass: any non-ASCII byte, any ASCII control or space.
    let (non_ascii, bad) = text
        .bytes()
        .fold((false, false), |(n, bad), b| (n | (b >= 0x80), bad | (b <= 0x20) | (b == 0x7f)));
    if !non_ascii {
        bad
    } else {
        text.chars().any(|c| c.is_control() || c.is_whitespace())
    }
}

/// True for a relative `//segment...` whose first segment contains `@`: such a value
/// is a network-path reference with userinfo, which must not be passed on.
fn looks_like_userinfo(path: &str) -> bool {
    path.strip_prefix("//").is_some_and(|rest| find_byte(before_byte(rest, b'/'), b'@').is_some())
}

/// True when an `@` follows a `?` or `#` before the first `/` after `://`, as in
/// `https://alice:pa#ss@host/`: an unencoded `#` or `?` in a password would otherwise
/// turn the user name into the host. Such values are rejected rather than guessed.
fn at_sign_after_authority(text: &str) -> bool {
    let bytes = text.as_bytes();
    let Some(at) = bytes.windows(3).position(|w| w == b"://") else {
        return false;
    };
    let head = before_byte(&text[at + 3..], b'/');
    head.bytes()
        .position(|b| b == b'?' || b == b'#')
        .is_some_and(|i| find_byte(&head[i..], b'@').is_some())
}

/// Splits `scheme://authority/path` (query and fragment already cut) into a validated
/// origin and the path (possibly empty). Userinfo is skipped.
fn split_absolute(text: &str) -> Option<(Origin<'_>, &str)> {
    let (scheme, rest) = split_at_byte(text, b':')?;
    if !SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return None;
    }
    let rest = rest.strip_prefix("//")?;
    let (authority, path) = match find_byte(rest, b'/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if find_byte(authority, b'\\').is_some() {
        return None;
    }
    let host_port = rsplit_at_byte(authority, b'@').map_or(authority, |(_, host_port)| host_port);
    let (host, port) = split_host_port(host_port)?;
    Some((Origin { scheme, host, port }, path))
}

/// Splits and validates `host[:port]`, where host is a registered name, an IPv4
/// address or a bracketed IPv6 literal.
fn split_host_port(host_port: &str) -> Option<(&str, &str)> {
    let (host, port) = if host_port.starts_with('[') {
        let end = find_byte(host_port, b']')?;
        let (host, after) = host_port.split_at(end + 1);
        let port = match after {
            "" => "",
            _ => after.strip_prefix(':')?,
        };
        let inner = &host[1..end];
        let valid = find_byte(inner, b':').is_some()
            && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        (valid.then_some(host)?, port)
    } else {
        let (host, port) = rsplit_at_byte(host_port, b':').unwrap_or((host_port, ""));
        // Byte-wise: every byte of a non-ASCII character is >= 0x80.
        let valid = !host.is_empty()
            && host.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || b >= 0x80
            });
        (valid.then_some(host)?, port)
    };
    let port_ok = port.is_empty()
        || (port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| p <= 65_535));
    port_ok.then_some((host, port))
}

/// Appends `scheme://host[:port]` with scheme and host ASCII-lowercased.
fn push_origin(origin: &Origin<'_>, out: &mut String) {
    push_ascii_lowercase(origin.scheme, out);
    out.push_str("://");
    push_ascii_lowercase(origin.host, out);
    if !origin.port.is_empty() {
        out.push(':');
        out.push_str(origin.port);
    }
}

/// Appends `s` with ASCII letters lowercased (other characters unchanged).
fn push_ascii_lowercase(s: &str, out: &mut String) {
    let start = out.len();
    out.push_str(s);
    out[start..].make_ascii_lowercase();
}

/// Appends `?a=1&b=2` made of the parameters whose decoded name is listed, as written.
fn push_kept_params(query: Option<&str>, keep_params: &[String], out: &mut String) {
    let Some(mut rest) = query else {
        return;
    };
    let mut separator = '?';
    loop {
        let (pair, tail) = split_at_byte(rest, b'&').map_or((rest, None), |(p, t)| (p, Some(t)));
        if !pair.is_empty() {
            let name = before_byte(pair, b'=');
            if keep_params.iter().any(|kept| decoded_name_is(name, kept)) {
                out.push(separator);
                out.push_str(pair);
                separator = '&';
            }
        }
        match tail {
            Some(t) => rest = t,
            None => return,
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Compares a form-encoded name with `target` without allocating: `%XX` decodes to a
/// byte, `+` to a space; a `%` not followed by two hex digits stands for itself.
fn decoded_name_is(encoded: &str, target: &str) -> bool {
    let bytes = encoded.as_bytes();
    let mut expected = target.bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) => hex_value(hi).zip(hex_value(lo)),
            _ => None,
        };
        let decoded = match (escaped, b) {
            (Some((hi, lo)), _) => {
                i += 3;
                hi << 4 | lo
            }
            (None, b'+') => {
                i += 1;
                b' '
            }
            (None, _) => {
                i += 1;
                b
            }
        };
        if expected.next() != Some(decoded) {
            return false;
        }
    }
    expected.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::value::{Error as DeError, StrDeserializer};

    fn params(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn reduce(text: &str, keep: UrlKeep, names: &[&str]) -> Option<String> {
        let mut out = String::new();
        reduce_url(text, keep, &params(names), &mut out).then_some(out)
    }

    #[test]
    fn query_without_path_keeps_listed_params() {
        assert_eq!(
            reduce("https://a.example?page=2&to=b", UrlKeep::Path, &["page"]).as_deref(),
            Some("https://a.example/?page=2")
        );
    }

    const FULL: &str = "https://user:pw@www.example.com:8443/a/b?x=1&page=2#frag";

    #[test]
    fn origin_of_absolute_url() {
        assert_eq!(
            reduce(FULL, UrlKeep::Origin, &["page"]).as_deref(),
            Some("https://www.example.com:8443")
        );
        assert_eq!(
            reduce("HTTP://WWW.Example.COM/Path", UrlKeep::Origin, &[]).as_deref(),
            Some("http://www.example.com")
        );
        assert_eq!(
            reduce("wss://[2001:DB8::1]:443/socket", UrlKeep::Origin, &[]).as_deref(),
            Some("wss://[2001:db8::1]:443")
        );
        assert_eq!(
            reduce("ftp://files.example.org:/pub", UrlKeep::Origin, &[]).as_deref(),
            Some("ftp://files.example.org")
        );
    }

    #[test]
    fn origin_of_relative_path_is_rejected() {
        let mut out = String::from("keep");
        assert!(!reduce_url("/api/v1?page=2", UrlKeep::Origin, &[], &mut out));
        assert_eq!(out, "keep");
    }

    #[test]
    fn path_of_absolute_url() {
        assert_eq!(
            reduce(FULL, UrlKeep::Path, &["page"]).as_deref(),
            Some("https://www.example.com:8443/a/b?page=2")
        );
        assert_eq!(
            reduce("https://example.com", UrlKeep::Path, &[]).as_deref(),
            Some("https://example.com/")
        );
        assert_eq!(
            reduce("https://example.com?page=3&q=secret", UrlKeep::Path, &["page"]).as_deref(),
            Some("https://example.com/?page=3")
        );
        assert_eq!(
            reduce("https://Example.com/CaseKept/%7Euser", UrlKeep::Path, &[]).as_deref(),
            Some("https://example.com/CaseKept/%7Euser")
        );
    }

    #[test]
    fn path_of_relative_url() {
        assert_eq!(
            reduce("/api/v1/users/44?page=2&token=abc", UrlKeep::Path, &["page"]).as_deref(),
            Some("/api/v1/users/44?page=2")
        );
        assert_eq!(
            reduce("/search?q=alice+smith", UrlKeep::Path, &["page"]).as_deref(),
            Some("/search")
        );
        assert_eq!(reduce("/", UrlKeep::Path, &[]).as_deref(), Some("/"));
        assert_eq!(reduce("//wp-admin/x", UrlKeep::Path, &[]).as_deref(), Some("//wp-admin/x"));
    }

    #[test]
    fn params_keep_order_and_encoding() {
        let url = "/p?sort=desc&token=t0k&lang=de%2DDE&page=2&sort=asc&x";
        assert_eq!(
            reduce(url, UrlKeep::Path, &["page", "lang", "sort"]).as_deref(),
            Some("/p?sort=desc&lang=de%2DDE&page=2&sort=asc")
        );
        // Encoded names match their decoded form; the original spelling is kept.
        assert_eq!(
            reduce("/p?%70age=2&my+key=v&my%20key=w", UrlKeep::Path, &["page", "my key"])
                .as_deref(),
            Some("/p?%70age=2&my+key=v&my%20key=w")
        );
        // Names without a value, empty pairs and a bare `?`.
        assert_eq!(
            reduce("/p?&&debug&&page=&", UrlKeep::Path, &["debug", "page"]).as_deref(),
            Some("/p?debug&page=")
        );
        assert_eq!(reduce("/p?", UrlKeep::Path, &["page"]).as_deref(), Some("/p"));
        // A malformed escape stands for itself; prefix matches are not matches.
        assert_eq!(
            reduce("/p?a%zz=1&pag=1&pages=1&page%=1", UrlKeep::Path, &["a%zz", "page"]).as_deref(),
            Some("/p?a%zz=1")
        );
    }

    #[test]
    fn fragment_is_always_dropped() {
        assert_eq!(reduce("/p#page=2", UrlKeep::Path, &["page"]).as_deref(), Some("/p"));
        // A `?` inside the fragment is not a query.
        assert_eq!(
            reduce("https://a.example/p#x?page=2", UrlKeep::Path, &["page"]).as_deref(),
            Some("https://a.example/p")
        );
        assert_eq!(
            reduce("https://a.example/p?page=1#top", UrlKeep::Path, &["page"]).as_deref(),
            Some("https://a.example/p?page=1")
        );
    }

    #[test]
    fn userinfo_never_leaks() {
        for url in [
            "https://alice:s3cret@a.example/p",
            "https://alice@a.example/p",
            "https://alice:s3cret@evil@a.example/p",
            "http://alice:s3cret@a.example",
            "https://alice:s3cret@a.example?x=1",
        ] {
            for keep in [UrlKeep::Origin, UrlKeep::Path] {
                let out = reduce(url, keep, &["x"]).unwrap();
                assert!(!out.contains("alice") && !out.contains("s3cret"), "{url}");
                assert!(out.starts_with("http") && out.contains("a.example"), "{url}");
            }
        }
        // Malformed credentials make the URL invalid rather than leaking.
        assert_eq!(reduce("https://alice:s3#cret@a.example/", UrlKeep::Path, &[]), None);
        assert_eq!(reduce("https://alice:123#x@a.example/", UrlKeep::Origin, &[]), None);
        assert_eq!(reduce("https://alice:123?x@a.example", UrlKeep::Origin, &[]), None);
        // An `@` after the first `/` is path or query text, not userinfo.
        assert_eq!(
            reduce("https://a.example/@alice?to=b@c.example", UrlKeep::Path, &[]).as_deref(),
            Some("https://a.example/@alice")
        );
        assert_eq!(reduce("//alice:s3cret@a.example/p", UrlKeep::Path, &[]), None);
        assert_eq!(reduce("https://alice\\@a.example/", UrlKeep::Path, &[]), None);
    }

    #[test]
    fn placeholders_pass_through() {
        assert_eq!(reduce("-", UrlKeep::Origin, &[]).as_deref(), Some("-"));
        assert_eq!(reduce("-", UrlKeep::Path, &[]).as_deref(), Some("-"));
        let mut out = String::from("a");
        assert!(reduce_url("", UrlKeep::Path, &[], &mut out));
        assert_eq!(out, "a");
    }

    #[test]
    fn rejects_other_inputs_and_appends_nothing() {
        let bad = [
            "javascript:alert(1)",
            "mailto:alice@example.com",
            "data:text/html,hi",
            "file:///etc/passwd",
            "http:/a.example/",
            "http:a.example",
            "https://",
            "https:///path",
            "https://:443/",
            "https://user@/",
            "https://a.example:99999/",
            "https://a.example:8x/",
            "https://a.example:443:443/",
            "https://[::1/",
            "https://[::1]x/",
            "https://[zz]/",
            "https://a example/",
            "https://a.example/p q",
            "https://a.example/p\tq",
            "/p\u{7}",
            "/p\u{a0}q",
            "/p\nq",
            "relative/path",
            "?page=2",
            "a.example/path",
            "www.example.com:8443/path",
            "-x",
            "https://a%2eexample/",
        ];
        for url in bad {
            for keep in [UrlKeep::Origin, UrlKeep::Path] {
                let mut out = String::from("before");
                assert!(!reduce_url(url, keep, &params(&["page"]), &mut out), "{url:?}");
                assert_eq!(out, "before");
            }
        }
    }

    #[test]
    fn allowed_schemes_and_hosts() {
        for scheme in ["http", "https", "ws", "wss", "ftp", "HTTPS"] {
            let url = format!("{scheme}://h.example/");
            assert!(reduce(&url, UrlKeep::Origin, &[]).is_some(), "{scheme}");
        }
        assert_eq!(
            reduce("https://B\u{fc}cher.example/", UrlKeep::Origin, &[]).as_deref(),
            Some("https://b\u{fc}cher.example")
        );
        assert_eq!(
            reduce("http://192.0.2.1:8080/x?y=1", UrlKeep::Path, &[]).as_deref(),
            Some("http://192.0.2.1:8080/x")
        );
    }

    #[test]
    fn appends_to_existing_output() {
        let mut out = String::from("ref=");
        assert!(reduce_url(FULL, UrlKeep::Origin, &[], &mut out));
        assert_eq!(out, "ref=https://www.example.com:8443");
    }

    #[test]
    fn keep_deserializes_from_snake_case() {
        let keep = UrlKeep::deserialize(StrDeserializer::<DeError>::new("path"));
        assert_eq!(keep, Ok(UrlKeep::Path));
        let keep = UrlKeep::deserialize(StrDeserializer::<DeError>::new("query"));
        assert!(keep.is_err());
    }

    const NAMES: [&str; 5] = ["page", "lang", "sort", "token", "q"];

    /// The implementation before the byte-level rewrite, kept as the oracle.
    mod reference {
        use super::super::*;

        fn reduce_url_ref(
            text: &str,
            keep: UrlKeep,
            keep_params: &[String],
            out: &mut String,
        ) -> bool {
            if text.is_empty() || text == "-" {
                out.push_str(text);
                return true;
            }
            if has_control_or_space_ref(text) {
                return false;
            }
            let without_fragment = text.split_once('#').map_or(text, |(before, _)| before);
            let (before_query, query) = match without_fragment.split_once('?') {
                Some((before, query)) => (before, Some(query)),
                None => (without_fragment, None),
            };

            if before_query.starts_with('/') {
                if keep == UrlKeep::Origin || looks_like_userinfo_ref(before_query) {
                    return false;
                }
                out.push_str(before_query);
                push_kept_params_ref(query, keep_params, out);
                return true;
            }

            if at_sign_after_authority_ref(text) {
                return false;
            }
            let Some((origin, path)) = split_absolute_ref(before_query) else {
                return false;
            };
            push_origin_ref(&origin, out);
            if keep == UrlKeep::Path {
                out.push_str(if path.is_empty() { "/" } else { path });
                push_kept_params_ref(query, keep_params, out);
            }
            true
        }

        /// Whether `text` has a control or whitespace character. For ASCII text
        /// those are exactly the bytes up to 0x20 and 0x7f, checked without
        /// decoding characters.
        fn has_control_or_space_ref(text: &str) -> bool {
            if text.is_ascii() {
                text.bytes().fold(false, |acc, b| acc | (b <= 0x20) | (b == 0x7f))
            } else {
                text.chars().any(|c| c.is_control() || c.is_whitespace())
            }
        }

        /// True for a relative `//segment...` whose first segment contains `@`: such a value
        /// is a network-path reference with userinfo, which must not be passed on.
        fn looks_like_userinfo_ref(path: &str) -> bool {
            path.strip_prefix("//").is_some_and(|rest| {
                let segment = rest.split('/').next().unwrap_or(rest);
                segment.contains('@')
            })
        }

        /// True when an `@` follows a `?` or `#` before the first `/` after `://`, as in
        /// `https://alice:pa#ss@host/`: an unencoded `#` or `?` in a password would otherwise
        /// turn the user name into the host. Such values are rejected rather than guessed.
        fn at_sign_after_authority_ref(text: &str) -> bool {
            let Some((_, rest)) = text.split_once("://") else {
                return false;
            };
            let head = rest.split('/').next().unwrap_or(rest);
            head.find(['?', '#']).is_some_and(|i| head[i..].contains('@'))
        }

        /// Splits `scheme://authority/path` (query and fragment already cut) into a validated
        /// origin and the path (possibly empty). Userinfo is skipped.
        fn split_absolute_ref(text: &str) -> Option<(Origin<'_>, &str)> {
            let (scheme, rest) = text.split_once(':')?;
            if !SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
                return None;
            }
            let rest = rest.strip_prefix("//")?;
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            if authority.contains('\\') {
                return None;
            }
            let host_port =
                authority.rsplit_once('@').map_or(authority, |(_, host_port)| host_port);
            let (host, port) = split_host_port_ref(host_port)?;
            Some((Origin { scheme, host, port }, path))
        }

        /// Splits and validates `host[:port]`, where host is a registered name, an IPv4
        /// address or a bracketed IPv6 literal.
        fn split_host_port_ref(host_port: &str) -> Option<(&str, &str)> {
            let (host, port) = if host_port.starts_with('[') {
                let end = host_port.find(']')?;
                let (host, after) = host_port.split_at(end + 1);
                let port = match after {
                    "" => "",
                    _ => after.strip_prefix(':')?,
                };
                let inner = &host[1..end];
                let valid = inner.contains(':')
                    && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
                (valid.then_some(host)?, port)
            } else {
                let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, ""));
                let valid = !host.is_empty()
                    && host.chars().all(|c| {
                        c.is_ascii_alphanumeric()
                            || matches!(c, '-' | '.' | '_' | '~')
                            || !c.is_ascii()
                    });
                (valid.then_some(host)?, port)
            };
            let port_ok = port.is_empty()
                || (port.len() <= 5
                    && port.bytes().all(|b| b.is_ascii_digit())
                    && port.parse::<u32>().is_ok_and(|p| p <= 65_535));
            port_ok.then_some((host, port))
        }

        /// Appends `scheme://host[:port]` with scheme and host ASCII-lowercased.
        fn push_origin_ref(origin: &Origin<'_>, out: &mut String) {
            push_ascii_lowercase_ref(origin.scheme, out);
            out.push_str("://");
            push_ascii_lowercase_ref(origin.host, out);
            if !origin.port.is_empty() {
                out.push(':');
                out.push_str(origin.port);
            }
        }

        /// Appends `s` with ASCII letters lowercased (other characters unchanged).
        fn push_ascii_lowercase_ref(s: &str, out: &mut String) {
            let start = out.len();
            out.push_str(s);
            out[start..].make_ascii_lowercase();
        }

        /// Appends `?a=1&b=2` made of the parameters whose decoded name is listed, as written.
        fn push_kept_params_ref(query: Option<&str>, keep_params: &[String], out: &mut String) {
            let Some(query) = query else {
                return;
            };
            let mut separator = '?';
            for pair in query.split('&').filter(|pair| !pair.is_empty()) {
                let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                if keep_params.iter().any(|kept| decoded_name_is(name, kept)) {
                    out.push(separator);
                    out.push_str(pair);
                    separator = '&';
                }
            }
        }

        pub(super) fn reduce(text: &str, keep: UrlKeep, keep_params: &[String]) -> Option<String> {
            let mut out = String::new();
            reduce_url_ref(text, keep, keep_params, &mut out).then_some(out)
        }
    }

    fn url_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("https://".to_string()),
            Just("HTTP://".to_string()),
            Just("ftp://".to_string()),
            Just("javascript:".to_string()),
            Just("//".to_string()),
            Just("/".to_string()),
            Just("?".to_string()),
            Just("#".to_string()),
            Just("@".to_string()),
            Just(":".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("&".to_string()),
            Just("=".to_string()),
            Just("\\".to_string()),
            Just("%70age".to_string()),
            Just("page=2".to_string()),
            Just(":8443".to_string()),
            Just("[2001:db8::1]".to_string()),
            Just("Ex.COM".to_string()),
            Just("é".to_string()),
            Just(" ".to_string()),
            "[a-z0-9.~_-]{1,6}",
            "\\PC{0,3}",
        ];
        prop::collection::vec(piece, 0..10).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn dropped_values_and_userinfo_never_appear(
            absolute in any::<bool>(),
            user in "USR[A-Z]{6}",
            path in "(/[a-z0-9]{0,6}){1,3}",
            pairs in prop::collection::vec((0usize..5, "[A-Z0-9]{4}"), 0..8),
            kept in prop::collection::vec(0usize..5, 0..3),
            fragment in "~frag~[a-z]{4}",
            keep in prop_oneof![Just(UrlKeep::Origin), Just(UrlKeep::Path)],
        ) {
            let query: Vec<String> = pairs
                .iter()
                .enumerate()
                .map(|(i, (name, value))| format!("{}=VAL{i}X{value}", NAMES[*name]))
                .collect();
            let prefix = if absolute { format!("https://{user}:PWSECRET@h.example") } else { String::new() };
            let url = format!("{prefix}{path}?{}#{fragment}", query.join("&"));
            let keep_params: Vec<String> = kept.iter().map(|k| NAMES[*k].to_owned()).collect();
            let mut out = String::new();
            let ok = reduce_url(&url, keep, &keep_params, &mut out);
            prop_assert_eq!(ok, absolute || keep == UrlKeep::Path);
            prop_assert!(!out.contains(&user) && !out.contains("~frag") && !out.contains("PWSECRET"));
            for (i, (name, _)) in pairs.iter().enumerate() {
                let marker = format!("VAL{i}X");
                let listed = keep_params.iter().any(|k| k == NAMES[*name]);
                let present = out.contains(&marker);
                prop_assert_eq!(present, listed && ok && keep == UrlKeep::Path);
            }
        }

        #[test]
        fn same_as_before_the_byte_level_rewrite(
            text in url_text(),
            keep in prop_oneof![Just(UrlKeep::Origin), Just(UrlKeep::Path)],
        ) {
            let kept = params(&["page", "q", "p e"]);
            let mut out = String::new();
            let new = reduce_url(&text, keep, &kept, &mut out).then_some(out);
            prop_assert_eq!(new, reference::reduce(&text, keep, &kept));
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,60}", keep in prop_oneof![Just(UrlKeep::Origin), Just(UrlKeep::Path)]) {
            let mut out = String::new();
            if !reduce_url(&text, keep, &params(&["page"]), &mut out) {
                prop_assert!(out.is_empty());
            }
        }
    }
}
