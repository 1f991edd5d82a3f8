//! Key material for pseudonyms: loading, validation, key rings.
//!
//! Keys live outside the config: an environment variable `LOGVEIL_KEY_<RING>`
//! (and `LOGVEIL_KEY_<RING>_PREVIOUS` for the previous key of a rotation) or a
//! file named under `[keys.<ring>]` in `config/logveil.toml` (that table,
//! its names and ids are [`crate::config::keys`]; this module loads what it
//! names).
//!
//! Key text is exactly 64 hex characters (32 bytes), or base64 declared with
//! a `base64:` prefix (standard or URL-safe alphabet, padded or not, decoding
//! cleanly to at least 32 bytes). Nothing is guessed: a 64-character string
//! with one non-hex typo is an error, not base64. Keys with fewer than
//! [`MIN_DISTINCT_BYTES`] distinct byte values (all zeros, a repeated word)
//! are refused as not random. Errors name the variable or file, never the key.
//!
//! [`SecretKey`] never prints its bytes (`Debug`/`Display` show
//! `[redacted]`). Zeroed with the `zeroize` crate: the key bytes when a
//! [`SecretKey`] is dropped, the key text as read from the environment
//! variable or file (logveil's copy; the process environment keeps its own),
//! and every decode buffer, on success and on error.

//!
//! Layout: [`secret`] holds the key bytes and the rules for key text; this
//! file loads key rings ([`KeyStore::load`]) from what `[keys.<ring>]` in
//! the config names.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use zeroize::Zeroizing;

use crate::config::errors::SettingsError;
pub use crate::config::keys::{env_var_for, KeyRingSpec, PreviousKeySpec};

pub mod secret;

pub use secret::{KeyFormatError, SecretKey, BASE64_PREFIX, MIN_DISTINCT_BYTES, MIN_KEY_BYTES};

/// One loaded key with its id.
#[derive(Debug, Clone)]
pub struct LoadedKey {
    /// Public id written into pseudonyms.
    pub id: String,
    /// The secret.
    pub key: SecretKey,
}

/// A key ring: the current key, and optionally the previous one while it is dual-written.
#[derive(Debug, Clone)]
pub struct KeyRing {
    /// Ring name as used by pipelines (`key = "ids"`).
    pub name: String,
    /// Current key.
    pub current: LoadedKey,
    /// Previous key and the end of its dual-write overlap (epoch ms).
    pub previous: Option<(LoadedKey, Option<i64>)>,
}

impl KeyRing {
    /// The previous key if its dual-write overlap is still running at `now`.
    pub fn dual_write_key(&self, now: SystemTime) -> Option<&LoadedKey> {
        let (key, until) = self.previous.as_ref()?;
        let until = (*until)?;
        let now_ms = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_millis() as i64;
        (now_ms < until).then_some(key)
    }
}

/// Why a key ring could not be loaded. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No file configured and the environment variable is not set.
    #[error("key ring `{ring}`: no key found (set environment variable {env} or `file` under [keys.{ring}] in {config})")]
    Missing {
        /// Ring name.
        ring: String,
        /// Environment variable consulted.
        env: String,
        /// Config file that could have named a file.
        config: String,
    },
    /// The key file could not be read.
    #[error("key ring `{ring}`: cannot read key file {path}: {source}")]
    Unreadable {
        /// Ring name.
        ring: String,
        /// File path.
        path: String,
        /// I/O error.
        source: std::io::Error,
    },
    /// The key text is malformed or short.
    #[error("key ring `{ring}`: key from {origin} refused: {problem}")]
    Format {
        /// Ring name.
        ring: String,
        /// Where the key came from (env var name or file path; never the key).
        origin: String,
        /// What is wrong.
        problem: KeyFormatError,
    },
    /// A `[keys.<ring>]` setting that cannot work (ring name, key id,
    /// overlap end; see [`KeyRingSpec::validate`]).
    #[error("{config}: {}: {}", .invalid.field, .invalid.problem)]
    Invalid {
        /// Config file.
        config: String,
        /// The setting and its problem.
        invalid: SettingsError,
    },
}

/// Where key material is looked up: the process environment, or a fixed map in tests.
pub trait KeySource {
    /// Value of an environment variable.
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl KeySource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl KeySource for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// All loaded key rings, by name.
#[derive(Debug, Clone, Default)]
pub struct KeyStore {
    rings: BTreeMap<String, KeyRing>,
}

impl KeyStore {
    /// Loads every ring named in `specs`, plus any ring in `wanted` that has
    /// no `[keys.*]` table (those come from the environment alone).
    ///
    /// # Errors
    /// [`KeyError`] for the first ring that is missing or malformed.
    pub fn load(
        specs: &BTreeMap<String, KeyRingSpec>,
        wanted: &[String],
        env: &dyn KeySource,
        base_dir: &Path,
        config_name: &str,
    ) -> Result<Self, KeyError> {
        let mut names: Vec<&String> = specs.keys().collect();
        names.extend(wanted.iter().filter(|w| !specs.contains_key(*w)));
        let default_spec = KeyRingSpec::default();
        let mut rings = BTreeMap::new();
        for name in names {
            let spec = specs.get(name).unwrap_or(&default_spec);
            spec.validate(name)
                .map_err(|invalid| KeyError::Invalid { config: config_name.into(), invalid })?;
            let env_name = env_var_for(name);
            let current = load_one(
                name,
                spec.id.as_deref(),
                spec.file.as_deref(),
                &env_name,
                env,
                base_dir,
                config_name,
            )?;
            let previous = match &spec.previous {
                None => None,
                Some(p) => {
                    let key = load_one(
                        name,
                        p.id.as_deref(),
                        p.file.as_deref(),
                        &format!("{env_name}_PREVIOUS"),
                        env,
                        base_dir,
                        config_name,
                    )?;
                    // Checked by `validate` above.
                    let until = p.dual_write_until_ms().and_then(Result::ok);
                    Some((key, until))
                }
            };
            rings.insert(name.clone(), KeyRing { name: name.clone(), current, previous });
        }
        Ok(KeyStore { rings })
    }

    /// A store where every named ring holds its well-known test key with id
    /// `test` (for `logveil test` and unit tests).
    pub fn for_tests(rings: &[String]) -> Self {
        let rings = rings
            .iter()
            .map(|r| {
                let current =
                    LoadedKey { id: "test".into(), key: SecretKey::well_known_test_key(r) };
                (r.clone(), KeyRing { name: r.clone(), current, previous: None })
            })
            .collect();
        KeyStore { rings }
    }

    /// Adds or replaces a ring (used by the demo with ephemeral keys).
    pub fn insert(&mut self, ring: KeyRing) {
        self.rings.insert(ring.name.clone(), ring);
    }

    /// Looks up a ring.
    pub fn ring(&self, name: &str) -> Option<&KeyRing> {
        self.rings.get(name)
    }

    /// All rings.
    pub fn rings(&self) -> impl Iterator<Item = &KeyRing> {
        self.rings.values()
    }
}

fn load_one(
    ring: &str,
    id: Option<&str>,
    file: Option<&Path>,
    env_name: &str,
    env: &dyn KeySource,
    base_dir: &Path,
    config_name: &str,
) -> Result<LoadedKey, KeyError> {
    let (text, origin) = match file {
        Some(f) => {
            let path = if f.is_absolute() { f.to_path_buf() } else { base_dir.join(f) };
            let text = std::fs::read_to_string(&path).map_err(|source| KeyError::Unreadable {
                ring: ring.into(),
                path: path.display().to_string(),
                source,
            })?;
            (Zeroizing::new(text), path.display().to_string())
        }
        None => match env.var(env_name) {
            Some(v) => (Zeroizing::new(v), format!("environment variable {env_name}")),
            None => {
                return Err(KeyError::Missing {
                    ring: ring.into(),
                    env: env_name.into(),
                    config: config_name.into(),
                })
            }
        },
    };
    // `text` is zeroed when it goes out of scope, whatever the outcome.
    let key = SecretKey::parse(&text).map_err(|problem| KeyError::Format {
        ring: ring.into(),
        origin,
        problem,
    })?;
    let id = id.map(str::to_string).unwrap_or_else(|| key.fingerprint());
    Ok(LoadedKey { id, key })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keys::valid_key_id;

    const HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    /// Issue 9: a 64-character key with one non-hex typo used to be read
    /// as base64; it is now an error naming the variable, never the value.
    #[test]
    fn hex_typo_is_an_error_naming_the_variable() {
        let typo = format!("{}g{}", &HEX[..31], &HEX[32..]);
        assert_eq!(typo.len(), 64);
        assert_eq!(SecretKey::parse(&typo).unwrap_err(), KeyFormatError::HexTypo);
        let mut env = BTreeMap::new();
        env.insert("LOGVEIL_KEY_IDS".to_string(), typo.clone());
        let err = KeyStore::load(&BTreeMap::new(), &["ids".into()], &env, Path::new("."), "cfg")
            .unwrap_err()
            .to_string();
        assert!(err.contains("LOGVEIL_KEY_IDS") && err.contains("typo"), "{err}");
        assert!(!err.contains(&typo[..16]) && !err.contains(&typo[40..]), "{err}");
    }

    /// Issue 9: all-same-byte and low-variety keys are refused, in hex and
    /// base64, from the environment and from files, without echoing them.
    #[test]
    fn low_variety_keys_are_refused() {
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine as _;
        let word = format!("base64:{}", STANDARD.encode("secret".repeat(8)));
        let fifteen: String = (0..32).map(|i| format!("{:02x}", (i % 15) * 17)).collect();
        for weak in
            ["0".repeat(64), "f".repeat(64), "ab".repeat(32), "0123".repeat(16), word, fifteen]
        {
            assert_eq!(SecretKey::parse(&weak).unwrap_err(), KeyFormatError::LowVariety, "{weak}");
        }
        let sixteen: String = (0..32).map(|i| format!("{:02x}", (i % 16) * 17)).collect();
        assert!(SecretKey::parse(&sixteen).is_ok(), "16 distinct values is the minimum");
        assert!(SecretKey::from_bytes(vec![7u8; 64]).is_err());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("k"), "00".repeat(32)).unwrap();
        let spec: BTreeMap<String, KeyRingSpec> = toml::from_str("[ids]\nfile = \"k\"\n").unwrap();
        let err = KeyStore::load(&spec, &[], &BTreeMap::new(), dir.path(), "cfg").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("not a random key") && msg.contains("/k"), "{msg}");
        assert!(!msg.contains("0000"), "{msg}");
        // Random keys pass (the rule's false-refusal rate is below 1e-15).
        for _ in 0..200 {
            let k = SecretKey::generate();
            assert!(SecretKey::parse(&k.to_hex()).is_ok());
        }
    }

    #[test]
    fn debug_and_display_redact() {
        let k = SecretKey::parse(HEX).unwrap();
        assert_eq!(format!("{k:?}"), "[redacted]");
        assert_eq!(format!("{k}"), "[redacted]");
        let ring = KeyRing {
            name: "ids".into(),
            current: LoadedKey { id: "a".into(), key: k },
            previous: None,
        };
        let dbg = format!("{ring:?}");
        assert!(!dbg.contains("0011223344"), "{dbg}");
    }

    #[test]
    fn loads_from_env_with_fingerprint_id() {
        let mut env = BTreeMap::new();
        env.insert("LOGVEIL_KEY_IDS".to_string(), HEX.to_string());
        let store =
            KeyStore::load(&BTreeMap::new(), &["ids".into()], &env, Path::new("."), "cfg").unwrap();
        let ring = store.ring("ids").unwrap();
        assert_eq!(ring.current.id.len(), 8);
        assert_eq!(ring.current.id, SecretKey::parse(HEX).unwrap().fingerprint());
    }

    #[test]
    fn missing_key_names_env_var() {
        let err = KeyStore::load(
            &BTreeMap::new(),
            &["ids".into()],
            &BTreeMap::new(),
            Path::new("."),
            "config/logveil.toml",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("LOGVEIL_KEY_IDS") && msg.contains("config/logveil.toml"), "{msg}");
    }

    #[test]
    fn loads_file_and_previous_with_overlap() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cur.key"), HEX).unwrap();
        let prev_hex: String = (0..32_u8).map(|i| format!("{:02x}", 255 - i * 3)).collect();
        std::fs::write(dir.path().join("prev.key"), &prev_hex).unwrap();
        let spec: BTreeMap<String, KeyRingSpec> = toml::from_str(
            r#"
            [ids]
            id = "2026b"
            file = "cur.key"
            [ids.previous]
            id = "2026a"
            file = "prev.key"
            dual_write_until = "2999-01-01T00:00:00Z"
            "#,
        )
        .unwrap();
        let store = KeyStore::load(&spec, &[], &BTreeMap::new(), dir.path(), "cfg").unwrap();
        let ring = store.ring("ids").unwrap();
        assert_eq!(ring.current.id, "2026b");
        assert_eq!(ring.dual_write_key(SystemTime::now()).unwrap().id, "2026a");
        let past = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(4_000_000_000 * 10);
        assert!(ring.dual_write_key(past).is_none());
    }

    #[test]
    fn key_ids_that_would_break_pseudonyms_or_headers_are_refused() {
        for (toml_text, field) in [
            ("[ids]\nid = \"a:b\"\n", "keys.ids.id"),
            ("[ids]\nid = \"\"\n", "keys.ids.id"),
            ("[ids]\nid = \"k\"\n[ids.previous]\nid = \"x;key_id=y\"\n", "keys.ids.previous.id"),
        ] {
            let spec: BTreeMap<String, KeyRingSpec> = toml::from_str(toml_text).unwrap();
            let mut env = BTreeMap::new();
            env.insert("LOGVEIL_KEY_IDS".to_string(), HEX.to_string());
            let err = KeyStore::load(&spec, &[], &env, Path::new("."), "cfg").unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with(&format!("cfg: {field}: key ids must")), "{msg}");
        }
        assert!(valid_key_id("2026-11.a_b"));
    }

    #[test]
    fn short_key_file_refused_without_printing_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("k"), "base64:3q2+7w==").unwrap();
        let spec: BTreeMap<String, KeyRingSpec> = toml::from_str("[ids]\nfile = \"k\"\n").unwrap();
        let err = KeyStore::load(&spec, &[], &BTreeMap::new(), dir.path(), "cfg").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("at least 32") && !msg.contains("3q2+7w"), "{msg}");
    }
}
