//! `[keys.<ring>]` of `config/logveil.toml`: where each key ring's keys come
//! from and which ids they are written with ([`KeyRingSpec`]), and the rules
//! for the names and ids in it. The key material itself never passes through
//! the config: [`crate::keys`] reads it from the file or environment variable
//! named here, and zeroes its copy.

use std::path::PathBuf;

use serde::Deserialize;

/// `[keys.<ring>]` in `config/logveil.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRingSpec {
    /// Key id written into pseudonyms (`<id>:<digest>`); default: the key's fingerprint.
    #[serde(default)]
    pub id: Option<String>,
    /// File holding the current key; default: environment `LOGVEIL_KEY_<RING>`.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// The key before the last rotation, dual-written during an overlap.
    #[serde(default)]
    pub previous: Option<PreviousKeySpec>,
}

/// `[keys.<ring>.previous]`: the key being rotated out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousKeySpec {
    /// Key id of the previous key; default: its fingerprint.
    #[serde(default)]
    pub id: Option<String>,
    /// File holding the previous key; default: environment `LOGVEIL_KEY_<RING>_PREVIOUS`.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Until when (RFC 3339) pseudonym fields are also written with this key
    /// as `<field>_prev`, so analysts can join across the rotation. Absent: no dual write.
    #[serde(default)]
    pub dual_write_until: Option<String>,
}

impl PreviousKeySpec {
    /// `dual_write_until` in epoch milliseconds: `None` when absent,
    /// `Some(Err(()))` when it is not an RFC 3339 timestamp.
    pub fn dual_write_until_ms(&self) -> Option<Result<i64, ()>> {
        let t = self.dual_write_until.as_deref()?;
        Some(crate::time::rfc3339_to_epoch_ms(t).ok_or(()))
    }
}

/// Ring names become environment variable suffixes (`LOGVEIL_KEY_<RING>`),
/// so they are letters, digits and underscores.
pub fn valid_ring_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Key ids are written into pseudonyms (`<id>:<digest>`) and the provenance
/// header (`…;key_id=<id>`), so they keep to an alphabet that cannot break
/// either format.
pub fn valid_key_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Environment variable holding ring `ring`'s current key.
pub fn env_var_for(ring: &str) -> String {
    format!("LOGVEIL_KEY_{}", ring.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn parses_a_ring_with_a_rotation_and_refuses_unknown_keys() {
        let specs: BTreeMap<String, KeyRingSpec> = toml::from_str(
            "[ids]\nid = \"2026-11\"\nfile = \"k\"\n[ids.previous]\n\
             dual_write_until = \"2026-12-01T00:00:00Z\"\n",
        )
        .unwrap();
        let prev = specs["ids"].previous.as_ref().unwrap();
        assert_eq!(prev.dual_write_until_ms(), Some(Ok(1_796_083_200_000)));
        assert!(toml::from_str::<BTreeMap<String, KeyRingSpec>>("[ids]\nkey = \"x\"\n").is_err());
        let bad =
            PreviousKeySpec { dual_write_until: Some("tomorrow".into()), ..Default::default() };
        assert_eq!(bad.dual_write_until_ms(), Some(Err(())));
    }

    #[test]
    fn names_and_ids() {
        assert!(valid_ring_name("ids_2") && !valid_ring_name("") && !valid_ring_name("a-b"));
        assert!(valid_key_id("2026-11.a_b") && !valid_key_id("") && !valid_key_id("a:b"));
        assert!(!valid_key_id(&"a".repeat(65)));
        assert_eq!(env_var_for("ids"), "LOGVEIL_KEY_IDS");
    }
}
