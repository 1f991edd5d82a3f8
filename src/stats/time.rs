//! Event time for statistics: parsing the time field of an anonymized record
//! (RFC 3339 text or an epoch number), parsing `window`-style durations, and
//! formatting window bounds as RFC 3339 UTC text.
//!
//! What a valid timestamp text is, and the calendar maths, belong to the
//! shared [`crate::time`] module (the one `coarsen_time` uses, so the
//! statistics accept every timestamp that action writes).

use super::spec::TimeFormat;

/// Earliest accepted event time: 0001-01-01T00:00:00Z, in epoch milliseconds.
pub(crate) const MIN_EVENT_MS: i64 = crate::time::MIN_MS;
/// Latest accepted event time: 9999-12-31T23:59:59.999Z, in epoch milliseconds.
pub(crate) const MAX_EVENT_MS: i64 = crate::time::MAX_MS;
/// Epoch numbers at or above this magnitude are milliseconds under
/// [`TimeFormat::Auto`]; below, seconds (1e11 s is the year 5138, 1e11 ms is 1973).
const AUTO_MS_THRESHOLD: f64 = 1e11;

/// Parses a duration such as `0s`, `30s`, `1m`, `2h`, `7d` into milliseconds.
/// Returns `None` for anything else (no sign, no fraction, no compound units).
/// The unit is the last *character*, so text ending in a multi-byte
/// character (`"ψ"`, `"5é"`) is refused, never split inside it.
pub(crate) fn parse_duration_ms(text: &str) -> Option<i64> {
    let (unit_at, unit) = text.char_indices().next_back()?;
    let digits = &text[..unit_at];
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    let unit_ms = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// Converts an epoch number to milliseconds according to `format`; `None` when
/// the format expects text or the result is outside the accepted range.
pub(crate) fn epoch_to_ms(value: f64, format: TimeFormat) -> Option<i64> {
    if !value.is_finite() {
        return None;
    }
    let ms = match format {
        TimeFormat::Rfc3339 => return None,
        TimeFormat::EpochS => value * 1000.0,
        TimeFormat::EpochMs => value,
        TimeFormat::Auto if value.abs() >= AUTO_MS_THRESHOLD => value,
        TimeFormat::Auto => value * 1000.0,
    }
    .floor();
    if ms < MIN_EVENT_MS as f64 || ms > MAX_EVENT_MS as f64 {
        return None;
    }
    Some(ms as i64)
}

/// Parses a timestamp text with a time and an offset
/// (`2024-05-14T08:17:00.123+08:00`) to epoch milliseconds: the forms of
/// [`crate::time`] (`T`, `t` or a space as separator; `Z`/`z`, `±HH:MM`,
/// `±HHMM` or `±HH` offset; any number of fraction digits after `.` or `,`,
/// milliseconds kept, the rest truncated); a leap second `:60` is read as `:59.999`.
pub(crate) fn parse_rfc3339_ms(text: &[u8]) -> Option<i64> {
    crate::time::rfc3339_to_epoch_ms(text)
}

/// Appends `ms` (floored to the second) as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn write_rfc3339_secs(ms: i64, out: &mut Vec<u8>) {
    crate::time::write_rfc3339_secs(ms, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(ms: i64) -> String {
        let mut out = Vec::new();
        write_rfc3339_secs(ms, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn parses_rfc3339_variants() {
        let base = 1_715_674_620_000; // 2024-05-14T08:17:00Z
        assert_eq!(parse_rfc3339_ms(b"2024-05-14T08:17:00Z"), Some(base));
        assert_eq!(parse_rfc3339_ms(b"2024-05-14T08:17:00.000Z"), Some(base));
        assert_eq!(parse_rfc3339_ms(b"2024-05-14t08:17:00.5z"), Some(base + 500));
        assert_eq!(parse_rfc3339_ms(b"2024-05-14 08:17:00.123456Z"), Some(base + 123));
        assert_eq!(parse_rfc3339_ms(b"2024-05-14T16:17:00+08:00"), Some(base));
        assert_eq!(parse_rfc3339_ms(b"2024-05-14T03:47:00-04:30"), Some(base));
        assert_eq!(parse_rfc3339_ms(b"2024-05-14T16:17:00+0800"), Some(base));
        assert_eq!(parse_rfc3339_ms(b"2024-05-14T16:17:00,5+08"), Some(base + 500));
        assert_eq!(parse_rfc3339_ms(b"2016-12-31T23:59:60Z"), Some(1_483_228_799_999));
        assert_eq!(parse_rfc3339_ms(b"1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_ms(b"1969-12-31T23:59:59Z"), Some(-1_000));
        assert_eq!(parse_rfc3339_ms(b"2024-02-29T00:00:00Z"), Some(1_709_164_800_000));
    }

    #[test]
    fn rejects_bad_rfc3339() {
        for bad in [
            &b""[..],
            b"2024-05-14",
            b"2024-05-14T08:17:00",
            b"2024-05-14T08:17:00.Z",
            b"2024-13-14T08:17:00Z",
            b"2023-02-29T08:17:00Z",
            b"2024-05-14T24:00:00Z",
            b"2024-05-14T08:60:00Z",
            b"2024-05-14T08:17:00Zjunk",
            b"0000-01-01T00:00:00Z",
            b"2024/05/14T08:17:00Z",
            b"2024-05-14T08:17:00+24:00",
            b"\xff\xfe24-05-14T08:17:00Z",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn epoch_numbers_follow_format() {
        assert_eq!(epoch_to_ms(1_715_674_620.0, TimeFormat::Auto), Some(1_715_674_620_000));
        assert_eq!(epoch_to_ms(1_715_674_620_123.0, TimeFormat::Auto), Some(1_715_674_620_123));
        assert_eq!(epoch_to_ms(1_715_674_620.25, TimeFormat::EpochS), Some(1_715_674_620_250));
        assert_eq!(epoch_to_ms(5.0, TimeFormat::EpochMs), Some(5));
        assert_eq!(epoch_to_ms(5.0, TimeFormat::Rfc3339), None);
        assert_eq!(epoch_to_ms(1e300, TimeFormat::Auto), None);
        assert_eq!(epoch_to_ms(f64::NAN, TimeFormat::Auto), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("0s"), Some(0));
        assert_eq!(parse_duration_ms("30s"), Some(30_000));
        assert_eq!(parse_duration_ms("1m"), Some(60_000));
        assert_eq!(parse_duration_ms("2h"), Some(7_200_000));
        assert_eq!(parse_duration_ms("1d"), Some(86_400_000));
        for bad in ["", "s", "1", "1ms", "-1s", "1.5m", " 1m", "1M", "9999999999999d"] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
        // Fuzzing reproducers (issue 15): a multi-byte last character used
        // to be split inside, which panicked.
        for bad in ["ψ", "5é", "é", "1\u{10FFFF}", "12\u{2003}"] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_and_round_trips() {
        assert_eq!(fmt(1_715_674_620_999), "2024-05-14T08:17:00Z");
        assert_eq!(fmt(-1), "1969-12-31T23:59:59Z");
        assert_eq!(fmt(MIN_EVENT_MS), "0001-01-01T00:00:00Z");
        assert_eq!(fmt(MAX_EVENT_MS), "9999-12-31T23:59:59Z");
        for ms in [0, 951_782_400_000, 4_107_542_400_000, -2_203_891_200_000] {
            assert_eq!(parse_rfc3339_ms(fmt(ms).as_bytes()), Some(ms));
        }
    }
}
