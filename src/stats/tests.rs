//! Behaviour tests of the whole statistics engine, output side: the row
//! format, thresholds and `__other__` folding, bounded state, determinism and
//! noise; plus the helpers shared by the other engine test files
//! (`time_tests.rs` for event time, `proptests.rs` for reference and merge
//! properties).

use serde_json::{json, Value};

use super::spec::StatSpec;
use super::{StatsEngine, StatsRow};

/// 2024-05-14T08:17:00Z in epoch ms.
pub(super) const T0: i64 = 1_715_674_620_000;

#[derive(serde::Deserialize)]
struct Pipeline {
    stats: Vec<StatSpec>,
}

pub(super) fn engine(toml_text: &str) -> StatsEngine {
    let specs = toml::from_str::<Pipeline>(toml_text).unwrap().stats;
    StatsEngine::new(super::compile_all(&specs).unwrap())
}

/// The access-log stat used by most tests; `extra` is appended to the `[[stats]]` table.
pub(super) fn access_spec(extra: &str) -> String {
    format!(
        r#"
[[stats]]
name = "rpm"
topic = "stats.access"
window = "1m"
group_by = ["path_template", "status_class", "user_agent.browser"]
{extra}
[stats.derive]
path_template = {{ from = "path", kind = "path_template" }}
status_class = {{ from = "status", kind = "status_class" }}

[[stats.measures]]
name = "requests"
kind = "count"

[[stats.measures]]
name = "users"
kind = "distinct"
field = "user_id"

[[stats.measures]]
name = "bytes"
kind = "sum"
field = "bytes"

[[stats.measures]]
name = "duration_ms"
kind = "quantiles"
field = "duration_ms"
"#
    )
}

/// An anonymized access record at `T0 + offset_ms`.
pub(super) fn rec(offset_ms: i64, path: &str, user: &str, bytes: u64) -> Vec<u8> {
    let ts = fmt_ts(T0 + offset_ms);
    let v = json!({"ts": ts, "client_ip": "203.0.113.0", "user_id": user, "path": path, "status": 404,
        "bytes": bytes, "duration_ms": 46.26, "user_agent": {"browser": "Chrome", "device": "mobile"}});
    serde_json::to_vec(&v).unwrap()
}

fn fmt_ts(ms: i64) -> String {
    let mut out = Vec::new();
    super::time::write_rfc3339_secs(ms, &mut out);
    let s = String::from_utf8(out).unwrap();
    format!("{}.{:03}Z", &s[..19], ms.rem_euclid(1000))
}

pub(super) fn parse(rows: &[StatsRow]) -> Vec<Value> {
    rows.iter().map(|r| serde_json::from_slice(&r.json).unwrap()).collect()
}

fn summaries(rows: &[Value]) -> Vec<&Value> {
    rows.iter().filter(|r| r["summary"] == true).collect()
}

pub(super) fn groups(rows: &[Value]) -> Vec<&Value> {
    rows.iter().filter(|r| r.get("summary").is_none()).collect()
}

#[test]
fn golden_row_and_summary() {
    let mut e = engine(&access_spec("min_count = 2"));
    e.observe(&rec(1_000, "/api/v1/users/4411/orders?page=2", "k1:a", 100));
    e.observe(&rec(2_000, "/api/v1/users/17/orders", "k1:b", 200));
    e.observe(&rec(3_000, "/health", "k1:a", 5));
    e.observe(&rec(60_000, "/next", "k1:a", 5)); // next window: watermark reaches 08:18:00
    let mut out = Vec::new();
    e.poll(T0 + 60_000, &mut out);
    assert_eq!(out.len(), 2, "group row and summary; __other__ (1 record) is dropped");
    assert!(out.iter().all(|r| r.topic == "stats.access" && r.stat == "rpm"));
    let row = String::from_utf8(out[0].json.clone()).unwrap();
    let p = r#"{"p50":46.06,"p90":46.06,"p99":46.06}"#;
    let approx = row.replace(&row[row.find("{\"p50\"").unwrap()..row.len() - 2], p);
    assert_eq!(
        approx,
        format!(
            "{}{}{}",
            r#"{"schema":"logveil.stats/1","stat":"rpm","window_start":"2024-05-14T08:17:00Z","window_end":"2024-05-14T08:18:00Z","partial":false,"#,
            r#""dimensions":{"path_template":"/api/v1/users/{id}/orders","status_class":"4xx","user_agent.browser":"Chrome"},"#,
            r#""measures":{"requests":2,"users":2,"bytes":300,"duration_ms":{"p50":46.06,"p90":46.06,"p99":46.06}}}"#
        )
    );
    let q = parse(&out)[0]["measures"]["duration_ms"]["p50"].as_f64().unwrap();
    assert!((q - 46.26).abs() <= 0.01 * 46.26);
    assert_eq!(
        String::from_utf8(out[1].json.clone()).unwrap(),
        r#"{"schema":"logveil.stats/1","stat":"rpm","window_start":"2024-05-14T08:17:00Z","window_end":"2024-05-14T08:18:00Z","partial":false,"summary":true,"groups_emitted":1,"groups_suppressed":1,"records_suppressed":null,"overflow_records":0,"other_emitted":false,"late_records":0}"#
    );
    assert_eq!(e.counters().other_rows_dropped, 1);
}

#[test]
fn min_count_threshold_is_exact() {
    for k in 1..=6_u64 {
        let mut e = engine(&access_spec(&format!("min_count = {k}\nsuppression = \"drop\"")));
        for i in 0..k - 1 {
            e.observe(&rec(i as i64, "/a", "u", 1));
        }
        for i in 0..k {
            e.observe(&rec(i as i64, "/b", "u", 1));
        }
        let mut out = Vec::new();
        e.finish(&mut out);
        let rows = parse(&out);
        let g = groups(&rows);
        assert_eq!(g.len(), 1, "k={k}");
        assert_eq!(g[0]["dimensions"]["path_template"], "/b");
        assert_eq!(g[0]["measures"]["requests"], k);
        let s = summaries(&rows)[0];
        assert_eq!(s["groups_suppressed"], u64::from(k > 1));
        // A lone suppressed group's size is withheld.
        let want = if k > 1 { Value::Null } else { json!(0) };
        assert_eq!(s["records_suppressed"], want);
        assert_eq!(e.counters().suppressed_groups, u64::from(k > 1));
    }
}

#[test]
fn min_distinct_threshold_is_exact() {
    for k in 1..=8_u64 {
        let mut e = engine(&access_spec(&format!("min_distinct = {k}\nsuppression = \"drop\"")));
        for i in 0..k - 1 {
            // Many records, but only k-1 distinct users: still suppressed.
            for _ in 0..3 {
                e.observe(&rec(0, "/a", &format!("k1:user{i}"), 1));
            }
        }
        for i in 0..k {
            e.observe(&rec(0, "/b", &format!("k1:user{i}"), 1));
        }
        let mut out = Vec::new();
        e.finish(&mut out);
        let rows = parse(&out);
        let g = groups(&rows);
        assert_eq!(g.len(), 1, "k={k}");
        assert_eq!(g[0]["dimensions"]["path_template"], "/b");
        assert_eq!(g[0]["measures"]["users"], k);
        assert_eq!(summaries(&rows)[0]["groups_suppressed"], u64::from(k > 1));
    }
}

#[test]
fn suppressed_groups_fold_into_thresholded_other() {
    let mut e = engine(&access_spec("min_count = 3"));
    for (path, n) in [("/big", 5), ("/s1", 1), ("/s2", 2)] {
        for i in 0..n {
            e.observe(&rec(i, path, &format!("u{i}"), 10));
        }
    }
    let mut out = Vec::new();
    e.finish(&mut out);
    let rows = parse(&out);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["dimensions"]["path_template"], "/big");
    let other = &rows[1];
    assert_eq!(
        other["dimensions"],
        json!({"path_template": "__other__", "status_class": "__other__", "user_agent.browser": "__other__"})
    );
    assert_eq!(other["measures"]["requests"], 3);
    assert_eq!(other["measures"]["bytes"], 30);
    assert_eq!(other["partial"], true);
    let s = &rows[2];
    assert_eq!((s["groups_emitted"].clone(), s["groups_suppressed"].clone()), (json!(2), json!(2)));
    assert_eq!(
        (s["records_suppressed"].clone(), s["other_emitted"].clone()),
        (json!(3), json!(true))
    );

    // The same small groups under min_count = 4: __other__ (3 records) is dropped and counted.
    let mut e = engine(&access_spec("min_count = 4"));
    for (path, n) in [("/s1", 1), ("/s2", 2)] {
        for i in 0..n {
            e.observe(&rec(i, path, "u", 1));
        }
    }
    let mut out = Vec::new();
    e.finish(&mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(e.counters().other_rows_dropped, 1);
    assert_eq!(e.counters().suppressed_records, 3);
}

#[test]
fn flood_of_distinct_groups_is_bounded() {
    let mut e = engine(&access_spec("max_groups = 1000"));
    for i in 0..100_000_u64 {
        // Digit runs of five or more would be templated as `{id}`.
        e.observe(&rec((i % 60_000) as i64, &format!("/p/x{}-{}", i / 1000, i % 1000), "u", 1));
        if i % 10_000 == 0 {
            assert!(e.open_groups() <= 1_000);
        }
    }
    assert_eq!(e.open_groups(), 1_000);
    let mut out = Vec::new();
    e.finish(&mut out);
    let rows = parse(&out);
    assert_eq!(rows.len(), 1_002, "1000 groups, __other__, summary");
    let other = &rows[1_000];
    assert_eq!(other["dimensions"]["path_template"], "__other__");
    assert_eq!(other["measures"]["requests"], 99_000);
    assert_eq!(rows[1_001]["overflow_records"], 99_000);
    let c = e.counters();
    assert_eq!(c.overflow_records, 99_000);
    let err = (c.overflow_groups as f64 - 99_000.0).abs() / 99_000.0;
    assert!(err < 4.0 * 1.04 / 64.0, "overflow_groups {}", c.overflow_groups);
}

#[test]
fn output_is_deterministic_regardless_of_arrival_order() {
    let records: Vec<Vec<u8>> = (0..300)
        .map(|i| {
            rec(
                i * 97 % 59_000,
                &format!("/p/{}", ["a", "b", "c", "d"][i as usize % 4]),
                &format!("u{}", i % 37),
                i as u64,
            )
        })
        .collect();
    let run = |order: &mut dyn Iterator<Item = &Vec<u8>>| {
        let mut e = engine(&access_spec("min_count = 2"));
        order.for_each(|r| e.observe(r));
        let mut out = Vec::new();
        e.finish(&mut out);
        out
    };
    let a = run(&mut records.iter());
    let b = run(&mut records.iter().rev());
    assert_eq!(a, b);
    assert_eq!(a.len(), 5);
}

#[test]
fn noise_blurs_counts_but_thresholds_use_true_counts() {
    let spec = access_spec("epsilon = 0.5\nmin_count = 5\nsuppression = \"drop\"");
    let run = |seed: u64| {
        let mut e = engine(&spec);
        e.set_noise_seed(seed);
        for w in 0..200 {
            for i in 0..10 {
                e.observe(&rec(w * 60_000 + i, "/a", "u", 1));
            }
            e.observe(&rec(w * 60_000, "/small", "u", 1));
        }
        let mut out = Vec::new();
        e.finish(&mut out);
        parse(&out)
    };
    let rows = run(7);
    assert_eq!(rows, run(7), "seeded noise is reproducible");
    let counts: Vec<i64> =
        groups(&rows).iter().map(|r| r["measures"]["requests"].as_i64().unwrap()).collect();
    assert_eq!(counts.len(), 200, "only /a passes; /small (1 record) never leaks through noise");
    assert!(counts.iter().all(|&c| c >= 0));
    assert!(counts.iter().any(|&c| c != 10), "noise applied");
    let mean = counts.iter().sum::<i64>() as f64 / 200.0;
    assert!((mean - 10.0).abs() < 1.0, "noise is centred: {mean}");
    assert!(groups(&rows).iter().all(|r| r["measures"]["bytes"] == 10), "sums are not noised");
}

#[test]
fn extracting_outside_the_engine_gives_the_same_rows() {
    let keys = crate::keys::KeyStore::for_tests(&["ids".into()]);
    let p =
        crate::pipeline::Pipeline::load(std::path::Path::new("pipelines/access_log.toml"), &keys)
            .unwrap();
    let mut whole = StatsEngine::new(p.stats.clone());
    let mut split = StatsEngine::new(p.stats.clone());
    whole.set_noise_seed(7);
    split.set_noise_seed(7);
    let extractor = split.extractor();
    let mut obs = super::Observation::default();
    let mut scratch = crate::pipeline::Scratch::default();
    for r in crate::workload::generate(11, 3000) {
        p.process(&r, &mut scratch).unwrap();
        whole.observe(&scratch.out);
        extractor.extract(&scratch.out, &mut obs);
        split.observe_extracted(&obs);
    }
    for bad in [&b"not json"[..], b"[1]", b"{\"ts\":}"] {
        whole.observe(bad);
        extractor.extract(bad, &mut obs);
        split.observe_extracted(&obs);
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    whole.finish(&mut a);
    split.finish(&mut b);
    assert!(!a.is_empty());
    assert_eq!(parse(&a), parse(&b));
    assert_eq!(whole.counters(), split.counters());
}
