//! `[CREDENTIALS]`: passwords, tokens, keys and other secrets.
//!
//! Three ways in:
//! - **key/value**: at each `=` or `:` the key before it is looked up
//!   (`password`, `passwd`, `pwd`, `secret`, `*_token`, `api_key`,
//!   `access_key`, `private_key`, `client_secret`, `cookie`, …; `sig`,
//!   `signature`, `code`, `key`, `session` only as URL query parameters
//!   after `?`, `&` or `;`); quoted keys and values (JSON) work; only the
//!   value is replaced. `Authorization: Bearer|Basic|Token …` keeps the
//!   scheme and replaces the credential. Empty, masked (`****`) and
//!   placeholder values (`null`, `none`) are left alone.
//! - **anchors** found by the shared automaton: AWS access key ids, GitHub,
//!   GitLab, Slack, Stripe and `sk-` API keys, JWTs (header must decode to
//!   a JSON object), `Bearer`/`Basic` credentials (Basic must decode to
//!   `user:password`), PEM private key blocks (through their `END` line, or
//!   to the end of the text if cut off), and Chinese credential words
//!   (`密码`, `口令`, `密钥`, `令牌`, `验证码`) or `password is` followed by
//!   a value.
//! - **URL userinfo**: `scheme://user:password@host` up to the last `@` of
//!   the authority.

use base64::Engine;

use super::bounds::{is_word, next_byte};
use super::{Detector, Sink};

/// Key suffixes (lower case, `-` and `.` read as `_`) naming a secret.
const SECRET_SUFFIXES: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "accesskey",
    "secret_key",
    "secretkey",
    "private_key",
    "privatekey",
    "credential",
    "credentials",
    "auth_key",
    "signing_key",
    "session_key",
];

/// Whole keys naming a secret.
const SECRET_KEYS: &[&str] = &[
    "pass",
    "pw",
    "passcode",
    "pin",
    "otp",
    "cookie",
    "set_cookie",
    "authorization",
    "proxy_authorization",
    "x_api_key",
];

/// Extra keys that are secrets as URL query parameters.
const QUERY_KEYS: &[&str] = &[
    "sig",
    "signature",
    "code",
    "key",
    "auth",
    "session",
    "sessionid",
    "sid",
    "ticket",
    "jwt",
    "x_amz_signature",
    "x_amz_credential",
    "x_amz_security_token",
];

/// Values that carry nothing.
const PLACEHOLDERS: &[&str] =
    &["null", "none", "nil", "undefined", "empty", "true", "false", "redacted"];

/// Longest key looked at.
const MAX_KEY: usize = 48;

/// Secrets written as `key=value`, `key: value`, `"key": "value"`.
pub(super) fn scan_key_values(b: &[u8], sink: &mut Sink) {
    for p in memchr::memchr2_iter(b'=', b':', b) {
        key_value_at(b, p, sink);
    }
}

fn key_value_at(b: &[u8], sep: usize, sink: &mut Sink) {
    let next = b.get(sep + 1).copied();
    let prev = sep.checked_sub(1).and_then(|p| b.get(p)).copied();
    if b[sep] == b'='
        && (matches!(next, Some(b'=')) || matches!(prev, Some(b'=' | b'!' | b'<' | b'>')))
    {
        return;
    }
    if b[sep] == b':'
        && (next == Some(b':') || prev == Some(b':') || b.get(sep + 1..sep + 3) == Some(b"//"))
    {
        return;
    }
    // Key: optional closing quote and spaces, then key characters.
    let mut k = sep;
    while k > 0 && b.get(k - 1) == Some(&b' ') && sep - k < 2 {
        k -= 1;
    }
    if k > 0 && matches!(b.get(k - 1), Some(b'"' | b'\'')) {
        k -= 1;
    }
    let key_end = k;
    // The last byte decides most keys (`12` of `12:30`, `order=`) before
    // the key is walked.
    let last = key_end.checked_sub(1).and_then(|p| b.get(p)).map_or(0, u8::to_ascii_lowercase);
    if !LAST_BYTES[usize::from(last)] {
        return;
    }
    while k > 0
        && b.get(k - 1).is_some_and(|&c| is_word(c) || c == b'-' || c == b'.')
        && key_end - k < MAX_KEY
    {
        k -= 1;
    }
    let key = b.get(k..key_end).unwrap_or_default();
    let query = k > 0 && matches!(b.get(k - 1), Some(b'?' | b'&' | b';')) && b[sep] == b'=';
    match classify_key(key, query) {
        KeyKind::Plain => {}
        KeyKind::Secret => {
            if let Some((s, e)) = value_after(b, sep + 1, b[sep] == b':' || query) {
                sink.push(s, e, Detector::Credentials);
            }
        }
        KeyKind::Authorization => authorization_value(b, sep + 1, sink),
        KeyKind::Cookie => {
            let start = skip_spaces(b, sep + 1);
            let end = line_end(b, start);
            if end > start {
                sink.push(start, end, Detector::Credentials);
            }
        }
    }
}

enum KeyKind {
    Plain,
    Secret,
    Authorization,
    Cookie,
}

/// Bytes that end some word of [`SECRET_SUFFIXES`], [`SECRET_KEYS`],
/// [`QUERY_KEYS`] or the authorization and cookie keys: a key ending in
/// any other byte (`12` in `12:30`, `order=`) is plain without comparing
/// it against every word.
static LAST_BYTES: [bool; 256] = {
    const fn mark(table: &mut [bool; 256], words: &[&str]) {
        let mut i = 0;
        while i < words.len() {
            let w = words[i].as_bytes();
            table[w[w.len() - 1] as usize] = true;
            i += 1;
        }
    }
    let mut table = [false; 256];
    mark(&mut table, SECRET_SUFFIXES);
    mark(&mut table, SECRET_KEYS);
    mark(&mut table, QUERY_KEYS);
    mark(&mut table, &["authorization", "proxy_authorization", "cookie", "set_cookie"]);
    table
};

fn classify_key(key: &[u8], query: bool) -> KeyKind {
    if key.is_empty() || key.len() > MAX_KEY {
        return KeyKind::Plain;
    }
    let last = key.last().map_or(0, u8::to_ascii_lowercase);
    if !LAST_BYTES[usize::from(last)] {
        return KeyKind::Plain;
    }
    let mut buf = [0u8; MAX_KEY];
    let Some(norm) = buf.get_mut(..key.len()) else { return KeyKind::Plain };
    for (n, &c) in norm.iter_mut().zip(key) {
        *n = match c.to_ascii_lowercase() {
            b'-' | b'.' => b'_',
            c => c,
        };
    }
    let norm: &[u8] = norm;
    let is = |words: &[&str]| words.iter().any(|w| w.as_bytes() == norm);
    if is(&["authorization", "proxy_authorization"]) {
        return KeyKind::Authorization;
    }
    if is(&["cookie", "set_cookie"]) {
        return KeyKind::Cookie;
    }
    let suffix = SECRET_SUFFIXES.iter().any(|s| {
        let s = s.as_bytes();
        norm.ends_with(s)
            && (norm.len() == s.len()
                || matches!(
                    s,
                    b"password" | b"passwd" | b"secret" | b"token" | b"apikey" | b"secretkey"
                )
                || norm.get(norm.len() - s.len() - 1) == Some(&b'_'))
    });
    if suffix || is(SECRET_KEYS) || (query && is(QUERY_KEYS)) {
        KeyKind::Secret
    } else {
        KeyKind::Plain
    }
}

fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

fn line_end(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while b.get(i).is_some_and(|&c| c != b'\n' && c != b'\r' && c != b'"') {
        i += 1;
    }
    while i > from && b.get(i - 1) == Some(&b' ') {
        i -= 1;
    }
    i
}

/// The secret value starting after a separator at `from`: a quoted string
/// or a run of non-space ASCII. `spaced`: spaces may precede it.
fn value_after(b: &[u8], from: usize, spaced: bool) -> Option<(usize, usize)> {
    let start = if spaced { skip_spaces(b, from) } else { skip_spaces(b, from).min(from + 1) };
    let (s, e) = match b.get(start) {
        Some(&q @ (b'"' | b'\'')) => {
            let close = next_byte(b, start + 1, q).filter(|&c| c - start <= 512)?;
            (start + 1, close)
        }
        _ => {
            let mut e = start;
            while b.get(e).is_some_and(|&c| VALUE_BYTES[usize::from(c)]) {
                e += 1;
            }
            while e > start && matches!(b.get(e - 1), Some(b'.' | b')')) {
                e -= 1;
            }
            (start, e)
        }
    };
    let value = b.get(s..e)?;
    if value.is_empty() || is_placeholder(value) {
        return None;
    }
    Some((s, e))
}

fn is_placeholder(value: &[u8]) -> bool {
    value.iter().all(|&c| matches!(c, b'*' | b'x' | b'X' | b'#' | b'-' | b'.' | b'?'))
        || PLACEHOLDERS.iter().any(|p| p.as_bytes().eq_ignore_ascii_case(value))
        || (value.first() == Some(&b'[') && value.last() == Some(&b']'))
        || value.first() == Some(&b'$') // `${SECRET}`, `$TOKEN`: a reference, not a value
}

/// `Authorization: <scheme> <credential>`: keeps the scheme.
fn authorization_value(b: &[u8], from: usize, sink: &mut Sink) {
    let start = skip_spaces(b, from);
    let mut w = start;
    while b.get(w).is_some_and(u8::is_ascii_alphanumeric) || b.get(w) == Some(&b'-') {
        w += 1;
    }
    let scheme = b.get(start..w).unwrap_or_default();
    let known =
        ["bearer", "basic", "token", "digest", "negotiate", "apikey", "aws4-hmac-sha256", "hmac"]
            .iter()
            .any(|s| s.as_bytes().eq_ignore_ascii_case(scheme));
    if known && b.get(w) == Some(&b' ') {
        let cred = skip_spaces(b, w);
        let end = if scheme.eq_ignore_ascii_case(b"digest")
            || scheme.eq_ignore_ascii_case(b"aws4-hmac-sha256")
        {
            line_end(b, cred)
        } else {
            token_end(b, cred)
        };
        if end > cred && !is_placeholder(b.get(cred..end).unwrap_or_default()) {
            sink.push(cred, end, Detector::Credentials);
        }
    } else if let Some((s, e)) = value_after(b, from, true) {
        sink.push(s, e, Detector::Credentials);
    }
}

/// A byte table: `true` for the bytes of `ranges` (inclusive) and `extra`.
const fn byte_table(ranges: &[(u8, u8)], extra: &[u8], except: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < ranges.len() {
        let (lo, hi) = ranges[i];
        let mut c = lo as usize;
        while c <= hi as usize {
            table[c] = true;
            c += 1;
        }
        i += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    let mut i = 0;
    while i < except.len() {
        table[except[i] as usize] = false;
        i += 1;
    }
    table
}

/// Bytes of an unquoted value: printable ASCII except the delimiters
/// `&"'<>,;}]`.
static VALUE_BYTES: [bool; 256] = byte_table(&[(b'!', b'~')], b"", b"&\"'<>,;}]");

/// Bytes of a token68-style credential.
static TOKEN_BYTES: [bool; 256] =
    byte_table(&[(b'0', b'9'), (b'A', b'Z'), (b'a', b'z')], b"._~+/-=", b"");

/// The end of a token68-style credential starting at `from`.
fn token_end(b: &[u8], from: usize) -> usize {
    let mut e = from;
    while b.get(e).is_some_and(|&c| TOKEN_BYTES[usize::from(c)]) {
        e += 1;
    }
    e
}

/// Validates a match of the shared anchor automaton at `b[start..end]`.
pub(super) fn at_anchor(b: &[u8], start: usize, end: usize, sink: &mut Sink) {
    let anchor = b.get(start..end).unwrap_or_default();
    if anchor.starts_with(b"-----BEGIN") {
        let close = find(b, end, b"-----END").map(|e| {
            let after = e + 8;
            find(b, after, b"-----").map_or(b.len(), |f| f + 5)
        });
        sink.push(start, close.unwrap_or(b.len()), Detector::Credentials);
        return;
    }
    if let Some(rest) = strip_scheme(anchor) {
        let cred = end - rest.len();
        let cred = cred + rest.iter().take_while(|&&c| c == b' ').count();
        let token = b.get(cred..end).unwrap_or_default();
        let basic = anchor.first().is_some_and(|c| c.eq_ignore_ascii_case(&b'b'))
            && anchor.get(1).is_some_and(|c| c.eq_ignore_ascii_case(&b'a'));
        let ok = if basic { basic_ok(token) } else { bearer_ok(token) };
        if ok && word_start(b, start) {
            sink.push(cred, end, Detector::Credentials);
        }
        return;
    }
    if anchor.starts_with(b"eyJ") {
        if word_start(b, start) && jwt_ok(anchor) {
            sink.push(start, end, Detector::Credentials);
        }
        return;
    }
    if is_prose_anchor(anchor) {
        prose_value(b, end, sink);
        return;
    }
    // Token shapes: whole words only.
    let word_end = !b.get(end).is_some_and(|&c| c.is_ascii_alphanumeric());
    if word_start(b, start) && word_end {
        sink.push(start, end, Detector::Credentials);
    }
}

fn word_start(b: &[u8], start: usize) -> bool {
    start == 0 || b.get(start - 1).is_some_and(|&c| !c.is_ascii_alphanumeric())
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| from + p)
}

/// The credential after `Bearer `/`Basic ` in an anchor match.
fn strip_scheme(anchor: &[u8]) -> Option<&[u8]> {
    ["bearer ", "basic "].iter().find_map(|s| {
        let head = anchor.get(..s.len())?;
        head.eq_ignore_ascii_case(s.as_bytes()).then(|| anchor.get(s.len() - 1..)).flatten()
    })
}

/// A bearer credential: long enough and not a plain word.
fn bearer_ok(token: &[u8]) -> bool {
    token.len() >= 8
        && (token.iter().any(u8::is_ascii_digit) || token.len() >= 24)
        && !is_placeholder(token)
}

/// A Basic credential: base64 of `user:password`.
fn basic_ok(token: &[u8]) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(token))
        .is_ok_and(|d| d.contains(&b':') && d.len() >= 3)
}

/// A JWT whose header decodes to a JSON object.
fn jwt_ok(jwt: &[u8]) -> bool {
    let header = jwt.split(|&c| c == b'.').next().unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .is_ok_and(|h| h.starts_with(b"{\""))
}

fn is_prose_anchor(anchor: &[u8]) -> bool {
    anchor.first().is_some_and(|&c| c >= 0x80) || anchor.ends_with(b" ")
}

/// `密码是abc123`, `密码：abc123`, `password is hunter2`.
fn prose_value(b: &[u8], end: usize, sink: &mut Sink) {
    let mut i = end;
    // Optional filler after a Chinese word: 是, 为, 改成, 改为, spaces, `:`.
    for filler in ["：", ":", "=", " ", "是", "为", "改成", "改为", "设为", " "] {
        if b.get(i..).is_some_and(|r| r.starts_with(filler.as_bytes())) {
            i += filler.len();
        }
    }
    if i == end && b.get(end - 1) != Some(&b' ') {
        return; // `密码错误`: no separator, no value
    }
    let start = skip_spaces(b, i);
    if b.get(start).is_some_and(|&c| c >= 0x80) {
        return; // prose continues in Chinese: no value
    }
    if let Some((s, e)) = value_after(b, start, false) {
        // A value must look like a secret, not an English word in prose.
        let v = b.get(s..e).unwrap_or_default();
        let mixed =
            v.iter().any(u8::is_ascii_digit) || v.iter().any(|c| !c.is_ascii_alphanumeric());
        if mixed || v.len() >= 12 || b.get(end - 1) != Some(&b' ') {
            sink.push(s, e, Detector::Credentials);
        }
    }
}

fn is_scheme(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')
}

/// RFC 3986 authority bytes: userinfo, `@`, host (incl. `[v6]`) and port.
fn is_authority(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:@[]".contains(&c)
}

/// The userinfo of `scheme://userinfo@host` URLs, up to the last `@` of
/// the authority (as browsers parse it), so a password containing `@` is
/// covered.
pub(super) fn scan_url_userinfo(b: &[u8], sink: &mut Sink) {
    let mut from = 0;
    while let Some(sep) = next_byte(b, from, b':') {
        from = sep + 1;
        if b.get(sep..sep + 3) != Some(b"://") {
            continue;
        }
        let mut scheme = sep;
        while scheme > 0 && b.get(scheme - 1).copied().is_some_and(is_scheme) {
            scheme -= 1;
        }
        while scheme < sep && !b.get(scheme).is_some_and(u8::is_ascii_alphabetic) {
            scheme += 1;
        }
        if scheme == sep {
            continue;
        }
        let user = sep + 3;
        let mut end = user;
        let mut last_at = None;
        while let Some(&c) = b.get(end).filter(|&&c| is_authority(c)) {
            if c == b'@' {
                last_at = Some(end);
            }
            end += 1;
        }
        if let Some(at) = last_at {
            if at > user && at + 1 < end {
                sink.push(user, at, Detector::Credentials);
            }
        }
        from = end;
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{all, only};
    use super::*;

    fn creds(text: &str) -> String {
        only(Detector::Credentials, text)
    }

    #[test]
    fn byte_tables_match_their_definitions() {
        for c in 0..=255u8 {
            let value = c > b' ' && c < 0x7F && !b"&\"'<>,;}]".contains(&c);
            assert_eq!(VALUE_BYTES[usize::from(c)], value, "{c}");
            let token = c.is_ascii_alphanumeric() || b"._~+/-=".contains(&c);
            assert_eq!(TOKEN_BYTES[usize::from(c)], token, "{c}");
        }
    }

    #[test]
    fn key_value_secrets() {
        for (text, expected) in [
            ("password=hunter2", "password=[CREDENTIALS]"),
            ("pwd: S3cret!", "pwd: [CREDENTIALS]"),
            ("db_password = 'p@ss w0rd' ok", "db_password = '[CREDENTIALS]' ok"),
            (r#"{"api_key":"sk_9f8e7d6c5b4a"}"#, r#"{"api_key":"[CREDENTIALS]"}"#),
            (
                "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "AWS_SECRET_ACCESS_KEY=[CREDENTIALS]",
            ),
            ("access_token: abc.def-ghi, next", "access_token: [CREDENTIALS], next"),
            ("ｐａｓｓｗｏｒｄ＝ｈｕｎｔｅｒ２", "ｐａｓｓｗｏｒｄ＝[CREDENTIALS]"),
            (
                "https://x.io/cb?code=4/0AX4XfWh&state=1",
                "https://x.io/cb?code=[CREDENTIALS]&state=1",
            ),
            ("/dl?file=a.pdf&sig=Zm9vYmFy&exp=1", "/dl?file=a.pdf&sig=[CREDENTIALS]&exp=1"),
            ("Cookie: sessionid=abc123; csrftoken=x9", "Cookie: [CREDENTIALS]"),
        ] {
            assert_eq!(creds(text), expected, "{text}");
        }
    }

    #[test]
    fn authorization_headers_keep_the_scheme() {
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        for (text, expected) in [
            (
                format!("Authorization: Bearer {jwt}"),
                "Authorization: Bearer [CREDENTIALS]".to_string(),
            ),
            (
                "authorization: Basic dXNlcjpwYXNz".into(),
                "authorization: Basic [CREDENTIALS]".into(),
            ),
            (
                "curl -H 'Authorization: Token 9f8e7d6c5b4a3f2e'".into(),
                "curl -H 'Authorization: Token [CREDENTIALS]'".into(),
            ),
            (
                "sent Bearer abcd1234efgh5678 upstream".into(),
                "sent Bearer [CREDENTIALS] upstream".into(),
            ),
            (format!("token {jwt} expired"), "token [CREDENTIALS] expired".into()),
        ] {
            assert_eq!(creds(&text), expected, "{text}");
        }
    }

    #[test]
    fn token_shapes_and_pem_blocks() {
        for (text, expected) in [
            ("key id AKIAIOSFODNN7EXAMPLE in log", "key id [CREDENTIALS] in log"),
            ("ghp_0123456789abcdefghijABCDEFGHIJ012345 leaked", "[CREDENTIALS] leaked"),
            ("glpat-abcdefghij0123456789", "[CREDENTIALS]"),
            ("slack xoxb-1234567890-abcdefghij", "slack [CREDENTIALS]"),
            ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc.", "stripe [CREDENTIALS]."),
            (
                "k=-----BEGIN RSA PRIVATE KEY-----\\nMIIEow\\n-----END RSA PRIVATE KEY----- done",
                "k=[CREDENTIALS] done",
            ),
            ("-----BEGIN PRIVATE KEY-----\nMIIEvQ", "[CREDENTIALS]"),
        ] {
            assert_eq!(creds(text), expected, "{text}");
        }
    }

    #[test]
    fn chinese_and_prose_forms() {
        for (text, expected) in [
            ("密码：Abc12345，请尽快修改", "密码：[CREDENTIALS]，请尽快修改"),
            ("新密码是qwe123!@#", "新密码是[CREDENTIALS]"),
            ("验证码 837261", "验证码 [CREDENTIALS]"),
            ("my password is hunter22", "my password is [CREDENTIALS]"),
        ] {
            assert_eq!(creds(text), expected, "{text}");
        }
    }

    #[test]
    fn url_userinfo_keeps_scheme_and_host() {
        for (text, expected) in [
            ("https://user:pa55@example.com/path", "https://[CREDENTIALS]@example.com/path"),
            ("ssh://git@github.com/org/repo", "ssh://[CREDENTIALS]@github.com/org/repo"),
            ("https://u:p@ss@host.io", "https://[CREDENTIALS]@host.io"),
            ("链接redis://:hunter2@cache:6379", "链接redis://[CREDENTIALS]@cache:6379"),
            ("postgres+ssl://a:b@[::1]:5432/db", "postgres+ssl://[CREDENTIALS]@[::1]:5432/db"),
        ] {
            assert_eq!(creds(text), expected, "{text}");
        }
    }

    #[test]
    fn mentions_without_values_are_kept() {
        for text in [
            "john@example.com",
            "mailto:john@example.com",
            "https://example.com/?mail=john@x.com",
            "https://@host",
            "forgot password, please reset it",
            "密码错误，请重试",
            "token expired, please log in again",
            "password: ********",
            "password=${DB_PASSWORD}",
            "the password is correct",
            "max_tokens=1024",
            "if a == b and c != d",
            "error code: 500",
            "std::fmt::Display",
            "Bearer authentication required",
            "Basic plan",
            "key: value",
            "验证码已发送",
        ] {
            assert_eq!(creds(text), text, "{text}");
        }
        assert_eq!(
            all("https://example.com/?mail=john@x.com"),
            "https://example.com/?mail=[EMAIL]"
        );
    }
}
