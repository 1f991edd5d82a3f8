//! A worker thread: runs the processor over the partitions it owns.
//!
//! Each source partition belongs to exactly one worker (so records of a
//! partition are processed in order), and each worker has its own
//! `P::Worker` scratch state. The worker receives with a timeout so
//! `processor.tick()` runs about once a second even without traffic, and
//! calls `processor.finish()` once when the consumer closes its queue during
//! a graceful shutdown.

use std::ops::Range;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dead_letter::{DeadLetter, DeadLetterSource};
use crate::processor::{Disposition, OutputKind, OutputRecord, RecordProcessor, SourceRecord};
use crate::time::now_ms;

use super::metrics::{self, OutputLabel, PipelineMetrics};
use super::offsets::{BeginRefused, PartitionTracker, Span, TrackError};
use super::producer::{Gate, Outgoing, OutputProducer, WorkerProducer};
use super::provenance;
use super::state::Shared;
use super::RunSummary;

/// How often `processor.tick()` runs.
const TICK: Duration = Duration::from_secs(1);

/// One fetched record on its way to a worker; its key and payload live in
/// the [`Batch`]'s buffer, its partition's tracker in the batch's list.
pub(crate) struct Job {
    tracker: usize,
    offset: i64,
    key: Option<Range<usize>>,
    payload: Option<Range<usize>>,
    timestamp_ms: Option<i64>,
}

/// Records handed to one worker at once. Keys and payloads are copied out
/// of librdkafka's buffers into one shared byte buffer: one allocation per
/// batch instead of two per record, freed on another thread once per batch.
/// Consecutive records of one partition share one tracker reference.
pub(crate) struct Batch {
    bytes: Vec<u8>,
    jobs: Vec<Job>,
    trackers: Vec<Arc<PartitionTracker>>,
}

impl Batch {
    /// An empty batch sized for `records` records of `bytes` bytes in all.
    pub fn with_capacity(records: usize, bytes: usize) -> Self {
        Batch {
            bytes: Vec::with_capacity(bytes),
            jobs: Vec::with_capacity(records),
            trackers: Vec::new(),
        }
    }

    /// Appends one record, copying its key and payload.
    pub fn push(
        &mut self,
        tracker: &Arc<PartitionTracker>,
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
        if !self.trackers.last().is_some_and(|t| Arc::ptr_eq(t, tracker)) {
            self.trackers.push(tracker.clone());
        }
        let tracker = self.trackers.len() - 1;
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

    /// Bytes the batch can hold without growing.
    pub fn byte_capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Empties the batch for reuse, keeping its buffers (and dropping its
    /// tracker references).
    fn clear(&mut self) {
        self.bytes.clear();
        self.jobs.clear();
        self.trackers.clear();
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
    /// Where processed batches go back to the consumer thread for reuse.
    pub spent: Sender<Batch>,
}

/// One pipeline's metric handles and the counts not yet added to them.
struct Counted {
    pipeline: String,
    metrics: PipelineMetrics,
    records_in: u64,
    records_out: u64,
    stats_out: u64,
    filtered: u64,
}

/// Per-worker metric handles by pipeline name (a handful of pipelines, so a
/// linear scan beats hashing). Counts accumulate here and reach the shared
/// counters once per batch ([`MetricCache::flush`]): an atomic add on a
/// cache line every worker writes, per record, cost more than the rest of
/// the bookkeeping.
#[derive(Default)]
struct MetricCache(Vec<Counted>);

impl MetricCache {
    fn index(&mut self, pipeline: &str) -> usize {
        if let Some(i) = self.0.iter().position(|c| c.pipeline == pipeline) {
            return i;
        }
        self.0.push(Counted {
            pipeline: pipeline.to_owned(),
            metrics: PipelineMetrics::new(pipeline),
            records_in: 0,
            records_out: 0,
            stats_out: 0,
            filtered: 0,
        });
        self.0.len() - 1
    }

    /// Adds the accumulated counts to the shared counters. Records in come
    /// last, so a reader that sees a record counted in also sees its
    /// outputs counted.
    fn flush(&mut self) {
        for c in &mut self.0 {
            let m = &c.metrics;
            for (counter, n) in [
                (&m.records_out, &mut c.records_out),
                (&m.stats_out, &mut c.stats_out),
                (&m.filtered, &mut c.filtered),
                (&m.records_in, &mut c.records_in),
            ] {
                if *n > 0 {
                    counter.increment(std::mem::take(n));
                }
            }
        }
    }
}

/// Every how many records a worker times one for the processing-duration
/// histogram. Timing and recording each record cost about 2% of the
/// service's CPU; a fixed sample keeps the distribution's shape.
pub const PROCESSING_SAMPLE_EVERY: u32 = 8;

/// The span a worker is filling: consecutive records of one partition from
/// one batch, and the delivery gate its anonymized outputs share.
struct OpenSpan {
    span: Arc<Span>,
    gate: Arc<Gate>,
    /// The last offset processed in it.
    last: i64,
}

impl OpenSpan {
    fn begin(tracker: &Arc<PartitionTracker>, offset: i64) -> Result<OpenSpan, BeginRefused> {
        let span = Span::begin(tracker, offset)?;
        let gate = Gate::of(&span, OutputLabel::Anonymized, offset);
        Ok(OpenSpan { span, gate, last: offset })
    }

    /// Leaves the span: it covers every record processed in it and
    /// completes once their outputs are delivered.
    fn close(self) {
        self.span.close(self.last);
    }
}

/// A worker's own mutable state besides the processor's scratch.
struct Local {
    cache: MetricCache,
    summary: RunSummary,
    /// Reused buffer for the provenance header value.
    hdr: Vec<u8>,
    /// Counts down to the next timed record.
    until_sample: u32,
    /// The gate statistics outputs share.
    stats_gate: Arc<Gate>,
    open: Option<OpenSpan>,
    /// This worker's topic handles on the shared producer.
    out: WorkerProducer,
}

impl Local {
    fn close_span(&mut self) {
        if let Some(open) = self.open.take() {
            open.close();
        }
    }
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
        stats_gate: Gate::stats(),
        open: None,
        out: WorkerProducer::new(env.producer.clone()),
    };
    let mut next_tick = Instant::now() + TICK;
    loop {
        let wait = next_tick.saturating_duration_since(Instant::now());
        match queue.recv_timeout(wait) {
            Ok(mut batch) => {
                let done = run_batch(&env, &mut scratch, &mut local, &batch);
                local.close_span();
                local.cache.flush();
                if !done {
                    return local.summary;
                }
                batch.clear();
                // The consumer thread may be gone (shutting down): then the
                // batch is simply freed.
                let _ = env.spent.send(batch);
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
            local.cache.flush();
            next_tick = Instant::now() + TICK;
        }
    }
    if !env.shared.is_aborting() {
        let mut sink = |out: OutputRecord<'_>| emit_unsourced(&env, &mut local, out);
        env.processor.finish(&mut scratch, &mut sink);
        local.cache.flush();
    }
    local.summary
}

/// Processes one batch in order; `false` if the service is aborting.
fn run_batch<P: RecordProcessor>(
    env: &WorkerEnv<P>,
    scratch: &mut P::Worker,
    local: &mut Local,
    batch: &Batch,
) -> bool {
    for job in &batch.jobs {
        if env.shared.is_aborting() {
            return false;
        }
        let Some(tracker) = batch.trackers.get(job.tracker) else { continue };
        if local.open.as_ref().is_some_and(|o| !Arc::ptr_eq(&o.span.tracker, tracker)) {
            local.close_span();
        }
        if tracker.is_revoked() {
            local.close_span();
            metrics::skipped_revoked(1);
            continue;
        }
        match &local.open {
            Some(open) if job.offset <= open.last => {
                let error = TrackError::NotIncreasing { offset: job.offset, last: open.last };
                metrics::skipped_repeated_offset(&tracker.topic, tracker.partition, &error);
                continue;
            }
            Some(_) => {}
            None => match OpenSpan::begin(tracker, job.offset) {
                Ok(open) => local.open = Some(open),
                Err(BeginRefused::Revoked) => {
                    metrics::skipped_revoked(1);
                    continue;
                }
                Err(BeginRefused::Track(error)) => {
                    metrics::skipped_repeated_offset(&tracker.topic, tracker.partition, &error);
                    continue;
                }
            },
        }
        let (key, payload) = (batch.bytes(&job.key), batch.bytes(&job.payload));
        process(env, scratch, local, tracker, job, key, payload);
        if let Some(open) = &mut local.open {
            open.last = job.offset;
        }
    }
    true
}

/// An output not tied to one source record (statistics from tick/finish).
fn emit_unsourced<P>(env: &WorkerEnv<P>, local: &mut Local, out: OutputRecord<'_>) {
    let i = local.cache.index(out.pipeline);
    local.cache.0[i].stats_out += 1;
    local.summary.stats_out += 1;
    send_stats(env, &mut local.out, &local.stats_gate, &mut local.hdr, out);
}

/// Sends a statistics output (counted in flight before it is sent, so its
/// report cannot outrun the count).
fn send_stats<P>(
    env: &WorkerEnv<P>,
    producer: &mut WorkerProducer,
    gate: &Arc<Gate>,
    hdr: &mut Vec<u8>,
    out: OutputRecord<'_>,
) {
    env.shared.stats_sent();
    let value =
        provenance::unsourced_value(hdr, out.stats_provenance, Some(out.pipeline), out.key_id);
    producer.send(
        Outgoing { topic: out.topic, key: out.key, payload: out.payload, provenance: Some(value) },
        gate.clone(),
    );
}

fn process<P: RecordProcessor>(
    env: &WorkerEnv<P>,
    scratch: &mut P::Worker,
    local: &mut Local,
    tracker: &Arc<PartitionTracker>,
    job: &Job,
    key: Option<&[u8]>,
    payload: Option<&[u8]>,
) {
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
    let Local { cache, summary, hdr, stats_gate, open, out: producer, .. } = &mut *local;
    let Some(open) = open.as_ref() else { return };
    let mut sink = |out: OutputRecord<'_>| {
        let idx = cache.index(out.pipeline);
        first_pipeline.get_or_insert(idx);
        if !matches!(out.kind, OutputKind::Anonymized) {
            cache.0[idx].stats_out += 1;
            summary.stats_out += 1;
            send_stats(env, producer, stats_gate, hdr, out);
            return;
        }
        cache.0[idx].records_out += 1;
        summary.records_out += 1;
        let value = provenance::source_value(
            hdr,
            &tracker.header_prefix,
            job.offset,
            Some(out.pipeline),
            out.key_id,
        );
        producer.send(
            Outgoing {
                topic: out.topic,
                key: out.key,
                payload: out.payload,
                provenance: Some(value),
            },
            open.gate.clone(),
        );
    };
    let disposition = env.processor.process(scratch, &record, &mut sink);
    local.summary.records_in += 1;
    let pipeline_idx = match &disposition {
        Disposition::Emitted => first_pipeline,
        Disposition::Absorbed { pipeline } => Some(local.cache.index(pipeline)),
        Disposition::Filtered { pipeline } => {
            local.summary.filtered += 1;
            let i = local.cache.index(pipeline);
            local.cache.0[i].filtered += 1;
            Some(i)
        }
        Disposition::Failed(failure) => {
            local.summary.dead_lettered += 1;
            dead_letter(env, local, tracker, job, payload, failure);
            failure.pipeline.as_deref().map(|p| local.cache.index(p))
        }
    };
    let idx = match pipeline_idx {
        Some(i) => i,
        None => local.cache.index("none"),
    };
    let c = &mut local.cache.0[idx];
    c.records_in += 1;
    if let Some(started) = started {
        c.metrics.processing.record(metrics::seconds(started.elapsed()));
    }
}

fn dead_letter<P>(
    env: &WorkerEnv<P>,
    local: &mut Local,
    tracker: &PartitionTracker,
    job: &Job,
    payload: Option<&[u8]>,
    failure: &crate::processor::RecordFailure,
) {
    let Some(open) = &local.open else { return };
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
    let gate = Gate::of(&open.span, OutputLabel::DeadLetter, job.offset);
    metrics::dead_lettered(
        failure.pipeline.as_deref(),
        failure.error_code,
        &tracker.topic,
        tracker.partition,
        job.offset,
    );
    local.out.send(
        Outgoing {
            topic: &env.dead_letter_topic,
            // The source key may itself be personal data: dead letters have none.
            key: None,
            payload: &json,
            provenance: Some(provenance::source_value(
                &mut local.hdr,
                &tracker.header_prefix,
                job.offset,
                failure.pipeline.as_deref(),
                None,
            )),
        },
        gate,
    );
}
