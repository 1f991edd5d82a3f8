//! `[keys.<ring>]` of `config/logveil.toml`: where each key ring's keys come
//! from and which ids they are written with ([`KeyRingSpec`]), and the rules
//! for the names and ids in it. The key material itself never passes through
//! the config: [`crate::keys`] reads it from the file or environment variable
//! named here, and zeroes its copy.

use std::path::PathBuf;

use serde::Deserialize;

use super::errors::SettingsError;

/// Problem text of a ring name that cannot be an environment variable suffix.
pub const BAD_RING_NAME: &str = "ring names must be letters, digits and underscores";
/// Problem text of a key id outside the alphabet ids are written with.
pub const BAD_KEY_ID: &str = "key ids must be 1 to 64 letters, digits, `.`, `_` or `-` \
     (they are written into pseudonyms and the provenance header)";
/// Problem text of a `dual_write_until` that is not a timestamp.
pub const BAD_OVERLAP_END: &str = "not an RFC 3339 timestamp";

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

impl KeyRingSpec {
    /// Checks the ring's name, its key ids and the end of its rotation
    /// overlap, so a bad `[keys.<ring>]` table fails when the config is
    /// read, before any key is looked up.
    ///
    /// # Errors
    /// The first problem, naming the setting (`keys.<ring>.previous.id`).
    pub fn validate(&self, ring: &str) -> Result<(), SettingsError> {
        if !valid_ring_name(ring) {
            return Err(SettingsError::new(format!("keys.{ring}"), BAD_RING_NAME));
        }
        let previous = self.previous.as_ref();
        for (id, field) in
            [(self.id.as_deref(), "id"), (previous.and_then(|p| p.id.as_deref()), "previous.id")]
        {
            if id.is_some_and(|id| !valid_key_id(id)) {
                return Err(SettingsError::new(format!("keys.{ring}.{field}"), BAD_KEY_ID));
            }
        }
        if let Some(Err(())) = previous.and_then(PreviousKeySpec::dual_write_until_ms) {
            let field = format!("keys.{ring}.previous.dual_write_until");
            return Err(SettingsError::new(field, BAD_OVERLAP_END));
        }
        Ok(())
    }
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
    fn validation_names_the_setting() {
        let spec = |text: &str| -> BTreeMap<String, KeyRingSpec> { toml::from_str(text).unwrap() };
        for (text, field, problem) in [
            ("[\"a-b\"]\n", "keys.a-b", BAD_RING_NAME),
            ("[ids]\nid = \"a:b\"\n", "keys.ids.id", BAD_KEY_ID),
            ("[ids.previous]\nid = \"\"\n", "keys.ids.previous.id", BAD_KEY_ID),
            (
                "[ids.previous]\ndual_write_until = \"98765432\"\n",
                "keys.ids.previous.dual_write_until",
                BAD_OVERLAP_END,
            ),
        ] {
            let (ring, s) = spec(text).into_iter().next().unwrap();
            let e = s.validate(&ring).unwrap_err();
            assert_eq!((e.field.as_str(), e.problem.as_str()), (field, problem), "{text}");
        }
        let (ring, s) = spec("[ids]\nid = \"2026-11\"\n").into_iter().next().unwrap();
        s.validate(&ring).unwrap();
    }

    #[test]
    fn names_and_ids() {
        assert!(valid_ring_name("ids_2") && !valid_ring_name("") && !valid_ring_name("a-b"));
        assert!(valid_key_id("2026-11.a_b") && !valid_key_id("") && !valid_key_id("a:b"));
        assert!(!valid_key_id(&"a".repeat(65)));
        assert_eq!(env_var_for("ids"), "LOGVEIL_KEY_IDS");
    }
}
