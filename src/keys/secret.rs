//! Key material: [`SecretKey`], the only type that holds key bytes, and
//! the rules for key text ([`SecretKey::parse`]). Exactly 64 hex characters
//! (32 bytes), or base64 declared with a `base64:` prefix (standard or
//! URL-safe alphabet, padded or not, decoding cleanly to at least 32 bytes).
//! Nothing is guessed: a 64-character string with one non-hex typo is an
//! error, not base64. Keys with fewer than [`MIN_DISTINCT_BYTES`] distinct
//! byte values are refused as not random. Key bytes and every decode buffer
//! are zeroed ([`zeroize`]); `Debug`/`Display` print `[redacted]`.

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// Minimum key length in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// Fewest distinct byte values a key may have. 32 random bytes have about
/// 30 distinct values, and fewer than 16 happens with a probability below
/// 10^-15; all-same-byte keys, short repeated words and most hand-typed text
/// have fewer.
pub const MIN_DISTINCT_BYTES: usize = 16;

/// Length of an undeclared (hex) key in characters.
const HEX_KEY_CHARS: usize = 2 * MIN_KEY_BYTES;

/// Prefix that declares base64 key text.
pub const BASE64_PREFIX: &str = "base64:";

/// Secret key bytes. Never printed, zeroed on drop.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<Vec<u8>>);

impl SecretKey {
    /// Parses key text: exactly 64 hex characters, or `base64:` followed by
    /// base64 (standard or URL-safe, padded or not) of at least 32 bytes.
    /// Surrounding whitespace is ignored.
    ///
    /// # Errors
    /// [`KeyFormatError`] when the text is neither, decodes to fewer than 32
    /// bytes, or has too little variety to be random.
    pub fn parse(text: &str) -> Result<Self, KeyFormatError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(KeyFormatError::Empty);
        }
        if let Some(b64) = t.strip_prefix(BASE64_PREFIX) {
            if b64.trim().is_empty() {
                return Err(KeyFormatError::Empty);
            }
            return Self::from_bytes(decode_base64(b64.trim())?);
        }
        if t.len() == HEX_KEY_CHARS && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut bytes = Zeroizing::new(vec![0u8; MIN_KEY_BYTES]);
            hex::decode_to_slice(t, &mut bytes[..]).map_err(|_| KeyFormatError::NotHex)?;
            return Self::from_bytes(bytes);
        }
        if t.chars().count() == HEX_KEY_CHARS {
            return Err(KeyFormatError::HexTypo);
        }
        Err(KeyFormatError::NotHex)
    }

    /// Wraps raw bytes (zeroed when dropped, also on refusal).
    ///
    /// # Errors
    /// [`KeyFormatError::TooShort`] under 32 bytes,
    /// [`KeyFormatError::LowVariety`] under [`MIN_DISTINCT_BYTES`] distinct values.
    pub fn from_bytes(bytes: impl Into<Zeroizing<Vec<u8>>>) -> Result<Self, KeyFormatError> {
        let bytes = bytes.into();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyFormatError::TooShort { bytes: bytes.len() });
        }
        let mut seen = [false; 256];
        bytes.iter().for_each(|&b| seen[usize::from(b)] = true);
        let distinct = seen.iter().filter(|&&s| s).count();
        seen.zeroize();
        if distinct < MIN_DISTINCT_BYTES {
            return Err(KeyFormatError::LowVariety);
        }
        Ok(SecretKey(bytes))
    }

    /// A fresh random 32-byte key.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes[..]);
        SecretKey(bytes)
    }

    /// A fixed, publicly known key for the `[[tests]]` cases inside pipeline
    /// files: derived from the ring name. Never use it for real data.
    pub fn well_known_test_key(ring: &str) -> Self {
        let digest = Sha256::digest(format!("logveil well-known test key for ring {ring}"));
        SecretKey(Zeroizing::new(digest.to_vec()))
    }

    /// The key as 64 hex characters (what `logveil keygen` prints), in a
    /// buffer zeroed when dropped.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(&self.0[..]))
    }

    /// The raw bytes, for building MACs and ciphers.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// A short public fingerprint (first 8 hex chars of SHA-256 over a
    /// domain-separated MAC); safe to print, used as the default key id.
    pub fn fingerprint(&self) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_hmac());
        mac.update(b"logveil/fingerprint/v1");
        let out = mac.finalize().into_bytes();
        hex::encode(&out[..4])
    }

    /// Derives 32 bytes of sub-key material for another primitive
    /// (e.g. Crypto-PAn), so one ring key never feeds two algorithms directly.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_hmac());
        mac.update(b"logveil/derive/v1/");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// HMAC accepts keys of any length, so construction cannot fail.
fn unreachable_hmac() -> Hmac<Sha256> {
    // `new_from_slice` only fails for fixed-size-key MACs; HMAC has none.
    <Hmac<Sha256> as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| unreachable!())
}

/// Decodes declared base64 key text (standard or URL-safe alphabet, padded
/// or not, no trailing bits) into a buffer zeroed when dropped.
fn decode_base64(text: &str) -> Result<Zeroizing<Vec<u8>>, KeyFormatError> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let url_safe = text.bytes().any(|b| b == b'-' || b == b'_');
    let padded = text.ends_with('=');
    let engine = match (url_safe, padded) {
        (false, true) => &STANDARD,
        (false, false) => &STANDARD_NO_PAD,
        (true, true) => &URL_SAFE,
        (true, false) => &URL_SAFE_NO_PAD,
    };
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() / 4 * 3 + 3));
    engine.decode_vec(text, &mut out).map_err(|_| KeyFormatError::BadBase64)?;
    Ok(out)
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why key text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    /// Nothing there.
    #[error("key is empty")]
    Empty,
    /// Not 64 hex characters, and not declared base64.
    #[error("key must be exactly 64 hex characters, or base64 after a `base64:` prefix")]
    NotHex,
    /// 64 characters, but not all hex digits.
    #[error(
        "key has 64 characters but not all are hex digits (a typo?); \
         base64 keys must start with `base64:`"
    )]
    HexTypo,
    /// Declared base64 that does not decode cleanly.
    #[error("key after `base64:` is not valid base64")]
    BadBase64,
    /// Fewer than 32 bytes.
    #[error("key has {bytes} bytes; at least 32 random bytes are required")]
    TooShort {
        /// Decoded length.
        bytes: usize,
    },
    /// Too few distinct byte values to be random.
    #[error("key has fewer than 16 distinct byte values: not a random key (use `logveil keygen`)")]
    LowVariety,
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    /// 40 bytes with 40 distinct values.
    fn varied(n: u8) -> Vec<u8> {
        (0..n).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect()
    }

    #[test]
    fn parses_hex_and_declared_base64() {
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        let k = SecretKey::parse(HEX).unwrap();
        assert_eq!(k.expose().len(), 32);
        assert_eq!(SecretKey::parse(&HEX.to_uppercase()).unwrap().expose(), k.expose());
        let b64 = format!("base64:{}", STANDARD.encode(k.expose()));
        assert_eq!(SecretKey::parse(&b64).unwrap().expose(), k.expose());
        let b64 = format!("base64:{}", STANDARD_NO_PAD.encode(k.expose()));
        assert_eq!(SecretKey::parse(&b64).unwrap().expose(), k.expose());
        let bytes = varied(40);
        let b64url = format!("base64:{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(SecretKey::parse(&b64url).unwrap().expose(), &bytes[..]);
        assert_eq!(SecretKey::parse(&format!("  {HEX}\n")).unwrap().expose(), k.expose());
    }

    #[test]
    fn refuses_short_garbage_and_undeclared_base64() {
        use base64::engine::general_purpose::STANDARD;
        assert_eq!(SecretKey::parse("abcd").unwrap_err(), KeyFormatError::NotHex);
        assert_eq!(SecretKey::parse("").unwrap_err(), KeyFormatError::Empty);
        assert_eq!(SecretKey::parse("not a key!").unwrap_err(), KeyFormatError::NotHex);
        // Hex is exactly 64 characters: longer hex is refused, not truncated.
        assert_eq!(SecretKey::parse(&format!("{HEX}00")).unwrap_err(), KeyFormatError::NotHex);
        let short = format!("base64:{}", STANDARD.encode(varied(16)));
        assert!(matches!(SecretKey::parse(&short), Err(KeyFormatError::TooShort { bytes: 16 })));
        // Valid base64 of 32+ bytes, but not declared: refused.
        let undeclared = STANDARD.encode(varied(40));
        assert_eq!(SecretKey::parse(&undeclared).unwrap_err(), KeyFormatError::NotHex);
        assert_eq!(SecretKey::parse("base64: ").unwrap_err(), KeyFormatError::Empty);
        for bad in ["base64:!!!!", "base64:QUJD=x", "base64:Q"] {
            assert_eq!(SecretKey::parse(bad).unwrap_err(), KeyFormatError::BadBase64, "{bad}");
        }
        // Non-canonical trailing bits do not decode cleanly.
        let mut loose = STANDARD.encode(varied(32));
        let odd = if &loose[42..43] == "B" { "C" } else { "B" };
        loose.replace_range(42..43, odd);
        assert!(SecretKey::parse(&format!("base64:{loose}")).is_err());
    }

    #[test]
    fn generated_keys_round_trip_and_differ() {
        let a = SecretKey::generate();
        let b = SecretKey::generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(SecretKey::parse(&a.to_hex()).unwrap().expose(), a.expose());
    }
}
