//! Whether the database takes writes now, as the server last found out: down from the first
//! fault any request or background writer meets, up again from the first write that succeeds
//! (or the probe's, while nothing else writes). Each change is logged once, the end with how
//! long it lasted, never once per request.

use super::fault::Fault;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Health {
    down: Mutex<Option<(Fault, Instant)>>,
}

impl Health {
    /// A fault was met: the database is down from now (a first fault is logged).
    pub fn fault(&self, fault: Fault) {
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        match *down {
            Some((was, _)) if was == fault => {}
            Some((_, since)) => {
                // Still down, for another reason (a full disk that also stopped opening).
                tracing::error!(
                    reason = fault.code(),
                    "the database is still unavailable: {}",
                    fault.message()
                );
                *down = Some((fault, since));
            }
            None => {
                tracing::error!(
                    reason = fault.code(),
                    "the database is unavailable: {}",
                    fault.message()
                );
                *down = Some((fault, Instant::now()));
            }
        }
    }

    /// A write succeeded: the database is up (the end of a fault is logged with its length).
    pub fn ok(&self) {
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((fault, since)) = down.take() {
            let lasted = since.elapsed();
            tracing::info!(
                reason = fault.code(),
                lasted_ms = lasted.as_millis() as u64,
                "the database is available again after {}",
                lasted_text(lasted)
            );
        }
    }

    /// The fault in force, if the database is down.
    pub fn current(&self) -> Option<Fault> {
        self.down
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|(fault, _)| fault)
    }

    /// Reports the outcome of a write: a fault, or (on success) that it is up.
    pub fn observe<T, E>(&self, written: &Result<T, E>, fault_of: impl Fn(&E) -> Option<Fault>) {
        match written {
            Ok(_) => self.ok(),
            Err(e) => {
                if let Some(fault) = fault_of(e) {
                    self.fault(fault);
                }
            }
        }
    }
}

/// `2.5 s`, `3 min 20 s`: how long a fault lasted, in the log.
fn lasted_text(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} min {} s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_holds_until_a_write_succeeds_and_its_reason_may_change_meanwhile() {
        let h = Health::default();
        assert_eq!(h.current(), None);
        h.ok();
        h.fault(Fault::Unavailable);
        h.fault(Fault::Unavailable);
        assert_eq!(h.current(), Some(Fault::Unavailable));
        h.fault(Fault::Full);
        assert_eq!(h.current(), Some(Fault::Full));
        h.observe(&Err::<(), _>("x"), |_| None);
        assert_eq!(h.current(), Some(Fault::Full), "other errors say nothing");
        h.observe(&Ok::<_, ()>(()), |_| None);
        assert_eq!(h.current(), None);
        assert_eq!(lasted_text(Duration::from_millis(2500)), "2.5 s");
        assert_eq!(lasted_text(Duration::from_secs(200)), "3 min 20 s");
    }
}
