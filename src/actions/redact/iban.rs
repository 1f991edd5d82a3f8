//! `[IBAN]`: international bank account numbers (ISO 13616).
//!
//! A country code from the IBAN registry, two check digits and the
//! country's exact length of letters and digits, glued (`DE89370400440532013000`)
//! or printed in groups of four (`DE89 3704 0044 0532 0130 00`); valid when
//! the mod-97 remainder of the rearranged number is 1.

use super::bounds::{is_word, Group};
use super::{Detector, Sink};

/// IBAN length per country (SWIFT IBAN registry), sorted by country code
/// for a binary search.
const LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NL", 18),
    (b"NO", 15),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"SA", 24),
    (b"SC", 31),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
];

const MAX_LEN: usize = 34;

/// IBANs: the check digits start a digit group right after two capital
/// letters (the country code) that do not continue a word.
pub(super) fn scan(b: &[u8], groups: &[Group], sink: &mut Sink) {
    let mut resume = 0;
    for g in groups {
        let Some(start) = g.start.checked_sub(2) else { continue };
        let starts = start >= resume
            && g.len() >= 2
            && b.get(start..g.start).is_some_and(|cc| cc.iter().all(u8::is_ascii_uppercase))
            && (start == 0 || b.get(start - 1).is_some_and(|&c| !is_word(c)));
        if starts {
            if let Some(end) = iban_at(b, start) {
                sink.push(start, end, Detector::Iban);
                resume = end;
            }
        }
    }
}

/// The end of a valid IBAN starting at `start`.
fn iban_at(b: &[u8], start: usize) -> Option<usize> {
    let country = b.get(start..start + 2)?;
    let at = LENGTHS.binary_search_by(|(c, _)| c.as_slice().cmp(country)).ok()?;
    let &(_, len) = LENGTHS.get(at)?;
    let mut chars = [0u8; MAX_LEN];
    let mut n = 0;
    let mut i = start;
    // Spaces are allowed only after every fourth character.
    while n < len {
        let c = *b.get(i)?;
        if c == b' ' && n % 4 == 0 && n > 0 && b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric) {
            i += 1;
            continue;
        }
        if !c.is_ascii_alphanumeric() {
            return None;
        }
        *chars.get_mut(n)? = c.to_ascii_uppercase();
        n += 1;
        i += 1;
    }
    if b.get(i).is_some_and(|&c| is_word(c)) {
        return None;
    }
    mod97(chars.get(..len)?).then_some(i)
}

/// ISO 7064 MOD 97-10 over the number with its first four characters
/// moved to the end and letters as 10–35; `iban` is compact (digits and
/// upper-case letters only: anything else fails). Also `mask`'s IBAN check.
pub(crate) fn mod97(iban: &[u8]) -> bool {
    let (head, tail) = iban.split_at(4.min(iban.len()));
    let mut rem: u32 = 0;
    for &c in tail.iter().chain(head) {
        match c {
            b'0'..=b'9' => rem = (rem * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => rem = (rem * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return false,
        }
    }
    rem == 1
}

#[cfg(test)]
mod tests {
    use super::super::tests::{all, only};
    use super::*;

    #[test]
    fn length_table_is_sorted_for_binary_search() {
        assert!(LENGTHS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn published_examples_validate() {
        for iban in [
            "DE89370400440532013000",
            "GB82WEST12345698765432",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
        ] {
            assert!(mod97(iban.as_bytes()), "{iban}");
            assert_eq!(only(Detector::Iban, iban), "[IBAN]", "{iban}");
        }
        assert_eq!(
            only(Detector::Iban, "IBAN: DE89 3704 0044 0532 0130 00, danke"),
            "IBAN: [IBAN], danke"
        );
        assert_eq!(all("账户GB82 WEST 1234 5698 7654 32。"), "账户[IBAN]。");
    }

    #[test]
    fn wrong_check_digits_lengths_and_shapes_are_kept() {
        for text in [
            "DE89370400440532013001",
            "DE8937040044053201300",
            "DE893704004405320130000",
            "XX89370400440532013000",
            "ADE89370400440532013000",
            "SKU AB12 3456 7890",
        ] {
            assert_eq!(only(Detector::Iban, text), text, "{text}");
        }
    }
}
