//! The one pass over a text's bytes that the later steps read instead of
//! scanning the text again: which trigger bytes occur (so detectors whose
//! trigger is absent are skipped), a bitmap of ASCII digits (digit groups
//! are read from it) and a bitmap of the lead bytes of characters that
//! [`super::fold`] may rewrite.
//!
//! The text is read sixteen bytes at a time with SSE2 compares and mask
//! moves on x86_64 (byte at a time elsewhere), giving one bit per byte and
//! class, kept in `u64` words of 64 bytes. Plain Rust loops for the same masks
//! are not vectorized by the compiler and cost more than the scans they
//! replace (measured in `benches/PROFILE.md`, redact section).

/// Block size: one bit per byte in a `u64`.
const BLOCK: usize = 64;

/// Which trigger bytes a text contains.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Triggers {
    pub(super) digit: bool,
    pub(super) at: bool,
    pub(super) colon: bool,
    pub(super) plus: bool,
    pub(super) eq: bool,
    pub(super) percent: bool,
    pub(super) bracket: bool,
    pub(super) fold: bool,
    pub(super) dash: bool,
}

impl Triggers {
    /// Whether anything can be found (before folding, a fold candidate
    /// counts: it may be a full-width digit; a dash may open a PEM block).
    pub(super) fn any(self) -> bool {
        self.digit || self.at || self.colon || self.eq || self.fold || self.dash
    }
}

/// Bitmaps of one text: bit `i` of word `k` stands for byte `64 k + i`.
#[derive(Debug, Default)]
pub(super) struct ByteMap {
    digits: Vec<u64>,
    leads: Vec<u64>,
    triggers: Triggers,
}

/// Bytes classified per step.
const CHUNK: usize = 16;

/// The three class masks (digits, fold leads, trigger punctuation) of a
/// chunk of [`CHUNK`] bytes.
#[inline(always)]
fn chunk_masks(chunk: &[u8]) -> (u16, u16, u16) {
    #[cfg(target_arch = "x86_64")]
    {
        masks_16(chunk)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let (mut digits, mut leads, mut special) = (0u16, 0u16, 0u16);
        for (i, &c) in chunk.iter().take(CHUNK).enumerate() {
            digits |= u16::from(c.is_ascii_digit()) << i;
            leads |= u16::from(is_lead(c)) << i;
            special |= u16::from(is_special(c)) << i;
        }
        (digits, leads, special)
    }
}

/// Sets the trigger flags of the punctuation bytes flagged in `mask` (bit
/// `i` for byte `at + i`).
#[inline(always)]
fn note_specials(b: &[u8], at: usize, mask: u16, t: &mut Triggers) {
    let mut m = mask;
    while m != 0 {
        let pos = at + m.trailing_zeros() as usize;
        m &= m - 1;
        match b.get(pos) {
            Some(b'@') => t.at = true,
            Some(b':') => t.colon = true,
            Some(b'+') => t.plus = true,
            Some(b'=') => t.eq = true,
            Some(b'%') => t.percent = true,
            Some(b'[') => t.bracket = true,
            Some(b'-') => t.dash = true,
            _ => {}
        }
    }
}

/// Lead bytes of the characters folding may rewrite.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn is_lead(c: u8) -> bool {
    matches!(c, 0xC2 | 0xE2 | 0xE3 | 0xEF)
}

/// Trigger punctuation.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn is_special(c: u8) -> bool {
    matches!(c, b'@' | b':' | b'+' | b'=' | b'%' | b'[' | b'-')
}

/// The class masks of 16 bytes with SSE2, which every x86_64 CPU has (the
/// same approach as the JSON scanner's string loop in `crate::scan`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn masks_16(chunk: &[u8]) -> (u16, u16, u16) {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_min_epu8,
        _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    assert!(chunk.len() >= 16);
    // SAFETY: the assertion above keeps the unaligned 16-byte load inside
    // `chunk`; the other intrinsics only compute on registers, with SSE2,
    // which every x86_64 CPU has.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
        let any = |cs: &[u8]| {
            cs.iter().fold(_mm_set1_epi8(0), |acc: __m128i, &c| _mm_or_si128(acc, eq(c)))
        };
        // Unsigned range test: v >= '0' and v <= '9'.
        let ge0 = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(b'0' as i8)), v);
        let le9 = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(b'9' as i8)), v);
        let digits = _mm_and_si128(ge0, le9);
        let leads = any(&[0xC2, 0xE2, 0xE3, 0xEF]);
        let special = any(b"@:+=%[-");
        (
            _mm_movemask_epi8(digits) as u16,
            _mm_movemask_epi8(leads) as u16,
            _mm_movemask_epi8(special) as u16,
        )
    }
}

impl ByteMap {
    pub(super) const fn new() -> Self {
        Self {
            digits: Vec::new(),
            leads: Vec::new(),
            triggers: Triggers {
                digit: false,
                at: false,
                colon: false,
                plus: false,
                eq: false,
                percent: false,
                bracket: false,
                fold: false,
                dash: false,
            },
        }
    }

    /// Maps `b`, replacing what was mapped before.
    pub(super) fn build(&mut self, b: &[u8]) {
        self.digits.clear();
        self.leads.clear();
        let mut t = Triggers::default();
        let (mut any_digit, mut any_lead) = (0u64, 0u64);
        for (k, block) in b.chunks(BLOCK).enumerate() {
            let (mut digits, mut leads) = (0u64, 0u64);
            for (c, chunk) in block.chunks(CHUNK).enumerate() {
                let (d, l, s) = if chunk.len() == CHUNK {
                    chunk_masks(chunk)
                } else {
                    let mut tail = [0u8; CHUNK];
                    if let Some(slot) = tail.get_mut(..chunk.len()) {
                        slot.copy_from_slice(chunk);
                    }
                    chunk_masks(&tail)
                };
                digits |= u64::from(d) << (CHUNK * c);
                leads |= u64::from(l) << (CHUNK * c);
                if s != 0 {
                    note_specials(b, k * BLOCK + CHUNK * c, s, &mut t);
                }
            }
            self.digits.push(digits);
            self.leads.push(leads);
            any_digit |= digits;
            any_lead |= leads;
        }
        t.digit = any_digit != 0;
        t.fold = any_lead != 0;
        self.triggers = t;
    }

    /// The trigger bytes of the mapped text.
    pub(super) fn triggers(&self) -> Triggers {
        self.triggers
    }

    /// The position of the first ASCII digit at or after `from`.
    pub(super) fn next_digit(&self, from: usize) -> Option<usize> {
        let mut k = from / BLOCK;
        let mut m = self.digits.get(k)? & (!0u64 << (from % BLOCK));
        loop {
            if m != 0 {
                return Some(k * BLOCK + m.trailing_zeros() as usize);
            }
            k += 1;
            m = *self.digits.get(k)?;
        }
    }

    /// The end of the run of ASCII digits containing `pos` (`pos` itself
    /// if it is no digit).
    pub(super) fn digits_end(&self, pos: usize) -> usize {
        let mut k = pos / BLOCK;
        let mut shift = pos % BLOCK;
        let mut end = pos;
        while let Some(&w) = self.digits.get(k) {
            let ones = (!(w >> shift)).trailing_zeros() as usize;
            let left = BLOCK - shift;
            end += ones.min(left);
            if ones < left {
                break;
            }
            k += 1;
            shift = 0;
        }
        end
    }

    /// Positions of the bytes `0xC2`, `0xE2`, `0xE3`, `0xEF` (lead bytes of
    /// the characters folding may rewrite), ascending.
    pub(super) fn leads(&self) -> impl Iterator<Item = usize> + '_ {
        self.leads.iter().enumerate().flat_map(|(k, &m)| {
            let mut m = m;
            std::iter::from_fn(move || {
                (m != 0).then(|| {
                    let bit = m.trailing_zeros() as usize;
                    m &= m - 1;
                    k * BLOCK + bit
                })
            })
        })
    }

    /// Gives back memory after a pathological input.
    pub(super) fn trim(&mut self, retained: usize) {
        if self.digits.capacity() > retained {
            self.digits = Vec::new();
            self.leads = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Independent oracle: byte-at-a-time.
    fn naive(b: &[u8]) -> (Vec<usize>, Vec<usize>, [bool; 9]) {
        let digits = (0..b.len()).filter(|&i| b[i].is_ascii_digit()).collect();
        let leads = (0..b.len()).filter(|&i| [0xC2, 0xE2, 0xE3, 0xEF].contains(&b[i])).collect();
        let has = |c: u8| b.contains(&c);
        let t = [
            b.iter().any(u8::is_ascii_digit),
            has(b'@'),
            has(b':'),
            has(b'+'),
            has(b'='),
            has(b'%'),
            has(b'['),
            b.iter().any(|c| [0xC2, 0xE2, 0xE3, 0xEF].contains(c)),
            has(b'-'),
        ];
        (digits, leads, t)
    }

    fn mapped(b: &[u8]) -> (Vec<usize>, Vec<usize>, [bool; 9]) {
        let mut map = ByteMap::new();
        map.build(b);
        let mut digits = Vec::new();
        let mut from = 0;
        while let Some(d) = map.next_digit(from) {
            digits.push(d);
            from = d + 1;
        }
        let t = map.triggers();
        let flags = [t.digit, t.at, t.colon, t.plus, t.eq, t.percent, t.bracket, t.fold, t.dash];
        (digits, map.leads().collect(), flags)
    }

    #[test]
    fn agrees_with_a_byte_at_a_time_scan() {
        let samples: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"plain text only".to_vec(),
            "电话：１３８，a@b.c 12:30 x=1 +86 100% [PHONE] a-b".as_bytes().to_vec(),
            // Lengths around block edges, digits and triggers at the edges.
            (0..64).map(|i| if i % 7 == 0 { b'7' } else { b'x' }).collect(),
            (0..65).map(|i| if i == 64 { b'@' } else { b'a' }).collect(),
            (0..200u32).map(|i| (i * 37 % 256) as u8).collect(),
            "１２３。，".repeat(30).into_bytes(),
        ];
        for s in samples {
            assert_eq!(mapped(&s), naive(&s), "{:?}", String::from_utf8_lossy(&s));
        }
    }

    #[test]
    fn digit_runs_end_where_a_scan_ends_them() {
        for b in
            [b"ab1cd".repeat(40), b"7".repeat(130), [b"x".repeat(63), b"1".repeat(70)].concat()]
        {
            let mut map = ByteMap::new();
            map.build(&b);
            for pos in 0..b.len() + 2 {
                let mut end = pos;
                while b.get(end).is_some_and(u8::is_ascii_digit) {
                    end += 1;
                }
                assert_eq!(map.digits_end(pos), end, "pos {pos}");
            }
        }
    }

    #[test]
    fn next_digit_from_any_offset() {
        let b = b"ab1cd".repeat(40);
        let mut map = ByteMap::new();
        map.build(&b);
        for from in 0..b.len() + 2 {
            let expected = (from..b.len()).find(|&i| b[i].is_ascii_digit());
            assert_eq!(map.next_digit(from), expected, "from {from}");
        }
    }
}
