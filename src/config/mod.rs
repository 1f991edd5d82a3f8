//! `config/logveil.toml`, the whole schema, and its `LOGVEIL_*` environment
//! overlay. One file per section:
//!
//! ```toml
//! pipelines_dir = "../pipelines"   # relative to this file's folder   (here)
//! [keys.ids]                       # key rings: where keys come from  (keys.rs)
//! id = "2026-11"
//! file = "/run/secrets/logveil/ids.key"
//! [service]                        # threads, queues, grace, HTTP     (service.rs)
//! [kafka]                          # brokers, group, dead letters,    (kafka.rs)
//! [kafka.client]                   #   librdkafka pass-through maps
//! [stats]                          # direct or merged statistics      (stats.rs)
//! ```
//! [`env`](mod@env) applies the overlay; [`errors`] turns parser messages into
//! error text without values.
//!
//! This module is a leaf: it imports only primitives ([`crate::time`]), so
//! the service, the key loader and the statistics read its types and it
//! reads none of theirs. Loading is two-phase like pipelines: [`Config`]
//! parses and validates the file (with the overlay applied); the command
//! layer then loads the keys and compiles the pipelines it names
//! (`crate::cmd::load`, which needs the engine).
//!
//! Errors name the file, the setting and the kind of problem, never a value:
//! serde's messages quote the offending value (`invalid type: integer
//! `98765432``), so they are reduced to their kind ([`errors::problem_kind`])
//! and the setting's path comes from `serde_path_to_error`.
//!
//! # Why not `figment`
//! `figment` layers TOML and environment providers, but it cannot keep three
//! of the guarantees above. (1) Its environment provider parses every value
//! (`1.50` becomes the float `1.5`, `"pw"` loses its quotes), while
//! librdkafka values must be taken verbatim as strings — a password is
//! never parsed. (2) It splits key paths on `.`, so a librdkafka property
//! such as `security.protocol` cannot be addressed from the environment
//! (`LOGVEIL_KAFKA__CLIENT__SECURITY_PROTOCOL` would nest
//! `security`→`protocol`). (3) Its errors carry the offending value
//! (`Actual::Str`) and its TOML provider reports the `toml` crate's message,
//! which quotes the source line. Working around all three would leave the
//! overlay written by hand anyway, plus a dependency; [`env`](mod@env) is about 100
//! lines without its tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod env;
pub mod errors;
pub mod kafka;
pub mod keys;
pub mod service;
pub mod stats;

use errors::{problem_kind, toml_error_field};
use kafka::KafkaSettings;
use keys::KeyRingSpec;
use service::{RuntimeSettings, ServiceSettings};
use stats::StatsMode;

/// Default config path.
pub const DEFAULT_CONFIG: &str = "config/logveil.toml";

/// The parsed config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Folder of pipeline files, relative to the config file's folder.
    #[serde(default = "default_pipelines_dir")]
    pub pipelines_dir: PathBuf,
    /// Key rings by name (`[keys.ids]`).
    #[serde(default)]
    pub keys: BTreeMap<String, KeyRingSpec>,
    /// `[service]`: threads, queues, shutdown, HTTP.
    #[serde(default)]
    pub service: RuntimeSettings,
    /// `[kafka]`: brokers, group, dead-letter topic, client settings.
    #[serde(default)]
    pub kafka: KafkaSettings,
    /// `[stats]`: `mode = "direct"` (default) or `mode = "merged"` with a `partials_topic`.
    #[serde(default)]
    pub stats: StatsMode,
}

fn default_pipelines_dir() -> PathBuf {
    PathBuf::from("../pipelines")
}

/// A config problem: file, setting, problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file itself.
    #[error("{file}: {field}: {problem}")]
    Invalid {
        /// Config file.
        file: String,
        /// Setting (or `line N`).
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// An environment override.
    #[error(transparent)]
    Env(#[from] env::EnvOverrideError),
}

/// A loaded config: parsed settings plus where they came from.
#[derive(Debug, Clone)]
pub struct Config {
    /// The settings.
    pub file: ConfigFile,
    /// Path of the config file (or `(built-in defaults)`).
    pub path: PathBuf,
    /// Folder relative paths resolve against.
    pub base_dir: PathBuf,
    /// Names of environment overrides applied (never their values).
    pub overrides: Vec<String>,
}

impl Config {
    /// Reads `path`, applies `LOGVEIL_*` overrides from `env_vars`, parses.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, setting and problem.
    pub fn load(
        path: &Path,
        env_vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
            file: path.display().to_string(),
            field: "(file)".into(),
            problem: format!("cannot read: {e}"),
        })?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::from_text(&text, path, &base_dir, env_vars)
    }

    /// Parses config text; `path` is used in errors, `base_dir` for relative paths.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, setting and problem.
    pub fn from_text(
        text: &str,
        path: &Path,
        base_dir: &Path,
        env_vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let invalid = |field: String, problem: String| ConfigError::Invalid {
            file: path.display().to_string(),
            field,
            problem,
        };
        let mut doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            invalid(toml_error_field(text, &e), e.message().to_string())
        })?;
        let overrides = env::apply_overrides(&mut doc, env_vars)?;
        let file: ConfigFile =
            serde_path_to_error::deserialize(toml::Value::Table(doc)).map_err(|e| {
                let path = e.path().to_string();
                let mut field = if path == "." { "(settings)".to_string() } else { path };
                if !overrides.is_empty() {
                    field.push_str(&format!(" (after overrides from {})", overrides.join(", ")));
                }
                invalid(field, problem_kind(e.inner().message()))
            })?;
        let settings = ServiceSettings { service: file.service.clone(), kafka: file.kafka.clone() };
        settings.validate().map_err(|e| invalid(e.field, e.problem))?;
        for (ring, spec) in &file.keys {
            spec.validate(ring).map_err(|e| invalid(e.field, e.problem))?;
        }
        Ok(Config { file, path: path.to_path_buf(), base_dir: base_dir.to_path_buf(), overrides })
    }

    /// For the commands that also work without a config file (`process`,
    /// `demo`): `path` when one is given, else [`DEFAULT_CONFIG`] when it
    /// exists, else [`Config::defaults`].
    ///
    /// # Errors
    /// [`ConfigError`] for a file that exists but cannot be read or is invalid.
    pub fn load_or_defaults(
        path: Option<&Path>,
        env_vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        match path {
            Some(p) => Self::load(p, env_vars),
            None if Path::new(DEFAULT_CONFIG).exists() => {
                Self::load(Path::new(DEFAULT_CONFIG), env_vars)
            }
            None => Ok(Self::defaults()),
        }
    }

    /// Built-in defaults (no file): pipelines from `./pipelines`.
    pub fn defaults() -> Self {
        let file = ConfigFile {
            pipelines_dir: PathBuf::from("pipelines"),
            keys: BTreeMap::new(),
            service: RuntimeSettings::default(),
            kafka: KafkaSettings::default(),
            stats: StatsMode::default(),
        };
        Config {
            file,
            path: PathBuf::from("(built-in defaults)"),
            base_dir: PathBuf::from("."),
            overrides: vec![],
        }
    }

    /// The pipelines folder, resolved.
    pub fn pipelines_dir(&self) -> PathBuf {
        let d = &self.file.pipelines_dir;
        if d.is_absolute() {
            d.clone()
        } else {
            self.base_dir.join(d)
        }
    }

    /// The Kafka service settings.
    pub fn service_settings(&self) -> ServiceSettings {
        ServiceSettings { service: self.file.service.clone(), kafka: self.file.kafka.clone() }
    }
}

#[cfg(test)]
mod tests;
