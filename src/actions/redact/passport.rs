//! `[PASSPORT]`: China passport numbers, only after a context word.
//!
//! Passport numbers (`E12345678`, `EA1234567`, `G12345678`, and `D`/`S`/`P`
//! plus 7 digits for diplomatic, service and public-affairs passports) look
//! like SKUs and ticket ids, so one is redacted only when `护照`, `護照` or
//! `passport` comes within a few characters before it (`护照号码：E12345678`,
//! `passport no. EA1234567`). Licence plates are not detected: their shape
//! (`京A·12345`) collides with product and ticket codes, and the policy's
//! categories do not list them.

use super::{Detector, Sink};

/// How far after the context word a number may start.
const REACH: usize = 32;

/// The first passport-shaped token within reach after a context word.
pub(super) fn after_context(b: &[u8], from: usize, sink: &mut Sink) {
    let limit = (from + REACH).min(b.len());
    let mut i = from;
    while i < limit {
        let c = b.get(i).copied().unwrap_or_default();
        let boundary = i == 0 || b.get(i - 1).is_some_and(|p| !p.is_ascii_alphanumeric());
        if c.is_ascii_uppercase() && boundary {
            if let Some(len) = passport_len(b.get(i..).unwrap_or_default()) {
                if !b.get(i + len).is_some_and(u8::is_ascii_alphanumeric) {
                    sink.push(i, i + len, Detector::Passport);
                    return;
                }
            }
        }
        i += 1;
    }
}

/// The length of a passport number at the start of `t`.
fn passport_len(t: &[u8]) -> Option<usize> {
    let digits =
        |r: std::ops::Range<usize>| t.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    match t.first()? {
        b'E' | b'G' if digits(1..9) => Some(9),
        b'E' if t.get(1).is_some_and(|c| c.is_ascii_uppercase() && !matches!(c, b'I' | b'O'))
            && digits(2..9) =>
        {
            Some(9)
        }
        b'D' | b'S' | b'P' if digits(1..8) => Some(8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::only;
    use super::*;

    #[test]
    fn passports_after_context_words() {
        for (text, expected) in [
            ("护照号码：E12345678，有效期至2030年", "护照号码：[PASSPORT]，有效期至2030年"),
            ("passport no. EA1234567", "passport no. [PASSPORT]"),
            ("Passport: G87654321.", "Passport: [PASSPORT]."),
        ] {
            assert_eq!(only(Detector::Passport, text), expected, "{text}");
        }
    }

    #[test]
    fn shapes_without_context_are_kept() {
        for text in [
            "SKU E12345678",
            "ticket G12345678",
            "passport photo for order E1234",
            "护照 EI1234567",
        ] {
            assert_eq!(only(Detector::Passport, text), text, "{text}");
        }
    }
}
