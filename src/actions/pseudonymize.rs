//! The `pseudonymize` action: keyed HMAC-SHA256 pseudonyms.
//!
//! `pseudonym = <key-id> ":" base64url(HMAC-SHA256(key, "logveil/v1/" scope 0x00 value)[..16])`
//!
//! - the same value, scope and key always give the same pseudonym (analysts can
//!   count and join within a key period);
//! - different scopes give unlinkable pseudonyms (a user id and a session id
//!   with equal text do not collide);
//! - 128 bits of output: collisions are negligible at any realistic volume.
//!
//! The HMAC inner/outer states are keyed once and the scope prefix is absorbed
//! once at load; each record only clones the state (no key schedule per record).

use std::time::SystemTime;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::KeyRing;

/// Bytes of the MAC kept in a pseudonym (128 bits).
pub const PSEUDONYM_BYTES: usize = 16;

/// A keyed, scoped MAC state ready to be cloned per value.
#[derive(Clone)]
struct ScopedMac {
    key_id: String,
    state: Hmac<Sha256>,
}

impl std::fmt::Debug for ScopedMac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ScopedMac({}, [redacted])", self.key_id)
    }
}

impl ScopedMac {
    fn new(key_id: &str, key: &[u8], scope: &str) -> Self {
        // HMAC accepts keys of any length; this cannot fail.
        let mut state = <Hmac<Sha256> as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        state.update(b"logveil/v1/");
        state.update(scope.as_bytes());
        state.update(&[0]);
        ScopedMac { key_id: key_id.to_string(), state }
    }

    /// Appends `<key-id>:<base64url>` (no quotes) to `out`.
    #[inline]
    fn write(&self, parts: &[&[u8]], out: &mut Vec<u8>) {
        let mut mac = self.state.clone();
        for p in parts {
            mac.update(p);
        }
        let digest = mac.finalize().into_bytes();
        out.extend_from_slice(self.key_id.as_bytes());
        out.push(b':');
        let mut buf = [0u8; 24];
        let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode_slice(&digest[..PSEUDONYM_BYTES], &mut buf)
            .unwrap_or(0);
        out.extend_from_slice(&buf[..n]);
    }
}

/// A compiled `pseudonymize` rule: current key, optional dual-written previous key.
#[derive(Debug, Clone)]
pub struct Pseudonymizer {
    ring: String,
    current: ScopedMac,
    previous: Option<(ScopedMac, Option<i64>)>,
    normalize: bool,
    keep_domain: bool,
}

/// Outcome of pseudonymizing one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PseudonymOutcome {
    /// Written.
    Written,
    /// The value cannot be handled (e.g. `keep_domain` on text without `@`).
    Invalid,
}

impl Pseudonymizer {
    /// Builds the MAC states for `ring` and `scope`.
    pub fn new(ring: &KeyRing, scope: &str, normalize: bool, keep_domain: bool) -> Self {
        let current = ScopedMac::new(&ring.current.id, ring.current.key.expose(), scope);
        let previous = ring
            .previous
            .as_ref()
            .map(|(k, until)| (ScopedMac::new(&k.id, k.key.expose(), scope), *until));
        Pseudonymizer { ring: ring.name.clone(), current, previous, normalize, keep_domain }
    }

    /// Ring name.
    pub fn ring(&self) -> &str {
        &self.ring
    }

    /// Id of the current key.
    pub fn key_id(&self) -> &str {
        &self.current.key_id
    }

    /// Whether a previous key is dual-written until some time (only then does
    /// [`Pseudonymizer::dual_write_active`] need the clock).
    #[inline]
    pub fn has_overlap(&self) -> bool {
        matches!(&self.previous, Some((_, Some(_))))
    }

    /// Whether a `<field>_prev` pseudonym must also be written at `now_ms`.
    #[inline]
    pub fn dual_write_active(&self, now_ms: i64) -> bool {
        matches!(&self.previous, Some((_, Some(until))) if now_ms < *until)
    }

    /// Appends the JSON string pseudonym of `value` (with quotes) to `out`,
    /// using the previous key when `previous` is set. `tmp` is scratch space.
    pub fn write_json(
        &self,
        value: &[u8],
        previous: bool,
        tmp: &mut String,
        out: &mut Vec<u8>,
    ) -> PseudonymOutcome {
        let mac = match (previous, &self.previous) {
            (false, _) => &self.current,
            (true, Some((m, _))) => m,
            (true, None) => return PseudonymOutcome::Invalid,
        };
        let mut value = value;
        if self.normalize {
            let Ok(s) = std::str::from_utf8(value) else { return PseudonymOutcome::Invalid };
            tmp.clear();
            for c in s.trim().chars() {
                tmp.extend(c.to_lowercase());
            }
            value = tmp.as_bytes();
        }
        if self.keep_domain {
            let Some(at) = value.iter().rposition(|&b| b == b'@') else {
                return PseudonymOutcome::Invalid;
            };
            let (local, domain) = (&value[..at], &value[at + 1..]);
            if local.is_empty() || domain.is_empty() || !valid_domain(domain) {
                return PseudonymOutcome::Invalid;
            }
            out.push(b'"');
            mac.write(&[local], out);
            out.push(b'@');
            out.extend(domain.iter().map(|b| b.to_ascii_lowercase()));
            out.push(b'"');
            return PseudonymOutcome::Written;
        }
        out.push(b'"');
        mac.write(&[value], out);
        out.push(b'"');
        PseudonymOutcome::Written
    }

    /// The pseudonym as a plain string (record keys, tests).
    pub fn pseudonym(&self, value: &[u8]) -> Option<String> {
        let mut out = Vec::new();
        let mut tmp = String::new();
        match self.write_json(value, false, &mut tmp, &mut out) {
            PseudonymOutcome::Written => {
                out.pop();
                out.remove(0);
                String::from_utf8(out).ok()
            }
            PseudonymOutcome::Invalid => None,
        }
    }
}

/// A DNS name as it may appear after `@`: letters, digits, `-`, `.`; no quotes
/// or escapes, so it can be written into JSON verbatim.
fn valid_domain(d: &[u8]) -> bool {
    d.len() <= 253 && d.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
}

/// Milliseconds since the epoch now (for dual-write checks).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyStore, LoadedKey, SecretKey};

    fn ring() -> KeyRing {
        KeyStore::for_tests(&["ids".into()]).ring("ids").unwrap().clone()
    }

    #[test]
    fn deterministic_scoped_and_sized() {
        let r = ring();
        let user = Pseudonymizer::new(&r, "user", false, false);
        let session = Pseudonymizer::new(&r, "session", false, false);
        let a = user.pseudonym(b"u_1").unwrap();
        assert_eq!(a, user.pseudonym(b"u_1").unwrap());
        assert_ne!(a, user.pseudonym(b"u_2").unwrap());
        assert_ne!(a, session.pseudonym(b"u_1").unwrap());
        let (id, digest) = a.split_once(':').unwrap();
        assert_eq!(id, "test");
        assert_eq!(digest.len(), 22); // 128 bits in base64url without padding
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(digest).unwrap();
        assert_eq!(bytes.len(), 16);
    }

    #[test]
    fn matches_reference_hmac() {
        // Independent computation of the documented construction.
        let r = ring();
        let p = Pseudonymizer::new(&r, "user", false, false);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(r.current.key.expose()).unwrap();
        mac.update(b"logveil/v1/user\0u_42");
        let d = mac.finalize().into_bytes();
        let expected =
            format!("test:{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&d[..16]));
        assert_eq!(p.pseudonym(b"u_42").unwrap(), expected);
    }

    #[test]
    fn different_keys_differ() {
        let r1 = ring();
        let mut r2 = r1.clone();
        r2.current = LoadedKey { id: "test".into(), key: SecretKey::generate() };
        let a = Pseudonymizer::new(&r1, "user", false, false).pseudonym(b"x").unwrap();
        let b = Pseudonymizer::new(&r2, "user", false, false).pseudonym(b"x").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn normalize_and_keep_domain() {
        let r = ring();
        let p = Pseudonymizer::new(&r, "email", true, true);
        let a = p.pseudonym(b" Alice@Example.COM ").unwrap();
        let b = p.pseudonym(b"alice@example.com").unwrap();
        assert_eq!(a, b);
        assert!(a.ends_with("@example.com") && !a.contains("alice"), "{a}");
        assert!(p.pseudonym(b"no-at-sign").is_none());
        assert!(p.pseudonym(b"x@bad\"domain").is_none());
    }

    #[test]
    fn dual_write_window() {
        let mut r = ring();
        r.previous = Some((
            LoadedKey { id: "old".into(), key: SecretKey::well_known_test_key("old") },
            Some(1_000),
        ));
        let p = Pseudonymizer::new(&r, "user", false, false);
        assert!(p.dual_write_active(999));
        assert!(!p.dual_write_active(1_000));
        let mut out = Vec::new();
        let mut tmp = String::new();
        p.write_json(b"u", true, &mut tmp, &mut out);
        assert!(out.starts_with(b"\"old:"));
    }
}
