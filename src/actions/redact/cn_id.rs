//! `[CN_ID]`: China resident identity numbers (GB 11643-1999).
//!
//! - 18 characters: 17 digits and a digit or `X`, written glued or in
//!   groups joined by one kind of space, dash or dot (`110105 19491231 002X`,
//!   `1101-0519-4912-3100-2X`); valid when the birth date (1900–2099) is a
//!   real date and the ISO 7064 MOD 11-2 check character matches;
//! - an 18-character number with a real birth date but a wrong check
//!   character is still redacted when an ID context word (`身份证`,
//!   `证件号`, `ID card`, `id no.`, a bare `ID:`) comes right before it —
//!   a mistyped ID is still an ID;
//! - 15-digit legacy numbers (before 1999): a province code in use and a
//!   real `19YYMMDD` birth date.

use super::bounds::{clear_after, clear_before, context_before, window_cuttable, Gap, Group};
use super::{Detector, Sink};

const CN_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CN_ID_CHECK: &[u8; 11] = b"10X98765432";

/// Words that make an ID-shaped number an ID even with a bad check character.
const CONTEXT: &[&str] = &[
    "身份证",
    "身份證",
    "证件号",
    "證件號",
    "公民身份",
    "id card",
    "idcard",
    "id no",
    "id number",
    "id#",
    "identity",
    "resident id",
    "national id",
    "citizen id",
];

/// The ISO 7064 MOD 11-2 check character of a China ID's first 17 digits
/// (the caller checks they are ASCII digits).
pub(crate) fn cn_id_check_char(body: &[u8]) -> u8 {
    let sum: u32 = body.iter().zip(CN_ID_WEIGHTS).map(|(&d, w)| u32::from(d - b'0') * w).sum();
    CN_ID_CHECK[(sum % 11) as usize]
}

/// GB 11643-1999: 17 digits, a real birth date (1900–2099) at positions
/// 7–14, and the ISO 7064 MOD 11-2 check character.
pub(crate) fn valid_cn_id(id: &[u8]) -> bool {
    let [body @ .., check] = id else { return false };
    body.len() == 17
        && body.iter().all(u8::is_ascii_digit)
        && check.to_ascii_uppercase() == cn_id_check_char(body)
        && birth_date_ok(body)
}

fn num(d: &[u8]) -> u32 {
    d.iter().fold(0u32, |acc, &c| acc * 10 + u32::from(c.wrapping_sub(b'0')))
}

/// The `YYYYMMDD` at positions 7–14 is a real date in 1900–2099.
fn birth_date_ok(body: &[u8]) -> bool {
    match body.get(6..14) {
        Some(d) => valid_date(num(&d[..4]), num(&d[4..6]), num(&d[6..8])),
        None => false,
    }
}

/// A birth date an ID can carry: a real calendar date (the one definition in
/// [`crate::time`]) in 1900–2099.
pub(super) fn valid_date(year: u32, month: u32, day: u32) -> bool {
    (1900..=2099).contains(&year) && crate::time::is_valid_date(year, month, day)
}

/// An 18-digit number with a China ID's structure (province code and
/// birth date), whatever its check character: cards leave these alone.
pub(super) fn id_shaped(digits18: &[u8]) -> bool {
    digits18.len() == 18 && province_ok(digits18) && birth_date_ok(digits18)
}

/// Province-level codes in use (the first two digits).
fn province_ok(d: &[u8]) -> bool {
    matches!(
        num(d.get(..2).unwrap_or_default()),
        11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82
    )
}

/// IDs among the windows of one run of digit groups.
pub(super) fn scan_run(b: &[u8], run: &[Group], sink: &mut Sink) {
    for e in 0..run.len() {
        // Windows ending at `e`, widened one group at a time: only a digit
        // total an ID can have is examined further.
        let mut total = 0;
        for s in (e.saturating_sub(5)..=e).rev() {
            total += run.get(s).map_or(0, Group::len);
            if matches!(total, 15 | 17 | 18) {
                window(b, run, s, e, sink);
            } else if total > 18 {
                break;
            }
        }
    }
}

fn window(b: &[u8], run: &[Group], s: usize, e: usize, sink: &mut Sink) {
    let (Some(first), Some(last), Some(groups)) = (run.get(s), run.get(e), run.get(s..=e)) else {
        return;
    };
    let total: usize = groups.iter().map(Group::len).sum();
    if !(total == 15 || total == 17 || total == 18) {
        return;
    }
    if let Some(inner) = groups.get(1..) {
        let kind = inner.first().map(|g| g.gap);
        let same =
            inner.iter().all(|g| Some(g.gap) == kind && g.gap.plain() && g.gap != Gap::Underscore);
        let sizes = groups.iter().rev().skip(1).all(|g| g.len() >= 2);
        if !same || !sizes {
            return;
        }
    }
    let mut id = [0u8; 18];
    let mut n = 0;
    for g in groups {
        for &c in b.get(g.start..g.end).unwrap_or_default() {
            if let Some(slot) = id.get_mut(n) {
                *slot = c;
            }
            n += 1;
        }
    }
    let x_follows = matches!(b.get(last.end), Some(b'X' | b'x'));
    let end = match total {
        17 if x_follows => {
            id[17] = b'X';
            last.end + 1
        }
        17 => return,
        _ => last.end,
    };
    if !window_cuttable(run, s, e) {
        return;
    }
    let first_in_run = first.gap == Gap::None;
    let last_in_run = run.get(e + 1).is_none() || end > last.end;
    if (first_in_run && !clear_before(b, first.start)) || (last_in_run && !clear_after(b, end)) {
        return;
    }
    let ok = if total == 15 {
        let sizes: Vec<usize> = groups.iter().map(Group::len).collect();
        let amex = matches!(id[..2], [b'3', b'4' | b'7']) && super::card::luhn_valid(&id[..15]);
        (sizes == [15] || sizes == [6, 6, 3])
            && !amex
            && province_ok(&id)
            && valid_date(1900 + num(&id[6..8]), num(&id[8..10]), num(&id[10..12]))
    } else {
        valid_cn_id(&id)
            || (province_ok(&id) && birth_date_ok(&id[..17]) && has_context(b, first.start))
    };
    if ok {
        sink.push(first.start, end, Detector::CnId);
    }
}

/// An ID context word right before `start`.
fn has_context(b: &[u8], start: usize) -> bool {
    context_before(b, start, 12, CONTEXT) || bare_id_before(b, start)
}

/// Words before a bare `ID` that name some other identifier.
const OTHER_IDS: &[&str] = &[
    "order",
    "user",
    "session",
    "request",
    "device",
    "ticket",
    "transaction",
    "trace",
    "tracking",
    "product",
    "item",
    "message",
    "msg",
    "account",
    "customer",
    "client",
    "app",
    "shop",
    "store",
    "merchant",
    "batch",
    "job",
    "task",
    "event",
    "record",
    "payment",
    "invoice",
    "订单",
    "用户",
    "会员",
    "商品",
    "设备",
    "工单",
    "客户",
    "交易",
    "流水",
    "账户",
    "请求",
];

/// A bare `ID` (any case) right before `start`, only filler between, and
/// not naming another identifier (`order ID`, `用户ID`).
fn bare_id_before(b: &[u8], start: usize) -> bool {
    let mut k = start;
    while k > 0 && matches!(b.get(k - 1), Some(b' ' | b':' | b'#' | b'=' | b'.')) && start - k < 4 {
        k -= 1;
    }
    if k < 2 || !b.get(k - 2..k).is_some_and(|w| w.eq_ignore_ascii_case(b"id")) {
        return false;
    }
    let id_at = k - 2;
    if id_at > 0 && b.get(id_at - 1).is_some_and(u8::is_ascii_alphanumeric) {
        return false; // `paid`, `uuid`
    }
    let mut w = id_at;
    while w > 0 && matches!(b.get(w - 1), Some(b' ' | b'_' | b'-')) && id_at - w < 2 {
        w -= 1;
    }
    let before = b.get(w.saturating_sub(12)..w).unwrap_or_default();
    let lower: Vec<u8> = before.iter().map(u8::to_ascii_lowercase).collect();
    !OTHER_IDS.iter().any(|word| lower.ends_with(word.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{all, cn_id, only, redact_with};
    use super::*;

    #[test]
    fn published_example_is_valid() {
        assert!(valid_cn_id(b"11010519491231002X"));
        assert!(valid_cn_id(b"11010519491231002x"));
        assert_eq!(cn_id("11010519491231002"), "11010519491231002X");
        assert_eq!(only(Detector::CnId, "身份证11010519491231002X。"), "身份证[CN_ID]。");
        assert_eq!(only(Detector::CnId, "id 11010519491231002x ok"), "id [CN_ID] ok");
    }

    #[test]
    fn computed_ids_in_every_grouping() {
        for body in
            ["44030419900101001", "31010120000229123", "51010219001231456", "65010120991130789"]
        {
            let id = cn_id(body);
            let spaced = format!("{} {} {}", &id[..6], &id[6..14], &id[14..]);
            let dashed =
                format!("{}-{}-{}-{}-{}", &id[..4], &id[4..8], &id[8..12], &id[12..16], &id[16..]);
            for text in [id.clone(), spaced, dashed] {
                assert_eq!(redact_with(&[Detector::CnId], &text), ("[CN_ID]".into(), 1), "{text}");
                assert_eq!(all(&format!("号码:{text}")), "号码:[CN_ID]");
            }
        }
        assert_eq!(
            only(Detector::CnId, "证件号：１１０１０５１９４９１２３１００２Ｘ"),
            "证件号：[CN_ID]"
        );
    }

    #[test]
    fn bad_check_character_needs_context() {
        let bad = "110105194912310021";
        assert!(!valid_cn_id(bad.as_bytes()));
        assert_eq!(only(Detector::CnId, bad), bad);
        for text in [format!("身份证号：{bad}"), format!("ID: {bad}"), format!("ID card no. {bad}")]
        {
            assert_eq!(only(Detector::CnId, &text), text.replace(bad, "[CN_ID]"), "{text}");
        }
        assert_eq!(
            only(Detector::CnId, &format!("reach me at ID: {bad}")),
            "reach me at ID: [CN_ID]"
        );
        for text in [format!("order ID: {bad}"), format!("订单ID {bad}"), format!("user id {bad}")]
        {
            assert_eq!(only(Detector::CnId, &text), text, "{text}");
        }
    }

    #[test]
    fn legacy_fifteen_digit_ids() {
        assert_eq!(only(Detector::CnId, "旧证 110105491231002 已换"), "旧证 [CN_ID] 已换");
        // Month 13, and province 99: kept.
        assert_eq!(only(Detector::CnId, "110105491331002"), "110105491331002");
        assert_eq!(only(Detector::CnId, "990105491231002"), "990105491231002");
    }

    #[test]
    fn impossible_dates_and_longer_runs_are_kept() {
        for body in
            ["44030419901301001", "44030419900230001", "44030419000229001", "44030418991231001"]
        {
            let id = cn_id(body);
            assert!(!valid_cn_id(id.as_bytes()), "{id}");
            assert_eq!(only(Detector::CnId, &id), id);
        }
        let id = cn_id("44030419900101001");
        for text in [format!("9{id}"), format!("{id}7"), format!("A{id}"), format!("{id}.5")] {
            assert_eq!(only(Detector::CnId, &text), text);
        }
    }
}
