//! The output producer and its delivery reports.
//!
//! One [`ThreadedProducer`] is shared by all workers: librdkafka batches per
//! output partition (linger, batch size, compression) and a background
//! thread runs the delivery callbacks. Each gating output carries an [`Ack`]
//! that names the source offset it belongs to; its delivery report releases
//! one pending unit of that offset in the partition's tracker, or pins the
//! offset (and stops the service) when the output finally failed.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

use super::metrics::{self, OutputLabel};
use super::offsets::PartitionTracker;
use super::state::Shared;

/// Which source record an output belongs to.
pub(crate) struct Ack {
    /// `None` for statistics outputs, which do not gate offsets.
    pub source: Option<(Arc<PartitionTracker>, i64)>,
    pub kind: OutputLabel,
    /// A statistics output counted in `Shared::stats_in_flight`.
    pub stats: bool,
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
    type DeliveryOpaque = Box<Ack>;

    fn delivery(&self, result: &DeliveryResult<'_>, ack: Box<Ack>) {
        match result {
            Ok(_) => {
                if ack.stats {
                    self.shared.stats_delivered();
                }
                if let Some((tracker, offset)) = &ack.source {
                    // A stale ack (partition revoked and tracker replaced) is
                    // harmless: it only touches the dropped tracker.
                    let _ = tracker.ack(*offset, true);
                }
            }
            Err((error, _)) => fail(&self.shared, *ack, error),
        }
    }
}

/// Records an output that will never be delivered.
fn fail(shared: &Shared, ack: Ack, error: &KafkaError) {
    shared.count_delivery_error();
    match &ack.source {
        Some((tracker, offset)) => {
            metrics::delivery_failed(
                ack.kind,
                Some((&tracker.topic, tracker.partition, *offset)),
                error,
            );
            let _ = tracker.ack(*offset, false);
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
            metrics::delivery_failed(ack.kind, None, error);
            // The window's records stay uncommitted (the in-flight count is
            // never released); stop loudly rather than stall every commit.
            if ack.stats && !shared.is_aborting() {
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
    pub fn send(&self, out: Outgoing<'_>, ack: Ack) {
        let mut record = BaseRecord::with_opaque_to(out.topic, Box::new(ack)).payload(out.payload);
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
                        return;
                    }
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((error, back)) => {
                    fail(&self.shared, *back.delivery_opaque, &error);
                    return;
                }
            }
        }
    }
}
