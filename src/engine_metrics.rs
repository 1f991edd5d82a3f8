//! The metrics the engine (pipelines, statistics, keys) records.
//!
//! The engine records through the `metrics` facade only and never imports
//! the service: these names and recording helpers live here, below the
//! service, and [`crate::service::metrics`] (which installs the Prometheus
//! recorder, describes every family and creates them at 0 on start)
//! re-exports them. Label values come from the operator's config (pipeline
//! names, key ring names and ids) and fixed sets (action names), never from
//! record content.

use metrics::{counter, gauge, Counter};

/// Fields dropped because their value could not be transformed (never
/// passed through raw). Labels: `pipeline`, `action`.
pub const FIELDS_DROPPED_TOTAL: &str = "logveil_fields_dropped_total";
/// Id of the key in use per key ring; the value is always 1. Labels: `ring`, `key_id`.
pub const KEY_INFO: &str = "logveil_key_info";
/// Statistics: (record, stat) pairs later than their window's allowed
/// lateness (counted, never re-opening a window). Labels: `pipeline`.
pub const STATS_LATE_RECORDS_TOTAL: &str = "logveil_stats_late_records_total";
/// Statistics: (record, stat) pairs whose event time was missing or invalid. Labels: `pipeline`.
pub const STATS_INVALID_TIME_TOTAL: &str = "logveil_stats_invalid_time_total";
/// Statistics: groups suppressed by the privacy thresholds. Labels: `pipeline`.
pub const STATS_SUPPRESSED_GROUPS_TOTAL: &str = "logveil_stats_suppressed_groups_total";
/// Statistics: records folded into the overflow because a window reached
/// `max_groups`. Labels: `pipeline`.
pub const STATS_OVERFLOW_RECORDS_TOTAL: &str = "logveil_stats_overflow_records_total";
/// Statistics: records read again (after a restart or re-assignment) whose
/// windows already hold or emitted them; skipped. Labels: `pipeline`.
pub const STATS_REPLAYED_RECORDS_TOTAL: &str = "logveil_stats_replayed_records_total";
/// Statistics: a statistics engine's lock was found poisoned (a thread
/// panicked while holding it) and its state was recovered. Labels: `pipeline`.
pub const STATS_LOCK_POISONED_TOTAL: &str = "logveil_stats_lock_poisoned_total";
/// Statistics: windows emitted before the watermark passed them because
/// more than `max_open_windows` were open. Labels: `pipeline`.
pub const STATS_WINDOWS_CLOSED_EARLY_TOTAL: &str = "logveil_stats_windows_closed_early_total";
/// Statistics: window states held in memory (a window fed by several
/// workers counts once per worker), after the last close. Labels: `pipeline`.
pub const STATS_OPEN_WINDOWS: &str = "logveil_stats_open_windows";
/// Statistics: groups held in open windows (per worker share), after the
/// last close. Labels: `pipeline`.
pub const STATS_OPEN_GROUPS: &str = "logveil_stats_open_groups";

/// The per-pipeline statistics counters, in the order the service creates them at 0.
pub const STATS_COUNTERS: [&str; 7] = [
    STATS_LATE_RECORDS_TOTAL,
    STATS_INVALID_TIME_TOTAL,
    STATS_SUPPRESSED_GROUPS_TOTAL,
    STATS_OVERFLOW_RECORDS_TOTAL,
    STATS_REPLAYED_RECORDS_TOTAL,
    STATS_LOCK_POISONED_TOTAL,
    STATS_WINDOWS_CLOSED_EARLY_TOTAL,
];

/// The handle counting fields of `pipeline` dropped by a rule with `action`.
pub fn field_dropped_counter(pipeline: &str, action: &'static str) -> Counter {
    counter!(FIELDS_DROPPED_TOTAL, "pipeline" => pipeline.to_owned(), "action" => action)
}

/// Publishes which key id a ring uses (`logveil_key_info{ring,key_id} 1`),
/// at start and on rotation. Never pass key material.
pub fn key_in_use(ring: &str, key_id: &str) {
    gauge!(KEY_INFO, "ring" => ring.to_owned(), "key_id" => key_id.to_owned()).set(1.0);
}

/// Mirrors a statistics engine's cumulative counters into Prometheus counters.
pub fn publish_stats_counters(pipeline: &str, c: &crate::stats::StatsCounters) {
    let p = pipeline.to_owned();
    counter!(STATS_LATE_RECORDS_TOTAL, "pipeline" => p.clone()).absolute(c.late_records);
    counter!(STATS_INVALID_TIME_TOTAL, "pipeline" => p.clone()).absolute(c.invalid_time);
    counter!(STATS_SUPPRESSED_GROUPS_TOTAL, "pipeline" => p.clone()).absolute(c.suppressed_groups);
    counter!(STATS_OVERFLOW_RECORDS_TOTAL, "pipeline" => p.clone()).absolute(c.overflow_records);
    counter!(STATS_REPLAYED_RECORDS_TOTAL, "pipeline" => p.clone()).absolute(c.replayed_records);
    counter!(STATS_WINDOWS_CLOSED_EARLY_TOTAL, "pipeline" => p).absolute(c.windows_closed_early);
}

/// Publishes how much window state a pipeline's statistics hold (gauges).
pub fn publish_stats_state(pipeline: &str, windows: usize, groups: usize) {
    gauge!(STATS_OPEN_WINDOWS, "pipeline" => pipeline.to_owned()).set(windows as f64);
    gauge!(STATS_OPEN_GROUPS, "pipeline" => pipeline.to_owned()).set(groups as f64);
}

/// A statistics engine's lock was poisoned and its state recovered: a loud
/// error log and a counter. `pipeline` is the counters' label
/// (`<name>:merge` for the merging engine in merged mode).
pub fn stats_lock_poisoned(pipeline: &str) {
    tracing::error!(
        pipeline,
        "statistics lock poisoned by a panic in another thread; recovered its state and \
         continuing (the window being updated may miss that one record)"
    );
    counter!(STATS_LOCK_POISONED_TOTAL, "pipeline" => pipeline.to_owned()).increment(1);
}
