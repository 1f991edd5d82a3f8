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
//! E-mail addresses (`keep_domain`, `keep_domains`): the domain survives only
//! when it is listed, either in the rule's `keep_domains` or, with
//! `keep_domain = true`, in the shipped list of large public mail providers
//! [`PUBLIC_MAIL_DOMAINS`] (domains shared by millions, which say nothing
//! about a person). Then the output is `<pseudonym of the local part>@<domain>`.
//! Any other domain (`alice-wang-13800138000.example.com`, a small company)
//! can identify a person, so the whole address is pseudonymized as one value:
//! the same pseudonym a plain `pseudonymize` of the address in that scope gives.
//! Domains match exactly (ASCII case-insensitive): a subdomain of a listed
//! domain is not listed.
//!
//! The HMAC inner/outer states are keyed once and the scope prefix is absorbed
//! once at load; a pseudonym then costs two SHA-256 block compressions (with
//! SHA-NI where the CPU has it) and no hasher-state copies.

use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};

use crate::keys::KeyRing;

/// Domains `keep_domain = true` keeps: large public mail providers, each
/// shared by millions of people. Part of the documented behaviour (README).
pub const PUBLIC_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "ymail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "zoho.com",
    "fastmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "qq.com",
    "foxmail.com",
    "163.com",
    "126.com",
    "yeah.net",
    "sina.com",
    "sohu.com",
    "aliyun.com",
    "139.com",
    "naver.com",
    "daum.net",
];

/// A `keep_domains` entry that is not a plain DNS name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "entry {index} is not a domain name (letters, digits, `-` and `.`, at most 253 characters)"
)]
pub struct InvalidDomain {
    /// Position of the entry in the list (0-based).
    pub index: usize,
}

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
struct ScopedMac {
    key_id: String,
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
    fn new(key_id: &str, key: &[u8], scope: &str) -> Self {
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
    fn mac(&self, parts: &[&[u8]]) -> [u8; PSEUDONYM_BYTES] {
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
    fn write(&self, parts: &[&[u8]], out: &mut Vec<u8>) {
        let digest = self.mac(parts);
        out.extend_from_slice(self.key_id.as_bytes());
        out.push(b':');
        base64url_16(&digest, out);
    }
}

/// Base64url without padding of 16 bytes: 22 characters.
#[inline]
fn base64url_16(bytes: &[u8; PSEUDONYM_BYTES], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut text = [0u8; 22];
    for (i, group) in bytes.chunks(3).enumerate() {
        let b = [group[0], *group.get(1).unwrap_or(&0), *group.get(2).unwrap_or(&0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        let chars = [n >> 18, n >> 12, n >> 6, n].map(|v| ALPHABET[(v & 63) as usize]);
        // The last group has one byte: two characters.
        let len = if group.len() == 3 { 4 } else { 2 };
        text[i * 4..i * 4 + len].copy_from_slice(&chars[..len]);
    }
    out.extend_from_slice(&text);
}

/// A compiled `pseudonymize` rule: current key, optional dual-written previous key.
#[derive(Debug, Clone)]
pub struct Pseudonymizer {
    ring: String,
    current: ScopedMac,
    previous: Option<(ScopedMac, Option<i64>)>,
    normalize: bool,
    /// Domains kept after a pseudonymized local part, lower-cased; `None`:
    /// the value is not treated as an e-mail address.
    kept_domains: Option<Box<[Box<str>]>>,
}

/// Outcome of pseudonymizing one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PseudonymOutcome {
    /// Written.
    Written,
    /// The value cannot be handled (e.g. domain keeping on text without `@`).
    Invalid,
}

impl Pseudonymizer {
    /// Builds the MAC states for `ring` and `scope`. `keep_domain` keeps the
    /// domains of [`PUBLIC_MAIL_DOMAINS`]; add a rule's own list with
    /// [`Pseudonymizer::with_kept_domains`].
    pub fn new(ring: &KeyRing, scope: &str, normalize: bool, keep_domain: bool) -> Self {
        let current = ScopedMac::new(&ring.current.id, ring.current.key.expose(), scope);
        let previous = ring
            .previous
            .as_ref()
            .map(|(k, until)| (ScopedMac::new(&k.id, k.key.expose(), scope), *until));
        let kept_domains =
            keep_domain.then(|| PUBLIC_MAIL_DOMAINS.iter().map(|d| Box::from(*d)).collect());
        Pseudonymizer { ring: ring.name.clone(), current, previous, normalize, kept_domains }
    }

    /// Also keeps the domains in `domains` (a rule's `keep_domains`); a
    /// non-empty list turns domain keeping on.
    ///
    /// # Errors
    /// [`InvalidDomain`] naming the position of an entry that is not a DNS name.
    pub fn with_kept_domains(mut self, domains: &[String]) -> Result<Self, InvalidDomain> {
        if domains.is_empty() {
            return Ok(self);
        }
        let mut list: Vec<Box<str>> = self.kept_domains.take().map(Vec::from).unwrap_or_default();
        for (index, d) in domains.iter().enumerate() {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            let labels_ok = d.split('.').all(|l| !l.is_empty() && !l.starts_with('-'));
            if d.is_empty() || !valid_domain(d.as_bytes()) || !labels_ok {
                return Err(InvalidDomain { index });
            }
            list.push(d.into());
        }
        self.kept_domains = Some(list.into());
        Ok(self)
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
        if let Some(kept) = &self.kept_domains {
            let Some(at) = value.iter().rposition(|&b| b == b'@') else {
                return PseudonymOutcome::Invalid;
            };
            let (local, domain) = (&value[..at], &value[at + 1..]);
            if local.is_empty() || domain.is_empty() {
                return PseudonymOutcome::Invalid;
            }
            // The domain written is the configured spelling, never input bytes.
            if let Some(listed) = kept.iter().find(|d| d.as_bytes().eq_ignore_ascii_case(domain)) {
                out.push(b'"');
                mac.write(&[local], out);
                out.push(b'@');
                out.extend_from_slice(listed.as_bytes());
                out.push(b'"');
                return PseudonymOutcome::Written;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyStore, LoadedKey, SecretKey};
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    use proptest::prelude::*;

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

    proptest! {
        #[test]
        fn precomputed_mac_equals_the_hmac_crate(
            key in prop::collection::vec(any::<u8>(), 32..150),
            scope in "[a-z]{1,140}",
            value in prop::collection::vec(any::<u8>(), 0..200),
            split in any::<prop::sample::Index>(),
        ) {
            let mac = ScopedMac::new("k", &key, &scope);
            let mut reference = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
            reference.update(b"logveil/v1/");
            reference.update(scope.as_bytes());
            reference.update(&[0]);
            reference.update(&value);
            let expected = reference.finalize().into_bytes();
            let at = split.index(value.len() + 1);
            prop_assert_eq!(&mac.mac(&[&value[..at], &value[at..]])[..], &expected[..16]);
            let mut out = Vec::new();
            base64url_16(&mac.mac(&[&value]), &mut out);
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&expected[..16]);
            prop_assert_eq!(out, b64.into_bytes());
        }
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
        let p = Pseudonymizer::new(&r, "email", true, false)
            .with_kept_domains(&["Example.COM.".into()])
            .unwrap();
        let a = p.pseudonym(b" Alice@Example.COM ").unwrap();
        let b = p.pseudonym(b"alice@example.com").unwrap();
        assert_eq!(a, b);
        assert!(a.ends_with("@example.com") && !a.contains("alice"), "{a}");
        assert!(p.pseudonym(b"no-at-sign").is_none());
        assert!(p.pseudonym(b"@example.com").is_none());
        assert!(p.pseudonym(b"alice@").is_none());
    }

    #[test]
    fn only_listed_domains_are_kept() {
        let r = ring();
        let plain = Pseudonymizer::new(&r, "email", true, false);
        let p = Pseudonymizer::new(&r, "email", true, true)
            .with_kept_domains(&["corp.example".into()])
            .unwrap();
        // Shipped public providers and the rule's own list keep the domain.
        for (email, domain) in [
            ("Bob@Gmail.com", "@gmail.com"),
            ("bob@qq.com", "@qq.com"),
            ("bob@corp.example", "@corp.example"),
        ] {
            let out = p.pseudonym(email.as_bytes()).unwrap();
            assert!(out.ends_with(domain) && !out.to_lowercase().contains("bob"), "{out}");
        }
        // Anything else, subdomains of listed domains included, is
        // pseudonymized whole: exactly the plain pseudonym, no `@`.
        for email in [
            "x@alice-wang-13800138000.example.com",
            "x@mail.corp.example",
            "x@gmail.com.evil.example",
            "x@bad\"domain",
            "x@corp.example.",
        ] {
            let out = p.pseudonym(email.as_bytes()).unwrap();
            assert!(!out.contains('@') && !out.contains("13800138000"), "{out}");
            assert_eq!(Some(out), plain.pseudonym(email.as_bytes()), "{email}");
        }
        // Without keep_domain, only the rule's list.
        let own = Pseudonymizer::new(&r, "email", true, false)
            .with_kept_domains(&["corp.example".into()])
            .unwrap();
        assert!(!own.pseudonym(b"bob@gmail.com").unwrap().contains('@'));
    }

    #[test]
    fn kept_domain_list_entries_are_validated() {
        let r = ring();
        for (list, bad) in [
            (vec!["ok.example", "bad domain"], 1),
            (vec![""], 0),
            (vec!["a..b"], 0),
            (vec!["ok.example", "x", "-x.example"], 2),
            (vec!["caf\u{e9}.example"], 0),
        ] {
            let list: Vec<String> = list.into_iter().map(String::from).collect();
            let err =
                Pseudonymizer::new(&r, "e", false, true).with_kept_domains(&list).unwrap_err();
            assert_eq!(err, InvalidDomain { index: bad });
            assert!(!err.to_string().contains("bad domain"));
        }
    }

    proptest! {
        /// A canary in an unlisted domain never reaches the output.
        #[test]
        fn unlisted_domains_never_appear(
            local in "[a-z0-9._]{1,12}",
            canary in "[a-z]{3,8}-[0-9]{6,11}",
            tld in "com|cn|org|net",
        ) {
            let r = ring();
            let p = Pseudonymizer::new(&r, "email", true, true);
            let email = format!("{local}@{canary}.{tld}");
            let out = p.pseudonym(email.as_bytes()).unwrap();
            prop_assert!(!out.contains(&canary) && !out.contains('@'));
        }
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
