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

use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

use super::metrics::{self, OutputLabel};
use super::offsets::Span;
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
    pub headers: Option<OwnedHeaders>,
}

impl OutputProducer {
    pub fn new(inner: ThreadedProducer<DeliveryContext>, shared: Arc<Shared>) -> Self {
        OutputProducer { inner, shared }
    }

    /// Enqueues one output. When the local queue is full it waits for room
    /// (bounded memory); if the service is aborting it gives up and the
    /// output's offset stays pinned (never committed). Errors that retrying
    /// cannot fix (e.g. a record over `message.max.bytes`) count as a failed
    /// delivery.
    pub fn send(&self, out: Outgoing<'_>, gate: Arc<Gate>) {
        let mut record = BaseRecord::with_opaque_to(out.topic, gate).payload(out.payload);
        if let Some(key) = out.key {
            record = record.key(key);
        }
        if let Some(h) = out.headers {
            record = record.headers(h);
        }
        loop {
            match self.inner.send(record) {
                Ok(()) => return,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    if self.shared.is_aborting() {
                        // Never delivered: dropping the gate must not let
                        // its span complete.
                        if let Some((span, _)) = &back.delivery_opaque.source {
                            span.pin();
                        }
                        return;
                    }
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((error, back)) => {
                    fail(&self.shared, &back.delivery_opaque, &error);
                    return;
                }
            }
        }
    }
}
