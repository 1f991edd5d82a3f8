//! `url`: reduce a URL to its origin or path, keeping only listed query parameters.
//!
//! Query strings and fragments carry tokens, e-mail addresses, search terms and
//! session ids; the userinfo part (`user:pass@`) carries credentials; path
//! segments carry user ids, e-mail addresses and phone numbers
//! (`/users/alice.wang@example.com/orders`); matrix parameters carry session
//! ids (`;jsessionid=…`); an IP-literal host is a client address. This module
//! owns cutting all of that away while keeping what statistics need (which
//! site, which page, a few harmless parameters such as `page`). Identifiers are
//! recognized by the shared classifier [`crate::classify`] and replaced by its
//! placeholders (`{email}`, `{phone}`, `{cn_id}`, `{card}`, `{ip}`, `{id}`,
//! `{token}`). It validates before writing, so a rejected value appends
//! nothing and the caller drops the field.

use super::{write_str, ActionConfig, ConfigError, Emit, JsonType, Outcome, Transform, TypeSet};
use crate::keys::KeyStore;

use std::net::IpAddr;

use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};

use super::ip::{parse_ip, write_ip};
use super::truncate_ip::truncate_ip;
use crate::classify::{classify, could_be_identifier, cut_segment, segment_kind};

/// Prefixes applied to an IP-literal host, as `truncate_ip` does by default.
const HOST_IPV4_PREFIX: u8 = 24;
/// See [`HOST_IPV4_PREFIX`].
const HOST_IPV6_PREFIX: u8 = 48;

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
    host: Host<'a>,
    /// Port digits as written; empty when absent (or written as a bare `:`).
    port: &'a str,
}

/// A validated host.
enum Host<'a> {
    /// A registered name, written lower-cased.
    Name(&'a str),
    /// An IP literal (`203.0.113.77`, `[2001:db8::1]`), written truncated.
    Ip(IpAddr),
}

/// Reduces a URL to its origin or path and appends the result to `out`.
///
/// Input is an absolute URL (`https://user:pw@www.example.com:8443/a/b?x=1&page=2#frag`)
/// with scheme http, https, ws, wss or ftp, or an origin-relative path
/// (`/api/v1/users/44?page=2&token=abc`).
///
/// - [`UrlKeep::Origin`]: `https://www.example.com:8443` (scheme and host lowercased,
///   port as written). A path-only input has no origin: returns false.
/// - [`UrlKeep::Path`]: `https://www.example.com:8443/a/b?page=2`, or `/api/v1/users/{id}?page=2`
///   for a relative input. An empty path of an absolute URL becomes `/`.
///
/// An IP-literal host is truncated as `truncate_ip` does by default (IPv4 /24,
/// IPv6 /48, embedded IPv4 by its IPv4 prefix): `http://203.0.113.77:8080` →
/// `http://203.0.113.0:8080`. A host name label the classifier flags is
/// replaced by its placeholder (`https://{phone}.blog.example`). A host that URL parsers read as an IPv4 address
/// in another spelling (`3405803853`, `0xcb.0.113.77`, `203.0.113.077`, full-width
/// digits) is rejected.
///
/// Path ([`UrlKeep::Path`]), segment by segment ([`push_path`]): matrix
/// parameters (`;jsessionid=…`, also percent-encoded `%3B`) are removed; a
/// percent-encoded `?`, `#` or `%` (an encoded query, fragment or a second
/// layer of encoding) ends the path there; a segment whose percent-decoded
/// text the classifier flags is replaced by its placeholder; other segments
/// are kept as written.
///
/// Only query parameters whose name, percent-decoded (`+` as space), is in
/// `keep_params` survive, in their original order and encoding; a kept
/// parameter whose decoded value the classifier flags keeps its name and gets
/// the placeholder as value (`page=alice@example.com` → `page={email}`). There
/// is no `?` when none survive. The fragment and userinfo are always dropped.
/// The referrer placeholder `-` and the empty string carry nothing and are
/// appended unchanged.
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
        push_path(before_query, out);
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
        push_path(if path.is_empty() { "/" } else { path }, out);
        push_kept_params(query, keep_params, out);
    }
    true
}

/// Appends `path` (starting with `/`, without query or fragment) segment by
/// segment: matrix parameters cut, identifier-like segments replaced by their
/// placeholder, the rest kept as written. An encoded `?`, `#` or `%` ends the
/// path (see [`cut_segment`]).
fn push_path(path: &str, out: &mut String) {
    // The leading `/` gives an empty first segment.
    for (i, raw) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let (segment, ends_path) = cut_segment(raw);
        match segment_kind(segment) {
            Some(kind) => out.push_str(kind.placeholder()),
            None => out.push_str(segment),
        }
        if ends_path {
            return;
        }
    }
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
    Some((Origin { scheme, host: read_host(host)?, port }, path))
}

/// Reads a validated host as an IP literal or a name. A name that URL parsers
/// would read as an IPv4 address (its last label is a number: `3405803853`,
/// `0xcb.0.113.77`, `203.0.113.077`, `２０３．０．１１３．７７`) is an IP
/// literal when it is a canonical dotted quad, and rejected otherwise, since
/// it cannot be truncated as written.
fn read_host(host: &str) -> Option<Host<'_>> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']')?;
        return match parse_ip(inner)? {
            ip @ IpAddr::V6(_) => Some(Host::Ip(ip)),
            IpAddr::V4(_) => None,
        };
    }
    if host.is_ascii() {
        let bare = host.strip_suffix('.').unwrap_or(host);
        if !ends_in_a_number(bare) {
            return Some(Host::Name(host));
        }
        return parse_ip(bare).filter(IpAddr::is_ipv4).map(Host::Ip);
    }
    // Non-ASCII: URL parsers fold full-width forms and ideographic full stops
    // (IDNA), so judge the folded text.
    let folded: String = crate::classify::normalize(host)
        .chars()
        .map(|c| if matches!(c, '\u{3002}' | '\u{ff61}') { '.' } else { c })
        .collect();
    let bare = folded.strip_suffix('.').unwrap_or(&folded);
    if ends_in_a_number(bare) {
        return parse_ip(bare).filter(IpAddr::is_ipv4).map(Host::Ip);
    }
    Some(Host::Name(host))
}

/// The WHATWG URL rule for hosts read as IPv4: the last label is all digits,
/// or `0x`/`0X` followed by hexadecimal digits.
fn ends_in_a_number(host: &str) -> bool {
    let last = rsplit_at_byte(host, b'.').map_or(host, |(_, last)| last);
    if let Some(hex) = last.strip_prefix("0x").or_else(|| last.strip_prefix("0X")) {
        return hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())
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

/// Appends `scheme://host[:port]` with scheme and host name ASCII-lowercased
/// and an IP-literal host truncated.
fn push_origin(origin: &Origin<'_>, out: &mut String) {
    push_ascii_lowercase(origin.scheme, out);
    out.push_str("://");
    match origin.host {
        Host::Name(name) => push_host_name(name, out),
        Host::Ip(ip) => {
            let cut = truncate_ip(ip, HOST_IPV4_PREFIX, HOST_IPV6_PREFIX);
            if ip.is_ipv6() {
                out.push('[');
                write_ip(cut, out);
                out.push(']');
            } else {
                write_ip(cut, out);
            }
        }
    }
    if !origin.port.is_empty() {
        out.push(':');
        out.push_str(origin.port);
    }
}

/// Appends a host name lower-cased, label by label; a label the classifier
/// flags (`alice-wang-13800138000.blog.example`) is replaced by its
/// placeholder, so a personal subdomain never survives in an origin.
fn push_host_name(name: &str, out: &mut String) {
    for (i, label) in name.split('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        match could_be_identifier(label).then(|| classify(label)).flatten() {
            Some(kind) => out.push_str(kind.placeholder()),
            None => push_ascii_lowercase(label, out),
        }
    }
}

/// Appends `s` with ASCII letters lowercased (other characters unchanged).
fn push_ascii_lowercase(s: &str, out: &mut String) {
    let start = out.len();
    out.push_str(s);
    out[start..].make_ascii_lowercase();
}

/// Appends `?a=1&b=2` made of the parameters whose decoded name is listed, as
/// written, except that a value the classifier flags (judged form-decoded)
/// is replaced by its placeholder.
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
                match split_at_byte(pair, b'=').and_then(|(_, value)| value_kind(value)) {
                    Some(placeholder) => {
                        out.push_str(name);
                        out.push('=');
                        out.push_str(placeholder);
                    }
                    None => out.push_str(pair),
                }
                separator = '&';
            }
        }
        match tail {
            Some(t) => rest = t,
            None => return,
        }
    }
}

/// The placeholder for a query value the classifier flags, judged on its
/// form-decoded text (`+` as space, then percent-decoding).
fn value_kind(value: &str) -> Option<&'static str> {
    if !could_be_identifier(value) {
        return None;
    }
    let spaced;
    let value = if find_byte(value, b'+').is_some() {
        spaced = value.replace('+', " ");
        spaced.as_str()
    } else {
        value
    };
    // Decoded up to three times, so a double-encoded value (`alice%2540…`)
    // is judged as what a lenient reader would finally see.
    let mut decoded: std::borrow::Cow<'_, str> = percent_decode_str(value).decode_utf8_lossy();
    for _ in 0..2 {
        if find_byte(&decoded, b'%').is_none() {
            break;
        }
        let again = percent_decode_str(&decoded).decode_utf8_lossy().into_owned();
        decoded = std::borrow::Cow::Owned(again);
    }
    classify(&decoded).map(|kind| kind.placeholder())
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

/// `{ action = "url", keep = "path", keep_params = ["page"] }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlConfig {
    /// `origin` or `path` (default).
    #[serde(default = "default_url_keep")]
    pub keep: UrlKeep,
    /// Query parameters that survive (`keep = "path"` only).
    #[serde(default)]
    pub keep_params: Vec<String>,
}

fn default_url_keep() -> UrlKeep {
    UrlKeep::Path
}

/// Compiled `url`.
#[derive(Debug, Clone)]
pub struct Url {
    keep: UrlKeep,
    keep_params: Vec<String>,
}

impl ActionConfig for UrlConfig {
    const NAME: &'static str = "url";
    const ACCEPTS: TypeSet = TypeSet::of(&[JsonType::String, JsonType::Null]);
    type Compiled = Url;

    fn compile(&self, _keys: &KeyStore) -> Result<Url, ConfigError> {
        Ok(Url { keep: self.keep, keep_params: self.keep_params.clone() })
    }

    fn explain(&self) -> String {
        let base = match self.keep {
            UrlKeep::Origin => {
                "URL reduced to its origin (scheme, host, port); an IP-literal host truncated \
                 (/24, /48)"
            }
            UrlKeep::Path => {
                "URL reduced to its path; credentials, fragment and matrix parameters removed; \
                 path segments that look like identifiers (email, phone, ID, card, IP, long \
                 number, token) replaced by placeholders; an IP-literal host truncated (/24, /48)"
            }
        };
        if self.keep_params.is_empty() || self.keep == UrlKeep::Origin {
            format!("{base}; query string removed")
        } else {
            format!(
                "{base}; query parameters kept: {} (values that look like identifiers replaced \
                 by placeholders)",
                self.keep_params.join(", ")
            )
        }
    }
}

impl Transform for Url {
    /// Anything [`reduce_url`] refuses drops the field.
    #[inline]
    fn apply_str(&self, value: &str, emit: &mut Emit<'_>) -> Outcome {
        emit.tmp.clear();
        if !reduce_url(value, self.keep, &self.keep_params, emit.tmp) {
            return Outcome::Dropped;
        }
        write_str(emit.out, emit.tmp);
        Outcome::Written
    }
}

#[cfg(test)]
mod tests;
