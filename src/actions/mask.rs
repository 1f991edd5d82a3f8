//! `mask`: hide all but the last few characters of a number (cards, phones, accounts).
//!
//! Support staff and reports need the tail of a card or phone number to tell
//! records apart ("card ending 1234"); nobody downstream needs the rest. This
//! module owns that masking. Separators are dropped so the output length reveals
//! only the count of letters and digits, never the original layout, and a value
//! too short to mask partially is masked entirely, so the whole value is never
//! revealed.

/// Appends `text` masked to `out`, keeping only its last `keep_last` alphanumerics.
///
/// `4111 1111 1111 1234`, keep 4 → `************1234`: the output is `mask_char`
/// repeated (number of alphanumerics − `keep_last`) followed by the last `keep_last`
/// alphanumerics; every other character (spaces, dashes, `+`, parentheses) is
/// dropped. If the value has `keep_last` or fewer alphanumerics, all of them are
/// masked. "Alphanumeric" is Unicode's ([`char::is_alphanumeric`]), so full-width
/// digits and non-Latin letters count and multi-byte characters are never split.
pub fn mask(text: &str, keep_last: usize, mask_char: char, out: &mut String) {
    let total = text.chars().filter(|c| c.is_alphanumeric()).count();
    let masked = if total > keep_last { total - keep_last } else { total };
    out.reserve(masked * mask_char.len_utf8() + (total - masked) * 4);
    for (i, c) in text.chars().filter(|c| c.is_alphanumeric()).enumerate() {
        out.push(if i < masked { mask_char } else { c });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn masked(text: &str, keep_last: usize, mask_char: char) -> String {
        let mut out = String::new();
        mask(text, keep_last, mask_char, &mut out);
        out
    }

    #[test]
    fn card_and_phone() {
        assert_eq!(masked("4111 1111 1111 1234", 4, '*'), "************1234");
        assert_eq!(masked("4111-1111-1111-1234", 4, '*'), "************1234");
        assert_eq!(masked("+1 (555) 123-4567", 4, '*'), "*******4567");
        assert_eq!(masked("DE89 3704 0044 0532 0130 00", 4, 'X'), "XXXXXXXXXXXXXXXXXX3000");
    }

    #[test]
    fn too_short_values_are_fully_masked() {
        assert_eq!(masked("123", 4, '*'), "***");
        assert_eq!(masked("1234", 4, '*'), "****");
        assert_eq!(masked("12345", 4, '*'), "*2345");
        assert_eq!(masked("1-2", 4, '*'), "**");
        assert_eq!(masked("", 4, '*'), "");
        assert_eq!(masked(" - ", 4, '*'), "");
    }

    #[test]
    fn keep_zero_masks_everything() {
        assert_eq!(masked("4111 1234", 0, '*'), "********");
    }

    #[test]
    fn unicode_is_safe() {
        assert_eq!(masked("１２３４５６", 2, '*'), "****５６");
        assert_eq!(masked("名前-田中1234", 3, '•'), "•••••234");
        assert_eq!(masked("ab\u{301}cd", 2, '*'), "**cd"); // combining mark dropped
        assert_eq!(masked("12\u{1F600}34", 1, '#'), "###4");
    }

    #[test]
    fn appends_to_existing_output() {
        let mut out = String::from("card=");
        mask("4111111111111234", 4, '*', &mut out);
        assert_eq!(out, "card=************1234");
    }

    proptest! {
        #[test]
        fn never_reveals_more_than_keep_last(text in "\\PC{0,30}", keep_last in 0usize..8) {
            let out = masked(&text, keep_last, '*');
            let alnum: Vec<char> = text.chars().filter(|c| c.is_alphanumeric()).collect();
            prop_assert_eq!(out.chars().count(), alnum.len());
            let shown = if alnum.len() > keep_last { keep_last } else { 0 };
            let split = alnum.len() - shown;
            let (stars, tail): (String, String) = (
                out.chars().take(split).collect(),
                out.chars().skip(split).collect(),
            );
            prop_assert!(stars.chars().all(|c| c == '*'));
            prop_assert_eq!(tail, alnum[split..].iter().collect::<String>());
        }
    }
}
