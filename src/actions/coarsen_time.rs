//! `coarsen_time`: truncate timestamps to a coarser unit, keeping the input's format.
//!
//! An exact event time is a quasi-identifier: joined with other fields it can
//! single out one person's visit. This module owns truncating both text
//! timestamps and epoch numbers. What a valid timestamp text is, and where
//! its fields sit, is decided by the shared [`crate::time`] module (the same
//! scan the statistics use, so whatever this action writes they accept);
//! truncation then rewrites digits in place while copying, which keeps the
//! separator, fraction width and offset exactly as written.

use serde::{Deserialize, Serialize};

use super::{
    write_plain_quoted, ActionConfig, ConfigError, Emit, JsonType, Number, Outcome, Transform,
    TypeSet,
};
use crate::keys::KeyStore;
use crate::time::{self, FRACTION_AT};

/// The unit a timestamp is truncated to (`to = "minute"` in a pipeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// Drop sub-second precision only.
    Second,
    /// Zero the seconds (and any fraction).
    Minute,
    /// Zero minutes and seconds.
    Hour,
    /// Zero the whole time of day.
    Day,
}

impl TimeUnit {
    /// Length of the unit in seconds.
    fn seconds(self) -> i64 {
        match self {
            Self::Second => 1,
            Self::Minute => 60,
            Self::Hour => 3_600,
            Self::Day => 86_400,
        }
    }

    /// Byte index in a scanned timestamp from which digits are zeroed.
    fn zero_from(self) -> usize {
        match self {
            Self::Second => FRACTION_AT,
            Self::Minute => 17,
            Self::Hour => 14,
            Self::Day => 11,
        }
    }
}

/// Truncates a text timestamp to `unit`, keeping its format, and appends the result to `out`.
///
/// `2024-05-14T08:17:42.123Z` → (minute) `2024-05-14T08:17:00.000Z`. Accepted: any
/// valid timestamp of [`crate::time`] — RFC 3339 plus the ISO 8601 variants common in
/// logs: separator `T`, `t` or space; fraction after `.` or `,` with any number of
/// digits (kept, zeroed); offset `Z`, `z`, `±HH:MM`, `±HHMM`, `±HH` or none; all kept
/// exactly as written; dates 0001-01-01 to 9999-12-31. Truncation happens in the
/// written local time. Validation is complete (digits, ranges, days per month, leap
/// years); second `60` (leap second) is accepted and becomes `00` whenever seconds are
/// truncated (it stays `60` for [`TimeUnit::Second`]). A date-only value
/// (`2024-05-14`) is already day-coarse and is appended unchanged for every unit.
///
/// Returns false, appending nothing, when the text is not a valid timestamp, or when
/// its truncated instant would fall before 0001-01-01T00:00:00Z (only on that day,
/// with an offset east of UTC), so the output is always a valid timestamp too.
pub fn coarsen_rfc3339(text: &str, unit: TimeUnit, out: &mut String) -> bool {
    let Some(scanned) = time::scan(text.as_bytes()) else {
        return false;
    };
    let Some(tod) = scanned.time else {
        out.push_str(text);
        return true;
    };
    // A valid timestamp is ASCII, so these byte positions are char boundaries.
    let zero_from = unit.zero_from().min(tod.fraction_end);
    let start = out.len();
    out.reserve(text.len());
    out.push_str(&text[..zero_from]);
    out.extend(text[zero_from..tod.fraction_end].bytes().map(|c| {
        if c.is_ascii_digit() {
            '0'
        } else {
            char::from(c)
        }
    }));
    out.push_str(&text[tod.fraction_end..]);
    // Truncating moves the instant earlier: only on the first day of year 1
    // with an offset east of UTC can it fall below the earliest valid instant.
    if scanned.year == 1
        && tod.offset_minutes.is_some_and(|m| m > 0)
        && time::scan(&out.as_bytes()[start..]).is_none()
    {
        out.truncate(start);
        return false;
    }
    true
}

/// Parses a timestamp text to epoch milliseconds (re-exported from the shared
/// [`crate::time`] module, where it is defined).
pub use crate::time::rfc3339_to_epoch_ms;

/// Ticks per second of an epoch number, decided by its magnitude.
///
/// Seconds below 1e11 (year 5138), then milliseconds from 1e11, microseconds from
/// 1e14 and nanoseconds from 1e17. The price is that millisecond (micro-, nano-)
/// values within about 3.2 years of 1970 (1966-10 to 1973-03) read as the next
/// smaller unit; real log timestamps are far from that window.
fn ticks_per_second(magnitude: u64) -> i64 {
    match magnitude {
        100_000_000_000_000_000.. => 1_000_000_000,
        100_000_000_000_000.. => 1_000_000,
        100_000_000_000.. => 1_000,
        _ => 1,
    }
}

/// The largest multiple of `step` (> 0) not above `v`. Only when that multiple is not
/// representable (within one step of `i64::MIN`) the next multiple up is returned.
fn floor_to_multiple(v: i64, step: i64) -> i64 {
    let q = v.div_euclid(step);
    match q.checked_mul(step) {
        Some(floor) => floor,
        // Only reachable for negative `v`, where `(q + 1) * step` lies in `(v, 0]`.
        None => (q + 1) * step,
    }
}

/// Truncates an integer epoch timestamp to `unit`, returning it in the same unit.
///
/// The input unit is decided by magnitude: `|v| >= 1e11` is milliseconds, `>= 1e14`
/// microseconds, `>= 1e17` nanoseconds, otherwise seconds (so milli-, micro- and
/// nanosecond values between 1966-10 and 1973-03 are misread as the smaller unit).
/// Truncation floors, so negative (pre-1970) values move further into the past.
/// Values within one unit of `i64::MIN` round toward zero instead, the only
/// representable choice.
pub fn coarsen_epoch_i64(v: i64, unit: TimeUnit) -> i64 {
    let step = unit.seconds() * ticks_per_second(v.unsigned_abs());
    floor_to_multiple(v, step)
}

/// Largest magnitude accepted by [`coarsen_epoch_f64`]: the floored value must fit an `i64`.
const MAX_EPOCH_F64: f64 = 9.2e18;

/// Truncates a floating-point epoch timestamp to `unit`, returning it in the same unit.
///
/// The unit is decided by magnitude as in [`coarsen_epoch_i64`]. Any fraction is
/// floored away, so `1715674662.789` (seconds) becomes `1715674662.0` for
/// [`TimeUnit::Second`]. Returns `None` for NaN, infinities and magnitudes of
/// 9.2e18 or more.
pub fn coarsen_epoch_f64(v: f64, unit: TimeUnit) -> Option<f64> {
    if !v.is_finite() || v.abs() >= MAX_EPOCH_F64 {
        return None;
    }
    // In range by the check above; `as` truncates toward zero, which after
    // `floor` is exact. The unit thresholds are integers, so flooring the
    // magnitude does not change which unit is chosen.
    let floored = v.floor() as i64;
    let step = unit.seconds() * ticks_per_second(v.abs() as u64);
    Some(floor_to_multiple(floored, step) as f64)
}

/// `{ action = "coarsen_time", to = "hour" }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoarsenTimeConfig {
    /// `second`, `minute`, `hour` or `day`.
    pub to: TimeUnit,
}

/// Compiled `coarsen_time`.
#[derive(Debug, Clone, Copy)]
pub struct CoarsenTime {
    unit: TimeUnit,
}

impl ActionConfig for CoarsenTimeConfig {
    const NAME: &'static str = "coarsen_time";
    const ACCEPTS: TypeSet = TypeSet::of(&[JsonType::String, JsonType::Number, JsonType::Null]);
    type Compiled = CoarsenTime;

    fn compile(&self, _keys: &KeyStore) -> Result<CoarsenTime, ConfigError> {
        Ok(CoarsenTime { unit: self.to })
    }

    fn explain(&self) -> String {
        let unit = match self.to {
            TimeUnit::Second => "second",
            TimeUnit::Minute => "minute",
            TimeUnit::Hour => "hour",
            TimeUnit::Day => "day",
        };
        format!("time coarsened to the {unit}")
    }
}

impl Transform for CoarsenTime {
    /// A timestamp text keeps its format; digits-only text is an epoch
    /// number (written back as text); anything else drops the field.
    #[inline]
    fn apply_str(&self, value: &str, emit: &mut Emit<'_>) -> Outcome {
        emit.tmp.clear();
        if coarsen_rfc3339(value, self.unit, emit.tmp) {
            // A valid timestamp is digits, letters and `-:.,+ `.
            write_plain_quoted(emit.out, emit.tmp.as_bytes());
            Outcome::Written
        } else if let Some(n) = parse_epoch_text(value) {
            let v = coarsen_epoch_i64(n, self.unit);
            write_plain_quoted(emit.out, itoa::Buffer::new().format(v).as_bytes());
            Outcome::Written
        } else {
            Outcome::Dropped
        }
    }

    /// An epoch number stays a number; one beyond `i64` drops the field.
    #[inline]
    fn apply_number(&self, value: Number<'_>, emit: &mut Emit<'_>) -> Outcome {
        match value {
            Number::Int(v, _) => {
                let c = coarsen_epoch_i64(v, self.unit);
                emit.out.extend_from_slice(itoa::Buffer::new().format(c).as_bytes());
                Outcome::Written
            }
            Number::BigInt(_) => Outcome::Dropped,
            Number::Float(v) => match coarsen_epoch_f64(v, self.unit) {
                Some(c) => {
                    emit.out.extend_from_slice(ryu::Buffer::new().format_finite(c).as_bytes());
                    Outcome::Written
                }
                None => Outcome::Dropped,
            },
        }
    }
}

/// Digits-only text (optionally negative) read as an epoch number.
fn parse_epoch_text(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests;
