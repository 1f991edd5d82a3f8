//! Privacy-thresholded statistics over **anonymized** records: tumbling
//! event-time windows, group-by dimensions, measures, k-anonymity
//! suppression, and mergeable partial aggregates for multi-instance runs.
//!
//! Statistics only ever see the desensitized output record (compact JSON), and
//! only the few paths they need are extracted; raw values never enter the
//! state. What leaves is aggregated: a group row is emitted only when its
//! record count reaches `min_count` and every `distinct` measure reaches
//! `min_distinct`; other groups are dropped or folded into one `__other__` row
//! per window, which is itself thresholded.
//!
//! # Layout
//! - [`spec`]: the `[[stats]]` TOML block ([`StatSpec`]); `compile`: its
//!   validation into [`CompiledStat`].
//! - `engine`: [`StatsEngine`] — observe records, watermarks, window closing, partials.
//! - `window`: per-window aggregation state; `render`: thresholds, `__other__`
//!   folding and final rows.
//! - `partial`: the wire format of mergeable partial aggregates.
//! - `extract`: one-pass extraction of the needed paths from the record JSON;
//!   `capture`: the same paths located by the record walk instead (read
//!   by `extract::located`, objects memoised by `extract::objects`).
//! - `shard`: [`StatsShard`], one worker's share of the open windows;
//!   `intern`: its dimension values as small ids (group lookups by id).
//! - `derive`: derived dimensions (`path_template`, `status_class`).
//! - `hll`: HyperLogLog (+ stable xxHash64); `sketch`: DDSketch quantiles;
//!   `noise`: two-sided geometric count noise.
//! - `time`: RFC 3339 / epoch parsing and window-bound formatting.
//! - [`StatsMode`] (direct or merged finalization across instances) is the
//!   `[stats]` table of `config/logveil.toml`, defined in
//!   [`crate::config::stats`] and re-exported here.
//!
//! # Windows and lateness
//! Windows are aligned to the Unix epoch (UTC). Records come from sources
//! (input partitions, see `clock`); each source's progress is the largest
//! event time it delivered. Per statistic, the watermark is the minimum
//! progress over the assigned, non-idle sources, and a window is emitted by
//! `poll` once `window_end + allowed_lateness <= watermark`. A record is
//! *late* when its window's `end + allowed_lateness` is behind its own
//! source's progress, or its window was already emitted (possible only
//! after idleness): counted, never re-opening a window. A source that
//! delivered nothing for `idle_timeout` of wall time (as seen by successive
//! `poll(now_ms)` calls) stops holding the watermark; when all are idle, the
//! watermark advances by the wall time elapsed since the poll that last saw
//! activity, so idle inputs do not hold windows open. Event times more than
//! 1000 windows ahead of the watermark, of their source or of the last
//! `now_ms`, outside years 1..=9999, missing or unparsable, are counted as
//! `invalid_time`.
//!
//! # Restarts
//! Each open window remembers the first and last offset of every source
//! that fed it; [`StatsEngine::commit_floor`] is the lowest first offset
//! over open windows (and windows flushed early by `finish`), and
//! [`StatsEngine::closed_until`] the end of the last window emitted as
//! final. A restarted engine given that value ([`StatsEngine::restore_closed`])
//! and the records from the floor on skips the records of emitted windows
//! and rebuilds the others whole, so it emits exactly the rows an
//! uninterrupted engine would. Rows are keyed `stat|window_start|<group>`
//! ([`StatsRow::key`]) so a re-emitted row overwrites its earlier copy.
//!
//! # Output rows (topic of the stat, one JSON object each)
//! One row per emitted group, groups in byte order of their key:
//! ```json
//! {"schema":"logveil.stats/1","stat":"requests_per_minute",
//!  "window_start":"2024-05-14T08:17:00Z","window_end":"2024-05-14T08:18:00Z","partial":false,
//!  "dimensions":{"path_template":"/api/v1/users/{id}/orders","status_class":"4xx"},
//!  "measures":{"requests":17,"users":9,"bytes":19652,"duration_ms":{"p50":45.9,"p90":80.1,"p99":120.3}}}
//! ```
//! then the `__other__` row if any (all dimensions `"__other__"`), then one summary:
//! ```json
//! {"schema":"logveil.stats/1","stat":"requests_per_minute","window_start":"...","window_end":"...",
//!  "partial":false,"summary":true,"groups_emitted":3,"groups_suppressed":2,"records_suppressed":5,
//!  "overflow_records":0,"other_emitted":true,"late_records":0}
//! ```
//! `partial` is `true` only for windows flushed early by `finish`.
//! A missing dimension is `null`; strings longer than 256 bytes are cut.
//! `count` is an integer. `sum` is an integer when every input was an
//! integer, else a decimal rounded to 9 fraction digits (fractions are summed
//! exactly in units of 2^-32, so the result depends neither on record order
//! nor on merging; floats beyond 1e18 in magnitude are ignored). `distinct`
//! is exact up to 2^precision/16 distinct values (256 at the default 12),
//! then the rounded HyperLogLog estimate (std error 1.04/sqrt(2^precision),
//! ~1.6% at 12); the same number is compared with `min_distinct`.
//! `quantiles` map `pNN` to values within the relative accuracy (default 1%)
//! of the exact rank-`floor(q(n-1))` value, or `null` without values.
//! `groups_emitted` counts group rows including `__other__`;
//! `groups_suppressed`/`records_suppressed` cover groups failing the
//! thresholds; `overflow_records` were folded because of `max_groups`;
//! `late_records` counts late records seen since the previous summary.
//!
//! With `epsilon`, each emitted `count` measure gets independent two-sided
//! geometric noise (scale 1/epsilon) and is clamped at 0. Thresholds use the
//! true counts, and sums, distinct counts, quantiles and summaries are not
//! noised, so this blurs counts but is not a formal differential-privacy
//! guarantee for whole rows.
//!
//! # Partials (scale path)
//! `poll_partials`/`finish_partials` emit, per closed window, one meta record,
//! one record per group and one for the overflow, without thresholds, as
//! [`PartialRow`]s keyed `stat|window_start` (all partials of a window must
//! reach the same owner so that `__other__` folding and summaries stay
//! correct). The owner feeds them to `merge_partial` and gets final rows from
//! `poll`/`finish`: counts and sums add, HyperLogLog registers take the max,
//! DDSketch buckets add, so the merged rows are byte-identical to a single
//! instance's (given the same records were accepted: which records are late
//! or overflow `max_groups` depends on each instance's arrival order). The
//! owner's watermark is the largest sender watermark; a
//! partial for a window the owner already emitted is counted as late records,
//! so `allowed_lateness` should cover the skew between instances.
//!
//! # Workers
//! With several worker threads, each feeds its own [`StatsShard`] (its share
//! of the open windows) and a [`StatsCore`] moves the clock and closes
//! windows over all shards, merging each window's shares before any
//! threshold is applied (see `shard`). [`StatsEngine`] is a core with one
//! shard.
//!
//! # Memory
//! Per stat: at most `max_open_windows` windows stay open after a poll (the
//! oldest beyond it are emitted early, counted as `windows_closed_early`,
//! and their later records are late), within
//! `[watermark - allowed_lateness - window, watermark + 1000 windows]`;
//! each holds at most `max_groups`
//! groups per worker (further groups fold into one overflow aggregate). A
//! group holds its key (<= 256 bytes per dimension), a count, 16 bytes per
//! sum, per distinct measure an exact hash set of up to 2^p/16 8-byte
//! entries or else 2^p register bytes, and per quantiles measure up to 32
//! 16-byte buckets as a list, beyond that up to 4096 8-byte buckets per sign
//! (typically a few hundred).

mod capture;
mod clock;
mod compile;
mod derive;
mod engine;
mod extract;
mod hll;
mod intern;
mod noise;
mod partial;
mod render;
mod shard;
mod sketch;
pub mod spec;
mod time;
mod window;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod time_tests;

pub use crate::config::stats::{default_merge_delay_ms, default_partials_topic, StatsMode};
pub use capture::mark_captures;
pub use clock::{SourceId, IMPLICIT_SOURCE};
pub use engine::{open_groups, open_windows, Observation, StatsCore, StatsEngine, StatsExtractor};
pub use shard::StatsShard;
pub use spec::{compile_all, CompiledStat, StatSpec};
pub(crate) use time::write_rfc3339_secs;

/// Errors of the statistics module. Messages never contain record values.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// A `[[stats]]` block is invalid.
    #[error("stats[{stat}].{field}: {problem}")]
    Spec {
        /// Name of the statistic.
        stat: String,
        /// The offending key, e.g. `window` or `measures[users].precision`.
        field: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A partial aggregate could not be merged.
    #[error("stats partial: {0}")]
    Partial(&'static str),
}

/// The offsets of one input partition that fed a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceSpan {
    /// The partition, as the caller named it to the engine.
    pub source: SourceId,
    /// Lowest offset that fed the window.
    pub first: i64,
    /// Highest offset that fed the window.
    pub last: i64,
}

/// One final output row for the stat's topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsRow {
    /// Kafka topic the row goes to.
    pub topic: String,
    /// Name of the statistic.
    pub stat: String,
    /// Record key: `stat|window_start|<group key>` (the group key is the
    /// JSON array of the dimension values, `__other__` or `summary`), so a
    /// replayed window overwrites its rows in a keyed (compacted) reading.
    pub key: Vec<u8>,
    /// Window start, epoch milliseconds.
    pub window_start_ms: i64,
    /// The input offsets that fed the window, per partition.
    pub sources: std::sync::Arc<[SourceSpan]>,
    /// Compact JSON object (see the module doc).
    pub json: Vec<u8>,
}

/// One mergeable partial aggregate for the internal topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialRow {
    /// `stat|window_start` (RFC 3339): the partitioning key, so one owner merges a whole window.
    pub key: Vec<u8>,
    /// Compact JSON partial, input of [`StatsEngine::merge_partial`].
    pub json: Vec<u8>,
}

/// Cumulative counters over all statistics of an engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsCounters {
    /// Records given to `observe`.
    pub records_observed: u64,
    /// Records and partials skipped as replays: read again after a
    /// re-assignment or a restart, already counted in a window.
    pub replayed_records: u64,
    /// Records that were not one JSON object (each stat skipped them).
    pub invalid_records: u64,
    /// (record, stat) pairs with a missing, unparsable or out-of-range event time.
    pub invalid_time: u64,
    /// (record, stat) pairs for already-closed windows, plus records carried by late partials.
    pub late_records: u64,
    /// Groups that failed the thresholds (counted when final rows are emitted).
    pub suppressed_groups: u64,
    /// Records in groups that failed the thresholds (counted when final rows are emitted).
    pub suppressed_records: u64,
    /// Estimated distinct groups folded into the overflow because of
    /// `max_groups` (HyperLogLog, counted when final rows are emitted).
    pub overflow_groups: u64,
    /// Records folded into the overflow because of `max_groups` (counted when final rows are emitted).
    pub overflow_records: u64,
    /// `__other__` rows dropped because they failed the thresholds themselves.
    pub other_rows_dropped: u64,
    /// Final rows emitted (group, `__other__` and summary rows).
    pub rows_emitted: u64,
    /// Windows emitted as final rows.
    pub windows_emitted: u64,
    /// Windows emitted before the watermark passed them because more than
    /// `max_open_windows` were open (their later records count as late).
    pub windows_closed_early: u64,
    /// Partial rows emitted.
    pub partials_emitted: u64,
    /// Partial rows merged.
    pub partials_merged: u64,
}

impl StatsCounters {
    /// Field-wise sum (the core's counters plus its shards').
    pub(crate) fn plus(&self, o: &StatsCounters) -> StatsCounters {
        StatsCounters {
            records_observed: self.records_observed + o.records_observed,
            replayed_records: self.replayed_records + o.replayed_records,
            invalid_records: self.invalid_records + o.invalid_records,
            invalid_time: self.invalid_time + o.invalid_time,
            late_records: self.late_records + o.late_records,
            suppressed_groups: self.suppressed_groups + o.suppressed_groups,
            suppressed_records: self.suppressed_records + o.suppressed_records,
            overflow_groups: self.overflow_groups + o.overflow_groups,
            overflow_records: self.overflow_records + o.overflow_records,
            other_rows_dropped: self.other_rows_dropped + o.other_rows_dropped,
            rows_emitted: self.rows_emitted + o.rows_emitted,
            windows_emitted: self.windows_emitted + o.windows_emitted,
            windows_closed_early: self.windows_closed_early + o.windows_closed_early,
            partials_emitted: self.partials_emitted + o.partials_emitted,
            partials_merged: self.partials_merged + o.partials_merged,
        }
    }
}
