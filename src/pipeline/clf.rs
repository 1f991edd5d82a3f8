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
    let mut parts = request.splitn(3, ' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(p), Some(proto)) if !m.is_empty() => {
            field(out, "method", m, false);
            field(out, "path", p, false);
            field(out, "protocol", proto, false);
        }
        _ => field(out, "request", request, false),
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
    fn odd_request_line_kept_whole() {
        let v =
            conv(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "-" 400 0"#, Format::Common).unwrap();
        assert_eq!(v["request"], "-");
        assert!(v.get("method").is_none());
    }
}
