//! Every metric logveil exports, and the events that log and count together.
//!
//! The engine's own metrics are defined in [`crate::engine_metrics`] (the
//! engine does not import the service) and re-exported here.
//!
//! Names carry the `logveil_` prefix and counters end in `_total`. Label
//! values come only from small fixed sets: pipeline names and topics from
//! the operator's config, `error_code` from [`crate::error::ErrorCode`],
//! field actions, partition numbers, output kinds. Never from record content.
//!
//! The recorder is process-global (metrics-exporter-prometheus): it is
//! installed once by [`prometheus_handle`] and shared by every service in the
//! process, so tests compare deltas or use their own pipeline names.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Counter,
    Histogram, Unit,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use crate::engine_metrics::{
    key_in_use, FIELDS_DROPPED_TOTAL, KEY_INFO, STATS_COUNTERS, STATS_INVALID_TIME_TOTAL,
    STATS_LATE_RECORDS_TOTAL, STATS_LOCK_POISONED_TOTAL, STATS_OVERFLOW_RECORDS_TOTAL,
    STATS_REPLAYED_RECORDS_TOTAL, STATS_SUPPRESSED_GROUPS_TOTAL,
};
use crate::error::ErrorCode;

/// Source records taken by a pipeline. Labels: `pipeline`.
pub const RECORDS_IN_TOTAL: &str = "logveil_records_in_total";
/// Anonymized records produced. Labels: `pipeline`.
pub const RECORDS_OUT_TOTAL: &str = "logveil_records_out_total";
/// Statistics records produced. Labels: `pipeline`.
pub const STATS_RECORDS_OUT_TOTAL: &str = "logveil_stats_records_out_total";
/// Records sent to the dead-letter topic. Labels: `pipeline`, `error_code`.
pub const RECORDS_DEAD_LETTERED_TOTAL: &str = "logveil_records_dead_lettered_total";
/// Records intentionally filtered by a pipeline. Labels: `pipeline`.
pub const RECORDS_FILTERED_TOTAL: &str = "logveil_records_filtered_total";
/// Time to process one record in a pipeline, seconds, for a sample of records
/// (every [`crate::service::PROCESSING_SAMPLE_EVERY`]th per worker). Labels: `pipeline`.
pub const PROCESSING_SECONDS: &str = "logveil_processing_duration_seconds";
/// Records behind the partition's high watermark. Labels: `topic`, `partition`.
pub const CONSUMER_LAG: &str = "logveil_consumer_lag_records";
/// Offset commits the broker refused.
pub const COMMIT_FAILURES_TOTAL: &str = "logveil_commit_failures_total";
/// Messages waiting in the producer (queued or in flight).
pub const PRODUCER_QUEUE_DEPTH: &str = "logveil_producer_queue_messages";
/// Outputs whose delivery finally failed. Labels: `kind`
/// (`anonymized`, `dead_letter`, `stats`).
pub const DELIVERY_ERRORS_TOTAL: &str = "logveil_delivery_errors_total";
/// 1 when the consumer has an assignment and the producer reached a broker.
pub const READY: &str = "logveil_ready";
/// Partition assignments and revocations. Labels: `kind` (`assign`, `revoke`).
pub const REBALANCES_TOTAL: &str = "logveil_rebalances_total";
/// Queued records dropped because their partition was revoked; the new
/// owner reads them again from the committed offset.
pub const RECORDS_REVOKED_BEFORE_PROCESSING_TOTAL: &str =
    "logveil_records_revoked_before_processing_total";
/// Records skipped because their offset was not above the last one begun in
/// the partition's current assignment (the consumer delivered it twice).
pub const RECORDS_REPEATED_OFFSET_TOTAL: &str = "logveil_records_repeated_offset_total";
/// Input partitions paused because their event time ran too far ahead of
/// the slowest one (watermark alignment).
pub const PARTITIONS_PAUSED: &str = "logveil_partitions_paused";
/// Pauses for watermark alignment.
pub const PARTITION_PAUSES_TOTAL: &str = "logveil_partition_pauses_total";
/// 1 while a configured input topic does not exist on the broker. Labels: `topic`.
pub const INPUT_TOPIC_MISSING: &str = "logveil_input_topic_missing";

/// Every family with its help text, described once so `/metrics` carries
/// `# HELP` and `# TYPE` for each.
fn describe_all() {
    let counters: [(&'static str, &'static str); 19] = [
        (RECORDS_IN_TOTAL, "Source records taken, by pipeline."),
        (RECORDS_OUT_TOTAL, "Anonymized records produced, by pipeline."),
        (STATS_RECORDS_OUT_TOTAL, "Statistics rows and partials produced, by pipeline."),
        (RECORDS_DEAD_LETTERED_TOTAL, "Records sent to the dead-letter topic, by pipeline and error code."),
        (RECORDS_FILTERED_TOTAL, "Records intentionally filtered (tombstones), by pipeline."),
        (FIELDS_DROPPED_TOTAL, "Fields removed because their value could not be transformed."),
        (COMMIT_FAILURES_TOTAL, "Offset commits the broker refused."),
        (DELIVERY_ERRORS_TOTAL, "Outputs whose delivery finally failed, by kind."),
        (REBALANCES_TOTAL, "Partition assignments and revocations."),
        (
            RECORDS_REVOKED_BEFORE_PROCESSING_TOTAL,
            "Queued records skipped because their partition was revoked (re-read by the new owner).",
        ),
        (STATS_LATE_RECORDS_TOTAL, "Statistics: records later than their partition's progress plus allowed lateness."),
        (STATS_INVALID_TIME_TOTAL, "Statistics: records whose event time was missing or invalid."),
        (STATS_SUPPRESSED_GROUPS_TOTAL, "Statistics: groups suppressed by min_count or min_distinct."),
        (STATS_OVERFLOW_RECORDS_TOTAL, "Statistics: records folded into the overflow of a full window."),
        (STATS_REPLAYED_RECORDS_TOTAL, "Statistics: records read again after a restart or re-assignment, skipped."),
        (STATS_LOCK_POISONED_TOTAL, "Statistics: poisoned statistics locks recovered (a thread panicked holding one)."),
        (
            crate::engine_metrics::STATS_WINDOWS_CLOSED_EARLY_TOTAL,
            "Statistics: windows emitted early because more than max_open_windows were open.",
        ),
        (RECORDS_REPEATED_OFFSET_TOTAL, "Records skipped because their offset repeated within one assignment."),
        (PARTITION_PAUSES_TOTAL, "Input partitions paused because their event time ran too far ahead (watermark alignment)."),
    ];
    for (name, help) in counters {
        describe_counter!(name, help);
    }
    describe_histogram!(PROCESSING_SECONDS, Unit::Seconds, "Time to process one record, sampled.");
    describe_gauge!(CONSUMER_LAG, "Records behind the partition's high watermark.");
    describe_gauge!(PRODUCER_QUEUE_DEPTH, "Messages waiting in the producer.");
    describe_gauge!(KEY_INFO, "Key id in use per key ring (always 1).");
    describe_gauge!(
        crate::engine_metrics::STATS_OPEN_WINDOWS,
        "Statistics: window states held (once per worker that fed the window)."
    );
    describe_gauge!(
        crate::engine_metrics::STATS_OPEN_GROUPS,
        "Statistics: groups held in open windows (once per worker that fed the group)."
    );
    describe_gauge!(READY, "1 when /readyz answers 200.");
    describe_gauge!(INPUT_TOPIC_MISSING, "1 while a configured input topic does not exist.");
    describe_gauge!(PARTITIONS_PAUSED, "Input partitions paused for watermark alignment.");
}

/// Creates every counter whose label set is known at start, at 0, so an
/// alert on it can be written before its first increment.
pub(crate) fn register_at_start(pipelines: &[String], topics: &[String]) {
    for name in [
        COMMIT_FAILURES_TOTAL,
        RECORDS_REVOKED_BEFORE_PROCESSING_TOTAL,
        RECORDS_REPEATED_OFFSET_TOTAL,
        PARTITION_PAUSES_TOTAL,
    ] {
        counter!(name).increment(0);
    }
    for kind in [OutputLabel::Anonymized, OutputLabel::DeadLetter, OutputLabel::Stats] {
        counter!(DELIVERY_ERRORS_TOTAL, "kind" => kind.as_str()).increment(0);
    }
    for kind in ["assign", "revoke"] {
        counter!(REBALANCES_TOTAL, "kind" => kind).increment(0);
    }
    for p in pipelines.iter().map(String::as_str).chain(["none"]) {
        let m = PipelineMetrics::new(p);
        for c in [&m.records_in, &m.records_out, &m.stats_out, &m.filtered] {
            c.increment(0);
        }
        for code in ErrorCode::ALL {
            counter!(RECORDS_DEAD_LETTERED_TOTAL, "pipeline" => p.to_owned(), "error_code" => code.as_str())
                .increment(0);
        }
        for name in STATS_COUNTERS {
            counter!(name, "pipeline" => p.to_owned()).increment(0);
        }
    }
    gauge!(READY).set(0.0);
    gauge!(PRODUCER_QUEUE_DEPTH).set(0.0);
    gauge!(PARTITIONS_PAUSED).set(0.0);
    for t in topics {
        gauge!(INPUT_TOPIC_MISSING, "topic" => t.clone()).set(0.0);
    }
}

/// Bucket bounds of [`PROCESSING_SECONDS`]: 1 µs to 100 ms.
const PROCESSING_BUCKETS: &[f64] =
    &[1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 1e-2, 1e-1];

/// Installs the process-wide Prometheus recorder on first use and returns
/// the handle that renders `/metrics`.
///
/// # Errors
/// When another metrics recorder was installed in this process first.
pub fn prometheus_handle() -> Result<PrometheusHandle, String> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(PROCESSING_SECONDS.to_owned()),
                    PROCESSING_BUCKETS,
                )
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| e.to_string())
                .inspect(|_| describe_all())
        })
        .clone()
}

/// Per-pipeline handles a worker caches, so the hot path does not look up
/// the registry per record.
#[derive(Clone)]
pub(crate) struct PipelineMetrics {
    pub records_in: Counter,
    pub records_out: Counter,
    pub stats_out: Counter,
    pub filtered: Counter,
    pub processing: Histogram,
}

impl PipelineMetrics {
    pub fn new(pipeline: &str) -> Self {
        let p = pipeline.to_owned();
        PipelineMetrics {
            records_in: counter!(RECORDS_IN_TOTAL, "pipeline" => p.clone()),
            records_out: counter!(RECORDS_OUT_TOTAL, "pipeline" => p.clone()),
            stats_out: counter!(STATS_RECORDS_OUT_TOTAL, "pipeline" => p.clone()),
            filtered: counter!(RECORDS_FILTERED_TOTAL, "pipeline" => p.clone()),
            processing: histogram!(PROCESSING_SECONDS, "pipeline" => p),
        }
    }
}

/// A record went to the dead-letter topic: debug log and counter together.
/// Logs coordinates and the code only, never the record.
pub(crate) fn dead_lettered(
    pipeline: Option<&str>,
    error_code: ErrorCode,
    topic: &str,
    partition: i32,
    offset: i64,
) {
    let p = pipeline.unwrap_or("none");
    let code = error_code.as_str();
    tracing::debug!(
        pipeline = p,
        error_code = code,
        topic,
        partition,
        offset,
        "record dead-lettered"
    );
    counter!(RECORDS_DEAD_LETTERED_TOTAL, "pipeline" => p.to_owned(), "error_code" => code)
        .increment(1);
}

/// What an output was, for the delivery-error label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputLabel {
    Anonymized,
    DeadLetter,
    Stats,
}

impl OutputLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputLabel::Anonymized => "anonymized",
            OutputLabel::DeadLetter => "dead_letter",
            OutputLabel::Stats => "stats",
        }
    }
}

/// An output finally failed to deliver (after librdkafka's retries).
pub(crate) fn delivery_failed(
    kind: OutputLabel,
    source: Option<(&str, i32, i64)>,
    error: &dyn std::fmt::Display,
) {
    match source {
        Some((topic, partition, offset)) => tracing::error!(
            kind = kind.as_str(),
            source_topic = topic,
            source_partition = partition,
            source_offset = offset,
            %error,
            "output delivery failed; its source offset will not be committed"
        ),
        None => tracing::error!(kind = kind.as_str(), %error, "statistics output delivery failed"),
    }
    counter!(DELIVERY_ERRORS_TOTAL, "kind" => kind.as_str()).increment(1);
}

/// The broker refused an offset commit.
pub(crate) fn commit_failed(error: &dyn std::fmt::Display) {
    tracing::warn!(%error, "offset commit failed; it is retried on the next commit");
    counter!(COMMIT_FAILURES_TOTAL).increment(1);
}

/// A rebalance assigned or revoked partitions.
pub(crate) fn rebalanced(kind: &'static str, partitions: usize) {
    tracing::info!(kind, partitions, "consumer group rebalance");
    counter!(REBALANCES_TOTAL, "kind" => kind).increment(1);
}

/// Queued records skipped because their partition was revoked.
pub(crate) fn skipped_revoked(n: u64) {
    counter!(RECORDS_REVOKED_BEFORE_PROCESSING_TOTAL).increment(n);
}

/// A record skipped because its offset was not above the last one begun in
/// this assignment: a warning and a counter together.
pub(crate) fn skipped_repeated_offset(topic: &str, partition: i32, error: &dyn std::fmt::Display) {
    tracing::warn!(topic, partition, %error, "record delivered twice in one assignment; skipped");
    counter!(RECORDS_REPEATED_OFFSET_TOTAL).increment(1);
}

pub(crate) fn set_ready(ready: bool) {
    gauge!(READY).set(if ready { 1.0 } else { 0.0 });
}

pub(crate) fn set_input_topic_missing(topic: &str, missing: bool) {
    gauge!(INPUT_TOPIC_MISSING, "topic" => topic.to_owned()).set(if missing { 1.0 } else { 0.0 });
}

pub(crate) fn partitions_paused(paused_now: usize, paused: usize) {
    counter!(PARTITION_PAUSES_TOTAL).increment(paused_now as u64);
    gauge!(PARTITIONS_PAUSED).set(paused as f64);
}

pub(crate) fn set_producer_queue_depth(n: i32) {
    gauge!(PRODUCER_QUEUE_DEPTH).set(f64::from(n));
}

pub(crate) fn set_consumer_lag(topic: &str, partition: i32, lag: i64) {
    gauge!(CONSUMER_LAG, "topic" => topic.to_owned(), "partition" => partition.to_string())
        .set(lag as f64);
}

/// Seconds as the histogram wants them.
pub(crate) fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the unlabelled counter `name` in a rendering.
    fn value(text: &str, name: &str) -> Option<f64> {
        text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }

    /// A repeated offset is counted, and the counter exists at 0 from start.
    #[test]
    fn repeated_offsets_are_counted_from_zero() {
        let handle = prometheus_handle().unwrap();
        register_at_start(&[], &[]);
        let before = value(&handle.render(), RECORDS_REPEATED_OFFSET_TOTAL)
            .expect("repeated-offset counter exists at start");
        let error = super::super::offsets::TrackError::NotIncreasing { offset: 3, last: 3 };
        skipped_repeated_offset("raw.test", 0, &error);
        skipped_repeated_offset("raw.test", 0, &error);
        let after = value(&handle.render(), RECORDS_REPEATED_OFFSET_TOTAL).unwrap();
        assert_eq!(after - before, 2.0);
    }
}
