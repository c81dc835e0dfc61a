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

use super::in_flight::{Caps, InFlight, Job, lock, open_secrets};
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
    /// Room of one workspace in the dispatcher's claims just now (`--max-in-flight` while
    /// there is only one): what `finished` counts against.
    claim_per_workspace: AtomicUsize,
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
            claim_per_workspace: AtomicUsize::new(config.max_per_workspace),
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

    /// The dispatcher's room of one workspace for its next claims.
    pub(super) fn set_claim_per_workspace(&self, n: usize) {
        self.claim_per_workspace.store(n, Ordering::Relaxed);
    }

    /// The dispatcher's caps on attempts in flight just now.
    fn claim_caps(&self) -> Caps {
        Caps {
            max: self.max_in_flight,
            per_webhook: self.per_webhook,
            per_workspace: self.claim_per_workspace.load(Ordering::Relaxed),
        }
    }

    /// Counts an attempt as finished and starts the next job waiting for room, if one may
    /// start (returned, counted in flight). Also returns whether the dispatcher should look at
    /// the queue: something due waits (not clear), or this freed room for claims where there
    /// was none.
    pub(super) fn finished(&self, job: &Claimed, now: i64) -> (bool, Option<Job>) {
        let caps = self.claim_caps();
        let mut f = lock(&self.in_flight);
        let was_full = !f.claim_room(caps, &job.webhook_id, &job.workspace_id);
        f.finish(&job.id, &job.webhook_id, &job.workspace_id);
        let next = f.start_waiting(caps, now);
        (was_full || !self.is_clear(), next)
    }

    /// Deliveries claimed and waiting in memory for room under the caps.
    pub fn held(&self) -> usize {
        lock(&self.in_flight).waiting.len()
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
        let caps = Caps {
            max: self.max_in_flight,
            per_webhook: self.per_webhook,
            per_workspace: self.per_workspace,
        };
        let mut f = lock(&self.in_flight);
        for d in fresh {
            let room = self.is_clear() && f.may_start(caps, d.webhook_id, d.workspace_id);
            if room {
                f.start(d.id, d.webhook_id, d.workspace_id);
            } else {
                self.set_clear(false);
            }
            taken.push(room);
        }
        taken
    }

    /// Gives back the room of deliveries reserved but not handed over.
    fn cancel(&self, jobs: &[Claimed]) {
        let mut f = lock(&self.in_flight);
        for job in jobs {
            f.finish(&job.id, &job.webhook_id, &job.workspace_id);
        }
    }

    /// Sends stored, leased deliveries to the senders, each with its webhook's secrets opened
    /// from `sealed`. Returns the ids of those that could not be handed over (the actor has
    /// stopped): their room is given back, their leases are the caller's to release.
    fn dispatch(&self, jobs: Vec<Claimed>, sealed: HashMap<String, Vec<String>>) -> Vec<String> {
        let opened = open_secrets(&self.secrets, sealed);
        let senders = self.senders.read().unwrap_or_else(|p| p.into_inner());
        let mut unsent = Vec::new();
        for job in jobs {
            let secrets = opened.get(&job.webhook_id).cloned().unwrap_or_default();
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

/// Deliveries `Handoff::reserve` gave room to, with their webhooks' sealed secrets, until they
/// are handed over. Dropped before that (the transaction storing them failed, or did not
/// commit), they give their room back.
pub struct Reserved {
    handoff: Arc<Handoff>,
    jobs: Vec<Claimed>,
    /// Sealed signing secrets by webhook.
    sealed: HashMap<String, Vec<String>>,
}

impl Reserved {
    /// `jobs` with the sealed secrets of their webhooks (by webhook id).
    pub fn new(
        handoff: Arc<Handoff>,
        jobs: Vec<Claimed>,
        sealed: HashMap<String, Vec<String>>,
    ) -> Reserved {
        Reserved {
            handoff,
            jobs,
            sealed,
        }
    }

    /// Hands them to the senders (once stored). Returns the ids of those that could not be
    /// handed over (the actor has stopped), whose leases the caller releases.
    pub fn hand_over(mut self) -> Vec<String> {
        let jobs = std::mem::take(&mut self.jobs);
        let sealed = std::mem::take(&mut self.sealed);
        self.handoff.dispatch(jobs, sealed)
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        self.handoff.cancel(&self.jobs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> Claimed {
        Claimed {
            id: id.into(),
            event_id: "evt".into(),
            webhook_id: "wh".into(),
            event_type: "message.sent".into(),
            attempt_count: 0,
            manual_attempts: 0,
            is_test: false,
            url: "https://example.com/".into(),
            body: Vec::new(),
            workspace_id: "ws".into(),
            workspace_uid: None,
            headers: None,
            ordered: false,
            paced: false,
        }
    }

    fn fresh(id: &str) -> Fresh<'_> {
        Fresh {
            id,
            webhook_id: "wh",
            workspace_id: "ws",
        }
    }

    /// A hand-off with `change` made to the default configuration, its counts, and (when
    /// any) the senders' queues.
    fn handoff(
        change: impl FnOnce(&mut crate::config::Config),
        senders: Vec<mpsc::UnboundedSender<Job>>,
    ) -> (Arc<Handoff>, Arc<Mutex<InFlight>>) {
        let mut config = crate::config::Config::with_data_dir("/nonexistent");
        change(&mut config);
        let in_flight = Arc::new(Mutex::new(InFlight::default()));
        let h = Handoff::new(
            in_flight.clone(),
            senders,
            &config,
            1000,
            SecretBox::new([7; 32]),
        );
        (Arc::new(h), in_flight)
    }

    #[test]
    fn room_is_taken_while_clear_and_given_back_unless_handed_over() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (h, in_flight) = handoff(|c| c.max_per_endpoint = 1, vec![tx]);

        // Not clear until a claim says so: nothing goes straight, nothing is counted.
        assert_eq!(h.reserve(&[fresh("a")]), [false]);
        h.set_clear(true);
        // The webhook's cap: one goes, the next waits, and the queue is no longer clear.
        assert_eq!(h.reserve(&[fresh("a"), fresh("b")]), [true, false]);
        assert!(!h.is_clear());
        assert_eq!(lock(&in_flight).total, 1);

        // Not stored (dropped): the room comes back.
        drop(Reserved::new(h.clone(), vec![job("a")], HashMap::new()));
        assert_eq!(lock(&in_flight).total, 0);

        // Handed over: the room stays taken until the attempt finishes, and the sender gets it.
        h.set_clear(true);
        assert_eq!(h.reserve(&[fresh("c")]), [true]);
        assert!(
            Reserved::new(h.clone(), vec![job("c")], HashMap::new())
                .hand_over()
                .is_empty()
        );
        assert_eq!(lock(&in_flight).total, 1);
        let (sent, _, straight) = rx.try_recv().expect("handed to the sender");
        assert_eq!((sent.id.as_str(), straight), ("c", true));

        // The actor stopped: not handed over, room given back, the id returned for release.
        h.close();
        assert_eq!(
            Reserved::new(h.clone(), vec![job("c")], HashMap::new()).hand_over(),
            ["c"]
        );
        assert_eq!(lock(&in_flight).total, 0);
    }

    #[test]
    fn a_finished_attempt_starts_a_waiting_job_and_wakes_the_dispatcher_when_room_was_full() {
        let (h, in_flight) = handoff(
            |c| {
                c.max_per_endpoint = 4;
                c.max_per_workspace = 1;
            },
            Vec::new(),
        );
        h.set_clear(true);
        h.set_claim_per_workspace(1);
        // One in flight (the workspace's cap) and the rest of `AHEAD` times the cap waiting:
        // claims have taken all they may.
        lock(&in_flight).start("a", "wh", "ws");
        for _ in 1..super::super::in_flight::AHEAD {
            lock(&in_flight)
                .waiting
                .push((job("b"), Vec::new(), false), 10);
        }
        // The attempt that frees room where there was none wakes the dispatcher, even while
        // the queue is clear, and a waiting job starts in its place.
        let (wake, next) = h.finished(&job("a"), 10);
        assert!(wake);
        assert_eq!(next.map(|j| j.0.id).as_deref(), Some("b"));
        assert_eq!(lock(&in_flight).total, 1);
        // Those that free room where there was some do not wake it; the waiting start in turn.
        while lock(&in_flight).waiting.len() > 0 {
            let (wake, next) = h.finished(&job("b"), 10);
            assert!(!wake && next.is_some());
        }
        let (wake, next) = h.finished(&job("b"), 10);
        assert!(!wake && next.is_none());
        assert_eq!(lock(&in_flight).total, 0);
        // While something waits in the database (not clear), every finished attempt does.
        lock(&in_flight).start("c", "wh", "ws");
        h.set_clear(false);
        assert!(h.finished(&job("c"), 10).0);
        assert_eq!(lock(&in_flight).total, 0);
    }

    #[test]
    fn a_job_that_waited_past_its_time_to_start_is_left_for_a_claim() {
        let (h, in_flight) = handoff(|_| {}, Vec::new());
        h.set_claim_per_workspace(1);
        lock(&in_flight).start("a", "wh", "ws");
        lock(&in_flight)
            .waiting
            .push((job("late"), Vec::new(), false), 5);
        lock(&in_flight)
            .waiting
            .push((job("on-time"), Vec::new(), false), 20);
        let (_, next) = h.finished(&job("a"), 10);
        assert_eq!(next.map(|j| j.0.id).as_deref(), Some("on-time"));
        assert_eq!(lock(&in_flight).waiting.len(), 0);
    }
}
