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
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// How long to wait after `failures` failures, `free` of them without waiting.
pub fn delay(failures: u32, free: u32) -> Duration {
    if failures < free {
        return Duration::ZERO;
    }
    let doublings = (failures - free).min(20);
    Duration::from_secs(1u64 << doublings).min(MAX_WAIT)
}

/// Most keys remembered; beyond it the longest-quiet key is forgotten, so a flood of made-up
/// e-mail addresses cannot grow the map without bound.
pub const MAX_KEYS: usize = 100_000;

/// Attempts per key: (attempts counted, when the last one started).
#[derive(Default)]
pub struct Throttle(Mutex<HashMap<String, (u32, Instant)>>);

impl Throttle {
    /// How much longer `key` must wait before its next attempt, if at all.
    pub fn wait(&self, key: &str, free: u32) -> Option<Duration> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Self::wait_in(&map, key, free)
    }

    fn wait_in(map: &HashMap<String, (u32, Instant)>, key: &str, free: u32) -> Option<Duration> {
        let (failures, last) = map.get(key)?;
        delay(*failures, free)
            .checked_sub(last.elapsed())
            .filter(|d| !d.is_zero())
    }

    /// Counts an attempt for every key when it starts, before its password is checked, so
    /// guesses in flight count like finished ones. Err: the longest any key must still wait
    /// (nothing is counted then).
    pub fn begin(&self, keys: &[(&str, u32)]) -> Result<(), Duration> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(wait) = keys
            .iter()
            .filter_map(|(k, free)| Self::wait_in(&map, k, *free))
            .max()
        {
            return Err(wait);
        }
        if map.len() + keys.len() > MAX_KEYS {
            map.retain(|_, (_, last)| last.elapsed() < FORGET_AFTER);
        }
        while map.len() + keys.len() > MAX_KEYS {
            let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (_, last))| *last)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            map.remove(&oldest);
        }
        for (key, _) in keys {
            let entry = map.entry((*key).to_owned()).or_insert((0, Instant::now()));
            entry.0 = entry.0.saturating_add(1);
            entry.1 = Instant::now();
        }
        Ok(())
    }

    /// Takes back an attempt counted by `begin` that never checked a password (the server was
    /// too busy to hash it).
    pub fn refund(&self, keys: &[&str]) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for key in keys {
            if let Some(entry) = map.get_mut(*key) {
                entry.0 = entry.0.saturating_sub(1);
            }
        }
    }

    pub fn succeeded(&self, key: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
    fn attempts_count_when_they_start_for_every_key() {
        let t = Throttle::default();
        let keys = [("account:a", 3), ("address:1", 10)];
        // Nothing is finished yet: three attempts start, the fourth must wait.
        for _ in 0..3 {
            assert_eq!(t.begin(&keys), Ok(()));
        }
        assert!(t.begin(&keys).is_err());
        // A refused attempt counts nothing: the address has seen 3 of its 10.
        for n in 0..7 {
            let account = format!("account:other{n}");
            assert_eq!(t.begin(&[(&account, 3), ("address:1", 10)]), Ok(()));
        }
        assert!(t.begin(&[("account:fresh", 3), ("address:1", 10)]).is_err());
        t.refund(&["address:1"]);
        assert!(
            t.begin(&[("account:fresh", 3), ("address:1", 10)]).is_ok(),
            "a refunded attempt gives its turn back"
        );
    }

    #[test]
    fn the_map_never_holds_more_than_max_keys() {
        let t = Throttle::default();
        for n in 0..(MAX_KEYS + 50) {
            let k = format!("account:{n}");
            t.begin(&[(&k, 3)]).unwrap();
        }
        assert_eq!(t.len(), MAX_KEYS);
        assert_eq!(t.wait("account:0", 0), None, "the oldest key went first");
    }

    #[test]
    fn a_success_forgets_the_failures() {
        let t = Throttle::default();
        for _ in 0..3 {
            assert_eq!(t.begin(&[("a", 3)]), Ok(()));
        }
        assert!(t.wait("a", 3).is_some_and(|d| d <= Duration::from_secs(1)));
        assert_eq!(t.wait("b", 3), None, "other keys are not affected");
        t.succeeded("a");
        assert_eq!(t.wait("a", 3), None);
    }
}
