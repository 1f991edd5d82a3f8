//! How a pipeline's statistics are finalized across instances: the
//! `[stats]` table of `config/logveil.toml` ([`StatsMode`]). Read by the
//! config and by the anonymizer that runs the statistics.

use serde::Deserialize;

/// How statistics are finalized.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum StatsMode {
    /// Each instance thresholds and emits its own windows (default).
    #[default]
    Direct,
    /// Partials go through `partials_topic`; the owner of a window's key merges them.
    Merged {
        /// Internal topic for partial aggregates (also consumed by the group).
        #[serde(default = "default_partials_topic")]
        partials_topic: String,
        /// Wall-clock milliseconds a window's owner waits after a sender's
        /// watermark arrives before it may close windows with it, so partials
        /// from instances that tick later are merged, not counted late.
        #[serde(default = "default_merge_delay_ms")]
        merge_delay_ms: i64,
    },
}

/// Default merge delay: a few service ticks (1 s each) plus produce latency.
pub fn default_merge_delay_ms() -> i64 {
    5_000
}

/// Default internal topic for statistics partials.
pub fn default_partials_topic() -> String {
    "logveil.stats.partials".into()
}
