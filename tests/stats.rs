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

use common::http_get;
use common::kafka::{self, committed, committed_entries, produce, Names, Producer, Reader, Rec};
use logveil::anonymizer::{Anonymizer, StatsMode};
use logveil::keys::KeyStore;
use logveil::pipeline::{Pipeline, PipelineSet, Scratch};
use logveil::service::{EmbeddedBroker, Service, ServiceSettings, Shutdown};
use logveil::stats::StatsEngine;
use rdkafka::producer::BaseRecord;
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
    let producer = Producer::new(&bootstrap);
    for (i, r) in records.iter().enumerate() {
        producer
            .send(BaseRecord::<(), [u8]>::to("raw.merge").payload(&r[..]).partition(i as i32 % 4));
    }
    producer.flush();

    // Read final rows until the stream's closable windows are all out.
    let mut reader = Reader::new(&bootstrap, "stats.merge", 1);
    // The lateness (12 s) covers the event-time skew between partitions read
    // by one instance; windows then close by the idle flush once the input is
    // quiet, on both instances, and their partials meet at the owner.
    let json = |recs: &[Rec]| -> Vec<Value> {
        recs.iter().map(|m| serde_json::from_slice(&m.payload).unwrap()).collect()
    };
    reader.poll_until(Duration::from_secs(60), |recs| {
        json(recs).iter().filter(|r| r.get("summary").is_some()).count() >= 5
    });
    let rows = json(&reader.records);
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

// ------------------------------------------------- event time and crashes

/// Topic and group names of one test, unique per run.
type Topics = Names;

/// A 2 s window statistic with no lateness at all: any record behind its
/// own partition's progress would be late.
fn timed_pipeline(t: &Topics, min_count: u32, idle: &str) -> Pipeline {
    let text = format!(
        r#"
name = "timed"
category = "log_information"
[input]
topics = ["{raw}"]
[output]
topic = "{anon}"
[fields]
ts = "keep"
user_id = {{ action = "pseudonymize", key = "ids", scope = "user" }}
status = "keep"
[[stats]]
name = "requests"
topic = "{stats}"
window = "2s"
allowed_lateness = "0s"
idle_timeout = "{idle}"
group_by = ["status_class"]
min_count = {min_count}
min_distinct = {min_distinct}
[stats.derive]
status_class = {{ from = "status", kind = "status_class" }}
[[stats.measures]]
name = "requests"
kind = "count"
[[stats.measures]]
name = "users"
kind = "distinct"
field = "user_id"
"#,
        raw = t.input,
        anon = t.output,
        stats = t.stats,
        min_distinct = u32::from(min_count > 1) * 2,
    );
    Pipeline::from_toml(&text, Path::new("timed.toml"), &KeyStore::for_tests(&["ids".into()]))
        .unwrap()
}

/// Window-aligned event time ten minutes in the past (within the engine's
/// bound on future times, and far from the wall clock's idle advance).
fn base_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    (now.as_millis() as i64 - 600_000) / 60_000 * 60_000
}

fn rfc3339_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

fn record(ms: i64, i: usize) -> String {
    let status = [200, 200, 404, 200, 301, 500, 200, 404][i % 8];
    format!(r#"{{"ts":"{}","user_id":"u_{}","status":{status}}}"#, rfc3339_ms(ms), i % 13)
}

/// The statistics topic as a keyed table: the last row per key.
fn table(rows: &[Rec]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    rows.iter().map(|r| (r.key.clone().unwrap_or_default(), r.payload.clone())).collect()
}

/// Closed windows: summary rows in the keyed table.
fn closed_windows(rows: &[Rec]) -> usize {
    table(rows).keys().filter(|k| k.ends_with(b"|summary")).count()
}

/// Sum of the group's committed offsets over the 4 input partitions.
fn committed_total(bootstrap: &str, t: &Topics) -> i64 {
    committed(bootstrap, &t.group, &t.input, 4).iter().map(|&o| o.max(0)).sum()
}

fn start_service(
    runtime: &tokio::runtime::Runtime,
    t: &Topics,
    bootstrap: &str,
    pipeline: Pipeline,
) -> (Service, Shutdown) {
    let processor = Arc::new(Anonymizer::new(PipelineSet::new(vec![pipeline]).unwrap()));
    let shutdown = Shutdown::new();
    let s = common::test_settings(bootstrap, &t.group, &t.dead, 2);
    let service = runtime.block_on(Service::start(&s, processor, shutdown.clone())).unwrap();
    (service, shutdown)
}

fn create(t: &Topics, partitions: i32) -> EmbeddedBroker {
    kafka::cluster(1, &[(&t.input, partitions), (&t.output, 1), (&t.stats, 1), (&t.dead, 1)])
}

/// A backlog on 8 partitions of different densities (each covers the same
/// 60 s of event time with 200..1250 records, so partitions read at the
/// same record rate are minutes apart in event time): with per-partition
/// watermarks no record is late, and the requests of all windows sum to the
/// records with a valid time.
#[test]
fn a_backlog_read_from_many_partitions_loses_nothing_to_lateness() {
    let t = Topics::new("backlog");
    let broker = create(&t, 8);
    let bootstrap = broker.bootstrap_servers().to_string();
    let base = base_ms();
    let mut records = Vec::new();
    let mut valid = 0_u64;
    for p in 0..8_i32 {
        let n = 200 + 150 * p as usize;
        for j in 0..n {
            records.push((p, record(base + (j as i64 * 60_000) / n as i64, j)));
            valid += 1;
            if j == n / 2 {
                records.push((p, r#"{"user_id":"u_1","status":200}"#.to_owned()));
            }
        }
    }
    produce(&bootstrap, &t.input, &records);

    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (service, shutdown) = start_service(&runtime, &t, &bootstrap, timed_pipeline(&t, 1, "3s"));
    let http = service.http_addr();
    let mut reader = Reader::new(&bootstrap, &t.stats, 1);
    let sum = |r: &[Rec]| -> u64 {
        table(r)
            .values()
            .map(|v| serde_json::from_slice::<Value>(v).unwrap())
            .filter(|v| v["partial"] == false && v.get("summary").is_none())
            .map(|v| v["measures"]["requests"].as_u64().unwrap())
            .sum()
    };
    let complete = reader.poll_until(Duration::from_secs(90), |r| closed_windows(r) >= 30);
    let metrics = runtime.block_on(http_get(http, "/metrics")).1;
    shutdown.trigger();
    runtime.block_on(service.wait()).unwrap();
    assert!(complete, "30 windows closed; have {}", closed_windows(&reader.records));
    let table = table(&reader.records);
    let late: u64 = table
        .values()
        .map(|v| serde_json::from_slice::<Value>(v).unwrap())
        .filter_map(|v| v["late_records"].as_u64())
        .sum();
    let metric = |name: &str| {
        let prefix = format!("{name}{{pipeline=\"timed\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|v| v.trim().parse::<f64>().unwrap())
    };
    eprintln!(
        "backlog test: {} records ({valid} with a valid time) on 8 partitions, {} windows, \
         sum(requests) = {}, late = {late} (metric {:?}), invalid time {:?}",
        records.len(),
        closed_windows(&reader.records),
        sum(&reader.records),
        metric("logveil_stats_late_records_total"),
        metric("logveil_stats_invalid_time_total"),
    );
    assert_eq!(sum(&reader.records), valid, "every record with a valid time is counted once");
    assert_eq!(late, 0, "no window summary reports late records");
    assert_eq!(metric("logveil_stats_late_records_total"), Some(0.0));
    assert_eq!(metric("logveil_stats_invalid_time_total"), Some(8.0));
}

const CRASH_CHILD_ENV: &str = "LOGVEIL_TEST_STATS_CRASH_CHILD";

/// Not a test on its own: the service process `kill -9`ed by
/// `statistics_survive_kill_9_as_a_keyed_table`.
#[test]
#[ignore = "child process of the statistics crash test"]
fn stats_crash_child() {
    let Some((bootstrap, t)) = kafka::child_args(CRASH_CHILD_ENV) else { return };
    let processor =
        Arc::new(Anonymizer::new(PipelineSet::new(vec![timed_pipeline(&t, 3, "60s")]).unwrap()));
    let mut s = common::test_settings(&bootstrap, &t.group, &t.dead, 2);
    // Commits lag the emitted rows, so kills land between the two.
    s.kafka.commit_interval_ms = 3000;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let run = logveil::service::run(&s, processor, Shutdown::new());
        // The parent kills us long before this.
        let _ = tokio::time::timeout(Duration::from_secs(120), run).await;
    });
}

/// Records to produce, with their partition.
type Batch = Vec<(i32, String)>;

/// Records of windows `from..to` (2 s each), 12 per window and partition,
/// in event-time order on 4 partitions.
fn windows(base: i64, from: i64, to: i64) -> Batch {
    let mut out = Vec::new();
    for w in from..to {
        for j in 0..48_i64 {
            let ms = base + w * 2000 + j * 2000 / 48;
            out.push(((j % 4) as i32, record(ms, (w * 48 + j) as usize)));
        }
    }
    out
}

/// `kill -9` the service while windows are open and closed, three times,
/// at points after rows were emitted but (commits lag 3 s) often before
/// their offsets were committed; after the last restart, the statistics
/// topic read as a keyed table equals an uninterrupted run's rows, row for
/// row, and every replayed copy of a row is byte-identical to the first.
#[test]
fn statistics_survive_kill_9_as_a_keyed_table() {
    let t = Topics::new("stats-crash");
    let broker = create(&t, 4);
    let bootstrap = broker.bootstrap_servers().to_string();
    let base = base_ms();
    let mut reader = Reader::new(&bootstrap, &t.stats, 1);
    let spawn = || {
        kafka::child_command("stats_crash_child", CRASH_CHILD_ENV, &bootstrap, &t).spawn().unwrap()
    };
    let mut all = Vec::new();
    // (records produced before the child starts, summaries to see before
    // the kill, whether to wait for a commit first)
    let phases: [(Batch, usize, bool); 4] = [
        (windows(base, 0, 10), 4, true),
        (windows(base, 10, 20), 12, false),
        (windows(base, 20, 30), 22, true),
        // One record per partition far ahead closes every window before it.
        ((0..4).map(|p| (p, record(base + 40 * 2000, 0))).collect(), 30, false),
    ];
    let mut kills = 0;
    let mut committed_before = committed_total(&bootstrap, &t);
    for (records, summaries, await_commit) in phases {
        produce(&bootstrap, &t.input, &records);
        all.extend(records);
        let mut child = spawn();
        let seen = reader.poll_until(Duration::from_secs(90), |r| closed_windows(r) >= summaries);
        if await_commit {
            // Kill after a commit, with the last windows still open.
            let end = Instant::now() + Duration::from_secs(10);
            while committed_total(&bootstrap, &t) <= committed_before && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        child.kill().unwrap(); // SIGKILL: no shutdown code runs
        child.wait().unwrap();
        kills += 1;
        assert!(
            seen,
            "phase {kills}: {summaries} windows emitted; have {}",
            closed_windows(&reader.records)
        );
        let committed = committed_total(&bootstrap, &t);
        eprintln!(
            "phase {kills}: killed with {} windows on the topic, {committed} offsets committed",
            closed_windows(&reader.records)
        );
        committed_before = committed;
    }
    reader.poll_for(Duration::from_secs(2));

    // The uninterrupted run: one engine over the same records in order.
    let p = timed_pipeline(&t, 3, "60s");
    let mut engine = StatsEngine::new(p.stats.clone());
    let mut scratch = Scratch::default();
    for (_, r) in &all {
        p.process(r.as_bytes(), &mut scratch).unwrap();
        engine.observe(&scratch.out);
    }
    let now = base + 600_000;
    let mut rows = Vec::new();
    engine.poll(now, &mut rows);
    engine.poll(now, &mut rows);
    let expected: BTreeMap<Vec<u8>, Vec<u8>> =
        rows.iter().map(|r| (r.key.clone(), r.json.clone())).collect();
    assert_eq!(engine.counters().late_records, 0);

    let table = table(&reader.records);
    let mut copies: BTreeMap<&[u8], Vec<&[u8]>> = BTreeMap::new();
    for r in &reader.records {
        let (k, v) = (r.key.as_deref().unwrap_or_default(), &r.payload[..]);
        copies.entry(k).or_default().push(v);
        let prov = r.provenance.as_ref().expect("statistics rows carry a provenance header");
        assert_eq!(prov.stat.as_deref(), Some("requests"));
        assert!(prov.window.is_some() && !prov.covers.is_empty(), "{prov:?}");
        assert!(prov.covers.iter().all(|(topic, p, first, last)| {
            *topic == t.input && (0..4).contains(p) && first <= last
        }));
    }
    let replayed = copies.values().filter(|c| c.len() > 1).count();
    for (k, c) in &copies {
        assert!(
            c.iter().all(|v| v == &c[0]),
            "replayed row {} differs",
            String::from_utf8_lossy(k)
        );
    }
    eprintln!(
        "stats crash test: {} records, {kills} kill -9, {} rows on the topic, {} keys \
         ({replayed} emitted more than once), {} expected rows",
        all.len(),
        reader.records.len(),
        table.len(),
        expected.len()
    );
    assert_eq!(table.len(), expected.len(), "the same keys");
    for (k, v) in &expected {
        assert_eq!(
            table.get(k).map(|v| String::from_utf8_lossy(v).into_owned()),
            Some(String::from_utf8_lossy(v).into_owned()),
            "row {}",
            String::from_utf8_lossy(k)
        );
    }
}

/// The new channels of statistics — record keys, provenance headers,
/// commit metadata — and the metrics never carry a raw value: canaries in
/// every input field, nested, as field names and as record keys, with a
/// statistic grouped by a pseudonymized field.
#[test]
fn canaries_never_reach_stats_keys_headers_metadata_or_metrics() {
    let t = Topics::new("stats-canary");
    let broker = create(&t, 2);
    let bootstrap = broker.bootstrap_servers().to_string();
    let text = format!(
        r#"
name = "canary"
category = "log_information"
[input]
topics = ["{raw}"]
[output]
topic = "{anon}"
[fields]
ts = "keep"
user_id = {{ action = "pseudonymize", key = "ids", scope = "user" }}
status = "keep"
[[stats]]
name = "by_user"
topic = "{stats}"
window = "2s"
idle_timeout = "2s"
group_by = ["user_id", "status_class"]
min_count = 1
[stats.derive]
status_class = {{ from = "status", kind = "status_class" }}
[[stats.measures]]
name = "requests"
kind = "count"
"#,
        raw = t.input,
        anon = t.output,
        stats = t.stats
    );
    let pipeline =
        Pipeline::from_toml(&text, Path::new("canary.toml"), &KeyStore::for_tests(&["ids".into()]))
            .unwrap();
    let base = base_ms();
    let canary = |i: usize| format!("cnry{i}q7");
    let mut records = Vec::new();
    for i in 0..40 {
        let c = canary(i % 4);
        let r = format!(
            r#"{{"ts":"{}","user_id":"{c}","status":200,"{c}x":"{c}","nested":{{"deep":"{c}@example.com"}},"note":"\u0063{c}"}}"#,
            rfc3339_ms(base + i as i64 * 100)
        );
        records.push(((i % 2) as i32, r));
    }
    // Record keys are canaries too.
    let producer = Producer::new(&bootstrap);
    for (i, (p, r)) in records.iter().enumerate() {
        let key = canary(i % 4);
        producer
            .send(BaseRecord::to(&t.input).payload(r.as_bytes()).key(key.as_bytes()).partition(*p));
    }
    producer.flush();

    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (service, shutdown) = start_service(&runtime, &t, &bootstrap, pipeline);
    let mut reader = Reader::new(&bootstrap, &t.stats, 1);
    assert!(
        reader.poll_until(Duration::from_secs(60), |r| closed_windows(r) >= 2),
        "windows emitted"
    );
    let metrics = runtime.block_on(http_get(service.http_addr(), "/metrics")).1;
    shutdown.trigger();
    runtime.block_on(service.wait()).unwrap();
    reader.poll_for(Duration::from_secs(2));

    let metadata: Vec<String> = committed_entries(&bootstrap, &t.group, &t.input, 2)
        .into_iter()
        .map(|c| c.metadata)
        .collect();
    assert!(
        metadata.iter().any(|m| m.starts_with("logveil.stats/1;canary/by_user=")),
        "{metadata:?}"
    );

    let mut channels = vec![metrics, metadata.join("\n")];
    for r in &reader.records {
        channels.push(String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into_owned());
        channels.push(String::from_utf8_lossy(&r.payload).into_owned());
        channels.push(format!("{:?}", r.provenance));
    }
    let everything = channels.join("\n");
    assert!(everything.contains("test:"), "group keys hold pseudonyms");
    for i in 0..4 {
        assert!(!everything.contains(&canary(i)), "canary {i} leaked into a statistics channel");
    }
    assert!(!everything.contains("cnry"), "no fragment of a canary");
}
