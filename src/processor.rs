//! The seam between the Kafka service and the anonymization engine.
//!
//! The service (`crate::service`) knows consumers, producers, offsets and
//! shutdown; it knows nothing about fields or rules. The engine knows records
//! and rules; it knows nothing about Kafka. [`RecordProcessor`] is the whole
//! contract between them, so either side can be tested on its own.

/// One record as it came off a source topic.
#[derive(Debug, Clone, Copy)]
pub struct SourceRecord<'a> {
    /// Source topic name.
    pub topic: &'a str,
    /// Source partition.
    pub partition: i32,
    /// Source offset.
    pub offset: i64,
    /// Record key, if any.
    pub key: Option<&'a [u8]>,
    /// Record value; `None` for a tombstone.
    pub payload: Option<&'a [u8]>,
    /// Broker or producer timestamp in epoch milliseconds, if any.
    pub timestamp_ms: Option<i64>,
}

/// What an output record is, so the service can label metrics and headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// A desensitized record for analysts.
    Anonymized,
    /// A statistics row (aggregated, non-personal).
    Stats,
    /// A stats partial aggregate for the internal merge topic.
    StatsPartial,
}

/// One record the processor wants produced.
#[derive(Debug, Clone, Copy)]
pub struct OutputRecord<'a> {
    /// Destination topic.
    pub topic: &'a str,
    /// Record key (already desensitized when the pipeline treats keys as IDs).
    pub key: Option<&'a [u8]>,
    /// Record value (JSON).
    pub payload: &'a [u8],
    /// Name of the pipeline that produced it (a header and a metric label).
    pub pipeline: &'a str,
    /// Id of the key used for pseudonyms in this record, if any (a header).
    pub key_id: Option<&'a str>,
    /// What kind of record this is.
    pub kind: OutputKind,
    /// Statistics rows only: what the row covers, written into its
    /// provenance header after the source fields: `stat=<name>;window=<RFC
    /// 3339 start>;covers=<topic>:<partition>:<first>-<last>,...` (the input
    /// offsets that fed the window). `None` for everything else.
    pub stats_provenance: Option<&'a str>,
}

/// What the service commits for one source partition, from the processor's
/// point of view (see [`RecordProcessor::commit_states`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitState {
    /// The lowest offset whose record still feeds state that has not left
    /// as outputs yet (an open statistics window): the commit point stays
    /// at or below it, so a crash reads that state's records again.
    pub floor: Option<i64>,
    /// Metadata to commit with the offset (at most a few hundred bytes),
    /// handed back by [`RecordProcessor::assigned`] after a restart.
    pub metadata: String,
    /// The largest event time (ms) the partition's records carried into
    /// time-windowed state (statistics), if any: the service pauses a
    /// partition that runs far ahead of the slowest one (watermark
    /// alignment), so a backlog read from many partitions does not keep
    /// every window open at once.
    pub event_time_ms: Option<i64>,
}

/// Why a record could not be processed; becomes a dead letter.
///
/// `message` must never contain a raw field value: it names field paths and
/// the kind of problem only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFailure {
    /// Why; its string form (`invalid_json`, ...) appears only in the dead
    /// letter and the metric label.
    pub error_code: crate::error::ErrorCode,
    /// Human-readable explanation without raw values.
    pub message: String,
    /// Pipeline that rejected it, or `None` when no pipeline owns the topic.
    pub pipeline: Option<String>,
}

/// What became of one source record. Every record ends in exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Outputs were handed to the sink.
    Emitted,
    /// Intentionally filtered (counted, nothing produced).
    Filtered {
        /// Pipeline that filtered it.
        pipeline: String,
    },
    /// Absorbed into the processor's state, with no output of its own (a
    /// statistics partial merged by its owner). Counted as processed.
    Absorbed {
        /// Pipeline that absorbed it.
        pipeline: String,
    },
    /// Must go to the dead-letter topic.
    Failed(RecordFailure),
}

/// Turns source records into output records. Implemented by the pipeline
/// registry; the Kafka service is generic over it.
///
/// Implementations are shared by all worker threads (`&self`); per-thread
/// mutable state (reused buffers, caches) lives in [`RecordProcessor::Worker`].
pub trait RecordProcessor: Send + Sync + 'static {
    /// Per-worker-thread scratch state.
    type Worker: Send + 'static;

    /// Creates the scratch state for one worker thread.
    fn new_worker(&self) -> Self::Worker;

    /// Every topic the service must subscribe to.
    fn input_topics(&self) -> Vec<String>;

    /// Every topic the service may produce to (for creating them in the
    /// embedded broker and for readiness checks).
    fn output_topics(&self) -> Vec<String>;

    /// Processes one record; hands zero or more outputs to `sink` and says
    /// what became of the record. Must not panic on any input.
    fn process(
        &self,
        worker: &mut Self::Worker,
        record: &SourceRecord<'_>,
        sink: &mut dyn FnMut(OutputRecord<'_>),
    ) -> Disposition;

    /// Called periodically (about once a second, also when no traffic
    /// arrives) with the wall clock, so time-driven outputs such as closed
    /// statistics windows can be emitted.
    fn tick(&self, worker: &mut Self::Worker, now_ms: i64, sink: &mut dyn FnMut(OutputRecord<'_>));

    /// Called once at graceful shutdown, after the last record: emit anything
    /// still open (partial statistics windows).
    fn finish(&self, worker: &mut Self::Worker, sink: &mut dyn FnMut(OutputRecord<'_>));

    /// Partitions assigned to this instance at wall time `now_ms`, each
    /// with the metadata committed with its offset (empty when none). Called
    /// on the consumer thread before any record of them is processed.
    fn assigned(&self, _partitions: &[(&str, i32, &str)], _now_ms: i64) {}

    /// Partitions revoked from this instance (after their final commit).
    fn revoked(&self, _partitions: &[(&str, i32)]) {}

    /// The floor and metadata of the next commit of each partition, in
    /// order (one call per commit round, so the processor can take each
    /// lock once). `revoking` is true for the final commit of partitions
    /// moving away. The default holds nothing back. Outputs the processor
    /// emits for state it held (statistics) must leave through the sink
    /// before that state stops counting in the floor, and a commit is
    /// stored only when no such output is in flight, so a committed floor
    /// and metadata are always consistent with what was delivered.
    fn commit_states(&self, partitions: &[(&str, i32)], _revoking: bool) -> Vec<CommitState> {
        vec![CommitState::default(); partitions.len()]
    }

    /// Every pipeline name, so per-pipeline metrics exist from the start.
    fn pipeline_names(&self) -> Vec<String> {
        Vec::new()
    }
}
