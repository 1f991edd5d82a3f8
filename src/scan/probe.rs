//! [`NameProbe`]: a field name compared as two integers and a length.

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

/// Bytes of input expected verbatim at a position (an object member's
/// `"name":` as the writer escapes it), up to [`KeyLiteral::MAX`] bytes,
/// compared as four masked 64-bit words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLiteral {
    len: usize,
    words: [u64; 4],
    masks: [u64; 4],
    /// The literal's bytes, zero-padded (what the writer copies out).
    padded: [u8; 32],
}

impl KeyLiteral {
    /// Longest literal compared in registers; a longer one never matches
    /// (the caller then takes its general path).
    pub const MAX: usize = 32;

    /// The literal `text` (never matching when longer than [`Self::MAX`]
    /// or empty).
    pub fn new(text: &[u8]) -> Self {
        if text.is_empty() || text.len() > Self::MAX {
            return KeyLiteral { len: 0, words: [0; 4], masks: [0; 4], padded: [0; 32] };
        }
        let mut padded = [0u8; 32];
        padded[..text.len()].copy_from_slice(text);
        let mut mask_bytes = [0u8; 32];
        mask_bytes[..text.len()].fill(0xff);
        KeyLiteral { len: text.len(), words: words(&padded), masks: words(&mask_bytes), padded }
    }

    /// The literal's bytes zero-padded to [`Self::MAX`] (the first
    /// [`Self::len`] are the literal), for a fixed-size copy.
    #[inline(always)]
    pub fn padded(&self) -> &[u8; 32] {
        &self.padded
    }

    /// The literal's length in bytes (0 for one that never matches).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the literal never matches.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `bytes[pos..]` starts with the literal.
    #[inline(always)]
    pub fn matches_at(&self, bytes: &[u8], pos: usize) -> bool {
        if self.len == 0 {
            return false;
        }
        match bytes.get(pos..pos + Self::MAX) {
            Some(window) => {
                let mut padded = [0u8; 32];
                padded.copy_from_slice(window);
                let w = words(&padded);
                let differ = ((w[0] ^ self.words[0]) & self.masks[0])
                    | ((w[1] ^ self.words[1]) & self.masks[1])
                    | ((w[2] ^ self.words[2]) & self.masks[2])
                    | ((w[3] ^ self.words[3]) & self.masks[3]);
                differ == 0
            }
            // Near the end of the input: compare the bytes themselves.
            None => bytes.get(pos..pos + self.len).is_some_and(|b| {
                let mut padded = [0u8; 32];
                padded[..self.len].copy_from_slice(b);
                words(&padded) == self.words
            }),
        }
    }
}

/// 32 bytes as four little-endian words.
#[inline(always)]
fn words(b: &[u8; 32]) -> [u64; 4] {
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    [word(0), word(1), word(2), word(3)]
}
