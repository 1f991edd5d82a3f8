//! logveil: desensitize logs that carry personal information, on Kafka.
//!
//! # Layout
//! Dependencies point one way: command line → service → engine
//! (anonymizer, pipelines, statistics) → actions → primitives.
//! - [`cli`] and [`cmd`]: the command line, one file per command.
//! - [`config`]: the whole `config/logveil.toml` schema (one file per
//!   section) and the `LOGVEIL_*` environment overlay; a leaf that the
//!   service, keys and statistics read.
//! - [`service`]: the Kafka service (consumer group, workers, producer,
//!   offsets, HTTP metrics/health, embedded broker).
//! - [`processor`]: the seam between the Kafka service and the engine.
//! - [`anonymizer`]: the pipelines and stats behind the service seam.
//! - [`pipeline`]: pipeline files → compiled [`pipeline::Pipeline`]s; the
//!   per-record hot path; routing by topic.
//! - [`stats`]: windowed, privacy-thresholded aggregates (and
//!   [`stats::StatsMode`], how they are finalized across instances).
//! - [`engine_metrics`]: the metrics the engine records (the service
//!   describes and exports them; the engine never imports the service).
//! - [`scan`]: the validating one-pass JSON scanner under the record path
//!   and the statistics extraction.
//! - [`actions`]: the field actions (`truncate_ip`, `pseudonymize`, ...), pure.
//! - [`classify`]: the identifier classifier shared by URL handling and
//!   statistics path templates.
//! - Primitives: [`keys`] (key material, key rings, rotation), [`time`]
//!   (the one definition of a valid timestamp; parsing, RFC 3339 formatting,
//!   calendar maths, the wall clock), [`error`] (error codes of refused
//!   records) and [`dead_letter`] (their format).
//! - [`fixtures`]: the seeded reference workload ([`workload`]) and demo
//!   records per category ([`samples`]), apart from the engine.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod actions;
pub mod anonymizer;
pub mod classify;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod dead_letter;
pub mod engine_metrics;
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
