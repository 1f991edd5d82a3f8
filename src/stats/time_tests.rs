//! Behaviour tests of the engine's event-time handling: lateness and
//! out-of-order records, window boundaries for RFC 3339 offsets and epoch
//! seconds/milliseconds, invalid and far-future times, idle flush through
//! `poll(now_ms)`, and `finish`.

use serde_json::json;

use super::tests::{access_spec, engine, groups, parse, rec, T0};
use super::StatsEngine;

fn time_spec(window: &str, format: &str) -> String {
    format!(
        "[[stats]]\nname = \"t\"\ntopic = \"x\"\nwindow = \"{window}\"\ntime_field = \"meta.when\"\ntime_format = \"{format}\"\n\
         allowed_lateness = \"1h\"\n[[stats.measures]]\nname = \"n\"\nkind = \"count\"\n"
    )
}

fn window_counts(e: &mut StatsEngine) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    e.finish(&mut out);
    let rows = parse(&out);
    groups(&rows)
        .iter()
        .map(|r| {
            (r["window_start"].as_str().unwrap().to_owned(), r["measures"]["n"].as_u64().unwrap())
        })
        .collect()
}

#[test]
fn lateness_and_out_of_order() {
    let mut e = engine(&access_spec("allowed_lateness = \"30s\""));
    let mut out = Vec::new();
    e.observe(&rec(10_000, "/a", "u", 1)); // window 08:17
    e.observe(&rec(85_000, "/a", "u", 1)); // window 08:18, watermark 08:18:25
    e.observe(&rec(5_000, "/a", "u", 1)); // out of order, within lateness: counted in 08:17
    e.poll(T0 + 85_000, &mut out);
    assert!(out.is_empty(), "08:18:00 + 30s > watermark");
    e.observe(&rec(90_000, "/a", "u", 1)); // watermark 08:18:30 closes 08:17
    e.poll(T0 + 90_000, &mut out);
    let rows = parse(&out);
    assert_eq!(rows[0]["measures"]["requests"], 2);
    assert_eq!(rows[0]["window_start"], "2024-05-14T08:17:00Z");
    out.clear();
    e.observe(&rec(59_999, "/a", "u", 1)); // beyond lateness: late, never re-opens 08:17
    e.observe(&rec(1_000, "/a", "u", 1));
    assert_eq!(e.counters().late_records, 2);
    assert_eq!(e.open_windows(), 1);
    e.observe(&rec(150_000, "/a", "u", 1));
    e.poll(T0 + 150_000, &mut out);
    let rows = parse(&out);
    assert_eq!(rows[0]["window_start"], "2024-05-14T08:18:00Z");
    assert_eq!(rows[0]["measures"]["requests"], 2);
    assert_eq!(rows[1]["late_records"], 2, "late records reported in the next summary");
    out.clear();
    e.finish(&mut out);
    assert_eq!(parse(&out)[1]["late_records"], 0);
}

#[test]
fn late_without_allowed_lateness() {
    let mut e = engine(&access_spec(""));
    e.observe(&rec(60_000, "/a", "u", 1));
    e.observe(&rec(59_999, "/a", "u", 1)); // its window ended at the watermark: late
    e.observe(&rec(60_001, "/a", "u", 1));
    assert_eq!(e.counters().late_records, 1);
    let mut out = Vec::new();
    e.finish(&mut out);
    assert_eq!(parse(&out)[0]["measures"]["requests"], 2);
}

#[test]
fn window_boundaries_across_time_formats() {
    let mut e = engine(&time_spec("1h", "auto"));
    for when in [
        json!("2024-05-14T16:59:59.999+08:00"), // 08:59:59.999Z
        json!("2024-05-14T09:00:00+01:00"),     // 08:00:00Z
        json!("2024-05-14T02:30:00-05:30"),     // 08:00:00Z
        json!(1_715_677_200_i64),               // epoch s: 09:00:00Z
        json!(1_715_677_199_999_i64),           // epoch ms: 08:59:59.999Z
        json!(1_715_677_199.5),                 // fractional epoch s: 08:59:59.5Z
        json!("2024-05-14T09:59:59Z"),
    ] {
        e.observe(&serde_json::to_vec(&json!({"meta": {"when": when}})).unwrap());
    }
    let expected =
        vec![("2024-05-14T08:00:00Z".to_owned(), 5), ("2024-05-14T09:00:00Z".to_owned(), 2)];
    assert_eq!(window_counts(&mut e), expected);
    assert_eq!(e.counters().invalid_time, 0);

    let mut e = engine(&time_spec("1m", "epoch_ms"));
    e.observe(br#"{"meta":{"when":1715674679999}}"#);
    e.observe(br#"{"meta":{"when":1715674680000}}"#);
    e.observe(br#"{"meta":{"when":"2024-05-14T08:17:00Z"}}"#); // text refused by epoch_ms
    assert_eq!(
        window_counts(&mut e),
        vec![("2024-05-14T08:17:00Z".to_owned(), 1), ("2024-05-14T08:18:00Z".to_owned(), 1)]
    );
    assert_eq!(e.counters().invalid_time, 1);

    let mut e = engine(&time_spec("1m", "epoch_s"));
    e.observe(br#"{"meta":{"when":1715674679}}"#);
    assert_eq!(window_counts(&mut e), vec![("2024-05-14T08:17:00Z".to_owned(), 1)]);
}

#[test]
fn invalid_times_and_records_are_counted() {
    let mut e = engine(&time_spec("1m", "auto"));
    for bad in [
        &br#"{"meta":{}}"#[..],
        br#"{"meta":{"when":null}}"#,
        br#"{"meta":{"when":"yesterday"}}"#,
        br#"{"meta":{"when":true}}"#,
        br#"{"meta":{"when":{"s":1}}}"#,
        br#"{"meta":{"when":1e300}}"#,
        br#"{"meta":"x"}"#,
    ] {
        e.observe(bad);
    }
    e.observe(b"not json");
    e.observe(b"[1,2]");
    let c = e.counters();
    assert_eq!((c.invalid_time, c.invalid_records, c.records_observed), (7, 2, 9));
    // Far future relative to the watermark (> 1000 windows) is invalid, not a new window.
    e.observe(br#"{"meta":{"when":"2024-05-14T08:17:00Z"}}"#);
    e.observe(br#"{"meta":{"when":"2024-05-15T08:17:00Z"}}"#);
    e.observe(br#"{"meta":{"when":"2024-05-14T08:17:00.001Z"}}"#);
    assert_eq!(e.counters().invalid_time, 8);
    assert_eq!(e.open_windows(), 1);
    assert_eq!(window_counts(&mut e), vec![("2024-05-14T08:17:00Z".to_owned(), 2)]);
}

#[test]
fn idle_flush_via_poll() {
    let mut e = engine(&access_spec("allowed_lateness = \"30s\""));
    let wall = T0 + 3_600_000;
    let mut out = Vec::new();
    e.observe(&rec(59_000, "/a", "u", 1));
    e.poll(wall, &mut out); // sees activity
    e.poll(wall + 59_999, &mut out); // idle < one window
    assert!(out.is_empty());
    e.poll(wall + 60_000, &mut out); // idle: watermark 08:17:59 + 60s >= 08:18:30
    let rows = parse(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["partial"], false);
    // The advanced watermark makes stragglers for that window late.
    e.observe(&rec(1_000, "/a", "u", 1));
    assert_eq!(e.counters().late_records, 1);
}

#[test]
fn finish_marks_partial_and_is_final() {
    let mut e = engine(&access_spec(""));
    e.observe(&rec(0, "/a", "u", 1));
    e.observe(&rec(60_000, "/a", "u", 1));
    let mut out = Vec::new();
    e.finish(&mut out);
    let rows = parse(&out);
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r["partial"] == true));
    assert_eq!(e.open_windows(), 0);
    let c = e.counters();
    assert_eq!((c.windows_emitted, c.rows_emitted), (2, 4));
    e.observe(&rec(60_001, "/a", "u", 1));
    assert_eq!(e.counters().late_records, 1, "flushed windows never re-open");
}
