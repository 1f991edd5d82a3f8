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
