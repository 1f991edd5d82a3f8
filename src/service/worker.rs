//! A worker thread: runs the processor over the partitions it owns.
//!
//! Each source partition belongs to exactly one worker (so records of a
//! partition are processed in order), and each worker has its own
//! `P::Worker` scratch state. The worker receives with a timeout so
//! `processor.tick()` runs about once a second even without traffic, and
//! calls `processor.finish()` once when the consumer closes its queue during
//! a graceful shutdown.

use std::ops::Range;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dead_letter::{DeadLetter, DeadLetterSource};
use crate::processor::{Disposition, OutputKind, OutputRecord, RecordProcessor, SourceRecord};
use crate::time::now_ms;

use super::metrics::{self, OutputLabel, PipelineMetrics};
use super::offsets::{BeginRefused, PartitionTracker};
use super::producer::{Ack, Outgoing, OutputProducer};
use super::provenance;
use super::state::Shared;
use super::RunSummary;

/// How often `processor.tick()` runs.
const TICK: Duration = Duration::from_secs(1);

/// One fetched record on its way to a worker; its key and payload live in
/// the [`Batch`]'s buffer.
pub(crate) struct Job {
    tracker: Arc<PartitionTracker>,
    offset: i64,
    key: Option<Range<usize>>,
    payload: Option<Range<usize>>,
    timestamp_ms: Option<i64>,
}

/// Records handed to one worker at once. Keys and payloads are copied out
/// of librdkafka's buffers into one shared byte buffer: one allocation per
/// batch instead of two per record, freed on another thread once per batch.
pub(crate) struct Batch {
    bytes: Vec<u8>,
    jobs: Vec<Job>,
}

impl Batch {
    /// An empty batch sized for `records` records of `bytes` bytes in all.
    pub fn with_capacity(records: usize, bytes: usize) -> Self {
        Batch { bytes: Vec::with_capacity(bytes), jobs: Vec::with_capacity(records) }
    }

    /// Appends one record, copying its key and payload.
    pub fn push(
        &mut self,
        tracker: Arc<PartitionTracker>,
        offset: i64,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        timestamp_ms: Option<i64>,
    ) {
        let mut copy = |b: &[u8]| {
            let start = self.bytes.len();
            self.bytes.extend_from_slice(b);
            start..self.bytes.len()
        };
        let key = key.map(&mut copy);
        let payload = payload.map(&mut copy);
        self.jobs.push(Job { tracker, offset, key, payload, timestamp_ms });
    }

    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Bytes of keys and payloads in the batch.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    fn bytes(&self, r: &Option<Range<usize>>) -> Option<&[u8]> {
        r.as_ref().and_then(|r| self.bytes.get(r.clone()))
    }
}

/// What a worker needs besides its queue.
pub(crate) struct WorkerEnv<P> {
    pub processor: Arc<P>,
    pub producer: Arc<OutputProducer>,
    pub shared: Arc<Shared>,
    pub dead_letter_topic: String,
    pub include_raw: bool,
}

/// Per-worker metric handles by pipeline name (a handful of pipelines, so a
/// linear scan beats hashing).
#[derive(Default)]
struct MetricCache(Vec<(String, PipelineMetrics)>);

impl MetricCache {
    fn index(&mut self, pipeline: &str) -> usize {
        if let Some(i) = self.0.iter().position(|(p, _)| p == pipeline) {
            return i;
        }
        self.0.push((pipeline.to_owned(), PipelineMetrics::new(pipeline)));
        self.0.len() - 1
    }
    fn get(&mut self, pipeline: &str) -> &PipelineMetrics {
        let i = self.index(pipeline);
        &self.0[i].1
    }
}

/// Every how many records a worker times one for the processing-duration
/// histogram. Timing and recording each record cost about 2% of the
/// service's CPU; a fixed sample keeps the distribution's shape.
pub const PROCESSING_SAMPLE_EVERY: u32 = 8;

/// A worker's own mutable state besides the processor's scratch.
struct Local {
    cache: MetricCache,
    summary: RunSummary,
    /// Reused buffer for the provenance header value.
    hdr: Vec<u8>,
    /// Counts down to the next timed record.
    until_sample: u32,
}

/// Runs until the queue closes (graceful: then `finish()`) or the service
/// aborts (no `finish()`). Returns what this worker did.
pub(crate) fn run<P: RecordProcessor>(env: WorkerEnv<P>, queue: Receiver<Batch>) -> RunSummary {
    let mut scratch = env.processor.new_worker();
    let mut local = Local {
        cache: MetricCache::default(),
        summary: RunSummary::default(),
        hdr: Vec::with_capacity(128),
        until_sample: 0,
    };
    let mut next_tick = Instant::now() + TICK;
    loop {
        let wait = next_tick.saturating_duration_since(Instant::now());
        match queue.recv_timeout(wait) {
            Ok(batch) => {
                for job in &batch.jobs {
                    if env.shared.is_aborting() {
                        return local.summary;
                    }
                    let (key, payload) = (batch.bytes(&job.key), batch.bytes(&job.payload));
                    process(&env, &mut scratch, &mut local, job, key, payload);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if env.shared.is_aborting() {
            return local.summary;
        }
        if Instant::now() >= next_tick {
            let mut sink = |out: OutputRecord<'_>| emit_unsourced(&env, &mut local, out);
            env.processor.tick(&mut scratch, now_ms(), &mut sink);
            next_tick = Instant::now() + TICK;
        }
    }
    if !env.shared.is_aborting() {
        let mut sink = |out: OutputRecord<'_>| emit_unsourced(&env, &mut local, out);
        env.processor.finish(&mut scratch, &mut sink);
    }
    local.summary
}

/// An output not tied to one source record (statistics from tick/finish).
fn emit_unsourced<P>(env: &WorkerEnv<P>, local: &mut Local, out: OutputRecord<'_>) {
    let Local { cache, summary, hdr, .. } = local;
    let m = cache.get(out.pipeline);
    send_output(env, m, summary, hdr, out, None);
}

/// Counts and sends one output with its provenance header. An anonymized
/// output of a source record (`source`) gates that record's offset until
/// delivered; anything else counts as statistics and gates nothing.
fn send_output<P>(
    env: &WorkerEnv<P>,
    m: &PipelineMetrics,
    summary: &mut RunSummary,
    hdr: &mut Vec<u8>,
    out: OutputRecord<'_>,
    source: Option<(&Arc<PartitionTracker>, i64)>,
) {
    let (ack, origin) = match source {
        Some((tracker, offset)) if matches!(out.kind, OutputKind::Anonymized) => {
            m.records_out.increment(1);
            summary.records_out += 1;
            // Registered before sending, so the report cannot outrun it.
            let gating = tracker.add_output(offset).is_ok();
            let ack = Ack {
                source: gating.then(|| (tracker.clone(), offset)),
                kind: OutputLabel::Anonymized,
                stats: false,
            };
            (ack, Some((tracker.topic.as_str(), tracker.partition, offset)))
        }
        _ => {
            m.stats_out.increment(1);
            summary.stats_out += 1;
            // Counted before sending, so the report cannot outrun it.
            env.shared.stats_sent();
            (Ack { source: None, kind: OutputLabel::Stats, stats: true }, None)
        }
    };
    let headers =
        provenance::headers(hdr, origin, out.stats_provenance, Some(out.pipeline), out.key_id);
    env.producer.send(
        Outgoing { topic: out.topic, key: out.key, payload: out.payload, headers: Some(headers) },
        ack,
    );
}

fn process<P: RecordProcessor>(
    env: &WorkerEnv<P>,
    scratch: &mut P::Worker,
    local: &mut Local,
    job: &Job,
    key: Option<&[u8]>,
    payload: Option<&[u8]>,
) {
    let tracker = &job.tracker;
    match tracker.begin(job.offset) {
        Ok(()) => {}
        Err(BeginRefused::Revoked) => {
            metrics::skipped_revoked(1);
            return;
        }
        Err(BeginRefused::Track(error)) => {
            metrics::skipped_repeated_offset(&tracker.topic, tracker.partition, &error);
            return;
        }
    }
    let started = match local.until_sample.checked_sub(1) {
        Some(left) => {
            local.until_sample = left;
            None
        }
        None => {
            local.until_sample = PROCESSING_SAMPLE_EVERY - 1;
            Some(Instant::now())
        }
    };
    let record = SourceRecord {
        topic: &tracker.topic,
        partition: tracker.partition,
        offset: job.offset,
        key,
        payload,
        timestamp_ms: job.timestamp_ms,
    };
    let mut first_pipeline: Option<usize> = None;
    let Local { cache, summary, hdr, .. } = &mut *local;
    let mut sink = |out: OutputRecord<'_>| {
        let idx = cache.index(out.pipeline);
        first_pipeline.get_or_insert(idx);
        send_output(env, &cache.0[idx].1, summary, hdr, out, Some((tracker, job.offset)));
    };
    let disposition = env.processor.process(scratch, &record, &mut sink);
    local.summary.records_in += 1;
    let pipeline_idx = match &disposition {
        Disposition::Emitted => first_pipeline,
        Disposition::Absorbed { pipeline } => Some(local.cache.index(pipeline)),
        Disposition::Filtered { pipeline } => {
            local.summary.filtered += 1;
            let i = local.cache.index(pipeline);
            local.cache.0[i].1.filtered.increment(1);
            Some(i)
        }
        Disposition::Failed(failure) => {
            local.summary.dead_lettered += 1;
            dead_letter(env, &mut local.hdr, job, payload, failure);
            failure.pipeline.as_deref().map(|p| local.cache.index(p))
        }
    };
    let idx = match pipeline_idx {
        Some(i) => i,
        None => local.cache.index("none"),
    };
    let m = &local.cache.0[idx].1;
    m.records_in.increment(1);
    if let Some(started) = started {
        m.processing.record(metrics::seconds(started.elapsed()));
    }
    // Release the "being processed" unit; outputs still pending keep it open.
    let _ = tracker.ack(job.offset, true);
}

fn dead_letter<P>(
    env: &WorkerEnv<P>,
    hdr: &mut Vec<u8>,
    job: &Job,
    payload: Option<&[u8]>,
    failure: &crate::processor::RecordFailure,
) {
    let tracker = &job.tracker;
    let payload = payload.unwrap_or_default();
    let mut letter = DeadLetter::new(
        failure.error_code,
        &failure.message,
        failure.pipeline.as_deref(),
        DeadLetterSource::Kafka {
            topic: &tracker.topic,
            partition: tracker.partition,
            offset: job.offset,
        },
        payload.len(),
    );
    if env.include_raw {
        letter = letter.with_raw(payload);
    }
    let json = letter.to_json();
    metrics::dead_lettered(
        failure.pipeline.as_deref(),
        failure.error_code,
        &tracker.topic,
        tracker.partition,
        job.offset,
    );
    let gating = tracker.add_output(job.offset).is_ok();
    env.producer.send(
        Outgoing {
            topic: &env.dead_letter_topic,
            // The source key may itself be personal data: dead letters have none.
            key: None,
            payload: &json,
            headers: Some(provenance::headers(
                hdr,
                Some((&tracker.topic, tracker.partition, job.offset)),
                None,
                failure.pipeline.as_deref(),
                None,
            )),
        },
        Ack {
            source: gating.then(|| (tracker.clone(), job.offset)),
            kind: OutputLabel::DeadLetter,
            stats: false,
        },
    );
}
