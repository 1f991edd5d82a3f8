//! The Kafka side of the integration tests, written once: unique topic and
//! group names, a mock cluster with those topics, a producer that waits out
//! a full queue, a reader that collects whole topics from the beginning,
//! the committed offsets of a group, and child processes for crash tests.
//!
//! Every client here talks to librdkafka's mock cluster
//! ([`EmbeddedBroker`]) over the real protocol; nothing is faked above it.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use logveil::service::{EmbeddedBroker, Provenance};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, ToBytes};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// `name` made unique across tests, runs and processes sharing a cluster.
pub fn unique(name: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{name}-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Topic and group names of one test, unique per run.
#[derive(Clone, Debug)]
pub struct Names {
    pub input: String,
    pub output: String,
    pub stats: String,
    pub dead: String,
    pub group: String,
    /// A pipeline name (`[a-z0-9_]`) for processors that need one.
    pub pipeline: String,
}

impl Names {
    pub fn new(test: &str) -> Self {
        let id = unique(test);
        Names {
            input: format!("raw.{id}"),
            output: format!("out.raw.{id}"),
            stats: format!("stats.{id}"),
            dead: format!("dlq.{id}"),
            group: format!("group.{id}"),
            pipeline: format!("p_{}", id.replace('-', "_")),
        }
    }

    /// One line for a child process's environment; [`Names::decode`] reads it.
    pub fn encode(&self) -> String {
        [&self.input, &self.output, &self.stats, &self.dead, &self.group, &self.pipeline]
            .map(String::as_str)
            .join("|")
    }

    pub fn decode(s: &str) -> Self {
        let p: Vec<&str> = s.split('|').collect();
        assert_eq!(p.len(), 6, "not an encoded Names: {s}");
        Names {
            input: p[0].into(),
            output: p[1].into(),
            stats: p[2].into(),
            dead: p[3].into(),
            group: p[4].into(),
            pipeline: p[5].into(),
        }
    }
}

/// A mock cluster of `brokers` brokers with `topics` (name, partitions)
/// created.
pub fn cluster(brokers: i32, topics: &[(&str, i32)]) -> EmbeddedBroker {
    let b = EmbeddedBroker::start(brokers).expect("mock cluster starts");
    for (name, partitions) in topics {
        b.create_topic(name, *partitions).expect("topic created");
    }
    b
}

/// Debug logs of the service under test: `RUST_LOG=logveil=debug cargo test`.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
}

/// An idempotent producer (so record `i` sent to a partition keeps its
/// place even when a request is retried) that waits out a full queue.
pub struct Producer(BaseProducer);

impl Producer {
    pub fn new(bootstrap: &str) -> Self {
        let p = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .create()
            .expect("producer created");
        Producer(p)
    }

    /// Queues `rec`, serving delivery reports while the queue is full.
    pub fn send<K, P>(&self, mut rec: BaseRecord<'_, K, P>)
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
    {
        loop {
            match self.0.send(rec) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    rec = back;
                    self.0.poll(Duration::from_millis(5));
                }
                Err((e, _)) => panic!("produce failed: {e}"),
            }
        }
        self.0.poll(Duration::ZERO);
    }

    /// Waits until everything sent is acknowledged.
    pub fn flush(&self) {
        self.0.flush(Duration::from_secs(30)).expect("every input acknowledged");
    }
}

/// Produces `records` (partition, payload) to `topic`, without keys, in order.
pub fn produce(bootstrap: &str, topic: &str, records: &[(i32, String)]) {
    let p = Producer::new(bootstrap);
    for (partition, r) in records {
        p.send(BaseRecord::<(), [u8]>::to(topic).payload(r.as_bytes()).partition(*partition));
    }
    p.flush();
}

/// Produces `payloads[i]` with key `k<i>` to partition `i % partitions`, so
/// record `i` lands at offset `i / partitions`.
pub fn produce_keyed(bootstrap: &str, topic: &str, partitions: i32, payloads: &[String]) {
    let p = Producer::new(bootstrap);
    for (i, payload) in payloads.iter().enumerate() {
        let key = format!("k{i}");
        p.send(
            BaseRecord::to(topic)
                .partition(i as i32 % partitions)
                .key(key.as_bytes())
                .payload(payload.as_bytes()),
        );
    }
    p.flush();
}

/// One record read back from a topic.
#[derive(Debug, Clone)]
pub struct Rec {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    /// Every header as (name, value), in order.
    pub headers: Vec<(String, Vec<u8>)>,
    pub provenance: Option<Provenance>,
}

impl Rec {
    /// The provenance header, which every output must carry.
    pub fn provenance(&self) -> &Provenance {
        self.provenance.as_ref().expect("output without a valid provenance header")
    }

    /// (source partition, source offset) from the provenance header.
    pub fn source(&self) -> (i32, i64) {
        let (_, p, o) = self.provenance().source.as_ref().expect("no source in provenance");
        (*p, *o)
    }
}

/// Reads whole topics from the beginning, accumulating across calls. It
/// assigns partitions itself and never commits, so it never joins a group.
pub struct Reader {
    consumer: BaseConsumer,
    pub records: Vec<Rec>,
}

impl Reader {
    /// Partitions `0..partitions` of `topic`.
    pub fn new(bootstrap: &str, topic: &str, partitions: i32) -> Self {
        Self::of(bootstrap, &[(topic, partitions)])
    }

    /// Partitions `0..n` of every (topic, n).
    pub fn of(bootstrap: &str, topics: &[(&str, i32)]) -> Self {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", unique("reader"))
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "20")
            .set("fetch.queue.backoff.ms", "10")
            .create()
            .expect("reader created");
        let mut tpl = TopicPartitionList::new();
        for (topic, partitions) in topics {
            for p in 0..*partitions {
                tpl.add_partition_offset(topic, p, Offset::Beginning).expect("partition added");
            }
        }
        consumer.assign(&tpl).expect("partitions assigned");
        Reader { consumer, records: Vec::new() }
    }

    /// Collects whatever arrives for `d`.
    pub fn poll_for(&mut self, d: Duration) {
        self.poll_until(d, |_| false);
    }

    /// Collects until `done(records)`; false if `timeout` passed first.
    pub fn poll_until(&mut self, timeout: Duration, done: impl Fn(&[Rec]) -> bool) -> bool {
        let end = Instant::now() + timeout;
        while !done(&self.records) {
            if Instant::now() >= end {
                return false;
            }
            // Errors are transient while a test takes brokers down; the reader retries.
            if let Some(Ok(m)) = self.consumer.poll(Duration::from_millis(50)) {
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                            .collect()
                    })
                    .unwrap_or_default();
                self.records.push(Rec {
                    topic: m.topic().to_owned(),
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    payload: m.payload().unwrap_or_default().to_vec(),
                    headers,
                    provenance: Provenance::of_message(&m),
                });
            }
        }
        true
    }

    /// Collects until `done(records)`; panics naming `what` after `timeout`.
    pub fn until(&mut self, timeout: Duration, what: &str, done: impl Fn(&[Rec]) -> bool) {
        let have = self.poll_until(timeout, done);
        assert!(have, "timed out waiting for {what}; have {}", self.records.len());
    }

    /// The (partition, offset) sources of the records read so far.
    pub fn sources(&self) -> BTreeSet<(i32, i64)> {
        self.records.iter().map(Rec::source).collect()
    }
}

/// One partition's committed position for a group.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The committed offset, -1 when none.
    pub offset: i64,
    /// The commit's metadata string.
    pub metadata: String,
}

/// What `group` has committed on partitions `0..partitions` of `topic`.
pub fn committed_entries(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Vec<Committed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer created");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = consumer.committed_offsets(tpl, Duration::from_secs(10)).expect("committed offsets");
    let out = (0..partitions)
        .map(|p| {
            let e = got.find_partition(topic, p);
            Committed {
                offset: match e.as_ref().map(|e| e.offset()) {
                    Some(Offset::Offset(o)) => o,
                    _ => -1,
                },
                metadata: e.map(|e| e.metadata().to_owned()).unwrap_or_default(),
            }
        })
        .collect();
    // Kafka notes: drop lists returned by the consumer before the consumer.
    drop(got);
    out
}

/// Committed offsets of `group` for partitions `0..partitions` (-1 when none).
pub fn committed(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    committed_entries(bootstrap, group, topic, partitions).iter().map(|c| c.offset).collect()
}

/// The ignored test `test` of this test binary, as a command for a child
/// process (one that a test can `kill -9`), told where the cluster is and
/// which names to use through the environment variable `var`.
pub fn child_command(test: &str, var: &str, bootstrap: &str, names: &Names) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary's path"));
    cmd.args([test, "--exact", "--ignored", "--nocapture"])
        .env(var, format!("{bootstrap}#{}", names.encode()))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// In a child started by [`child_command`]: the bootstrap servers and names
/// its parent passed; `None` when the test runs on its own.
pub fn child_args(var: &str) -> Option<(String, Names)> {
    let spec = std::env::var(var).ok()?;
    let (bootstrap, names) = spec.split_once('#').expect("bootstrap#names");
    Some((bootstrap.to_owned(), Names::decode(names)))
}
