//! The retry policy: when a failed delivery is tried again, and when it is given up.

use std::time::Duration;

/// What happens after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try again after this long.
    RetryIn(Duration),
    /// That was the last attempt.
    GiveUp,
}

/// After the `attempts`-th attempt failed: the schedule's delay for it, with ±20% jitter
/// (`jitter` in [0, 1) maps to 0.8..1.2), or `GiveUp` when the schedule is used up.
/// `retry_after` (from a 429 or 503) can only postpone the retry, and at most to twice the
/// scheduled delay.
pub fn after_failure(
    schedule: &[Duration],
    attempts: u32,
    jitter: f64,
    retry_after: Option<Duration>,
) -> Next {
    let Some(base) = (attempts as usize)
        .checked_sub(1)
        .and_then(|i| schedule.get(i))
    else {
        return Next::GiveUp;
    };
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    let mut delay = base.mul_f64(factor);
    if let Some(asked) = retry_after {
        delay = delay.max(asked.min(*base * 2));
    }
    Next::RetryIn(delay)
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date (relative to `now_ms`).
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    let at_ms = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64;
    Some(Duration::from_millis((at_ms - now_ms).max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> Vec<Duration> {
        crate::config::parse_retry_schedule(crate::config::DEFAULT_RETRY_SCHEDULE).unwrap()
    }

    #[test]
    fn follows_the_schedule_then_gives_up_after_eight_attempts() {
        let s = schedule();
        assert_eq!(
            after_failure(&s, 1, 0.5, None),
            Next::RetryIn(Duration::from_secs(5))
        );
        assert_eq!(
            after_failure(&s, 2, 0.5, None),
            Next::RetryIn(Duration::from_secs(300))
        );
        assert_eq!(
            after_failure(&s, 7, 0.5, None),
            Next::RetryIn(Duration::from_secs(36_000))
        );
        assert_eq!(after_failure(&s, 8, 0.5, None), Next::GiveUp);
        assert_eq!(after_failure(&s, 0, 0.5, None), Next::GiveUp);
        assert_eq!(after_failure(&[], 1, 0.5, None), Next::GiveUp);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let s = schedule();
        assert_eq!(
            after_failure(&s, 2, 0.0, None),
            Next::RetryIn(Duration::from_secs(240))
        );
        assert_eq!(
            after_failure(&s, 2, 1.0, None),
            Next::RetryIn(Duration::from_secs(360))
        );
        for j in [0.0, 0.1, 0.37, 0.5, 0.99] {
            let Next::RetryIn(d) = after_failure(&s, 3, j, None) else {
                panic!()
            };
            assert!(
                d >= Duration::from_secs(1440) && d <= Duration::from_secs(2160),
                "{d:?}"
            );
        }
    }

    #[test]
    fn retry_after_postpones_but_at_most_to_twice_the_delay() {
        let s = schedule();
        let r = |secs| Some(Duration::from_secs(secs));
        assert_eq!(
            after_failure(&s, 1, 0.5, r(8)),
            Next::RetryIn(Duration::from_secs(8))
        );
        assert_eq!(
            after_failure(&s, 1, 0.5, r(3600)),
            Next::RetryIn(Duration::from_secs(10))
        );
        assert_eq!(
            after_failure(&s, 1, 0.5, r(1)),
            Next::RetryIn(Duration::from_secs(5)),
            "never sooner"
        );
        assert_eq!(after_failure(&s, 8, 0.5, r(1)), Next::GiveUp);
    }

    #[test]
    fn parses_both_retry_after_forms() {
        assert_eq!(parse_retry_after("120", 0), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 7 ", 0), Some(Duration::from_secs(7)));
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_767_000),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_787_000),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
        assert_eq!(parse_retry_after("-5", 0), None);
    }
}
