//! `[IP]`: IPv4 and IPv6 addresses.
//!
//! - IPv4: exactly four dot-joined groups of 1–3 digits, each at most 255,
//!   not inside a longer dotted run (`1.2.3.4.5`), not touching letters
//!   except a leading `IP`/`ip` (`登录IP10.0.0.1`), and not a version
//!   (`Chrome/124.0.0.0`, `version 10.0.0.1`, `v1.2.3.4`). A port after
//!   it (`:8080`) is kept as it is.
//! - IPv6: validated by std's parser inside words with two or more colons;
//!   a digit is required (keeps out `::` and `cafe::beef`), clock times do
//!   not parse. Brackets (`[2001:db8::1]:443`) and a zone id (`%eth0`)
//!   are covered by the label.

use std::net::Ipv6Addr;

use super::bounds::{clear_after, clear_before, next_byte, Gap, Group};
use super::{Detector, Sink};

/// Words after which a dotted quad is a version number, not an address.
const VERSION_WORDS: &[&[u8]] = &[
    b"version",
    b"ver",
    b"v",
    b"build",
    b"release",
    b"firmware",
    b"sdk",
    b"app",
    b"os",
    b"ios",
    b"android",
    b"windows",
];

/// IPv4 dotted quads among the digit groups: a maximal chain of exactly
/// four `.`-joined groups of 1–3 digits, each at most 255.
pub(super) fn scan_ipv4(b: &[u8], groups: &[Group], sink: &mut Sink) {
    let mut i = 0;
    while i < groups.len() {
        let mut j = i + 1;
        while groups.get(j).is_some_and(|g| g.gap == Gap::Dot) {
            j += 1;
        }
        if let (4, Some(chain)) = (j - i, groups.get(i..j)) {
            let octets_ok = chain.iter().all(|g| {
                g.len() <= 3
                    && b.get(g.start..g.end).is_some_and(|d| {
                        d.iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0')) <= 255
                    })
            });
            let (start, end) = (chain[0].start, chain[3].end);
            if octets_ok && before_ok(b, start) && clear_after(b, end) && !is_version(b, start) {
                sink.push(start, end, Detector::Ip);
            }
        }
        i = j;
    }
}

/// Clear before `start`, or right after the word `IP`.
fn before_ok(b: &[u8], start: usize) -> bool {
    if clear_before(b, start) {
        return true;
    }
    start >= 2
        && b.get(start - 2..start).is_some_and(|w| w.eq_ignore_ascii_case(b"ip"))
        && (start == 2 || b.get(start - 3).is_some_and(|&c| !c.is_ascii_alphanumeric()))
}

/// A product token (`Chrome/124.0.0.0`) or a version word right before.
fn is_version(b: &[u8], start: usize) -> bool {
    let mut k = start;
    if k > 0 && b.get(k - 1) == Some(&b'/') {
        return k >= 2 && b.get(k - 2).is_some_and(u8::is_ascii_alphabetic);
    }
    while k > 0 && matches!(b.get(k - 1), Some(b' ' | b':' | b'=')) && start - k < 3 {
        k -= 1;
    }
    let mut w = k;
    while w > 0 && b.get(w - 1).is_some_and(u8::is_ascii_alphabetic) {
        w -= 1;
    }
    let word = b.get(w..k).unwrap_or_default();
    VERSION_WORDS.iter().any(|v| v.eq_ignore_ascii_case(word))
        || b.get(k.saturating_sub(6)..k) == Some("版本".as_bytes())
}

/// Bytes of an IPv6 "word": the address alphabet plus the ASCII letters,
/// `_` and `.` that may touch it, so an address is only found whole.
fn is_v6_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'.')
}

/// Longest textual IPv6 address: 8 groups with an embedded IPv4 tail.
const MAX_IPV6_TEXT: usize = 45;

/// IPv6 addresses in words with two or more colons; each byte is visited
/// at most twice because the search resumes after the word examined.
pub(super) fn scan_ipv6(b: &[u8], sink: &mut Sink) {
    let mut from = 0;
    while let Some(colon) = next_byte(b, from, b':') {
        // `colon` is the word's first colon: count them all, and note a `::`.
        let mut word_end = colon;
        let mut colons = 0;
        let mut double = false;
        while let Some(&c) = b.get(word_end).filter(|&&c| is_v6_word(c)) {
            if c == b':' {
                colons += 1;
                double |= b.get(word_end + 1) == Some(&b':');
            }
            word_end += 1;
        }
        // An address inside the word needs a `::` or six colons (the
        // shape test of `is_ipv6`); clock times stop here.
        if colons >= 2 && (double || colons >= 6) {
            let mut word_start = colon;
            while word_start > from && b.get(word_start - 1).copied().is_some_and(is_v6_word) {
                word_start -= 1;
            }
            if let Some((start, end)) = ipv6_in_word(b, word_start, word_end) {
                let (start, end) = widen(b, start, end);
                sink.push(start, end, Detector::Ip);
            }
        }
        from = word_end;
    }
}

/// Takes in a zone id (`%eth0`, `%25eth0`) and enclosing brackets.
fn widen(b: &[u8], start: usize, mut end: usize) -> (usize, usize) {
    if b.get(end) == Some(&b'%') {
        let mut z = end + 1;
        while b
            .get(z)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        {
            z += 1;
        }
        if z > end + 1 {
            end = z;
        }
    }
    if start > 0 && b.get(start - 1) == Some(&b'[') && b.get(end) == Some(&b']') {
        return (start - 1, end + 1);
    }
    (start, end)
}

/// The address ending a word: the whole word, or the part after a
/// `label:` prefix (`src:2001:db8::1`), minus sentence punctuation after it.
fn ipv6_in_word(b: &[u8], word_start: usize, word_end: usize) -> Option<(usize, usize)> {
    let mut end = word_end;
    while end > word_start && b.get(end - 1) == Some(&b'.') {
        end -= 1;
    }
    if end >= word_start + 2 && b.get(end - 1) == Some(&b':') && b.get(end - 2) != Some(&b':') {
        end -= 1;
    }
    let lowest = end.saturating_sub(MAX_IPV6_TEXT).max(word_start);
    (lowest..end)
        .filter(|&s| s == word_start || starts_after_label(b, word_start, s))
        .find(|&s| b.get(s..end).is_some_and(is_ipv6))
        .map(|s| (s, end))
}

/// `start` follows a single `:` whose preceding segment is not itself a
/// hex group of an address (so `10:20:…` is never cut in the middle).
fn starts_after_label(b: &[u8], word_start: usize, start: usize) -> bool {
    let Some(colon) = start.checked_sub(1) else {
        return false;
    };
    if b.get(colon) != Some(&b':') || b.get(start) == Some(&b':') {
        return false;
    }
    if colon == word_start {
        return true;
    }
    if b.get(colon - 1) == Some(&b':') {
        return false;
    }
    let mut k = colon;
    while k > word_start && b.get(k - 1) != Some(&b':') {
        k -= 1;
        if colon - k > 4 || !b.get(k).is_some_and(u8::is_ascii_hexdigit) {
            return true;
        }
    }
    false
}

fn is_ipv6(candidate: &[u8]) -> bool {
    let colons = candidate.iter().filter(|&&c| c == b':').count();
    // Cheap shape test before std's parser: only hex digits, colons and
    // the dots of an IPv4 tail, and either a `::` or the six or seven
    // colons of a full address. Clock times (`12:30:45`) and MAC
    // addresses stop here; the parser alone decides the rest.
    let shape = candidate.iter().all(|&c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        && (colons >= 6 || candidate.windows(2).any(|w| w == b"::"));
    colons >= 2
        && shape
        && candidate.iter().any(u8::is_ascii_digit)
        && std::str::from_utf8(candidate).ok().and_then(|s| s.parse::<Ipv6Addr>().ok()).is_some()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{all, only, redact_with};
    use super::*;

    #[test]
    fn ipv4_positives_and_negatives() {
        assert_eq!(only(Detector::Ip, "from 192.168.1.20:8080"), "from [IP]:8080");
        assert_eq!(only(Detector::Ip, "ip=255.255.255.255."), "ip=[IP].");
        assert_eq!(only(Detector::Ip, "登录IP10.0.0.1成功"), "登录IP[IP]成功");
        assert_eq!(only(Detector::Ip, "登录10.0.0.1成功"), "登录[IP]成功");
        assert_eq!(only(Detector::Ip, "０.０.０.０"), "[IP]");
        for text in [
            "256.1.1.1",
            "1.2.3.4.5",
            "version 1.2.3.4.5 released",
            "v1.2.3.4",
            "1.2.3",
            "1.2.3.4a",
            "1.2.3.1000",
            "12.30.45",
            "Chrome/124.0.0.0 Safari",
            "version 10.0.0.1",
            "版本 4.2.0.1",
            "zip10.0.0.1",
        ] {
            assert_eq!(all(text), text, "{text}");
        }
    }

    #[test]
    fn ipv6_with_brackets_zones_and_ports() {
        for (text, expected) in [
            ("2001:db8::1", "[IP]"),
            ("::1", "[IP]"),
            ("fe80::1%eth0", "[IP]"),
            ("[2001:db8::1]:443", "[IP]:443"),
            ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "[IP]"),
            ("::ffff:192.168.1.1", "[IP]"),
            ("客户端2001:db8::5连接", "客户端[IP]连接"),
            ("at 2001:db8::1: timeout", "at [IP]: timeout"),
        ] {
            assert_eq!(redact_with(&[Detector::Ip], text), (expected.into(), 1), "{text}");
        }
        assert_eq!(
            redact_with(&[Detector::Ip], "src:2001:db8::1 dst:fe80::2."),
            ("src:[IP] dst:[IP].".into(), 2)
        );
    }

    #[test]
    fn ipv6_negatives() {
        for text in [
            "12:30:45",
            "at 12:30:45.123 today",
            "::",
            "std::net::Ipv6Addr",
            "cafe::beef",
            "10:20:30:40:50:60:70:80:90",
            "2001:db8::1::2",
            "00:1a:2b:3c:4d:5e",
        ] {
            assert_eq!(all(text), text, "{text}");
        }
    }
}
