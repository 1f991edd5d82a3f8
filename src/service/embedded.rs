//! An embedded Kafka-protocol broker: librdkafka's mock cluster on a thread.
//!
//! [`EmbeddedBroker`] speaks the real Kafka protocol on real 127.0.0.1
//! sockets, so any Kafka client (this service, kcat, another process) can
//! use it. It backs `logveil demo`, `logveil run --embedded-broker`, the
//! integration tests and the benchmarks. The mock cluster is `!Send`, so one
//! dedicated thread owns it and the handle sends it commands.
//!
//! Limits to know (see the project's Kafka notes): each partition keeps only
//! ~5 MiB; transactions are not really implemented; topics must be created
//! here, not through the admin API.

use std::sync::mpsc;
use std::thread::JoinHandle;

use rdkafka::error::KafkaError;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

/// The mock cluster type the closures of [`EmbeddedBroker::with_cluster`] see.
pub type Cluster = MockCluster<'static, DefaultProducerContext>;

type Job = Box<dyn FnOnce(&Cluster) + Send>;

/// Failures of the embedded broker.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// The mock cluster could not be created.
    #[error("cannot start the embedded broker: {0}")]
    Start(#[source] KafkaError),
    /// The broker thread could not be spawned.
    #[error("cannot spawn the embedded broker thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The broker thread has stopped.
    #[error("the embedded broker has stopped")]
    Stopped,
    /// A mock-cluster operation failed.
    #[error("embedded broker: {operation} failed: {source}")]
    Operation {
        /// What was attempted.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: KafkaError,
    },
}

/// A running in-process Kafka-protocol broker cluster; dropped, it stops.
#[derive(Debug)]
pub struct EmbeddedBroker {
    bootstrap: String,
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl EmbeddedBroker {
    /// Starts a cluster of `brokers` brokers (ids 1..=brokers).
    ///
    /// # Errors
    /// When librdkafka cannot create the cluster or the thread cannot start.
    pub fn start(brokers: i32) -> Result<Self, EmbeddedError> {
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, KafkaError>>();
        let thread = std::thread::Builder::new()
            .name("logveil-embedded-broker".to_owned())
            .spawn(move || {
                let cluster = match MockCluster::new(brokers) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                // Runs until every sender is gone (the handle was dropped).
                for job in jobs_rx {
                    job(&cluster);
                }
            })
            .map_err(EmbeddedError::Thread)?;
        match ready_rx.recv() {
            Ok(Ok(bootstrap)) => {
                tracing::info!(%bootstrap, brokers, "embedded Kafka broker started");
                Ok(EmbeddedBroker { bootstrap, jobs: Some(jobs_tx), thread: Some(thread) })
            }
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(EmbeddedError::Start(e))
            }
            Err(_) => {
                let _ = thread.join();
                Err(EmbeddedError::Stopped)
            }
        }
    }

    /// The `bootstrap.servers` string for clients.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Runs `f` on the broker thread with the mock cluster and returns its
    /// result: the escape hatch for any fault injection not wrapped here.
    ///
    /// # Errors
    /// [`EmbeddedError::Stopped`] if the broker thread is gone.
    pub fn with_cluster<R, F>(&self, f: F) -> Result<R, EmbeddedError>
    where
        R: Send + 'static,
        F: FnOnce(&Cluster) -> R + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |c| {
            let _ = tx.send(f(c));
        });
        self.jobs
            .as_ref()
            .ok_or(EmbeddedError::Stopped)?
            .send(job)
            .map_err(|_| EmbeddedError::Stopped)?;
        rx.recv().map_err(|_| EmbeddedError::Stopped)
    }

    fn op(
        &self,
        operation: &'static str,
        f: impl FnOnce(&Cluster) -> Result<(), KafkaError> + Send + 'static,
    ) -> Result<(), EmbeddedError> {
        self.with_cluster(f)?.map_err(|source| EmbeddedError::Operation { operation, source })
    }

    /// Creates a topic with `partitions` partitions (replication factor 1).
    ///
    /// # Errors
    /// When the mock refuses the topic.
    pub fn create_topic(&self, name: &str, partitions: i32) -> Result<(), EmbeddedError> {
        let name = name.to_owned();
        self.op("create_topic", move |c| c.create_topic(&name, partitions, 1))
    }

    /// Takes broker `id` down (its connections drop); `-1` means all.
    ///
    /// # Errors
    /// When the mock does not know the broker.
    pub fn broker_down(&self, id: i32) -> Result<(), EmbeddedError> {
        self.op("broker_down", move |c| c.broker_down(id))
    }

    /// Brings broker `id` back up; `-1` means all.
    ///
    /// # Errors
    /// When the mock does not know the broker.
    pub fn broker_up(&self, id: i32) -> Result<(), EmbeddedError> {
        self.op("broker_up", move |c| c.broker_up(id))
    }

    /// Makes the next `count` produce requests fail with `error`.
    ///
    /// # Errors
    /// [`EmbeddedError::Stopped`] if the broker thread is gone.
    pub fn fail_produce_requests(
        &self,
        error: RDKafkaRespErr,
        count: usize,
    ) -> Result<(), EmbeddedError> {
        self.with_cluster(move |c| c.request_errors(RDKafkaApiKey::Produce, &vec![error; count]))
    }

    /// Clears produce errors queued by [`EmbeddedBroker::fail_produce_requests`].
    ///
    /// # Errors
    /// [`EmbeddedError::Stopped`] if the broker thread is gone.
    pub fn clear_produce_errors(&self) -> Result<(), EmbeddedError> {
        self.with_cluster(|c| c.clear_request_errors(RDKafkaApiKey::Produce))
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop; the cluster drops there.
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
