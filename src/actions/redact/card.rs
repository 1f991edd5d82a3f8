//! `[CARD]`: payment card numbers.
//!
//! 13–19 digits, glued or in groups of 3–6 joined by one kind of
//! separator (space, dash, dot or underscore: `4111.1111.1111.1111`,
//! `6222_0212_3456_7890_128`), passing the Luhn check, with an issuer
//! prefix in use: 22–27 (Mastercard 2-series, Mir), 30/34–39 (Diners,
//! JCB, Amex), 4 (Visa), 5 (Mastercard, Maestro), 6 (UnionPay `62`,
//! Discover, Maestro), 8–9 (UnionPay and domestic schemes). Numbers
//! starting with 0 or 1 are never cards (epoch milli/microsecond
//! timestamps and snowflake IDs are).

use super::bounds::{
    clear_after, clear_before, inside_longer_grouping, window_cuttable, Gap, Group,
};
use super::{Detector, Sink};

const MIN_CARD_DIGITS: usize = 13;
const MAX_CARD_DIGITS: usize = 19;

/// Cards among the windows of one run of digit groups.
pub(super) fn scan_run(b: &[u8], run: &[Group], sink: &mut Sink) {
    for e in 0..run.len() {
        let Some(last) = run.get(e) else { continue };
        let mut digits = 0;
        for s in (0..=e).rev() {
            let Some(first) = run.get(s) else { break };
            digits += first.len();
            if digits > MAX_CARD_DIGITS {
                break;
            }
            if s < e {
                let group_ok = |g: &Group| (3..=6).contains(&g.len());
                let plain =
                    run.get(s + 1).is_some_and(|next| next.gap.plain() && next.gap == last.gap);
                if !group_ok(first) || !group_ok(last) || !plain {
                    break;
                }
            }
            if digits >= MIN_CARD_DIGITS {
                candidate(b, run, s, e, sink);
            }
        }
    }
}

fn candidate(b: &[u8], run: &[Group], s: usize, e: usize, sink: &mut Sink) {
    let (Some(first), Some(last)) = (run.get(s), run.get(e)) else { return };
    let Some(span) = b.get(first.start..last.end) else { return };
    let digits = span.iter().filter(|c| c.is_ascii_digit()).count();
    if !issuer_ok(span, digits) || !luhn_valid(span) || !window_cuttable(run, s, e) {
        return;
    }
    if inside_longer_grouping(run, s, e) || (digits == 18 && super::cn_id::id_shaped(span)) {
        return;
    }
    let first_in_run = first.gap == Gap::None;
    let last_in_run = run.get(e + 1).is_none();
    if (first_in_run && !clear_before(b, first.start)) || (last_in_run && !clear_after(b, last.end))
    {
        return;
    }
    sink.push(first.start, last.end, Detector::Card);
}

/// The first two digits name an issuer range in use, with a length that
/// issuer uses.
fn issuer_ok(span: &[u8], len: usize) -> bool {
    let mut d = span.iter().filter(|c| c.is_ascii_digit());
    let (Some(&a), Some(&b)) = (d.next(), d.next()) else { return false };
    match (a, b) {
        (b'2', b'2'..=b'7') => len == 16,
        (b'3', b'4' | b'7') => len == 15,
        (b'3', b'0' | b'6' | b'8' | b'9') => len >= 14,
        (b'3', b'5') => len >= 16,
        (b'4', _) => matches!(len, 13 | 16 | 19),
        (b'5', b'1'..=b'5') => len == 16,
        (b'5', b'0' | b'6'..=b'9') | (b'6', _) => len >= 12,
        (b'8' | b'9', _) => len >= 16,
        _ => false,
    }
}

/// Luhn check over the ASCII digits of `span` (separators are skipped).
pub(crate) fn luhn_valid(span: &[u8]) -> bool {
    let mut sum = 0;
    let mut double = false;
    for &c in span.iter().rev().filter(|c| c.is_ascii_digit()) {
        let mut d = u32::from(c - b'0');
        if double {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        double = !double;
    }
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::super::tests::{all, luhn_break, luhn_complete, only, redact_with};
    use super::*;

    #[test]
    fn luhn_valid_cards_in_every_notation() {
        let unionpay = luhn_complete("622202123456789012");
        let up_grouped = format!(
            "{} {} {} {} {}",
            &unionpay[..4],
            &unionpay[4..8],
            &unionpay[8..12],
            &unionpay[12..16],
            &unionpay[16..]
        );
        for text in [
            "4111 1111 1111 1111",
            "4111111111111111",
            "4111-1111-1111-1111",
            "4111.1111.1111.1111",
            "4111_1111_1111_1111",
            "5500 0000 0000 0004",
            "378282246310005",
            "3782 822463 10005",
            "４１１１ １１１１ １１１１ １１１１",
            unionpay.as_str(),
            up_grouped.as_str(),
        ] {
            assert_eq!(redact_with(&[Detector::Card], text), ("[CARD]".into(), 1), "{text}");
            assert_eq!(all(text), "[CARD]", "all detectors: {text}");
        }
        assert_eq!(only(Detector::Card, "卡号4111111111111111。"), "卡号[CARD]。");
        assert_eq!(
            only(Detector::Card, "card 4111 1111 1111 1111 exp 12/27"),
            "card [CARD] exp 12/27"
        );
    }

    #[test]
    fn invalid_and_malformed_numbers_are_kept() {
        let unionpay_bad = luhn_break(&luhn_complete("622202123456789012"));
        let epoch_millis = luhn_complete("170000000000");
        for text in [
            "4111 1111 1111 1112",
            "4111111111111112",
            unionpay_bad.as_str(),
            "4111-1111 1111-1111",  // mixed separators
            "4111  1111 1111 1111", // double space
            "41111111111111110000", // 20 digits containing a valid card
            "x4111111111111111",
            "4111111111111111.50",
            "0000000000000000",
            epoch_millis.as_str(),
            "41 11 11 11 11 11 11 11",
        ] {
            assert_eq!(only(Detector::Card, text), text, "{text}");
        }
        let order = "7000000000000001";
        assert!(!luhn_valid(order.as_bytes()));
        assert_eq!(all(&format!("订单号{order}已发货")), format!("订单号{order}已发货"));
    }

    #[test]
    fn cards_next_to_other_numbers() {
        assert_eq!(only(Detector::Card, "4111 1111 1111 1111, 2024"), "[CARD], 2024");
        // A 22-digit postal tracking number in groups of four is no card.
        let usps = "9400 1000 0000 0000 0000 00";
        assert_eq!(only(Detector::Card, usps), usps);
        assert_eq!(
            only(Detector::Card, "USPS 9400 8505 0316 7334 0046 86"),
            "USPS 9400 8505 0316 7334 0046 86"
        );
        // An 18-digit number starting with 4 is no Visa (13, 16, 19 digits).
        assert_eq!(only(Detector::Card, "流水 420102200110217729"), "流水 420102200110217729");
        // An 18-digit number with a China ID's structure is judged as an ID.
        assert!(luhn_valid(b"350203198311297374"));
        assert_eq!(only(Detector::Card, "流水 350203198311297374"), "流水 350203198311297374");
        assert_eq!(only(Detector::Card, "ref 12 4111111111111111 34"), "ref 12 [CARD] 34");
    }
}
