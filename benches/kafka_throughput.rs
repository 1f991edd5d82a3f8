//! End-to-end Kafka throughput on the embedded broker: the service against
//! a plain rdkafka consume→produce copy loop with the same client settings
//! and partitions, measured in the same run.
//!
//! `cargo bench --bench kafka_throughput`; size with
//! `LOGVEIL_BENCH_RECORDS` (default 200000), `LOGVEIL_BENCH_PARTITIONS`
//! (default 16), `LOGVEIL_BENCH_RUNS` (default 3) and `LOGVEIL_BENCH_WORKERS`
//! (default: the service default, one per core). Each run times from the
//! first record fetched to the last output flushed, offsets committed and
//! the consumer closed, for both contenders; the group join is excluded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use logveil::processor::{Disposition, OutputKind, OutputRecord, RecordProcessor, SourceRecord};
use logveil::service::kafka_config::{consumer_config, producer_config};
use logveil::service::{self, EmbeddedBroker, ServiceSettings, Shutdown};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Message};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A deterministic access-log-like JSON record of ~550 bytes.
fn record(i: usize, rng: &mut u64) -> String {
    let mut next = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        *rng
    };
    let (a, b, c) = (next(), next(), next());
    let ip = if a % 5 == 0 {
        format!("2a02:810d:{:x}:{:x}::{:x}", a % 65536, b % 65536, c % 4096)
    } else {
        format!("{}.{}.{}.{}", 1 + a % 223, b % 256, c % 256, 1 + (a >> 8) % 254)
    };
    const UAS: [&str; 3] = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    ];
    format!(
        concat!(
            r#"{{"ts":"2024-05-14T08:{:02}:{:02}.{:03}Z","client_ip":"{}","user_id":"u_{:010}","#,
            r#""session_id":"{:016x}{:016x}","device_id":"{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}","#,
            r#""method":"GET","path":"/api/v1/users/{}/orders?page={}&lang=de","status":200,"#,
            r#""bytes":{},"duration_ms":{}.{:02},"referrer":"https://www.bing.com/","#,
            r#""user_agent":"{}","accept_language":"de-DE,de;q=0.9,en;q=0.6","#,
            r#""device_model":"SM-S918B","os_version":"Android 14","carrier":"T-Mobile","app_version":"4.12.1"}}"#
        ),
        (i / 60_000) % 60,
        (i / 1000) % 60,
        i % 1000,
        ip,
        a % 50_000,
        b,
        c,
        a as u32,
        b as u16,
        c % 4096,
        a % 4096,
        b % (1 << 48),
        c % 10_000_000,
        a % 20,
        200 + b % 5000,
        c % 900,
        a % 100,
        UAS[(b % 3) as usize],
    )
}

/// The processor the service runs in this benchmark. Today a pass-through;
/// the real pipeline registry (reference `access_log` pipeline) plugs in
/// here once the engine lands.
fn processor(input: &str, output: &str) -> Arc<PassThrough> {
    Arc::new(PassThrough {
        input: input.to_owned(),
        output: output.to_owned(),
        processed: AtomicU64::new(0),
        first: Mutex::new(None),
    })
}

struct PassThrough {
    input: String,
    output: String,
    processed: AtomicU64,
    first: Mutex<Option<Instant>>,
}

impl RecordProcessor for PassThrough {
    type Worker = ();
    fn new_worker(&self) {}
    fn input_topics(&self) -> Vec<String> {
        vec![self.input.clone()]
    }
    fn output_topics(&self) -> Vec<String> {
        vec![self.output.clone()]
    }
    fn process(
        &self,
        _: &mut (),
        record: &SourceRecord<'_>,
        sink: &mut dyn FnMut(OutputRecord<'_>),
    ) -> Disposition {
        if self.processed.load(Ordering::Relaxed) == 0 {
            if let Ok(mut f) = self.first.lock() {
                f.get_or_insert_with(Instant::now);
            }
        }
        sink(OutputRecord {
            topic: &self.output,
            key: record.key,
            payload: record.payload.unwrap_or_default(),
            pipeline: "bench",
            key_id: None,
            kind: OutputKind::Anonymized,
        });
        self.processed.fetch_add(1, Ordering::Relaxed);
        Disposition::Emitted
    }
    fn tick(&self, _: &mut (), _: i64, _: &mut dyn FnMut(OutputRecord<'_>)) {}
    fn finish(&self, _: &mut (), _: &mut dyn FnMut(OutputRecord<'_>)) {}
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
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut bytes = 0u64;
    for i in 0..n {
        let value = record(i, &mut rng);
        bytes += value.len() as u64;
        let key = format!("k{i}");
        let mut rec = BaseRecord::to(topic)
            .partition((i % partitions as usize) as i32)
            .key(key.as_bytes())
            .payload(value.as_bytes());
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
    producer.flush(Duration::from_secs(120)).expect("flush");
    let _ = consumer.commit_consumer_state(CommitMode::Sync);
    drop(consumer);
    start.map_or(Duration::ZERO, |s| s.elapsed())
}

fn service_run(
    rt: &tokio::runtime::Runtime,
    s: &ServiceSettings,
    input: &str,
    output: &str,
    n: usize,
) -> Duration {
    let p = processor(input, output);
    let shutdown = Shutdown::new();
    let summary = rt.block_on(async {
        let run = {
            let (s, p, sd) = (s.clone(), p.clone(), shutdown.clone());
            tokio::spawn(async move { service::run(&s, p, sd).await })
        };
        while p.processed.load(Ordering::Relaxed) < n as u64 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        shutdown.trigger();
        run.await.expect("join").expect("service")
    });
    assert_eq!(summary.records_out, n as u64);
    let first = p.first.lock().ok().and_then(|f| *f).expect("no record processed");
    first.elapsed()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n = env_or("LOGVEIL_BENCH_RECORDS", 200_000);
    let partitions = env_or("LOGVEIL_BENCH_PARTITIONS", 16) as i32;
    let runs = env_or("LOGVEIL_BENCH_RUNS", 3);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
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
    let (mut base, mut svc) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let copy_out = format!("bench.copy.{run}");
        let svc_out = format!("bench.svc.{run}");
        broker.create_topic(&copy_out, partitions).expect("topic");
        broker.create_topic(&svc_out, partitions).expect("topic");
        let t = copy_loop(&settings(&bs, &format!("copy-{run}")), "bench.in", &copy_out, n);
        base.push(n as f64 / t.as_secs_f64());
        let t = service_run(&rt, &settings(&bs, &format!("svc-{run}")), "bench.in", &svc_out, n);
        svc.push(n as f64 / t.as_secs_f64());
        println!(
            "run {run}: copy loop {:>9.0} rec/s   service {:>9.0} rec/s   ratio {:.2}",
            base[run],
            svc[run],
            svc[run] / base[run]
        );
    }
    let (b, s) = (median(base), median(svc));
    let per_rec = mb / n as f64;
    println!("median copy loop (baseline): {b:>9.0} records/s  {:>6.1} MB/s", b * per_rec);
    println!("median service (processor):  {s:>9.0} records/s  {:>6.1} MB/s", s * per_rec);
    println!("ratio service/baseline: {:.2}", s / b);
}
