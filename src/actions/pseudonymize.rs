//! `pseudonymize`: keyed HMAC-SHA256 pseudonyms.
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

mod mac;
mod mail_domains;

use serde::Deserialize;

#[cfg(test)]
use self::mac::base64url_16;
use self::mac::ScopedMac;
pub use self::mac::PSEUDONYM_BYTES;
pub use self::mail_domains::PUBLIC_MAIL_DOMAINS;
use super::{
    key_ring, ActionConfig, ConfigError, Emit, JsonType, Number, Outcome, Transform, TypeSet,
};
use crate::keys::{KeyRing, KeyStore};
use crate::time::now_ms;

/// `{ action = "pseudonymize", key = "ids", scope = "user" }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymizeConfig {
    /// Key ring name.
    pub key: String,
    /// Domain separator: the same value in different scopes gives unlinkable pseudonyms.
    pub scope: String,
    /// Lower-case and trim the value before hashing (emails, usernames).
    #[serde(default)]
    pub normalize: bool,
    /// For email addresses: pseudonymize the local part and keep `@domain`
    /// when the domain is a large public mail provider (the shipped list)
    /// or in `keep_domains`; other addresses are pseudonymized whole.
    #[serde(default)]
    pub keep_domain: bool,
    /// Domains kept after a pseudonymized local part (exact match); a
    /// non-empty list turns domain keeping on for these domains alone
    /// when `keep_domain` is false.
    #[serde(default)]
    pub keep_domains: Vec<String>,
}

/// Compiled `pseudonymize` (boxed: the MAC states are large).
#[derive(Debug)]
pub struct Pseudonymize(pub Box<Pseudonymizer>);

impl ActionConfig for PseudonymizeConfig {
    const NAME: &'static str = "pseudonymize";
    const ACCEPTS: TypeSet = TypeSet::of(&[JsonType::String, JsonType::Number, JsonType::Null]);
    type Compiled = Pseudonymize;

    fn compile(&self, keys: &KeyStore) -> Result<Pseudonymize, ConfigError> {
        if self.scope.is_empty() {
            return Err(ConfigError::new("scope", "must not be empty"));
        }
        let ring = key_ring(keys, &self.key)?;
        let p = Pseudonymizer::new(ring, &self.scope, self.normalize, self.keep_domain)
            .with_kept_domains(&self.keep_domains)
            .map_err(|e| ConfigError::new("keep_domains", e.to_string()))?;
        Ok(Pseudonymize(Box::new(p)))
    }

    fn explain(&self) -> String {
        let mut s = format!(
            "pseudonymized (HMAC-SHA256, 128 bits), key ring `{}`, scope `{}`",
            self.key, self.scope
        );
        if self.normalize {
            s.push_str(", trimmed and lower-cased first");
        }
        let listed = self.keep_domains.join(", ");
        let otherwise = "otherwise the whole address pseudonymized";
        match (self.keep_domain, self.keep_domains.is_empty()) {
            (true, true) => s.push_str(&format!(
                ", email domain kept for large public mail providers, {otherwise}"
            )),
            (true, false) => s.push_str(&format!(
                ", email domain kept for large public mail providers and {listed}, {otherwise}"
            )),
            (false, false) => s.push_str(&format!(", email domain kept for {listed}, {otherwise}")),
            (false, true) => {}
        }
        s
    }

    fn key_ring(&self) -> Option<&str> {
        Some(&self.key)
    }
}

impl Pseudonymize {
    /// Writes the pseudonym of `value`, and `<field>_prev` with the previous
    /// key while a rotation overlap lasts (the clock is read only for a ring
    /// in an overlap, once per record).
    #[inline]
    fn apply_bytes(&self, value: &[u8], emit: &mut Emit<'_>) -> Outcome {
        let p = &self.0;
        if p.write_json(value, false, emit.tmp, emit.out) == PseudonymOutcome::Invalid {
            return Outcome::Dropped;
        }
        if p.has_overlap() && p.dual_write_active(*emit.now_ms.get_or_insert_with(now_ms)) {
            let mark = emit.out.len();
            emit.out.push(b',');
            emit.out.extend_from_slice(emit.prev_key);
            if p.write_json(value, true, emit.tmp, emit.out) == PseudonymOutcome::Invalid {
                emit.out.truncate(mark);
            }
        }
        Outcome::Written
    }
}

impl Transform for Pseudonymize {
    #[inline]
    fn apply_str(&self, value: &str, emit: &mut Emit<'_>) -> Outcome {
        self.apply_bytes(value.as_bytes(), emit)
    }

    /// A number is pseudonymized as its decimal text (serde_json's).
    #[inline]
    fn apply_number(&self, value: Number<'_>, emit: &mut Emit<'_>) -> Outcome {
        match value {
            Number::Int(_, text) | Number::BigInt(text) => self.apply_bytes(text.as_bytes(), emit),
            Number::Float(v) => self.apply_bytes(ryu::Buffer::new().format(v).as_bytes(), emit),
        }
    }

    fn key_id(&self) -> Option<&str> {
        Some(self.0.key_id())
    }
}

/// A `keep_domains` entry that is not a plain DNS name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "entry {index} is not a domain name (letters, digits, `-` and `.`, at most 253 characters)"
)]
pub struct InvalidDomain {
    /// Position of the entry in the list (0-based).
    pub index: usize,
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
mod tests;
