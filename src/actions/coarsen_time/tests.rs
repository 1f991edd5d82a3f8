//! Unit tests of `coarsen_time`: formats kept, validation, epoch units, the action.

use super::*;
// The statistics' event-time parser is this shared one (`stats::time`
// delegates to it); `tests/time.rs` checks the same through the engine.
use crate::time::{days_in_month, rfc3339_to_epoch_ms as parse_rfc3339_ms};
use proptest::prelude::*;
use serde::de::value::{Error as DeError, StrDeserializer};

fn coarsen(text: &str, unit: TimeUnit) -> Option<String> {
    let mut out = String::new();
    coarsen_rfc3339(text, unit, &mut out).then_some(out)
}

#[test]
fn truncates_each_unit_keeping_format() {
    let ts = "2024-05-14T08:17:42.123Z";
    assert_eq!(coarsen(ts, TimeUnit::Second).as_deref(), Some("2024-05-14T08:17:42.000Z"));
    assert_eq!(coarsen(ts, TimeUnit::Minute).as_deref(), Some("2024-05-14T08:17:00.000Z"));
    assert_eq!(coarsen(ts, TimeUnit::Hour).as_deref(), Some("2024-05-14T08:00:00.000Z"));
    assert_eq!(coarsen(ts, TimeUnit::Day).as_deref(), Some("2024-05-14T00:00:00.000Z"));
}

#[test]
fn keeps_separator_fraction_width_and_offset() {
    let cases = [
        ("2024-05-14t08:17:42z", "2024-05-14t08:17:00z"),
        ("2024-05-14 08:17:42", "2024-05-14 08:17:00"),
        ("2024-05-14T08:17:42.5+02:00", "2024-05-14T08:17:00.0+02:00"),
        ("2024-05-14T08:17:42.123456-0530", "2024-05-14T08:17:00.000000-0530"),
        ("2024-05-14T08:17:42.123456789+05", "2024-05-14T08:17:00.000000000+05"),
        ("2024-05-14 08:17:42,123", "2024-05-14 08:17:00,000"),
        ("2024-05-14T23:59:59-00:00", "2024-05-14T23:59:00-00:00"),
    ];
    for (input, expected) in cases {
        assert_eq!(coarsen(input, TimeUnit::Minute).as_deref(), Some(expected), "{input}");
    }
}

#[test]
fn truncation_is_in_written_local_time() {
    // 23:30 at -05:00 is the next day in UTC; the day stays as written.
    assert_eq!(
        coarsen("2024-05-14T23:30:00-05:00", TimeUnit::Day).as_deref(),
        Some("2024-05-14T00:00:00-05:00")
    );
}

#[test]
fn leap_second_becomes_zero_when_seconds_are_truncated() {
    assert_eq!(
        coarsen("2016-12-31T23:59:60Z", TimeUnit::Minute).as_deref(),
        Some("2016-12-31T23:59:00Z")
    );
    assert_eq!(
        coarsen("2016-12-31T23:59:60.5Z", TimeUnit::Second).as_deref(),
        Some("2016-12-31T23:59:60.0Z")
    );
}

#[test]
fn leap_years_and_days_per_month() {
    assert!(coarsen("2024-02-29T12:00:00Z", TimeUnit::Hour).is_some());
    assert!(coarsen("2000-02-29T12:00:00Z", TimeUnit::Hour).is_some());
    assert!(coarsen("2023-02-29T12:00:00Z", TimeUnit::Hour).is_none());
    assert!(coarsen("1900-02-29T12:00:00Z", TimeUnit::Hour).is_none());
    assert!(coarsen("2023-02-28T12:00:00Z", TimeUnit::Hour).is_some());
    assert!(coarsen("2024-04-31T12:00:00Z", TimeUnit::Hour).is_none());
    assert!(coarsen("2024-12-31T12:00:00Z", TimeUnit::Hour).is_some());
    assert!(coarsen("2024-12-32T12:00:00Z", TimeUnit::Hour).is_none());
    assert!(coarsen("2023-02-29", TimeUnit::Day).is_none());
}

#[test]
fn rejects_invalid_text_and_appends_nothing() {
    let bad = [
        "",
        "2024",
        "2024-05-14T",
        "2024-5-14T08:17:42Z",
        "2024/05/14T08:17:42Z",
        "2024-00-14T08:17:42Z",
        "2024-13-14T08:17:42Z",
        "2024-05-00T08:17:42Z",
        "2024-05-14X08:17:42Z",
        "2024-05-14T24:00:00Z",
        "2024-05-14T08:60:00Z",
        "2024-05-14T08:17:61Z",
        "2024-05-14T08:17Z",
        "2024-05-14T08-17-42Z",
        "2024-05-14T08:17:42.Z",
        "2024-05-14T08:17:42.12a",
        "2024-05-14T08:17:42ZZ",
        "2024-05-14T08:17:42Z ",
        " 2024-05-14T08:17:42Z",
        "2024-05-14T08:17:42+24:00",
        "2024-05-14T08:17:42+02:60",
        "2024-05-14T08:17:42+2:00",
        "2024-05-14T08:17:42+02:0",
        "2024-05-14T08:17:42+020",
        "2024-05-14T08:17:42+02-00",
        "2024-05-14T08:17:42 +02:00",
        "２０２４-05-14T08:17:42Z",
        "2024-05-14T08:17:4２Z",
        "2024-05-14T08:17:42.1\u{e9}",
        "+2024-05-14T08:17:42Z",
        "0000-05-14T08:17:42Z",
        "0001-01-01T00:30:00+01:00",
        "9999-12-31T23:30:00-01:00",
    ];
    for text in bad {
        let mut out = String::from("prefix");
        for unit in [TimeUnit::Second, TimeUnit::Minute, TimeUnit::Hour, TimeUnit::Day] {
            assert!(!coarsen_rfc3339(text, unit, &mut out), "{text:?}");
        }
        assert_eq!(out, "prefix");
    }
}

#[test]
fn refuses_a_truncation_before_the_earliest_instant() {
    // 05:00 at +01:00 on 0001-01-01 is 04:00 UTC, but its day start is in year 0.
    let text = "0001-01-01T05:00:00+01:00";
    assert!(coarsen(text, TimeUnit::Hour).is_some());
    let mut out = String::from("kept");
    assert!(!coarsen_rfc3339(text, TimeUnit::Day, &mut out));
    assert_eq!(out, "kept");
    assert!(coarsen("0001-01-01T05:00:00-01:00", TimeUnit::Day).is_some());
    assert!(coarsen("0001-01-01T05:00:00", TimeUnit::Day).is_some());
}

#[test]
fn statistics_accept_what_coarsen_time_writes() {
    // These forms used to be rewritten here and then refused by the statistics.
    for (input, expected) in [
        ("2024-05-14 08:17:42,123Z", 1_715_674_620_000),
        ("2024-05-14T16:17:42+0800", 1_715_674_620_000),
        ("2024-05-14T16:17:42.5+08", 1_715_674_620_000),
        ("2016-12-31T23:59:60.5z", 1_483_228_740_000),
    ] {
        let out = coarsen(input, TimeUnit::Minute).unwrap();
        assert_eq!(parse_rfc3339_ms(out.as_bytes()), Some(expected), "{input}");
    }
}

#[test]
fn date_only_is_passed_through() {
    for unit in [TimeUnit::Day, TimeUnit::Minute] {
        assert_eq!(coarsen("2024-05-14", unit).as_deref(), Some("2024-05-14"));
    }
}

#[test]
fn appends_to_existing_output() {
    let mut out = String::from("x=");
    assert!(coarsen_rfc3339("2024-05-14T08:17:42Z", TimeUnit::Hour, &mut out));
    assert_eq!(out, "x=2024-05-14T08:00:00Z");
}

#[test]
fn epoch_ms_known_values() {
    assert_eq!(rfc3339_to_epoch_ms("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(rfc3339_to_epoch_ms("2024-05-14T08:17:42.123Z"), Some(1_715_674_662_123));
    assert_eq!(rfc3339_to_epoch_ms("2024-05-14T10:17:42.123456+02:00"), Some(1_715_674_662_123));
    assert_eq!(rfc3339_to_epoch_ms("2024-05-14 02:47:42.1-0530"), Some(1_715_674_662_100));
    assert_eq!(rfc3339_to_epoch_ms("1969-12-31T23:59:59.999Z"), Some(-1));
    assert_eq!(rfc3339_to_epoch_ms("2000-03-01T00:00:00Z"), Some(951_868_800_000));
    assert_eq!(rfc3339_to_epoch_ms("0001-01-01T00:00:00Z"), Some(-62_135_596_800_000));
    assert_eq!(rfc3339_to_epoch_ms("9999-12-31T23:59:59.999Z"), Some(253_402_300_799_999));
    // A leap second is the last millisecond of its minute.
    assert_eq!(rfc3339_to_epoch_ms("2016-12-31T23:59:60Z"), Some(1_483_228_799_999));
}

#[test]
fn epoch_ms_needs_time_and_offset() {
    assert_eq!(rfc3339_to_epoch_ms("2024-05-14"), None);
    assert_eq!(rfc3339_to_epoch_ms("2024-05-14T08:17:42"), None);
    assert_eq!(rfc3339_to_epoch_ms("2023-02-29T08:17:42Z"), None);
    assert_eq!(rfc3339_to_epoch_ms("not a time"), None);
}

#[test]
fn epoch_seconds_and_millis() {
    let s = 1_715_674_662;
    assert_eq!(coarsen_epoch_i64(s, TimeUnit::Second), s);
    assert_eq!(coarsen_epoch_i64(s, TimeUnit::Minute), 1_715_674_620);
    assert_eq!(coarsen_epoch_i64(s, TimeUnit::Hour), 1_715_673_600);
    assert_eq!(coarsen_epoch_i64(s, TimeUnit::Day), 1_715_644_800);
    let ms = 1_715_674_662_123;
    assert_eq!(coarsen_epoch_i64(ms, TimeUnit::Second), 1_715_674_662_000);
    assert_eq!(coarsen_epoch_i64(ms, TimeUnit::Minute), 1_715_674_620_000);
    assert_eq!(coarsen_epoch_i64(ms, TimeUnit::Day), 1_715_644_800_000);
    let us = 1_715_674_662_123_456;
    assert_eq!(coarsen_epoch_i64(us, TimeUnit::Minute), 1_715_674_620_000_000);
    let ns = 1_715_674_662_123_456_789;
    assert_eq!(coarsen_epoch_i64(ns, TimeUnit::Second), 1_715_674_662_000_000_000);
    // Thresholds: just below 1e11 is seconds, 1e11 is milliseconds.
    assert_eq!(coarsen_epoch_i64(99_999_999_999, TimeUnit::Minute), 99_999_999_960);
    assert_eq!(coarsen_epoch_i64(100_000_000_001, TimeUnit::Minute), 99_999_960_000);
}

#[test]
fn epoch_negative_values_floor() {
    assert_eq!(coarsen_epoch_i64(-1, TimeUnit::Minute), -60);
    assert_eq!(coarsen_epoch_i64(-60, TimeUnit::Minute), -60);
    assert_eq!(coarsen_epoch_i64(-61, TimeUnit::Minute), -120);
    assert_eq!(coarsen_epoch_i64(-1, TimeUnit::Day), -86_400);
    assert_eq!(coarsen_epoch_i64(-100_000_000_001, TimeUnit::Minute), -100_000_020_000);
    assert_eq!(coarsen_epoch_i64(0, TimeUnit::Day), 0);
}

#[test]
fn epoch_extremes_do_not_panic() {
    for unit in [TimeUnit::Second, TimeUnit::Minute, TimeUnit::Hour, TimeUnit::Day] {
        let max = coarsen_epoch_i64(i64::MAX, unit);
        assert!(i64::MAX - max < unit.seconds() * 1_000_000_000);
        let min = coarsen_epoch_i64(i64::MIN, unit);
        assert!(min - i64::MIN < unit.seconds() * 1_000_000_000);
    }
    assert_eq!(coarsen_epoch_i64(i64::MIN, TimeUnit::Second), -9_223_372_036_000_000_000);
}

#[test]
fn epoch_f64() {
    assert_eq!(coarsen_epoch_f64(1_715_674_662.789, TimeUnit::Second), Some(1_715_674_662.0));
    assert_eq!(coarsen_epoch_f64(1_715_674_662.789, TimeUnit::Minute), Some(1_715_674_620.0));
    assert_eq!(coarsen_epoch_f64(1_715_674_662_123.9, TimeUnit::Second), Some(1_715_674_662_000.0));
    assert_eq!(coarsen_epoch_f64(-0.5, TimeUnit::Second), Some(-1.0));
    assert_eq!(coarsen_epoch_f64(-0.5, TimeUnit::Hour), Some(-3_600.0));
    assert_eq!(coarsen_epoch_f64(f64::NAN, TimeUnit::Minute), None);
    assert_eq!(coarsen_epoch_f64(f64::INFINITY, TimeUnit::Minute), None);
    assert_eq!(coarsen_epoch_f64(f64::NEG_INFINITY, TimeUnit::Minute), None);
    assert_eq!(coarsen_epoch_f64(1e19, TimeUnit::Minute), None);
    assert_eq!(coarsen_epoch_f64(-1e19, TimeUnit::Minute), None);
    assert!(coarsen_epoch_f64(9.1e18, TimeUnit::Day).is_some());
}

#[test]
fn unit_deserializes_from_snake_case() {
    let unit = TimeUnit::deserialize(StrDeserializer::<DeError>::new("minute"));
    assert_eq!(unit, Ok(TimeUnit::Minute));
    let unit = TimeUnit::deserialize(StrDeserializer::<DeError>::new("Minute"));
    assert!(unit.is_err());
}

fn units() -> impl Strategy<Value = TimeUnit> {
    prop_oneof![
        Just(TimeUnit::Second),
        Just(TimeUnit::Minute),
        Just(TimeUnit::Hour),
        Just(TimeUnit::Day),
    ]
}

prop_compose! {
    fn timestamps()(
        year in 1u32..=9999,
        month in 1u32..=12,
        day_seed in 0u32..31,
        hour in 0u32..24,
        minute in 0u32..60,
        second in 0u32..=60,
        sep in prop::sample::select(vec!['T', 't', ' ']),
        fraction in prop::option::of("[0-9]{1,9}"),
        offset in prop::sample::select(vec!["Z", "z", "+02:00", "-05:30", "+0100", "-08", "+00:00"]),
    ) -> String {
        let day = day_seed % days_in_month(year, month) + 1;
        let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
        format!("{year:04}-{month:02}-{day:02}{sep}{hour:02}:{minute:02}:{second:02}{fraction}{offset}")
    }
}

/// Near-timestamps: every field drawn from a range a little wider than
/// valid, including the edges of the calendar and of the instant range.
fn timestamp_like() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(0u32), Just(1), Just(9999), 0u32..=9999],
        0u32..=13,
        0u32..=32,
        0u32..=24,
        prop::sample::select(vec![0u32, 30, 59, 60]),
        prop::sample::select(vec![0u32, 59, 60, 61]),
        prop::sample::select(vec!["", ".5", ",123456", "."]),
        prop::sample::select(vec!["", "Z", "+01:00", "-01:00", "+2359", "-23", "+24:00"]),
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, off)| {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{off}")
        })
}

proptest! {
    #[test]
    fn coarsened_text_is_not_later_and_idempotent(ts in timestamps(), unit in units()) {
        let once = coarsen(&ts, unit).unwrap();
        prop_assert_eq!(once.len(), ts.len());
        let before = rfc3339_to_epoch_ms(&ts).unwrap();
        let after = rfc3339_to_epoch_ms(&once).unwrap();
        prop_assert!(after <= before);
        prop_assert!(before - after < unit.seconds() * 1_000 + 1_000); // +1 s for a leap second
        prop_assert_eq!(coarsen(&once, unit).unwrap(), once);
    }

    #[test]
    fn coarser_units_are_not_later(ts in timestamps()) {
        let ms = |unit| rfc3339_to_epoch_ms(coarsen(&ts, unit).unwrap()).unwrap();
        prop_assert!(ms(TimeUnit::Day) <= ms(TimeUnit::Hour));
        prop_assert!(ms(TimeUnit::Hour) <= ms(TimeUnit::Minute));
        prop_assert!(ms(TimeUnit::Minute) <= ms(TimeUnit::Second));
    }

    #[test]
    fn coarsened_text_is_accepted_by_the_statistics(ts in timestamps(), unit in units()) {
        let once = coarsen(&ts, unit).unwrap();
        let before = parse_rfc3339_ms(ts.as_bytes());
        prop_assert!(before.is_some(), "{}", ts);
        let after = parse_rfc3339_ms(once.as_bytes());
        prop_assert!(after.is_some_and(|a| a <= before.unwrap_or(i64::MIN)), "{}", once);
    }

    #[test]
    fn whatever_is_coarsened_with_an_offset_stays_valid(text in timestamp_like(), unit in units()) {
        let mut out = String::new();
        if coarsen_rfc3339(&text, unit, &mut out) {
            prop_assert!(crate::time::scan(out.as_bytes()).is_some(), "{}", out);
            prop_assert_eq!(
                parse_rfc3339_ms(text.as_bytes()).is_some(),
                parse_rfc3339_ms(out.as_bytes()).is_some(),
                "{} -> {}", text, out
            );
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,40}", unit in units()) {
        let mut out = String::new();
        if !coarsen_rfc3339(&text, unit, &mut out) {
            prop_assert!(out.is_empty());
        }
        let _ = rfc3339_to_epoch_ms(&text);
    }

    #[test]
    fn epoch_i64_floors_and_is_idempotent(
        v in prop_oneof![
            -90_000_000_000i64..90_000_000_000,
            1_000_000_000_000i64..10_000_000_000_000,
            -10_000_000_000_000i64..-1_000_000_000_000,
            1_000_000_000_000_000i64..2_000_000_000_000_000_000,
        ],
        unit in units(),
    ) {
        let c = coarsen_epoch_i64(v, unit);
        let step = unit.seconds() * ticks_per_second(v.unsigned_abs());
        prop_assert!(c <= v);
        prop_assert!(v - c < step);
        prop_assert_eq!(c.rem_euclid(step), 0);
        prop_assert_eq!(coarsen_epoch_i64(c, unit), c);
    }

    #[test]
    fn epoch_f64_floors(v in -9.0e10f64..9.0e10, unit in units()) {
        let c = coarsen_epoch_f64(v, unit).unwrap();
        prop_assert!(c <= v);
        prop_assert!(v - c < unit.seconds() as f64);
        prop_assert_eq!(c.fract(), 0.0);
        prop_assert_eq!(coarsen_epoch_f64(c, unit), Some(c));
    }
}
use crate::actions::action::testing;

#[test]
fn action_config_apply_and_explain() {
    let c: CoarsenTimeConfig = toml::from_str("to = \"minute\"").unwrap();
    assert_eq!(c.explain(), "time coarsened to the minute");
    assert!(toml::from_str::<CoarsenTimeConfig>("").unwrap_err().message().contains("to"));
    assert!(toml::from_str::<CoarsenTimeConfig>("to = \"week\"").is_err());
    let a = c.compile(&KeyStore::default()).unwrap();
    let text = testing::apply_str(&a, "2024-05-14T08:17:42.123Z");
    assert_eq!(text.as_deref(), Some("\"2024-05-14T08:17:00.000Z\""));
    // 2024-05-14T08:17:42Z as epoch seconds, then as text.
    assert_eq!(testing::apply_str(&a, "1715674662").as_deref(), Some("\"1715674620\""));
    assert_eq!(testing::apply_str(&a, "yesterday"), None);
    assert_eq!(testing::apply_str(&a, "17156746620000000000"), None);
    let n = testing::apply_number(&a, Number::Int(1_715_674_662_789, "1715674662789"));
    assert_eq!(n.as_deref(), Some("1715674620000"));
    assert_eq!(testing::apply_number(&a, Number::BigInt("18446744073709551615")), None);
    assert_eq!(
        testing::apply_number(&a, Number::Float(1715674662.5)).as_deref(),
        Some("1715674620.0")
    );
    assert_eq!(testing::apply_number(&a, Number::Float(1e19)), None);
}
