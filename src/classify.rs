//! The identifier classifier: does a whole token (a URL path segment, a query
//! parameter value) look like something that identifies a person?
//!
//! One classifier, shared by the `url` action and the statistics derivation
//! `path_template`, so a value that the URL rules would hide can never become
//! a statistics group. It answers with an [`IdKind`] whose
//! [`placeholder`](IdKind::placeholder) replaces the token: `{email}`,
//! `{phone}`, `{cn_id}`, `{card}`, `{ip}`, `{id}`, `{token}`. Those names are
//! part of the output format and stay stable.
//!
//! What counts, checked in this order on the token after [`normalize`]
//! (full-width forms folded to ASCII, other Unicode digits read as digits):
//!
//! 1. `{email}`: an `@` with text on both sides.
//! 2. `{ip}`: an IPv4 or IPv6 address (bracketed IPv6 too).
//! 3. `{id}`: a UUID (8-4-4-4-12 hex digits).
//! 4. A number: only digits and `+ - . ( ) /` or spaces, with at least
//!    [`MIN_DIGITS`] digits. `{cn_id}` for a China resident ID (GB 11643
//!    check character and birth date), `{phone}` for a mainland China mobile
//!    number (`1[3-9]` + 9 digits, optionally after `86`/`0086`) or an E.164
//!    number (`+` and 7–15 digits), `{card}` for 13–19 digits passing Luhn,
//!    `{id}` otherwise. A 17-digit body with an `X` check character is a
//!    China ID when valid, `{id}` when not.
//! 5. `{id}`: at least [`MIN_HEX_LEN`] characters, all hexadecimal
//!    (session ids, object ids, hashes).
//! 6. `{token}`: a random-looking string ([`looks_random`]).
//! 7. Inside a longer token: a run of at least [`MIN_DIGITS`] consecutive
//!    digits (`u_6113088066`, `13800138000.png`) is `{phone}` when it is a
//!    China mobile number, `{id}` otherwise; a piece between `.`, `_`, `-`,
//!    `~`, `,`, `:`, `+`, `=` that is hexadecimal or random-looking by rules
//!    5–6 makes the whole token `{id}` or `{token}`.
//!
//! The rules err towards replacing: a product slug such as
//! `SamsungGalaxyS24Ultra` may read as `{token}`, which costs a statistics
//! group, never a person. Short plain words and numbers of up to four digits
//! (`v1`, `2024`, `page`) are never replaced. [`could_be_identifier`] is the
//! cheap test that skips most segments before any of this runs.
//!
//! URL path segments are cut by [`cut_segment`] (matrix parameters, encoded
//! query or fragment) and judged percent-decoded by [`segment_kind`]; the
//! `url` action and `path_template` both go through these two functions.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use crate::actions::ip::parse_ip;
use crate::actions::redact::{luhn_valid, valid_cn_id};

/// Fewest digits that make a number or a digit run an identifier.
pub const MIN_DIGITS: usize = 5;
/// Fewest characters of an all-hexadecimal identifier.
pub const MIN_HEX_LEN: usize = 8;
/// Fewest letters and digits of a random-looking token.
pub const MIN_TOKEN_LEN: usize = 16;
/// Least Shannon entropy, in bits per character, of a random-looking token.
pub const MIN_TOKEN_ENTROPY: f64 = 3.0;
/// Least share of adjacent letter/digit pairs that change class (lower,
/// upper, digit) in a random-looking mixed-class token. Random base62 text
/// changes class at about 60% of positions, camelCase words at under 30%.
pub const MIN_CLASS_CHANGES: f64 = 0.3;
/// Vowel share below which a long run of letters reads as random: English
/// and pinyin words have about 35–45% vowels, random letters 19%.
pub const MAX_VOWEL_SHARE: f64 = 0.25;

/// What kind of identifier a token looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// An e-mail address.
    Email,
    /// A phone number (mainland China mobile, E.164).
    Phone,
    /// A China resident ID number (GB 11643).
    CnId,
    /// A payment card number (Luhn).
    Card,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A long number, UUID or hexadecimal id.
    Id,
    /// A random-looking token (session, API key, JWT).
    Token,
}

impl IdKind {
    /// The text that replaces a token of this kind.
    pub const fn placeholder(self) -> &'static str {
        match self {
            IdKind::Email => "{email}",
            IdKind::Phone => "{phone}",
            IdKind::CnId => "{cn_id}",
            IdKind::Card => "{card}",
            IdKind::Ip => "{ip}",
            IdKind::Id => "{id}",
            IdKind::Token => "{token}",
        }
    }
}

/// Cheap pre-check: `false` means [`classify`] would return `None`.
///
/// A token shorter than [`MIN_DIGITS`] bytes, all ASCII and without `@`,
/// has too few digits for a number, too few characters for a hex id or token,
/// and no address; most path segments (`api`, `v1`, `shop`) stop here.
#[inline]
pub fn could_be_identifier(token: &str) -> bool {
    token.len() >= MIN_DIGITS || token.bytes().any(|b| b == b'@' || b >= 0x80)
}

/// The kind of identifier `token` looks like as a whole, or `None`.
pub fn classify(token: &str) -> Option<IdKind> {
    let b = token.as_bytes();
    if plain_word(b) {
        return None;
    }
    // A plain run of 5–10 ASCII digits (`4411023`) is a number of rule 4
    // that no earlier rule takes (no `@`, `:`, `.`, not 36 bytes) and too
    // short for a phone, ID or card: `{id}` without the full pass.
    if (MIN_DIGITS..=10).contains(&b.len()) && b.iter().all(u8::is_ascii_digit) {
        return Some(IdKind::Id);
    }
    classify_full(token)
}

/// One pass that settles most path segments (`users`, `orders`, `v1`): an
/// ASCII token without `@`, with fewer than [`MIN_DIGITS`] digits, shorter
/// than [`MIN_TOKEN_LEN`], not an all-hex id and without any separator of
/// rule 7 (so no IP, number, piece or token either) cannot be an identifier.
#[inline]
fn plain_word(b: &[u8]) -> bool {
    if b.len() >= MIN_TOKEN_LEN {
        return false;
    }
    let mut word = WordScan::default();
    for &c in b {
        let class = BYTE_CLASS[usize::from(c)];
        if class & UNUSUAL != 0 {
            return false;
        }
        word.add(class);
    }
    word.is_plain(b.len())
}

/// Byte classes of [`BYTE_CLASS`]: an ASCII digit.
const DIGIT: u8 = 1;
/// A hexadecimal digit.
const HEX: u8 = 2;
/// Not ASCII, `@`, or a separator of rule 7: never part of a plain word.
const UNUSUAL: u8 = 4;
/// `/`: ends a URL path segment.
const SLASH: u8 = 8;
/// `;` or `%`: a segment that [`cut_segment`] may cut, or that
/// [`segment_kind`] judges percent-decoded.
const CUT: u8 = 16;

/// The classes of every byte value, for the one-pass scans of
/// [`plain_word`] and [`plain_segment`].
static BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        let mut class = 0;
        if b.is_ascii_digit() {
            class |= DIGIT;
        }
        if b.is_ascii_hexdigit() {
            class |= HEX;
        }
        if b >= 0x80 || matches!(b, b'@' | b'.' | b'_' | b'-' | b'~' | b',' | b':' | b'+' | b'=') {
            class |= UNUSUAL;
        }
        if b == b'/' {
            class |= SLASH;
        }
        if b == b';' || b == b'%' {
            class |= CUT;
        }
        t[c] = class;
        c += 1;
    }
    t
};

/// What a pass over a token's bytes gathered for [`plain_word`]'s verdict.
#[derive(Clone, Copy)]
struct WordScan {
    /// Classes seen in any byte.
    any: u8,
    /// Classes common to every byte.
    all: u8,
    digits: usize,
}

impl Default for WordScan {
    fn default() -> Self {
        WordScan { any: 0, all: u8::MAX, digits: 0 }
    }
}

impl WordScan {
    #[inline(always)]
    fn add(&mut self, class: u8) {
        self.any |= class;
        self.all &= class;
        self.digits += usize::from(class & DIGIT);
    }

    /// [`plain_word`]'s verdict for a token of `len` bytes.
    #[inline(always)]
    fn is_plain(&self, len: usize) -> bool {
        len < MIN_TOKEN_LEN
            && self.any & UNUSUAL == 0
            && self.digits < MIN_DIGITS
            && !(self.all & HEX != 0 && len >= MIN_HEX_LEN)
    }
}

/// One pass over the raw URL path segment starting at `start` of `path`
/// (up to the next `/` or the end): returns where it ends and whether it is
/// a plain word that stays as written, i.e. [`cut_segment`] keeps it whole
/// without ending the path and [`segment_kind`] finds nothing in it. When
/// this says `false`, those two decide.
#[inline]
pub fn plain_segment(path: &[u8], start: usize) -> (usize, bool) {
    let mut word = WordScan::default();
    let mut end = start;
    while let Some(&c) = path.get(end) {
        let class = BYTE_CLASS[usize::from(c)];
        if class & SLASH != 0 {
            break;
        }
        word.add(class);
        end += 1;
    }
    (end, word.any & CUT == 0 && word.is_plain(end - start))
}

/// [`classify`] without the [`plain_word`] shortcut.
fn classify_full(token: &str) -> Option<IdKind> {
    if !could_be_identifier(token) {
        return None;
    }
    let text = normalize(token);
    let t: &str = &text;
    if let Some(at) = t.rfind('@') {
        if at > 0 && at + 1 < t.len() {
            return Some(IdKind::Email);
        }
    }
    let b = t.as_bytes();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    if (b.contains(&b':') || b.contains(&b'.')) && parse_ip(t).is_some() {
        return Some(IdKind::Ip);
    }
    if is_uuid(b) {
        return Some(IdKind::Id);
    }
    if digits >= MIN_DIGITS {
        if let Some(kind) = number_kind(b, digits) {
            return Some(kind);
        }
    }
    if is_hex_id(b) {
        return Some(IdKind::Id);
    }
    if looks_random(t) {
        return Some(IdKind::Token);
    }
    if digits >= MIN_DIGITS {
        if let Some(kind) = digit_run_kind(b) {
            return Some(kind);
        }
    }
    pieces_kind(t)
}

/// Splits a raw URL path segment (between `/`s, as written) from what
/// follows its own text: a matrix parameter (`;` or `%3B`) ends the segment;
/// an encoded `?` (`%3F`), `#` (`%23`) or `%` (`%25`, a second layer of
/// encoding that could hide either) ends the whole path. Returns the
/// segment's text and whether the path ends after it. The `url` action and
/// `path_template` both cut segments here.
#[inline]
pub fn cut_segment(raw: &str) -> (&str, bool) {
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b';' => return (&raw[..i], false),
            b'%' => match (
                b.get(i + 1).map(u8::to_ascii_uppercase),
                b.get(i + 2).map(u8::to_ascii_uppercase),
            ) {
                (Some(b'3'), Some(b'B')) => return (&raw[..i], false),
                (Some(b'3'), Some(b'F')) | (Some(b'2'), Some(b'3' | b'5')) => {
                    return (&raw[..i], true)
                }
                _ => i += 1,
            },
            _ => i += 1,
        }
    }
    (raw, false)
}

/// The kind of a path segment (already cut by [`cut_segment`]), judged on
/// its percent-decoded text.
#[inline]
pub fn segment_kind(segment: &str) -> Option<IdKind> {
    if !could_be_identifier(segment) {
        return None;
    }
    if !segment.as_bytes().contains(&b'%') {
        return classify(segment);
    }
    classify(&percent_decode_str(segment).decode_utf8_lossy())
}

/// Folds full-width forms (U+FF01–U+FF5E) to ASCII and the ideographic space
/// to a space, and reads any other Unicode digit as `0`, so `１３８…` or
/// `alice＠example.com` classify like their ASCII spelling. ASCII text is
/// borrowed unchanged.
pub fn normalize(token: &str) -> Cow<'_, str> {
    if token.is_ascii() {
        return Cow::Borrowed(token);
    }
    Cow::Owned(
        token
            .chars()
            .map(|c| match c {
                '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
                '\u{3000}' => ' ',
                c if !c.is_ascii() && c.is_numeric() => '0',
                c => c,
            })
            .collect(),
    )
}

/// 8-4-4-4-12 hexadecimal digits.
fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// At least [`MIN_HEX_LEN`] hexadecimal digits and nothing else.
fn is_hex_id(b: &[u8]) -> bool {
    b.len() >= MIN_HEX_LEN && b.iter().all(u8::is_ascii_hexdigit)
}

/// Rule 4: a token of digits and number punctuation, or a China ID with `X`.
fn number_kind(b: &[u8], digits: usize) -> Option<IdKind> {
    if b.len() == 18 && matches!(b[17], b'X' | b'x') && b[..17].iter().all(u8::is_ascii_digit) {
        return Some(if valid_cn_id(b) { IdKind::CnId } else { IdKind::Id });
    }
    let numeric = b.iter().all(|c| c.is_ascii_digit() || b"+-.()/ ".contains(c));
    if !numeric {
        return None;
    }
    // The digits alone, on the stack: more than 19 cannot be a phone, ID or card.
    if digits > 19 {
        return Some(IdKind::Id);
    }
    let mut buf = [0u8; 19];
    for (slot, &c) in buf.iter_mut().zip(b.iter().filter(|c| c.is_ascii_digit())) {
        *slot = c;
    }
    let d = &buf[..digits];
    Some(if d.len() == 18 && valid_cn_id(d) {
        IdKind::CnId
    } else if is_cn_mobile(d) || (b[0] == b'+' && (7..=15).contains(&digits)) {
        IdKind::Phone
    } else if (13..=19).contains(&digits) && luhn_valid(d) {
        IdKind::Card
    } else {
        IdKind::Id
    })
}

/// Mainland China mobile: `1[3-9]` and 9 more digits, optionally after the
/// country code `86` or `0086`.
fn is_cn_mobile(d: &[u8]) -> bool {
    let d = match d.len() {
        13 if d.starts_with(b"86") => &d[2..],
        15 if d.starts_with(b"0086") => &d[4..],
        _ => d,
    };
    d.len() == 11 && d[0] == b'1' && (b'3'..=b'9').contains(&d[1])
}

/// Rule 7, digits: the kind of the first run of [`MIN_DIGITS`] or more
/// consecutive digits inside the token.
fn digit_run_kind(b: &[u8]) -> Option<IdKind> {
    b.split(|c| !c.is_ascii_digit()).find(|run| run.len() >= MIN_DIGITS).map(|run| {
        if is_cn_mobile(run) {
            IdKind::Phone
        } else {
            IdKind::Id
        }
    })
}

/// Rule 7, pieces: a hexadecimal or random-looking piece between separators.
fn pieces_kind(t: &str) -> Option<IdKind> {
    if t.len() < MIN_HEX_LEN {
        return None;
    }
    t.split(['.', '_', '-', '~', ',', ':', '+', '='])
        .filter(|piece| piece.len() < t.len())
        .find_map(|piece| {
            if is_hex_id(piece.as_bytes()) {
                Some(IdKind::Id)
            } else if looks_random(piece) {
                Some(IdKind::Token)
            } else {
                None
            }
        })
}

/// Whether `t` reads as a random string rather than words: made of the
/// base64/base64url alphabet (plus `.` and `~`), with at least
/// [`MIN_TOKEN_LEN`] letters and digits whose entropy is at least
/// [`MIN_TOKEN_ENTROPY`] bits per character, and either mixing classes
/// (lower, upper, digit) that change at ≥ [`MIN_CLASS_CHANGES`] of adjacent
/// positions, or having letters with under [`MAX_VOWEL_SHARE`] vowels.
pub fn looks_random(t: &str) -> bool {
    let b = t.as_bytes();
    if b.len() < MIN_TOKEN_LEN
        || !b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_+/=.~".contains(c))
    {
        return false;
    }
    let class = |c: u8| match c {
        b'a'..=b'z' => 0usize,
        b'A'..=b'Z' => 1,
        _ => 2,
    };
    let mut counts = [0u32; 128];
    let (mut n, mut changes, mut letters, mut vowels) = (0usize, 0usize, 0usize, 0usize);
    let mut classes = [false; 3];
    let mut prev: Option<usize> = None;
    for &c in b.iter().filter(|c| c.is_ascii_alphanumeric()) {
        n += 1;
        counts[usize::from(c)] += 1;
        let k = class(c);
        classes[k] = true;
        changes += usize::from(prev.is_some_and(|p| p != k));
        prev = Some(k);
        if k < 2 {
            letters += 1;
            vowels += usize::from(b"aeiouAEIOU".contains(&c));
        }
    }
    if n < MIN_TOKEN_LEN {
        return false;
    }
    let total = n as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&k| k > 0)
        .map(|&k| {
            let p = f64::from(k) / total;
            -p * p.log2()
        })
        .sum();
    if entropy < MIN_TOKEN_ENTROPY {
        return false;
    }
    let mixed = classes.iter().filter(|&&c| c).count() >= 2
        && changes as f64 >= MIN_CLASS_CHANGES * (total - 1.0);
    let unpronounceable = letters > 0 && (vowels as f64) < MAX_VOWEL_SHARE * letters as f64;
    mixed || unpronounceable
}

#[cfg(test)]
mod tests;
