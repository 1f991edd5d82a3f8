//! Web server access-log lines (`common` and `combined`) into JSON objects.
//!
//! `common`:   `%h %l %u %t "%r" %>s %b`
//! `combined`: `common` plus ` "%{Referer}i" "%{User-agent}i"`
//!
//! A line becomes `{"client_ip","ident","user","ts","method","path",
//! "protocol","status","bytes"[,"referrer","user_agent"]}` and then goes
//! through the same field rules as JSON input. The timestamp
//! `[10/Oct/2000:13:55:36 -0700]` is rewritten as RFC 3339
//! (`2000-10-10T13:55:36-07:00`) so `coarsen_time` applies; `-` for bytes
//! becomes `null`. Quoted fields may contain `\"` escapes (Apache) or
//! `\x22` (nginx), which are kept as text.
//!
//! The request line `"%r"` must be exactly `METHOD SP target SP HTTP/x[.y]`
//! (see [`split_request`]): a target with a space would otherwise spill into
//! `protocol`, which pipelines keep. Anything else is `invalid_log_line`; only
//! the "no request" markers `-` and `""` are kept whole as `request`.

use crate::error::{ErrorCode, RecordError};

use super::json_out::write_str;
use super::spec::Format;

fn invalid(what: &str) -> RecordError {
    RecordError::new(ErrorCode::InvalidLogLine, format!("not a valid log line: {what}"))
}

/// Splits off a bare token up to the next space.
fn bare(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(' ');
    if s.is_empty() {
        return None;
    }
    match s.find(' ') {
        Some(i) => Some((&s[..i], &s[i..])),
        None => Some((s, "")),
    }
}

/// Splits off a `"..."` token honouring backslash escapes.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(' ');
    let body = s.strip_prefix('"')?;
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some((&body[..i], &body[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

/// Splits off a `[...]` token.
fn bracketed(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(' ');
    let body = s.strip_prefix('[')?;
    let end = body.find(']')?;
    Some((&body[..end], &body[end + 1..]))
}

/// The three parts of `METHOD SP target SP HTTP/x[.y]`.
#[derive(Debug, PartialEq, Eq)]
struct RequestLine<'a> {
    method: &'a str,
    target: &'a str,
    protocol: &'a str,
}

/// Splits a request line exactly, found from the right: the protocol is the
/// text after the last space and must be `HTTP/` with one digit and an optional
/// `.digit`; the method is the text before the first space and must be an HTTP
/// token (RFC 9110 `tchar`s); the target is everything between and must be
/// non-empty and free of spaces. Fields therefore never shift: a target with a
/// space, a missing protocol or an odd method makes the whole line invalid.
///
/// `Ok(None)` for the "no request" markers servers write (`-`, and the empty
/// string nginx logs for a connection closed before a request); the caller
/// keeps them as `request`.
///
/// # Errors
/// [`ErrorCode::InvalidLogLine`] for anything else.
fn split_request(request: &str) -> Result<Option<RequestLine<'_>>, RecordError> {
    if request.is_empty() || request == "-" {
        return Ok(None);
    }
    let bad = || invalid("request line is not `METHOD target HTTP/x.y`");
    let (head, protocol) = request.rsplit_once(' ').ok_or_else(bad)?;
    let (method, target) = head.split_once(' ').ok_or_else(bad)?;
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    if !is_http_version(protocol) || !token(method) || target.is_empty() || target.contains(' ') {
        return Err(bad());
    }
    Ok(Some(RequestLine { method, target, protocol }))
}

/// `HTTP/` followed by one digit and optionally `.` and one digit.
fn is_http_version(s: &str) -> bool {
    match s.strip_prefix("HTTP/").map(str::as_bytes) {
        Some([major]) => major.is_ascii_digit(),
        Some([major, b'.', minor]) => major.is_ascii_digit() && minor.is_ascii_digit(),
        _ => false,
    }
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `10/Oct/2000:13:55:36 -0700` → `2000-10-10T13:55:36-07:00`.
fn clf_time_to_rfc3339(t: &str, out: &mut String) -> bool {
    let b = t.as_bytes();
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[20] != b' ' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..2) && digits(7..11) && digits(12..14) && digits(15..17) && digits(18..20))
        || b[14] != b':'
        || b[17] != b':'
        || !matches!(b[21], b'+' | b'-')
        || !digits(22..26)
    {
        return false;
    }
    let Some(month) = MONTHS.iter().position(|m| m.as_bytes() == &b[3..6]) else { return false };
    out.push_str(&t[7..11]);
    out.push('-');
    out.push_str(&format!("{:02}", month + 1));
    out.push('-');
    out.push_str(&t[0..2]);
    out.push('T');
    out.push_str(&t[12..20]);
    out.push_str(&t[21..24]);
    out.push(':');
    out.push_str(&t[24..26]);
    true
}

/// Converts one log line to a compact JSON object appended to `out`.
///
/// # Errors
/// [`ErrorCode::InvalidLogLine`] when the line does not have the format's shape.
pub fn to_json(line: &str, format: Format, out: &mut Vec<u8>) -> Result<(), RecordError> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (host, rest) = bare(line).ok_or_else(|| invalid("missing client address"))?;
    let (ident, rest) = bare(rest).ok_or_else(|| invalid("missing ident"))?;
    let (user, rest) = bare(rest).ok_or_else(|| invalid("missing user"))?;
    let (time, rest) = bracketed(rest).ok_or_else(|| invalid("missing [time]"))?;
    let (request, rest) = quoted(rest).ok_or_else(|| invalid("missing \"request\""))?;
    let (status, rest) = bare(rest).ok_or_else(|| invalid("missing status"))?;
    let (bytes, rest) = bare(rest).ok_or_else(|| invalid("missing bytes"))?;
    let status: u16 = status.parse().map_err(|_| invalid("status is not a number"))?;
    let bytes: Option<u64> = match bytes {
        "-" => None,
        b => Some(b.parse().map_err(|_| invalid("bytes is not a number"))?),
    };
    let mut ts = String::with_capacity(25);
    if !clf_time_to_rfc3339(time, &mut ts) {
        return Err(invalid("time is not dd/Mon/yyyy:hh:mm:ss +zzzz"));
    }
    let (referrer, user_agent, rest) = match format {
        Format::Combined => {
            let (r, rest) = quoted(rest).ok_or_else(|| invalid("missing \"referrer\""))?;
            let (ua, rest) = quoted(rest).ok_or_else(|| invalid("missing \"user-agent\""))?;
            (Some(r), Some(ua), rest)
        }
        _ => (None, None, rest),
    };
    if !rest.trim().is_empty() && format == Format::Common {
        return Err(invalid("unexpected text after bytes (is this the combined format?)"));
    }
    let request_line = split_request(request)?;

    out.push(b'{');
    let field = |out: &mut Vec<u8>, name: &str, value: &str, first: bool| {
        if !first {
            out.push(b',');
        }
        write_str(out, name);
        out.push(b':');
        write_str(out, value);
    };
    field(out, "client_ip", host, true);
    field(out, "ident", ident, false);
    field(out, "user", user, false);
    field(out, "ts", &ts, false);
    match request_line {
        Some(RequestLine { method, target, protocol }) => {
            field(out, "method", method, false);
            field(out, "path", target, false);
            field(out, "protocol", protocol, false);
        }
        None => field(out, "request", request, false),
    }
    out.extend_from_slice(b",\"status\":");
    out.extend_from_slice(itoa::Buffer::new().format(status).as_bytes());
    out.extend_from_slice(b",\"bytes\":");
    match bytes {
        Some(b) => out.extend_from_slice(itoa::Buffer::new().format(b).as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
    if let (Some(r), Some(ua)) = (referrer, user_agent) {
        field(out, "referrer", r, false);
        field(out, "user_agent", ua, false);
    }
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn conv(line: &str, f: Format) -> Result<serde_json::Value, RecordError> {
        let mut out = Vec::new();
        to_json(line, f, &mut out)?;
        Ok(serde_json::from_slice(&out).unwrap())
    }

    #[test]
    fn combined_line() {
        let v = conv(
            r#"203.0.113.77 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif?x=1 HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#,
            Format::Combined,
        )
        .unwrap();
        assert_eq!(v["client_ip"], "203.0.113.77");
        assert_eq!(v["user"], "frank");
        assert_eq!(v["ts"], "2000-10-10T13:55:36-07:00");
        assert_eq!(v["method"], "GET");
        assert_eq!(v["path"], "/a.gif?x=1");
        assert_eq!(v["protocol"], "HTTP/1.0");
        assert_eq!(v["status"], 200);
        assert_eq!(v["bytes"], 2326);
        assert_eq!(v["referrer"], "http://www.example.com/start.html");
        assert_eq!(v["user_agent"], "Mozilla/4.08 [en] (Win98; I ;Nav)");
    }

    #[test]
    fn common_line_with_dash_bytes_and_escapes() {
        let v = conv(
            r#"2001:db8::1 - - [01/Feb/2024:00:00:01 +0000] "POST /q\"x HTTP/1.1" 304 -"#,
            Format::Common,
        )
        .unwrap();
        assert_eq!(v["bytes"], serde_json::Value::Null);
        assert_eq!(v["path"], "/q\\\"x");
        assert_eq!(v["ts"], "2024-02-01T00:00:01+00:00");
    }

    #[test]
    fn malformed_lines() {
        for line in [
            "",
            "1.2.3.4",
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" abc 1"#,
            r#"1.2.3.4 - - [10/Foo/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1"#,
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36] "GET / HTTP/1.0" 200 1"#,
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0 200 1"#,
        ] {
            let e = conv(line, Format::Common).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidLogLine, "{line}");
        }
        let e = conv(
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1"#,
            Format::Combined,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidLogLine);
    }

    #[test]
    fn no_request_markers_kept_whole() {
        for marker in ["-", ""] {
            let line = format!(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "{marker}" 400 0"#);
            let v = conv(&line, Format::Common).unwrap();
            assert_eq!(v["request"], marker);
            assert!(v.get("method").is_none() && v.get("protocol").is_none());
        }
    }

    fn request(r: &str) -> Result<serde_json::Value, RecordError> {
        let line = format!(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "{r}" 200 1"#);
        conv(&line, Format::Common)
    }

    #[test]
    fn request_line_is_split_exactly() {
        for (r, method, path, proto) in [
            ("GET / HTTP/1.1", "GET", "/", "HTTP/1.1"),
            ("M-SEARCH * HTTP/1.1", "M-SEARCH", "*", "HTTP/1.1"),
            ("PRI * HTTP/2", "PRI", "*", "HTTP/2"),
            ("GET /a?b=c HTTP/2.0", "GET", "/a?b=c", "HTTP/2.0"),
            ("CONNECT host.example:443 HTTP/1.1", "CONNECT", "host.example:443", "HTTP/1.1"),
        ] {
            let v = request(r).unwrap();
            assert_eq!(
                (&v["method"], &v["path"], &v["protocol"]),
                (&method.into(), &path.into(), &proto.into()),
                "{r}"
            );
        }
    }

    #[test]
    fn request_lines_that_would_shift_fields_are_refused() {
        for r in [
            "GET /login?user=alice password=hunter2 HTTP/1.1",
            "GET /a b",
            "GET /",
            "GET",
            "GET  / HTTP/1.1",
            "GET / HTTP/1.1 ",
            " GET / HTTP/1.1",
            "GET / http/1.1",
            "GET / HTTP/1.10",
            "GET / HTTP/11",
            "GET / HTTP/",
            "GET / FTP/1.0",
            "G(T / HTTP/1.1",
            "GET  HTTP/1.1",
            "GET / HTTP/1.1 HTTP/1.1",
            "\\x16\\x03\\x01 junk",
        ] {
            let e = request(r).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidLogLine, "{r}");
            assert!(!e.message.contains("hunter2") && !e.message.contains("alice"), "{r}");
        }
    }

    proptest! {
        /// Random targets with spaces never reach `protocol`: the line is
        /// either refused or split with the planted protocol intact.
        #[test]
        fn spaces_never_leak_into_protocol(
            method in "[A-Z]{1,7}",
            words in proptest::collection::vec("[a-zA-Z0-9/?=&%._-]{0,8}", 1..5),
            proto in proptest::sample::select(vec!["HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/2.0"]),
            canary in "CANARY[0-9]{6}",
        ) {
            let target = format!("{}{canary}", words.join(" "));
            let r = format!("{method} {target} {proto}");
            match request(&r) {
                Ok(v) => {
                    prop_assert_eq!(v["protocol"].as_str(), Some(proto));
                    prop_assert_eq!(v["method"].as_str(), Some(method.as_str()));
                    prop_assert_eq!(v["path"].as_str(), Some(target.as_str()));
                    prop_assert!(!target.contains(' '));
                }
                Err(e) => {
                    prop_assert_eq!(e.code, ErrorCode::InvalidLogLine);
                    prop_assert!(target.contains(' ') || target.is_empty());
                    prop_assert!(!e.message.contains(&canary));
                }
            }
        }
    }
}
