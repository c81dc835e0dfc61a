//! Fresh deliveries handed straight to the senders.
//!
//! When nothing in the queue waits for room (the dispatcher's last claim took every due
//! delivery it could see, and no webhook or workspace was at its cap), a delivery the intake
//! is about to store has nobody to wait behind: the intake stores it already leased to this
//! process, in the transaction that stores its event, and hands it to a sender once that
//! commits. No claim reads it back, so at light load an event goes out as soon as it is
//! stored, and under load the claims are left to what really waits (backlogs, retries,
//! ordered and rate-limited webhooks, which never go this way). A lease is a lease whoever
//! took it: if this process dies before the attempt is recorded, the delivery is claimed again
//! when the lease runs out (at start-up, on SQLite), as a claimed one would be.

use super::in_flight::{InFlight, Job, lock};
use crate::domain::crypto::SecretBox;
use crate::store::claims::Claimed;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::mpsc;

/// The intake's way to the senders of this process's delivery actor.
pub struct Handoff {
    in_flight: Arc<Mutex<InFlight>>,
    senders: RwLock<Vec<mpsc::UnboundedSender<Job>>>,
    next: AtomicUsize,
    /// No due delivery waits for room: the last claim took all it saw, none was held back by a
    /// cap, and nothing since was stored without a lease.
    clear: AtomicBool,
    max_in_flight: usize,
    per_webhook: usize,
    /// Room of one workspace: `--max-per-workspace` even when it is the only one (a claim
    /// gives a lone workspace all of `--max-in-flight`, counting the workspaces every few
    /// seconds; going straight never assumes it is still alone).
    per_workspace: usize,
    lease_ms: i64,
    secrets: SecretBox,
}

/// A delivery about to be stored: the ids the caps are counted by.
pub struct Fresh<'a> {
    pub id: &'a str,
    pub webhook_id: &'a str,
    pub workspace_id: &'a str,
}

impl Handoff {
    pub(super) fn new(
        in_flight: Arc<Mutex<InFlight>>,
        senders: Vec<mpsc::UnboundedSender<Job>>,
        config: &crate::config::Config,
        lease_ms: i64,
        secrets: SecretBox,
    ) -> Handoff {
        Handoff {
            in_flight,
            senders: RwLock::new(senders),
            next: AtomicUsize::new(0),
            clear: AtomicBool::new(false),
            max_in_flight: config.max_in_flight,
            per_webhook: config.max_per_endpoint,
            per_workspace: config.max_per_workspace,
            lease_ms,
            secrets,
        }
    }

    /// Set by the dispatcher after each claim: whether anything due was left waiting.
    pub(super) fn set_clear(&self, clear: bool) {
        self.clear.store(clear, Ordering::SeqCst);
    }

    pub fn is_clear(&self) -> bool {
        self.clear.load(Ordering::SeqCst)
    }

    /// Until when a delivery leased now is this process's.
    pub fn lease_until(&self, now: i64) -> i64 {
        now + self.lease_ms
    }

    /// Takes room for each of `fresh` that may go straight to a sender (counted in flight from
    /// now on); `false` for the others, which are stored for a claim. Once one has to wait,
    /// the queue is no longer clear, and none goes straight until a claim has caught up.
    pub fn reserve(&self, fresh: &[Fresh<'_>]) -> Vec<bool> {
        let mut taken = Vec::with_capacity(fresh.len());
        let mut f = lock(&self.in_flight);
        let per_workspace = self.per_workspace;
        for d in fresh {
            let room = self.is_clear()
                && f.total < self.max_in_flight
                && f.per_webhook.get(d.webhook_id).copied().unwrap_or(0) < self.per_webhook
                && f.per_workspace.get(d.workspace_id).copied().unwrap_or(0) < per_workspace;
            if room {
                f.start(d.id, d.webhook_id, d.workspace_id);
            } else {
                self.set_clear(false);
            }
            taken.push(room);
        }
        taken
    }

    /// Gives back the room of deliveries reserved but not stored (their transaction failed).
    pub fn cancel(&self, jobs: &[Claimed]) {
        let mut f = lock(&self.in_flight);
        for job in jobs {
            f.finish(&job.id, &job.webhook_id, &job.workspace_id);
        }
    }

    /// Sends stored, leased deliveries to the senders, each with its webhook's secrets opened
    /// from `sealed` (once per webhook). Returns the ids of those that could not be handed over
    /// (the actor has stopped): their room is given back, their leases are the caller's to
    /// release.
    pub fn dispatch(
        &self,
        jobs: Vec<Claimed>,
        sealed: &HashMap<String, Vec<String>>,
    ) -> Vec<String> {
        let mut opened: HashMap<&str, Vec<String>> = HashMap::new();
        for (id, list) in sealed {
            let open = self.secrets.open_all(list).unwrap_or_else(|e| {
                tracing::error!(webhook_id = %id, error = %e, "a signing secret does not open");
                Vec::new()
            });
            opened.insert(id, open);
        }
        let senders = self.senders.read().unwrap_or_else(|p| p.into_inner());
        let mut unsent = Vec::new();
        for job in jobs {
            let secrets = opened
                .get(job.webhook_id.as_str())
                .cloned()
                .unwrap_or_default();
            let refused = if senders.is_empty() {
                Some(job)
            } else {
                let i = self.next.fetch_add(1, Ordering::Relaxed) % senders.len();
                senders[i].send((job, secrets, true)).err().map(|e| e.0.0)
            };
            if let Some(job) = refused {
                self.cancel(std::slice::from_ref(&job));
                unsent.push(job.id);
            }
        }
        unsent
    }

    /// The actor is stopping: nothing more is handed over (the senders' queues close once the
    /// dispatcher drops its own ends).
    pub(super) fn close(&self) {
        self.set_clear(false);
        self.senders
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
