//! Every shipped pipeline end to end through Kafka: the real service and
//! engine on librdkafka's mock cluster (real protocol), bundled sample
//! records in, an ordinary rdkafka consumer reading the anonymized,
//! dead-letter and statistics topics out.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::kafka::{Producer, Reader, Rec};
use logveil::anonymizer::Anonymizer;
use logveil::keys::KeyStore;
use logveil::pipeline::compile::KeyRule;
use logveil::pipeline::set::{pipeline_files, rings_of};
use logveil::pipeline::spec::Format;
use logveil::pipeline::PipelineSet;
use logveil::service::{EmbeddedBroker, Service, ServiceSettings, Shutdown};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::BaseRecord;
use serde_json::Value;

const PARTITIONS: i32 = 2;
const DLQ: &str = "e2e.dead_letter";

fn settings(bootstrap: &str) -> ServiceSettings {
    common::test_settings(bootstrap, "e2e", DLQ, 2)
}

/// The value at a dotted path of a JSON object.
fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, seg| v.get(seg))
}

struct Out {
    topic: String,
    payload: String,
    key: Option<Vec<u8>>,
    /// Every header name and value, as text.
    headers: String,
    source: Option<(String, i32, i64)>,
}

impl From<Rec> for Out {
    fn from(m: Rec) -> Self {
        Out {
            source: m.provenance.and_then(|p| p.source),
            payload: String::from_utf8(m.payload).expect("outputs are UTF-8"),
            key: m.key,
            headers: m
                .headers
                .iter()
                .map(|(k, v)| format!("{k}={}", String::from_utf8_lossy(v)))
                .collect::<Vec<_>>()
                .join("\n"),
            topic: m.topic,
        }
    }
}

/// The Kafka key of input record `i` of `topic`: a canary that must not
/// appear in any output key or value, in one of several shapes (a user ID,
/// a phone, an email, full-width digits, bytes that are not UTF-8).
fn key_canary(topic: &str, i: usize) -> Vec<u8> {
    let tag = topic.replace('.', "");
    match i % 5 {
        0 => format!("keycnry{tag}{i:04}").into_bytes(),
        1 => format!("1390{:07}", 1_000_000 + topic.len() * 10_000 + i).into_bytes(),
        2 => format!("keycnry{tag}{i:04}@example.com").into_bytes(),
        3 => format!("keycnry{tag}{i:04}\u{ff11}\u{ff13}\u{ff18}").into_bytes(),
        _ => [format!("keycnry{tag}{i:04}").as_bytes(), b"\xff\x00"].concat(),
    }
}

#[test]
fn every_shipped_pipeline_end_to_end_through_kafka() {
    let files = pipeline_files(Path::new("pipelines")).unwrap();
    let keys = KeyStore::for_tests(&rings_of(&files).unwrap());
    let set = PipelineSet::load(&files, &keys).unwrap();
    let broker = EmbeddedBroker::start(1).unwrap();
    let bootstrap = broker.bootstrap_servers().to_string();
    logveil::cmd::run::create_topics(&broker, &set, DLQ, &Default::default(), PARTITIONS).unwrap();

    // Publish samples: record i of a topic lands at partition i % P, offset i / P.
    let producer = Producer::new(&bootstrap);
    let mut inputs: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for p in set.pipelines() {
        let records = match p.format {
            Format::Json => logveil::samples::records(p.category, 40),
            _ => logveil::samples::combined_lines(40),
        };
        for (i, r) in records.iter().enumerate() {
            let key = key_canary(&p.input_topics[0], i);
            // Input headers carry canaries too: none may be forwarded.
            let header = [b"hdrcnry-".as_slice(), &key].concat();
            let headers = OwnedHeaders::new()
                .insert(Header { key: "x-user-email", value: Some(&header[..]) })
                .insert(Header { key: "x-hdrcnry-name", value: Some(&b"1"[..]) });
            let rec = BaseRecord::<[u8], [u8]>::to(&p.input_topics[0])
                .payload(&r[..])
                .key(&key[..])
                .headers(headers)
                .partition(i as i32 % PARTITIONS);
            producer.send(rec);
        }
        inputs.insert(p.input_topics[0].clone(), records);
    }
    producer.flush();
    let total: usize = inputs.values().map(Vec::len).sum();

    // Read everything the service writes with an ordinary consumer.
    let mut topics: Vec<(&str, i32)> = vec![(DLQ, 1)];
    let mut stats_topics = BTreeSet::new();
    for p in set.pipelines() {
        topics.push((&p.output_topic, PARTITIONS));
        for s in &p.stats {
            if stats_topics.insert(s.topic().to_string()) {
                topics.push((s.topic(), 1));
            }
        }
    }
    let mut reader = Reader::of(&bootstrap, &topics);
    drop(topics);

    let processor = Arc::new(Anonymizer::new(set));
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let shutdown = Shutdown::new();
    let service = runtime
        .block_on(Service::start(&settings(&bootstrap), processor.clone(), shutdown.clone()))
        .unwrap();

    let mut outs: Vec<Out> = Vec::new();
    let mut read = |outs: &mut Vec<Out>, until: &dyn Fn(&[Out]) -> bool, secs: u64| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !until(outs) && Instant::now() < deadline {
            reader.poll_for(Duration::from_millis(100));
            outs.extend(reader.records.drain(..).map(Out::from));
        }
    };
    read(&mut outs, &|o: &[Out]| o.iter().filter(|o| o.source.is_some()).count() >= total, 90);
    shutdown.trigger();
    let summary = runtime.block_on(service.wait()).unwrap();
    read(&mut outs, &|_: &[Out]| false, 2); // statistics emitted at shutdown

    // Every input offset ends in exactly one place.
    assert_eq!(summary.records_in as usize, total);
    assert_eq!((summary.records_out + summary.dead_lettered) as usize, total);
    let mut seen = BTreeSet::new();
    for o in outs.iter().filter(|o| o.source.is_some()) {
        assert!(
            seen.insert(o.source.clone().unwrap()),
            "duplicate output without a crash: {:?}",
            o.source
        );
    }
    for (topic, records) in &inputs {
        for i in 0..records.len() {
            let key = (topic.clone(), i as i32 % PARTITIONS, (i / PARTITIONS as usize) as i64);
            assert!(seen.contains(&key), "no output for {key:?}");
        }
    }

    // Per pipeline: content checks and collected sensitive values.
    let mut sensitive: BTreeSet<String> = BTreeSet::new();
    let dead: Vec<&Out> = outs.iter().filter(|o| o.topic == DLQ).collect();
    for p in processor.pipelines().pipelines() {
        let topic = &p.input_topics[0];
        let anon: Vec<(usize, Value)> = outs
            .iter()
            .filter(|o| o.topic == p.output_topic)
            .map(|o| {
                let (_, part, off) = o.source.clone().unwrap();
                (
                    (off as usize) * PARTITIONS as usize + part as usize,
                    serde_json::from_str(&o.payload).unwrap(),
                )
            })
            .collect();
        let good = inputs[topic]
            .iter()
            .filter(|r| serde_json::from_slice::<serde_json::Map<String, Value>>(r).is_ok())
            .count();
        if p.format == Format::Json {
            let bad_here = dead.iter().filter(|d| d.source.as_ref().unwrap().0 == *topic).count();
            assert_eq!(anon.len() + bad_here, inputs[topic].len(), "{}", p.name);
            assert!(anon.len() + 1 >= good, "{}: {} of {good}", p.name, anon.len());
        }
        for (idx, out) in &anon {
            let raw: Value = match p.format {
                Format::Json => serde_json::from_slice(&inputs[topic][*idx]).unwrap(),
                _ => {
                    let line = String::from_utf8_lossy(&inputs[topic][*idx]).into_owned();
                    let ip = line.split(' ').next().unwrap().to_string();
                    serde_json::json!({ "client_ip": ip })
                }
            };
            let obj = out.as_object().unwrap();
            for r in &p.rules {
                let raw_v = at(&raw, &r.path);
                let out_v = at(out, &r.path);
                match r.action_name {
                    "drop" => assert!(out_v.is_none(), "{}: {} kept", p.name, r.path),
                    "keep" if p.format == Format::Json => {
                        assert_eq!(raw_v, out_v, "{}: {}", p.name, r.path)
                    }
                    "pseudonymize" => {
                        if let Some(v) = out_v {
                            assert!(
                                v.as_str().unwrap().starts_with("test:"),
                                "{}: {}",
                                p.name,
                                r.path
                            )
                        }
                    }
                    "reduce_user_agent" => {
                        if let Some(v) = out_v {
                            for k in ["browser", "os", "device"] {
                                assert!(v.get(k).is_some(), "{}: {}", p.name, r.path);
                            }
                        }
                    }
                    _ => {}
                }
                if matches!(
                    r.action_name,
                    "drop"
                        | "pseudonymize"
                        | "pseudonymize_ip"
                        | "truncate_ip"
                        | "redact"
                        | "reduce_user_agent"
                        | "mask"
                ) {
                    if let Some(Value::String(s)) = raw_v {
                        let trivial = s.len() < 6
                            || s == "wifi"
                            || (r.action_name == "truncate_ip" && s.ends_with(".0"));
                        let unchanged_text = r.action_name == "redact" && out_v == raw_v;
                        if !trivial && !unchanged_text {
                            sensitive.insert(s.clone());
                        }
                    }
                }
            }
            assert!(obj.len() <= p.rules.len() * 2, "{}: unexpected fields", p.name);
        }
    }
    assert!(sensitive.len() > 300, "collected {} sensitive values", sensitive.len());

    // No raw IP, ID, contact or device detail appears anywhere in any output topic.
    let everything: String = outs.iter().map(|o| o.payload.as_str()).collect::<Vec<_>>().join("\n");
    for s in &sensitive {
        assert!(!everything.contains(s.as_str()), "a raw value leaked into the outputs");
    }

    // Record keys: no key canary (nor its digits) in any key or value of any
    // output topic; keys are pseudonymized or dropped as each pipeline says.
    for (topic, records) in &inputs {
        for i in 0..records.len() {
            let canary = key_canary(topic, i);
            let printable: String = String::from_utf8_lossy(&canary)
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            assert!(printable.len() >= 11, "{printable}");
            for o in &outs {
                let key = o.key.as_deref().unwrap_or_default();
                assert!(
                    !key.windows(printable.len()).any(|w| w == printable.as_bytes()),
                    "a record key canary leaked into a key on {}",
                    o.topic
                );
                assert!(
                    !o.payload.contains(&printable),
                    "a record key canary leaked into a value on {}",
                    o.topic
                );
                assert!(
                    !o.headers.contains(&printable),
                    "a record key canary leaked into a header on {}",
                    o.topic
                );
            }
        }
    }
    for p in processor.pipelines().pipelines() {
        let keys: Vec<Option<&[u8]>> =
            outs.iter().filter(|o| o.topic == p.output_topic).map(|o| o.key.as_deref()).collect();
        assert!(!keys.is_empty(), "{}", p.name);
        match &p.key_rule {
            KeyRule::Drop => assert!(keys.iter().all(Option::is_none), "{}: key kept", p.name),
            KeyRule::Pseudonymize(_) => assert!(
                keys.iter().all(|k| k.is_some_and(|k| k.starts_with(b"test:") && k.len() == 27)),
                "{}: key not pseudonymized",
                p.name
            ),
            KeyRule::Keep => panic!("{}: a shipped pipeline keeps record keys", p.name),
        }
    }
    assert!(outs.iter().filter(|o| o.topic == DLQ).all(|o| o.key.is_none()));
    // Input headers are never forwarded: outputs carry only the provenance header.
    for o in &outs {
        assert!(!o.headers.contains("hdrcnry"), "an input header leaked on {}", o.topic);
        assert!(
            o.headers.is_empty() || o.headers.starts_with("logveil-provenance="),
            "unexpected header on {}",
            o.topic
        );
    }

    // Dead letters: codes, no raw payload.
    let codes: BTreeSet<String> = dead
        .iter()
        .map(|d| {
            serde_json::from_str::<Value>(&d.payload).unwrap()["error_code"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for c in ["invalid_json", "invalid_utf8", "not_an_object", "unknown_field", "invalid_log_line"]
    {
        assert!(codes.contains(c), "missing dead letter {c}: {codes:?}");
    }
    assert!(dead.iter().all(|d| !d.payload.contains("\"raw\"") && !d.payload.contains("broken")));

    // Statistics reached their topics and respect the thresholds.
    let stats: Vec<Value> = outs
        .iter()
        .filter(|o| stats_topics.contains(&o.topic))
        .map(|o| serde_json::from_str(&o.payload).unwrap())
        .collect();
    assert!(!stats.is_empty());
    assert_eq!(summary.stats_out as usize, stats.len());
    for row in &stats {
        assert_eq!(row["schema"], "logveil.stats/1");
        if row.get("summary").is_some() {
            continue;
        }
        let p = processor
            .pipelines()
            .pipelines()
            .iter()
            .find(|p| p.stats_specs.iter().any(|s| s.name == row["stat"]))
            .unwrap();
        let spec = p.stats_specs.iter().find(|s| s.name == row["stat"]).unwrap();
        let count_measure = spec
            .measures
            .iter()
            .find(|m| m.kind == logveil::stats::spec::MeasureKind::Count)
            .unwrap();
        let n = row["measures"][&count_measure.name].as_i64().unwrap();
        assert!(n >= spec.min_count, "{row}");
    }
    drop(producer);
}
