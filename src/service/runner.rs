//! Starting and awaiting the service: [`run`] and [`Service`].

use std::net::SocketAddr;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::ThreadedProducer;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::processor::RecordProcessor;

use super::consumer::{ConsumerLoop, GroupContext};
use super::http::{self, Readiness};
use super::kafka_config::{consumer_config, producer_config};
use super::metrics;
use super::producer::{DeliveryContext, OutputProducer};
use super::shutdown::Shutdown;
use super::state::Shared;
use super::worker::{self, WorkerEnv};
use super::ServiceSettings;
use super::{RunSummary, ServiceError};

/// Runs the service until `shutdown` fires (then drains, flushes and commits
/// within the grace period) or a fatal error occurs.
///
/// # Errors
/// Bad settings, clients that cannot be created, an HTTP address that cannot
/// be bound, an output that finally failed to deliver, or a shutdown that
/// overran the grace period. See [`ServiceError`].
pub async fn run<P: RecordProcessor>(
    settings: &ServiceSettings,
    processor: Arc<P>,
    shutdown: Shutdown,
) -> Result<RunSummary, ServiceError> {
    Service::start(settings, processor, shutdown).await?.wait().await
}

/// A started service. [`Service::wait`] awaits its end; dropping it without
/// waiting stops it at once (in-flight work is abandoned, never committed).
pub struct Service {
    http_addr: SocketAddr,
    readiness: Arc<Readiness>,
    shared: Arc<Shared>,
    done: Option<oneshot::Receiver<Result<RunSummary, ServiceError>>>,
    http_stop: Shutdown,
    http_task: Option<JoinHandle<()>>,
    grace: Duration,
}

impl Service {
    /// Validates the settings, binds the HTTP listener, creates the clients,
    /// subscribes to `processor.input_topics()` and starts the threads.
    ///
    /// # Errors
    /// See [`run`].
    pub async fn start<P: RecordProcessor>(
        settings: &ServiceSettings,
        processor: Arc<P>,
        shutdown: Shutdown,
    ) -> Result<Service, ServiceError> {
        settings.validate()?;
        let topics = processor.input_topics();
        if topics.is_empty() {
            return Err(ServiceError::NoInputTopics);
        }
        let prometheus = metrics::prometheus_handle().map_err(ServiceError::Metrics)?;
        metrics::register_at_start(&processor.pipeline_names(), &topics);
        let workers = settings.service.worker_threads;
        let shared = Arc::new(Shared::new(shutdown, workers, processor.clone()));
        let http_stop = Shutdown::new();
        let addr = settings.service.http_listen;
        let (http_addr, http_task) =
            http::serve(addr, prometheus, shared.readiness.clone(), http_stop.clone())
                .await
                .map_err(|source| ServiceError::Http { addr, source })?;
        let mut service = Service {
            http_addr,
            readiness: shared.readiness.clone(),
            shared: shared.clone(),
            done: None,
            http_stop,
            http_task: Some(http_task),
            grace: settings.shutdown_grace(),
        };
        // From here on an early return drops `service`, which stops HTTP.
        let producer: ThreadedProducer<DeliveryContext> = producer_config(settings)
            .create_with_context(DeliveryContext { shared: shared.clone() })
            .map_err(|source| ServiceError::Kafka { context: "create the producer", source })?;
        let producer = Arc::new(OutputProducer::new(producer, shared.clone()));
        super::health::spawn(&producer, shared.clone(), topics.clone())?;
        let context =
            GroupContext { shared: shared.clone(), revoke_timeout: settings.shutdown_grace() };
        let consumer: BaseConsumer<GroupContext> = consumer_config(settings)
            .create_with_context(context)
            .map_err(|source| ServiceError::Kafka { context: "create the consumer", source })?;
        let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topic_refs)
            .map_err(|source| ServiceError::Kafka { context: "subscribe", source })?;

        let mut queues = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        let (spent_tx, spent) = std::sync::mpsc::channel();
        for i in 0..workers {
            // The queue holds batches; its capacity in records stays the setting.
            let (tx, rx) =
                sync_channel(settings.service.queue_capacity.div_ceil(super::consumer::BATCH));
            let env = WorkerEnv {
                processor: processor.clone(),
                producer: producer.clone(),
                shared: shared.clone(),
                dead_letter_topic: settings.kafka.dead_letter_topic.clone(),
                include_raw: settings.kafka.include_raw_in_dead_letters,
                spent: spent_tx.clone(),
            };
            let name = format!("logveil-worker-{i}");
            let handle = std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || worker::run(env, rx))
                .map_err(|source| {
                    shared.abort();
                    ServiceError::Thread { name, source }
                })?;
            queues.push(tx);
            handles.push(handle);
        }
        let (done_tx, done_rx) = oneshot::channel();
        let main = ConsumerLoop {
            consumer,
            producer,
            queues,
            workers: handles,
            spent,
            shared: shared.clone(),
            grace: settings.shutdown_grace(),
            max_lead_ms: settings.max_partition_lead_ms(),
        };
        std::thread::Builder::new()
            .name("logveil-consumer".to_owned())
            .spawn(move || {
                let _ = done_tx.send(main.run());
            })
            .map_err(|source| {
                shared.abort();
                ServiceError::Thread { name: "logveil-consumer".to_owned(), source }
            })?;
        service.done = Some(done_rx);
        tracing::info!(topics = ?topics, workers, "service started");
        Ok(service)
    }

    /// The address the HTTP listener is bound to (useful with port 0).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Whether the service is ready (what `/readyz` says).
    pub fn is_ready(&self) -> bool {
        self.readiness.is_ready()
    }

    /// Waits for the service to end: after the shutdown signal, within the
    /// grace period; or on a fatal error.
    ///
    /// # Errors
    /// See [`run`].
    pub async fn wait(mut self) -> Result<RunSummary, ServiceError> {
        let Some(mut done) = self.done.take() else {
            return Err(ServiceError::ConsumerThreadLost);
        };
        let shutdown = self.shared.shutdown.clone();
        // The consumer thread enforces the grace period itself; this is a
        // backstop in case it is stuck inside librdkafka.
        let backstop = self.grace + Duration::from_secs(10);
        let result = tokio::select! {
            r = &mut done => r.unwrap_or(Err(ServiceError::ConsumerThreadLost)),
            () = async { shutdown.triggered().await; tokio::time::sleep(backstop).await } => {
                self.shared.abort();
                Err(ServiceError::GracePeriodExceeded { grace: self.grace })
            }
        };
        self.http_stop.trigger();
        if let Some(task) = self.http_task.take() {
            let _ = task.await;
        }
        match &result {
            Ok(s) => tracing::info!(?s, "service stopped"),
            Err(error) => tracing::error!(%error, "service stopped with an error"),
        }
        result
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.done.is_some() {
            // Dropped without `wait`: stop now, commit only delivered work.
            self.shared.abort();
        }
        self.http_stop.trigger();
    }
}
