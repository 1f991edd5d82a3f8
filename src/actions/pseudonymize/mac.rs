//! The keyed, scoped HMAC-SHA256 behind `pseudonymize`, precomputed down
//! to the SHA-256 compression function, and the pseudonym's base64url text.

use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};

/// Bytes of the MAC kept in a pseudonym (128 bits).
pub const PSEUDONYM_BYTES: usize = 16;

/// SHA-256's initial state.
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// One SHA-256 block compression (sha2 picks SHA-NI at run time when the
/// CPU has it, through `cpufeatures`).
#[inline]
fn compress(state: &mut [u32; 8], block: &[u8; 64]) {
    sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)));
}

/// A keyed, scoped HMAC-SHA256, precomputed down to the compression
/// function: the key's inner and outer pad blocks and every full block of
/// the scope prefix are absorbed at load, so a pseudonym of a short value
/// costs exactly two block compressions and no copying of hasher state.
#[derive(Clone)]
pub(super) struct ScopedMac {
    pub(super) key_id: String,
    /// State after the inner pad block and the prefix's full blocks.
    inner: [u32; 8],
    /// State after the outer pad block.
    outer: [u32; 8],
    /// Prefix bytes after its last full block.
    tail: [u8; 64],
    tail_len: usize,
    /// Bytes already compressed into `inner`.
    absorbed: u64,
}

impl std::fmt::Debug for ScopedMac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ScopedMac({}, [redacted])", self.key_id)
    }
}

impl ScopedMac {
    pub(super) fn new(key_id: &str, key: &[u8], scope: &str) -> Self {
        // RFC 2104: a key longer than the block is hashed first.
        let mut padded = [0u8; 64];
        if key.len() > 64 {
            padded[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            padded[..key.len()].copy_from_slice(key);
        }
        let (mut inner, mut outer) = (SHA256_IV, SHA256_IV);
        compress(&mut inner, &padded.map(|b| b ^ 0x36));
        compress(&mut outer, &padded.map(|b| b ^ 0x5c));
        let mut mac = ScopedMac {
            key_id: key_id.to_string(),
            inner,
            outer,
            tail: [0; 64],
            tail_len: 0,
            absorbed: 64,
        };
        let mut prefix = Vec::with_capacity(12 + scope.len());
        prefix.extend_from_slice(b"logveil/v1/");
        prefix.extend_from_slice(scope.as_bytes());
        prefix.push(0);
        let mut chunks = prefix.chunks_exact(64);
        for block in &mut chunks {
            let mut b = [0u8; 64];
            b.copy_from_slice(block);
            compress(&mut mac.inner, &b);
            mac.absorbed += 64;
        }
        let rest = chunks.remainder();
        mac.tail[..rest.len()].copy_from_slice(rest);
        mac.tail_len = rest.len();
        mac
    }

    /// The first [`PSEUDONYM_BYTES`] of HMAC(key, prefix ‖ parts).
    #[inline]
    pub(super) fn mac(&self, parts: &[&[u8]]) -> [u8; PSEUDONYM_BYTES] {
        let mut state = self.inner;
        let mut block = self.tail;
        let mut fill = self.tail_len;
        let mut total = self.absorbed + self.tail_len as u64;
        for part in parts {
            total += part.len() as u64;
            let mut part: &[u8] = part;
            while !part.is_empty() {
                let n = part.len().min(64 - fill);
                block[fill..fill + n].copy_from_slice(&part[..n]);
                fill += n;
                part = &part[n..];
                if fill == 64 {
                    compress(&mut state, &block);
                    fill = 0;
                }
            }
        }
        // Padding: 0x80, zeros, the bit length; one more block if it spills.
        block[fill] = 0x80;
        block[fill + 1..].fill(0);
        if fill >= 56 {
            compress(&mut state, &block);
            block = [0; 64];
        }
        block[56..].copy_from_slice(&(total * 8).to_be_bytes());
        compress(&mut state, &block);

        // Outer hash over the 32-byte inner digest: always one block.
        let mut outer_block = [0u8; 64];
        for (chunk, word) in outer_block[..32].chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        outer_block[32] = 0x80;
        outer_block[56..].copy_from_slice(&((64u64 + 32) * 8).to_be_bytes());
        let mut outer = self.outer;
        compress(&mut outer, &outer_block);
        let mut digest = [0u8; PSEUDONYM_BYTES];
        for (chunk, word) in digest.chunks_exact_mut(4).zip(outer) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        digest
    }

    /// Appends `<key-id>:<base64url>` (no quotes) to `out`.
    #[inline]
    pub(super) fn write(&self, parts: &[&[u8]], out: &mut Vec<u8>) {
        let digest = self.mac(parts);
        out.extend_from_slice(self.key_id.as_bytes());
        out.push(b':');
        base64url_16(&digest, out);
    }
}

/// Base64url without padding of 16 bytes: 22 characters (five 3-byte
/// groups of four characters, then one byte as two).
#[inline]
pub(super) fn base64url_16(bytes: &[u8; PSEUDONYM_BYTES], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let char_of = |v: u32| ALPHABET[(v & 63) as usize];
    let mut text = [0u8; 22];
    for g in 0..5 {
        let n = u32::from(bytes[3 * g]) << 16
            | u32::from(bytes[3 * g + 1]) << 8
            | u32::from(bytes[3 * g + 2]);
        text[4 * g] = char_of(n >> 18);
        text[4 * g + 1] = char_of(n >> 12);
        text[4 * g + 2] = char_of(n >> 6);
        text[4 * g + 3] = char_of(n);
    }
    let last = u32::from(bytes[15]);
    text[20] = char_of(last >> 2);
    text[21] = char_of(last << 4);
    out.extend_from_slice(&text);
}
