//! The authority of an absolute `url`: scheme, host and port validated
//! and written back (host lower-cased; an IP literal truncated; host labels
//! that look like identifiers replaced by placeholders).

use std::net::IpAddr;

use super::{find_byte, rsplit_at_byte, split_at_byte, split_byte};
use crate::actions::ip::{parse_ip, write_ip};
use crate::actions::truncate_ip::truncate_ip;
use crate::classify::{classify, could_be_identifier};

/// Prefixes applied to an IP-literal host, as `truncate_ip` does by default.
const HOST_IPV4_PREFIX: u8 = 24;
/// See [`HOST_IPV4_PREFIX`].
const HOST_IPV6_PREFIX: u8 = 48;

/// Schemes accepted for absolute URLs; anything else (`javascript:`, `mailto:`,
/// `data:`, `file:`) is rejected.
const SCHEMES: [&str; 5] = ["http", "https", "ws", "wss", "ftp"];

/// The validated pieces of an absolute URL's authority.
pub(super) struct Origin<'a> {
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

/// Splits `scheme://authority/path` (query and fragment already cut) into a validated
/// origin and the path (possibly empty). Userinfo is skipped.
pub(super) fn split_absolute(text: &str) -> Option<(Origin<'_>, &str)> {
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
pub(super) fn push_origin(origin: &Origin<'_>, out: &mut String) {
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
    for (i, label) in split_byte(name, b'.').enumerate() {
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
