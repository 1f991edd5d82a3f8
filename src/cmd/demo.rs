//! `logveil demo`: the main job with zero setup.
//!
//! Starts an embedded Kafka-protocol broker in-process (librdkafka's mock
//! cluster), creates the topics, publishes bundled sample records for every
//! data category (including some bad ones), runs the real service on it
//! through the same code path as `logveil run`, and prints raw and
//! anonymized records side by side, the dead letters by error code and the
//! statistics rows. Metrics are served while it runs; `--follow` keeps it
//! running (with a trickle of new access-log records) until Ctrl-C.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use crate::anonymizer::Anonymizer;
use crate::config::Config;
use crate::keys::{KeyRing, KeyStore, LoadedKey, ProcessEnv, SecretKey};
use crate::pipeline::set::{pipeline_files, rings_of};
use crate::pipeline::PipelineSet;
use crate::service::{self, EmbeddedBroker, Provenance, Shutdown};

use super::run::{create_topics, publish_key_ids};

/// Partitions of each demo input topic.
const PARTITIONS: i32 = 2;

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep running after the summary, publishing a trickle of new records, until Ctrl-C.
    #[arg(long)]
    pub follow: bool,
    /// Good sample records per category (access logs get ten times as many).
    #[arg(long, default_value_t = 60)]
    pub records: usize,
    /// Raw/anonymized pairs shown per pipeline.
    #[arg(long, default_value_t = 1)]
    pub show: usize,
    /// HTTP address for /metrics, /healthz, /readyz (falls back to a free port if taken).
    #[arg(long, default_value = "127.0.0.1:9898")]
    pub http_listen: SocketAddr,
    /// Pipelines folder.
    #[arg(long, default_value = "pipelines")]
    pub pipelines: PathBuf,
    /// Seconds to wait for all outputs before giving up.
    #[arg(long, default_value_t = 120)]
    pub timeout_secs: u64,
}

/// Keys from the environment when set, otherwise an ephemeral random key
/// per ring (id `demo`), so the demo needs no setup and leaks nothing.
fn demo_keys(files: &[PathBuf]) -> anyhow::Result<KeyStore> {
    let rings = rings_of(files)?;
    let mut store = KeyStore::default();
    for ring in &rings {
        let env = crate::keys::env_var_for(ring);
        let loaded = match std::env::var(&env) {
            Ok(_) => KeyStore::load(
                &BTreeMap::new(),
                std::slice::from_ref(ring),
                &ProcessEnv,
                Path::new("."),
                "(demo)",
            )?
            .ring(ring)
            .map(|r| r.current.clone()),
            Err(_) => None,
        };
        let current =
            loaded.unwrap_or_else(|| LoadedKey { id: "demo".into(), key: SecretKey::generate() });
        store.insert(KeyRing { name: ring.clone(), current, previous: None });
    }
    Ok(store)
}

fn client(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    c
}

/// Publishes `records` round-robin over the partitions; record `i` lands at
/// partition `i % P`, offset `i / P` (fresh topic, idempotent producer).
fn publish(producer: &BaseProducer, topic: &str, records: &[Vec<u8>]) -> anyhow::Result<()> {
    for (i, r) in records.iter().enumerate() {
        let partition = (i as i32) % PARTITIONS;
        let mut rec = BaseRecord::<(), [u8]>::to(topic).payload(&r[..]).partition(partition);
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((e, back)) => {
                    if !matches!(
                        e.rdkafka_error_code(),
                        Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
                    ) {
                        return Err(anyhow::anyhow!("cannot publish demo record: {e}"));
                    }
                    producer.poll(Duration::from_millis(10));
                    rec = back;
                }
            }
        }
        producer.poll(Duration::ZERO);
    }
    Ok(())
}

/// Everything read back from the output topics.
#[derive(Default)]
struct Outputs {
    /// (source topic, partition, offset) → anonymized payload.
    anonymized: HashMap<(String, i32, i64), Vec<u8>>,
    /// error_code → count.
    dead: BTreeMap<String, u64>,
    /// Stats rows in arrival order.
    stats: Vec<Vec<u8>>,
}

fn read_outputs(
    consumer: &BaseConsumer,
    dead_letter_topic: &str,
    out: &mut Outputs,
    until: impl Fn(&Outputs) -> bool,
    deadline: Instant,
) {
    while !until(out) && Instant::now() < deadline {
        let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) else { continue };
        let payload = m.payload().unwrap_or_default().to_vec();
        if let Some((t, p, o)) = Provenance::of_message(&m).and_then(|p| p.source) {
            if m.topic() == dead_letter_topic {
                let code = serde_json::from_slice::<serde_json::Value>(&payload)
                    .ok()
                    .and_then(|v| v["error_code"].as_str().map(str::to_string))
                    .unwrap_or_else(|| "unknown".into());
                *out.dead.entry(code).or_default() += 1;
            } else {
                out.anonymized.insert((t.to_string(), p, o), payload);
            }
        } else {
            out.stats.push(payload);
        }
    }
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

fn show_value(v: Option<&serde_json::Value>) -> String {
    match v {
        None => "(removed)".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Prints one raw/anonymized pair as a field table.
fn print_pair(raw: &[u8], anon: &[u8]) {
    let (Ok(r), Ok(a)) = (
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(raw),
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(anon),
    ) else {
        return;
    };
    println!("   {:<17} {:<44} anonymized", "field", "raw");
    for (k, rv) in &r {
        println!(
            "   {:<17} {:<44} {}",
            cut(k, 17),
            cut(&show_value(Some(rv)), 44),
            cut(&show_value(a.get(k)), 60)
        );
    }
    for (k, av) in a.iter().filter(|(k, _)| !r.contains_key(*k)) {
        println!("   {:<17} {:<44} {}", cut(k, 17), "(new)", cut(&show_value(Some(av)), 60));
    }
}

/// Runs the demo.
///
/// # Errors
/// When the pipelines do not load or the embedded broker cannot start.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    service::metrics::prometheus_handle().map_err(anyhow::Error::msg)?;
    let files = pipeline_files(&args.pipelines)?;
    let keys = demo_keys(&files)?;
    let set = PipelineSet::load(&files, &keys)?;
    publish_key_ids(&keys);

    let config = Config::load_or_defaults(None, std::env::vars())?;
    let mut settings = config.service_settings();
    let broker = EmbeddedBroker::start(1)?;
    let bootstrap = broker.bootstrap_servers().to_string();
    create_topics(
        &broker,
        &set,
        &settings.kafka.dead_letter_topic,
        &config.file.stats,
        PARTITIONS,
    )?;
    settings.kafka.brokers = bootstrap.clone();
    settings.kafka.group_id = "logveil-demo".into();
    settings.kafka.commit_interval_ms = 1000;
    for (k, v) in [("session.timeout.ms", "6000"), ("fetch.wait.max.ms", "50")] {
        settings.kafka.consumer.insert(k.into(), v.into());
    }
    settings.service.http_listen = if std::net::TcpListener::bind(args.http_listen).is_ok() {
        args.http_listen
    } else {
        SocketAddr::from(([127, 0, 0, 1], 0))
    };

    println!("logveil demo: embedded Kafka-protocol broker at {bootstrap}");
    let producer: BaseProducer = client(&bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .context("cannot create the demo producer")?;
    let mut raw: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    let mut total = 0usize;
    for p in set.pipelines() {
        let n = if p.category == crate::pipeline::spec::Category::LogInformation {
            args.records * 10
        } else {
            args.records
        };
        let records = match p.format {
            crate::pipeline::spec::Format::Json => crate::samples::records(p.category, n),
            _ => crate::samples::combined_lines(n),
        };
        let topic = &p.input_topics[0];
        publish(&producer, topic, &records)?;
        total += records.len();
        raw.insert(topic.clone(), records);
    }
    producer.flush(Duration::from_secs(30)).context("cannot flush the demo records")?;
    println!(
        "published {total} raw records to {} topics (each category includes bad records)",
        raw.len()
    );

    let output_consumer: BaseConsumer = client(&bootstrap)
        .set("group.id", "logveil-demo-reader")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "50")
        .create()
        .context("cannot create the demo reader")?;
    let mut tpl = TopicPartitionList::new();
    for p in set.pipelines() {
        for part in 0..PARTITIONS {
            tpl.add_partition_offset(&p.output_topic, part, Offset::Beginning)?;
        }
        for s in &p.stats {
            tpl.add_partition_offset(s.topic(), 0, Offset::Beginning)?;
        }
    }
    tpl.add_partition_offset(&settings.kafka.dead_letter_topic, 0, Offset::Beginning)?;
    output_consumer.assign(&tpl)?;

    let processor = Arc::new(Anonymizer::with_stats_mode(set, config.file.stats.clone()));
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let shutdown = Shutdown::new();
    let service = runtime.block_on(service::Service::start(
        &settings,
        processor.clone(),
        shutdown.clone(),
    ))?;
    println!("metrics: http://{}/metrics   health: /healthz /readyz", service.http_addr());

    let dlq = settings.kafka.dead_letter_topic.clone();
    let mut outputs = Outputs::default();
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    read_outputs(
        &output_consumer,
        &dlq,
        &mut outputs,
        |o| o.anonymized.len() + o.dead.values().sum::<u64>() as usize >= total,
        deadline,
    );

    if args.follow {
        runtime.block_on(async { shutdown.trigger_on_signals() })?;
    } else {
        shutdown.trigger();
    }
    let mut generator = crate::workload::AccessLogGenerator::new(7);
    let access_topic = processor
        .pipelines()
        .pipelines()
        .iter()
        .find(|p| {
            p.category == crate::pipeline::spec::Category::LogInformation
                && p.format == crate::pipeline::spec::Format::Json
        })
        .map(|p| p.input_topics[0].clone());
    print_report(&processor, &raw, &outputs, args.show);
    if args.follow {
        println!("\nfollowing: publishing 50 access-log records per second; Ctrl-C stops");
        while !shutdown.is_triggered() {
            if let Some(t) = &access_topic {
                let batch: Vec<Vec<u8>> = (0..50)
                    .map(|_| {
                        let mut v = Vec::new();
                        generator.write_record(&mut v);
                        v
                    })
                    .collect();
                publish(&producer, t, &batch)?;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    let summary = runtime.block_on(service.wait())?;
    // Open statistics windows are emitted at shutdown; read them too.
    read_outputs(
        &output_consumer,
        &dlq,
        &mut outputs,
        |_| false,
        Instant::now() + Duration::from_secs(2),
    );
    print_stats(&outputs.stats);
    println!(
        "\nsummary: in {}, anonymized {}, dead-lettered {}, filtered {}, statistics rows {}",
        summary.records_in,
        summary.records_out,
        summary.dead_lettered,
        summary.filtered,
        summary.stats_out
    );
    drop(output_consumer);
    drop(producer);
    drop(broker);
    Ok(ExitCode::SUCCESS)
}

fn print_report(
    processor: &Anonymizer,
    raw: &HashMap<String, Vec<Vec<u8>>>,
    outputs: &Outputs,
    show: usize,
) {
    for p in processor.pipelines().pipelines() {
        let topic = &p.input_topics[0];
        println!("\n━━ {} ({}): {} → {}", p.name, p.category.title(), topic, p.output_topic);
        let Some(records) = raw.get(topic) else { continue };
        let mut shown = 0;
        for (i, r) in records.iter().enumerate() {
            if shown >= show {
                break;
            }
            let key = (topic.clone(), (i as i32) % PARTITIONS, (i / PARTITIONS as usize) as i64);
            if let Some(anon) = outputs.anonymized.get(&key) {
                if p.format == crate::pipeline::spec::Format::Json {
                    print_pair(r, anon);
                } else {
                    println!("   raw  {}", cut(&String::from_utf8_lossy(r), 150));
                    println!("   anon {}", cut(&String::from_utf8_lossy(anon), 150));
                }
                shown += 1;
            }
        }
        let got = records
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                outputs.anonymized.contains_key(&(
                    topic.clone(),
                    (*i as i32) % PARTITIONS,
                    (*i / PARTITIONS as usize) as i64,
                ))
            })
            .count();
        println!("   {got} of {} records anonymized", records.len());
    }
    println!("\n━━ dead letters (no raw values inside):");
    for (code, n) in &outputs.dead {
        println!("   {code:<16} {n}");
    }
}

fn print_stats(rows: &[Vec<u8>]) {
    println!("\n━━ statistics (groups below their privacy thresholds are folded into __other__ or dropped):");
    let mut per_stat: BTreeMap<String, usize> = BTreeMap::new();
    for r in rows {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(r) else { continue };
        if v.get("summary").is_some() {
            continue;
        }
        let stat = v["stat"].as_str().unwrap_or("?").to_string();
        let n = per_stat.entry(stat.clone()).or_default();
        *n += 1;
        if *n <= 3 {
            println!(
                "   {stat:<24} {} {} {}",
                v["window_start"].as_str().unwrap_or(""),
                v["dimensions"],
                v["measures"]
            );
        }
    }
    for (stat, n) in &per_stat {
        println!("   {stat}: {n} rows");
    }
}
