//! A worker thread: runs the processor over the partitions it owns.
//!
//! Each source partition belongs to exactly one worker (so records of a
//! partition are processed in order), and each worker has its own
//! `P::Worker` scratch state. The worker receives with a timeout so
//! `processor.tick()` runs about once a second even without traffic, and
//! calls `processor.finish()` once when the consumer closes its queue during
//! a graceful shutdown.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::dead_letter::{DeadLetter, DeadLetterSource};
use crate::processor::{Disposition, OutputKind, OutputRecord, RecordProcessor, SourceRecord};

use super::metrics::{self, OutputLabel, PipelineMetrics};
use super::offsets::{BeginRefused, PartitionTracker};
use super::producer::{provenance, Ack, Outgoing, OutputProducer};
use super::state::Shared;
use super::RunSummary;

/// How often `processor.tick()` runs.
const TICK: Duration = Duration::from_secs(1);

/// One fetched record on its way to a worker.
pub(crate) struct Job {
    pub tracker: Arc<PartitionTracker>,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub timestamp_ms: Option<i64>,
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

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Runs until the queue closes (graceful: then `finish()`) or the service
/// aborts (no `finish()`). Returns what this worker did.
pub(crate) fn run<P: RecordProcessor>(env: WorkerEnv<P>, queue: Receiver<Vec<Job>>) -> RunSummary {
    let mut scratch = env.processor.new_worker();
    let mut cache = MetricCache::default();
    let mut summary = RunSummary::default();
    let mut next_tick = Instant::now() + TICK;
    loop {
        let wait = next_tick.saturating_duration_since(Instant::now());
        match queue.recv_timeout(wait) {
            Ok(batch) => {
                for job in batch {
                    if env.shared.is_aborting() {
                        return summary;
                    }
                    process(&env, &mut scratch, &mut cache, &mut summary, job);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if env.shared.is_aborting() {
            return summary;
        }
        if Instant::now() >= next_tick {
            let mut sink =
                |out: OutputRecord<'_>| emit_unsourced(&env, &mut cache, &mut summary, out);
            env.processor.tick(&mut scratch, now_ms(), &mut sink);
            next_tick = Instant::now() + TICK;
        }
    }
    if !env.shared.is_aborting() {
        let mut sink = |out: OutputRecord<'_>| emit_unsourced(&env, &mut cache, &mut summary, out);
        env.processor.finish(&mut scratch, &mut sink);
    }
    summary
}

/// An output not tied to one source record (statistics from tick/finish).
fn emit_unsourced<P>(
    env: &WorkerEnv<P>,
    cache: &mut MetricCache,
    summary: &mut RunSummary,
    out: OutputRecord<'_>,
) {
    cache.get(out.pipeline).stats_out.increment(1);
    summary.stats_out += 1;
    env.producer.send(
        Outgoing {
            topic: out.topic,
            key: out.key,
            payload: out.payload,
            headers: Some(provenance(None, Some(out.pipeline), out.key_id)),
        },
        Ack { source: None, kind: OutputLabel::Stats },
    );
}

fn process<P: RecordProcessor>(
    env: &WorkerEnv<P>,
    scratch: &mut P::Worker,
    cache: &mut MetricCache,
    summary: &mut RunSummary,
    job: Job,
) {
    let tracker = &job.tracker;
    match tracker.begin(job.offset) {
        Ok(()) => {}
        Err(BeginRefused::Revoked) => {
            metrics::skipped_revoked(1);
            return;
        }
        Err(BeginRefused::Track(error)) => {
            tracing::warn!(
                topic = %tracker.topic, partition = tracker.partition, %error,
                "record delivered twice in one assignment; skipped"
            );
            return;
        }
    }
    let started = Instant::now();
    let record = SourceRecord {
        topic: &tracker.topic,
        partition: tracker.partition,
        offset: job.offset,
        key: job.key.as_deref(),
        payload: job.payload.as_deref(),
        timestamp_ms: job.timestamp_ms,
    };
    let source = Some((tracker.topic.as_str(), tracker.partition, job.offset));
    let mut first_pipeline: Option<usize> = None;
    let mut sink = |out: OutputRecord<'_>| {
        let idx = cache.index(out.pipeline);
        first_pipeline.get_or_insert(idx);
        let m = &cache.0[idx].1;
        let (ack, headers) = match out.kind {
            OutputKind::Anonymized => {
                m.records_out.increment(1);
                summary.records_out += 1;
                // Registered before sending, so the report cannot outrun it.
                let gating = tracker.add_output(job.offset).is_ok();
                let ack = Ack {
                    source: gating.then(|| (tracker.clone(), job.offset)),
                    kind: OutputLabel::Anonymized,
                };
                (ack, provenance(source, Some(out.pipeline), out.key_id))
            }
            OutputKind::Stats | OutputKind::StatsPartial => {
                m.stats_out.increment(1);
                summary.stats_out += 1;
                let ack = Ack { source: None, kind: OutputLabel::Stats };
                (ack, provenance(None, Some(out.pipeline), out.key_id))
            }
        };
        env.producer.send(
            Outgoing {
                topic: out.topic,
                key: out.key,
                payload: out.payload,
                headers: Some(headers),
            },
            ack,
        );
    };
    let disposition = env.processor.process(scratch, &record, &mut sink);
    summary.records_in += 1;
    let pipeline_idx = match &disposition {
        Disposition::Emitted => first_pipeline,
        Disposition::Absorbed { pipeline } => Some(cache.index(pipeline)),
        Disposition::Filtered { pipeline } => {
            summary.filtered += 1;
            let i = cache.index(pipeline);
            cache.0[i].1.filtered.increment(1);
            Some(i)
        }
        Disposition::Failed(failure) => {
            summary.dead_lettered += 1;
            dead_letter(env, &job, failure);
            failure.pipeline.as_deref().map(|p| cache.index(p))
        }
    };
    let idx = match pipeline_idx {
        Some(i) => i,
        None => cache.index("none"),
    };
    let m = &cache.0[idx].1;
    m.records_in.increment(1);
    m.processing.record(metrics::seconds(started.elapsed()));
    // Release the "being processed" unit; outputs still pending keep it open.
    let _ = tracker.ack(job.offset, true);
}

fn dead_letter<P>(env: &WorkerEnv<P>, job: &Job, failure: &crate::processor::RecordFailure) {
    let tracker = &job.tracker;
    let payload = job.payload.as_deref().unwrap_or_default();
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
            headers: Some(provenance(
                Some((&tracker.topic, tracker.partition, job.offset)),
                failure.pipeline.as_deref(),
                None,
            )),
        },
        Ack {
            source: gating.then(|| (tracker.clone(), job.offset)),
            kind: OutputLabel::DeadLetter,
        },
    );
}
