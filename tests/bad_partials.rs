//! Statistics partials from the internal topic, through the service seam
//! (`Anonymizer::process`): a partial that is not strictly valid (the
//! fuzzing reproducers of issue 15: a lone surrogate in its group key, or
//! unknown bytes) is a dead letter with `invalid_partial` and a message
//! without its contents, and the instance keeps merging the good ones; a
//! key spelled with escapes merges into the same group as its plain form.

use std::path::Path;

use logveil::anonymizer::{Anonymizer, StatsMode};
use logveil::keys::KeyStore;
use logveil::pipeline::{Pipeline, PipelineSet, Scratch};
use logveil::processor::{Disposition, RecordProcessor, SourceRecord};
use logveil::stats::StatsEngine;

const PARTIALS: &str = "logveil.stats.partials";

fn access_log() -> Pipeline {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/access_log.toml");
    Pipeline::load(&path, &KeyStore::for_tests(&["ids".to_owned()])).unwrap()
}

/// The partials another instance would send for three requests by three
/// users (the shipped statistic has `min_count = 5`, `min_distinct = 3`).
fn good_partials() -> Vec<String> {
    let pipe = access_log();
    let mut sender = StatsEngine::new(pipe.stats.clone());
    let mut scratch = Scratch::default();
    for user in ["u_1", "u_2", "u_3"] {
        let raw = format!(
            r#"{{"ts":"2024-05-14T08:17:01Z","client_ip":"203.0.113.7","user_id":"{user}","method":"GET","path":"/x","status":200,"user_agent":"curl/8.0"}}"#
        );
        pipe.process(raw.as_bytes(), &mut scratch).unwrap();
        sender.observe(&scratch.out);
    }
    let mut parts = Vec::new();
    sender.finish_partials(&mut parts);
    let parts: Vec<String> =
        parts.into_iter().map(|p| String::from_utf8(p.json).unwrap()).collect();
    assert!(parts.iter().any(|p| p.contains(r#""group":["/x","#)), "{parts:?}");
    parts
}

fn feed(
    anon: &Anonymizer,
    worker: &mut <Anonymizer as RecordProcessor>::Worker,
    payload: &str,
    offset: i64,
) -> Disposition {
    let record = SourceRecord {
        topic: PARTIALS,
        partition: 0,
        offset,
        key: Some(b"requests_per_minute|2024-05-14T08:17:00Z"),
        payload: Some(payload.as_bytes()),
        timestamp_ms: None,
    };
    anon.process(worker, &record, &mut |_| {})
}

#[test]
fn bad_partials_are_dead_lettered_and_the_instance_keeps_merging() {
    let set = PipelineSet::new(vec![access_log()]).unwrap();
    let mode = StatsMode::Merged { partials_topic: PARTIALS.to_owned(), merge_delay_ms: 0 };
    let anon = Anonymizer::with_stats_mode(set, mode);
    let mut worker = anon.new_worker();
    let parts = good_partials();
    let group = parts.iter().find(|p| p.contains(r#""kind":"group""#)).unwrap();
    let mut offset = 0;
    for bad in [
        group.replace(r#""group":["/x","#, r#""group":["\ud800canary","#),
        group.replace(r#""group":["/x","#, r#""group":["\udc00canary","#),
        group.replace(r#""group":["/x","#, r#""group":[1e400,"#),
        "canary not a partial".to_owned(),
    ] {
        offset += 1;
        match feed(&anon, &mut worker, &bad, offset) {
            Disposition::Failed(f) => {
                assert_eq!(f.error_code, logveil::error::ErrorCode::InvalidPartial);
                assert!(
                    !f.message.contains("canary") && !f.message.contains("/x"),
                    "{}",
                    f.message
                );
            }
            other => panic!("bad partial not dead-lettered: {other:?}"),
        }
    }
    // The instance goes on: the good partials, and the group partial again
    // with its key escaped: the same group, so 6 requests by 3 users pass
    // the thresholds as one row (split, neither half would).
    let escaped = group.replace(r#""group":["/x","#, r#""group":["\/x","#);
    for p in parts.iter().chain([&escaped]) {
        offset += 1;
        assert!(
            matches!(feed(&anon, &mut worker, p, offset), Disposition::Absorbed { .. }),
            "good partial refused: {p}"
        );
    }
    let mut rows = Vec::new();
    anon.finish(&mut worker, &mut |out| {
        rows.push(String::from_utf8_lossy(out.payload).into_owned())
    });
    let groups: Vec<&String> = rows.iter().filter(|r| r.contains(r#""dimensions""#)).collect();
    let with_x: Vec<&&String> = groups.iter().filter(|r| r.contains(r#""/x""#)).collect();
    assert_eq!(with_x.len(), 1, "one group for \"/x\" and \"\\/x\": {rows:?}");
    assert!(with_x[0].contains(r#""requests":6"#), "{rows:?}");
}
