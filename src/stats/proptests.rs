//! Property tests of the statistics engine: output against a naive exact
//! reference (counts and sums exact, distinct within 4 HyperLogLog standard
//! errors, quantiles within the sketch's relative accuracy), thresholds and
//! `__other__` folding, and merged partials of two instances being
//! byte-identical to a single instance; plus merge edge cases (suppression
//! after merging, bad partials, partials arriving after their window).

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::json;

use super::tests::{access_spec, engine, parse, rec, T0};
use super::{StatsEngine, StatsRow};

#[derive(Debug, Clone)]
struct Ev {
    offset_ms: i64,
    group: u8,
    user: u16,
    bytes: u64,
    duration: f64,
}

fn ev() -> impl Strategy<Value = Ev> {
    (0_i64..180_000, 0_u8..4, 0_u16..300, 0_u64..1_000_000, 0.01_f64..10_000.0).prop_map(
        |(offset_ms, group, user, bytes, duration)| Ev { offset_ms, group, user, bytes, duration },
    )
}

fn record(e: &Ev) -> Vec<u8> {
    let v = json!({"ts": T0 + e.offset_ms, "g": format!("g{}", e.group), "user_id": format!("k1:{}", e.user),
        "bytes": e.bytes, "duration_ms": e.duration, "other": {"ignored": [1, 2]}});
    serde_json::to_vec(&v).unwrap()
}

fn spec(extra: &str) -> String {
    format!(
        "[[stats]]\nname = \"p\"\ntopic = \"t\"\nwindow = \"1m\"\ngroup_by = [\"g\"]\n{extra}\n\
         [[stats.measures]]\nname = \"n\"\nkind = \"count\"\n\
         [[stats.measures]]\nname = \"users\"\nkind = \"distinct\"\nfield = \"user_id\"\n\
         [[stats.measures]]\nname = \"bytes\"\nkind = \"sum\"\nfield = \"bytes\"\n\
         [[stats.measures]]\nname = \"dur_sum\"\nkind = \"sum\"\nfield = \"duration_ms\"\n\
         [[stats.measures]]\nname = \"dur\"\nkind = \"quantiles\"\nfield = \"duration_ms\"\nquantiles = [0.01, 0.5, 0.9, 0.99]\n"
    )
}

fn window_start(offset_ms: i64) -> String {
    let mut out = Vec::new();
    super::time::write_rfc3339_secs((T0 + offset_ms).div_euclid(60_000) * 60_000, &mut out);
    String::from_utf8(out).unwrap()
}

fn finish_all(e: &mut StatsEngine) -> Vec<StatsRow> {
    let mut out = Vec::new();
    e.finish(&mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn matches_exact_reference(evs in prop::collection::vec(ev(), 1..400)) {
        let mut e = engine(&spec("allowed_lateness = \"5m\""));
        evs.iter().for_each(|x| e.observe(&record(x)));
        let mut reference: BTreeMap<(String, String), Vec<&Ev>> = BTreeMap::new();
        for x in &evs {
            reference.entry((window_start(x.offset_ms), format!("g{}", x.group))).or_default().push(x);
        }
        let rows = parse(&finish_all(&mut e));
        let group_rows: Vec<_> = rows.iter().filter(|r| r.get("summary").is_none()).collect();
        prop_assert_eq!(group_rows.len(), reference.len());
        prop_assert_eq!(e.counters().late_records, 0);
        for row in group_rows {
            let key = (row["window_start"].as_str().unwrap().to_owned(), row["dimensions"]["g"].as_str().unwrap().to_owned());
            let evs = &reference[&key];
            let m = &row["measures"];
            prop_assert_eq!(m["n"].as_u64(), Some(evs.len() as u64));
            prop_assert_eq!(m["bytes"].as_u64(), Some(evs.iter().map(|x| x.bytes).sum::<u64>()));
            let dur_sum: f64 = evs.iter().map(|x| x.duration).sum();
            prop_assert!((m["dur_sum"].as_f64().unwrap() - dur_sum).abs() <= 1e-9 * dur_sum + 1e-6);
            let distinct = evs.iter().map(|x| x.user).collect::<BTreeSet<_>>().len() as f64;
            let est = m["users"].as_f64().unwrap();
            prop_assert!((est - distinct).abs() <= 4.0 * 1.04 / 64.0 * distinct, "distinct {} vs {}", est, distinct);
            let mut durs: Vec<f64> = evs.iter().map(|x| x.duration).collect();
            durs.sort_by(f64::total_cmp);
            for (q, label) in [(0.01, "p1"), (0.5, "p50"), (0.9, "p90"), (0.99, "p99")] {
                let truth = durs[(q * (durs.len() - 1) as f64).floor() as usize];
                let got = m["dur"][label].as_f64().unwrap();
                prop_assert!((got - truth).abs() <= 0.01 * truth * (1.0 + 1e-9), "{} {} vs {}", label, got, truth);
            }
        }
    }

    #[test]
    fn thresholds_and_other_folding(sizes in prop::collection::vec(0_u64..8, 4), k in 1_u64..8, fold in any::<bool>()) {
        let suppression = if fold { "other" } else { "drop" };
        let mut e = engine(&spec(&format!("min_count = {k}\nsuppression = \"{suppression}\"")));
        for (g, &n) in sizes.iter().enumerate() {
            for i in 0..n {
                e.observe(&record(&Ev { offset_ms: i as i64, group: g as u8, user: 0, bytes: 1, duration: 1.0 }));
            }
        }
        let rows = parse(&finish_all(&mut e));
        let emitted: Vec<String> = rows.iter().filter(|r| r.get("summary").is_none())
            .map(|r| r["dimensions"]["g"].as_str().unwrap().to_owned()).collect();
        let mut expected: Vec<String> = (0..4).filter(|&g| sizes[g] >= k).map(|g| format!("g{g}")).collect();
        let folded: u64 = sizes.iter().filter(|&&n| n > 0 && n < k).sum();
        if fold && folded >= k {
            expected.push("__other__".to_owned());
        }
        prop_assert_eq!(emitted, expected);
        if let Some(summary) = rows.last() {
            // Published only for no suppressed group, or for two or more
            // holding at least min_count records; else null.
            let n_suppressed = sizes.iter().filter(|&&n| n > 0 && n < k).count();
            let published = n_suppressed == 0 || (n_suppressed >= 2 && folded >= k);
            prop_assert_eq!(summary["records_suppressed"].as_u64(), published.then_some(folded));
            prop_assert_eq!(summary["other_emitted"].as_bool(), Some(fold && folded >= k));
        } else {
            prop_assert!(sizes.iter().all(|&n| n == 0));
        }
    }

    #[test]
    fn merged_partials_equal_single_engine(
        mut evs in prop::collection::vec(ev(), 0..300),
        mask in prop::collection::vec(any::<bool>(), 300),
        sorted in any::<bool>(),
    ) {
        let lateness = if sorted { "0s" } else { "5m" };
        if sorted {
            evs.sort_by_key(|x| x.offset_ms);
        }
        let cfg = spec(&format!("allowed_lateness = \"{lateness}\"\nmin_count = 3\nmin_distinct = 2"));
        let (mut single, mut a, mut b, mut owner) = (engine(&cfg), engine(&cfg), engine(&cfg), engine(&cfg));
        for (x, &to_a) in evs.iter().zip(&mask) {
            let r = record(x);
            single.observe(&r);
            if to_a { a.observe(&r) } else { b.observe(&r) }
        }
        let now = T0 + 200_000;
        let mut parts = Vec::new();
        a.poll_partials(now, &mut parts);
        b.poll_partials(now, &mut parts);
        a.finish_partials(&mut parts);
        b.finish_partials(&mut parts);
        for p in &parts {
            prop_assert!(owner.merge_partial(&p.json).is_ok());
        }
        let (mut expected, mut merged) = (Vec::new(), Vec::new());
        single.poll(now, &mut expected);
        owner.poll(now, &mut merged);
        prop_assert_eq!(&merged, &expected);
        single.finish(&mut expected);
        owner.finish(&mut merged);
        prop_assert_eq!(merged, expected);
        prop_assert_eq!(owner.counters().late_records, 0);
    }
}

#[test]
fn split_groups_below_threshold_pass_after_merge() {
    let cfg = spec("min_count = 4");
    let (mut a, mut b, mut solo, mut owner) =
        (engine(&cfg), engine(&cfg), engine(&cfg), engine(&cfg));
    for i in 0..2 {
        let x = Ev { offset_ms: i, group: 1, user: i as u16, bytes: 10, duration: 5.0 };
        a.observe(&record(&x));
        b.observe(&record(&x));
        solo.observe(&record(&x));
    }
    let alone = parse(&finish_all(&mut solo));
    assert_eq!(alone.len(), 1, "each half alone would be suppressed");
    assert_eq!(alone[0]["groups_suppressed"], 1);
    let mut parts = Vec::new();
    a.finish_partials(&mut parts);
    b.finish_partials(&mut parts);
    parts.iter().for_each(|p| owner.merge_partial(&p.json).unwrap());
    let rows = parse(&finish_all(&mut owner));
    assert_eq!(rows[0]["measures"]["n"], 4);
    assert_eq!(rows[0]["measures"]["users"], 2);
    assert_eq!(rows[0]["measures"]["bytes"], 40);
    assert_eq!(owner.counters().partials_merged, 4);
}

#[test]
fn merge_partial_rejects_bad_input() {
    let mut sender = engine(&access_spec(""));
    sender.observe(&rec(0, "/a", "k1:secret", 1));
    let mut parts = Vec::new();
    sender.finish_partials(&mut parts);
    assert_eq!(parts.len(), 2, "window meta and one group");
    assert!(parts.iter().all(|p| p.key == b"rpm|2024-05-14T08:17:00Z"));
    let group = String::from_utf8(parts[1].json.clone()).unwrap();
    let mut owner = engine(&access_spec(""));
    for bad in [
        "garbage".to_owned(),
        group.replace("\"rpm\"", "\"nope\""),
        group.replace("logveil.stats.partial/1", "v2"),
        group.replace(
            &format!("\"window_start_ms\":{T0}"),
            &format!("\"window_start_ms\":{}", T0 + 1),
        ),
        group.replace("\"group\":[", "\"group\":[1,"),
        group.replace("\"group\":[", "\"group\":[[1],"),
        group.replace("\"kind\":\"group\"", "\"kind\":\"other\""),
        group.replace("\"count\":", "\"extra\":1,\"count\":"),
        group.replace("{\"count\":1}", "{\"sum\":{\"scaled\":\"0\",\"int\":true}}"),
        group.replace("\"scaled\":\"", "\"scaled\":\"x"),
        group.replace("\"accuracy\":0.01", "\"accuracy\":0.02"),
    ] {
        let msg = owner.merge_partial(bad.as_bytes()).unwrap_err().to_string();
        assert!(
            msg.starts_with("stats partial: ") && !msg.contains("secret") && !msg.contains("/a"),
            "{msg}"
        );
    }
    assert_eq!(owner.counters().partials_merged, 0);
    assert_eq!(owner.open_windows(), 0, "rejected partials merge nothing");
    owner.merge_partial(group.as_bytes()).unwrap();
    assert_eq!(owner.open_groups(), 1, "the unmodified partial merges");

    let mut other_cfg = engine(
        &access_spec("").replace("field = \"user_id\"", "field = \"user_id\"\nprecision = 10"),
    );
    let msg = other_cfg.merge_partial(group.as_bytes()).unwrap_err().to_string();
    assert_eq!(msg, "stats partial: measures do not match the stat definition");
    assert_eq!(owner.topics(), vec!["stats.access".to_owned()]);
}

#[test]
fn partials_for_emitted_windows_count_as_late() {
    let mut sender = engine(&access_spec(""));
    sender.observe(&rec(0, "/a", "u", 1));
    sender.observe(&rec(1, "/a", "u", 1));
    let mut parts = Vec::new();
    sender.finish_partials(&mut parts);
    let mut owner = engine(&access_spec(""));
    owner.observe(&rec(2, "/a", "u", 1));
    let mut out = Vec::new();
    owner.finish(&mut out);
    for p in &parts {
        owner.merge_partial(&p.json).unwrap();
    }
    assert_eq!(owner.counters().late_records, 2);
    assert_eq!(owner.open_windows(), 0);
}
