//! Event time for statistics: parsing the time field of an anonymized record
//! (RFC 3339 text or an epoch number), parsing `window`-style durations, and
//! formatting window bounds as RFC 3339 UTC text.
//!
//! Hand-written (no chrono) because the hot path only needs a strict,
//! allocation-free scan, and window bounds are always whole seconds in UTC.

use super::spec::TimeFormat;

/// Earliest accepted event time: 0001-01-01T00:00:00Z, in epoch milliseconds.
pub(crate) const MIN_EVENT_MS: i64 = -62_135_596_800_000;
/// Latest accepted event time: 9999-12-31T23:59:59.999Z, in epoch milliseconds.
pub(crate) const MAX_EVENT_MS: i64 = 253_402_300_799_999;
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

/// Parses RFC 3339 date-time text (`2024-05-14T08:17:00.123+08:00`) to epoch
/// milliseconds. Accepts `T`, `t` or a space as separator, `Z`/`z` or a
/// `±HH:MM` offset, any number of fraction digits (milliseconds kept,
/// the rest truncated); a leap second `:60` is read as `:59.999`.
pub(crate) fn parse_rfc3339_ms(text: &[u8]) -> Option<i64> {
    if text.len() < 20 {
        return None;
    }
    let year = digits(text, 0, 4)?;
    let month = digits(text, 5, 2)?;
    let day = digits(text, 8, 2)?;
    let hour = digits(text, 11, 2)?;
    let minute = digits(text, 14, 2)?;
    let second = digits(text, 17, 2)?;
    if text[4] != b'-'
        || text[7] != b'-'
        || !matches!(text[10], b'T' | b't' | b' ')
        || text[13] != b':'
        || text[16] != b':'
    {
        return None;
    }
    if year == 0
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut pos = 19;
    let mut millis = 0;
    if text[pos] == b'.' {
        pos += 1;
        let start = pos;
        while pos < text.len() && text[pos].is_ascii_digit() {
            if pos - start < 3 {
                millis = millis * 10 + i64::from(text[pos] - b'0');
            }
            pos += 1;
        }
        let n = pos - start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let offset_min = match text.get(pos..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest[2] == b':' => {
            let oh = digits(rest, 0, 2)?;
            let om = digits(rest, 3, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let total = oh * 60 + om;
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    if second == 60 {
        millis = 999;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second.min(59) - offset_min * 60;
    let ms = secs * 1_000 + millis;
    (MIN_EVENT_MS..=MAX_EVENT_MS).contains(&ms).then_some(ms)
}

/// Appends `ms` (floored to the second) as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn write_rfc3339_secs(ms: i64, out: &mut Vec<u8>) {
    let secs = ms.div_euclid(1_000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let fields = [
        (year, 4, b'-'),
        (month, 2, b'-'),
        (day, 2, b'T'),
        (sod / 3_600, 2, b':'),
        (sod % 3_600 / 60, 2, b':'),
        (sod % 60, 2, b'Z'),
    ];
    for (value, width, sep) in fields {
        let value = value.clamp(0, 9_999);
        let mut div = 10_i64.pow(width - 1);
        while div > 0 {
            out.push(b'0' + (value / div % 10) as u8);
            div /= 10;
        }
        out.push(sep);
    }
}

fn digits(text: &[u8], at: usize, n: usize) -> Option<i64> {
    let slice = text.get(at..at + n)?;
    slice
        .iter()
        .try_fold(0_i64, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0')))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
            b"2024-05-14T08:17:00+0800",
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
