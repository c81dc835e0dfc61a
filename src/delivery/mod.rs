//! The background actor: claims due deliveries, sends them, records outcomes.
//!
//! It runs on a thread of its own with its own actix runtime (awc is not `Send`). The
//! deliveries table is the queue: rows are claimed in batches with a lease, sent outside any
//! transaction, and their outcomes written back in batches by one recorder task, so the
//! database work grows with batches, not with requests. While nothing waits in the queue, a
//! fresh delivery is stored leased and handed straight to a sender (`handoff`), so at low load
//! there is no claim to wait for; an outcome is written as soon as it is known.

mod arrivals;
pub mod handoff;
mod in_flight;
pub mod intake;
pub mod manual;
mod outcome;
mod recorder;
pub mod send;
mod sender;
mod wire;

use crate::domain::time;
use crate::state::AppState;
use crate::store::claims;
use crate::store::deliveries::Outcome;
use actix_web::web::Data;
use in_flight::{InFlight, Job, lock};
use outcome::outcome;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};

/// How long a claimed delivery stays leased: well past any attempt (request and body read),
/// so only a crash leaves a lease to run out.
pub fn lease_ms(config: &crate::config::Config) -> i64 {
    config.request_timeout.as_millis() as i64 * 2 + 10_000
}

/// Most deliveries claimed in one transaction.
const CLAIM_BATCH: usize = 512;
/// On PostgreSQL, the least time between two claims of one instance.
const CLAIM_COALESCE: Duration = Duration::from_millis(5);
/// How often the actor counts the workspaces (see `--max-per-workspace`).
const WORKSPACES_RECOUNT: Duration = Duration::from_secs(2);
/// The actor looks at the queue at least this often, even without a wake-up.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// While the database is down: the health probe's period, and the wait between claims.
const PROBE_EVERY: Duration = Duration::from_millis(500);
const FAULT_BACKOFF_MIN: Duration = Duration::from_millis(100);
const FAULT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Running delivery actor; stop it with `stop()` (also done on drop).
pub struct DeliveryWorker {
    dispatcher: Option<JoinHandle<()>>,
    senders: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    wakeup: Arc<Notify>,
    /// On PostgreSQL: woken by events published through any instance.
    listener: Option<crate::db::listen::Listener>,
    /// Fresh deliveries from this process's intake, straight to the senders.
    handoff: Arc<handoff::Handoff>,
    state: Data<AppState>,
}

impl DeliveryWorker {
    /// One dispatcher thread claims and records; sender threads (one per core, at most 4),
    /// each with its own runtime and HTTP client, send.
    pub fn start(state: Data<AppState>) -> std::io::Result<DeliveryWorker> {
        let stop = Arc::new(AtomicBool::new(false));
        let wakeup = state.wakeup.clone();
        let in_flight = Arc::new(Mutex::new(InFlight::default()));
        let (outcomes, outcome_rx) = mpsc::unbounded_channel::<Outcome>();
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 4);
        let (job_txs, job_rxs): (Vec<_>, Vec<_>) = (0..threads)
            .map(|_| mpsc::unbounded_channel::<Job>())
            .unzip();
        let handoff = Arc::new(handoff::Handoff::new(
            in_flight.clone(),
            job_txs.clone(),
            &state.config,
            lease_ms(&state.config),
            state.secrets.clone(),
        ));
        let mut senders = Vec::new();
        for (i, job_rx) in job_rxs.into_iter().enumerate() {
            let (state, outcomes, handoff) = (state.clone(), outcomes.clone(), handoff.clone());
            senders.push(
                std::thread::Builder::new()
                    .name(format!("delivery-send-{i}"))
                    .spawn(move || {
                        actix_web::rt::System::new()
                            .block_on(sender::sender(state, job_rx, outcomes, handoff));
                    })?,
            );
        }
        drop(outcomes);
        let listener = match &state.location {
            crate::db::Location::Postgres(url) => {
                let wakeup = wakeup.clone();
                Some(crate::db::listen::Listener::start(
                    url,
                    claims::WAKE_CHANNEL,
                    move || wakeup.notify_one(),
                )?)
            }
            crate::db::Location::Sqlite(_) => None,
        };
        let flag = stop.clone();
        let (run_state, run_handoff) = (state.clone(), handoff.clone());
        let dispatcher = std::thread::Builder::new()
            .name("delivery".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(run(
                    run_state,
                    flag,
                    job_txs,
                    outcome_rx,
                    in_flight,
                    run_handoff,
                ));
            })?;
        // Started: from now on fresh deliveries may go straight to the senders.
        state.intake.attach(Some(handoff.clone()));
        Ok(DeliveryWorker {
            dispatcher: Some(dispatcher),
            senders,
            stop,
            wakeup,
            listener,
            handoff,
            state,
        })
    }

    /// Stops claiming, waits a bounded time for attempts in flight, leaves the rest pending.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.listener.take();
        // The intake hands nothing more over; what it stores from now on waits in the queue.
        self.state.intake.attach(None);
        self.handoff.close();
        self.stop.store(true, Ordering::SeqCst);
        self.wakeup.notify_one();
        if let Some(t) = self.dispatcher.take() {
            let _ = t.join();
        }
        for t in self.senders.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for DeliveryWorker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn db<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut crate::db::DbConn) -> diesel::QueryResult<T> + Send + 'static,
) -> Result<T, crate::error::AppError> {
    crate::db::run(&state.pool, move |conn| {
        f(conn).map_err(crate::error::AppError::from)
    })
    .await
}

/// Writes outcomes as they come, many per transaction when many are waiting.
/// Whether there is more than one workspace, as last counted: the cap per workspace shares the
/// slots between workspaces, and an installation with one has no one to share them with.
/// Counted again every `WORKSPACES_RECOUNT`, and at once when this process made or deleted one
/// (`AppState::workspaces_changed` moved past `generation`).
struct WorkspaceCount {
    counted_at: Instant,
    several: bool,
    generation: u64,
}

async fn run(
    state: Data<AppState>,
    stop: Arc<AtomicBool>,
    senders: Vec<mpsc::UnboundedSender<Job>>,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    in_flight: Arc<Mutex<InFlight>>,
    handoff: Arc<handoff::Handoff>,
) {
    let config = state.config.clone();
    // One process on SQLite: every lease is a leftover of its own last run. Instances sharing
    // PostgreSQL leave leases alone (others may be sending them); those of a dead instance
    // run out.
    let leftovers = if state.location.is_postgres() {
        Ok(0)
    } else {
        db(&state, |conn| claims::release_leases(conn, time::now_ms())).await
    };
    match leftovers {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            deliveries = n,
            "deliveries interrupted by the last shutdown are queued again"
        ),
        Err(e) => tracing::error!(error = %e, "could not requeue interrupted deliveries"),
    }
    let recorder = actix_web::rt::spawn(recorder::recorder(state.clone(), outcomes));
    let lease_ms = lease_ms(&config);
    // The sender threads in turn.
    let mut next_sender = 0usize;
    let mut hand = |job: Job| {
        let _ = senders[next_sender % senders.len()].send(job);
        next_sender = next_sender.wrapping_add(1);
    };
    // On PostgreSQL a claim costs a few round trips whatever its size: when attempts finish
    // one by one, waiting a moment lets one claim take the slots of several.
    let coalesce = if state.location.is_postgres() {
        CLAIM_COALESCE
    } else {
        Duration::ZERO
    };
    let mut last_claim = Instant::now() - coalesce;
    // Rate-limited webhooks out of room until the end of their second (the time).
    let mut rate_held: HashMap<String, i64> = HashMap::new();
    let mut workspaces = WorkspaceCount {
        counted_at: Instant::now() - WORKSPACES_RECOUNT,
        several: true,
        generation: u64::MAX,
    };
    // While the database is down: when the health probe last wrote, and how long to wait
    // before the next claim (doubling to a second, so recovery is seen within one).
    let mut last_probe = Instant::now();
    let mut backoff = FAULT_BACKOFF_MIN;

    while !stop.load(Ordering::SeqCst) {
        if state.health.current().is_some() && last_probe.elapsed() >= PROBE_EVERY {
            last_probe = Instant::now();
            if state.probe_database().await {
                backoff = FAULT_BACKOFF_MIN;
            }
        }
        let since = last_claim.elapsed();
        if since < coalesce {
            actix_web::rt::time::sleep(coalesce - since).await;
        }
        last_claim = Instant::now();
        let generation = state.workspaces_changed.load(Ordering::Relaxed);
        if workspaces.counted_at.elapsed() >= WORKSPACES_RECOUNT
            || workspaces.generation != generation
        {
            let counted = db(&state, crate::store::workspaces::count).await;
            workspaces = WorkspaceCount {
                counted_at: Instant::now(),
                several: counted.map_or(true, |n| n > 1),
                generation,
            };
        }
        // Claims count what is in flight and what waits in memory for room, against
        // `AHEAD` times the caps (`in_flight::Waiting`).
        let (free, (busy, busy_workspaces)) = {
            let f = lock(&in_flight);
            (
                (config.max_in_flight * in_flight::AHEAD).saturating_sub(f.total + f.waiting.len()),
                f.claimed(),
            )
        };
        let mut full_batch = false;
        let now = time::now_ms();
        rate_held.retain(|_, until| *until > now);
        let per_webhook = config.max_per_endpoint;
        let per_workspace = if workspaces.several {
            config.max_per_workspace
        } else {
            config.max_in_flight
        };
        handoff.set_claim_per_workspace(per_workspace);
        let caps = in_flight::Caps {
            max: config.max_in_flight,
            per_webhook,
            per_workspace,
        };
        // Room freed otherwise than by a finished attempt (a hand-over given back, a lone
        // workspace's larger cap) goes to the jobs waiting for it.
        loop {
            let Some(job) = lock(&in_flight).start_waiting(caps, time::now_ms()) else {
                break;
            };
            hand(job);
        }
        if free == 0 {
            // Whatever is due waits for room: finished attempts wake the dispatcher.
            handoff.set_clear(false);
        } else {
            let want = free.min(CLAIM_BATCH);
            let held: Vec<String> = rate_held.keys().cloned().collect();
            let write_lock = state.write_lock.clone();
            let claimed = db(&state, move |conn| {
                crate::db::immediate(conn, &write_lock, |conn| {
                    let room = claims::Room {
                        per_webhook,
                        per_workspace,
                        webhooks: &busy,
                        workspaces: &busy_workspaces,
                        rate_held: &held,
                        ahead: caps.ahead(),
                    };
                    let claim = claims::claim_due(conn, now, want, &room, now + lease_ms)?;
                    let ids: Vec<&str> = claim.jobs.iter().map(|j| j.webhook_id.as_str()).collect();
                    let secrets = crate::store::subscribers::valid_secrets_for(conn, &ids, now)?;
                    Ok((claim, secrets))
                })
            })
            .await;
            let (
                claims::Claim {
                    jobs,
                    rate_held: held,
                    left_behind,
                },
                secrets,
            ) = match claimed {
                Ok(c) => {
                    backoff = FAULT_BACKOFF_MIN;
                    c
                }
                Err(e) => {
                    // A fault is logged once, by the health state; anything else each time.
                    match e.fault() {
                        Some(fault) => state.health.fault(fault),
                        None => tracing::error!(error = %e, "claiming deliveries failed"),
                    }
                    actix_web::rt::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(FAULT_BACKOFF_MAX);
                    continue;
                }
            };
            full_batch = jobs.len() == want;
            let reopens = crate::domain::pacing::reopens_at(now);
            rate_held.extend(held.into_iter().map(|w| (w, reopens)));
            let secrets = in_flight::open_secrets(&state.secrets, secrets);
            let taken = jobs.len();
            // A job that waits must start while its lease still covers a whole attempt.
            let start_by = now + lease_ms - config.request_timeout.as_millis() as i64 - 5_000;
            let mut unstartable = Vec::new();
            for job in jobs {
                let secrets = secrets.get(&job.webhook_id).cloned().unwrap_or_default();
                let mut f = lock(&in_flight);
                if f.may_start(caps, &job.webhook_id, &job.workspace_id) {
                    f.start(&job.id, &job.webhook_id, &job.workspace_id);
                    drop(f);
                    hand((job, secrets, false));
                } else if job.paced {
                    // Counted in this second's rate window: it starts now or not at all (only
                    // when every slot in all is taken). Given back, and its webhook held until
                    // the next second as if its window were used up, rather than claimed and
                    // given back again at every turn while the slots stay taken.
                    rate_held.insert(job.webhook_id.clone(), reopens);
                    unstartable.push(job.id);
                } else {
                    f.waiting.push((job, secrets, false), start_by);
                }
            }
            if !unstartable.is_empty() {
                let released = db(&state, move |conn| claims::release(conn, &unstartable)).await;
                if let Err(e) = released {
                    tracing::error!(error = %e, "giving back deliveries claimed without room failed");
                }
            }
            // Everything due was taken (not merely all the room the caps left when the claim
            // began: room that frees meanwhile must not let fresh deliveries pass a backlog),
            // and nothing is held back by a cap or a rate limit: fresh deliveries may go
            // straight to the senders.
            handoff.set_clear(
                taken < want
                    && !left_behind
                    && rate_held.is_empty()
                    && lock(&in_flight).none_at_cap(
                        config.max_in_flight,
                        per_webhook,
                        per_workspace,
                    ),
            );
        }
        if full_batch {
            continue;
        }
        // Everything claimable now is claimed: sleep until woken (a publish, a finished
        // attempt, a recorded retry) or until the next scheduled retry falls due.
        let now = time::now_ms();
        let next = db(&state, move |conn| claims::next_due_after(conn, now))
            .await
            .ok()
            .flatten();
        // A rate-limited webhook with rows left goes on when its next second starts.
        let next = next.into_iter().chain(rate_held.values().copied()).min();
        let wait = next
            .map(|t| Duration::from_millis((t - time::now_ms()).max(1) as u64))
            .unwrap_or(IDLE_POLL)
            .min(IDLE_POLL);
        tokio::select! {
            _ = state.wakeup.notified() => {}
            _ = actix_web::rt::time::sleep(wait) => {}
        }
    }

    // Shutting down: no more claims, nothing more starts from the jobs waiting for room (their
    // leases are given back below); give attempts in flight a bounded time to finish.
    let waited = lock(&in_flight).waiting.drain();
    let grace = config.request_timeout.min(Duration::from_secs(30)) + Duration::from_secs(1);
    let deadline = Instant::now() + grace;
    while lock(&in_flight).total > 0 && Instant::now() < deadline {
        tokio::select! {
            _ = state.wakeup.notified() => {}
            _ = actix_web::rt::time::sleep(Duration::from_millis(20)) => {}
        }
    }
    let mut unfinished: Vec<String> = lock(&in_flight).ids.drain().collect();
    unfinished.extend(waited);
    // Closing the job queues ends the sender threads; what they still hold is abandoned.
    drop(senders);
    // Outcomes already known are written before the remaining leases are given back.
    let mut recorder = recorder;
    if actix_web::rt::time::timeout(Duration::from_secs(2), &mut recorder)
        .await
        .is_err()
    {
        recorder.abort();
    }
    if !unfinished.is_empty() {
        let n = unfinished.len();
        let _ = db(&state, move |conn| claims::release(conn, &unfinished)).await;
        tracing::warn!(
            deliveries = n,
            "attempts still in flight at shutdown were left pending"
        );
    }
}
