//! End-to-end Kafka throughput: `logveil run` with the reference pipeline
//! (`pipelines/access_log.toml`, stats included) on the reference workload,
//! against a plain rdkafka consume→produce copy loop with the same client
//! settings and partitions, measured in the same run.
//!
//! Two modes (`LOGVEIL_BENCH_BROKER`):
//! - `process` (default): the broker, the copy loop and the real `logveil`
//!   binary each run in their own process, and each one's own CPU per
//!   record and peak RSS come from `/proc/<pid>` (see `processes.rs`);
//!   `LOGVEIL_BENCH_BROKERS` names an external broker instead of the child
//!   mock cluster, `LOGVEIL_BENCH_ENV` adds config overrides for both
//!   contenders; the pass-through processor runs in a re-executed bench
//!   binary (the service as a library, in its own process).
//! - `inprocess`: broker, copy loop and service share this process (CPU
//!   per record of the whole process).
//!
//! `cargo bench --bench kafka_throughput`; size with
//! `LOGVEIL_BENCH_RECORDS` (default 200000), `LOGVEIL_BENCH_PARTITIONS`
//! (default 16), `LOGVEIL_BENCH_RUNS` (default 3) and `LOGVEIL_BENCH_WORKERS`
//! (default: the service default, one per core). In process, each run times
//! from the first record fetched to the last output flushed, offsets
//! committed and the consumer closed, for both contenders; the group join is
//! excluded. For profiling one side alone, `LOGVEIL_BENCH_ONLY=copy` or
//! `=service` skips the other (no ratio is printed then).
//! `LOGVEIL_BENCH_PROCESSOR` picks what the service runs: `reference`
//! (default), `nostats` (the reference pipeline without its `[[stats]]`) or
//! `passthrough` (payload and key copied unchanged: the service's own cost,
//! with provenance header, offset tracking and metrics).

#[path = "kafka_throughput/processes.rs"]
mod processes;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use logveil::anonymizer::Anonymizer;
use logveil::keys::KeyStore;
use logveil::pipeline::{Pipeline, PipelineSet};
use logveil::processor::{Disposition, OutputKind, OutputRecord, RecordProcessor, SourceRecord};
use logveil::service::kafka_config::{consumer_config, producer_config};
use logveil::service::{self, EmbeddedBroker, ServiceSettings, Shutdown};
use logveil::workload::AccessLogGenerator;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Message};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The processor the service runs in this benchmark (by default the real
/// engine with the reference pipeline, `pipelines/access_log.toml`, its
/// statistics included) reading `input` and writing `output`, wrapped to
/// time the run from the first record (`timed`; the process mode watches the
/// output topic instead and leaves the workers' shared counter out).
fn processor(kind: &str, input: &str, output: &str, timed: bool) -> Arc<Measured> {
    let mut text = std::fs::read_to_string("pipelines/access_log.toml")
        .expect("pipelines/access_log.toml")
        .replace(r#"topics = ["raw.access"]"#, &format!("topics = [{input:?}]"))
        .replace(r#"topic = "anon.access""#, &format!("topic = {output:?}"));
    let inner = match kind {
        "passthrough" => Inner::PassThrough { input: input.into(), output: output.into() },
        "reference" | "nostats" => {
            if kind == "nostats" {
                text.truncate(text.find("[[stats]]").expect("the reference pipeline has stats"));
            }
            let keys = KeyStore::for_tests(&["ids".into()]);
            let pipeline =
                Pipeline::from_toml(&text, std::path::Path::new("access_log.toml"), &keys)
                    .expect("reference pipeline");
            let set = PipelineSet::new(vec![pipeline]).expect("pipeline set");
            Inner::Engine(Anonymizer::new(set))
        }
        other => panic!("LOGVEIL_BENCH_PROCESSOR={other}: use reference, nostats or passthrough"),
    };
    Arc::new(Measured { inner, timed, processed: AtomicU64::new(0), first: Mutex::new(None) })
}

/// What the service runs.
enum Inner {
    Engine(Anonymizer),
    PassThrough { input: String, output: String },
}

/// The processor plus a record count and the time of the first record.
struct Measured {
    inner: Inner,
    timed: bool,
    processed: AtomicU64,
    first: Mutex<Option<Instant>>,
}

/// A pass-through run has no engine scratch.
#[derive(Default)]
struct Scratch(Option<<Anonymizer as RecordProcessor>::Worker>);

impl RecordProcessor for Measured {
    type Worker = Scratch;
    fn new_worker(&self) -> Self::Worker {
        match &self.inner {
            Inner::Engine(a) => Scratch(Some(a.new_worker())),
            Inner::PassThrough { .. } => Scratch(None),
        }
    }
    fn input_topics(&self) -> Vec<String> {
        match &self.inner {
            Inner::Engine(a) => a.input_topics(),
            Inner::PassThrough { input, .. } => vec![input.clone()],
        }
    }
    fn output_topics(&self) -> Vec<String> {
        match &self.inner {
            Inner::Engine(a) => a.output_topics(),
            Inner::PassThrough { output, .. } => vec![output.clone()],
        }
    }
    fn process(
        &self,
        worker: &mut Self::Worker,
        record: &SourceRecord<'_>,
        sink: &mut dyn FnMut(OutputRecord<'_>),
    ) -> Disposition {
        if self.timed && self.processed.load(Ordering::Relaxed) == 0 {
            if let Ok(mut f) = self.first.lock() {
                f.get_or_insert_with(Instant::now);
            }
        }
        let d = match (&self.inner, &mut worker.0) {
            (Inner::Engine(a), Some(w)) => a.process(w, record, sink),
            (Inner::PassThrough { output, .. }, _) => {
                sink(OutputRecord {
                    topic: output,
                    key: record.key,
                    payload: record.payload.unwrap_or_default(),
                    pipeline: "passthrough",
                    key_id: None,
                    kind: OutputKind::Anonymized,
                    stats_provenance: None,
                });
                Disposition::Emitted
            }
            (Inner::Engine(_), None) => unreachable!("engine workers have scratch"),
        };
        if self.timed {
            self.processed.fetch_add(1, Ordering::Relaxed);
        }
        d
    }
    fn tick(&self, w: &mut Self::Worker, now: i64, sink: &mut dyn FnMut(OutputRecord<'_>)) {
        if let (Inner::Engine(a), Some(w)) = (&self.inner, &mut w.0) {
            a.tick(w, now, sink);
        }
    }
    fn finish(&self, w: &mut Self::Worker, sink: &mut dyn FnMut(OutputRecord<'_>)) {
        if let (Inner::Engine(a), Some(w)) = (&self.inner, &mut w.0) {
            a.finish(w, sink);
        }
    }
}

fn settings(bootstrap: &str, group: &str) -> ServiceSettings {
    let mut s = ServiceSettings::default();
    s.kafka.brokers = bootstrap.to_owned();
    s.kafka.group_id = group.to_owned();
    s.service.http_listen = "127.0.0.1:0".parse().expect("literal address");
    s.service.worker_threads = env_or("LOGVEIL_BENCH_WORKERS", s.service.worker_threads);
    s.kafka.consumer.insert("session.timeout.ms".into(), "6000".into());
    s
}

fn produce_input(bootstrap: &str, topic: &str, partitions: i32, n: usize) -> u64 {
    let p: ThreadedProducer<_> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .set("compression.type", "lz4")
        .create()
        .expect("producer");
    let mut generator = AccessLogGenerator::new(42);
    let mut value = Vec::with_capacity(1024);
    let mut bytes = 0u64;
    for i in 0..n {
        value.clear();
        generator.write_record(&mut value);
        bytes += value.len() as u64;
        let key = format!("k{i}");
        let mut rec = BaseRecord::to(topic)
            .partition((i % partitions as usize) as i32)
            .key(key.as_bytes())
            .payload(&value[..]);
        loop {
            match p.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    rec = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
    p.flush(Duration::from_secs(120)).expect("flush input");
    bytes
}

/// Fails loudly if the mock's ~5 MiB per-partition retention dropped input.
fn check_retention(bootstrap: &str, topic: &str, partitions: i32) {
    let c: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("consumer");
    for p in 0..partitions {
        let (low, _) = c.fetch_watermarks(topic, p, Duration::from_secs(10)).expect("watermarks");
        assert_eq!(
            low, 0,
            "partition {p} lost records to the mock's retention; use more partitions"
        );
    }
}

/// The baseline: one thread, poll → copy → produce, then flush and commit.
fn copy_loop(s: &ServiceSettings, input: &str, output: &str, n: usize) -> Duration {
    let consumer: BaseConsumer = consumer_config(s).create().expect("consumer");
    let producer: ThreadedProducer<_> = producer_config(s).create().expect("producer");
    consumer.subscribe(&[input]).expect("subscribe");
    let mut seen = 0;
    let mut start = None;
    while seen < n {
        let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) else { continue };
        start.get_or_insert_with(Instant::now);
        let mut rec = BaseRecord::to(output).payload(m.payload().unwrap_or_default());
        if let Some(k) = m.key() {
            rec = rec.key(k);
        }
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    rec = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => panic!("produce failed: {e}"),
            }
        }
        seen += 1;
    }
    let stopping = Instant::now();
    producer.flush(Duration::from_secs(120)).expect("flush");
    let _ = consumer.commit_consumer_state(CommitMode::Sync);
    drop(consumer);
    if std::env::var_os("LOGVEIL_BENCH_VERBOSE").is_some() {
        println!("  copy loop flush, commit, close took {:?}", stopping.elapsed());
    }
    start.map_or(Duration::ZERO, |s| s.elapsed())
}

fn service_run(
    rt: &tokio::runtime::Runtime,
    s: &ServiceSettings,
    input: &str,
    output: &str,
    n: usize,
) -> Duration {
    let kind = std::env::var("LOGVEIL_BENCH_PROCESSOR").unwrap_or_else(|_| "reference".into());
    let p = processor(&kind, input, output, true);
    let shutdown = Shutdown::new();
    let summary = rt.block_on(async {
        let run = {
            let (s, p, sd) = (s.clone(), p.clone(), shutdown.clone());
            tokio::spawn(async move { service::run(&s, p, sd).await })
        };
        while p.processed.load(Ordering::Relaxed) < n as u64 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let stopping = Instant::now();
        shutdown.trigger();
        let out = run.await.expect("join").expect("service");
        if std::env::var_os("LOGVEIL_BENCH_VERBOSE").is_some() {
            println!("  shutdown (drain, flush, commit, close) took {:?}", stopping.elapsed());
        }
        out
    });
    assert_eq!(summary.records_out, n as u64);
    assert_eq!(summary.dead_lettered, 0);
    let first = p.first.lock().ok().and_then(|f| *f).expect("no record processed");
    first.elapsed()
}

/// CPU time (user + system) this process has used so far, from
/// `/proc/self/stat` (Linux; `None` elsewhere). The embedded broker runs in
/// this process too, so it is counted for both contenders alike.
fn process_cpu() -> Option<Duration> {
    processes::usage("self").map(|u| u.cpu)
}

/// Runs `f`, returning its result and the process CPU time it took in
/// microseconds per record.
fn with_cpu<T>(n: usize, f: impl FnOnce() -> T) -> (T, f64) {
    let before = process_cpu();
    let out = f();
    let us = match (before, process_cpu()) {
        (Some(b), Some(a)) => a.saturating_sub(b).as_secs_f64() * 1e6 / n as f64,
        _ => f64::NAN,
    };
    (out, us)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    match std::env::var("LOGVEIL_BENCH_ROLE").as_deref() {
        Ok("broker") => return processes::broker_role(),
        Ok("copy") => return processes::copy_role(),
        Ok("service") => return processes::service_role(),
        Ok(other) => panic!("LOGVEIL_BENCH_ROLE={other}: broker, copy or service"),
        Err(_) => {}
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    match std::env::var("LOGVEIL_BENCH_BROKER").as_deref() {
        Ok("inprocess") => in_process(&rt),
        Ok("process") | Err(_) => processes::main(&rt),
        Ok(other) => panic!("LOGVEIL_BENCH_BROKER={other}: process or inprocess"),
    }
}

/// The in-process mode: broker, copy loop and service share this process.
fn in_process(rt: &tokio::runtime::Runtime) {
    let n = env_or("LOGVEIL_BENCH_RECORDS", 200_000);
    let partitions = env_or("LOGVEIL_BENCH_PARTITIONS", 16) as i32;
    let runs = env_or("LOGVEIL_BENCH_RUNS", 3);
    let broker = EmbeddedBroker::start(1).expect("embedded broker");
    let bs = broker.bootstrap_servers().to_owned();
    broker.create_topic("bench.in", partitions).expect("topic");
    let bytes = produce_input(&bs, "bench.in", partitions, n);
    check_retention(&bs, "bench.in", partitions);
    let mb = bytes as f64 / 1e6;
    println!(
        "{n} records, {:.0} B average, {partitions} partitions, {} worker threads, {runs} runs",
        bytes as f64 / n as f64,
        settings(&bs, "x").service.worker_threads
    );
    let only = std::env::var("LOGVEIL_BENCH_ONLY").unwrap_or_default();
    let (mut base, mut svc) = (Vec::new(), Vec::new());
    let (mut base_cpu, mut svc_cpu) = (Vec::new(), Vec::new());
    for run in 0..runs {
        if only != "service" {
            let copy_out = format!("bench.copy.{run}");
            broker.create_topic(&copy_out, partitions).expect("topic");
            let s = settings(&bs, &format!("copy-{run}"));
            let (t, cpu) = with_cpu(n, || copy_loop(&s, "bench.in", &copy_out, n));
            base.push(n as f64 / t.as_secs_f64());
            base_cpu.push(cpu);
            println!(
                "run {run}: copy loop {:>9.0} rec/s  {cpu:>5.1} µs CPU/record",
                n as f64 / t.as_secs_f64()
            );
        }
        if only != "copy" {
            let svc_out = format!("bench.svc.{run}");
            broker.create_topic(&svc_out, partitions).expect("topic");
            let s = settings(&bs, &format!("svc-{run}"));
            let (t, cpu) = with_cpu(n, || service_run(rt, &s, "bench.in", &svc_out, n));
            svc.push(n as f64 / t.as_secs_f64());
            svc_cpu.push(cpu);
            println!(
                "run {run}: service   {:>9.0} rec/s  {cpu:>5.1} µs CPU/record",
                n as f64 / t.as_secs_f64()
            );
        }
    }
    if base.is_empty() || svc.is_empty() {
        return;
    }
    let (b, s) = (median(base), median(svc));
    let per_rec = mb / n as f64;
    println!("median copy loop (baseline): {b:>9.0} records/s  {:>6.1} MB/s", b * per_rec);
    println!("median service (processor):  {s:>9.0} records/s  {:>6.1} MB/s", s * per_rec);
    println!("ratio service/baseline: {:.2}", s / b);
    let (bc, sc) = (median(base_cpu), median(svc_cpu));
    println!(
        "median CPU per record (whole process, broker included): copy loop {bc:.1} µs, \
         service {sc:.1} µs, ratio {:.2}",
        sc / bc
    );
}
