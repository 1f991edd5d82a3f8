//! `[kafka]` of `config/logveil.toml` ([`KafkaSettings`]): where records
//! come from and go to (brokers, group, dead-letter topic, producer
//! batching), plus three verbatim librdkafka maps: `[kafka.client]` for both
//! clients (TLS, SASL), `[kafka.consumer]` and `[kafka.producer]` for one
//! side each. Their values are librdkafka's strings: a TOML number or
//! boolean becomes its string form, and properties logveil's delivery
//! guarantee depends on are refused ([`KafkaSettings::validate`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::errors::SettingsError;

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

impl KafkaSettings {
    /// Checks what serde cannot: non-empty names, ranges, and pass-through
    /// keys that would break the delivery guarantee.
    ///
    /// # Errors
    /// The first problem found, naming the field.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let k = self;
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
