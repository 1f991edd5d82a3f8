//! The health thread: probes the broker and the input topics every second
//! for `/readyz`.
//!
//! librdkafka keeps retrying quietly while a broker is away, and a consumer
//! keeps its assignment until the session times out, so neither client's
//! callbacks say "the broker is gone" promptly, least of all while outputs
//! are queued. A metadata request with a short timeout does: it fails
//! within [`PROBE_TIMEOUT`] of an outage whatever the producer holds, and
//! succeeds again as soon as a broker answers. The same answer lists the
//! topics, so a configured input topic that does not exist is reported in
//! `/readyz`, in `logveil_input_topic_missing{topic}` and, every
//! [`MISSING_LOG_EVERY`], in the log, for as long as it is missing.

use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::producer::Producer;

use super::metrics;
use super::producer::OutputProducer;
use super::state::Shared;
use super::ServiceError;

/// Time between probes.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long one metadata request may take before the broker counts as lost.
const PROBE_TIMEOUT: Duration = Duration::from_millis(2000);
/// How often missing input topics are logged again.
const MISSING_LOG_EVERY: Duration = Duration::from_secs(30);

/// Starts the probe; it ends when the service stops. It holds the producer
/// only while probing, so it never keeps it alive past the service.
///
/// # Errors
/// When the thread cannot be spawned.
pub(crate) fn spawn(
    producer: &Arc<OutputProducer>,
    shared: Arc<Shared>,
    topics: Vec<String>,
) -> Result<JoinHandle<()>, ServiceError> {
    let producer = Arc::downgrade(producer);
    let name = "logveil-health".to_owned();
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || run(&producer, &shared, &topics))
        .map_err(|source| ServiceError::Thread { name, source })
}

fn run(producer: &Weak<OutputProducer>, shared: &Shared, topics: &[String]) {
    let mut last_missing_log: Option<Instant> = None;
    let mut was_up = true;
    while !shared.should_stop() {
        let started = Instant::now();
        let Some(p) = producer.upgrade() else { return };
        let answer = p.inner.client().fetch_metadata(None, PROBE_TIMEOUT);
        drop(p);
        match answer {
            Ok(md) => {
                let missing: Vec<String> = topics
                    .iter()
                    .filter(|t| {
                        !md.topics().iter().any(|m| {
                            m.name() == t.as_str()
                                && m.error().is_none()
                                && !m.partitions().is_empty()
                        })
                    })
                    .cloned()
                    .collect();
                drop(md);
                for t in topics {
                    metrics::set_input_topic_missing(t, missing.contains(t));
                }
                let due = last_missing_log.is_none_or(|t| t.elapsed() >= MISSING_LOG_EVERY);
                if !missing.is_empty() && due {
                    tracing::warn!(topics = ?missing, "input topics missing on the broker; not ready");
                    last_missing_log = Some(Instant::now());
                }
                if missing.is_empty() {
                    last_missing_log = None;
                }
                shared.readiness.set_missing(missing);
                if !was_up {
                    tracing::info!("broker reachable again");
                }
                was_up = true;
                shared.readiness.set_broker(true);
            }
            Err(error) => {
                if was_up {
                    tracing::warn!(%error, "no broker answers; not ready");
                }
                was_up = false;
                shared.readiness.set_broker(false);
            }
        }
        let rest = PROBE_EVERY.saturating_sub(started.elapsed());
        let until = Instant::now() + rest;
        while Instant::now() < until && !shared.should_stop() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
