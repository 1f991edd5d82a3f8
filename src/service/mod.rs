//! The Kafka service: consume raw topics, run the processor, produce
//! anonymized records and dead letters, commit only what was delivered.
//!
//! # Layout
//! - [`ServiceSettings`]: the `[service]` and `[kafka]` config sections,
//!   defined in [`crate::config`] and re-exported here.
//! - [`shutdown`]: the graceful-shutdown signal every task watches.
//! - [`runner`]: [`run`] and [`Service`], which wire everything together.
//! - [`kafka_config`]: settings → librdkafka client configurations.
//! - `consumer`: the consumer thread (fetch, dispatch, rebalance, commit).
//! - `worker`: worker threads running the processor per partition.
//! - `producer`: the shared output producer and its delivery reports.
//! - [`offsets`]: out-of-order delivery acks → contiguous commit point.
//! - [`metrics`]: every metric name, and events that log and count together.
//! - [`http`]: `/metrics`, `/healthz`, `/readyz`; `health`: the thread
//!   probing the broker and the input topics for `/readyz`.
//! - [`embedded`]: an in-process Kafka-protocol broker for demo and tests.
//!
//! # Threads
//! One consumer thread owns the group consumer and dispatches each record to
//! the worker that owns its partition through a bounded queue (when a queue
//! is full the consumer stops fetching: memory is bounded by
//! `worker_threads × queue_capacity`). Workers run [`RecordProcessor`] and
//! hand outputs to one batching producer whose own thread runs the delivery
//! reports. The HTTP server runs on the caller's tokio runtime.
//!
//! # Delivery guarantee: at least once
//! `enable.auto.offset.store=false`. A source offset is stored (and then
//! committed by librdkafka every `commit_interval_ms`) only after every
//! output it caused — its anonymized records or its dead letter — has a
//! successful delivery report, and so have all earlier offsets of its
//! partition ([`offsets::OffsetTracker`], fed per worker span of up to one
//! batch of a partition's records, [`offsets`]). Statistics hold offsets back
//! differently: the processor reports a floor per partition
//! ([`commit_states`](crate::processor::RecordProcessor::commit_states): the
//! first offset of the oldest statistics window it fed that has not left)
//! and metadata committed with the offset; a commit is stored only while no
//! statistics output is in flight, so a crash re-reads open windows whole
//! and the committed metadata always describes delivered rows; a
//! statistics output that finally fails stops the service
//! ([`ServiceError::StatsDelivery`]). On assignment the committed metadata
//! is read back and handed to the processor
//! ([`assigned`](crate::processor::RecordProcessor::assigned)).
//!
//! An output that still fails after librdkafka's retries (for
//! `message_timeout_ms`) pins its partition's commit point and stops the
//! service with [`ServiceError::Delivery`]: a failure that survives minutes
//! of retries is persistent (authorization, a missing topic, a record over
//! the broker's size limit), so restarting in a loop would not help an
//! operator, but failing loudly does. Everything delivered before it is
//! committed; on restart the partition is re-read from the failed offset.
//!
//! Rebalance: on revocation the queued records of the revoked partitions
//! are skipped (the new owner reads them again), in-flight outputs are
//! awaited for up to the shutdown grace period, the delivered offsets are
//! committed synchronously, and the partition's tracker is dropped.
//!
//! # Output records
//! Anonymized records keep the key the processor returns and carry one
//! provenance header ([`provenance`]: source topic, partition and offset,
//! pipeline, key id when one was used), so consumers can deduplicate
//! replays. Dead letters (JSON, see [`crate::dead_letter`]) carry the same
//! header and no key (the source key may be personal data).
//!
//! [`RecordProcessor`]: crate::processor::RecordProcessor

mod align;
mod consumer;
pub mod embedded;
mod health;
mod heap;
pub mod http;
pub mod kafka_config;
pub mod metrics;
pub mod offsets;
mod producer;
pub mod provenance;
pub mod runner;
pub mod shutdown;
mod state;
mod worker;

use std::net::SocketAddr;
use std::time::Duration;

use rdkafka::error::KafkaError;

pub use crate::config::errors::SettingsError;
pub use crate::config::kafka::KafkaSettings;
pub use crate::config::service::{RuntimeSettings, ServiceSettings};
pub use embedded::EmbeddedBroker;
pub use provenance::Provenance;
pub use runner::{run, Service};
pub use shutdown::Shutdown;
pub use worker::PROCESSING_SAMPLE_EVERY;

/// What one run of the service did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Source records processed.
    pub records_in: u64,
    /// Anonymized records produced.
    pub records_out: u64,
    /// Records sent to the dead-letter topic.
    pub dead_lettered: u64,
    /// Records a pipeline filtered on purpose.
    pub filtered: u64,
    /// Statistics records produced.
    pub stats_out: u64,
    /// Outputs whose delivery finally failed.
    pub delivery_errors: u64,
}

impl RunSummary {
    fn merge(&mut self, other: &RunSummary) {
        self.records_in += other.records_in;
        self.records_out += other.records_out;
        self.dead_lettered += other.dead_lettered;
        self.filtered += other.filtered;
        self.stats_out += other.stats_out;
        self.delivery_errors += other.delivery_errors;
    }
}

/// Why the service could not start or did not finish cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A setting is invalid.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The processor names no topic to consume.
    #[error("no pipeline names an input topic; nothing to consume")]
    NoInputTopics,
    /// The Prometheus recorder could not be installed.
    #[error("cannot install the metrics recorder: {0}")]
    Metrics(String),
    /// The HTTP listener could not be bound.
    #[error("cannot serve HTTP on {addr}: {source}")]
    Http {
        /// The configured address.
        addr: SocketAddr,
        /// The bind error.
        #[source]
        source: std::io::Error,
    },
    /// A Kafka client could not be created or subscribed.
    #[error("kafka: cannot {context}: {source}")]
    Kafka {
        /// What was attempted.
        context: &'static str,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// A thread could not be spawned.
    #[error("cannot spawn thread {name}: {source}")]
    Thread {
        /// The thread's name.
        name: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An output could not be delivered after librdkafka's retries.
    #[error(
        "an output of {topic}/{partition} at offset {offset} could not be delivered ({reason}); \
         offsets from there on were not committed and will be re-read on restart"
    )]
    Delivery {
        /// Source topic of the record whose output failed.
        topic: String,
        /// Source partition.
        partition: i32,
        /// Source offset: a dead letter's own record; for an anonymized
        /// output, the first record of the worker span it belongs to (the
        /// point commits stopped at).
        offset: i64,
        /// librdkafka's error (it never contains record data).
        reason: String,
    },
    /// A statistics row or partial could not be delivered after
    /// librdkafka's retries; the records of its window were not committed.
    #[error(
        "a statistics output could not be delivered ({reason}); the records of its window \
         were not committed and will be re-read on restart"
    )]
    StatsDelivery {
        /// librdkafka's error (it never contains record data).
        reason: String,
    },
    /// Shutdown did not complete in time; undelivered work was not committed.
    #[error(
        "shutdown did not finish within the grace period of {grace:?}; \
         undelivered records were not committed and will be re-read"
    )]
    GracePeriodExceeded {
        /// The configured grace period.
        grace: Duration,
    },
    /// A worker thread panicked (a processor bug); its partitions' offsets
    /// stay at the record it was processing.
    #[error("worker thread {worker} panicked")]
    WorkerPanicked {
        /// Index of the worker.
        worker: usize,
    },
    /// The consumer thread ended without reporting (it panicked).
    #[error("the consumer thread ended unexpectedly")]
    ConsumerThreadLost,
}
