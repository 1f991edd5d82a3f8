//! IP addresses as they appear in log fields: parsing ([`parse_ip`]),
//! canonical text ([`write_ip`]) and the IPv4 address an IPv6 address
//! carries ([`embedded_ipv4`]). Shared by `truncate_ip`, `pseudonymize_ip`,
//! `url` (IP-literal hosts) and the classifier.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest textual IP [`parse_ip`] can accept: a bracketed IPv6 address with an
/// embedded dotted quad, `[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]`.
const MAX_IP_TEXT_LEN: usize = 47;

/// Parses an IP address as it appears in logs.
///
/// Accepts plain IPv4 (`203.0.113.7`), plain IPv6 in any RFC 4291 text form
/// (`2a02:810d:9f:3a::17`, `::ffff:192.0.2.1`) and IPv6 in brackets
/// (`[2001:db8::1]`). An IPv4-mapped IPv6 address stays [`IpAddr::V6`];
/// `truncate_ip` treats its IPv4 part with the IPv4 prefix.
///
/// Returns `None` for anything else: empty text, surrounding whitespace,
/// ports (`1.2.3.4:80`, `[::1]:443`), zone ids (`fe80::1%eth0`), CIDR suffixes,
/// bracketed IPv4, IPv4 octets with leading zeros, and host names. The caller
/// drops and counts such a field; it never passes through raw.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    if s.is_empty() || s.len() > MAX_IP_TEXT_LEN {
        return None;
    }
    if let Some(v4) = parse_ipv4_fast(s.as_bytes()) {
        return Some(IpAddr::V4(v4));
    }
    if let Some(v6) = parse_ipv6_fast(s.as_bytes()) {
        return Some(IpAddr::V6(v6));
    }
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner.strip_suffix(']')?;
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    s.parse::<IpAddr>().ok()
}

/// The common case of [`parse_ip`] without std's general parser: exactly
/// four dot-separated decimal octets of 1–3 digits, no leading zeros, each
/// at most 255. Accepts a subset of what std accepts (anything else goes to
/// std), so the two agree on every input.
#[inline]
fn parse_ipv4_fast(b: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        let start = i;
        let mut value = 0u32;
        while i < b.len() && i - start < 3 && b[i].is_ascii_digit() {
            value = value * 10 + u32::from(b[i] - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || value > 255 || (digits > 1 && b[start] == b'0') {
            return None;
        }
        *octet = value as u8;
        if k < 3 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    (i == b.len()).then_some(Ipv4Addr::from(octets))
}

/// The common IPv6 forms without std's general parser: hex groups of 1–4
/// digits separated by `:`, either exactly eight of them or at most seven
/// around one `::`. Anything else (an embedded dotted quad, brackets) is
/// left to std. Accepts a subset of what std accepts, with the same value,
/// so the two agree on every input.
#[inline]
fn parse_ipv6_fast(b: &[u8]) -> Option<Ipv6Addr> {
    /// Parses `part` (no `::` inside) into `groups`; returns how many.
    fn groups(part: &[u8], out: &mut [u16; 8]) -> Option<usize> {
        if part.is_empty() {
            return Some(0);
        }
        let mut n = 0;
        for group in part.split(|&c| c == b':') {
            if group.is_empty() || group.len() > 4 || n == 8 {
                return None;
            }
            let mut value = 0u16;
            for &c in group {
                value = value << 4 | u16::from(char::from(c).to_digit(16)? as u8);
            }
            out[n] = value;
            n += 1;
        }
        Some(n)
    }
    if b.len() < 2 || b.len() > 39 || !b.iter().all(|c| c.is_ascii_hexdigit() || *c == b':') {
        return None;
    }
    let mut head = [0u16; 8];
    let mut tail = [0u16; 8];
    let gap = b.windows(2).position(|w| w == b"::");
    let segments = match gap {
        None => (groups(b, &mut head)? == 8).then_some(head)?,
        Some(at) => {
            let h = groups(&b[..at], &mut head)?;
            let t = groups(&b[at + 2..], &mut tail)?;
            // `::` stands for at least one zero group.
            if h + t > 7 {
                return None;
            }
            let mut segments = [0u16; 8];
            segments[..h].copy_from_slice(&head[..h]);
            segments[8 - t..].copy_from_slice(&tail[..t]);
            segments
        }
    };
    Some(Ipv6Addr::from(segments))
}

/// Where an IPv6 address carries an IPv4 address (see [`embedded_ipv4`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding {
    /// `::ffff:a.b.c.d` (IPv4-mapped, RFC 4291): IPv4 in the last 32 bits.
    Mapped,
    /// `::a.b.c.d` (IPv4-compatible, deprecated by RFC 4291): the last 32 bits.
    Compatible,
    /// `64:ff9b::a.b.c.d` (NAT64 well-known prefix, RFC 6052): the last 32 bits.
    Nat64,
    /// `2002:AABB:CCDD::/48` (6to4, RFC 3056): IPv4 in bits 16–47; bits 48–127
    /// are the site's subnet and interface ids.
    SixToFour,
}

/// The IPv4 address an IPv6 address carries, and how, or `None`.
///
/// Only the forms whose position of the IPv4 address is fixed by their
/// prefix are recognized: NAT64 with a network-specific prefix (RFC 6052
/// §2.2, e.g. `64:ff9b:1::/48`) cannot be told from ordinary IPv6 and is
/// truncated as such. Teredo is not an embedding here (its IPv4 is
/// obfuscated); `truncate_ip` handles it separately.
pub fn embedded_ipv4(ip: Ipv6Addr) -> Option<(Embedding, Ipv4Addr)> {
    let bits = u128::from(ip);
    let low32 = Ipv4Addr::from(bits as u32);
    match bits >> 32 {
        0xffff => Some((Embedding::Mapped, low32)),
        0 => Some((Embedding::Compatible, low32)),
        x if x == 0x0064_ff9b << 64 => Some((Embedding::Nat64, low32)),
        _ if bits >> 112 == 0x2002 => {
            Some((Embedding::SixToFour, Ipv4Addr::from((bits >> 80) as u32)))
        }
        _ => None,
    }
}

/// Puts `v4` back where [`embedded_ipv4`] found it in `ip`; for 6to4 the bits
/// after the IPv4 address come from `rest` (bits 48–127).
pub fn reembed_ipv4(ip: Ipv6Addr, how: Embedding, v4: Ipv4Addr, rest: u128) -> Ipv6Addr {
    let bits = u128::from(ip);
    let v4 = u128::from(u32::from(v4));
    Ipv6Addr::from(match how {
        Embedding::Mapped | Embedding::Compatible | Embedding::Nat64 => {
            (bits & !u128::from(u32::MAX)) | v4
        }
        Embedding::SixToFour => (0x2002 << 112) | (v4 << 80) | (rest & ((1 << 80) - 1)),
    })
}

/// Appends the canonical text form of `ip` to `out`: dotted quad for IPv4,
/// RFC 5952 for IPv6 (lower case, longest zero run compressed, IPv4-mapped as
/// `::ffff:a.b.c.d`), exactly as std's `Display` prints it.
///
/// Writes straight into `out` without a temporary `String`.
pub fn write_ip(ip: IpAddr, out: &mut String) {
    match ip {
        IpAddr::V4(v4) => {
            let mut buf = [0u8; 15];
            let n = format_ipv4(v4, &mut buf);
            // Digits and dots only.
            out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or_default());
        }
        // IPv4-mapped addresses print a dotted quad: std's `Display`.
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => {
            // `fmt::Write` for `String` cannot fail.
            let _ = write!(out, "{ip}");
        }
        IpAddr::V6(v6) => write_ipv6(v6, out),
    }
}

/// RFC 5952 text as std's `Display` writes it for an address that is not
/// IPv4-mapped: lower-case hex groups without leading zeros, the first
/// longest run of two or more zero groups written as `::`.
fn write_ipv6(ip: Ipv6Addr, out: &mut String) {
    let segments = ip.segments();
    let (mut best_start, mut best_len, mut run_start, mut run_len) = (0, 0, 0, 0);
    for (i, &segment) in segments.iter().enumerate() {
        if segment == 0 {
            if run_len == 0 {
                run_start = i;
            }
            run_len += 1;
            if run_len > best_len {
                (best_start, best_len) = (run_start, run_len);
            }
        } else {
            run_len = 0;
        }
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 39];
    let mut n = 0;
    let push_group = |buf: &mut [u8; 39], n: &mut usize, segment: u16| {
        let digits = (4 - (segment.leading_zeros() / 4) as usize).max(1);
        for k in (0..digits).rev() {
            buf[*n] = HEX[usize::from((segment >> (k * 4)) & 0xf)];
            *n += 1;
        }
    };
    let mut i = 0;
    while i < 8 {
        if best_len > 1 && i == best_start {
            buf[n] = b':';
            buf[n + 1] = b':';
            n += 2;
            i += best_len;
            continue;
        }
        if i > 0 && !(best_len > 1 && i == best_start + best_len) {
            buf[n] = b':';
            n += 1;
        }
        push_group(&mut buf, &mut n, segments[i]);
        i += 1;
    }
    // Hex digits and colons only.
    out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or_default());
}

/// Dotted quad into `buf`; returns its length (at most 15).
#[inline]
fn format_ipv4(ip: Ipv4Addr, buf: &mut [u8; 15]) -> usize {
    let mut n = 0;
    for (k, octet) in ip.octets().into_iter().enumerate() {
        if k > 0 {
            buf[n] = b'.';
            n += 1;
        }
        if octet >= 100 {
            buf[n] = b'0' + octet / 100;
            n += 1;
        }
        if octet >= 10 {
            buf[n] = b'0' + octet / 10 % 10;
            n += 1;
        }
        buf[n] = b'0' + octet % 10;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests;
