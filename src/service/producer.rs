//! The output producer and its delivery reports.
//!
//! One [`ThreadedProducer`] is shared by all workers: librdkafka batches per
//! output partition (linger, batch size, compression) and a background
//! thread runs the delivery callbacks. Each output carries a [`Gate`]: the
//! anonymized outputs of one worker span share one (a reference count, no
//! allocation per record), a dead letter has its own, statistics share one
//! per worker. Its delivery report lets go of the [`Span`] whose commit it
//! held back, or pins the span (and stops the service) when the output
//! finally failed.
//!
//! Each worker produces through its own [`WorkerProducer`], which keeps one
//! librdkafka topic handle per output topic: given a topic *name*, every
//! produce call allocates a C string and looks the topic up in the client's
//! locked topic list (~400 instructions per record, `benches/PROFILE.md`,
//! round four); given a handle, it does neither.

use std::ffi::{c_void, CString};
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, IntoOpaque};

use super::metrics::{self, OutputLabel};
use super::offsets::Span;
use super::provenance;
use super::state::Shared;

/// What an output's delivery report releases. Shared by reference count:
/// cloning one per output is one atomic increment.
pub(crate) struct Gate {
    pub kind: OutputLabel,
    /// The span of source records whose commit waits for this output, and
    /// the offset reported if it fails (the record's own for a dead letter,
    /// the span's first for the anonymized outputs sharing a gate); `None`
    /// for statistics outputs, which do not gate offsets and are counted in
    /// `Shared::stats_in_flight` instead.
    pub source: Option<(Arc<Span>, i64)>,
}

impl Gate {
    /// The gate of statistics outputs.
    pub fn stats() -> Arc<Gate> {
        Arc::new(Gate { kind: OutputLabel::Stats, source: None })
    }

    /// A gate for outputs of `span` of the given kind, reporting `offset`.
    pub fn of(span: &Arc<Span>, kind: OutputLabel, offset: i64) -> Arc<Gate> {
        Arc::new(Gate { kind, source: Some((span.clone(), offset)) })
    }
}

/// Producer callbacks: delivery reports and librdkafka logs.
pub(crate) struct DeliveryContext {
    pub shared: Arc<Shared>,
}

impl ClientContext for DeliveryContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        super::state::log_librdkafka("producer", level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(client = "producer", %error, reason, "librdkafka error");
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Arc<Gate>;

    fn delivery(&self, result: &DeliveryResult<'_>, gate: Arc<Gate>) {
        match result {
            // Dropping the gate lets go of its span (a stale one, of a
            // revoked partition, only touches the dropped tracker).
            Ok(_) => {
                if gate.source.is_none() {
                    self.shared.stats_delivered();
                }
            }
            Err((error, _)) => fail(&self.shared, &gate, error),
        }
    }
}

/// Records an output that will never be delivered.
fn fail(shared: &Shared, gate: &Gate, error: &KafkaError) {
    shared.count_delivery_error();
    match &gate.source {
        Some((span, offset)) => {
            let tracker = &span.tracker;
            metrics::delivery_failed(
                gate.kind,
                Some((&tracker.topic, tracker.partition, *offset)),
                error,
            );
            span.pin();
            if !tracker.is_revoked() && !shared.is_aborting() {
                shared.set_fatal(super::ServiceError::Delivery {
                    topic: tracker.topic.clone(),
                    partition: tracker.partition,
                    offset: *offset,
                    reason: error.to_string(),
                });
            }
        }
        None => {
            metrics::delivery_failed(gate.kind, None, error);
            // The window's records stay uncommitted (the in-flight count is
            // never released); stop loudly rather than stall every commit.
            if !shared.is_aborting() {
                shared.set_fatal(super::ServiceError::StatsDelivery { reason: error.to_string() });
            }
        }
    }
}

/// The producer as the workers use it.
pub(crate) struct OutputProducer {
    pub inner: ThreadedProducer<DeliveryContext>,
    shared: Arc<Shared>,
}

/// An output about to be produced.
pub(crate) struct Outgoing<'a> {
    pub topic: &'a str,
    pub key: Option<&'a [u8]>,
    pub payload: &'a [u8],
    /// The value of its provenance header (`provenance::HEADER`).
    pub provenance: Option<&'a [u8]>,
}

impl OutputProducer {
    pub fn new(inner: ThreadedProducer<DeliveryContext>, shared: Arc<Shared>) -> Self {
        OutputProducer { inner, shared }
    }

    /// Enqueues one output by topic name (the path for a topic without a
    /// handle); see [`WorkerProducer::send`].
    fn send_by_name(&self, out: Outgoing<'_>, gate: Arc<Gate>) {
        let mut record = BaseRecord::with_opaque_to(out.topic, gate).payload(out.payload);
        if let Some(key) = out.key {
            record = record.key(key);
        }
        if let Some(value) = out.provenance {
            record = record.headers(provenance::owned_headers(value));
        }
        loop {
            match self.inner.send(record) {
                Ok(()) => return,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    if !self.wait_for_room(&back.delivery_opaque) {
                        return;
                    }
                    record = back;
                }
                Err((error, back)) => {
                    fail(&self.shared, &back.delivery_opaque, &error);
                    return;
                }
            }
        }
    }

    /// Enqueues one output on a topic handle. Same contract as
    /// [`WorkerProducer::send`].
    fn send_to(&self, topic: &TopicHandle, out: Outgoing<'_>, mut gate: Arc<Gate>) {
        let (key, key_len) = out.key.map_or((std::ptr::null(), 0), |k| (k.as_ptr(), k.len()));
        let headers = out.provenance.map(NativeHeaders::provenance);
        let headers_ptr = headers.as_ref().map_or(std::ptr::null_mut(), |h| h.0.as_ptr());
        let rk = self.inner.client().native_ptr();
        loop {
            let opaque = gate.into_ptr();
            // SAFETY: `rk` is this producer's live client and `topic.0` a
            // handle created on it, alive until the `TopicHandle` drops
            // (its owner holds an `Arc` of this producer). The argument list
            // is the one rdkafka's own `BaseProducer::send` passes, with
            // `RD_KAFKA_VTYPE_RKT` (a `rd_kafka_topic_t *`) in place of the
            // topic name: librdkafka copies payload and key
            // (`RD_KAFKA_MSG_F_COPY`), takes the headers only on success,
            // and hands `opaque` back to the delivery callback, which
            // rebuilds the `Arc<Gate>` with `IntoOpaque::from_ptr` as for
            // any other message of this producer.
            let err = unsafe {
                use rdsys::rd_kafka_vtype_t::*;
                rdsys::rd_kafka_producev(
                    rk,
                    RD_KAFKA_VTYPE_RKT,
                    topic.0.as_ptr(),
                    RD_KAFKA_VTYPE_PARTITION,
                    PARTITION_UNASSIGNED,
                    RD_KAFKA_VTYPE_MSGFLAGS,
                    rdsys::RD_KAFKA_MSG_F_COPY,
                    RD_KAFKA_VTYPE_VALUE,
                    out.payload.as_ptr() as *mut c_void,
                    out.payload.len(),
                    RD_KAFKA_VTYPE_KEY,
                    key as *mut c_void,
                    key_len,
                    RD_KAFKA_VTYPE_OPAQUE,
                    opaque,
                    RD_KAFKA_VTYPE_TIMESTAMP,
                    0i64,
                    RD_KAFKA_VTYPE_HEADERS,
                    headers_ptr,
                    RD_KAFKA_VTYPE_END,
                )
            };
            if err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                // librdkafka owns the headers now.
                std::mem::forget(headers);
                return;
            }
            // SAFETY: the call failed, so librdkafka did not keep `opaque`:
            // it is still the pointer `into_ptr` made just above.
            gate = unsafe { Arc::<Gate>::from_ptr(opaque) };
            let error = RDKafkaErrorCode::from(err);
            if error == RDKafkaErrorCode::QueueFull {
                if !self.wait_for_room(&gate) {
                    return;
                }
                continue;
            }
            fail(&self.shared, &gate, &KafkaError::MessageProduction(error));
            return;
        }
    }

    /// The local queue is full: waits a moment for room (`true`: try
    /// again), unless the service is aborting, in which case the output is
    /// given up and its span pinned (`false`).
    fn wait_for_room(&self, gate: &Gate) -> bool {
        if self.shared.is_aborting() {
            // Never delivered: dropping the gate must not let its span
            // complete.
            if let Some((span, _)) = &gate.source {
                span.pin();
            }
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
        true
    }
}

/// A header list made for one produce call: librdkafka takes it when the
/// call succeeds (then it is forgotten), otherwise it is destroyed here.
struct NativeHeaders(NonNull<rdsys::rd_kafka_headers_t>);

impl NativeHeaders {
    /// The provenance header with `value`, as `provenance::owned_headers`
    /// makes it (one header, list sized for one).
    fn provenance(value: &[u8]) -> NativeHeaders {
        let name = provenance::HEADER;
        // SAFETY: `rd_kafka_headers_new` only allocates (it aborts rather
        // than return null on allocation failure, which `NonNull` checks
        // anyway); `rd_kafka_header_add` copies name and value from the
        // given pointers and lengths, which are valid slices.
        unsafe {
            let list = NonNull::new(rdsys::rd_kafka_headers_new(1))
                .unwrap_or_else(|| std::process::abort());
            rdsys::rd_kafka_header_add(
                list.as_ptr(),
                name.as_ptr().cast(),
                name.len() as isize,
                value.as_ptr().cast(),
                value.len() as isize,
            );
            NativeHeaders(list)
        }
    }
}

impl Drop for NativeHeaders {
    fn drop(&mut self) {
        // SAFETY: a list librdkafka did not take is still ours, freed once.
        unsafe { rdsys::rd_kafka_headers_destroy(self.0.as_ptr()) }
    }
}

/// `RD_KAFKA_PARTITION_UA`: the partitioner picks the partition.
const PARTITION_UNASSIGNED: i32 = -1;

/// A librdkafka topic handle of the output producer (`rd_kafka_topic_t`,
/// created with the producer's default topic settings, as librdkafka does
/// itself for a produce call by name).
struct TopicHandle(NonNull<rdsys::rd_kafka_topic_t>);

impl Drop for TopicHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from `rd_kafka_topic_new` and is released
        // once, here, while the client lives (see `WorkerProducer`).
        unsafe { rdsys::rd_kafka_topic_destroy(self.0.as_ptr()) }
    }
}

/// At most this many topic handles per worker; outputs to further topics
/// are produced by name.
const MAX_TOPIC_HANDLES: usize = 32;

/// One worker's way to the output producer: the shared producer plus the
/// topic handles this worker made (a handful of topics, found by a linear
/// scan). It holds an `Arc` of the producer, so the client outlives its
/// handles.
pub(crate) struct WorkerProducer {
    producer: Arc<OutputProducer>,
    topics: Vec<(String, TopicHandle)>,
}

impl WorkerProducer {
    pub fn new(producer: Arc<OutputProducer>) -> Self {
        WorkerProducer { producer, topics: Vec::new() }
    }

    /// Enqueues one output. When the local queue is full it waits for room
    /// (bounded memory); if the service is aborting it gives up and the
    /// output's offset stays pinned (never committed). Errors that retrying
    /// cannot fix (e.g. a record over `message.max.bytes`) count as a failed
    /// delivery.
    pub fn send(&mut self, out: Outgoing<'_>, gate: Arc<Gate>) {
        match self.handle(out.topic) {
            Some(i) => {
                let (producer, (_, topic)) = (&self.producer, &self.topics[i]);
                producer.send_to(topic, out, gate);
            }
            None => self.producer.send_by_name(out, gate),
        }
    }

    /// The index of `name`'s handle, made on first use; `None` if librdkafka
    /// refuses the name (the by-name path then reports the error) or the
    /// cache is full.
    fn handle(&mut self, name: &str) -> Option<usize> {
        if let Some(i) = self.topics.iter().position(|(t, _)| t == name) {
            return Some(i);
        }
        if self.topics.len() >= MAX_TOPIC_HANDLES {
            return None;
        }
        let cname = CString::new(name).ok()?;
        let rk = self.producer.inner.client().native_ptr();
        // SAFETY: `rk` is the producer's live client, `cname` a valid C
        // string; a null configuration means the client's default topic
        // settings (what a produce call by name uses). A null result
        // (invalid name) is not kept.
        let raw = unsafe { rdsys::rd_kafka_topic_new(rk, cname.as_ptr(), std::ptr::null_mut()) };
        let handle = TopicHandle(NonNull::new(raw)?);
        self.topics.push((name.to_owned(), handle));
        Some(self.topics.len() - 1)
    }
}
