//! `mask`: hide all but the last few characters of a card or account number.
//!
//! Support staff and reports need the tail of a card or account number to tell
//! records apart ("card ending 1234"); nobody downstream needs the rest. This
//! module owns that masking, and it masks only values shaped like what it is
//! for ([`masked_shape`]): anything else (a card with its expiry date and CVV
//! glued on, free text, full-width digits) is refused whole, so the caller drops
//! and counts the field; a value is never partly shown. Separators are dropped
//! so the output length reveals only the count of digits and letters, never the
//! original layout, and a value too short to mask partially is masked entirely.

use serde::Deserialize;

use super::{
    write_str, ActionConfig, ConfigError, Emit, JsonType, Number, Outcome, Transform, TypeSet,
};
use crate::keys::KeyStore;

/// Fewest digits of a card or account number (short account numbers).
pub const MIN_DIGITS: usize = 8;
/// Most digits of a card number (ISO/IEC 7812 PANs are up to 19 digits).
pub const MAX_DIGITS: usize = 19;

/// What [`masked_shape`] recognized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// 8–19 ASCII digits, optionally grouped by single spaces or dashes.
    Digits,
    /// An IBAN (ISO 13616) with a valid MOD 97-10 check, optionally in groups
    /// separated by single spaces.
    Iban,
}

/// Whether `text` is a card/account number `mask` may partly show:
///
/// - [`Shape::Digits`]: 8–19 ASCII digits; between two digits a single space
///   or dash may appear (`4111 1111 1111 1111`, `4111-1111-1111-1111`); no
///   leading, trailing or doubled separators, nothing else.
/// - [`Shape::Iban`]: two upper-case letters, two check digits and 11–30
///   upper-case letters or digits (15–34 characters in all), optionally
///   separated by single spaces, passing the MOD 97-10 check.
///
/// `None` for everything else, e.g. `4111111111111111|12/29|987`,
/// `+1 (555) 123-4567`, full-width digits, lower-case IBANs.
pub fn masked_shape(text: &str) -> Option<Shape> {
    let b = text.as_bytes();
    let (first, last) = (b.first()?, b.last()?);
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return None;
    }
    // No doubled separator; only ASCII alphanumerics, spaces and dashes.
    let mut prev_sep = false;
    for &c in b {
        let sep = c == b' ' || c == b'-';
        if (sep && prev_sep) || !(sep || c.is_ascii_digit() || c.is_ascii_uppercase()) {
            return None;
        }
        prev_sep = sep;
    }
    let chars = b.iter().filter(|c| c.is_ascii_alphanumeric()).count();
    if b.iter().all(|c| !c.is_ascii_uppercase()) {
        return (MIN_DIGITS..=MAX_DIGITS).contains(&chars).then_some(Shape::Digits);
    }
    let valid_iban = !b.contains(&b'-')
        && (15..=34).contains(&chars)
        && b[0].is_ascii_uppercase()
        && b.get(1).is_some_and(u8::is_ascii_uppercase)
        && b.get(2).is_some_and(u8::is_ascii_digit)
        && b.get(3).is_some_and(u8::is_ascii_digit)
        && iban_checksum_ok(b);
    valid_iban.then_some(Shape::Iban)
}

/// ISO 13616 / ISO 7064 MOD 97-10 on the value without its spaces (the one
/// check, shared with the `redact` IBAN detector).
fn iban_checksum_ok(b: &[u8]) -> bool {
    let alnum: Vec<u8> = b.iter().copied().filter(u8::is_ascii_alphanumeric).collect();
    crate::actions::redact::iban_mod97_valid(&alnum)
}

/// Appends `text` masked to `out`, keeping only its last `keep_last` digits
/// or letters, when `text` has a [`masked_shape`]; returns false and appends
/// nothing otherwise (the caller drops and counts the field).
///
/// `4111 1111 1111 1234`, keep 4 → `************1234`: `mask_char` repeated
/// (number of digits and letters − `keep_last`) followed by the last
/// `keep_last` of them; separators are dropped. If the value has `keep_last`
/// or fewer digits and letters, all of them are masked.
pub fn mask(text: &str, keep_last: usize, mask_char: char, out: &mut String) -> bool {
    if masked_shape(text).is_none() {
        return false;
    }
    let total = text.bytes().filter(u8::is_ascii_alphanumeric).count();
    let masked = if total > keep_last { total - keep_last } else { total };
    out.reserve(masked * mask_char.len_utf8() + (total - masked));
    for (i, c) in text.chars().filter(char::is_ascii_alphanumeric).enumerate() {
        out.push(if i < masked { mask_char } else { c });
    }
    true
}

/// `{ action = "mask", keep_last = 4, mask_char = "*" }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskConfig {
    /// Characters kept at the end (default 4).
    #[serde(default = "default_keep_last")]
    pub keep_last: usize,
    /// Replacement character (default `*`).
    #[serde(default = "default_mask_char")]
    pub mask_char: char,
}

fn default_keep_last() -> usize {
    4
}

fn default_mask_char() -> char {
    '*'
}

/// Compiled `mask`.
#[derive(Debug, Clone, Copy)]
pub struct Mask {
    keep_last: usize,
    mask_char: char,
}

impl ActionConfig for MaskConfig {
    const NAME: &'static str = "mask";
    const ACCEPTS: TypeSet = TypeSet::of(&[JsonType::String, JsonType::Number, JsonType::Null]);
    type Compiled = Mask;

    fn compile(&self, _keys: &KeyStore) -> Result<Mask, ConfigError> {
        Ok(Mask { keep_last: self.keep_last, mask_char: self.mask_char })
    }

    fn explain(&self) -> String {
        format!(
            "masked: only the last {} characters kept; values not shaped like a card or account \
             number (8-19 digits, or an IBAN) removed",
            self.keep_last
        )
    }
}

impl Transform for Mask {
    /// Refused whole (dropped and counted) unless shaped like a card or account.
    #[inline]
    fn apply_str(&self, value: &str, emit: &mut Emit<'_>) -> Outcome {
        emit.tmp.clear();
        if !mask(value, self.keep_last, self.mask_char, emit.tmp) {
            return Outcome::Dropped;
        }
        write_str(emit.out, emit.tmp);
        Outcome::Written
    }

    /// A number is masked as its decimal text (serde_json's).
    #[inline]
    fn apply_number(&self, value: Number<'_>, emit: &mut Emit<'_>) -> Outcome {
        match value {
            Number::Int(_, text) | Number::BigInt(text) => self.apply_str(text, emit),
            Number::Float(v) => self.apply_str(ryu::Buffer::new().format(v), emit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::actions::action::testing;

    #[test]
    fn action_config_apply_and_explain() {
        let c: MaskConfig = toml::from_str("").unwrap();
        assert_eq!((c.keep_last, c.mask_char), (4, '*'));
        assert!(c.explain().starts_with("masked: only the last 4 characters kept"));
        assert!(toml::from_str::<MaskConfig>("keep_first = 2").is_err());
        let quote: MaskConfig = toml::from_str("keep_last = 2\nmask_char = '\"'").unwrap();
        let m = quote.compile(&KeyStore::default()).unwrap();
        // The mask character is escaped like any JSON text.
        assert_eq!(testing::apply_str(&m, "12345678").as_deref(), Some(r#""\"\"\"\"\"\"78""#));
        let m = c.compile(&KeyStore::default()).unwrap();
        assert_eq!(
            testing::apply_str(&m, "4111 1111 1111 1234").as_deref(),
            Some("\"************1234\"")
        );
        assert_eq!(testing::apply_str(&m, "call me"), None);
        let n = testing::apply_number(&m, Number::Int(411111111111, "411111111111"));
        assert_eq!(n.as_deref(), Some("\"********1111\""));
        assert_eq!(testing::apply_number(&m, Number::Float(1.5)), None);
    }

    fn masked(text: &str, keep_last: usize, mask_char: char) -> Option<String> {
        let mut out = String::new();
        let ok = mask(text, keep_last, mask_char, &mut out);
        assert_eq!(ok, !out.is_empty(), "{text:?}");
        ok.then_some(out)
    }

    #[test]
    fn cards_and_accounts() {
        assert_eq!(masked("4111 1111 1111 1234", 4, '*').unwrap(), "************1234");
        assert_eq!(masked("4111-1111-1111-1234", 4, '*').unwrap(), "************1234");
        assert_eq!(masked("6222021234567890123", 4, '*').unwrap(), "***************0123");
        assert_eq!(masked("12345678", 4, '*').unwrap(), "****5678");
        assert_eq!(
            masked("DE89 3704 0044 0532 0130 00", 4, 'X').unwrap(),
            "XXXXXXXXXXXXXXXXXX3000"
        );
        assert_eq!(masked("DE89370400440532013000", 4, '*').unwrap(), "******************3000");
        assert_eq!(masked("GB82WEST12345698765432", 4, '*').unwrap(), "******************5432");
    }

    #[test]
    fn other_values_are_refused_whole() {
        let mut out = String::from("before");
        for text in [
            "4111111111111111|12/29|987",
            "4111111111111111 12/29 987",
            "4111 1111 1111 1111 exp 12/29",
            "+1 (555) 123-4567",
            "1234567",
            "12345678901234567890",
            "4111  1111 1111 1111",
            "4111--1111-1111-1111",
            " 4111111111111111",
            "4111111111111111-",
            "4111111111111111\n",
            "１２３４５６７８９０",
            "DE89 3704 0044 0532 0130 01",
            "de89370400440532013000",
            "DE89-3704-0044-0532-0130-00",
            "card 4111111111111111",
            "alice@example.com",
            "",
            "-",
        ] {
            assert!(!mask(text, 4, '*', &mut out), "{text:?}");
            assert_eq!(out, "before", "{text:?}");
        }
    }

    #[test]
    fn keep_last_at_or_above_length_masks_everything() {
        assert_eq!(masked("12345678", 8, '*').unwrap(), "********");
        assert_eq!(masked("12345678", 20, '*').unwrap(), "********");
        assert_eq!(masked("4111 1234", 0, '*').unwrap(), "********");
    }

    #[test]
    fn iban_check_matches_published_examples() {
        // Examples from the IBAN registry (SWIFT), valid and altered.
        for iban in ["FR1420041010050500013M02606", "NL91ABNA0417164300", "BE68539007547034"] {
            assert_eq!(masked_shape(iban), Some(Shape::Iban), "{iban}");
        }
        for iban in ["FR1420041010050500013M02607", "NL91ABNA0417164301", "BE68539007547035"] {
            assert_eq!(masked_shape(iban), None, "{iban}");
        }
    }

    proptest! {
        /// A canary glued to a card number by any non-separator character is
        /// never shown: the value is refused whole.
        #[test]
        fn glued_values_are_never_partly_shown(
            card in "[0-9]{16}",
            glue in "[|/;:,._+#A-Za-z]",
            extra in "[0-9]{3,4}",
            keep_last in 0usize..8,
        ) {
            let text = format!("{card}{glue}{extra}");
            let mut out = String::new();
            prop_assert!(!mask(&text, keep_last, '*', &mut out));
            prop_assert!(out.is_empty());
        }

        #[test]
        fn never_reveals_more_than_keep_last(
            groups in prop::collection::vec("[0-9]{1,5}", 1..6),
            sep in "[ -]",
            keep_last in 0usize..8,
        ) {
            let text = groups.join(&sep);
            let digits: String = groups.concat();
            let mut out = String::new();
            let ok = mask(&text, keep_last, '*', &mut out);
            prop_assert_eq!(ok, (MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()));
            if ok {
                prop_assert_eq!(out.chars().count(), digits.len());
                let shown = if digits.len() > keep_last { keep_last } else { 0 };
                let split = digits.len() - shown;
                prop_assert!(out[..split].bytes().all(|c| c == b'*'));
                prop_assert_eq!(&out[split..], &digits[split..]);
            }
        }

        #[test]
        fn arbitrary_text_is_masked_or_refused_whole(text in "\\PC{0,30}") {
            let mut out = String::new();
            if mask(&text, 4, '*', &mut out) {
                prop_assert!(masked_shape(&text).is_some());
            } else {
                prop_assert!(out.is_empty());
            }
        }
    }
}
