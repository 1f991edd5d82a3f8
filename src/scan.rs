//! A validating, allocation-free JSON scanner: the tokenizer under the record
//! hot path ([`crate::pipeline::record`]) and the statistics extraction
//! ([`crate::stats`]).
//!
//! It accepts exactly the JSON that `serde_json` accepts, in two strengths
//! that mirror how serde_json treats a value depending on what is done with
//! it:
//! - **strict** (a value that is decoded: object keys, values a rule
//!   transforms, values that are skipped through a visitor): `\u` escapes must
//!   pair surrogates, and a number must fit an `f64`;
//! - **lenient** (a value copied through as raw bytes, like serde_json's
//!   `RawValue`): `\u` escapes only need four hex digits, numbers only need
//!   to match the grammar. The record path reads a kept value leniently
//!   first and then strictly (see `pipeline::record`), so a value that is
//!   copied is held to the same rules as one that is decoded and every
//!   output parses under serde_json.
//!
//! Both strengths reject everything else serde_json rejects: invalid UTF-8
//! inside strings, control characters in strings, bad escapes, malformed
//! numbers and literals, missing or trailing commas and colons. Outside
//! strings only ASCII is valid JSON, so a record the scanner accepts is valid
//! UTF-8 as a whole.
//!
//! The string loop looks at sixteen bytes at a time (SSE2 on x86_64, else
//! eight with integer arithmetic) for the only bytes that need attention:
//! `"`, `\`, control characters and non-ASCII bytes.

/// The byte offset at which the input stopped being valid JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset of the offending byte (or the end of input).
    pub pos: usize,
}

/// A string's contents (without quotes) as a byte range of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrSpan {
    /// First byte after the opening quote.
    pub start: usize,
    /// The closing quote.
    pub end: usize,
    /// Whether the contents contain a backslash escape (must be unescaped).
    pub escaped: bool,
}

/// What a number looked like (decides how serde_json would have typed it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumSpan {
    /// First byte (a digit or `-`).
    pub start: usize,
    /// Just past the last byte.
    pub end: usize,
    /// Whether it has a fraction or an exponent.
    pub float: bool,
}

/// Length of the valid UTF-8 sequence starting with the non-ASCII byte at
/// `bytes[0]`, or `None` when it is not one.
#[inline]
fn utf8_len(bytes: &[u8]) -> Option<usize> {
    let cont = |i: usize| bytes.get(i).is_some_and(|b| (0x80..=0xbf).contains(b));
    let second = |lo: u8, hi: u8| bytes.get(1).is_some_and(|b| (lo..=hi).contains(b));
    match bytes[0] {
        0xc2..=0xdf if cont(1) => Some(2),
        0xe0 if second(0xa0, 0xbf) && cont(2) => Some(3),
        0xe1..=0xec | 0xee..=0xef if cont(1) && cont(2) => Some(3),
        0xed if second(0x80, 0x9f) && cont(2) => Some(3),
        0xf0 if second(0x90, 0xbf) && cont(2) && cont(3) => Some(4),
        0xf1..=0xf3 if cont(1) && cont(2) && cont(3) => Some(4),
        0xf4 if second(0x80, 0x8f) && cont(2) && cont(3) => Some(4),
        _ => None,
    }
}

fn hex_val(b: u8) -> Option<u16> {
    match b {
        b'0'..=b'9' => Some(u16::from(b - b'0')),
        b'a'..=b'f' => Some(u16::from(b - b'a' + 10)),
        b'A'..=b'F' => Some(u16::from(b - b'A' + 10)),
        _ => None,
    }
}

/// A position in the input being scanned.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    /// The whole input.
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Current byte offset.
    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// An error at the current position.
    #[inline]
    pub fn error(&self) -> SyntaxError {
        SyntaxError { pos: self.pos }
    }

    /// Skips JSON whitespace and returns the next byte, if any.
    #[inline]
    pub fn peek_ws(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Consumes one byte (after [`Cursor::peek_ws`] returned it).
    #[inline]
    pub fn bump(&mut self) {
        self.pos += 1;
    }

    /// Skips whitespace and consumes `byte`, or fails.
    #[inline]
    pub fn expect(&mut self, byte: u8) -> Result<(), SyntaxError> {
        if self.peek_ws() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// After a value inside an object: `true` for `,` (another member
    /// follows), `false` for `}` (consumed), an error otherwise.
    #[inline]
    pub fn next_member(&mut self) -> Result<bool, SyntaxError> {
        match self.peek_ws() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b'}') => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(self.error()),
        }
    }

    /// At the start of an object's body (after `{`): `true` when a member
    /// follows, `false` for `}` (consumed).
    #[inline]
    pub fn first_member(&mut self) -> Result<bool, SyntaxError> {
        match self.peek_ws() {
            Some(b'}') => {
                self.pos += 1;
                Ok(false)
            }
            Some(b'"') => Ok(true),
            _ => Err(self.error()),
        }
    }

    /// Consumes `literal` when the input continues with exactly its bytes
    /// (no whitespace skipped); returns whether it did.
    #[inline(always)]
    pub fn eat_literal(&mut self, literal: &KeyLiteral) -> bool {
        if literal.matches_at(self.bytes, self.pos) {
            self.pos += literal.len();
            true
        } else {
            false
        }
    }

    /// Scans an object key (strict) and the `:` after it.
    #[inline]
    pub fn key(&mut self) -> Result<StrSpan, SyntaxError> {
        let span = self.key_only()?;
        self.expect(b':')?;
        Ok(span)
    }

    /// Scans an object key (strict) without the `:` after it (serde_json
    /// hands a key to the visitor before it reads the colon).
    #[inline]
    pub fn key_only(&mut self) -> Result<StrSpan, SyntaxError> {
        if self.peek_ws() != Some(b'"') {
            return Err(self.error());
        }
        self.string(true)
    }

    /// Scans a string starting at its opening quote (the current byte);
    /// leaves the cursor after the closing quote.
    #[inline(always)]
    pub fn string(&mut self, strict: bool) -> Result<StrSpan, SyntaxError> {
        let bytes = self.bytes;
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            i += find_special(&bytes[i..]);
            let Some(&b) = bytes.get(i) else {
                self.pos = i;
                return Err(self.error());
            };
            match b {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(StrSpan { start, end: i, escaped });
                }
                b'\\' => {
                    escaped = true;
                    i = self.escape(i, strict)?;
                }
                0x80.. => match utf8_len(&bytes[i..]) {
                    Some(n) => i += n,
                    None => {
                        self.pos = i;
                        return Err(self.error());
                    }
                },
                _ => {
                    // A control character; serde_json reports it one byte
                    // earlier when it only skips the string.
                    self.pos = if strict { i } else { i - 1 };
                    return Err(self.error());
                }
            }
        }
    }

    /// Validates the escape at `at` (a backslash); returns the index after it.
    fn escape(&mut self, at: usize, strict: bool) -> Result<usize, SyntaxError> {
        let bytes = self.bytes;
        let fail = |cur: &mut Self, pos: usize| {
            cur.pos = pos.min(bytes.len());
            Err(cur.error())
        };
        match bytes.get(at + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(at + 2),
            Some(b'u') => {
                // Error positions are where serde_json reports them.
                let Some(n) = hex4(bytes, at + 2) else { return fail(self, at + 5) };
                if !strict {
                    return Ok(at + 6);
                }
                if (0xdc00..=0xdfff).contains(&n) {
                    return fail(self, at + 5);
                }
                if !(0xd800..=0xdbff).contains(&n) {
                    return Ok(at + 6);
                }
                // A leading surrogate needs a trailing one right after.
                if bytes.get(at + 6) != Some(&b'\\') {
                    return fail(self, at + 6);
                }
                if bytes.get(at + 7) != Some(&b'u') {
                    return fail(self, at + 7);
                }
                match hex4(bytes, at + 8) {
                    Some(n2) if (0xdc00..=0xdfff).contains(&n2) => Ok(at + 12),
                    _ => fail(self, at + 11),
                }
            }
            _ => fail(self, at + 1),
        }
    }

    /// Scans a number starting at the current byte. Strict numbers must fit
    /// an `f64` (serde_json refuses `1e400` when it decodes a number).
    #[inline]
    pub fn number(&mut self, strict: bool) -> Result<NumSpan, SyntaxError> {
        let bytes = self.bytes;
        let start = self.pos;
        let mut i = start;
        let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        match bytes.get(i) {
            Some(b'0') => {
                i += 1;
                if digit(i) {
                    self.pos = i;
                    return Err(self.error());
                }
            }
            Some(b'1'..=b'9') => {
                while digit(i) {
                    i += 1;
                }
            }
            _ => {
                self.pos = i;
                return Err(self.error());
            }
        }
        let mut float = false;
        if bytes.get(i) == Some(&b'.') {
            float = true;
            i += 1;
            if !digit(i) {
                self.pos = i;
                return Err(self.error());
            }
            while digit(i) {
                i += 1;
            }
        }
        let mut exponent = false;
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            float = true;
            exponent = true;
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digit(i) {
                self.pos = i;
                return Err(self.error());
            }
            while digit(i) {
                i += 1;
            }
        }
        // Only an exponent or a very long number can overflow an f64; let
        // serde_json decide exactly where its range ends.
        if strict
            && (exponent || i - start > 300)
            && serde_json::from_slice::<f64>(&bytes[start..i]).is_err()
        {
            self.pos = range_error_at(&bytes[start..i]).map_or(i - 1, |at| start + at);
            return Err(self.error());
        }
        self.pos = i;
        Ok(NumSpan { start, end: i, float })
    }

    /// Consumes `word` (`true`, `false`, `null`) at the current byte.
    #[inline]
    pub fn literal(&mut self, word: &[u8]) -> Result<(), SyntaxError> {
        let end = self.pos + word.len();
        if self.bytes.get(self.pos..end) == Some(word) {
            self.pos = end;
            return Ok(());
        }
        // Point at the first byte that differs, like serde_json.
        let same = self.bytes[self.pos..].iter().zip(word).take_while(|(a, b)| a == b).count();
        self.pos += same;
        Err(self.error())
    }

    /// Skips a scalar value at the current byte (strict or lenient).
    #[inline]
    fn scalar(&mut self, b: u8, strict: bool) -> Result<(), SyntaxError> {
        match b {
            b'"' => self.string(strict).map(drop),
            b'-' | b'0'..=b'9' => self.number(strict).map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => Err(self.error()),
        }
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.peek_ws().is_none()
    }
}

/// Where serde_json reports an out-of-range number (`num` is its text):
/// at the exponent digit where the exponent stops fitting an `i32`, when
/// it is positive; `None` for its last byte.
fn range_error_at(num: &[u8]) -> Option<usize> {
    let e = num.iter().position(|b| matches!(b, b'e' | b'E'))?;
    let (positive, digits_from) = match num.get(e + 1) {
        Some(b'-') => (false, e + 2),
        Some(b'+') => (true, e + 2),
        _ => (true, e + 1),
    };
    if !positive {
        return None;
    }
    let mut exp: i64 = 0;
    for (k, &b) in num[digits_from..].iter().enumerate() {
        exp = exp * 10 + i64::from(b - b'0');
        if exp > i64::from(i32::MAX) {
            return Some(digits_from + k);
        }
    }
    None
}

mod probe;
mod skip;
mod special;
mod text;

pub use self::probe::{KeyLiteral, NameProbe};
pub use self::skip::Skip;
pub use self::special::find_special;
#[cfg(test)]
use self::special::find_special_swar;
use self::text::hex4;
pub(crate) use self::text::span_str;
pub use self::text::{line_column, unescape};

#[cfg(test)]
mod tests;
