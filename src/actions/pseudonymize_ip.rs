//! `pseudonymize_ip`: a keyed, prefix-preserving IP pseudonym (Crypto-PAn).
//!
//! Two addresses sharing a k-bit prefix map to addresses sharing exactly a
//! k-bit prefix, so subnet statistics survive while the addresses are
//! unlinkable without the key. The cipher is [`super::cryptopan`]; its key
//! is derived from the ring's current key (purpose `cryptopan`).

use serde::Deserialize;

use super::cryptopan::CryptoPan;
use super::ip::{parse_ip, write_ip};
use super::{
    key_ring, write_plain_quoted, ActionConfig, ConfigError, Emit, JsonType, Outcome, Transform,
    TypeSet,
};
use crate::keys::KeyStore;

/// `{ action = "pseudonymize_ip", key = "ips" }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymizeIpConfig {
    /// Key ring name.
    pub key: String,
}

/// Compiled `pseudonymize_ip`: the cipher keyed from the ring's current key.
#[derive(Debug)]
pub struct PseudonymizeIp {
    /// Key id of the ring's current key.
    key_id: String,
    /// Cipher state.
    cipher: Box<CryptoPan>,
}

impl ActionConfig for PseudonymizeIpConfig {
    const NAME: &'static str = "pseudonymize_ip";
    const ACCEPTS: TypeSet = TypeSet::of(&[JsonType::String, JsonType::Null]);
    type Compiled = PseudonymizeIp;

    fn compile(&self, keys: &KeyStore) -> Result<PseudonymizeIp, ConfigError> {
        let ring = key_ring(keys, &self.key)?;
        Ok(PseudonymizeIp {
            key_id: ring.current.id.clone(),
            cipher: Box::new(CryptoPan::new(&ring.current.key.derive("cryptopan"))),
        })
    }

    fn explain(&self) -> String {
        format!(
            "IP address pseudonymized, prefix-preserving (Crypto-PAn, AES-128), key ring `{}`",
            self.key
        )
    }

    fn key_ring(&self) -> Option<&str> {
        Some(&self.key)
    }
}

impl Transform for PseudonymizeIp {
    /// Text that is not an IP address drops the field.
    #[inline]
    fn apply_str(&self, value: &str, emit: &mut Emit<'_>) -> Outcome {
        let Some(addr) = parse_ip(value) else { return Outcome::Dropped };
        emit.tmp.clear();
        write_ip(self.cipher.anonymize(addr), emit.tmp);
        write_plain_quoted(emit.out, emit.tmp.as_bytes());
        Outcome::Written
    }

    fn key_id(&self) -> Option<&str> {
        Some(&self.key_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::action::testing::apply_str;

    fn config(key: &str) -> PseudonymizeIpConfig {
        toml::from_str(&format!("key = \"{key}\"")).unwrap()
    }

    #[test]
    fn missing_ring_names_the_key_parameter() {
        let e = config("ips").compile(&KeyStore::default()).unwrap_err();
        assert_eq!(e.field, "key");
        assert!(e.problem.contains("key ring `ips` is not loaded"), "{}", e.problem);
        assert!(toml::from_str::<PseudonymizeIpConfig>("").is_err());
        assert!(toml::from_str::<PseudonymizeIpConfig>("key = \"a\"\nscope = \"b\"").is_err());
    }

    /// The oracle is the cipher itself, run directly with the derived key;
    /// prefix preservation is shown on two addresses of one /24.
    #[test]
    fn writes_the_cipher_output_and_keeps_shared_prefixes() {
        let keys = KeyStore::for_tests(&["ips".to_string()]);
        let c = config("ips");
        assert_eq!(c.key_ring(), Some("ips"));
        let action = c.compile(&keys).unwrap();
        assert_eq!(action.key_id(), Some("test"));
        let ring = keys.ring("ips").unwrap();
        let cipher = CryptoPan::new(&ring.current.key.derive("cryptopan"));
        let direct = cipher.anonymize("203.0.113.7".parse().unwrap()).to_string();
        assert_eq!(apply_str(&action, "203.0.113.7"), Some(format!("\"{direct}\"")));
        let a = apply_str(&action, "203.0.113.7").unwrap();
        let b = apply_str(&action, "203.0.113.200").unwrap();
        let prefix = |s: &str| s.rsplit_once('.').map(|(p, _)| p.to_string());
        assert_eq!(prefix(&a), prefix(&b));
        assert_ne!(a, b);
        assert_eq!(apply_str(&action, "not an ip"), None);
        assert!(c.explain().contains("key ring `ips`"));
    }
}
