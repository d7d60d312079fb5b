//! Limits every input is held to, in one place (documented in docs/limits.md), and the one
//! checked-arithmetic rule for time and counts:
//!
//! * **counts** (rows, events, sketch weights) are at most [`MAX_COUNT`] = 2^53, checked
//!   where they are read from a file and where two of them are added (profile merge), so no
//!   u64 sum wraps and every count survives a round trip through f64 / JSON;
//! * **times** are between [`MIN_TIME`] (1970-01-01) and [`MAX_TIME`] (9999-12-31), and
//!   **durations** at most [`MAX_BASELINE_DAYS`]: any time plus any duration then stays far
//!   inside chrono's range, so time arithmetic cannot overflow. A time outside the range is
//!   treated as no time at all (the record is still read).

use chrono::{DateTime, Utc};

pub use crate::profile::validate::MAX_COUNT;

/// Most worker threads `-j` accepts (more only adds start-up cost: `-j 4000` spent 13 s
/// creating threads).
pub const MAX_THREADS: usize = 256;

/// Longest `--baseline-days` / `[scan] baseline_days` (100 years).
pub const MAX_BASELINE_DAYS: f64 = 36_500.0;

/// 1970-01-01T00:00:00Z, in seconds since the epoch.
pub const MIN_TIME: i64 = 0;
/// 9999-12-31T23:59:59Z, in seconds since the epoch (the last instant RFC 3339 can write).
pub const MAX_TIME: i64 = 253_402_300_799;

/// `t` if it is inside [`MIN_TIME`, `MAX_TIME`].
pub fn time(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (MIN_TIME..=MAX_TIME).contains(&t.timestamp()).then_some(t)
}

/// Validate a baseline length in days (from a flag or the config).
pub fn baseline_days(d: f64) -> Result<f64, String> {
    if !d.is_finite() || !(0.0..=MAX_BASELINE_DAYS).contains(&d) {
        return Err(format!(
            "must be a number of days from 0 to {MAX_BASELINE_DAYS} (got {d})"
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn time_range_and_baseline_days() {
        assert_eq!(
            Utc.timestamp_opt(MAX_TIME, 0).unwrap().to_rfc3339(),
            "9999-12-31T23:59:59+00:00"
        );
        assert!(time(Utc.timestamp_opt(MAX_TIME + 1, 0).unwrap()).is_none());
        assert!(time(Utc.timestamp_opt(-1, 0).unwrap()).is_none());
        // The worst case: the last accepted time plus the longest baseline fits chrono.
        let end = Utc.timestamp_opt(MAX_TIME, 0).unwrap()
            + chrono::Duration::seconds((MAX_BASELINE_DAYS * 86400.0) as i64);
        assert!(end.timestamp() > MAX_TIME);
        for bad in [1e8, 1e12, f64::INFINITY, f64::NAN, -1.0] {
            assert!(baseline_days(bad).is_err(), "{bad}");
        }
        assert_eq!(baseline_days(7.5), Ok(7.5));
    }
}
