//! The Kafka service against a real Kafka protocol: librdkafka's mock
//! cluster started by each test ([`EmbeddedBroker`]), unique topic names,
//! and a small processor defined here (uppercase the payload; `bad…` fails
//! with `invalid_json`; `skip` is filtered). The engine's own end-to-end
//! tests live elsewhere; these prove the service mechanics: outputs, dead
//! letters, offsets, crashes, broker faults, rebalances, shutdown, metrics.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::http_get;
use common::kafka::{self, committed, produce_keyed, Names, Reader, Rec};
use logveil::processor::{
    CommitState, Disposition, OutputKind, OutputRecord, RecordFailure, RecordProcessor,
    SourceRecord,
};
use logveil::service::{self, EmbeddedBroker, Service, ServiceError, ServiceSettings, Shutdown};
use rdkafka::types::RDKafkaRespErr;

// ---------------------------------------------------------------- helpers

fn settings(bootstrap: &str, names: &Names) -> ServiceSettings {
    // Logs for debugging a failure: RUST_LOG=logveil=debug cargo test --test kafka
    kafka::init_logs();
    common::test_settings(bootstrap, &names.group, &names.dead, 2)
}

/// Uppercases payloads into `out.<topic>`; fails `bad…`; filters `skip`.
struct TestProcessor {
    names: Names,
    /// Per-record pause, to keep a stream running long enough for faults.
    delay: Duration,
    processed: AtomicU64,
    /// Further input topics (which may not exist).
    extra_inputs: Vec<String>,
    /// When set, payloads `t<ms>-…` carry an event time, reported per
    /// partition in `commit_states` (as statistics would) for alignment.
    event_times: Option<std::sync::Mutex<BTreeMap<i32, i64>>>,
}

impl TestProcessor {
    fn new(names: &Names, delay: Duration) -> Arc<Self> {
        Self::reading(names, delay, Vec::new())
    }
    fn reading(names: &Names, delay: Duration, extra_inputs: Vec<String>) -> Arc<Self> {
        Arc::new(TestProcessor {
            names: names.clone(),
            delay,
            processed: AtomicU64::new(0),
            extra_inputs,
            event_times: None,
        })
    }
    fn with_event_times(names: &Names, delay: Duration) -> Arc<Self> {
        Arc::new(TestProcessor {
            names: names.clone(),
            delay,
            processed: AtomicU64::new(0),
            extra_inputs: Vec::new(),
            event_times: Some(std::sync::Mutex::new(BTreeMap::new())),
        })
    }
}

impl RecordProcessor for TestProcessor {
    type Worker = Vec<u8>;

    fn new_worker(&self) -> Vec<u8> {
        Vec::new()
    }
    fn input_topics(&self) -> Vec<String> {
        let mut topics = vec![self.names.input.clone()];
        topics.extend(self.extra_inputs.iter().cloned());
        topics
    }
    fn output_topics(&self) -> Vec<String> {
        vec![self.names.output.clone()]
    }
    fn pipeline_names(&self) -> Vec<String> {
        vec![self.names.pipeline.clone()]
    }
    fn process(
        &self,
        buf: &mut Vec<u8>,
        record: &SourceRecord<'_>,
        sink: &mut dyn FnMut(OutputRecord<'_>),
    ) -> Disposition {
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        self.processed.fetch_add(1, Ordering::Relaxed);
        let payload = record.payload.unwrap_or_default();
        if let Some(times) = &self.event_times {
            let text = std::str::from_utf8(payload).unwrap_or_default();
            let t = text.strip_prefix('t').and_then(|r| r.split('-').next()?.parse::<i64>().ok());
            if let Some(t) = t {
                let mut times = times.lock().unwrap();
                let e = times.entry(record.partition).or_insert(t);
                *e = (*e).max(t);
            }
        }
        let pipeline = self.names.pipeline.clone();
        if payload.starts_with(b"bad") {
            return Disposition::Failed(RecordFailure {
                error_code: logveil::error::ErrorCode::InvalidJson,
                message: "expected value at line 1 column 1".into(),
                pipeline: Some(pipeline),
            });
        }
        if payload == b"skip" {
            return Disposition::Filtered { pipeline };
        }
        buf.clear();
        buf.extend(payload.iter().map(u8::to_ascii_uppercase));
        sink(OutputRecord {
            topic: &self.names.output,
            key: record.key,
            payload: buf,
            pipeline: &self.names.pipeline,
            key_id: Some("k1"),
            kind: OutputKind::Anonymized,
            stats_provenance: None,
        });
        Disposition::Emitted
    }
    fn tick(&self, _: &mut Vec<u8>, _: i64, _: &mut dyn FnMut(OutputRecord<'_>)) {}
    fn finish(&self, _: &mut Vec<u8>, _: &mut dyn FnMut(OutputRecord<'_>)) {}
    fn commit_states(&self, partitions: &[(&str, i32)], _: bool) -> Vec<CommitState> {
        let times = self.event_times.as_ref().map(|t| t.lock().unwrap().clone());
        partitions
            .iter()
            .map(|&(_, p)| CommitState {
                event_time_ms: times.as_ref().and_then(|t| t.get(&p).copied()),
                ..CommitState::default()
            })
            .collect()
    }
}

fn broker_with_topics(brokers: i32, names: &Names, partitions: i32) -> EmbeddedBroker {
    kafka::cluster(brokers, &[(&names.input, partitions), (&names.output, 3), (&names.dead, 1)])
}

/// The (partition, offset) of every input record, with its payload.
fn input_map(bootstrap: &str, topic: &str, partitions: i32, n: usize) -> BTreeMap<(i32, i64), Rec> {
    let mut r = Reader::new(bootstrap, topic, partitions);
    r.until(Duration::from_secs(30), "inputs", |recs| recs.len() >= n);
    r.records.iter().map(|x| ((x.partition, x.offset), x.clone())).collect()
}

/// The value of one sample line `name{labels} value` in Prometheus text.
fn sample(text: &str, name: &str, labels: &str) -> f64 {
    let prefix = format!("{name}{{{labels}}} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0.0, |v| v.trim().parse().unwrap())
}

fn payloads(n: usize, bad_every: usize, skip_every: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            if bad_every > 0 && i % bad_every == 3 {
                format!("bad-secret-{i}")
            } else if skip_every > 0 && i % skip_every == 5 {
                "skip".to_owned()
            } else {
                format!("record-{i}")
            }
        })
        .collect()
}

// ------------------------------------------------------------------ tests

/// Every input offset ends in exactly one place: its uppercased output (key
/// and provenance header intact), a dead letter without the raw payload, or
/// a counted filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_outputs_dead_letters_and_filters() {
    let names = Names::new("rt");
    let broker = broker_with_topics(1, &names, 4);
    let bs = broker.bootstrap_servers().to_owned();
    let inputs = payloads(400, 10, 15);
    produce_keyed(&bs, &names.input, 4, &inputs);
    let input = input_map(&bs, &names.input, 4, inputs.len());
    let bad = inputs.iter().filter(|p| p.starts_with("bad")).count();
    let skipped = inputs.iter().filter(|p| *p == "skip").count();
    let good = inputs.len() - bad - skipped;

    let shutdown = Shutdown::new();
    let proc = TestProcessor::new(&names, Duration::ZERO);
    let task = {
        let (s, p, sd) = (settings(&bs, &names), proc.clone(), shutdown.clone());
        tokio::spawn(async move { service::run(&s, p, sd).await })
    };
    let mut out = Reader::new(&bs, &names.output, 3);
    let mut dlq = Reader::new(&bs, &names.dead, 1);
    tokio::task::block_in_place(|| {
        out.until(Duration::from_secs(60), "outputs", |r| r.len() >= good);
        dlq.until(Duration::from_secs(30), "dead letters", |r| r.len() >= bad);
    });
    shutdown.trigger();
    let summary = task.await.unwrap().unwrap();
    assert_eq!(summary.records_in, inputs.len() as u64);
    assert_eq!(summary.records_out, good as u64);
    assert_eq!(summary.dead_lettered, bad as u64);
    assert_eq!(summary.filtered, skipped as u64);
    assert_eq!(summary.delivery_errors, 0);

    let mut seen = BTreeSet::new();
    for o in &out.records {
        let src = o.source();
        assert!(seen.insert(src), "duplicate output for {src:?} in a clean run");
        let i = &input[&src];
        assert_eq!(o.payload, i.payload.to_ascii_uppercase());
        assert_eq!(o.key, i.key, "key passes through");
        let p = o.provenance();
        assert_eq!(p.source.as_ref().map(|s| s.0.as_str()), Some(names.input.as_str()));
        assert_eq!(p.pipeline.as_deref(), Some(names.pipeline.as_str()));
        assert_eq!(p.key_id.as_deref(), Some("k1"));
        // The documented header, byte for byte: one header, one value.
        let expected = format!(
            "topic={};partition={};offset={};pipeline={};key_id=k1",
            names.input, src.0, src.1, names.pipeline
        );
        assert_eq!(o.headers, [("logveil-provenance".to_owned(), expected.into_bytes())]);
    }
    for d in &dlq.records {
        let src = d.source();
        let expected = format!(
            "topic={};partition={};offset={};pipeline={}",
            names.input, src.0, src.1, names.pipeline
        );
        assert_eq!(d.headers, [("logveil-provenance".to_owned(), expected.into_bytes())]);
        assert_eq!(d.provenance().pipeline.as_deref(), Some(names.pipeline.as_str()));
        assert_eq!(d.provenance().key_id, None, "no pseudonym was written");
        assert!(seen.insert(src), "record with both an output and a dead letter");
        let text = String::from_utf8(d.payload.clone()).unwrap();
        assert!(!text.contains("secret"), "dead letter leaks the raw record: {text}");
        assert!(d.key.is_none());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error_code"], "invalid_json");
        assert_eq!(v["pipeline"], names.pipeline.as_str());
        assert_eq!(v["source"]["topic"], names.input.as_str());
        assert_eq!(v["source"]["partition"], src.0);
        assert_eq!(v["source"]["offset"], src.1);
        assert!(input[&src].payload.starts_with(b"bad"));
        assert_eq!(v["bytes"], input[&src].payload.len());
    }
    let filtered: BTreeSet<_> =
        input.iter().filter(|(_, r)| r.payload == b"skip").map(|(k, _)| *k).collect();
    let all: BTreeSet<_> = seen.union(&filtered).copied().collect();
    assert_eq!(all, input.keys().copied().collect(), "every input offset accounted for");
    assert_eq!(
        committed(&bs, &names.group, &names.input, 4).iter().sum::<i64>(),
        inputs.len() as i64
    );
}

/// Graceful shutdown mid-stream commits exactly what was delivered: below
/// each partition's committed offset every record has its output, and no
/// output exists at or above it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_commits_delivered_work_and_nothing_more() {
    let names = Names::new("graceful");
    let broker = broker_with_topics(1, &names, 4);
    let bs = broker.bootstrap_servers().to_owned();
    let inputs = payloads(3000, 0, 0);
    produce_keyed(&bs, &names.input, 4, &inputs);

    let shutdown = Shutdown::new();
    let proc = TestProcessor::new(&names, Duration::from_millis(2));
    let mut s = settings(&bs, &names);
    s.service.queue_capacity = 32;
    let task = {
        let (p, sd) = (proc.clone(), shutdown.clone());
        tokio::spawn(async move { service::run(&s, p, sd).await })
    };
    let mut out = Reader::new(&bs, &names.output, 3);
    tokio::task::block_in_place(|| {
        out.until(Duration::from_secs(60), "first outputs", |r| r.len() >= 300);
    });
    shutdown.trigger();
    let summary = task.await.unwrap().unwrap();
    assert!(summary.records_in < inputs.len() as u64, "stopped mid-stream");
    tokio::task::block_in_place(|| out.poll_for(Duration::from_secs(2)));

    let committed = committed(&bs, &names.group, &names.input, 4);
    let sources = out.sources();
    assert_eq!(sources.len(), out.records.len(), "no duplicates in one clean run");
    for (p, &c) in committed.iter().enumerate() {
        let p = p as i32;
        let have: Vec<i64> = sources.iter().filter(|s| s.0 == p).map(|s| s.1).collect();
        let expect: Vec<i64> = (0..c.max(0)).collect();
        assert_eq!(have, expect, "partition {p}: outputs must be exactly 0..committed");
    }
    assert_eq!(committed.iter().map(|c| (*c).max(0)).sum::<i64>() as u64, summary.records_in);
}

/// Watermark alignment: a partition whose event time runs far ahead of the
/// other's is paused (its pre-fetched records dropped by librdkafka) and
/// resumed later, and still every input offset reaches its output exactly
/// once in a clean run, and everything is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_paused_for_alignment_lose_nothing() {
    let names = Names::new("align");
    let broker = broker_with_topics(1, &names, 2);
    let bs = broker.bootstrap_servers().to_owned();
    // Partition 0 one record per event-time minute, partition 1 ten hours
    // ahead: with a 60 s lead, partition 1 pauses while 0 delivers.
    let n = 600;
    let records: Vec<(i32, String)> = (0..n)
        .map(|i| {
            let p = (i % 2) as i32;
            let t = (i / 2) as i64 * 60_000 + if p == 1 { 36_000_000 } else { 0 };
            (p, format!("t{t}-record-{i}"))
        })
        .collect();
    kafka::produce(&bs, &names.input, &records);
    let input = input_map(&bs, &names.input, 2, n);
    let pauses = || {
        let text = service::metrics::prometheus_handle().unwrap().render();
        text.lines()
            .find_map(|l| l.strip_prefix("logveil_partition_pauses_total "))
            .map_or(0.0, |v| v.trim().parse::<f64>().unwrap())
    };
    let before = pauses();

    let shutdown = Shutdown::new();
    // Slow enough that both partitions are being processed for seconds.
    let proc = TestProcessor::with_event_times(&names, Duration::from_millis(5));
    let mut s = settings(&bs, &names);
    s.service.max_partition_lead_secs = 60;
    s.service.queue_capacity = 64;
    s.kafka.consumer.insert("max.partition.fetch.bytes".into(), "2048".into());
    let task = {
        let (p, sd) = (proc.clone(), shutdown.clone());
        tokio::spawn(async move { service::run(&s, p, sd).await })
    };
    let mut out = Reader::new(&bs, &names.output, 3);
    tokio::task::block_in_place(|| {
        out.until(Duration::from_secs(90), "outputs", |r| r.len() >= n);
    });
    shutdown.trigger();
    let summary = task.await.unwrap().unwrap();
    assert!(pauses() > before, "partition 1 was paused at least once");
    assert_eq!(summary.records_in, n as u64, "nothing read twice in a clean run");
    let sources = out.sources();
    assert_eq!(sources.len(), out.records.len(), "no duplicate outputs");
    assert_eq!(sources, input.keys().copied().collect(), "every input offset has its output");
    for o in &out.records {
        assert_eq!(o.payload, input[&o.source()].payload.to_ascii_uppercase());
    }
    assert_eq!(committed(&bs, &names.group, &names.input, 2), vec![n as i64 / 2, n as i64 / 2]);
}

/// Settings for the crash child, passed through the environment.
const CHILD_ENV: &str = "LOGVEIL_TEST_CRASH_CHILD";

/// Not a test on its own: the child process of
/// `no_record_lost_when_the_process_is_killed`, run the service until killed.
#[test]
#[ignore = "child process of the crash test"]
fn crash_child() {
    let Some((bootstrap, names)) = kafka::child_args(CHILD_ENV) else { return };
    let s = settings(&bootstrap, &names);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let proc = TestProcessor::new(&names, Duration::from_millis(5));
        let run = service::run(&s, proc, Shutdown::new());
        // The parent kills us long before this.
        let _ = tokio::time::timeout(Duration::from_secs(120), run).await;
    });
}

/// Kill -9 the service mid-stream in a child process, restart it in the same
/// group: every input offset has its output at least once, and the offsets
/// committed before the kill only covered delivered outputs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_record_lost_when_the_process_is_killed() {
    let names = Names::new("crash");
    let broker = broker_with_topics(1, &names, 4);
    let bs = broker.bootstrap_servers().to_owned();
    let n = 1500;
    produce_keyed(&bs, &names.input, 4, &payloads(n, 0, 0));

    let mut child = kafka::child_command("crash_child", CHILD_ENV, &bs, &names).spawn().unwrap();
    let mut out = Reader::new(&bs, &names.output, 3);
    tokio::task::block_in_place(|| {
        out.until(Duration::from_secs(60), "child outputs", |r| r.len() >= 300);
        // Offsets are stored per finished span of a batch (up to 64 records)
        // and committed on librdkafka's interval: wait for the first commit,
        // so the kill lands after some progress was committed (the child
        // takes ~4 s for all records, so it is still mid-stream).
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while committed(&bs, &names.group, &names.input, 4).iter().all(|c| *c <= 0) {
            assert!(std::time::Instant::now() < deadline, "the child never committed");
            out.poll_for(Duration::from_millis(50));
        }
    });
    child.kill().unwrap(); // SIGKILL: no shutdown code runs
    child.wait().unwrap();
    let before_kill = out.sources();
    let committed_at_kill = committed(&bs, &names.group, &names.input, 4);
    let committed_total: i64 = committed_at_kill.iter().map(|c| (*c).max(0)).sum();
    assert!(committed_total > 0, "the child committed progress before the kill");
    assert!(committed_total < n as i64, "the kill landed mid-stream");
    tokio::task::block_in_place(|| out.poll_for(Duration::from_secs(1)));
    for (p, &c) in committed_at_kill.iter().enumerate() {
        for o in 0..c {
            assert!(
                out.sources().contains(&(p as i32, o)),
                "offset {p}/{o} committed but its output was never delivered"
            );
        }
    }

    // Restart in the same group, in this process.
    let shutdown = Shutdown::new();
    let task = {
        let (s, p, sd) =
            (settings(&bs, &names), TestProcessor::new(&names, Duration::ZERO), shutdown.clone());
        tokio::spawn(async move { service::run(&s, p, sd).await })
    };
    tokio::task::block_in_place(|| {
        out.until(Duration::from_secs(90), "every offset after restart", |r| {
            r.iter().map(Rec::source).collect::<BTreeSet<_>>().len() >= n
        });
    });
    shutdown.trigger();
    let summary = task.await.unwrap().unwrap();
    let expected: BTreeSet<(i32, i64)> = (0..n).map(|i| ((i % 4) as i32, (i / 4) as i64)).collect();
    assert_eq!(out.sources(), expected);
    assert!(
        summary.records_in <= (n as i64 - committed_total) as u64 + 4 * 256 + 64,
        "the restart resumed near the committed offsets, not from the beginning"
    );
    eprintln!(
        "crash test: {} outputs before the kill, {} committed, {} re-read after restart, {} duplicates",
        before_kill.len(),
        committed_total,
        summary.records_in,
        out.records.len() - n
    );
}

/// Take brokers down and up mid-stream: nothing is lost, and after a
/// graceful stop every offset is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outages_lose_nothing() {
    let names = Names::new("faults");
    let broker = broker_with_topics(3, &names, 6);
    let bs = broker.bootstrap_servers().to_owned();
    let n = 3000;
    produce_keyed(&bs, &names.input, 6, &payloads(n, 0, 0));

    let shutdown = Shutdown::new();
    let task = {
        let (s, p, sd) = (
            settings(&bs, &names),
            TestProcessor::new(&names, Duration::from_millis(1)),
            shutdown.clone(),
        );
        tokio::spawn(async move { service::run(&s, p, sd).await })
    };
    let mut out = Reader::new(&bs, &names.output, 3);
    tokio::task::block_in_place(|| {
        out.until(Duration::from_secs(60), "first outputs", |r| r.len() >= 200);
        for id in [1, 2, 3] {
            broker.broker_down(id).unwrap();
            std::thread::sleep(Duration::from_millis(1500));
            broker.broker_up(id).unwrap();
            out.poll_for(Duration::from_millis(500));
        }
        out.until(Duration::from_secs(120), "every offset", |r| {
            r.iter().map(Rec::source).collect::<BTreeSet<_>>().len() >= n
        });
    });
    shutdown.trigger();
    let summary = task.await.unwrap().unwrap();
    let expected: BTreeSet<(i32, i64)> = (0..n).map(|i| ((i % 6) as i32, (i / 6) as i64)).collect();
    assert_eq!(out.sources(), expected);
    assert_eq!(summary.delivery_errors, 0);
    assert_eq!(committed(&bs, &names.group, &names.input, 6), vec![(n / 6) as i64; 6]);
}

/// Two instances in one group share the partitions and together produce
/// every output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_partitions() {
    let names = Names::new("pair");
    let broker = broker_with_topics(1, &names, 4);
    let bs = broker.bootstrap_servers().to_owned();
    let n = 2000;
    produce_keyed(&bs, &names.input, 4, &payloads(n, 0, 0));

    let shutdown = Shutdown::new();
    let start = |sd: Shutdown| {
        let s = settings(&bs, &names);
        let p = TestProcessor::new(&names, Duration::from_millis(8));
        tokio::spawn(async move { service::run(&s, p, sd).await })
    };
    let a = start(shutdown.clone());
    let b = start(shutdown.clone());
    let mut out = Reader::new(&bs, &names.output, 3);
    tokio::task::block_in_place(|| {
        out.until(Duration::from_secs(120), "every offset", |r| {
            r.iter().map(Rec::source).collect::<BTreeSet<_>>().len() >= n
        });
    });
    shutdown.trigger();
    let (sa, sb) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
    assert!(sa.records_in > 0 && sb.records_in > 0, "both worked: {sa:?} {sb:?}");
    assert!(sa.records_in + sb.records_in >= n as u64);
    let expected: BTreeSet<(i32, i64)> = (0..n).map(|i| ((i % 4) as i32, (i / 4) as i64)).collect();
    assert_eq!(out.sources(), expected);
    assert_eq!(committed(&bs, &names.group, &names.input, 4), vec![(n / 4) as i64; 4]);
}

/// An output that cannot be delivered stops the service with an error and
/// is never committed past; a restart after the fault is fixed delivers all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeliverable_output_stops_the_service_without_committing_it() {
    let names = Names::new("undeliverable");
    let broker = broker_with_topics(1, &names, 2);
    let bs = broker.bootstrap_servers().to_owned();
    let n = 200;
    produce_keyed(&bs, &names.input, 2, &payloads(n, 0, 0));
    broker
        .fail_produce_requests(RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, 10_000)
        .unwrap();

    let mut s = settings(&bs, &names);
    s.kafka.message_timeout_ms = 2000;
    let err = service::run(&s, TestProcessor::new(&names, Duration::ZERO), Shutdown::new())
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Delivery { .. }), "{err}");
    let committed_after = committed(&bs, &names.group, &names.input, 2);
    // 0 (or nothing) means "read from the start again": nothing was delivered,
    // so nothing may be committed past the first record.
    assert!(committed_after.iter().all(|&c| c <= 0), "{committed_after:?}");

    broker.clear_produce_errors().unwrap();
    let shutdown = Shutdown::new();
    let task = {
        let (s, p, sd) =
            (settings(&bs, &names), TestProcessor::new(&names, Duration::ZERO), shutdown.clone());
        tokio::spawn(async move { service::run(&s, p, sd).await })
    };
    let mut out = Reader::new(&bs, &names.output, 3);
    tokio::task::block_in_place(|| {
        out.until(Duration::from_secs(60), "every offset after the fix", |r| {
            r.iter().map(Rec::source).collect::<BTreeSet<_>>().len() >= n
        });
    });
    shutdown.trigger();
    task.await.unwrap().unwrap();
    assert_eq!(committed(&bs, &names.group, &names.input, 2), vec![(n / 2) as i64; 2]);
}

/// `/readyz` is 503 before the assignment and 200 after; `/metrics` counts
/// exactly what happened, per pipeline and error code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_readiness_over_http() {
    let names = Names::new("metrics");
    let broker = broker_with_topics(1, &names, 2);
    let bs = broker.bootstrap_servers().to_owned();
    let inputs = payloads(100, 10, 15);
    let bad = inputs.iter().filter(|p| p.starts_with("bad")).count();
    let skipped = inputs.iter().filter(|p| *p == "skip").count();
    let good = inputs.len() - bad - skipped;

    let shutdown = Shutdown::new();
    let s = settings(&bs, &names);
    let workers = s.service.worker_threads;
    let service = Service::start(&s, TestProcessor::new(&names, Duration::ZERO), shutdown.clone())
        .await
        .unwrap();
    let addr = service.http_addr();
    assert_eq!(http_get(addr, "/healthz").await.0, 200);
    assert_eq!(http_get(addr, "/readyz").await.0, 503, "not ready before joining the group");
    let end = Instant::now() + Duration::from_secs(30);
    while http_get(addr, "/readyz").await.0 != 200 {
        assert!(Instant::now() < end, "never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(service.is_ready());

    produce_keyed(&bs, &names.input, 2, &inputs);
    let mut out = Reader::new(&bs, &names.output, 3);
    tokio::task::block_in_place(|| {
        out.until(Duration::from_secs(60), "outputs", |r| r.len() >= good);
    });
    let label = format!("pipeline=\"{}\"", names.pipeline);
    let mut text = String::new();
    let end = Instant::now() + Duration::from_secs(10);
    while sample(&text, "logveil_records_in_total", &label) < inputs.len() as f64 {
        assert!(Instant::now() < end, "records_in never reached the input count:\n{text}");
        let (status, body) = http_get(addr, "/metrics").await;
        assert_eq!(status, 200);
        text = body;
    }
    assert_eq!(sample(&text, "logveil_records_in_total", &label), inputs.len() as f64);
    assert_eq!(sample(&text, "logveil_records_out_total", &label), good as f64);
    assert_eq!(sample(&text, "logveil_records_filtered_total", &label), skipped as f64);
    assert_eq!(
        sample(
            &text,
            "logveil_records_dead_lettered_total",
            &format!("{label},error_code=\"invalid_json\"")
        ),
        bad as f64
    );
    // Each worker times its first record and then every 8th one.
    let timed = sample(&text, "logveil_processing_duration_seconds_count", &label);
    let every = service::PROCESSING_SAMPLE_EVERY as usize;
    let least = inputs.len().div_ceil(every);
    assert!(
        (least as f64..=(least + workers - 1) as f64).contains(&timed),
        "{timed} records timed of {}, expected {least}..{}",
        inputs.len(),
        least + workers - 1
    );
    assert!(text.contains("# TYPE logveil_processing_duration_seconds histogram"));
    assert!(!text.contains("secret"), "no record content in metrics");
    shutdown.trigger();
    let summary = service.wait().await.unwrap();
    assert_eq!(summary.records_in, inputs.len() as u64);
}

/// Emits a statistics row on every tick and one on finish; no records.
struct TickingProcessor {
    names: Names,
    stats: String,
}

impl RecordProcessor for TickingProcessor {
    type Worker = u64;
    fn new_worker(&self) -> u64 {
        0
    }
    fn input_topics(&self) -> Vec<String> {
        vec![self.names.input.clone()]
    }
    fn output_topics(&self) -> Vec<String> {
        vec![self.stats.clone()]
    }
    fn process(
        &self,
        _: &mut u64,
        _: &SourceRecord<'_>,
        _: &mut dyn FnMut(OutputRecord<'_>),
    ) -> Disposition {
        Disposition::Filtered { pipeline: self.names.pipeline.clone() }
    }
    fn tick(&self, ticks: &mut u64, _now_ms: i64, sink: &mut dyn FnMut(OutputRecord<'_>)) {
        *ticks += 1;
        sink(OutputRecord {
            topic: &self.stats,
            key: None,
            payload: b"tick",
            pipeline: &self.names.pipeline,
            key_id: None,
            kind: OutputKind::Stats,
            stats_provenance: None,
        });
    }
    fn finish(&self, _: &mut u64, sink: &mut dyn FnMut(OutputRecord<'_>)) {
        sink(OutputRecord {
            topic: &self.stats,
            key: None,
            payload: b"finish",
            pipeline: &self.names.pipeline,
            key_id: None,
            kind: OutputKind::Stats,
            stats_provenance: None,
        });
    }
}

/// `tick()` runs about once a second per worker without any traffic, and
/// `finish()` once per worker at graceful shutdown; statistics outputs carry
/// the pipeline header but no source coordinates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tick_without_traffic_and_finish_on_shutdown() {
    let names = Names::new("tick");
    let stats = format!("stats.{}", names.input);
    let broker = broker_with_topics(1, &names, 1);
    broker.create_topic(&stats, 1).unwrap();
    let bs = broker.bootstrap_servers().to_owned();
    let shutdown = Shutdown::new();
    let s = settings(&bs, &names);
    let p = Arc::new(TickingProcessor { names: names.clone(), stats: stats.clone() });
    let task = {
        let sd = shutdown.clone();
        tokio::spawn(async move { service::run(&s, p, sd).await })
    };
    let mut r = Reader::new(&bs, &stats, 1);
    tokio::task::block_in_place(|| {
        r.until(Duration::from_secs(30), "ticks", |recs| recs.len() >= 4);
    });
    shutdown.trigger();
    let summary = task.await.unwrap().unwrap();
    tokio::task::block_in_place(|| {
        r.until(Duration::from_secs(10), "finish rows", |recs| {
            recs.iter().filter(|x| x.payload == b"finish").count() == 2
        });
    });
    assert_eq!(summary.records_in, 0);
    assert!(summary.stats_out >= 6, "{summary:?}");
    for rec in &r.records {
        assert_eq!(rec.provenance().pipeline.as_deref(), Some(names.pipeline.as_str()));
        assert_eq!(rec.provenance().source, None, "statistics have no single source");
    }
}

// ------------------------------------------------------- readiness, metrics

/// Polls `/readyz` every 100 ms until its status is `want`; the time it
/// took and the body, or `None` after `bound`.
async fn readyz_becomes(
    addr: SocketAddr,
    want: u16,
    bound: Duration,
) -> Option<(Duration, String)> {
    let start = Instant::now();
    while start.elapsed() < bound {
        let (status, body) = http_get(addr, "/readyz").await;
        if status == want {
            return Some((start.elapsed(), body));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// The broker goes away while the service works through a backlog with
/// outputs queued in the producer: `/readyz` says 503 "no broker" within a
/// bound, and 200 again once the broker is back; nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_broker_under_load() {
    let names = Names::new("ready-load");
    let broker = broker_with_topics(1, &names, 4);
    let bs = broker.bootstrap_servers().to_owned();
    let n = 12_000;
    produce_keyed(&bs, &names.input, 4, &payloads(n, 0, 0));
    let shutdown = Shutdown::new();
    let s = settings(&bs, &names);
    let service =
        Service::start(&s, TestProcessor::new(&names, Duration::from_millis(1)), shutdown.clone())
            .await
            .unwrap();
    let addr = service.http_addr();
    assert!(readyz_becomes(addr, 200, Duration::from_secs(30)).await.is_some(), "never ready");
    let mut out = Reader::new(&bs, &names.output, 3);
    tokio::task::block_in_place(|| {
        out.until(Duration::from_secs(60), "first outputs", |r| r.len() >= 500)
    });

    broker.broker_down(1).unwrap();
    let (took, body) = readyz_becomes(addr, 503, Duration::from_secs(10))
        .await
        .expect("/readyz stayed 200 for 10 s without a broker");
    assert!(body.contains("not ready: no broker"), "{body}");
    // The most outputs waiting in the producer while the broker is away
    // (the gauge has no labels: its line is `name value`).
    let mut queued = 0.0_f64;
    for _ in 0..20 {
        let metrics = http_get(addr, "/metrics").await.1;
        let now = metrics
            .lines()
            .find_map(|l| l.strip_prefix("logveil_producer_queue_messages "))
            .map_or(0.0, |v| v.trim().parse().unwrap());
        queued = queued.max(now);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(http_get(addr, "/readyz").await.0, 503, "still down");
    broker.broker_up(1).unwrap();
    let (back, _) = readyz_becomes(addr, 200, Duration::from_secs(60))
        .await
        .expect("/readyz never came back after the broker did");
    tokio::task::block_in_place(|| {
        out.until(Duration::from_secs(120), "every offset", |r| {
            r.iter().map(Rec::source).collect::<BTreeSet<_>>().len() >= n
        });
    });
    eprintln!(
        "readiness: 503 {took:?} after the broker went down ({queued} outputs queued), \
         200 {back:?} after it came back"
    );
    assert!(queued > 0.0, "outputs were queued when the broker went away");
    shutdown.trigger();
    service.wait().await.unwrap();
}

/// A configured input topic that does not exist: 503 naming it, a metric
/// for it, and 200 once it is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_names_a_missing_input_topic() {
    let names = Names::new("ready-missing");
    let broker = broker_with_topics(1, &names, 2);
    let bs = broker.bootstrap_servers().to_owned();
    let missing = format!("{}.missing", names.input);
    let shutdown = Shutdown::new();
    let s = settings(&bs, &names);
    let p = TestProcessor::reading(&names, Duration::ZERO, vec![missing.clone()]);
    let service = Service::start(&s, p, shutdown.clone()).await.unwrap();
    let addr = service.http_addr();
    let end = Instant::now() + Duration::from_secs(30);
    let body = loop {
        let (status, body) = http_get(addr, "/readyz").await;
        if status == 503 && body.contains(&format!("not ready: input topic missing: {missing}")) {
            break body;
        }
        assert!(Instant::now() < end, "missing topic never reported: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!body.contains(&format!("missing: {}\n", names.input)), "{body}");
    let metrics = http_get(addr, "/metrics").await.1;
    assert_eq!(
        sample(&metrics, "logveil_input_topic_missing", &format!("topic=\"{missing}\"")),
        1.0
    );
    assert_eq!(
        sample(&metrics, "logveil_input_topic_missing", &format!("topic=\"{}\"", names.input)),
        0.0
    );
    broker.create_topic(&missing, 1).unwrap();
    assert!(
        readyz_becomes(addr, 200, Duration::from_secs(30)).await.is_some(),
        "ready once the topic exists"
    );
    let metrics = http_get(addr, "/metrics").await.1;
    assert_eq!(
        sample(&metrics, "logveil_input_topic_missing", &format!("topic=\"{missing}\"")),
        0.0
    );
    shutdown.trigger();
    service.wait().await.unwrap();
}

const METRICS_CHILD_ENV: &str = "LOGVEIL_TEST_METRICS_CHILD";

/// Not a test on its own: starts a service in a fresh process (a fresh
/// metrics recorder), prints `/metrics` before any record, and exits.
#[test]
#[ignore = "child process of the metrics test"]
fn metrics_child() {
    let Ok(spec) = std::env::var(METRICS_CHILD_ENV) else { return };
    let (bs, rest) = spec.split_once('|').unwrap();
    let (input, pipeline) = rest.split_once('|').unwrap();
    let mut names = Names::new("metrics-child");
    names.input = input.to_owned();
    names.pipeline = pipeline.to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let shutdown = Shutdown::new();
        let service = Service::start(
            &settings(bs, &names),
            TestProcessor::new(&names, Duration::ZERO),
            shutdown.clone(),
        )
        .await
        .unwrap();
        let text = http_get(service.http_addr(), "/metrics").await.1;
        println!("BEGIN-METRICS\n{text}END-METRICS");
        shutdown.trigger();
        let _ = service.wait().await;
    });
}

/// In a fresh process, `/metrics` at start has `# HELP` and `# TYPE` for
/// every family, and every counter whose labels are known at start is there
/// at 0: commit failures, delivery errors per kind, revoked records, and
/// per pipeline the record counters and dead letters per error code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_family_is_described_and_counters_start_at_zero() {
    let names = Names::new("metrics-start");
    let broker = broker_with_topics(1, &names, 1);
    let bs = broker.bootstrap_servers().to_owned();
    let output = tokio::task::block_in_place(|| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["metrics_child", "--exact", "--ignored", "--nocapture"])
            .env(METRICS_CHILD_ENV, format!("{bs}|{}|{}", names.input, names.pipeline))
            .stderr(std::process::Stdio::null())
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8(output.stdout).unwrap();
    let text = stdout
        .split_once("BEGIN-METRICS\n")
        .and_then(|(_, rest)| rest.split_once("END-METRICS"))
        .map(|(m, _)| m.to_owned())
        .expect("the child printed its metrics");
    let mut families = BTreeSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let name = line.split(['{', ' ']).next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s).filter(|f| text.contains(&format!("# TYPE {f} histogram")))
            })
            .unwrap_or(name);
        families.insert(family.to_owned());
    }
    for f in &families {
        assert!(text.contains(&format!("# HELP {f} ")), "no # HELP for {f}\n{text}");
        assert!(text.contains(&format!("# TYPE {f} ")), "no # TYPE for {f}\n{text}");
    }
    let p = format!("pipeline=\"{}\"", names.pipeline);
    let zero = |name: &str, labels: &str| {
        let line =
            if labels.is_empty() { format!("{name} 0") } else { format!("{name}{{{labels}}} 0") };
        assert!(text.lines().any(|l| l == line), "missing `{line}` at start\n{text}");
    };
    zero("logveil_commit_failures_total", "");
    zero("logveil_records_revoked_before_processing_total", "");
    for kind in ["anonymized", "dead_letter", "stats"] {
        zero("logveil_delivery_errors_total", &format!("kind=\"{kind}\""));
    }
    for name in [
        "logveil_records_in_total",
        "logveil_records_out_total",
        "logveil_records_filtered_total",
        "logveil_stats_records_out_total",
        "logveil_stats_late_records_total",
    ] {
        zero(name, &p);
    }
    for code in logveil::error::ErrorCode::ALL {
        zero(
            "logveil_records_dead_lettered_total",
            &format!("{p},error_code=\"{}\"", code.as_str()),
        );
    }
    zero("logveil_input_topic_missing", &format!("topic=\"{}\"", names.input));
    eprintln!("metrics at start: {} families, all with # HELP and # TYPE", families.len());
    assert!(families.len() >= 15, "{families:?}");
}
