//! Tests of the shared timestamp module: known values, calendar edges, and a
//! differential property test against `jiff`'s parser as an independent oracle.

use super::*;
use jiff::civil;
use jiff::fmt::temporal::Pieces;
use proptest::prelude::*;

fn fmt_secs(ms: i64) -> String {
    let mut out = Vec::new();
    write_rfc3339_secs(ms, &mut out);
    String::from_utf8(out).unwrap()
}

fn fmt_millis(ms: i64) -> String {
    let mut out = Vec::new();
    write_rfc3339_millis(ms, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn accepts_rfc3339_and_the_iso_variants_of_logs() {
    let base = 1_715_674_620_000; // 2024-05-14T08:17:00Z
    for (text, ms) in [
        ("2024-05-14T08:17:00Z", base),
        ("2024-05-14T08:17:00.000Z", base),
        ("2024-05-14t08:17:00.5z", base + 500),
        ("2024-05-14 08:17:00.123456Z", base + 123),
        ("2024-05-14 08:17:00,123456789Z", base + 123),
        ("2024-05-14T16:17:00+08:00", base),
        ("2024-05-14T16:17:00+0800", base),
        ("2024-05-14T16:17:00+08", base),
        ("2024-05-14T03:47:00-04:30", base),
        ("2024-05-14T08:17:00-00:00", base),
        ("2016-12-31T23:59:60Z", 1_483_228_799_999),
        ("2016-12-31T23:59:60.25Z", 1_483_228_799_999),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59.999Z", -1),
        ("2000-03-01T00:00:00Z", 951_868_800_000),
        ("0001-01-01T00:00:00Z", MIN_MS),
        ("9999-12-31T23:59:59.999Z", MAX_MS),
        ("9999-12-31T23:59:59.999999+00:01", MAX_MS - 60_000),
    ] {
        assert_eq!(rfc3339_to_epoch_ms(text), Some(ms), "{text}");
    }
}

#[test]
fn without_time_or_offset_a_timestamp_is_valid_but_has_no_instant() {
    for text in ["2024-05-14", "2024-05-14T08:17:00", "2024-05-14 08:17:00,5"] {
        assert!(scan(text.as_bytes()).is_some(), "{text}");
        assert_eq!(rfc3339_to_epoch_ms(text), None, "{text}");
    }
}

#[test]
fn rejects_what_is_not_a_timestamp() {
    for bad in [
        &b""[..],
        b"2024",
        b"2024-05-14T",
        b"2024-05-14T08:17Z",
        b"2024-13-14T08:17:00Z",
        b"2023-02-29T08:17:00Z",
        b"1900-02-29",
        b"2024-04-31",
        b"2024-05-14T24:00:00Z",
        b"2024-05-14T08:60:00Z",
        b"2024-05-14T08:17:61Z",
        b"2024-05-14T08:17:00.Z",
        b"2024-05-14T08:17:00Zjunk",
        b"2024-05-14T08:17:00+24:00",
        b"2024-05-14T08:17:00+08:60",
        b"2024-05-14T08:17:00+080",
        b"2024-05-14T08:17:00+8",
        b"2024-05-14T08:17:00 +08:00",
        b"0000-01-01T00:00:00Z",
        b"0001-01-01T00:30:00+01:00",
        b"9999-12-31T23:30:00-01:00",
        b"2024/05/14T08:17:00Z",
        b"\xff\xfe24-05-14T08:17:00Z",
        "2024-05-14T08:17:4２Z".as_bytes(),
    ] {
        assert_eq!(scan(bad), None, "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn scan_reports_field_positions() {
    let s = scan(b"2024-05-14 08:17:42,1234-0530").unwrap();
    assert_eq!((s.year, s.month, s.day), (2024, 5, 14));
    let t = s.time.unwrap();
    assert_eq!((t.hour, t.minute, t.second, t.millis), (8, 17, 42, 123));
    assert_eq!((t.fraction_end, t.offset_minutes), (24, Some(-330)));
    let s = scan(b"2024-05-14T08:17:42").unwrap().time.unwrap();
    assert_eq!((s.fraction_end, s.offset_minutes), (FRACTION_AT, None));
}

#[test]
fn calendar_counts_every_day_and_inverts() {
    let mut expected = days_from_civil(1, 1, 1);
    assert_eq!(expected, -719_162);
    for year in 1..=9999u32 {
        assert_eq!(is_leap_year(year), days_in_month(year, 2) == 29);
        for month in 1..=12 {
            for day in 1..=days_in_month(year, month) {
                assert!(is_valid_date(year, month, day));
                assert_eq!(days_from_civil(i64::from(year), month, day), expected);
                assert_eq!(civil_from_days(expected), (i64::from(year), month, day));
                expected += 1;
            }
            assert!(!is_valid_date(year, month, days_in_month(year, month) + 1));
        }
    }
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert!(!is_valid_date(0, 1, 1) && !is_valid_date(10_000, 1, 1) && !is_valid_date(2024, 13, 1));
}

#[test]
fn formats_utc_and_round_trips() {
    assert_eq!(fmt_secs(1_715_674_620_999), "2024-05-14T08:17:00Z");
    assert_eq!(fmt_millis(1_715_674_620_999), "2024-05-14T08:17:00.999Z");
    assert_eq!(fmt_secs(-1), "1969-12-31T23:59:59Z");
    assert_eq!(fmt_millis(-1), "1969-12-31T23:59:59.999Z");
    assert_eq!(fmt_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(fmt_millis(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
    assert_eq!(fmt_secs(MIN_MS), "0001-01-01T00:00:00Z");
    assert_eq!(fmt_secs(MAX_MS), "9999-12-31T23:59:59Z");
    assert_eq!(fmt_secs(i64::MIN), "0001-01-01T00:00:00Z", "clamped");
    assert_eq!(fmt_millis(i64::MAX), "9999-12-31T23:59:59.999Z", "clamped");
    for ms in [0, 951_782_400_123, 4_107_542_400_000, -2_203_891_200_001, MIN_MS, MAX_MS] {
        assert_eq!(rfc3339_to_epoch_ms(fmt_millis(ms)), Some(ms));
        assert_eq!(rfc3339_to_epoch_ms(fmt_secs(ms)), Some(ms.div_euclid(1_000) * 1_000));
    }
}

/// What `jiff` makes of `text`: `Some(instant)` (`None` inside when it has no
/// offset) when it parses and is within the range of this module, else `None`.
///
/// The only places where this module is stricter than `jiff` by design are
/// encoded here: offsets are below 24 hours (RFC 3339), years are 0001–9999, and
/// the instant must lie in `MIN_MS..=MAX_MS`; fractions may have more than
/// jiff's 9 digits (the rest is truncated). `jiff` reads a leap second as
/// `:59` with its fraction; this module as `:59.999`.
fn oracle(text: &str) -> Option<Option<i64>> {
    let mut text = text.to_owned();
    if matches!(text.as_bytes().get(FRACTION_AT), Some(b'.' | b',')) {
        let digits = text[FRACTION_AT + 1..].bytes().take_while(u8::is_ascii_digit).count();
        let keep = FRACTION_AT + 1 + digits.min(9);
        text.replace_range(keep..FRACTION_AT + 1 + digits, "");
    }
    let text = text.as_str();
    let pieces = Pieces::parse(text).ok()?;
    let date = pieces.date();
    let offset_seconds = pieces.offset().map_or(0, |o| o.to_numeric_offset().seconds());
    if date.year() < 1 || offset_seconds.abs() >= 24 * 3_600 {
        return None;
    }
    let Some(time) = pieces.time() else {
        return Some(None);
    };
    if pieces.offset().is_none() {
        return Some(None);
    }
    let leap = text.as_bytes().get(17..19) == Some(b"60");
    let local = civil::DateTime::from_parts(date, time);
    let since = local.duration_since(civil::date(1970, 1, 1).at(0, 0, 0, 0));
    let mut ms = i64::try_from(since.as_nanos().div_euclid(1_000_000)).ok()?;
    if leap {
        ms = ms.div_euclid(1_000) * 1_000 + 999;
    }
    ms -= i64::from(offset_seconds) * 1_000;
    (MIN_MS..=MAX_MS).contains(&ms).then_some(Some(ms))
}

/// Timestamp-shaped text with every field drawn a little wider than valid.
fn near_timestamps() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(0u32), Just(1), Just(1970), Just(9999), 0u32..=9999],
        0u32..=13,
        0u32..=32,
        0u32..=24,
        0u32..=60,
        0u32..=61,
        prop::sample::select(vec!['T', 't', ' ']),
        prop::option::of(("[.,]", "[0-9]{1,9}")),
        prop::option::of((0u32..=24, 0u32..=60, 0usize..6)),
        any::<bool>(),
    )
        .prop_map(|(y, mo, d, h, mi, s, sep, frac, offset, date_only)| {
            if date_only {
                return format!("{y:04}-{mo:02}-{d:02}");
            }
            let frac = frac.map(|(dot, digits)| format!("{dot}{digits}")).unwrap_or_default();
            let off = match offset {
                None => String::new(),
                Some((_, _, 0)) => "Z".to_string(),
                Some((_, _, 1)) => "z".to_string(),
                Some((oh, om, 2)) => format!("+{oh:02}:{om:02}"),
                Some((oh, om, 3)) => format!("-{oh:02}{om:02}"),
                Some((oh, _, 4)) => format!("+{oh:02}"),
                Some((oh, om, _)) => format!("-{oh:02}:{om:02}"),
            };
            format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{frac}{off}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_096))]

    #[test]
    fn agrees_with_jiff(text in near_timestamps()) {
        let ours = scan(text.as_bytes()).map(|s| s.epoch_ms());
        prop_assert_eq!(ours, oracle(&text), "{}", text);
    }

    #[test]
    fn whatever_it_accepts_jiff_accepts_alike(
        text in near_timestamps(),
        at in 0usize..40,
        byte in prop::sample::select(b"0123456789-:T .,+Zz\xc3".to_vec()),
        cut in any::<bool>(),
    ) {
        // One byte replaced, or the text cut short: mostly invalid.
        let mut bytes = text.into_bytes();
        if cut {
            bytes.truncate(at);
        } else if let Some(b) = bytes.get_mut(at) {
            *b = byte;
        }
        if let Some(scanned) = scan(&bytes) {
            let text = std::str::from_utf8(&bytes).unwrap();
            prop_assert_eq!(Some(scanned.epoch_ms()), oracle(text), "{}", text);
        }
    }

    #[test]
    fn formatted_instants_scan_back(ms in MIN_MS..=MAX_MS) {
        prop_assert_eq!(rfc3339_to_epoch_ms(fmt_millis(ms)), Some(ms));
        let jiff_text = jiff::Timestamp::from_millisecond(ms).map(|t| t.to_string());
        if let Ok(expected) = jiff_text {
            // jiff prints as few fraction digits as needed; compare instants.
            prop_assert_eq!(rfc3339_to_epoch_ms(&expected), Some(ms), "{}", expected);
            prop_assert_eq!(&fmt_secs(ms)[..19], &expected[..19]);
        }
    }
}

#[test]
fn wall_clock_is_epoch_milliseconds() {
    let ms = super::now_ms();
    // 2020-01-01T00:00:00Z and 9999-12-31, independent constants.
    assert!(ms > 1_577_836_800_000 && ms < MAX_MS, "{ms}");
}
