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

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Index of the first byte in `word` (little-endian) that is `"`, `\`, a
/// control character or non-ASCII; 8 when there is none.
#[inline(always)]
fn first_special(word: u64) -> usize {
    let quote = word ^ (LO * u64::from(b'"'));
    let backslash = word ^ (LO * u64::from(b'\\'));
    let has_quote = quote.wrapping_sub(LO) & !quote;
    let has_backslash = backslash.wrapping_sub(LO) & !backslash;
    let has_control = word.wrapping_sub(LO * 0x20) & !word;
    // Borrows only travel upwards from a real hit, so the lowest flagged
    // byte is exact; `word` itself flags the non-ASCII bytes.
    let flags = (has_quote | has_backslash | has_control | word) & HI;
    (flags.trailing_zeros() / 8) as usize
}

/// Index of the first byte of `bytes` that is `"`, `\`, a control character
/// or non-ASCII; `bytes.len()` when there is none.
#[inline]
pub fn find_special(bytes: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let mut i = 0;
        while i + 16 <= bytes.len() {
            let mask = special_mask_16(&bytes[i..i + 16]);
            if mask != 0 {
                return i + mask.trailing_zeros() as usize;
            }
            i += 16;
        }
        i + find_special_swar(&bytes[i..])
    }
    #[cfg(not(target_arch = "x86_64"))]
    find_special_swar(bytes)
}

/// One bit per byte of `chunk` (16 bytes) that is `"`, `\`, a control
/// character or non-ASCII. SSE2 is part of the x86_64 baseline, so no
/// run-time detection is needed.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn special_mask_16(chunk: &[u8]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    assert!(chunk.len() >= 16);
    // SAFETY: the assertion above keeps the unaligned 16-byte load inside
    // `chunk`; the other intrinsics only compute on registers, with SSE2,
    // which every x86_64 CPU has.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Signed: below 0x20 is a control byte (0x00..=0x1f) or a
        // non-ASCII one (0x80..=0xff, negative as i8).
        let low = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), low)) as u32
    }
}

/// [`find_special`] eight bytes at a time in plain integer arithmetic.
#[inline]
fn find_special_swar(bytes: &[u8]) -> usize {
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[i..i + 8]);
        let at = first_special(u64::from_le_bytes(word));
        if at < 8 {
            return i + at;
        }
        i += 8;
    }
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b) {
            return i;
        }
        i += 1;
    }
    i
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

    /// Skips one value leniently (how serde_json reads a `RawValue`), with
    /// any nesting; returns how deep it nests containers (a scalar is 0).
    /// `stack` is scratch space for the open containers.
    pub fn skip_raw(&mut self, stack: &mut Vec<u8>) -> Result<usize, SyntaxError> {
        match self.peek_ws() {
            Some(b @ (b'{' | b'[')) => {
                if self.peek_container_end(b) {
                    return Ok(1);
                }
            }
            Some(b) => return self.scalar(b, false).map(|()| 0),
            None => return Err(self.error()),
        }
        stack.clear();
        let mut max = 0;
        loop {
            // A value is expected here.
            let Some(b) = self.peek_ws() else { return Err(self.error()) };
            match b {
                b'{' | b'[' => {
                    self.pos += 1;
                    stack.push(b);
                    max = max.max(stack.len());
                    let empty = if b == b'{' {
                        match self.peek_ws() {
                            Some(b'}') => true,
                            Some(b'"') => {
                                self.string(false)?;
                                self.expect(b':')?;
                                false
                            }
                            _ => return Err(self.error()),
                        }
                    } else {
                        self.peek_ws() == Some(b']')
                    };
                    if !empty {
                        continue;
                    }
                    self.pos += 1;
                    stack.pop();
                }
                _ => self.scalar(b, false)?,
            }
            // After a value: close containers or move to the next element.
            loop {
                let Some(&open) = stack.last() else { return Ok(max) };
                match self.peek_ws() {
                    Some(b',') => {
                        self.pos += 1;
                        if open == b'{' {
                            if self.peek_ws() != Some(b'"') {
                                return Err(self.error());
                            }
                            self.string(false)?;
                            self.expect(b':')?;
                        }
                        break;
                    }
                    Some(b'}') if open == b'{' => {
                        self.pos += 1;
                        stack.pop();
                    }
                    Some(b']') if open == b'[' => {
                        self.pos += 1;
                        stack.pop();
                    }
                    _ => return Err(self.error()),
                }
            }
        }
    }

    /// At `{` or `[`: consumes an empty `{}` or `[]` (with inner whitespace)
    /// and returns true; otherwise consumes nothing.
    #[inline]
    fn peek_container_end(&mut self, open: u8) -> bool {
        let close = if open == b'{' { b'}' } else { b']' };
        let at = self.pos;
        self.pos += 1;
        if self.peek_ws() == Some(close) {
            self.pos += 1;
            return true;
        }
        self.pos = at;
        false
    }

    /// Skips one value strictly (how serde_json reads a value into a
    /// visitor that ignores it), failing with `Err(None)`-style
    /// [`Skip::TooDeep`] when a container opens at a depth above `max_depth`.
    /// `depth` is the depth a container at this position would have.
    pub fn skip_strict(&mut self, depth: usize, max_depth: usize) -> Result<(), Skip> {
        let Some(b) = self.peek_ws() else { return Err(Skip::Syntax(self.error())) };
        match b {
            b'{' | b'[' => {
                if depth > max_depth {
                    return Err(Skip::TooDeep);
                }
                self.pos += 1;
                if b == b'{' {
                    self.skip_members(depth, max_depth)
                } else {
                    self.skip_elements(depth, max_depth)
                }
            }
            _ => self.scalar(b, true).map_err(Skip::Syntax),
        }
    }

    /// Skips an object's members strictly after its `{`; members' values
    /// are one level deeper than `depth`.
    pub fn skip_members(&mut self, depth: usize, max_depth: usize) -> Result<(), Skip> {
        if !self.first_member()? {
            return Ok(());
        }
        loop {
            self.key()?;
            self.skip_strict(depth + 1, max_depth)?;
            if !self.next_member()? {
                return Ok(());
            }
        }
    }

    /// Skips an array's elements strictly after its `[`; elements are one
    /// level deeper than `depth`.
    pub fn skip_elements(&mut self, depth: usize, max_depth: usize) -> Result<(), Skip> {
        if self.peek_ws() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_strict(depth + 1, max_depth)?;
            match self.peek_ws() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Skip::Syntax(self.error())),
            }
        }
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.peek_ws().is_none()
    }
}

/// A field name's length and first 16 bytes (zero-padded) as integers:
/// names that differ there differ; names up to 16 bytes that agree are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameProbe {
    len: usize,
    head: [u64; 2],
}

impl NameProbe {
    /// The probe of `name`.
    #[inline]
    pub fn new(name: &[u8]) -> Self {
        let mut padded = [0u8; 16];
        let n = name.len().min(16);
        padded[..n].copy_from_slice(&name[..n]);
        Self::from_padded(name.len(), padded)
    }

    /// The probe of the `len` bytes at `start` of `bytes`, read with two
    /// plain loads when 16 bytes are available there (the usual case for a
    /// key inside a record).
    #[inline]
    pub fn at(bytes: &[u8], start: usize, len: usize) -> Self {
        match bytes.get(start..start + 16) {
            Some(window) if len <= 16 => {
                let mut padded = [0u8; 16];
                padded.copy_from_slice(window);
                let word = |i: usize| {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(&padded[i * 8..i * 8 + 8]);
                    u64::from_le_bytes(w)
                };
                // Keep the first `len` bytes of the 16.
                let mask = |bits: usize| if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
                let bits = len * 8;
                NameProbe {
                    len,
                    head: [word(0) & mask(bits), word(1) & mask(bits.saturating_sub(64))],
                }
            }
            _ => Self::new(&bytes[start..start + len]),
        }
    }

    fn from_padded(len: usize, padded: [u8; 16]) -> Self {
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&padded[..8]);
        hi.copy_from_slice(&padded[8..]);
        NameProbe { len, head: [u64::from_le_bytes(lo), u64::from_le_bytes(hi)] }
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

/// Why a strict skip stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Invalid JSON.
    Syntax(SyntaxError),
    /// A container nested deeper than allowed.
    TooDeep,
}

impl From<SyntaxError> for Skip {
    fn from(e: SyntaxError) -> Self {
        Skip::Syntax(e)
    }
}

/// The text of a string scanned by [`Cursor::string`] without escapes,
/// borrowed from the input, without checking its UTF-8 again (re-validating
/// cost ~5% of the record path).
///
/// # Safety
/// `span` must have been returned by [`Cursor::string`] on a cursor over
/// this same `bytes`. That scan checked every byte of the span: ASCII bytes
/// other than `"`, `\` and controls pass, and each non-ASCII byte must start
/// a complete, well-formed UTF-8 sequence (`utf8_len`, the table of RFC 3629
/// §4), which it then steps over as a whole; so the span is valid UTF-8 and
/// starts and ends on character boundaries. A span from any other input
/// could cut a character. Debug builds check.
#[inline]
pub(crate) unsafe fn span_str(bytes: &[u8], span: StrSpan) -> &str {
    let raw = &bytes[span.start..span.end];
    debug_assert!(std::str::from_utf8(raw).is_ok());
    // SAFETY: valid UTF-8 by the caller's contract above.
    unsafe { std::str::from_utf8_unchecked(raw) }
}

fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
    let h = bytes.get(at..at + 4)?;
    Some(hex_val(h[0])? << 12 | hex_val(h[1])? << 8 | hex_val(h[2])? << 4 | hex_val(h[3])?)
}

/// Appends the decoded text of a string's raw contents (escapes resolved) to
/// `out`. The contents must have passed a strict [`Cursor::string`] scan,
/// so escapes are well-formed, surrogates paired and the rest valid UTF-8;
/// returns false if that is not so.
pub fn unescape(raw: &[u8], out: &mut String) -> bool {
    let mut i = 0;
    while i < raw.len() {
        let Some(rel) = raw[i..].iter().position(|&b| b == b'\\') else {
            return push_utf8(&raw[i..], out);
        };
        if !push_utf8(&raw[i..i + rel], out) {
            return false;
        }
        i += rel;
        let c = match raw.get(i + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let Some(n) = hex4(raw, i + 2) else { return false };
                if (0xd800..=0xdbff).contains(&n) {
                    let Some(n2) = hex4(raw, i + 8) else { return false };
                    let c = 0x1_0000 + ((u32::from(n) - 0xd800) << 10 | (u32::from(n2) - 0xdc00));
                    let Some(c) = char::from_u32(c) else { return false };
                    out.push(c);
                    i += 12;
                    continue;
                }
                let Some(c) = char::from_u32(u32::from(n)) else { return false };
                out.push(c);
                i += 6;
                continue;
            }
            _ => return false,
        };
        out.push(c);
        i += 2;
    }
    true
}

fn push_utf8(bytes: &[u8], out: &mut String) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            out.push_str(s);
            true
        }
        Err(_) => false,
    }
}

/// The line and column serde_json reports for an error at byte `pos` (the
/// offending byte, or the end of input): lines from 1, the column counts
/// the bytes of its line up to and including the offending one.
pub fn line_column(bytes: &[u8], pos: usize) -> (usize, usize) {
    let end = (pos + 1).min(bytes.len());
    let line_start = bytes[..end].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let line = bytes[..line_start].iter().filter(|&&b| b == b'\n').count() + 1;
    (line, end - line_start)
}

#[cfg(test)]
mod tests;
