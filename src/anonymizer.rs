//! The engine side of the service seam: [`Anonymizer`] implements
//! [`RecordProcessor`] over a [`PipelineSet`], with statistics.
//!
//! Routing is by source topic. Each worker thread owns a [`Scratch`]
//! (buffers, user-agent cache); pipelines are shared and immutable.
//! Statistics are split per pipeline into one [`StatsCore`] (the clock and
//! the output side) and one [`StatsShard`] per worker (its share of the open
//! windows): a worker extracts a record's fields into its own
//! [`Observation`] and feeds its own shard, whose lock no other thread takes
//! except when windows close (`tick`, about once a second) or a commit
//! asks for floors. The core then merges every shard's share of each closed
//! window and applies the thresholds to the merged groups only.
//!
//! # Statistics modes
//! - [`StatsMode::Direct`] (one instance, or each instance alone): windows are
//!   thresholded and emitted by the instance that saw the records.
//! - [`StatsMode::Merged`] (several instances in one group): each instance
//!   emits mergeable partial aggregates of its closed windows to an internal
//!   topic, keyed by `stat|window`, so every partial of a window reaches the
//!   instance that owns that key's partition; the owner merges them and
//!   applies the thresholds to the merged groups, so suppression stays
//!   correct when one group's records are spread over instances.
//!
//! # Sources, commit floors, restarts
//! Every `(topic, partition)` is interned once as a [`SourceId`]; engines
//! track event time per source (see `stats::clock`) and, per open window,
//! the first and last offset of each source that fed it. The service asks
//! [`RecordProcessor::commit_states`] before committing: the commit point of a
//! partition stays at the first offset of the oldest window it fed that has
//! not been emitted, and the commit carries, per statistic, the end of the
//! last window emitted (`logveil.stats/1;<pipeline>/<stat>=<epoch ms>;...`).
//! After a crash the partition is read again from there; records of windows
//! the metadata says were emitted are skipped, the others rebuild their
//! windows whole, and the rows, keyed `stat|window|group`, overwrite any
//! earlier copy with the same content. Rows leave through the sink while the
//! engine's lock is held, so a window is always either in the floor or in
//! the producer's in-flight count the service checks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use metrics::Counter;

use crate::engine_metrics::{
    field_dropped_counter, publish_stats_counters, publish_stats_state, stats_lock_poisoned,
};
use crate::error::ErrorCode;
use crate::pipeline::{PipelineSet, Scratch};
use crate::processor::{
    CommitState, Disposition, OutputKind, OutputRecord, RecordFailure, RecordProcessor,
    SourceRecord,
};
pub use crate::stats::StatsMode;
use crate::stats::{
    open_groups, open_windows, write_rfc3339_secs, Observation, PartialRow, SourceId, StatsCore,
    StatsEngine, StatsExtractor, StatsRow, StatsShard,
};

/// Prefix of the commit metadata written by the statistics.
const METADATA_SCHEMA: &str = "logveil.stats/1";

/// Statistics state of one pipeline.
struct PipelineStats {
    /// Field extraction, run by workers before they feed their shard.
    extractor: StatsExtractor,
    /// Direct mode: closes windows and emits final rows. Merged mode: emits partials.
    local: Mutex<StatsCore>,
    /// One shard per worker (registered by `new_worker`), in registration
    /// order; locked by its worker per record and by the core with all
    /// others when windows close. Lock order: `local`, this list, shards.
    shards: Mutex<Vec<Arc<Mutex<StatsShard>>>>,
    /// Merged mode only: merges partials and emits final rows.
    merge: Option<Mutex<StatsEngine>>,
}

impl PipelineStats {
    /// Runs `f` on the core and every shard, all locked (see the lock order).
    fn with_all<R>(
        &self,
        pipeline: &str,
        f: impl FnOnce(&mut StatsCore, &mut [&mut StatsShard]) -> R,
    ) -> R {
        let mut core = lock_stats(&self.local, pipeline, false);
        let list = self.shards.lock().unwrap_or_else(PoisonError::into_inner);
        let mut guards: Vec<MutexGuard<'_, StatsShard>> =
            list.iter().map(|s| lock_stats(s, pipeline, false)).collect();
        let mut shards: Vec<&mut StatsShard> = guards.iter_mut().map(|g| &mut **g).collect();
        f(&mut core, &mut shards)
    }

    /// A new shard for one more worker, registered with the core.
    fn register_shard(&self, pipeline: &str) -> Arc<Mutex<StatsShard>> {
        let core = lock_stats(&self.local, pipeline, false);
        let shard = Arc::new(Mutex::new(core.new_shard()));
        self.shards.lock().unwrap_or_else(PoisonError::into_inner).push(Arc::clone(&shard));
        shard
    }
}

/// Interned `(topic, partition)` names of sources.
#[derive(Default)]
struct SourceTable {
    ids: HashMap<(String, i32), SourceId>,
    names: Vec<(String, i32)>,
}

impl SourceTable {
    fn id(&mut self, topic: &str, partition: i32) -> SourceId {
        if let Some(&id) = self.ids.get(&(topic.to_owned(), partition)) {
            return id;
        }
        let id = self.names.len() as SourceId;
        self.names.push((topic.to_owned(), partition));
        self.ids.insert((topic.to_owned(), partition), id);
        id
    }
}

/// All pipelines plus their statistics, ready for the Kafka service.
pub struct Anonymizer {
    set: PipelineSet,
    stats: Vec<Option<PipelineStats>>,
    mode: StatsMode,
    /// `[pipeline][rule]` counters of fields dropped by failure.
    field_dropped: Vec<Vec<Counter>>,
    sources: Mutex<SourceTable>,
}

/// Per-worker scratch state.
pub struct AnonWorker {
    scratch: Scratch,
    observation: Observation,
    /// This worker's statistics shard of each pipeline (`None`: no stats).
    shards: Vec<Option<Arc<Mutex<StatsShard>>>>,
    rows: Vec<StatsRow>,
    partials: Vec<PartialRow>,
    /// The last source looked up (records of a partition come in runs).
    last_source: Option<(String, i32, SourceId)>,
    /// Reused provenance text of statistics rows.
    provenance: String,
}

impl AnonWorker {
    /// Indices of the rules whose field was dropped in the last processed
    /// record (its value could not be transformed).
    pub fn failed_rules(&self) -> &[usize] {
        &self.scratch.failed_rules
    }
}

impl std::fmt::Debug for Anonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anonymizer").field("pipelines", &self.set.pipelines().len()).finish()
    }
}

impl Anonymizer {
    /// Wraps compiled pipelines with direct statistics.
    pub fn new(set: PipelineSet) -> Self {
        Self::with_stats_mode(set, StatsMode::Direct)
    }

    /// Wraps compiled pipelines; registers metric handles (install the
    /// metrics recorder before calling this, or counts go nowhere).
    pub fn with_stats_mode(set: PipelineSet, mode: StatsMode) -> Self {
        let merge_delay = match &mode {
            StatsMode::Direct => None,
            StatsMode::Merged { merge_delay_ms, .. } => Some(*merge_delay_ms),
        };
        let stats = set
            .pipelines()
            .iter()
            .map(|p| {
                (!p.stats.is_empty()).then(|| {
                    let local = StatsCore::new(p.stats.clone());
                    PipelineStats {
                        extractor: local.extractor(),
                        local: Mutex::new(local),
                        shards: Mutex::default(),
                        merge: merge_delay.map(|delay| {
                            let mut e = StatsEngine::new(p.stats.clone());
                            e.set_merge_delay(delay);
                            Mutex::new(e)
                        }),
                    }
                })
            })
            .collect();
        let field_dropped = set
            .pipelines()
            .iter()
            .map(|p| {
                p.rules.iter().map(|r| field_dropped_counter(&p.name, r.action_name)).collect()
            })
            .collect();
        Anonymizer { set, stats, mode, field_dropped, sources: Mutex::default() }
    }

    /// The interned id of `(topic, partition)`, through the worker's cache.
    fn source_id(&self, worker: &mut AnonWorker, topic: &str, partition: i32) -> SourceId {
        if let Some((t, p, id)) = &worker.last_source {
            if *p == partition && t == topic {
                return *id;
            }
        }
        let id = self.intern(topic, partition);
        worker.last_source = Some((topic.to_owned(), partition, id));
        id
    }

    fn intern(&self, topic: &str, partition: i32) -> SourceId {
        let mut table = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        table.id(topic, partition)
    }

    /// Writes a row's provenance: `stat=..;window=..;covers=t:p:first-last,..`.
    fn stats_provenance(&self, row: &StatsRow, out: &mut String) {
        out.clear();
        out.push_str("stat=");
        out.push_str(&row.stat);
        out.push_str(";window=");
        let mut start = Vec::with_capacity(20);
        write_rfc3339_secs(row.window_start_ms, &mut start);
        out.push_str(std::str::from_utf8(&start).unwrap_or_default());
        out.push_str(";covers=");
        let table = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        for (i, span) in row.sources.iter().enumerate() {
            if let Some((topic, partition)) = table.names.get(span.source as usize) {
                if i > 0 {
                    out.push(',');
                }
                use std::fmt::Write as _;
                let _ = write!(out, "{topic}:{partition}:{}-{}", span.first, span.last);
            }
        }
    }

    /// The statistics a partition feeds: its pipeline's local side, or
    /// every merge engine for the partials topic.
    fn engines_of(&self, topic: &str) -> Vec<Engine<'_>> {
        if Some(topic) == self.partials_topic() {
            return self
                .set
                .pipelines()
                .iter()
                .zip(&self.stats)
                .filter_map(|(p, s)| {
                    s.as_ref().and_then(|s| s.merge.as_ref()).map(|m| Engine::Merge(&p.name, m))
                })
                .collect();
        }
        match self.set.for_topic(topic) {
            Some((i, p)) => {
                self.stats[i].as_ref().map(|s| vec![Engine::Local(&p.name, s)]).unwrap_or_default()
            }
            None => Vec::new(),
        }
    }

    /// The pipelines.
    pub fn pipelines(&self) -> &PipelineSet {
        &self.set
    }

    fn partials_topic(&self) -> Option<&str> {
        match &self.mode {
            StatsMode::Direct => None,
            StatsMode::Merged { partials_topic, .. } => Some(partials_topic),
        }
    }

    /// Polls (or finishes) every pipeline's statistics and hands rows and
    /// partials to `sink`.
    fn drain_stats(
        &self,
        worker: &mut AnonWorker,
        finish: bool,
        now_ms: i64,
        sink: &mut dyn FnMut(OutputRecord<'_>),
    ) {
        for (p, stats) in self.set.pipelines().iter().zip(&self.stats) {
            let Some(stats) = stats else { continue };
            // Outputs leave while the engine's lock is held: a closed window
            // is in the engine's floor until its rows are in the producer.
            stats.with_all(&p.name, |core, shards| {
                let (rows, partials) = (&mut worker.rows, &mut worker.partials);
                match (self.partials_topic(), finish) {
                    (None, false) => core.poll(shards, now_ms, rows),
                    (None, true) => core.finish(shards, rows),
                    (Some(_), false) => core.poll_partials(shards, now_ms, partials),
                    (Some(_), true) => core.finish_partials(shards, partials),
                }
                let shards: Vec<&StatsShard> = shards.iter().map(|s| &**s).collect();
                publish_stats_counters(&p.name, &core.counters(&shards));
                publish_stats_state(&p.name, open_windows(&shards), open_groups(&shards));
                self.send_rows(worker, &p.name, sink);
            });
            if let Some(merge) = &stats.merge {
                {
                    let mut e = lock_stats(merge, &p.name, true);
                    if finish {
                        e.finish(&mut worker.rows);
                    } else {
                        e.poll(now_ms, &mut worker.rows);
                    }
                    publish_stats_counters(&format!("{}:merge", p.name), &e.counters());
                    self.send_rows(worker, &p.name, sink);
                }
            }
        }
    }

    /// Hands the worker's pending rows and partials to `sink`.
    fn send_rows(
        &self,
        worker: &mut AnonWorker,
        pipeline: &str,
        sink: &mut dyn FnMut(OutputRecord<'_>),
    ) {
        let mut provenance = std::mem::take(&mut worker.provenance);
        for row in worker.rows.drain(..) {
            self.stats_provenance(&row, &mut provenance);
            sink(OutputRecord {
                topic: &row.topic,
                key: Some(&row.key),
                payload: &row.json,
                pipeline,
                key_id: None,
                kind: OutputKind::Stats,
                stats_provenance: Some(&provenance),
            });
        }
        worker.provenance = provenance;
        if let Some(topic) = self.partials_topic() {
            for part in worker.partials.drain(..) {
                sink(OutputRecord {
                    topic,
                    key: Some(&part.key),
                    payload: &part.json,
                    pipeline,
                    key_id: None,
                    kind: OutputKind::StatsPartial,
                    stats_provenance: None,
                });
            }
        }
    }

    /// Merges a partial into the pipeline whose statistics know it.
    fn absorb_partial(&self, payload: &[u8], source: SourceId, offset: i64) -> Disposition {
        for (p, stats) in self.set.pipelines().iter().zip(&self.stats) {
            let Some(merge) = stats.as_ref().and_then(|s| s.merge.as_ref()) else { continue };
            let mut e = lock_stats(merge, &p.name, true);
            if e.merge_partial_from(payload, source, Some(offset)).is_ok() {
                return Disposition::Absorbed { pipeline: p.name.clone() };
            }
        }
        Disposition::Failed(RecordFailure {
            error_code: ErrorCode::InvalidPartial,
            message: "no statistic of any pipeline accepts this partial".into(),
            pipeline: None,
        })
    }
}

/// What a partition's statistics are: a pipeline's local side (core and
/// shards) or a merge engine for the partials topic.
enum Engine<'a> {
    Local(&'a str, &'a PipelineStats),
    Merge(&'a str, &'a Mutex<StatsEngine>),
}

/// Locks a pipeline's statistics engine (or core, or shard). A poisoned lock (a thread panicked
/// while holding it) is recovered, not skipped, so one panic cannot silently
/// stop a pipeline's statistics: the state is taken back with
/// [`PoisonError::into_inner`], the poison is cleared, and the event is logged
/// as an error and counted (`logveil_stats_lock_poisoned_total`). The engine
/// mutates its state one record at a time, so what a panic can leave behind
/// is at most that one record's update of one window.
fn lock_stats<'a, T>(engine: &'a Mutex<T>, pipeline: &str, merging: bool) -> MutexGuard<'a, T> {
    engine.lock().unwrap_or_else(|poisoned: PoisonError<_>| {
        if merging {
            stats_lock_poisoned(&format!("{pipeline}:merge"));
        } else {
            stats_lock_poisoned(pipeline);
        }
        engine.clear_poison();
        poisoned.into_inner()
    })
}

/// The `(stat, closed until)` pairs of `pipeline` in commit metadata;
/// anything malformed is ignored (the windows are then simply rebuilt).
fn parse_metadata<'a>(metadata: &'a str, pipeline: &str) -> Vec<(&'a str, i64)> {
    let mut parts = metadata.split(';');
    if parts.next() != Some(METADATA_SCHEMA) {
        return Vec::new();
    }
    parts
        .filter_map(|pair| {
            let (name, until) = pair.split_once('=')?;
            let (p, stat) = name.split_once('/')?;
            (p == pipeline).then_some((stat, until.parse().ok()?))
        })
        .collect()
}

impl RecordProcessor for Anonymizer {
    type Worker = AnonWorker;

    fn new_worker(&self) -> AnonWorker {
        let shards = self
            .set
            .pipelines()
            .iter()
            .zip(&self.stats)
            .map(|(p, s)| s.as_ref().map(|s| s.register_shard(&p.name)))
            .collect();
        AnonWorker {
            scratch: Scratch::default(),
            observation: Observation::default(),
            shards,
            rows: Vec::new(),
            partials: Vec::new(),
            last_source: None,
            provenance: String::new(),
        }
    }

    fn input_topics(&self) -> Vec<String> {
        let mut topics: Vec<String> =
            self.set.pipelines().iter().flat_map(|p| p.input_topics.iter().cloned()).collect();
        topics.extend(self.partials_topic().map(str::to_string));
        topics
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
        topics.extend(self.partials_topic().map(str::to_string));
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
        if Some(record.topic) == self.partials_topic() {
            let source = self.source_id(worker, record.topic, record.partition);
            return self.absorb_partial(record.payload.unwrap_or_default(), source, record.offset);
        }
        let Some((i, p)) = self.set.for_topic(record.topic) else {
            return Disposition::Failed(RecordFailure {
                error_code: ErrorCode::NoPipeline,
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
                error_code: e.code,
                message: e.message,
                pipeline: Some(p.name.clone()),
            });
        }
        for &ri in &scratch.failed_rules {
            self.field_dropped[i][ri].increment(1);
        }
        if let Some(stats) = &self.stats[i] {
            let source = self.source_id(worker, record.topic, record.partition);
            let (out, located) = (&worker.scratch.out, &worker.scratch.stats_located);
            if p.stats_capture {
                stats.extractor.extract_located(out, located, &mut worker.observation);
            } else {
                stats.extractor.extract(out, &mut worker.observation);
            }
            if let Some(shard) = &worker.shards[i] {
                // This worker's own shard: uncontended except while windows close.
                lock_stats(shard, &p.name, false).observe_from(
                    &worker.observation,
                    source,
                    Some(record.offset),
                );
            }
        }
        let scratch = &mut worker.scratch;
        let has_key = p.transform_key(record.key, scratch);
        sink(OutputRecord {
            topic: &p.output_topic,
            key: has_key.then_some(&scratch.key_out[..]),
            payload: &scratch.out,
            pipeline: &p.name,
            key_id: p.key_id.as_deref(),
            kind: OutputKind::Anonymized,
            stats_provenance: None,
        });
        Disposition::Emitted
    }

    fn tick(&self, worker: &mut AnonWorker, now_ms: i64, sink: &mut dyn FnMut(OutputRecord<'_>)) {
        self.drain_stats(worker, false, now_ms, sink);
    }

    fn finish(&self, worker: &mut AnonWorker, sink: &mut dyn FnMut(OutputRecord<'_>)) {
        self.drain_stats(worker, true, 0, sink);
    }

    fn assigned(&self, partitions: &[(&str, i32, &str)], now_ms: i64) {
        for &(topic, partition, metadata) in partitions {
            let source = self.intern(topic, partition);
            for engine in self.engines_of(topic) {
                match engine {
                    Engine::Local(pipeline, stats) => stats.with_all(pipeline, |core, shards| {
                        core.assign_source(shards, source, now_ms);
                        for (stat, until) in parse_metadata(metadata, pipeline) {
                            core.restore_closed(shards, stat, until);
                        }
                    }),
                    Engine::Merge(pipeline, m) => {
                        let mut e = lock_stats(m, pipeline, true);
                        e.assign_source(source, now_ms);
                        for (stat, until) in parse_metadata(metadata, pipeline) {
                            e.restore_closed(stat, until);
                        }
                    }
                }
            }
        }
    }

    fn revoked(&self, partitions: &[(&str, i32)]) {
        for &(topic, partition) in partitions {
            let source = self.intern(topic, partition);
            for engine in self.engines_of(topic) {
                match engine {
                    Engine::Local(pipeline, stats) => stats.with_all(pipeline, |core, shards| {
                        core.revoke_source(shards, source);
                    }),
                    Engine::Merge(pipeline, m) => {
                        let mut e = lock_stats(m, pipeline, true);
                        e.revoke_source(source);
                        // The partition's new owner reads its partials again from
                        // the committed floor and rebuilds these windows whole.
                        e.drop_windows_of(source);
                    }
                }
            }
        }
    }

    fn commit_states(&self, partitions: &[(&str, i32)], revoking: bool) -> Vec<CommitState> {
        // Each engine is locked once per round: all its floors and its
        // metadata fragment, by engine address.
        type Snapshot = (Vec<Option<i64>>, Vec<Option<i64>>, String);
        let mut snapshots: HashMap<usize, Snapshot> = HashMap::new();
        let mut out = Vec::with_capacity(partitions.len());
        for &(topic, partition) in partitions {
            let engines = self.engines_of(topic);
            if engines.is_empty() {
                out.push(CommitState::default());
                continue;
            }
            let source = self.intern(topic, partition);
            let mut state = CommitState {
                floor: None,
                metadata: METADATA_SCHEMA.to_owned(),
                event_time_ms: None,
            };
            for engine in engines {
                let (id, merging) = match engine {
                    Engine::Local(_, s) => (s as *const PipelineStats as usize, false),
                    Engine::Merge(_, m) => (m as *const Mutex<StatsEngine> as usize, true),
                };
                let (floors, progress, meta) = match snapshots.entry(id) {
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        let fragment = |pipeline: &str, closed: Vec<(&str, i64)>| {
                            let mut meta = String::new();
                            for (stat, until) in closed {
                                use std::fmt::Write as _;
                                let _ = write!(meta, ";{pipeline}/{stat}={until}");
                            }
                            meta
                        };
                        v.insert(match engine {
                            Engine::Local(pipeline, stats) => {
                                stats.with_all(pipeline, |core, shards| {
                                    let shards: Vec<&StatsShard> =
                                        shards.iter().map(|s| &**s).collect();
                                    let meta = fragment(pipeline, core.closed_until());
                                    (
                                        core.commit_floors(&shards),
                                        core.source_progress(&shards),
                                        meta,
                                    )
                                })
                            }
                            Engine::Merge(pipeline, m) => {
                                let e = lock_stats(m, pipeline, true);
                                // Partials carry sender watermarks, not a
                                // partition's own event time: no alignment.
                                (
                                    e.commit_floors(),
                                    Vec::new(),
                                    fragment(pipeline, e.closed_until()),
                                )
                            }
                        })
                    }
                };
                // A sender in merged mode keeps a revoked partition's records
                // in its windows and emits them as partials: the new owner
                // starts after them.
                let keeps = revoking && !merging && self.partials_topic().is_some();
                let floor = floors.get(source as usize).copied().flatten();
                if let (false, Some(f)) = (keeps, floor) {
                    state.floor = Some(state.floor.map_or(f, |g: i64| g.min(f)));
                }
                state.metadata.push_str(meta.as_str());
                if let Some(t) = progress.get(source as usize).copied().flatten() {
                    state.event_time_ms = Some(state.event_time_ms.map_or(t, |u: i64| u.max(t)));
                }
            }
            out.push(state);
        }
        out
    }

    fn pipeline_names(&self) -> Vec<String> {
        self.set.pipelines().iter().map(|p| p.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyStore;
    use crate::pipeline::Pipeline;

    fn anonymizer() -> Anonymizer {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/access_log.toml");
        let pipe = Pipeline::load(&path, &KeyStore::for_tests(&["ids".to_owned()])).unwrap();
        Anonymizer::new(PipelineSet::new(vec![pipe]).unwrap())
    }

    /// Feeds ten requests by ten users in one minute, then finishes; returns
    /// the statistics rows.
    fn run(anon: &Anonymizer) -> Vec<String> {
        let mut worker = anon.new_worker();
        let mut rows = Vec::new();
        let mut sink = |o: OutputRecord<'_>| {
            if o.kind == OutputKind::Stats {
                rows.push(String::from_utf8_lossy(o.payload).into_owned());
            }
        };
        for i in 0..10 {
            let raw = format!(
                r#"{{"ts":"2024-05-14T08:17:{i:02}Z","client_ip":"203.0.113.7","user_id":"u_{i}","method":"GET","path":"/x","status":200,"user_agent":"curl/8.0"}}"#
            );
            let record = SourceRecord {
                topic: "raw.access",
                partition: 0,
                offset: i,
                key: None,
                payload: Some(raw.as_bytes()),
                timestamp_ms: None,
            };
            assert_eq!(anon.process(&mut worker, &record, &mut sink), Disposition::Emitted);
        }
        anon.finish(&mut worker, &mut sink);
        rows
    }

    /// A panic while a statistics lock is held must not silently stop the
    /// pipeline's statistics: the state is recovered, the event counted.
    #[test]
    fn poisoned_statistics_lock_is_recovered_and_counted() {
        let handle = crate::service::metrics::prometheus_handle().unwrap();
        let control = run(&anonymizer());
        assert!(control.iter().any(|r| r.contains(r#""/x""#)), "{control:?}");

        let anon = anonymizer();
        let engine = &anon.stats[0].as_ref().unwrap().local;
        let panicked = std::thread::scope(|s| {
            s.spawn(|| {
                let _guard = engine.lock();
                panic!("test: poison the statistics lock");
            })
            .join()
        });
        assert!(panicked.is_err());
        assert!(engine.is_poisoned());
        assert_eq!(run(&anon), control, "statistics changed or stopped after a poisoned lock");
        assert!(!engine.is_poisoned(), "the poison is cleared once recovered");
        let text = handle.render();
        let line = text
            .lines()
            .find(|l| l.starts_with("logveil_stats_lock_poisoned_total{pipeline=\"access_log\"}"))
            .unwrap_or_else(|| panic!("no poisoned-lock counter in\n{text}"));
        assert!(line.ends_with(" 1"), "{line}");
    }
}
