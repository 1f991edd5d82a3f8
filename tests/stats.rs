//! Statistics across instances: two services in one consumer group, each
//! seeing some partitions, with `mode = "merged"` — partial aggregates go
//! through the internal topic and each window's owner merges them before
//! thresholding. The merged rows must equal what one engine computes over
//! all records.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logveil::anonymizer::{Anonymizer, StatsMode};
use logveil::keys::KeyStore;
use logveil::pipeline::{Pipeline, PipelineSet, Scratch};
use logveil::service::{EmbeddedBroker, Service, ServiceSettings, Shutdown};
use logveil::stats::StatsEngine;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::Value;

const PIPELINE: &str = r#"
name = "merge_test"
category = "log_information"
[input]
topics = ["raw.merge"]
[output]
topic = "anon.merge"
[fields]
ts = { action = "coarsen_time", to = "second" }
user_id = { action = "pseudonymize", key = "ids", scope = "user" }
status = "keep"
user_agent = "reduce_user_agent"

[[stats]]
name = "merge_requests"
topic = "stats.merge"
window = "2s"
allowed_lateness = "12s"
group_by = ["status_class", "user_agent.device"]
min_count = 4
min_distinct = 3
[stats.derive]
status_class = { from = "status", kind = "status_class" }
[[stats.measures]]
name = "requests"
kind = "count"
[[stats.measures]]
name = "users"
kind = "distinct"
field = "user_id"
"#;

fn pipeline() -> Pipeline {
    Pipeline::from_toml(
        PIPELINE,
        Path::new("merge_test.toml"),
        &KeyStore::for_tests(&["ids".into()]),
    )
    .unwrap()
}

fn settings(bootstrap: &str) -> ServiceSettings {
    common::test_settings(bootstrap, "merge-test", "merge.dlq", 1)
}

/// Group rows (not summaries) by (window_start, dimensions) → measures.
fn group_rows(rows: &[Value]) -> BTreeMap<(String, String), Value> {
    rows.iter()
        .filter(|r| r.get("summary").is_none())
        .map(|r| {
            (
                (r["window_start"].as_str().unwrap().to_string(), r["dimensions"].to_string()),
                r["measures"].clone(),
            )
        })
        .collect()
}

#[test]
fn two_instances_merge_to_the_single_instance_result() {
    let broker = EmbeddedBroker::start(1).unwrap();
    let bootstrap = broker.bootstrap_servers().to_string();
    let mode = StatsMode::Merged { partials_topic: "merge.partials".into(), merge_delay_ms: 3000 };
    let set = PipelineSet::new(vec![pipeline()]).unwrap();
    logveil::cmd::run::create_topics(&broker, &set, "merge.dlq", &mode, 4).unwrap();
    drop(set);

    // Two instances of the same group, started before any data.
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mut services = Vec::new();
    let mut shutdowns = Vec::new();
    for _ in 0..2 {
        let processor = Arc::new(Anonymizer::with_stats_mode(
            PipelineSet::new(vec![pipeline()]).unwrap(),
            mode.clone(),
        ));
        let shutdown = Shutdown::new();
        services.push(
            runtime
                .block_on(Service::start(&settings(&bootstrap), processor, shutdown.clone()))
                .unwrap(),
        );
        shutdowns.push(shutdown);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !services.iter().all(Service::is_ready) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(services.iter().all(Service::is_ready), "both instances get partitions");
    std::thread::sleep(Duration::from_secs(8)); // let the group settle after the second join

    // ~3000 reference records spanning ~10 s of event time, keyed round-robin over 4 partitions.
    let records = logveil::workload::generate(5, 3000);
    let producer: BaseProducer =
        ClientConfig::new().set("bootstrap.servers", &bootstrap).create().unwrap();
    for (i, r) in records.iter().enumerate() {
        producer
            .send(BaseRecord::<(), [u8]>::to("raw.merge").payload(&r[..]).partition(i as i32 % 4))
            .map_err(|(e, _)| e)
            .unwrap();
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).unwrap();

    // Read final rows until the stream's closable windows are all out.
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "merge-reader")
        .set("fetch.wait.max.ms", "20")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("stats.merge", 0, Offset::Beginning).unwrap();
    reader.assign(&tpl).unwrap();
    let mut rows: Vec<Value> = Vec::new();
    // The lateness (12 s) covers the event-time skew between partitions read
    // by one instance; windows then close by the idle flush once the input is
    // quiet, on both instances, and their partials meet at the owner.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(Ok(m)) = reader.poll(Duration::from_millis(200)) {
            rows.push(serde_json::from_slice(m.payload().unwrap()).unwrap());
        }
        if rows.iter().filter(|r| r.get("summary").is_some()).count() >= 5 {
            break;
        }
    }
    for s in &shutdowns {
        s.trigger();
    }
    for s in services {
        runtime.block_on(s.wait()).unwrap();
    }
    let merged_final: Vec<Value> = rows.iter().filter(|r| r["partial"] == false).cloned().collect();

    // Reference: one engine over all anonymized records.
    let p = pipeline();
    let mut engine = StatsEngine::new(p.stats.clone());
    let mut scratch = Scratch::default();
    for r in &records {
        p.process(r, &mut scratch).unwrap();
        engine.observe(&scratch.out);
    }
    let mut reference = Vec::new();
    engine.finish(&mut reference);
    let reference: Vec<Value> =
        reference.iter().map(|r| serde_json::from_slice(&r.json).unwrap()).collect();

    let merged = group_rows(&merged_final);
    let expected = group_rows(&reference);
    let windows: std::collections::BTreeSet<&String> = merged.keys().map(|(w, _)| w).collect();
    assert!(windows.len() >= 3, "at least 3 windows merged and closed: {windows:?}");
    for w in &windows {
        let m: BTreeMap<_, _> = merged.iter().filter(|((mw, _), _)| mw == *w).collect();
        let e: BTreeMap<_, _> = expected.iter().filter(|((ew, _), _)| ew == *w).collect();
        assert_eq!(m, e, "window {w}: merged rows differ from the single-engine rows");
    }
    // Thresholds applied to merged groups: every published group has >= 4 requests.
    for ((_, dims), measures) in &merged {
        if !dims.contains("__other__") {
            assert!(measures["requests"].as_i64().unwrap() >= 4);
            assert!(measures["users"].as_i64().unwrap() >= 3);
        }
    }
    drop(reader);
}
