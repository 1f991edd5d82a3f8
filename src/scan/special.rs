//! Finding the next byte a string scan must look at (`"`, `\`, a control
//! character or a non-ASCII byte): sixteen bytes at a time with SSE2 on
//! x86_64, else eight with integer arithmetic.

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
pub(super) fn find_special_swar(bytes: &[u8]) -> usize {
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
