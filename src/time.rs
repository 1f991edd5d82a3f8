//! Timestamps: the one definition of a valid timestamp text, its conversion
//! to an instant, formatting instants back as RFC 3339 UTC, and the calendar
//! maths behind them.
//!
//! Every part of logveil that reads a timestamp goes through [`scan`] —
//! `coarsen_time` (which rewrites the text in place, keeping its format), the
//! statistics' event time, key-ring validity dates — so a timestamp that one
//! part accepts, every other part accepts too. The accepted text is
//! RFC 3339 plus the ISO 8601 variants common in logs:
//!
//! `YYYY-MM-DD[(T|t| )HH:MM:SS[(.|,)F+][Z|z|±HH|±HHMM|±HH:MM]]`
//!
//! with every field range-checked (days per month, leap years, hours 00–23,
//! a leap second `:60`, offset hours 00–23), a date between 0001-01-01 and
//! 9999-12-31 and, when an offset is written, an instant between
//! [`MIN_MS`] and [`MAX_MS`]. A value without an offset (a date alone, a
//! local time) is a valid timestamp but has no instant.
//!
//! Hand-written rather than on a time crate because `coarsen_time` needs the
//! byte positions of the fields to rewrite them without allocating and
//! because the scan is on the per-record path: `benches/time.rs` measures it
//! against `jiff` in the same run (figures in `benches/PROFILE.md`), and a
//! property test checks it against `jiff` as an independent oracle.

/// Earliest instant a timestamp may denote: 0001-01-01T00:00:00Z, in epoch milliseconds.
pub const MIN_MS: i64 = -62_135_596_800_000;
/// Latest instant a timestamp may denote: 9999-12-31T23:59:59.999Z, in epoch milliseconds.
pub const MAX_MS: i64 = 253_402_300_799_999;

/// Byte index of the fraction separator (`.` or `,`) right after `HH:MM:SS`.
pub const FRACTION_AT: usize = 19;

/// A valid timestamp text, as found by [`scan`]. Every field is range-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scanned {
    /// 1..=9999.
    pub year: u32,
    /// 1..=12.
    pub month: u32,
    /// 1..=[`days_in_month`].
    pub day: u32,
    /// `None` for a date-only value (`2024-05-14`).
    pub time: Option<TimeOfDay>,
}

/// The time-of-day part of a valid timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOfDay {
    /// 0..=23.
    pub hour: u32,
    /// 0..=59.
    pub minute: u32,
    /// 0..=60 (60 is a leap second).
    pub second: u32,
    /// The fraction truncated to milliseconds (0..=999).
    pub millis: u32,
    /// Byte index just past the fraction digits ([`FRACTION_AT`] without a fraction).
    pub fraction_end: usize,
    /// Offset from UTC in minutes (−1439..=1439); `None` when no offset is written.
    pub offset_minutes: Option<i32>,
}

/// Whether `year` is a leap year of the proleptic Gregorian calendar.
pub fn is_leap_year(year: u32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1..=12) of `year`; 0 for a month out of range.
pub fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        _ => 0,
    }
}

/// Whether `year-month-day` is a real date between 0001-01-01 and 9999-12-31.
pub fn is_valid_date(year: u32, month: u32, day: u32) -> bool {
    (1..=9999).contains(&year) && day >= 1 && day <= days_in_month(year, month)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = i64::from((month + 9) % 12); // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian `(year, month, day)` of a day count since
/// 1970-01-01; the inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // March = 0, in 0..=11
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1; // in 1..=31
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are small and positive by construction (see the ranges above).
    (year, month as u32, day as u32)
}

/// Parses `len` ASCII digits at `at`.
fn digits(b: &[u8], at: usize, len: usize) -> Option<u32> {
    let field = b.get(at..at + len)?;
    field
        .iter()
        .try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

/// Parses what follows the time: nothing, `Z`/`z`, or `±HH`, `±HHMM`, `±HH:MM`.
/// Returns `Some(None)` for no offset, `None` for anything invalid.
fn scan_offset(rest: &[u8]) -> Option<Option<i32>> {
    let (sign, tail) = match rest {
        [] => return Some(None),
        [b'Z' | b'z'] => return Some(Some(0)),
        [b'+', tail @ ..] => (1, tail),
        [b'-', tail @ ..] => (-1, tail),
        _ => return None,
    };
    let (hours, minutes) = match tail.len() {
        2 => (digits(tail, 0, 2)?, 0),
        4 => (digits(tail, 0, 2)?, digits(tail, 2, 2)?),
        5 if tail[2] == b':' => (digits(tail, 0, 2)?, digits(tail, 3, 2)?),
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    // Both are at most two digits, so the conversion cannot fail.
    let total = i32::try_from(hours * 60 + minutes).ok()?;
    Some(Some(sign * total))
}

/// Validates a timestamp text (see the module note for the grammar) and
/// returns its fields; `None` when it is not a valid timestamp.
///
/// On success the whole text is ASCII, so byte positions are char boundaries.
#[inline]
pub fn scan(text: &[u8]) -> Option<Scanned> {
    let b = text;
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    if b[4] != b'-' || b[7] != b'-' || !is_valid_date(year, month, day) {
        return None;
    }
    if b.len() == 10 {
        return Some(Scanned { year, month, day, time: None });
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b[13] != b':' || b[16] != b':' || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = FRACTION_AT;
    let mut millis = 0;
    if matches!(b.get(i), Some(b'.' | b',')) {
        i += 1;
        let start = i;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if i - start < 3 {
                millis = millis * 10 + u32::from(c - b'0');
            }
            i += 1;
        }
        let count = i - start;
        if count == 0 {
            return None;
        }
        for _ in count..3 {
            millis *= 10;
        }
    }
    let offset_minutes = scan_offset(&b[i..])?;
    let time = TimeOfDay { hour, minute, second, millis, fraction_end: i, offset_minutes };
    let scanned = Scanned { year, month, day, time: Some(time) };
    // Only a date at either end of the range can have an instant outside it.
    if offset_minutes.is_some() && (year == 1 || year == 9999) && scanned.epoch_ms().is_none() {
        return None;
    }
    Some(scanned)
}

impl Scanned {
    /// The instant in milliseconds since the Unix epoch, or `None` without a
    /// time and an offset (no defined instant) or outside [`MIN_MS`]..=[`MAX_MS`].
    ///
    /// The fraction is truncated to milliseconds; a leap second `:60` is read
    /// as the last millisecond of its minute (`:59.999`), so it stays in the
    /// minute it was written in.
    pub fn epoch_ms(&self) -> Option<i64> {
        let time = self.time?;
        let offset = i64::from(time.offset_minutes?);
        let (second, millis) = match time.second {
            60 => (59, 999),
            second => (second, time.millis),
        };
        let days = days_from_civil(i64::from(self.year), self.month, self.day);
        let seconds_of_day =
            i64::from(time.hour) * 3_600 + i64::from(time.minute) * 60 + i64::from(second);
        let ms = (days * 86_400 + seconds_of_day - offset * 60) * 1_000 + i64::from(millis);
        (MIN_MS..=MAX_MS).contains(&ms).then_some(ms)
    }
}

/// Parses a timestamp text to milliseconds since the Unix epoch (UTC): [`scan`]
/// then [`Scanned::epoch_ms`]. `None` when the text is invalid or has no
/// instant (no time or no offset).
pub fn rfc3339_to_epoch_ms(text: impl AsRef<[u8]>) -> Option<i64> {
    scan(text.as_ref())?.epoch_ms()
}

/// Appends `ms` (floored to the second) as `YYYY-MM-DDTHH:MM:SSZ`.
/// Instants outside [`MIN_MS`]..=[`MAX_MS`] are clamped into it.
pub fn write_rfc3339_secs(ms: i64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 24];
    let len = format_utc(ms, false, &mut buf);
    out.extend_from_slice(&buf[..len]);
}

/// Appends `ms` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
/// Instants outside [`MIN_MS`]..=[`MAX_MS`] are clamped into it.
pub fn write_rfc3339_millis(ms: i64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 24];
    let len = format_utc(ms, true, &mut buf);
    out.extend_from_slice(&buf[..len]);
}

/// Writes the RFC 3339 UTC text of `ms` into `buf`, returning its length.
fn format_utc(ms: i64, with_millis: bool, buf: &mut [u8; 24]) -> usize {
    let ms = ms.clamp(MIN_MS, MAX_MS);
    let secs = ms.div_euclid(1_000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let second_of_day = secs.rem_euclid(86_400);
    *buf = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: i64| {
        for i in (at..at + width).rev() {
            // `v` is non-negative (clamped range), so each digit is 0..=9.
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, i64::from(month));
    put(8, 2, i64::from(day));
    put(11, 2, second_of_day / 3_600);
    put(14, 2, second_of_day / 60 % 60);
    put(17, 2, second_of_day % 60);
    if with_millis {
        put(20, 3, ms.rem_euclid(1_000));
        24
    } else {
        buf[19] = b'Z';
        20
    }
}

/// The wall clock in epoch milliseconds (0 if the system clock is before
/// 1970): the one `now_ms` of the service ticks, the command line and the
/// key-rotation checks. Event time never comes from here.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests;
