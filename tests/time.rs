//! `coarsen_time` and the statistics agree on what a timestamp is: whatever
//! the reference pipeline writes into `ts` is a valid event time for its
//! `[[stats]]`, checked through the public pipeline and engine.

use std::path::Path;
use std::sync::OnceLock;

use logveil::keys::KeyStore;
use logveil::pipeline::{Pipeline, Scratch};
use logveil::stats::StatsEngine;
use proptest::prelude::*;

fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let keys = KeyStore::for_tests(&["ids".into()]);
        Pipeline::load(Path::new("pipelines/access_log.toml"), &keys).expect("pipeline")
    })
}

/// The anonymized `ts` of a record whose raw `ts` is `ts`, and whether the
/// statistics of the pipeline took it as a valid event time.
fn through(pipeline: &Pipeline, ts: &str) -> (Option<String>, bool) {
    let record = serde_json::json!({
        "ts": ts, "client_ip": "203.0.113.7", "user_id": "u_1", "method": "GET",
        "path": "/api/v1/cart", "status": 200, "bytes": 10, "user_agent": "curl/8.7.1",
    });
    let mut scratch = Scratch::default();
    pipeline.process(record.to_string().as_bytes(), &mut scratch).expect("processed");
    let out: serde_json::Value = serde_json::from_slice(&scratch.out).expect("json");
    let mut engine = StatsEngine::new(pipeline.stats.clone());
    engine.observe(&scratch.out);
    let counters = engine.counters();
    assert_eq!(counters.records_observed, 1);
    (out["ts"].as_str().map(str::to_owned), counters.invalid_time == 0)
}

#[test]
fn forms_the_statistics_used_to_refuse_are_counted() {
    for (raw, coarse) in [
        ("2024-05-14 08:17:42,123Z", "2024-05-14 08:17:00,000Z"),
        ("2024-05-14T16:17:42+0800", "2024-05-14T16:17:00+0800"),
        ("2024-05-14T16:17:42.5+08", "2024-05-14T16:17:00.0+08"),
        ("2024-05-14t08:17:42z", "2024-05-14t08:17:00z"),
        ("2016-12-31T23:59:60.5Z", "2016-12-31T23:59:00.0Z"),
    ] {
        assert_eq!(through(pipeline(), raw), (Some(coarse.to_owned()), true), "{raw}");
    }
}

#[test]
fn an_invalid_time_is_dropped_and_counted_never_passed_through() {
    for raw in ["2024-02-30T08:17:42Z", "2024-05-14T08:17:42+24:00", "0000-01-01T00:00:00Z"] {
        assert_eq!(through(pipeline(), raw), (None, false), "{raw}");
    }
}

proptest! {
    #[test]
    fn every_coarsened_time_is_a_valid_event_time(
        year in 1000u32..=9998,
        month in 1u32..=12,
        day in 1u32..=28,
        hour in 0u32..24,
        minute in 0u32..60,
        second in 0u32..=60,
        sep in prop::sample::select(vec!['T', 't', ' ']),
        fraction in prop::option::of(("[.,]", "[0-9]{1,9}")),
        offset in prop::sample::select(vec!["Z", "z", "+08:00", "-0530", "+01", "-00:00", "+2359"]),
    ) {
        let fraction = fraction.map(|(dot, digits)| format!("{dot}{digits}")).unwrap_or_default();
        let ts = format!(
            "{year:04}-{month:02}-{day:02}{sep}{hour:02}:{minute:02}:{second:02}{fraction}{offset}"
        );
        let (coarse, counted) = through(pipeline(), &ts);
        prop_assert!(coarse.is_some(), "{}", ts);
        prop_assert!(counted, "{} -> {:?}", ts, coarse);
    }
}
