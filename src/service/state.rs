//! State shared by the consumer thread, the workers and the callbacks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rdkafka::config::RDKafkaLogLevel;

use crate::processor::{CommitState, RecordProcessor};

use super::http::Readiness;
use super::offsets::PartitionTracker;
use super::shutdown::Shutdown;
use super::ServiceError;

/// Flags and counters every part of one running service sees.
pub(crate) struct Shared {
    /// The caller's graceful-shutdown signal.
    pub shutdown: Shutdown,
    /// Stop now: the service handle was dropped or the grace period ran out.
    /// Workers stop without finishing, nothing undelivered is committed.
    abort: AtomicBool,
    fatal_flag: AtomicBool,
    fatal: Mutex<Option<ServiceError>>,
    delivery_errors: AtomicU64,
    pub readiness: Arc<Readiness>,
    pub trackers: Trackers,
    /// The processor's side of commits (floors, metadata, assignments).
    pub hooks: Arc<dyn CommitHooks>,
    /// Statistics outputs handed to the producer and not yet delivered. A
    /// failed one is never released: commits stop moving, so a restart
    /// reads the window's records again.
    stats_in_flight: AtomicI64,
}

/// The object-safe part of [`RecordProcessor`] the consumer thread needs.
pub(crate) trait CommitHooks: Send + Sync {
    fn assigned(&self, partitions: &[(&str, i32, &str)], now_ms: i64);
    fn revoked(&self, partitions: &[(&str, i32)]);
    fn commit_states(&self, partitions: &[(&str, i32)], revoking: bool) -> Vec<CommitState>;
}

impl<P: RecordProcessor> CommitHooks for P {
    fn assigned(&self, partitions: &[(&str, i32, &str)], now_ms: i64) {
        RecordProcessor::assigned(self, partitions, now_ms);
    }
    fn revoked(&self, partitions: &[(&str, i32)]) {
        RecordProcessor::revoked(self, partitions);
    }
    fn commit_states(&self, partitions: &[(&str, i32)], revoking: bool) -> Vec<CommitState> {
        RecordProcessor::commit_states(self, partitions, revoking)
    }
}

impl Shared {
    pub fn new(shutdown: Shutdown, workers: usize, hooks: Arc<dyn CommitHooks>) -> Self {
        Shared {
            shutdown,
            abort: AtomicBool::new(false),
            fatal_flag: AtomicBool::new(false),
            fatal: Mutex::new(None),
            delivery_errors: AtomicU64::new(0),
            readiness: Arc::new(Readiness::default()),
            trackers: Trackers::new(workers),
            hooks,
            stats_in_flight: AtomicI64::new(0),
        }
    }

    pub fn stats_sent(&self) {
        self.stats_in_flight.fetch_add(1, Ordering::AcqRel);
    }

    pub fn stats_delivered(&self) {
        self.stats_in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    pub fn stats_in_flight(&self) -> i64 {
        self.stats_in_flight.load(Ordering::Acquire)
    }

    pub fn abort(&self) {
        self.abort.store(true, Ordering::Release);
    }

    pub fn is_aborting(&self) -> bool {
        self.abort.load(Ordering::Acquire)
    }

    /// Keeps the first fatal error; the consumer loop stops on it.
    pub fn set_fatal(&self, error: ServiceError) {
        let mut slot = self.fatal.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(error);
        }
        self.fatal_flag.store(true, Ordering::Release);
    }

    pub fn has_fatal(&self) -> bool {
        self.fatal_flag.load(Ordering::Acquire)
    }

    pub fn take_fatal(&self) -> Option<ServiceError> {
        self.fatal.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    pub fn count_delivery_error(&self) {
        self.delivery_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn delivery_errors(&self) -> u64 {
        self.delivery_errors.load(Ordering::Relaxed)
    }

    /// Whether the consumer should stop fetching.
    pub fn should_stop(&self) -> bool {
        self.shutdown.is_triggered() || self.is_aborting() || self.has_fatal()
    }
}

/// The trackers of the partitions currently assigned, by topic and partition.
/// Only the consumer thread (including its rebalance callbacks) changes it.
pub(crate) struct Trackers {
    map: Mutex<HashMap<String, HashMap<i32, Arc<PartitionTracker>>>>,
    workers: usize,
    next_worker: AtomicUsize,
    /// Changes whenever a tracker is added or removed, so a copy of one
    /// (the consumer's last lookup) knows when it may be stale.
    generation: AtomicU64,
}

impl Trackers {
    fn new(workers: usize) -> Self {
        Trackers {
            map: Mutex::new(HashMap::new()),
            workers,
            next_worker: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
        }
    }

    /// See the field's note.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, HashMap<i32, Arc<PartitionTracker>>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tracker of a partition, created (and given a worker, round robin)
    /// on first sight.
    pub fn get_or_create(&self, topic: &str, partition: i32) -> Arc<PartitionTracker> {
        let mut map = self.lock();
        if let Some(t) = map.get(topic).and_then(|m| m.get(&partition)) {
            return t.clone();
        }
        let worker = self.next_worker.fetch_add(1, Ordering::Relaxed) % self.workers.max(1);
        let t = Arc::new(PartitionTracker::new(topic, partition, worker));
        map.entry(topic.to_owned()).or_default().insert(partition, t.clone());
        self.generation.fetch_add(1, Ordering::AcqRel);
        t
    }

    /// Removes a partition's tracker (on revocation).
    pub fn remove(&self, topic: &str, partition: i32) -> Option<Arc<PartitionTracker>> {
        let mut map = self.lock();
        let inner = map.get_mut(topic)?;
        let t = inner.remove(&partition);
        if inner.is_empty() {
            map.remove(topic);
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        t
    }

    /// Every current tracker.
    pub fn all(&self) -> Vec<Arc<PartitionTracker>> {
        self.lock().values().flat_map(|m| m.values().cloned()).collect()
    }

    pub fn len(&self) -> usize {
        self.lock().values().map(HashMap::len).sum()
    }
}

/// Routes librdkafka's log lines into `tracing`.
pub(crate) fn log_librdkafka(client: &'static str, level: RDKafkaLogLevel, fac: &str, msg: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => tracing::error!(client, fac, "librdkafka: {msg}"),
        RDKafkaLogLevel::Warning => tracing::warn!(client, fac, "librdkafka: {msg}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(client, fac, "librdkafka: {msg}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(client, fac, "librdkafka: {msg}"),
    }
}
