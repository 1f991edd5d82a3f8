//! Key material for pseudonyms: loading, validation, key rings.
//!
//! Keys live outside the config: an environment variable `LOGVEIL_KEY_<RING>`
//! (and `LOGVEIL_KEY_<RING>_PREVIOUS` for the previous key of a rotation) or a
//! file named under `[keys.<ring>]` in `config/logveil.toml`. Key material is
//! 64 hex characters or base64 of at least 32 bytes; anything shorter is
//! refused. [`SecretKey`] never prints its bytes (`Debug`/`Display` show
//! `[redacted]`) and zeroes them on drop.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Minimum key length in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// Secret key bytes. Never printed, zeroed on drop.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    /// Parses key text: 64+ hex characters, or base64 (standard or URL-safe,
    /// padded or not) of at least 32 bytes. Surrounding whitespace is ignored.
    ///
    /// # Errors
    /// [`KeyFormatError`] when the text is neither, or decodes to fewer than 32 bytes.
    pub fn parse(text: &str) -> Result<Self, KeyFormatError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(KeyFormatError::Empty);
        }
        if t.len() % 2 == 0 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            let bytes = hex::decode(t).map_err(|_| KeyFormatError::NotHexOrBase64)?;
            return Self::from_bytes(bytes);
        }
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        for engine in engines {
            if let Ok(bytes) = engine.decode(t) {
                return Self::from_bytes(bytes);
            }
        }
        Err(KeyFormatError::NotHexOrBase64)
    }

    /// Wraps raw bytes.
    ///
    /// # Errors
    /// [`KeyFormatError::TooShort`] under 32 bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, KeyFormatError> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyFormatError::TooShort { bytes: bytes.len() });
        }
        Ok(SecretKey(bytes))
    }

    /// A fresh random 32-byte key.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        SecretKey(bytes)
    }

    /// A fixed, publicly known key for the `[[tests]]` cases inside pipeline
    /// files: derived from the ring name. Never use it for real data.
    pub fn well_known_test_key(ring: &str) -> Self {
        let digest = Sha256::digest(format!("logveil well-known test key for ring {ring}"));
        SecretKey(digest.to_vec())
    }

    /// The key as 64 hex characters (what `logveil keygen` prints).
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
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

impl Drop for SecretKey {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // Volatile write so the zeroing is not optimized away.
            // SAFETY: `b` comes from `iter_mut`, so it is a valid, aligned,
            // exclusive pointer to an initialized `u8` for this write.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
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
    /// Neither hex nor base64.
    #[error("key is neither 64 hex characters nor base64")]
    NotHexOrBase64,
    /// Fewer than 32 bytes.
    #[error("key has {bytes} bytes; at least 32 random bytes are required")]
    TooShort {
        /// Decoded length.
        bytes: usize,
    },
}

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
    /// `dual_write_until` is not an RFC 3339 time.
    #[error("{config}: keys.{ring}.previous.dual_write_until: not an RFC 3339 timestamp")]
    BadOverlap {
        /// Ring name.
        ring: String,
        /// Config file.
        config: String,
    },
    /// A key id outside the alphabet ids are written with.
    #[error(
        "{config}: keys.{field}: key ids must be 1 to 64 letters, digits, `.`, `_` or `-` \
         (they are written into pseudonyms and the provenance header)"
    )]
    BadId {
        /// `<ring>.id` or `<ring>.previous.id`.
        field: String,
        /// Config file.
        config: String,
    },
    /// Ring name not usable as an environment variable suffix.
    #[error("{config}: keys.{ring}: ring names must be letters, digits and underscores")]
    BadName {
        /// Ring name.
        ring: String,
        /// Config file.
        config: String,
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

/// Key ids are written into pseudonyms (`<id>:<digest>`) and the provenance
/// header (`…;key_id=<id>`), so they keep to an alphabet that cannot break
/// either format.
fn valid_key_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Environment variable holding ring `ring`'s current key.
pub fn env_var_for(ring: &str) -> String {
    format!("LOGVEIL_KEY_{}", ring.to_ascii_uppercase())
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
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(KeyError::BadName { ring: name.clone(), config: config_name.into() });
            }
            let spec = specs.get(name).unwrap_or(&default_spec);
            let ids = [
                (spec.id.as_deref(), "id"),
                (spec.previous.as_ref().and_then(|p| p.id.as_deref()), "previous.id"),
            ];
            for (id, field) in ids {
                if id.is_some_and(|id| !valid_key_id(id)) {
                    return Err(KeyError::BadId {
                        field: format!("{name}.{field}"),
                        config: config_name.into(),
                    });
                }
            }
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
                    let until = match &p.dual_write_until {
                        None => None,
                        Some(t) => {
                            Some(crate::actions::time::rfc3339_to_epoch_ms(t).ok_or_else(|| {
                                KeyError::BadOverlap {
                                    ring: name.clone(),
                                    config: config_name.into(),
                                }
                            })?)
                        }
                    };
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
            (text, path.display().to_string())
        }
        None => match env.var(env_name) {
            Some(v) => (v, format!("environment variable {env_name}")),
            None => {
                return Err(KeyError::Missing {
                    ring: ring.into(),
                    env: env_name.into(),
                    config: config_name.into(),
                })
            }
        },
    };
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

    const HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn parses_hex_and_base64() {
        let k = SecretKey::parse(HEX).unwrap();
        assert_eq!(k.expose().len(), 32);
        let b64 = base64::engine::general_purpose::STANDARD.encode(k.expose());
        assert_eq!(SecretKey::parse(&b64).unwrap().expose(), k.expose());
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xfbu8; 40]);
        assert_eq!(SecretKey::parse(&b64url).unwrap().expose().len(), 40);
        assert_eq!(SecretKey::parse(&format!("  {HEX}\n")).unwrap().expose(), k.expose());
    }

    #[test]
    fn refuses_short_and_garbage() {
        assert_eq!(SecretKey::parse("abcd").unwrap_err(), KeyFormatError::TooShort { bytes: 2 });
        assert_eq!(SecretKey::parse("").unwrap_err(), KeyFormatError::Empty);
        assert_eq!(SecretKey::parse("not a key!").unwrap_err(), KeyFormatError::NotHexOrBase64);
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
        assert!(matches!(SecretKey::parse(&short), Err(KeyFormatError::TooShort { bytes: 16 })));
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
        let prev_hex = "ff".repeat(32);
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
        std::fs::write(dir.path().join("k"), "deadbeef").unwrap();
        let spec: BTreeMap<String, KeyRingSpec> = toml::from_str("[ids]\nfile = \"k\"\n").unwrap();
        let err = KeyStore::load(&spec, &[], &BTreeMap::new(), dir.path(), "cfg").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("at least 32") && !msg.contains("deadbeef"), "{msg}");
    }

    #[test]
    fn generated_keys_round_trip_and_differ() {
        let a = SecretKey::generate();
        let b = SecretKey::generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(SecretKey::parse(&a.to_hex()).unwrap().expose(), a.expose());
    }
}
