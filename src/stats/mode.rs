//! How a pipeline's statistics are finalized across instances
//! ([`StatsMode`]) is config: the `[stats]` table is defined in
//! [`crate::config::stats`] with the rest of `config/logveil.toml`, and
//! re-exported here for the engine and the anonymizer.

pub use crate::config::stats::{default_merge_delay_ms, default_partials_topic, StatsMode};
