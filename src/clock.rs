//! Wall-clock time as epoch milliseconds: the one `now_ms` used by the
//! service (ticks, assignments), the command line and the key rotation
//! checks of the engine. Event time is never read from here.

use std::time::SystemTime;

/// Milliseconds since the Unix epoch now; 0 if the system clock is before 1970.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_is_after_2020_and_monotone_enough() {
        let a = super::now_ms();
        // 2020-01-01T00:00:00Z, an independent constant.
        assert!(a > 1_577_836_800_000, "{a}");
        assert!(super::now_ms() >= a);
    }
}
