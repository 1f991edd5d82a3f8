//! The consumer thread: fetches, dispatches by partition, stores offsets,
//! handles rebalances and runs the shutdown sequence.
//!
//! It owns the group consumer. Rebalance callbacks run on this thread inside
//! `poll`, so a revocation can wait for the revoked partitions' in-flight
//! outputs (bounded), commit their delivered offsets synchronously and drop
//! their trackers before the partitions move to another instance.

use std::ffi::CStr;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::Producer;
use rdkafka::{ClientContext, Message, Offset, Statistics, TopicPartitionList};

use super::align::Aligner;
use super::metrics;
use super::offsets::PartitionTracker;
use super::producer::OutputProducer;
use super::state::Shared;
use super::worker::Batch;
use super::{RunSummary, ServiceError};

/// How often delivered offsets are handed to librdkafka's offset store
/// (librdkafka commits the store every `kafka.commit_interval_ms`).
const STORE_EVERY: Duration = Duration::from_millis(100);

/// How often free C-heap memory is handed back to the OS (see `heap`).
const TRIM_EVERY: Duration = Duration::from_secs(1);

/// Consumer callbacks: rebalances, commit results, statistics, logs.
pub(crate) struct GroupContext {
    pub shared: Arc<Shared>,
    /// How long a revocation waits for in-flight outputs.
    pub revoke_timeout: Duration,
}

impl ClientContext for GroupContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        super::state::log_librdkafka("consumer", level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(client = "consumer", %error, reason, "librdkafka error");
    }

    fn stats(&self, statistics: Statistics) {
        for (topic, t) in &statistics.topics {
            for (partition, p) in &t.partitions {
                if *partition >= 0 && p.consumer_lag >= 0 {
                    metrics::set_consumer_lag(topic, *partition, p.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            self.on_revoke(consumer, tpl);
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                for elem in tpl.elements() {
                    self.shared.trackers.get_or_create(elem.topic(), elem.partition());
                }
                self.tell_assigned(consumer, tpl);
                metrics::rebalanced("assign", tpl.count());
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance error"),
        }
        self.shared.readiness.set_assigned(self.shared.trackers.len() > 0);
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        match result {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => metrics::commit_failed(&error),
        }
    }
}

impl GroupContext {
    /// Hands the newly assigned partitions, with the metadata committed with
    /// their offsets, to the processor before any of their records is read.
    fn tell_assigned(&self, consumer: &BaseConsumer<Self>, tpl: &TopicPartitionList) {
        let mut committed = None;
        for attempt in 1..=COMMITTED_ATTEMPTS {
            match consumer.committed_offsets(tpl.clone(), COMMITTED_TIMEOUT) {
                Ok(list) => {
                    committed = Some(list);
                    break;
                }
                Err(error) if attempt < COMMITTED_ATTEMPTS => {
                    tracing::warn!(%error, attempt, "cannot read committed metadata; retrying");
                }
                Err(error) => tracing::error!(
                    %error,
                    "cannot read committed metadata; statistics windows emitted before the last \
                     restart may be emitted again with fewer records"
                ),
            }
        }
        let parts: Vec<(String, i32, String)> = tpl
            .elements()
            .iter()
            .map(|e| {
                let meta = committed
                    .as_ref()
                    .and_then(|c| c.find_partition(e.topic(), e.partition()))
                    .map(|c| c.metadata().to_owned())
                    .unwrap_or_default();
                (e.topic().to_owned(), e.partition(), meta)
            })
            .collect();
        // Kafka notes: lists returned by the consumer must not outlive it.
        drop(committed);
        let refs: Vec<(&str, i32, &str)> =
            parts.iter().map(|(t, p, m)| (t.as_str(), *p, m.as_str())).collect();
        self.shared.hooks.assigned(&refs, crate::time::now_ms());
    }

    /// Drains the revoked partitions (bounded), commits their delivered
    /// offsets and forgets them. Never commits past undelivered work.
    fn on_revoke(&self, consumer: &BaseConsumer<Self>, tpl: &TopicPartitionList) {
        let revoked: Vec<Arc<PartitionTracker>> = tpl
            .elements()
            .iter()
            .filter_map(|e| self.shared.trackers.remove(e.topic(), e.partition()))
            .collect();
        for t in &revoked {
            t.revoke();
        }
        // librdkafka keeps an application pause across assignments: a
        // partition paused for alignment would come back paused if it were
        // assigned here again, while its new tracker is not.
        let paused: Vec<Arc<PartitionTracker>> =
            revoked.iter().filter(|t| t.is_paused()).cloned().collect();
        if !paused.is_empty() {
            if let Err(error) = consumer.resume(&partition_list(&paused)) {
                tracing::warn!(%error, "cannot resume revoked partitions paused for alignment");
            }
            paused.iter().for_each(|t| t.set_paused(false));
        }
        let deadline = if self.shared.is_aborting() {
            Instant::now()
        } else {
            Instant::now() + self.revoke_timeout
        };
        for t in &revoked {
            if !t.wait_drained(deadline) {
                tracing::warn!(
                    topic = %t.topic, partition = t.partition, in_flight = t.in_flight(),
                    "revoked partition still has undelivered outputs; committing only delivered work"
                );
            }
        }
        metrics::rebalanced("revoke", revoked.len());
        if consumer.assignment_lost() {
            tracing::warn!("assignment lost; not committing revoked partitions");
        } else {
            // Statistics rows already handed to the producer must land first.
            while self.shared.stats_in_flight() > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            commit(consumer, &self.shared, &revoked, true, CommitMode::Sync);
        }
        let names: Vec<(&str, i32)> =
            revoked.iter().map(|t| (t.topic.as_str(), t.partition)).collect();
        self.shared.hooks.revoked(&names);
    }
}

/// How long reading committed offsets and metadata may take on assignment,
/// and how often it is tried.
const COMMITTED_TIMEOUT: Duration = Duration::from_secs(5);
const COMMITTED_ATTEMPTS: u32 = 3;

/// The next commit of `trackers`, with each partition's metadata: the
/// delivered commit point, lowered to the processor's floor (the first
/// offset of an open statistics window). `None` while a statistics output
/// is in flight: its window is neither in the floor nor delivered, so
/// nothing is committed this round. Partitions with no completed record are
/// left out.
fn plan_commits(
    shared: &Shared,
    trackers: &[Arc<PartitionTracker>],
    revoking: bool,
    mut event_times: Option<&mut Vec<(Arc<PartitionTracker>, Option<i64>)>>,
) -> Option<Vec<(Arc<PartitionTracker>, i64, String)>> {
    // The trackers before the processor: a record observed after this read
    // is at or above the point read here.
    let mut points: Vec<(&Arc<PartitionTracker>, i64)> = Vec::with_capacity(trackers.len());
    for t in trackers {
        match t.commit_point() {
            Some(point) => points.push((t, point)),
            // Nothing begun yet: no event time either.
            None => event_times.iter_mut().for_each(|e| e.push((t.clone(), None))),
        }
    }
    let names: Vec<(&str, i32)> =
        points.iter().map(|(t, _)| (t.topic.as_str(), t.partition)).collect();
    let states = shared.hooks.commit_states(&names, revoking);
    let planned = points
        .into_iter()
        .zip(states)
        .map(|((t, point), state)| {
            if let Some(e) = event_times.as_deref_mut() {
                e.push((t.clone(), state.event_time_ms));
            }
            let offset = state.floor.map_or(point, |f| f.min(point));
            (t.clone(), offset, state.metadata)
        })
        .collect();
    (shared.stats_in_flight() == 0).then_some(planned)
}

/// [`plan_commits`] as a list for librdkafka.
fn commit_list(
    shared: &Shared,
    trackers: &[Arc<PartitionTracker>],
    revoking: bool,
) -> Option<TopicPartitionList> {
    let planned = plan_commits(shared, trackers, revoking, None)?;
    Some(to_list(planned.iter().map(|(t, o, m)| (t, *o, m.as_str()))))
}

fn to_list<'a>(
    entries: impl Iterator<Item = (&'a Arc<PartitionTracker>, i64, &'a str)>,
) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for (t, offset, metadata) in entries {
        let mut elem = tpl.add_partition(&t.topic, t.partition);
        if let Err(error) = elem.set_offset(Offset::Offset(offset)) {
            tracing::warn!(%error, "cannot list an offset to commit");
        }
        elem.set_metadata(metadata);
    }
    tpl
}

/// Stores and commits the delivered offsets of `trackers`.
fn commit<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    shared: &Shared,
    trackers: &[Arc<PartitionTracker>],
    revoking: bool,
    mode: CommitMode,
) {
    let Some(tpl) = commit_list(shared, trackers, revoking) else {
        tracing::warn!("a statistics output is still in flight; not committing");
        return;
    };
    if tpl.count() == 0 {
        return;
    }
    if let Err(error) = consumer.store_offsets(&tpl) {
        tracing::debug!(%error, "storing offsets before commit failed");
    }
    if let Err(error) = consumer.commit(&tpl, mode) {
        metrics::commit_failed(&error);
    }
}

/// Commits `tpl` synchronously, retrying while the group is rebalancing
/// (another member leaving at the same moment makes the coordinator refuse
/// commits until this member rejoins; polling serves that rejoin, and any
/// record it fetches is dropped unstored, so it is simply read again later).
fn final_commit(
    consumer: &BaseConsumer<GroupContext>,
    tpl: &TopicPartitionList,
    deadline: Instant,
) -> bool {
    if tpl.count() == 0 {
        return true;
    }
    if let Err(error) = consumer.store_offsets(tpl) {
        tracing::debug!(%error, "storing final offsets failed");
    }
    loop {
        match consumer.commit(tpl, CommitMode::Sync) {
            Ok(()) => return true,
            Err(KafkaError::ConsumerCommit(code))
                if retriable_commit_error(code) && Instant::now() < deadline =>
            {
                tracing::info!(%code, "final commit refused during a rebalance; retrying");
                let _ = consumer.poll(Duration::from_millis(100));
            }
            Err(error) => {
                metrics::commit_failed(&error);
                return false;
            }
        }
    }
}

fn retriable_commit_error(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::RebalanceInProgress
            | RDKafkaErrorCode::IllegalGeneration
            | RDKafkaErrorCode::UnknownMemberId
            | RDKafkaErrorCode::NotCoordinator
            | RDKafkaErrorCode::CoordinatorNotAvailable
            | RDKafkaErrorCode::CoordinatorLoadInProgress
            | RDKafkaErrorCode::RequestTimedOut
    )
}

/// Hands the commit points (and metadata) that moved to librdkafka's
/// offset store, and pauses or resumes partitions for watermark alignment
/// (the event times come with the commit states).
fn store_moved(
    consumer: &BaseConsumer<GroupContext>,
    shared: &Shared,
    aligner: Option<&mut Aligner>,
) {
    let trackers = shared.trackers.all();
    let mut event_times = Vec::new();
    let planned =
        plan_commits(shared, &trackers, false, aligner.is_some().then_some(&mut event_times));
    if let Some(aligner) = aligner {
        align(consumer, aligner, &event_times);
    }
    let Some(planned) = planned else { return };
    let moved = planned.iter().filter(|(t, o, m)| t.mark_stored(*o, m));
    let tpl = to_list(moved.map(|(t, o, m)| (t, *o, m.as_str())));
    if tpl.count() > 0 {
        if let Err(error) = consumer.store_offsets(&tpl) {
            tracing::debug!(%error, "storing offsets failed; retried on the next round");
        }
    }
}

/// The partitions of `trackers`, without offsets.
fn partition_list(trackers: &[Arc<PartitionTracker>]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for t in trackers {
        tpl.add_partition(&t.topic, t.partition);
    }
    tpl
}

/// How long a partition may deliver no newer event time before it stops
/// holding the others back (see [`Aligner`]).
const ALIGN_IDLE: Duration = Duration::from_secs(2);

/// One round of watermark alignment: pauses and resumes what the aligner
/// decides, and marks the trackers once librdkafka took the call (the
/// aligner reads those flags, so a refused call is asked again next round).
fn align(
    consumer: &BaseConsumer<GroupContext>,
    aligner: &mut Aligner,
    event_times: &[(Arc<PartitionTracker>, Option<i64>)],
) {
    let changes = aligner.update(Instant::now(), event_times);
    if changes.is_empty() {
        return;
    }
    let mut pauses = 0;
    if !changes.pause.is_empty() {
        match consumer.pause(&partition_list(&changes.pause)) {
            Ok(()) => {
                changes.pause.iter().for_each(|t| t.set_paused(true));
                pauses = changes.pause.len();
            }
            Err(error) => {
                tracing::warn!(%error, "cannot pause partitions running ahead in event time");
            }
        }
    }
    if !changes.resume.is_empty() {
        match consumer.resume(&partition_list(&changes.resume)) {
            Ok(()) => changes.resume.iter().for_each(|t| t.set_paused(false)),
            Err(error) => {
                tracing::warn!(%error, "cannot resume paused partitions; retrying");
            }
        }
    }
    metrics::partitions_paused(pauses, aligner.paused());
}

/// Records handed to a worker at once: one queue operation (and at most one
/// wake-up) per batch instead of per record.
pub(crate) const BATCH: usize = 64;

/// A batch also leaves once its keys and payloads reach this many bytes, so
/// large records do not make queued batches large.
const BATCH_BYTES: usize = 256 * 1024;

/// Per-worker batches being filled by the consumer thread.
struct Batches {
    queues: Vec<SyncSender<Batch>>,
    pending: Vec<Batch>,
    count: usize,
    /// Batches the workers are done with, emptied, for reuse: the buffers
    /// stay allocated (and warm) instead of one allocation per batch here
    /// and a free on a worker.
    spent: Receiver<Batch>,
}

/// Room for a batch of typical log records without regrowing.
const BATCH_BUFFER: usize = BATCH * 1024;

fn empty_batch() -> Batch {
    Batch::with_capacity(BATCH, BATCH_BUFFER)
}

impl Batches {
    fn new(queues: Vec<SyncSender<Batch>>, spent: Receiver<Batch>) -> Self {
        let pending = queues.iter().map(|_| empty_batch()).collect();
        Batches { queues, pending, count: 0, spent }
    }

    /// An empty batch: a spent one if a worker returned one of normal size
    /// (one that grew for a large record is dropped, so memory stays
    /// bounded by the usual size), otherwise a new one.
    fn fresh(&self) -> Batch {
        while let Ok(batch) = self.spent.try_recv() {
            if batch.byte_capacity() <= 2 * BATCH_BUFFER.max(BATCH_BYTES) {
                return batch;
            }
        }
        empty_batch()
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds a fetched record to its worker's batch (copying key and
    /// payload); sends the batch when full. `Err(worker)` if that worker is
    /// gone.
    fn push(&mut self, tracker: &Arc<PartitionTracker>, msg: &impl Message) -> Result<(), usize> {
        let w = tracker.worker;
        let Some(batch) = self.pending.get_mut(w) else { return Err(w) };
        batch.push(tracker, msg.offset(), msg.key(), msg.payload(), msg.timestamp().to_millis());
        self.count += 1;
        if batch.len() >= BATCH || batch.byte_len() >= BATCH_BYTES {
            self.send(w)?;
        }
        Ok(())
    }

    /// Sends every non-empty batch.
    fn flush_all(&mut self) -> Result<(), usize> {
        for w in 0..self.pending.len() {
            self.send(w)?;
        }
        Ok(())
    }

    /// Blocks while the worker's queue is full: back-pressure on fetching.
    fn send(&mut self, w: usize) -> Result<(), usize> {
        let fresh = match self.pending.get(w) {
            None => return Err(w),
            Some(batch) if batch.len() == 0 => return Ok(()),
            Some(_) => self.fresh(),
        };
        let (Some(batch), Some(queue)) = (self.pending.get_mut(w), self.queues.get(w)) else {
            return Err(w);
        };
        let full = std::mem::replace(batch, fresh);
        self.count -= full.len();
        queue.send(full).map_err(|_| w)
    }

    fn into_queues(self) -> Vec<SyncSender<Batch>> {
        self.queues
    }
}

/// The tracker of the partition the last record came from: records arrive
/// in runs of one partition, so most records skip the shared map (a lock
/// and two hash lookups). Valid while the map's generation is unchanged.
#[derive(Default)]
struct TrackerLookup {
    last: Option<(Arc<PartitionTracker>, u64)>,
}

impl TrackerLookup {
    fn get<M: Message>(
        &mut self,
        shared: &Shared,
        msg: &M,
        topic: &[u8],
    ) -> &Arc<PartitionTracker> {
        let generation = shared.trackers.generation();
        let partition = msg.partition();
        let hit = self.last.as_ref().is_some_and(|(t, g)| {
            *g == generation && t.partition == partition && t.topic.as_bytes() == topic
        });
        if !hit {
            self.last = None;
        }
        let (t, _) = self.last.get_or_insert_with(|| {
            (shared.trackers.get_or_create(msg.topic(), partition), generation)
        });
        t
    }
}

/// A fetched message's topic name as bytes. `Message::topic` checks it is
/// UTF-8 on every call (~7% of this thread's instructions per record);
/// comparing bytes with the cached tracker's name needs no check, and a
/// new name goes through `Message::topic` (checked) before it is used.
fn topic_bytes<'m>(msg: &'m BorrowedMessage<'_>) -> &'m [u8] {
    // SAFETY: `msg.ptr()` is the live message this borrow keeps alive; its
    // `rkt` is the topic handle librdkafka set on every fetched message,
    // held (with its NUL-terminated name) at least as long as the message;
    // `rd_kafka_topic_name` returns that name.
    unsafe { CStr::from_ptr(rdkafka::bindings::rd_kafka_topic_name((*msg.ptr()).rkt)).to_bytes() }
}

/// Everything the consumer thread owns.
pub(crate) struct ConsumerLoop {
    pub consumer: BaseConsumer<GroupContext>,
    pub producer: Arc<OutputProducer>,
    pub queues: Vec<SyncSender<Batch>>,
    pub workers: Vec<JoinHandle<RunSummary>>,
    /// Batches the workers are done with (see [`Batches`]).
    pub spent: Receiver<Batch>,
    pub shared: Arc<Shared>,
    pub grace: Duration,
    /// Watermark alignment's lead (`None`: off).
    pub max_lead_ms: Option<i64>,
}

impl ConsumerLoop {
    /// Runs until shutdown, abort or a fatal error, then drains and commits.
    pub fn run(self) -> Result<RunSummary, ServiceError> {
        let ConsumerLoop { consumer, producer, queues, workers, spent, shared, grace, max_lead_ms } =
            self;
        let mut aligner = max_lead_ms.map(|lead| Aligner::new(lead, ALIGN_IDLE));
        wait_for_broker(&producer, &shared);
        let mut last_store = Instant::now();
        let mut last_trim = Instant::now();
        let mut batches = Batches::new(queues, spent);
        let mut lookup = TrackerLookup::default();
        let mut polls_since_clock = 0u32;
        while !shared.should_stop() {
            // Poll without waiting while records wait to be handed over, so a
            // partial batch leaves as soon as the fetch queue runs dry.
            let wait = if batches.is_empty() { Duration::from_millis(100) } else { Duration::ZERO };
            let (delivered, idle) = match consumer.poll(wait) {
                Some(Ok(msg)) => {
                    let tracker = lookup.get(&shared, &msg, topic_bytes(&msg));
                    (batches.push(tracker, &msg), false)
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "consumer error");
                    (Ok(()), true)
                }
                None => (batches.flush_all(), true),
            };
            if let Err(worker) = delivered {
                if !shared.is_aborting() {
                    shared.set_fatal(ServiceError::WorkerPanicked { worker });
                }
                break;
            }
            // Reading the clock per record cost as much as the rest of the
            // loop: look at it when idle or every `BATCH` records.
            polls_since_clock += 1;
            if !idle && polls_since_clock < BATCH as u32 {
                continue;
            }
            polls_since_clock = 0;
            if last_store.elapsed() >= STORE_EVERY {
                store_moved(&consumer, &shared, aligner.as_mut());
                metrics::set_producer_queue_depth(producer.inner.in_flight_count());
                last_store = Instant::now();
                if last_store.duration_since(last_trim) >= TRIM_EVERY {
                    super::heap::release_free_memory();
                    last_trim = Instant::now();
                }
            }
        }
        // Records already fetched are finished too (unless aborting).
        if !shared.is_aborting() {
            let _ = batches.flush_all();
        }
        let queues = batches.into_queues();
        let deadline = Instant::now() + grace;
        tracing::info!("stopped fetching; finishing in-flight records");
        // Closing the queues lets the workers drain them and call finish().
        drop(queues);
        let mut summary = RunSummary::default();
        let mut worker_error = None;
        while !workers.iter().all(JoinHandle::is_finished) {
            if Instant::now() >= deadline && !shared.is_aborting() {
                tracing::warn!("grace period over; abandoning in-flight records");
                shared.abort();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        for (i, w) in workers.into_iter().enumerate() {
            match w.join() {
                Ok(s) => summary.merge(&s),
                Err(_) => worker_error = Some(ServiceError::WorkerPanicked { worker: i }),
            }
        }
        let mut flushed = false;
        if !shared.is_aborting() {
            let left = deadline.saturating_duration_since(Instant::now());
            match producer.inner.flush(left) {
                Ok(()) => flushed = true,
                Err(error) => {
                    tracing::warn!(%error, "producer flush did not finish in the grace period")
                }
            }
        }
        // Only delivered work is below each commit point, flushed or not.
        let trackers = shared.trackers.all();
        let tpl = commit_list(&shared, &trackers, false);
        drop(trackers);
        match &tpl {
            Some(tpl) if final_commit(&consumer, tpl, deadline) => {
                tracing::info!(partitions = tpl.count(), "final offsets committed");
            }
            Some(_) => {}
            None => tracing::warn!("statistics outputs undelivered; final offsets not committed"),
        }
        drop(tpl);
        let timed_out = !flushed;
        // The revocation run by close() must not wait any more.
        shared.abort();
        drop(consumer);
        summary.delivery_errors = shared.delivery_errors();
        if let Some(fatal) = shared.take_fatal() {
            return Err(fatal);
        }
        if let Some(e) = worker_error {
            return Err(e);
        }
        if timed_out && shared.shutdown.is_triggered() {
            return Err(ServiceError::GracePeriodExceeded { grace });
        }
        Ok(summary)
    }
}

/// Blocks until the producer reached a broker (for `/readyz`) or the
/// service stops.
fn wait_for_broker(producer: &OutputProducer, shared: &Shared) {
    let mut warned = false;
    while !shared.should_stop() {
        match producer.inner.client().fetch_metadata(None, Duration::from_secs(1)) {
            Ok(_) => {
                shared.readiness.set_producer_connected();
                return;
            }
            Err(error) if !warned => {
                tracing::warn!(%error, "producer cannot reach a broker yet; retrying");
                warned = true;
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{channel, sync_channel};

    use super::*;

    /// Fills worker 0's pending batch with one record and sends it.
    fn send_one(batches: &mut Batches, tracker: &Arc<PartitionTracker>, offset: i64) {
        batches.pending[0].push(tracker, offset, Some(b"key"), Some(b"payload"), None);
        batches.count += 1;
        batches.send(0).unwrap();
    }

    #[test]
    fn spent_batches_are_refilled_and_grown_ones_dropped() {
        let (queue, worker) = sync_channel(4);
        let (spent_tx, spent) = channel();
        let mut batches = Batches::new(vec![queue], spent);
        let tracker = Arc::new(PartitionTracker::new("t", 0, 0));

        // Nothing returned yet: a new batch of the usual size.
        send_one(&mut batches, &tracker, 0);
        let sent = worker.recv().unwrap();
        assert_eq!((sent.len(), sent.byte_len()), (1, 10));
        assert_eq!(batches.pending[0].byte_capacity(), BATCH_BUFFER);

        // A returned batch (recognisable by its capacity) is reused, empty.
        spent_tx.send(Batch::with_capacity(BATCH, 100_000)).unwrap();
        send_one(&mut batches, &tracker, 1);
        assert_eq!(batches.pending[0].byte_capacity(), 100_000);
        assert_eq!((batches.pending[0].len(), batches.pending[0].byte_len()), (0, 0));
        assert_eq!(worker.recv().unwrap().len(), 1);

        // One that grew past twice the byte limit is dropped, not kept.
        let grown = 2 * BATCH_BYTES + 1;
        spent_tx.send(Batch::with_capacity(BATCH, grown)).unwrap();
        send_one(&mut batches, &tracker, 2);
        assert_eq!(batches.pending[0].byte_capacity(), BATCH_BUFFER);
        assert!(batches.spent.try_recv().is_err(), "the grown batch was consumed");
        assert_eq!(batches.count, 0);
    }
}
