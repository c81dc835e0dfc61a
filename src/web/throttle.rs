//! Sign-in throttling: after a few failures, each further attempt for the same account or from
//! the same address must wait, twice as long each time (capped). Kept in memory: a restart
//! forgets, which costs an attacker a restart they cannot cause.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per account before waiting starts.
pub const FREE_PER_ACCOUNT: u32 = 3;
/// Failures allowed per client address (shared by everyone behind one NAT) before waiting.
pub const FREE_PER_ADDRESS: u32 = 10;
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// How long to wait after `failures` failures, `free` of them without waiting.
pub fn delay(failures: u32, free: u32) -> Duration {
    if failures < free {
        return Duration::ZERO;
    }
    let doublings = (failures - free).min(20);
    Duration::from_secs(1u64 << doublings).min(MAX_WAIT)
}

#[derive(Default)]
pub struct Throttle(Mutex<HashMap<String, (u32, Instant)>>);

impl Throttle {
    /// How much longer `key` must wait before its next attempt, if at all.
    pub fn wait(&self, key: &str, free: u32) -> Option<Duration> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (failures, last) = map.get(key)?;
        delay(*failures, free)
            .checked_sub(last.elapsed())
            .filter(|d| !d.is_zero())
    }

    pub fn failed(&self, key: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, last)| last.elapsed() < FORGET_AFTER);
        let entry = map.entry(key.to_owned()).or_insert((0, Instant::now()));
        entry.0 += 1;
        entry.1 = Instant::now();
    }

    pub fn succeeded(&self, key: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_after_the_free_attempts_and_are_capped() {
        assert_eq!(delay(0, 3), Duration::ZERO);
        assert_eq!(delay(2, 3), Duration::ZERO);
        assert_eq!(delay(3, 3), Duration::from_secs(1));
        assert_eq!(delay(4, 3), Duration::from_secs(2));
        assert_eq!(delay(8, 3), Duration::from_secs(32));
        assert_eq!(delay(40, 3), MAX_WAIT);
    }

    #[test]
    fn a_success_forgets_the_failures() {
        let t = Throttle::default();
        for _ in 0..3 {
            assert_eq!(t.wait("a", 3), None);
            t.failed("a");
        }
        assert!(t.wait("a", 3).is_some_and(|d| d <= Duration::from_secs(1)));
        assert_eq!(t.wait("b", 3), None, "other keys are not affected");
        t.succeeded("a");
        assert_eq!(t.wait("a", 3), None);
    }
}
