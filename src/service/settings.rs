//! The Kafka and runtime part of `config/logveil.toml`, and its validation.
//!
//! Two sections, so the file reads the way an operator thinks about it:
//! - `[service]` ([`RuntimeSettings`]): how this process runs (worker
//!   threads, queue sizes, shutdown grace, the HTTP listener).
//! - `[kafka]` ([`KafkaSettings`]): where records come from and go to
//!   (brokers, group, dead-letter topic, producer batching), plus three
//!   verbatim librdkafka maps: `[kafka.client]` for both clients (TLS, SASL),
//!   `[kafka.consumer]` and `[kafka.producer]` for one side each.
//!
//! The crate-wide config loader owns the file; it holds both sections and
//! builds a [`ServiceSettings`] from them. Every type here denies unknown
//! fields so a typo fails at start, never on a message.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything [`crate::service::run`] needs besides the processor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    /// The `[service]` section: threads, queues, shutdown, HTTP.
    #[serde(default)]
    pub service: RuntimeSettings,
    /// The `[kafka]` section: brokers, group, topics, client tuning.
    #[serde(default)]
    pub kafka: KafkaSettings,
}

/// `[service]`: how the process runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSettings {
    /// Worker threads that run the pipelines; each source partition is owned
    /// by exactly one of them. Default: the number of available cores.
    #[serde(default = "default_worker_threads")]
    pub worker_threads: usize,
    /// Records queued per worker between the consumer and the worker (handed
    /// over in batches of up to 64, so rounded up to a multiple of 64). Memory
    /// is bounded by about `worker_threads × (queue_capacity + 128) × record
    /// size`: when a queue is full the consumer stops fetching until the
    /// worker catches up.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: usize,
    /// Seconds allowed, after SIGTERM/SIGINT, to finish in-flight records,
    /// flush the producer and commit. Work not delivered by then is not
    /// committed (it is re-read on the next start).
    #[serde(default = "default_shutdown_grace_secs")]
    pub shutdown_grace_secs: u64,
    /// Address of the HTTP listener for `/metrics`, `/healthz` and `/readyz`.
    /// Port 0 picks a free port (the bound address is reported at start).
    #[serde(default = "default_http_listen")]
    pub http_listen: SocketAddr,
}

/// `[kafka]`: brokers, group, topics and client settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// Bootstrap servers, comma separated (`host:port,host:port`).
    #[serde(default = "default_brokers")]
    pub brokers: String,
    /// Consumer group id; instances with the same id share the partitions.
    #[serde(default = "default_group_id")]
    pub group_id: String,
    /// Where a group without committed offsets starts: `earliest` (default:
    /// nothing produced before the first start is skipped) or `latest`.
    #[serde(default = "default_auto_offset_reset")]
    pub auto_offset_reset: OffsetReset,
    /// Topic that receives a dead letter for each record that cannot be
    /// processed.
    #[serde(default = "default_dead_letter_topic")]
    pub dead_letter_topic: String,
    /// Copy the raw record into its dead letter. Off by default: a dead letter
    /// then names the problem and the source coordinates, never the data.
    /// Only enable it for a locked-down topic used to debug parsers.
    #[serde(default)]
    pub include_raw_in_dead_letters: bool,
    /// Milliseconds between commits of delivered offsets (librdkafka
    /// `auto.commit.interval.ms`; only offsets whose outputs are delivered are
    /// ever stored, so this only bounds how much is re-read after a crash).
    #[serde(default = "default_commit_interval_ms")]
    pub commit_interval_ms: u64,
    /// Producer `linger.ms`: how long to wait to fill a batch.
    #[serde(default = "default_linger_ms")]
    pub linger_ms: u64,
    /// Producer `batch.size` in bytes: the largest batch per partition.
    #[serde(default = "default_batch_size")]
    pub batch_size: u64,
    /// Producer `compression.type`.
    #[serde(default = "default_compression")]
    pub compression: Compression,
    /// Producer `message.timeout.ms`: how long librdkafka keeps retrying an
    /// output before reporting it failed. A failed output stops the service
    /// (see the delivery section of the module docs), so this is generous.
    #[serde(default = "default_message_timeout_ms")]
    pub message_timeout_ms: u64,
    /// librdkafka properties for both clients, verbatim (TLS, SASL, ...).
    #[serde(default, deserialize_with = "librdkafka_properties")]
    pub client: BTreeMap<String, String>,
    /// librdkafka properties for the consumer only, verbatim; they win over
    /// `client` and over the defaults logveil sets.
    #[serde(default, deserialize_with = "librdkafka_properties")]
    pub consumer: BTreeMap<String, String>,
    /// librdkafka properties for the producer only, verbatim; they win over
    /// `client` and over the typed fields above.
    #[serde(default, deserialize_with = "librdkafka_properties")]
    pub producer: BTreeMap<String, String>,
}

/// Where a new consumer group starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetReset {
    /// From the oldest retained record.
    Earliest,
    /// Only records produced after the group first joined.
    Latest,
}

/// Producer compression codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// No compression.
    None,
    /// gzip: small, slow.
    Gzip,
    /// snappy.
    Snappy,
    /// lz4: the throughput default.
    Lz4,
    /// zstd: small and reasonably fast.
    Zstd,
}

impl OffsetReset {
    /// The librdkafka value.
    pub fn as_str(self) -> &'static str {
        match self {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
        }
    }
}

impl Compression {
    /// The librdkafka value.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

fn default_worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
fn default_queue_capacity() -> usize {
    1024
}
fn default_shutdown_grace_secs() -> u64 {
    30
}
fn default_http_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9898))
}
fn default_brokers() -> String {
    "localhost:9092".to_owned()
}
fn default_group_id() -> String {
    "logveil".to_owned()
}
fn default_auto_offset_reset() -> OffsetReset {
    OffsetReset::Earliest
}
fn default_dead_letter_topic() -> String {
    "logveil.dead_letter".to_owned()
}
fn default_commit_interval_ms() -> u64 {
    5000
}
fn default_linger_ms() -> u64 {
    5
}
fn default_batch_size() -> u64 {
    1_000_000
}
fn default_compression() -> Compression {
    Compression::Lz4
}
fn default_message_timeout_ms() -> u64 {
    300_000
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        RuntimeSettings {
            worker_threads: default_worker_threads(),
            queue_capacity: default_queue_capacity(),
            shutdown_grace_secs: default_shutdown_grace_secs(),
            http_listen: default_http_listen(),
        }
    }
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            brokers: default_brokers(),
            group_id: default_group_id(),
            auto_offset_reset: default_auto_offset_reset(),
            dead_letter_topic: default_dead_letter_topic(),
            include_raw_in_dead_letters: false,
            commit_interval_ms: default_commit_interval_ms(),
            linger_ms: default_linger_ms(),
            batch_size: default_batch_size(),
            compression: default_compression(),
            message_timeout_ms: default_message_timeout_ms(),
            client: BTreeMap::new(),
            consumer: BTreeMap::new(),
            producer: BTreeMap::new(),
        }
    }
}

/// A setting that cannot work, named by its path in `config/logveil.toml`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{field}`: {problem}")]
pub struct SettingsError {
    /// Dotted path of the setting, e.g. `kafka.group_id`.
    pub field: String,
    /// What is wrong with it (never a secret value).
    pub problem: String,
}

impl SettingsError {
    fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        SettingsError { field: field.into(), problem: problem.into() }
    }
}

/// librdkafka properties logveil sets itself because delivery guarantees
/// depend on them; a pass-through map may not override them. The second
/// element says what to do instead.
const RESERVED: &[(&str, &str)] = &[
    ("bootstrap.servers", "set kafka.brokers"),
    ("metadata.broker.list", "set kafka.brokers"),
    ("group.id", "set kafka.group_id"),
    ("enable.auto.offset.store", "offsets are stored only after delivery; not configurable"),
    ("enable.auto.commit", "stored offsets are committed every kafka.commit_interval_ms"),
    ("auto.commit.interval.ms", "set kafka.commit_interval_ms"),
    ("isolation.level", "not configurable"),
    ("transactional.id", "transactions are not supported yet"),
];

impl ServiceSettings {
    /// The grace period for shutdown.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.service.shutdown_grace_secs)
    }

    /// Checks what serde cannot: ranges, non-empty names, and pass-through
    /// keys that would break the delivery guarantee.
    ///
    /// # Errors
    /// The first problem found, naming the field.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let s = &self.service;
        if s.worker_threads == 0 || s.worker_threads > 1024 {
            return Err(SettingsError::new("service.worker_threads", "must be 1..=1024"));
        }
        if s.queue_capacity == 0 || s.queue_capacity > 1_000_000 {
            return Err(SettingsError::new("service.queue_capacity", "must be 1..=1000000"));
        }
        if s.shutdown_grace_secs == 0 || s.shutdown_grace_secs > 3600 {
            return Err(SettingsError::new("service.shutdown_grace_secs", "must be 1..=3600"));
        }
        let k = &self.kafka;
        if k.brokers.split(',').all(|b| b.trim().is_empty()) {
            return Err(SettingsError::new("kafka.brokers", "must name at least one broker"));
        }
        if k.group_id.trim().is_empty() {
            return Err(SettingsError::new("kafka.group_id", "must not be empty"));
        }
        check_topic_name("kafka.dead_letter_topic", &k.dead_letter_topic)?;
        if k.commit_interval_ms == 0 || k.commit_interval_ms > 3_600_000 {
            return Err(SettingsError::new("kafka.commit_interval_ms", "must be 1..=3600000"));
        }
        if k.linger_ms > 900_000 {
            return Err(SettingsError::new("kafka.linger_ms", "must be at most 900000"));
        }
        if k.batch_size == 0 || k.batch_size > 2_147_483_647 {
            return Err(SettingsError::new("kafka.batch_size", "must be 1..=2147483647"));
        }
        if k.message_timeout_ms == 0 || k.message_timeout_ms > 2_147_483_647 {
            return Err(SettingsError::new("kafka.message_timeout_ms", "must be 1..=2147483647"));
        }
        for (section, map) in [
            ("kafka.client", &k.client),
            ("kafka.consumer", &k.consumer),
            ("kafka.producer", &k.producer),
        ] {
            for key in map.keys() {
                if let Some((_, instead)) = RESERVED.iter().find(|(r, _)| r == key) {
                    return Err(SettingsError::new(
                        format!("{section}.\"{key}\""),
                        format!("reserved by logveil: {instead}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A librdkafka property map: every value becomes its string form, so a
/// TOML integer, float or boolean (`session.timeout.ms = 6000`) works like
/// its quoted spelling. librdkafka itself only takes strings.
fn librdkafka_properties<'de, D>(de: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    /// One property value as librdkafka's string.
    struct Property(String);

    impl<'de> Deserialize<'de> for Property {
        fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = Property;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a string, number or boolean")
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Property, E> {
                    Ok(Property(v.to_owned()))
                }
                fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Property, E> {
                    Ok(Property(v))
                }
                fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Property, E> {
                    Ok(Property(v.to_string()))
                }
                fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Property, E> {
                    Ok(Property(v.to_string()))
                }
                fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Property, E> {
                    Ok(Property(v.to_string()))
                }
                fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Property, E> {
                    Ok(Property(v.to_string()))
                }
            }
            de.deserialize_any(V)
        }
    }

    let map = BTreeMap::<String, Property>::deserialize(de)?;
    Ok(map.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// Kafka's own rule for topic names.
fn check_topic_name(field: &str, name: &str) -> Result<(), SettingsError> {
    let ok_chars =
        name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if name.is_empty() || name.len() > 249 || !ok_chars || name == "." || name == ".." {
        return Err(SettingsError::new(
            field,
            "must be 1-249 characters of ASCII letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_tuned_for_throughput() {
        let s: ServiceSettings = toml::from_str("").unwrap();
        s.validate().unwrap();
        assert_eq!(s.kafka.dead_letter_topic, "logveil.dead_letter");
        assert_eq!(s.kafka.compression, Compression::Lz4);
        assert_eq!(s.kafka.linger_ms, 5);
        assert!(!s.kafka.include_raw_in_dead_letters);
        assert_eq!(s.service.http_listen.to_string(), "127.0.0.1:9898");
        assert_eq!(s.shutdown_grace(), Duration::from_secs(30));
        assert!(s.service.worker_threads >= 1);
    }

    #[test]
    fn parses_a_full_config() {
        let s: ServiceSettings = toml::from_str(
            r#"
            [service]
            worker_threads = 4
            queue_capacity = 64
            shutdown_grace_secs = 10
            http_listen = "0.0.0.0:9000"

            [kafka]
            brokers = "k1:9092,k2:9092"
            group_id = "anon"
            auto_offset_reset = "latest"
            dead_letter_topic = "dlq"
            compression = "zstd"

            [kafka.client]
            "security.protocol" = "SASL_SSL"

            [kafka.consumer]
            "session.timeout.ms" = "6000"
            "#,
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.service.worker_threads, 4);
        assert_eq!(s.kafka.auto_offset_reset, OffsetReset::Latest);
        assert_eq!(s.kafka.client["security.protocol"], "SASL_SSL");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = toml::from_str::<ServiceSettings>("[kafka]\nbrokerz = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("brokerz"), "{err}");
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = ServiceSettings::default();
        s.kafka.consumer.insert("enable.auto.offset.store".into(), "true".into());
        let e = s.validate().unwrap_err();
        assert_eq!(e.field, "kafka.consumer.\"enable.auto.offset.store\"");

        let mut s = ServiceSettings::default();
        s.kafka.dead_letter_topic = "bad topic".into();
        assert_eq!(s.validate().unwrap_err().field, "kafka.dead_letter_topic");

        let mut s = ServiceSettings::default();
        s.service.worker_threads = 0;
        assert_eq!(s.validate().unwrap_err().field, "service.worker_threads");

        let mut s = ServiceSettings::default();
        s.kafka.group_id = " ".into();
        assert_eq!(s.validate().unwrap_err().field, "kafka.group_id");
    }
}
