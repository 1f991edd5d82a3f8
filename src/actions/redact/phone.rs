//! `[PHONE]`: telephone numbers.
//!
//! - China mobiles: 11 digits `1[3-9]…` glued or in any grouping of up to
//!   four groups of 3+ digits (`138 0013 8000`, `1380 0138 000`,
//!   `138.0013.8000`), optionally after `86`, `+86`, `0086` or `(+86)`,
//!   glued or grouped. ASCII letters may touch them (`tel13800138000`).
//! - China landlines: a valid area code (`010`, `02x`, `0[3-9]xx`, or
//!   without its `0` after `+86`) then a 7–8 digit local number starting
//!   with 2–9, separated by a space, dash or parentheses.
//! - North American numbers: `(NXX) NXX-XXXX`, `NXX-NXX-XXXX`, `NXX.NXX.XXXX`.
//! - International numbers: `+`, a country code not starting with 0, then
//!   8–15 digits in groups separated by one space, dash or dot, with an
//!   optional `(0)` or parenthesized group. `+86` numbers must be valid
//!   China numbers (they are left to the rules above).

use super::bounds::{
    clear_after_letters_ok, clear_before_letters_ok, digit_at, inside_longer_grouping,
    window_cuttable, Gap, Group,
};
use super::{Detector, Sink};

/// Mobiles, landlines and NANP numbers inside one run of digit groups.
pub(super) fn scan_run(b: &[u8], run: &[Group], sink: &mut Sink) {
    for e in 0..run.len() {
        // Windows ending at `e`, widened one group at a time; `after` is
        // the digit count of the groups after `s` (a landline's local part).
        let mut total = 0;
        for s in (e.saturating_sub(3)..=e).rev() {
            let after = total;
            total += run.get(s).map_or(0, Group::len);
            // A mobile has 11 digits, 13 or 15 with a glued `86`/`0086`.
            if matches!(total, 11 | 13 | 15) {
                mobile(b, run, s, e, sink);
            }
            // A landline's local number has 7 or 8 digits.
            if s < e && (7..=8).contains(&after) {
                landline(b, run, s, e, sink);
            }
        }
        if e >= 2 {
            nanp(b, run, e - 2, sink);
        }
        glued_mobile(b, run, e, sink);
    }
}

fn digits<'a>(b: &'a [u8], g: &Group) -> &'a [u8] {
    b.get(g.start..g.end).unwrap_or_default()
}

fn mobile_start(d: &[u8]) -> bool {
    matches!(d, [b'1', b'3'..=b'9', ..])
}

/// Start of a hit whose first digit group is `g`, moved back over `+`
/// and `(` written before it.
fn with_opening(b: &[u8], start: usize) -> usize {
    let mut s = start;
    if s > 0 && b.get(s - 1) == Some(&b'+') {
        s -= 1;
    }
    if s > 0 && b.get(s - 1) == Some(&b'(') {
        s -= 1;
    }
    s
}

/// Whether `run[s..=e]` is bounded well: cut at allowed gaps, and where it
/// begins or ends its run, not touching digits or identifiers.
fn bounded(b: &[u8], run: &[Group], s: usize, e: usize, start: usize, end: usize) -> bool {
    if !window_cuttable(run, s, e) || inside_longer_grouping(run, s, e) {
        return false;
    }
    let first = run.get(s).is_some_and(|g| g.gap == Gap::None);
    let last = run.get(e + 1).is_none();
    (!first || clear_before_letters_ok(b, start)) && (!last || clear_after_letters_ok(b, end))
}

/// Inner gaps of a grouped number: spaces, dashes, parentheses, or dots
/// throughout.
fn inner_gaps_ok(run: &[Group], s: usize, e: usize) -> bool {
    let Some(inner) = run.get(s + 1..=e) else { return true };
    let dots = inner.iter().filter(|g| g.gap == Gap::Dot).count();
    (dots == 0 || dots == inner.len())
        && inner.iter().all(|g| matches!(g.gap, Gap::Space | Gap::Dash | Gap::Paren | Gap::Dot))
}

fn mobile(b: &[u8], run: &[Group], s: usize, e: usize, sink: &mut Sink) {
    let (Some(first), Some(last)) = (run.get(s), run.get(e)) else { return };
    let Some(window) = run.get(s..=e) else { return };
    let total: usize = window.iter().map(Group::len).sum();
    // A country code glued to the first group: `+86138 0013 8000`.
    let glued = match (total, digits(b, first)) {
        (13, [b'8', b'6', ..]) if window.len() > 1 => 2,
        (15, [b'0', b'0', b'8', b'6', ..]) if window.len() > 1 => 4,
        _ => 0,
    };
    let national = digits(b, first).get(glued..).unwrap_or_default();
    if total - glued != 11 || !mobile_start(national) || !inner_gaps_ok(run, s, e) {
        return;
    }
    if window.len() > 1 && (national.len() < 3 || window.iter().skip(1).any(|g| g.len() < 3)) {
        return;
    }
    if glued > 0 && first.len() - glued > 4 {
        return;
    }
    let start = with_opening(b, first.start);
    if bounded(b, run, s, e, start, last.end) {
        sink.push(start, last.end, Detector::Phone);
    }
    // A country-code group right before: `86 138…`, `+86-138…`, `(+86) 138…`.
    if s >= 1 && matches!(first.gap, Gap::Space | Gap::Dash | Gap::Paren) {
        if let Some(prefix) = run.get(s - 1) {
            if matches!(digits(b, prefix), b"86" | b"0086") {
                let start = with_opening(b, prefix.start);
                if bounded(b, run, s - 1, e, start, last.end) {
                    sink.push(start, last.end, Detector::Phone);
                }
            }
        }
    }
}

/// `8613800138000`, `+8613800138000`, `008613800138000` as one group.
fn glued_mobile(b: &[u8], run: &[Group], e: usize, sink: &mut Sink) {
    let Some(g) = run.get(e) else { return };
    let d = digits(b, g);
    let national = match d {
        [b'8', b'6', rest @ ..] if d.len() == 13 => rest,
        [b'0', b'0', b'8', b'6', rest @ ..] if d.len() == 15 => rest,
        _ => return,
    };
    if mobile_start(national) {
        let start = with_opening(b, g.start);
        if bounded(b, run, e, e, start, g.end) {
            sink.push(start, g.end, Detector::Phone);
        }
    }
}

/// A China area code: `010`, `02x`, `0[3-9]xx`; `national` when written
/// without its trunk `0` after a `+86` prefix.
fn area_code(d: &[u8], national: bool) -> bool {
    let d = if national {
        d
    } else {
        match d {
            [b'0', rest @ ..] => rest,
            _ => return false,
        }
    };
    matches!(d, [b'1', b'0'] | [b'2', b'0'..=b'9'] | [b'3'..=b'9', b'0'..=b'9', b'0'..=b'9'])
}

fn landline(b: &[u8], run: &[Group], s: usize, e: usize, sink: &mut Sink) {
    let (Some(area), Some(last)) = (run.get(s), run.get(e)) else { return };
    let Some(local) = run.get(s + 1..=e) else { return };
    let local_digits: usize = local.iter().map(Group::len).sum();
    let local_ok = (7..=8).contains(&local_digits)
        && local.first().is_some_and(|g| matches!(b.get(g.start), Some(b'2'..=b'9')))
        && local.iter().all(|g| g.len() >= 3)
        && local.first().is_some_and(|g| matches!(g.gap, Gap::Space | Gap::Dash | Gap::Paren))
        && local.iter().skip(1).all(|g| matches!(g.gap, Gap::Space | Gap::Dash));
    if !local_ok {
        return;
    }
    if area_code(digits(b, area), false) {
        let start = with_opening(b, area.start);
        if bounded(b, run, s, e, start, last.end) {
            sink.push(start, last.end, Detector::Phone);
        }
    }
    // `+86 21 6123 4567`, `0086-10-12345678`.
    if s >= 1 && area_code(digits(b, area), true) && matches!(area.gap, Gap::Space | Gap::Dash) {
        if let Some(prefix) = run.get(s - 1) {
            let plus = prefix.start > 0 && b.get(prefix.start - 1) == Some(&b'+');
            let d = digits(b, prefix);
            if d == b"0086" || (d == b"86" && plus) {
                let start = with_opening(b, prefix.start);
                if bounded(b, run, s - 1, e, start, last.end) {
                    sink.push(start, last.end, Detector::Phone);
                }
            }
        }
    }
}

/// `(415) 555-2671`, `415-555-2671`, `415.555.2671`.
fn nanp(b: &[u8], run: &[Group], s: usize, sink: &mut Sink) {
    let (Some(area), Some(exch), Some(line)) = (run.get(s), run.get(s + 1), run.get(s + 2)) else {
        return;
    };
    if (area.len(), exch.len(), line.len()) != (3, 3, 4)
        || !matches!(b.get(area.start), Some(b'2'..=b'9'))
        || !matches!(b.get(exch.start), Some(b'2'..=b'9'))
    {
        return;
    }
    let paren = area.start > 0
        && b.get(area.start - 1) == Some(&b'(')
        && exch.gap == Gap::Paren
        && matches!(line.gap, Gap::Dash | Gap::Space);
    let same = exch.gap == line.gap && matches!(exch.gap, Gap::Dash | Gap::Dot);
    if !(paren || same) {
        return;
    }
    let start = if paren { area.start - 1 } else { area.start };
    if bounded(b, run, s, s + 2, start, line.end) {
        sink.push(start, line.end, Detector::Phone);
    }
}

/// International numbers: `+`, 8–15 digits in groups.
pub(super) fn scan_international(b: &[u8], sink: &mut Sink) {
    for plus in memchr::memchr_iter(b'+', b) {
        let prev = plus.checked_sub(1).and_then(|p| b.get(p)).copied();
        if matches!(prev, Some(c) if c.is_ascii_digit() || c == b'+' || c == b'_') {
            continue;
        }
        let opened = prev == Some(b'(');
        if let Some(end) = international_end(b, plus, opened) {
            let start = if opened { plus - 1 } else { plus };
            if clear_before_letters_ok(b, start) {
                sink.push(start, end, Detector::Phone);
            }
        }
    }
}

/// The end of the longest group-aligned number starting at `plus`; `opened`
/// when a `(` before the `+` may close after the country code.
fn international_end(b: &[u8], plus: usize, opened: bool) -> Option<usize> {
    let mut i = plus + 1;
    let mut digits = 0;
    let mut best = None;
    let mut groups = 0;
    loop {
        let mut j = i;
        if groups == 1 && opened && b.get(j) == Some(&b')') {
            j += 1;
        }
        if digits > 0 && matches!(b.get(j), Some(b' ' | b'-' | b'.')) {
            j += 1;
        }
        let open = b.get(j) == Some(&b'(');
        if open {
            j += 1;
        }
        let first = j;
        while digit_at(b, j) {
            j += 1;
        }
        if j == first {
            break;
        }
        if digits == 0 {
            let d = b.get(first..j).unwrap_or_default();
            if d.first() == Some(&b'0') || d.starts_with(b"86") {
                return None; // no country code starts with 0; +86 is checked as China
            }
        }
        if open {
            if b.get(j) != Some(&b')') {
                break;
            }
            j += 1;
        }
        digits += j - first - usize::from(open);
        groups += 1;
        if digits > 15 {
            break;
        }
        if digits >= 8
            && clear_after_letters_ok(b, j)
            && !matches!(b.get(j), Some(b'.' | b'-') if digit_at(b, j + 1))
        {
            best = Some(j);
        }
        i = j;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::super::tests::{all, only, redact_with};
    use super::*;

    #[test]
    fn china_mobiles_in_every_notation() {
        for text in [
            "13800138000",
            "138 0013 8000",
            "138-0013-8000",
            "138.0013.8000",
            "1380 0138 000",
            "138 00138000",
            "+86 138 0013 8000",
            "+8613800138000",
            "8613800138000",
            "008613800138000",
            "0086-138-0013-8000",
            "+86138 0013 8000",
            "0086138-0013-8000",
            "86 13800138000",
            "+86-13800138000",
            "(+86) 138 0013 8000",
            "+86 (138) 0013 8000",
            "１３８００１３８０００",
            "138\u{a0}0013\u{a0}8000",
        ] {
            assert_eq!(redact_with(&[Detector::Phone], text), ("[PHONE]".into(), 1), "{text}");
            assert_eq!(all(text), "[PHONE]", "all detectors: {text}");
        }
    }

    #[test]
    fn mobiles_touching_letters_and_cjk() {
        for (text, expected) in [
            ("tel13800138000", "tel[PHONE]"),
            ("电话13800138000谢谢", "电话[PHONE]谢谢"),
            ("手机：１３９１２３４５６７８。", "手机：[PHONE]。"),
            ("call 13800138000.", "call [PHONE]."),
            ("13800138000 13900139000", "[PHONE] [PHONE]"),
        ] {
            assert_eq!(only(Detector::Phone, text), expected, "{text}");
        }
    }

    #[test]
    fn landlines_and_international_numbers() {
        for (text, expected) in [
            ("010-62345678", "[PHONE]"),
            ("(021) 6123 4567", "[PHONE]"),
            ("0755-8888 9999", "[PHONE]"),
            ("座机0571 87654321转", "座机[PHONE]转"),
            ("+86 21 6123 4567", "[PHONE]"),
            ("010-62345678-801", "[PHONE]-801"),
            ("+1 (415) 555-2671", "[PHONE]"),
            ("(415) 555-2671", "[PHONE]"),
            ("415-555-2671", "[PHONE]"),
            ("+44 20 7946 0958", "[PHONE]"),
            ("+44 (0)20 7946 0958", "[PHONE]"),
            ("(+44) 20 7946 0958", "[PHONE]"),
            ("+49.30.123456", "[PHONE]"),
            ("+12345678", "[PHONE]"),
            ("tel: +1 415 555 2671 (mobile)", "tel: [PHONE] (mobile)"),
        ] {
            assert_eq!(only(Detector::Phone, text), expected, "{text}");
        }
    }

    #[test]
    fn non_phones_are_kept() {
        for text in [
            "12800138000",  // second digit 2 is not a mobile prefix
            "138001380001", // 12 digits
            "1380013800",   // 10 digits
            "order 1234567890123456",
            "0x13800138000",
            "a1b13800138000",
            "13800138000.5",
            "13800138000_2",
            "+1234567",           // 7 digits
            "+12345678901234567", // 17 digits
            "+0123456789",        // no country code starts with 0
            "1+12345678",
            "+86180013",   // not a China number
            "001-2345678", // not an area code
            "2024-05-14 12:30:45",
            "v1.2.3 build 20240514",
            "¥1,380.00",
            "USPS 9400 8505 0316 7334 0046 86",
        ] {
            assert_eq!(only(Detector::Phone, text), text, "{text}");
        }
    }

    #[test]
    fn phone_does_not_match_inside_ids_or_cards() {
        let id = "11010519491231002X";
        assert_eq!(only(Detector::Phone, id), id);
    }
}
