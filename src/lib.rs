//! logveil: desensitize logs that carry personal information, on Kafka.
//!
//! # Layout
//! - [`pipeline`]: pipeline files → compiled [`pipeline::Pipeline`]s; the
//!   per-record hot path; routing by topic.
//! - [`scan`]: the validating one-pass JSON scanner under the record path
//!   and the statistics extraction.
//! - [`actions`]: the field actions (`truncate_ip`, `pseudonymize`, ...), pure.
//! - [`classify`]: the identifier classifier shared by URL handling and
//!   statistics path templates.
//! - [`keys`]: key material, key rings, rotation.
//! - [`stats`]: windowed, privacy-thresholded aggregates.
//! - [`anonymizer`]: the pipelines and stats behind the service seam.
//! - [`processor`]: the seam between the Kafka service and the engine.
//! - [`service`]: the Kafka service (consumer group, workers, producer,
//!   offsets, HTTP metrics/health, embedded broker).
//! - [`config`] / [`config_env`]: `config/logveil.toml` and `LOGVEIL_*` overrides.
//! - [`error`]: error codes of refused records; [`dead_letter`]: their format.
//! - [`workload`]: the seeded reference workload; [`samples`]: demo records per category.
//! - [`cli`] and [`cmd`]: the command line, one file per command.

pub mod actions;
pub mod anonymizer;
pub mod classify;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod config_env;
pub mod dead_letter;
pub mod error;
pub mod keys;
pub mod pipeline;
pub mod processor;
pub mod samples;
pub mod scan;
pub mod service;
pub mod stats;
pub mod workload;
