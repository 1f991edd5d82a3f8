//! Shared scanning helpers: hit boundaries, digit groups and their runs,
//! small UTF-8 steps and context-word lookups.
//!
//! Numeric detectors (phone, China ID, card) look at *runs*: maximal
//! sequences of ASCII digit groups joined by one short separator (a space,
//! `-`, `.`, `_`, or a parenthesis with an optional space or dash). A
//! candidate is a window of whole groups inside a run; windows may only be
//! cut at space, dash or parenthesis gaps, never at `.` or `_`, so a decimal
//! (`13800138000.5`) or a version is never split into a hit and a rest.

use super::bytemap::ByteMap;

/// How a digit group is joined to the previous group of its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gap {
    /// First group of its run.
    None,
    Space,
    Dash,
    Dot,
    Underscore,
    /// A gap holding a parenthesis: `(`, `)`, `) `, ` (`, `)-`, `-(`.
    Paren,
}

impl Gap {
    /// Whether a candidate window may start or end at this gap.
    pub(super) fn cuttable(self) -> bool {
        matches!(self, Gap::None | Gap::Space | Gap::Dash | Gap::Paren)
    }

    /// A plain one-byte separator, the only kind cards and IDs use.
    pub(super) fn plain(self) -> bool {
        matches!(self, Gap::Space | Gap::Dash | Gap::Dot | Gap::Underscore)
    }
}

/// A maximal run of ASCII digits `b[start..end]` and its joining gap.
#[derive(Debug, Clone, Copy)]
pub(super) struct Group {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) gap: Gap,
}

impl Group {
    pub(super) fn len(&self) -> usize {
        self.end - self.start
    }
}

fn gap_between(between: &[u8]) -> Option<Gap> {
    Some(match between {
        b" " => Gap::Space,
        b"-" => Gap::Dash,
        b"." => Gap::Dot,
        b"_" => Gap::Underscore,
        b"(" | b")" | b") " | b" (" | b")-" | b"-(" => Gap::Paren,
        _ => return None,
    })
}

/// Splits `b` (mapped by `map`) into digit groups (appended to `groups`);
/// a group whose gap is [`Gap::None`] starts a new run.
pub(super) fn digit_groups(b: &[u8], map: &ByteMap, groups: &mut Vec<Group>) {
    groups.clear();
    let mut from = 0;
    let mut prev_end: Option<usize> = None;
    while let Some(start) = map.next_digit(from) {
        let end = map.digits_end(start);
        let gap = prev_end
            .filter(|&p| start - p <= 2)
            .and_then(|p| b.get(p..start))
            .and_then(gap_between)
            .unwrap_or(Gap::None);
        groups.push(Group { start, end, gap });
        prev_end = Some(end);
        from = end;
    }
}

/// Fewest digits any numeric detector finds in a run (a landline: 3 + 7).
pub(super) const MIN_RUN_DIGITS: usize = 10;

/// Calls `f` with each run (a maximal slice of linked groups) holding at
/// least [`MIN_RUN_DIGITS`] digits; shorter runs (times, dates, prices,
/// versions) cannot hold a phone, ID or card.
pub(super) fn for_each_run(groups: &[Group], mut f: impl FnMut(&[Group])) {
    let mut start = 0;
    let mut digits = 0;
    for i in 0..groups.len() {
        digits += groups.get(i).map_or(0, Group::len);
        if groups.get(i + 1).is_none_or(|g| g.gap == Gap::None) {
            if digits >= MIN_RUN_DIGITS {
                if let Some(run) = groups.get(start..=i) {
                    f(run);
                }
            }
            start = i + 1;
            digits = 0;
        }
    }
}

/// Whether `run[s..=e]` is a window whose outer gaps allow a cut there.
pub(super) fn window_cuttable(run: &[Group], s: usize, e: usize) -> bool {
    let starts_ok = run.get(s).is_some_and(|g| g.gap.cuttable());
    let ends_ok = run.get(e + 1).is_none_or(|g| g.gap.cuttable());
    starts_ok && ends_ok
}

/// Whether `run[s..=e]` is a grouped window (groups of 3–4 digits) that a
/// four-digit group continues on either side with the same separator:
/// then it is part of something longer (a 22-digit postal tracking number
/// printed in fours), not a card or phone number of its own.
pub(super) fn inside_longer_grouping(run: &[Group], s: usize, e: usize) -> bool {
    let Some(window) = run.get(s..=e) else { return false };
    let Some(inner) = run.get(s + 1).map(|g| g.gap) else { return false };
    if !window.iter().all(|g| (3..=4).contains(&g.len())) {
        return false;
    }
    let before = s.checked_sub(1).and_then(|p| run.get(p)).is_some_and(|p| p.len() == 4)
        && run.get(s).is_some_and(|g| g.gap == inner);
    let after = run.get(e + 1).is_some_and(|n| n.len() == 4 && n.gap == inner);
    before || after
}

/// The position of the first `byte` at or after `from`.
pub(super) fn next_byte(b: &[u8], from: usize, byte: u8) -> Option<usize> {
    memchr::memchr(byte, b.get(from..)?).map(|p| from + p)
}

pub(super) fn digit_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(u8::is_ascii_digit)
}

pub(super) fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// No ASCII word byte and no `digit.` decimal prefix right before `start`.
pub(super) fn clear_before(b: &[u8], start: usize) -> bool {
    match start.checked_sub(1).and_then(|p| b.get(p)) {
        None => true,
        Some(&c) if is_word(c) => false,
        Some(b'.') => !(start >= 2 && digit_at(b, start - 2)),
        Some(_) => true,
    }
}

/// No ASCII word byte and no `.digit` decimal suffix right after `end`.
pub(super) fn clear_after(b: &[u8], end: usize) -> bool {
    match b.get(end) {
        None => true,
        Some(&c) if is_word(c) => false,
        Some(b'.') => !digit_at(b, end + 1),
        Some(_) => true,
    }
}

/// Like [`clear_before`], but a short run of ASCII letters may touch the
/// hit (`tel13800138000`) as long as that word does not itself continue a
/// number or identifier (`0x1380…`, `a1b13800…`).
pub(super) fn clear_before_letters_ok(b: &[u8], start: usize) -> bool {
    let mut k = start;
    while k > 0 && b.get(k - 1).is_some_and(u8::is_ascii_alphabetic) && start - k < 12 {
        k -= 1;
    }
    if k == start {
        return clear_before(b, start);
    }
    clear_before(b, k)
}

/// Like [`clear_after`], but ASCII letters may follow (`13800138000tel`).
pub(super) fn clear_after_letters_ok(b: &[u8], end: usize) -> bool {
    match b.get(end) {
        Some(c) if c.is_ascii_alphabetic() => true,
        _ => clear_after(b, end),
    }
}

/// The character ending at byte `i` of UTF-8 `b`, with its width.
pub(super) fn char_before(b: &[u8], i: usize) -> Option<(char, usize)> {
    let lowest = i.saturating_sub(4);
    (lowest..i).rev().find_map(|s| {
        let chunk = b.get(s..i)?;
        let c = std::str::from_utf8(chunk).ok()?.chars().next()?;
        (c.len_utf8() == i - s).then_some((c, i - s))
    })
}

/// The character starting at byte `i` of UTF-8 `b`, with its width.
pub(super) fn char_at(b: &[u8], i: usize) -> Option<(char, usize)> {
    let width = match *b.get(i)? {
        c if c < 0x80 => 1,
        c if c >= 0xF0 => 4,
        c if c >= 0xE0 => 3,
        _ => 2,
    };
    let c = std::str::from_utf8(b.get(i..i + width)?).ok()?.chars().next()?;
    Some((c, width))
}

/// Han, kana and Hangul: scripts written without spaces, where a
/// detector must stop at a change of script instead of at a space.
pub(super) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF | 0x3040..=0x30FF | 0x3100..=0x31BF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Whether one of `words` (lower-case ASCII or any UTF-8) ends within
/// `reach` bytes before `pos`, only spaces and `:#=-.，：号码是为` between.
pub(super) fn context_before(b: &[u8], pos: usize, reach: usize, words: &[&str]) -> bool {
    let lowest = pos.saturating_sub(reach + 24);
    let Some(window) = b.get(lowest..pos) else { return false };
    let lower: Vec<u8> = window.iter().map(u8::to_ascii_lowercase).collect();
    words.iter().any(|w| {
        let w = w.as_bytes();
        lower.windows(w.len()).enumerate().any(|(at, slice)| {
            slice == w && {
                let after = at + w.len();
                let filler = lower.get(after..).unwrap_or_default();
                filler.len() <= reach && filler_only(filler)
            }
        })
    })
}

/// Bytes that may stand between a context word and its value.
fn filler_only(filler: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(filler) else { return false };
    s.chars().all(|c| {
        matches!(
            c,
            ' ' | ':' | '#' | '=' | '-' | '.' | '(' | ')' | '号' | '码' | '是' | '为' | '：'
        ) || c.is_ascii_alphabetic()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(text: &str) -> Vec<Vec<&str>> {
        let mut groups = Vec::new();
        let mut map = ByteMap::new();
        map.build(text.as_bytes());
        digit_groups(text.as_bytes(), &map, &mut groups);
        let mut out = Vec::new();
        for_each_run(&groups, |run| {
            out.push(run.iter().map(|g| &text[g.start..g.end]).collect());
        });
        out
    }

    #[test]
    fn groups_link_across_one_short_separator() {
        assert_eq!(
            runs("a 138 0013-8000 x (021) 6123.4567 9  9"),
            vec![vec!["138", "0013", "8000"], vec!["021", "6123", "4567", "9"]]
        );
        // Runs too short for any numeric detector are skipped.
        assert!(runs("12:30 1,000; 2024-05-14 v1.2.3").is_empty());
    }

    #[test]
    fn letters_may_touch_only_as_a_plain_word() {
        let b = b"tel13800138000 0x13800138000 a1b13800138000";
        assert!(clear_before_letters_ok(b, 3));
        assert!(!clear_before_letters_ok(b, 17));
        assert!(!clear_before_letters_ok(b, 32));
    }

    #[test]
    fn context_words_allow_only_filler_between() {
        let b = "身份证号码：110".as_bytes();
        assert!(context_before(b, b.len() - 3, 12, &["身份证"]));
        let b = b"ID no. 110";
        assert!(context_before(b, 7, 12, &["id no"]));
        let b = b"ID of order 77 is 110";
        assert!(!context_before(b, 18, 12, &["id"]));
    }

    #[test]
    fn utf8_steps() {
        let b = "a号b".as_bytes();
        assert_eq!(char_before(b, 4), Some(('号', 3)));
        assert_eq!(char_at(b, 1), Some(('号', 3)));
        assert_eq!(char_before(b, 1), Some(('a', 1)));
        assert!(is_cjk('号') && !is_cjk('é'));
    }
}
