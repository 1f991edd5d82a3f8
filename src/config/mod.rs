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
mod tests {
    use super::*;

    #[test]
    fn unknown_setting_names_it() {
        let err = Config::from_text(
            "pipelines_dr = \"x\"\n",
            Path::new("c.toml"),
            Path::new("."),
            vec![],
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("c.toml:") && err.contains("pipelines_dr"), "{err}");
    }

    #[test]
    fn env_override_applies_and_is_reported() {
        let c = Config::from_text(
            "pipelines_dir = \"a\"\n",
            Path::new("c.toml"),
            Path::new("/etc/logveil"),
            vec![("LOGVEIL_PIPELINES_DIR".to_string(), "/srv/p".to_string())],
        )
        .unwrap();
        assert_eq!(c.pipelines_dir(), PathBuf::from("/srv/p"));
        assert_eq!(c.overrides, vec!["LOGVEIL_PIPELINES_DIR".to_string()]);
        let c = Config::from_text(
            "pipelines_dir = \"p\"\n",
            Path::new("c.toml"),
            Path::new("/etc/l"),
            vec![],
        )
        .unwrap();
        assert_eq!(c.pipelines_dir(), PathBuf::from("/etc/l/p"));
    }

    /// Issue 9: serde's messages quote values; what reaches the user names
    /// the setting and the kind of problem only.
    #[test]
    fn errors_never_echo_values() {
        let canary = "98765432";
        for (text, env, field, problem) in [
            (
                "",
                vec![("LOGVEIL_SERVICE__HTTP_LISTEN", canary)],
                "service.http_listen",
                "invalid type: integer, expected socket address",
            ),
            (
                "[service]\nhttp_listen = \"98765432\"\n",
                vec![],
                "service.http_listen",
                "invalid socket address syntax",
            ),
            (
                "",
                vec![("LOGVEIL_KAFKA__AUTO_OFFSET_RESET", "x98765432")],
                "kafka.auto_offset_reset",
                "unknown variant, expected `earliest` or `latest`",
            ),
            (
                "[kafka]\nbrokers = 98765432\n",
                vec![],
                "kafka.brokers",
                "invalid type: integer, expected a string",
            ),
            (
                "[kafka]\nbrokers = [\"98765432\"]\n",
                vec![],
                "kafka.brokers",
                "invalid type: sequence, expected a string",
            ),
            (
                "[kafka.client]\n\"sasl.password\" = [98765432]\n",
                vec![],
                "kafka.client.sasl.password",
                "invalid type: sequence, expected a string, number or boolean",
            ),
            (
                "[service]\nworker_threads = \"98765432\"\n",
                vec![],
                "service.worker_threads",
                "invalid type: string, expected usize",
            ),
            (
                "[service]\nworker_threads = -98765432\n",
                vec![],
                "service.worker_threads",
                "invalid value: integer, expected usize",
            ),
        ] {
            let env: Vec<(String, String)> =
                env.into_iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
            let err = Config::from_text(text, Path::new("c.toml"), Path::new("."), env.clone())
                .unwrap_err()
                .to_string();
            assert!(!err.contains(canary), "{err}");
            assert!(err.starts_with(&format!("c.toml: {field}")), "{err}");
            assert!(err.ends_with(problem), "{err}");
            if !env.is_empty() {
                assert!(err.contains(&env[0].0), "names the variable: {err}");
            }
        }
    }

    /// Issue 9: librdkafka properties are strings whatever they look like,
    /// from TOML or from the environment.
    #[test]
    fn librdkafka_properties_take_any_scalar_as_its_string() {
        let c = Config::from_text(
            "[kafka.consumer]\n\"session.timeout.ms\" = 6000\n\"check.crcs\" = true\n\
             [kafka.producer]\n\"batch.size\" = \"1000\"\n\"queue.buffering.backpressure.threshold\" = 1.5\n",
            Path::new("c.toml"),
            Path::new("."),
            vec![
                ("LOGVEIL_KAFKA__CLIENT__SASL_PASSWORD".to_string(), "98765432".to_string()),
                ("LOGVEIL_KAFKA__CONSUMER__FETCH_WAIT_MAX_MS".to_string(), "100".to_string()),
            ],
        )
        .unwrap();
        let k = &c.file.kafka;
        assert_eq!(k.consumer["session.timeout.ms"], "6000");
        assert_eq!(k.consumer["check.crcs"], "true");
        assert_eq!(k.consumer["fetch.wait.max.ms"], "100");
        assert_eq!(k.producer["batch.size"], "1000");
        assert_eq!(k.producer["queue.buffering.backpressure.threshold"], "1.5");
        assert_eq!(k.client["sasl.password"], "98765432");
    }

    /// TOML syntax errors name the line, never the text around it.
    #[test]
    fn syntax_errors_never_echo_values() {
        for text in [
            "a = 98765432x\n",
            "a = \"98765432\n",
            "a = 98765432.\n",
            "a = 1_98765432_\n",
            "a = [98765432,\n",
            "a = 2024-13-98765432\n",
            "a = '98765432\n",
            "a = \"\\q98765432\"\n",
            "[kafka.client]\n\"sasl.password\" = 98765432 98765432\n",
            "a = { b = 98765432\n",
        ] {
            let err = Config::from_text(text, Path::new("c.toml"), Path::new("."), vec![])
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("c.toml: line "), "{err}");
            assert!(!err.contains("98765432"), "{text:?} gave {err}");
        }
    }

    /// Every section refuses unknown keys, naming the path; `[stats]` also
    /// refuses merged-only settings under `mode = "direct"`.
    #[test]
    fn unknown_keys_are_refused_in_every_section() {
        for (text, field) in [
            ("[service]\nworkers = 2\n", "c.toml: service.workers: unknown field `workers`"),
            ("[kafka]\nbrokerz = \"x\"\n", "c.toml: kafka.brokerz: unknown field `brokerz`"),
            ("[keys.ids]\nkey = \"x\"\n", "c.toml: keys.ids.key: unknown field `key`"),
            (
                "[stats]\nmode = \"merged\"\ntopic = \"x\"\n",
                "c.toml: stats.topic: unknown field `topic`",
            ),
            (
                "[stats]\nmode = \"direct\"\npartials_topic = \"x\"\n",
                "c.toml: stats: `partials_topic` and `merge_delay_ms` only apply",
            ),
        ] {
            let err = Config::from_text(text, Path::new("c.toml"), Path::new("."), vec![])
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(field), "{text:?} gave {err}");
        }
    }

    #[test]
    fn load_or_defaults_prefers_the_named_file_then_the_default_path() {
        let err = Config::load_or_defaults(Some(Path::new("no/such.toml")), vec![])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("no/such.toml: (file): cannot read"), "{err}");
        let c = Config::load_or_defaults(None, vec![]).unwrap();
        let want = if Path::new(DEFAULT_CONFIG).exists() {
            PathBuf::from(DEFAULT_CONFIG)
        } else {
            PathBuf::from("(built-in defaults)")
        };
        assert_eq!(c.path, want);
    }

    /// Settings that parse but cannot work name their path as the field;
    /// `[keys.*]` tables are checked here, before any key is looked up.
    #[test]
    fn unworkable_settings_name_their_path() {
        for (text, want) in [
            ("[kafka]\ngroup_id = \" \"\n", "c.toml: kafka.group_id: must not be empty"),
            ("[service]\nworker_threads = 0\n", "c.toml: service.worker_threads: must be 1..=1024"),
            (
                "[kafka.consumer]\n\"group.id\" = \"98765432\"\n",
                "c.toml: kafka.consumer.\"group.id\": reserved by logveil: set kafka.group_id",
            ),
            ("[keys.ids]\nid = \"98765432:x\"\n", "c.toml: keys.ids.id: key ids must be"),
            (
                "[keys.ids.previous]\ndual_write_until = \"98765432\"\n",
                "c.toml: keys.ids.previous.dual_write_until: not an RFC 3339 timestamp",
            ),
        ] {
            let err = Config::from_text(text, Path::new("c.toml"), Path::new("."), vec![])
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(want), "{text:?} gave {err}");
            assert!(!err.contains("98765432"), "{err}");
        }
    }

    #[test]
    fn syntax_error_names_line() {
        let err =
            Config::from_text("a = 1\nb = = 2\n", Path::new("c.toml"), Path::new("."), vec![])
                .unwrap_err()
                .to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
