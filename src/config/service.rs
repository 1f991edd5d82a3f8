//! `[service]` of `config/logveil.toml` ([`RuntimeSettings`]: how this
//! process runs — worker threads, queue sizes, shutdown grace, the HTTP
//! listener), and [`ServiceSettings`], the `[service]` and `[kafka]`
//! sections together: everything [`crate::service::run`] needs besides the
//! processor. Every type denies unknown fields so a typo fails at start,
//! never on a message.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::errors::SettingsError;
use super::kafka::KafkaSettings;

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
    /// Watermark alignment for statistics: an input partition whose event
    /// time (the statistics' `time_field`) runs more than this many seconds
    /// ahead of the slowest partition still delivering is paused until that
    /// one comes within half of it. Bounds the statistics windows held open
    /// while a backlog is read from many partitions. 0 turns it off; live
    /// traffic (partitions within seconds of each other) never pauses.
    #[serde(default = "default_max_partition_lead_secs")]
    pub max_partition_lead_secs: u64,
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
fn default_max_partition_lead_secs() -> u64 {
    300
}
fn default_http_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9898))
}
impl Default for RuntimeSettings {
    fn default() -> Self {
        RuntimeSettings {
            worker_threads: default_worker_threads(),
            queue_capacity: default_queue_capacity(),
            shutdown_grace_secs: default_shutdown_grace_secs(),
            http_listen: default_http_listen(),
            max_partition_lead_secs: default_max_partition_lead_secs(),
        }
    }
}

impl RuntimeSettings {
    /// Checks the ranges serde cannot.
    ///
    /// # Errors
    /// The first problem found, naming the field.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let s = self;
        if s.worker_threads == 0 || s.worker_threads > 1024 {
            return Err(SettingsError::new("service.worker_threads", "must be 1..=1024"));
        }
        if s.queue_capacity == 0 || s.queue_capacity > 1_000_000 {
            return Err(SettingsError::new("service.queue_capacity", "must be 1..=1000000"));
        }
        if s.shutdown_grace_secs == 0 || s.shutdown_grace_secs > 3600 {
            return Err(SettingsError::new("service.shutdown_grace_secs", "must be 1..=3600"));
        }
        if s.max_partition_lead_secs > 31_536_000 {
            return Err(SettingsError::new(
                "service.max_partition_lead_secs",
                "must be 0..=31536000 (0 turns alignment off)",
            ));
        }
        Ok(())
    }
}

impl ServiceSettings {
    /// The grace period for shutdown.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.service.shutdown_grace_secs)
    }

    /// The watermark-alignment lead in milliseconds, `None` when off.
    pub fn max_partition_lead_ms(&self) -> Option<i64> {
        let secs = self.service.max_partition_lead_secs;
        (secs > 0).then(|| i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000))
    }

    /// Checks both sections ([`RuntimeSettings::validate`],
    /// [`KafkaSettings::validate`]).
    ///
    /// # Errors
    /// The first problem found, naming the field.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.service.validate()?;
        self.kafka.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::kafka::{Compression, OffsetReset};

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
        assert_eq!(s.max_partition_lead_ms(), Some(300_000));
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
