//! Retention: a background thread that, every `prune_every` (a minute), deletes deliveries
//! finished longer ago than `--retention` (with their attempts; an event goes with its last
//! delivery), events nobody was subscribed to,
//! audit entries older than `--audit-retention` and old bulk retries, then gives the freed
//! space back to the file system. Everything goes in small batches, each its own short write
//! transaction with pauses between them, so deliveries and pages never wait long behind it.
//! A delivery that is still pending (being retried) is never deleted, whatever its age.

use crate::db::space;
use crate::domain::{ids, time};
use crate::metrics::{PruneReport, RowCounts};
use crate::state::AppState;
use crate::store::retention as store;
use actix_web::web::Data;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Deliveries per write transaction.
const BATCH: i64 = 200;
/// Free pages given back per step of incremental vacuum (about 1 MiB of 4 KiB pages).
const VACUUM_PAGES: i64 = 256;
/// The pause between batches, in which deliveries and pages get the database.
const PAUSE: Duration = Duration::from_millis(5);

/// The running pruner; stops (after the batch in hand) when dropped or `stop`ped.
pub struct Pruner {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Pruner {
    pub fn start(state: Data<AppState>) -> std::io::Result<Pruner> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("retention".into())
            .spawn(move || {
                let every = state.config.prune_every;
                let mut next = Instant::now() + every.min(Duration::from_secs(5));
                while !flag.load(Ordering::Relaxed) {
                    // While the database is down there is nothing to prune; once it is back,
                    // a pass that a fault cut short runs again within 5 s.
                    if Instant::now() >= next && state.health.current().is_none() {
                        let mut again = every;
                        match pass(&state, &flag) {
                            Ok(None) => {
                                tracing::debug!("another instance is pruning the database")
                            }
                            Ok(Some(report)) => {
                                if report.deliveries + report.events + report.audit > 0 {
                                    tracing::info!(
                                        deliveries = report.deliveries,
                                        attempts = report.attempts,
                                        events = report.events,
                                        audit = report.audit,
                                        freed_bytes = report.freed_bytes,
                                        took_ms = report.took_ms,
                                        "retention pass"
                                    );
                                }
                                state.metrics.pruned(report);
                            }
                            // A database fault is logged once, by the health state.
                            Err(e) => match crate::error::fault_in(&e) {
                                Some(fault) => {
                                    state.health.fault(fault);
                                    again = every.min(Duration::from_secs(5));
                                }
                                None => tracing::error!(error = %e, "retention pass failed"),
                            },
                        }
                        next = Instant::now() + again;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })?;
        Ok(Pruner {
            stop,
            thread: Some(thread),
        })
    }

    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Pruner {
    fn drop(&mut self) {
        self.halt();
    }
}

/// A pass of this instance, or None when another instance sharing PostgreSQL is running one
/// (they would only contend for the same rows).
fn pass(state: &AppState, stop: &AtomicBool) -> anyhow::Result<Option<PruneReport>> {
    if !state.location.is_postgres() {
        return prune(state, stop).map(Some);
    }
    let mut guard = state.pool.get()?;
    let crate::db::DbConn::Pg(lock) = &mut *guard else {
        anyhow::bail!("a PostgreSQL location gave another kind of connection");
    };
    if !store::try_lock_pass(lock)? {
        return Ok(None);
    }
    let report = prune(state, stop);
    store::unlock_pass(lock)?;
    report.map(Some)
}

/// One pass: everything past its retention, a batch at a time, then the space given back.
/// `stop` ends it between batches.
pub fn prune(state: &AppState, stop: &AtomicBool) -> anyhow::Result<PruneReport> {
    let started = Instant::now();
    let now = time::now_ms();
    let cutoff = now - state.config.retention.as_millis() as i64;
    let audit_cutoff = now - state.config.audit_retention.as_millis() as i64;
    let id_below = ids::id_floor("dlv", cutoff);
    let mut report = PruneReport {
        at_ms: now,
        ..PruneReport::default()
    };
    let mut conn = state.pool.get()?;
    let before = space::space(&mut conn, &state.config.db_path())?;
    let lock = &state.write_lock;
    while !stop.load(Ordering::Relaxed) {
        let batch = store::finished_before(&mut conn, cutoff, &id_below, BATCH)?;
        if batch.is_empty() {
            break;
        }
        let (ids, events): (Vec<String>, Vec<(String, String)>) = batch.into_iter().unzip();
        // An event goes with its last delivery (the others of a fan-out may be kept longer).
        let (d, a, e) = crate::db::immediate(&mut conn, lock, |c| {
            let (d, a) = store::delete_deliveries(c, &ids)?;
            Ok::<_, diesel::result::Error>((d, a, store::delete_events_of(c, events)?))
        })?;
        report.deliveries += d as u64;
        report.attempts += a as u64;
        report.events += e as u64;
        std::thread::sleep(PAUSE);
    }
    while !stop.load(Ordering::Relaxed) {
        let keys = store::unsubscribed_events_before(&mut conn, cutoff, BATCH * 5)?;
        if keys.is_empty() {
            break;
        }
        report.events +=
            crate::db::immediate(&mut conn, lock, |c| store::delete_events_of(c, keys))? as u64;
        std::thread::sleep(PAUSE);
    }
    while !stop.load(Ordering::Relaxed) {
        let n = crate::db::immediate(&mut conn, lock, |c| {
            store::delete_audit_before(c, audit_cutoff, BATCH * 5)
        })?;
        report.audit += n as u64;
        if n == 0 {
            break;
        }
        std::thread::sleep(PAUSE);
    }
    crate::db::immediate(&mut conn, lock, |c| {
        store::delete_bulk_retries_before(c, cutoff)
    })?;
    // Sign-in attempts shared through PostgreSQL (in memory on SQLite, bounded there).
    if let crate::db::DbConn::Pg(c) = &mut *conn {
        let quiet = now - crate::limits::throttle::FORGET_AFTER.as_millis() as i64;
        crate::store::sign_in_attempts::forget_quiet(c, quiet)?;
    }
    // Until no free page is left, or a step frees nothing (never loop on a file that will not
    // shrink).
    // (PostgreSQL's autovacuum does this by itself.)
    let mut free = i64::MAX;
    while !stop.load(Ordering::Relaxed) && !state.location.is_postgres() {
        let left = crate::db::immediate(&mut conn, lock, |c| match c {
            crate::db::DbConn::Sqlite(c) => space::incremental_vacuum(c, VACUUM_PAGES),
            crate::db::DbConn::Pg(_) => Ok(0),
        })?;
        if left == 0 || left >= free {
            break;
        }
        free = left;
        std::thread::sleep(PAUSE);
    }
    let after = space::space(&mut conn, &state.config.db_path())?;
    report.freed_bytes = before.file_bytes - after.file_bytes;
    report.counts = RowCounts {
        at_ms: time::now_ms(),
        rows: store::row_counts(&mut conn)?,
        oldest_delivery_ms: store::oldest_delivery(&mut conn)?,
    };
    report.took_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}
