//! Rate limits and ordered delivery: the rules, without the database.
//!
//! A rate limit of N per second allows N attempts to start in each calendar second (a window
//! of 1,000 ms starting at a multiple of 1,000 ms since the epoch): simple to share between
//! instances (two numbers per webhook), never more than N in any such second, and N a second
//! over any backlog.

/// The least and most a rate limit may be.
pub const MIN_PER_SECOND: i64 = 1;
pub const MAX_PER_SECOND: i64 = 10_000;

/// The window of `now_ms`: the start of its second.
pub fn window_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000) * 1000
}

/// A webhook's rate window as stored: the second it counts and how many started in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub used: i32,
}

impl Window {
    /// How many more attempts may start at `now_ms` under `per_second`.
    pub fn room(self, per_second: i32, now_ms: i64) -> usize {
        // A window newer than `now_ms` (another instance's claim that began later committed
        // first) is the one that counts: an older second must not reopen it.
        let used = if self.start >= window_of(now_ms) {
            self.used
        } else {
            0
        };
        per_second.saturating_sub(used).max(0) as usize
    }

    /// Whether deliveries wait for the limit at `now_ms`: the window claims wrote last (this
    /// second's, or the one before, as a claim may not have run yet this second) is used up.
    pub fn used_up(self, per_second: i32, now_ms: i64) -> bool {
        self.start >= window_of(now_ms) - 1000 && self.used >= per_second
    }

    /// The window after `taken` more attempts started at `now_ms`.
    pub fn after(self, taken: usize, now_ms: i64) -> Window {
        // Never moved back to an older second (see `room`).
        let start = window_of(now_ms).max(self.start);
        let used = if self.start == start { self.used } else { 0 };
        Window {
            start,
            used: used.saturating_add(taken.min(i32::MAX as usize) as i32),
        }
    }
}

/// When a webhook whose window is used up may start again: the next second.
pub fn reopens_at(now_ms: i64) -> i64 {
    window_of(now_ms) + 1000
}

/// A rate limit as typed on a form ("" for none) or sent as `per_second`.
pub fn validate_rate_limit(raw: &str) -> Result<Option<i32>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let n: i64 = raw.parse().map_err(|_| {
        format!("The rate limit is a whole number of attempts per second, from {MIN_PER_SECOND} to {MAX_PER_SECOND}.")
    })?;
    if !(MIN_PER_SECOND..=MAX_PER_SECOND).contains(&n) {
        return Err(format!(
            "The rate limit must be from {MIN_PER_SECOND} to {MAX_PER_SECOND} attempts per second."
        ));
    }
    Ok(Some(n as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_second_allows_its_limit_and_no_more() {
        let w = Window { start: 0, used: 0 };
        assert_eq!(w.room(10, 5_250), 10, "an old window counts nothing");
        let w = w.after(7, 5_250);
        assert_eq!(
            w,
            Window {
                start: 5_000,
                used: 7
            }
        );
        assert_eq!(w.room(10, 5_999), 3);
        let w = w.after(3, 5_999);
        assert_eq!(w.room(10, 5_999), 0, "used up");
        assert_eq!(w.room(10, 6_000), 10, "the next second starts afresh");
        assert_eq!(
            w.after(1, 6_000),
            Window {
                start: 6_000,
                used: 1
            }
        );
        // A lower limit than what was used (changed meanwhile) leaves no room, not a negative.
        assert_eq!(
            Window {
                start: 5_000,
                used: 9
            }
            .room(4, 5_500),
            0
        );
        assert_eq!(reopens_at(5_999), 6_000);
        assert_eq!(reopens_at(6_000), 7_000);
        assert_eq!(window_of(-1), -1000);
        // Used up: this second's window or the last one's, full; an older one is not.
        let full = Window {
            start: 5_000,
            used: 10,
        };
        assert!(full.used_up(10, 5_500) && full.used_up(10, 6_900));
        assert!(!full.used_up(10, 7_000), "two seconds on");
        assert!(
            !Window {
                start: 5_000,
                used: 9
            }
            .used_up(10, 5_500)
        );
    }

    #[test]
    fn a_claim_that_began_in_an_older_second_counts_against_the_newer_window() {
        // Another instance, whose claim began at 6,002, took 4 of 4 and committed first; this
        // claim began at 5,999.
        let stored = Window {
            start: 6_000,
            used: 4,
        };
        assert_eq!(stored.room(4, 5_999), 0, "the newer window is full");
        assert_eq!(stored.after(0, 5_999), stored, "and is not moved back");
        let half = Window {
            start: 6_000,
            used: 2,
        };
        assert_eq!(half.room(4, 5_999), 2);
        assert_eq!(
            half.after(2, 5_999),
            Window {
                start: 6_000,
                used: 4
            }
        );
    }

    #[test]
    fn rate_limits_are_whole_numbers_in_range() {
        assert_eq!(validate_rate_limit(""), Ok(None));
        assert_eq!(validate_rate_limit(" 25 "), Ok(Some(25)));
        assert_eq!(validate_rate_limit("1"), Ok(Some(1)));
        assert_eq!(validate_rate_limit("10000"), Ok(Some(10_000)));
        for bad in ["0", "10001", "-3", "2.5", "ten", "99999999999999999999"] {
            let e = validate_rate_limit(bad).unwrap_err();
            assert!(e.contains("1") && e.contains("10000"), "{bad}: {e}");
        }
    }
}
