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
//! - [`time`]: the one definition of a valid timestamp; parsing, RFC 3339
//!   formatting and calendar maths for `coarsen_time` and the statistics.
//! - [`fixtures`]: the seeded reference workload ([`workload`]) and demo
//!   records per category ([`samples`]), apart from the engine.
//! - [`cli`] and [`cmd`]: the command line, one file per command.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod actions;
pub mod anonymizer;
pub mod classify;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod config_env;
pub mod dead_letter;
pub mod error;
pub mod fixtures;
pub mod keys;
pub mod pipeline;
pub mod processor;
pub mod scan;
pub mod service;
pub mod stats;
pub mod time;

pub use fixtures::{samples, workload};
