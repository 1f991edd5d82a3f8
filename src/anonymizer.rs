//! The engine side of the service seam: [`Anonymizer`] implements
//! [`RecordProcessor`] over a [`PipelineSet`], with statistics.
//!
//! Routing is by source topic. Each worker thread owns a [`Scratch`]
//! (buffers, user-agent cache); pipelines are shared and immutable.
//! Statistics engines are shared per pipeline behind a mutex; each worker
//! extracts a record's fields (most of the cost) outside the lock with its
//! own [`StatsExtractor`] and [`Observation`], and takes the lock only for
//! the aggregation (a few hash updates); windows are emitted on `tick`.

use std::sync::Mutex;

use metrics::Counter;

use crate::error::ErrorCode;
use crate::pipeline::{PipelineSet, Scratch};
use crate::processor::{
    Disposition, OutputKind, OutputRecord, RecordFailure, RecordProcessor, SourceRecord,
};
use crate::service::metrics as m;
use crate::stats::{Observation, StatsEngine, StatsExtractor, StatsRow};

/// All pipelines plus their statistics, ready for the Kafka service.
pub struct Anonymizer {
    set: PipelineSet,
    stats: Vec<Option<(StatsExtractor, Mutex<StatsEngine>)>>,
    /// `[pipeline][rule]` counters of fields dropped by failure.
    field_dropped: Vec<Vec<Counter>>,
}

/// Per-worker scratch state.
pub struct AnonWorker {
    scratch: Scratch,
    observation: Observation,
    rows: Vec<StatsRow>,
}

impl std::fmt::Debug for Anonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anonymizer").field("pipelines", &self.set.pipelines().len()).finish()
    }
}

impl Anonymizer {
    /// Wraps compiled pipelines; registers metric handles (install the
    /// metrics recorder before calling this, or counts go nowhere).
    pub fn new(set: PipelineSet) -> Self {
        let stats = set
            .pipelines()
            .iter()
            .map(|p| {
                (!p.stats.is_empty()).then(|| {
                    let engine = StatsEngine::new(p.stats.clone());
                    (engine.extractor(), Mutex::new(engine))
                })
            })
            .collect();
        let field_dropped = set
            .pipelines()
            .iter()
            .map(|p| {
                p.rules
                    .iter()
                    .map(|r| {
                        metrics::counter!(m::FIELDS_DROPPED_TOTAL,
                            "pipeline" => p.name.clone(), "action" => r.action_name)
                    })
                    .collect()
            })
            .collect();
        Anonymizer { set, stats, field_dropped }
    }

    /// The pipelines.
    pub fn pipelines(&self) -> &PipelineSet {
        &self.set
    }

    /// Polls (or finishes) every pipeline's statistics and hands the rows to `sink`.
    fn drain_stats(
        &self,
        worker: &mut AnonWorker,
        finish: bool,
        now_ms: i64,
        sink: &mut dyn FnMut(OutputRecord<'_>),
    ) {
        for (p, engine) in self.set.pipelines().iter().zip(&self.stats) {
            let Some((_, engine)) = engine else { continue };
            // A poisoned lock means a panic elsewhere; skip rather than propagate.
            if let Ok(mut e) = engine.lock() {
                if finish {
                    e.finish(&mut worker.rows);
                } else {
                    e.poll(now_ms, &mut worker.rows);
                }
            }
            for row in worker.rows.drain(..) {
                sink(OutputRecord {
                    topic: &row.topic,
                    key: Some(row.stat.as_bytes()),
                    payload: &row.json,
                    pipeline: &p.name,
                    key_id: None,
                    kind: OutputKind::Stats,
                });
            }
        }
    }
}

impl RecordProcessor for Anonymizer {
    type Worker = AnonWorker;

    fn new_worker(&self) -> AnonWorker {
        AnonWorker {
            scratch: Scratch::default(),
            observation: Observation::default(),
            rows: Vec::new(),
        }
    }

    fn input_topics(&self) -> Vec<String> {
        self.set.pipelines().iter().flat_map(|p| p.input_topics.iter().cloned()).collect()
    }

    fn output_topics(&self) -> Vec<String> {
        let mut topics: Vec<String> = self
            .set
            .pipelines()
            .iter()
            .flat_map(|p| {
                std::iter::once(p.output_topic.clone())
                    .chain(p.stats.iter().map(|s| s.topic().to_string()))
            })
            .collect();
        topics.sort();
        topics.dedup();
        topics
    }

    fn process(
        &self,
        worker: &mut AnonWorker,
        record: &SourceRecord<'_>,
        sink: &mut dyn FnMut(OutputRecord<'_>),
    ) -> Disposition {
        let Some((i, p)) = self.set.for_topic(record.topic) else {
            return Disposition::Failed(RecordFailure {
                error_code: ErrorCode::NoPipeline.as_str(),
                message: "no pipeline reads this topic".into(),
                pipeline: None,
            });
        };
        let Some(payload) = record.payload else {
            // A tombstone carries no record: intentionally filtered, counted.
            return Disposition::Filtered { pipeline: p.name.clone() };
        };
        let scratch = &mut worker.scratch;
        if let Err(e) = p.process(payload, scratch) {
            return Disposition::Failed(RecordFailure {
                error_code: e.code.as_str(),
                message: e.message,
                pipeline: Some(p.name.clone()),
            });
        }
        for &ri in &scratch.failed_rules {
            self.field_dropped[i][ri].increment(1);
        }
        if let Some((extractor, engine)) = &self.stats[i] {
            extractor.extract(&scratch.out, &mut worker.observation);
            if let Ok(mut e) = engine.lock() {
                e.observe_extracted(&worker.observation);
            }
        }
        let has_key = p.transform_key(record.key, scratch);
        sink(OutputRecord {
            topic: &p.output_topic,
            key: has_key.then_some(&scratch.key_out[..]),
            payload: &scratch.out,
            pipeline: &p.name,
            key_id: p.key_id.as_deref(),
            kind: OutputKind::Anonymized,
        });
        Disposition::Emitted
    }

    fn tick(&self, worker: &mut AnonWorker, now_ms: i64, sink: &mut dyn FnMut(OutputRecord<'_>)) {
        self.drain_stats(worker, false, now_ms, sink);
    }

    fn finish(&self, worker: &mut AnonWorker, sink: &mut dyn FnMut(OutputRecord<'_>)) {
        self.drain_stats(worker, true, 0, sink);
    }
}
