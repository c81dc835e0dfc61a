//! Bounds on what requests can make the server hold at once. Argon2 allocates its whole memory
//! cost for every hash, attempts made by hand wait on servers we do not control, and list
//! queries with filters that match little can scan a large table: each runs behind a gate with
//! a fixed number of turns, and whoever finds no turn gets a clear "busy" with `Retry-After`.

pub mod sign_in;
pub mod throttle;

use crate::domain::passwords;
use crate::error::AppError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A fixed number of turns; a caller waits at most `wait` for one.
pub struct Gate {
    permits: Arc<Semaphore>,
    size: usize,
    wait: Duration,
}

impl Gate {
    pub fn new(size: usize, wait: Duration) -> Self {
        let size = size.max(1);
        Gate {
            permits: Arc::new(Semaphore::new(size)),
            size,
            wait,
        }
    }

    /// A turn, or None when none came free within the wait.
    pub async fn enter(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Some(p);
        }
        if self.wait.is_zero() {
            return None;
        }
        tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .ok()?
            .ok()
    }

    pub fn size(&self) -> usize {
        self.size
    }
}

fn busy(message: &str, retry_after_secs: u64) -> AppError {
    AppError::Busy {
        message: message.to_owned(),
        retry_after_secs,
    }
}

/// Password hashing and checking: at most `size` Argon2 computations at once, each on the
/// blocking pool, never while holding a database connection.
pub struct PasswordWork {
    gate: Gate,
}

const PASSWORDS_BUSY: &str =
    "The server is busy checking other sign-ins. Wait a few seconds and try again.";

impl PasswordWork {
    pub fn new(size: usize, wait: Duration) -> Self {
        PasswordWork {
            gate: Gate::new(size, wait),
        }
    }

    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let permit = self
            .gate
            .enter()
            .await
            .ok_or_else(|| busy(PASSWORDS_BUSY, 2))?;
        // The turn travels with the work: a client that hangs up cannot free it before the
        // hash (which cannot be interrupted) has finished.
        let out = actix_web::rt::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("password work failed: {e}")))?;
        Ok(out)
    }

    /// Checks `password` against a stored PHC string; without one (no such account), spends
    /// the same work on a dummy hash so that both answer equally slowly.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, AppError> {
        self.run(move || match phc {
            Some(phc) => passwords::verify(&password, &phc),
            None => {
                passwords::verify_dummy(&password);
                false
            }
        })
        .await
    }

    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.run(move || passwords::hash(&password))
            .await?
            .map_err(AppError::Internal)
    }
}

/// Send Test and Resend: at most `total` in flight, and at most `per_webhook` to one webhook,
/// since each can wait the whole request timeout on a slow endpoint. A person who clicked is
/// told at once rather than queued.
pub struct ManualAttempts {
    total: Gate,
    per_webhook: usize,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

/// A turn for one attempt made by hand; given back when dropped.
pub struct ManualTurn {
    _permit: OwnedSemaphorePermit,
    webhook_id: String,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for ManualTurn {
    fn drop(&mut self) {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.webhook_id) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.webhook_id);
            }
        }
    }
}

impl ManualAttempts {
    pub fn new(total: usize, per_webhook: usize) -> Self {
        ManualAttempts {
            total: Gate::new(total, Duration::ZERO),
            per_webhook: per_webhook.max(1),
            in_flight: Default::default(),
        }
    }

    pub fn take(&self, webhook_id: &str) -> Result<ManualTurn, AppError> {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let mine = map.get(webhook_id).copied().unwrap_or(0);
        if mine >= self.per_webhook {
            return Err(busy(
                &format!(
                    "{} tests or resends to this webhook are already waiting for its endpoint; \
                     try again when one has finished.",
                    self.per_webhook
                ),
                5,
            ));
        }
        let permit = self.total.permits.clone().try_acquire_owned().map_err(|_| {
            busy(
                &format!(
                    "{} tests and resends are already in progress; try again when one has finished.",
                    self.total.size
                ),
                5,
            )
        })?;
        *map.entry(webhook_id.to_owned()).or_insert(0) += 1;
        Ok(ManualTurn {
            _permit: permit,
            webhook_id: webhook_id.to_owned(),
            in_flight: self.in_flight.clone(),
        })
    }
}

/// List queries (the Delivery Log and the audit log): at most `size` at once, so filters that
/// scan a large table cannot take every database connection from deliveries and sign-ins.
pub struct ListQueries {
    gate: Gate,
}

impl ListQueries {
    pub fn new(size: usize, wait: Duration) -> Self {
        ListQueries {
            gate: Gate::new(size, wait),
        }
    }

    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// A turn to run one list query; hold it until the query has returned.
    pub async fn turn(&self) -> Result<OwnedSemaphorePermit, AppError> {
        self.gate.enter().await.ok_or_else(|| {
            busy(
                "Too many log searches are running at once; try again in a few seconds.",
                2,
            )
        })
    }
}

/// glibc raises its mmap threshold after the first large block is freed, so later Argon2
/// blocks (19 MiB each) come from per-thread arenas that keep the memory after a burst.
/// A fixed threshold keeps large blocks mmapped: they go back to the system when freed.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator tunables; it is safe to call at any time.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn a_gate_gives_its_turns_and_then_waits_no_longer_than_told() {
        let gate = Gate::new(2, Duration::from_millis(20));
        let a = gate.enter().await.unwrap();
        let _b = gate.enter().await.unwrap();
        assert!(gate.enter().await.is_none(), "no third turn");
        drop(a);
        assert!(gate.enter().await.is_some(), "a turn given back is taken");
    }

    #[test]
    fn manual_attempts_are_bounded_in_all_and_per_webhook() {
        let m = ManualAttempts::new(3, 2);
        let a1 = m.take("wh_a").unwrap();
        let _a2 = m.take("wh_a").unwrap();
        let err = m.take("wh_a").err().unwrap();
        assert!(matches!(err, AppError::Busy { .. }));
        assert!(err.to_string().contains("this webhook"), "{err}");
        let _b1 = m.take("wh_b").unwrap();
        let err = m.take("wh_c").err().unwrap();
        assert!(err.to_string().contains("3 tests"), "{err}");
        drop(a1);
        assert!(m.take("wh_c").is_ok(), "a finished attempt frees its turn");
    }

    #[actix_rt::test]
    async fn password_work_refuses_when_every_turn_is_taken() {
        let work = PasswordWork::new(1, Duration::from_millis(10));
        let held = work.gate().enter().await.unwrap();
        let err = work.verify("x".into(), None).await.err().unwrap();
        assert!(matches!(err, AppError::Busy { .. }));
        drop(held);
        assert!(!work.verify("x".into(), None).await.unwrap());
    }
}
