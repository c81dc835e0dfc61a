//! Accepting events: one writer thread stores everything published since its last commit in one
//! transaction (group commit), so concurrent publishers don't queue on SQLite's write lock one
//! by one. A publisher is answered only after the commit of its event and deliveries.

use super::arrivals::Arrivals;
use super::handoff::{Fresh, Handoff, Reserved};
use crate::db::fault::Fault;
use crate::db::health::Health;
use crate::db::{DbPool, WriteLock};
use crate::domain::filter::Filter;
use crate::domain::workspace::WorkspaceId;
use crate::domain::{ids, time};
use crate::store::claims::Claimed;
use crate::store::subscribers::Subscriber;
use crate::store::{self, deliveries::NewDelivery, events::NewEvent};
use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};

/// Most events stored in one transaction.
const BATCH: usize = 512;
/// How long a batch waits for company under load, on PostgreSQL.
const LINGER: Duration = Duration::from_millis(2);
/// What an event costs the queue besides its payload.
const QUEUED_OVERHEAD: usize = 256;

/// An event to store, with where to send the answer.
pub struct Publish {
    pub workspace: WorkspaceId,
    /// The workspace's uid, when it has one (`X-Aethenox-Workspace` of its deliveries).
    pub workspace_uid: Option<String>,
    pub id: String,
    /// The id was made here (no publisher gave it), so no stored event can have it.
    pub generated_id: bool,
    pub event_type: String,
    pub payload: Vec<u8>,
    /// The event's `data`, for the webhooks' payload filters.
    pub data: serde_json::Value,
    pub created_at: i64,
    pub reply: oneshot::Sender<Result<Accepted, NotStored>>,
}

/// Why an event was not stored: the database cannot take it now, or anything else.
#[derive(Debug, Clone)]
pub enum NotStored {
    Fault(Fault),
    Failed(String),
}

impl NotStored {
    fn of_pool(e: &diesel::r2d2::PoolError) -> NotStored {
        NotStored::Fault(crate::db::fault::of_pool(e))
    }

    fn of_error(e: &diesel::result::Error) -> NotStored {
        match crate::db::fault::of_error(e) {
            Some(fault) => NotStored::Fault(fault),
            None => NotStored::Failed(e.to_string()),
        }
    }
}

/// The writer's payload filters, parsed once per webhook and kept while its stored text is the
/// same (a change on any instance is seen at the next event, by its text).
#[derive(Default)]
struct Filters(HashMap<String, (String, Option<Filter>)>);

impl Filters {
    /// Whether `data` makes a delivery for the webhook `id` whose stored filter is `text`.
    fn allows(&mut self, id: &str, text: Option<&str>, data: &serde_json::Value) -> bool {
        let Some(text) = text else {
            return true;
        };
        if self.0.get(id).is_none_or(|(t, _)| t != text) {
            if self.0.len() >= 10_000 {
                self.0.clear();
            }
            let parsed = Filter::parse_text(text).ok().flatten();
            if parsed.is_none() {
                // Stored filters were checked when saved; one that no longer parses (written
                // by a newer version) lets every event through rather than lose any.
                tracing::warn!(webhook_id = %id, "a stored payload filter does not parse; it is ignored");
            }
            self.0.insert(id.to_owned(), (text.to_owned(), parsed));
        }
        match self.0.get(id) {
            Some((_, Some(filter))) => filter.matches(data),
            _ => true,
        }
    }
}

/// How an event was accepted: `created` is false when its id was already known and this is
/// the first answer again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub id: String,
    pub deliveries: i32,
    pub created: bool,
}

/// An event in the queue, holding its share of the byte budget until it is answered.
struct Queued {
    publish: Publish,
    _budget: OwnedSemaphorePermit,
    /// When it was published.
    at: Instant,
}

/// Why an event was not queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotQueued {
    /// The queue's byte budget (`Config::max_queued_event_bytes`) is spent.
    Full,
    Stopped,
}

/// The sending side; the writer thread ends when the last `Intake` is dropped.
pub struct Intake {
    tx: mpsc::Sender<Queued>,
    budget: Arc<Semaphore>,
    /// The delivery actor's hand-off, while it runs.
    handoff: Slot,
}

type Slot = Arc<RwLock<Option<Arc<Handoff>>>>;

impl Intake {
    pub fn start(
        pool: DbPool,
        health: Arc<Health>,
        wakeup: Arc<Notify>,
        write_lock: WriteLock,
        max_queued_bytes: usize,
        on_postgres: bool,
    ) -> std::io::Result<Intake> {
        let (tx, rx) = mpsc::channel::<Queued>();
        let handoff = Slot::default();
        let writer_handoff = handoff.clone();
        std::thread::Builder::new()
            .name("intake".into())
            .spawn(move || {
                let linger = on_postgres.then_some(LINGER);
                writer(pool, health, wakeup, write_lock, writer_handoff, rx, linger)
            })?;
        Ok(Intake {
            tx,
            budget: Arc::new(Semaphore::new(max_queued_bytes)),
            handoff,
        })
    }

    /// Where fresh deliveries may go straight to (the delivery actor, once started), or none.
    pub fn attach(&self, handoff: Option<Arc<Handoff>>) {
        *self.handoff.write().unwrap_or_else(|p| p.into_inner()) = handoff;
    }

    /// Deliveries the delivery actor has claimed that wait in memory for room (0 before it
    /// starts).
    pub fn held(&self) -> usize {
        let handoff = self.handoff.read().unwrap_or_else(|p| p.into_inner());
        handoff.as_ref().map_or(0, |h| h.held())
    }

    /// Hands the event to the writer; the answer comes once it is committed.
    pub fn publish(&self, publish: Publish) -> Result<(), NotQueued> {
        let cost = u32::try_from(publish.payload.len() + QUEUED_OVERHEAD).unwrap_or(u32::MAX);
        let budget = self
            .budget
            .clone()
            .try_acquire_many_owned(cost)
            .map_err(|_| NotQueued::Full)?;
        self.tx
            .send(Queued {
                publish,
                _budget: budget,
                at: Instant::now(),
            })
            .map_err(|_| NotQueued::Stopped)
    }
}

/// What storing a batch did: each publisher's answer, and the deliveries stored leased to
/// this process, to hand to the senders once the transaction commits.
struct Stored {
    answers: Vec<Accepted>,
    straight: Option<Reserved>,
    /// Some delivery was stored without a lease: a claim has to take it.
    queued: bool,
}

/// Stores a batch in a few statements whatever its size (a lookup of known ids unless every id
/// was made here, the subscribers of each type, then the events and deliveries: one statement
/// on PostgreSQL, where each is a round trip). With a
/// `handoff` that has room, fresh deliveries are stored leased (see `handoff`); the room they
/// took is given back if this fails or does not commit (`Reserved` dropped).
fn store_batch(
    conn: &mut crate::db::DbConn,
    batch: &[Queued],
    filters: &mut Filters,
    handoff: Option<&Arc<Handoff>>,
) -> diesel::QueryResult<Stored> {
    let now = time::now_ms();
    // Event ids are the workspace's own: known ids are looked up per workspace, and answer
    // with their first acceptance (so does an id repeated within the batch). An id made here
    // cannot be known: a batch of those needs no lookup.
    let mut by_workspace: HashMap<&WorkspaceId, Vec<&str>> = HashMap::new();
    for p in batch.iter().map(|q| &q.publish).filter(|p| !p.generated_id) {
        by_workspace.entry(&p.workspace).or_default().push(&p.id);
    }
    let mut known: HashMap<(&WorkspaceId, String), i32> = HashMap::new();
    for (ws, ids) in &by_workspace {
        for (id, n) in store::events::delivery_counts(conn, ws, ids)? {
            known.insert((*ws, id), n);
        }
    }
    let mut subscribers: HashMap<(&WorkspaceId, &str), Vec<Subscriber>> = HashMap::new();
    for p in batch.iter().map(|q| &q.publish) {
        let key = (&p.workspace, p.event_type.as_str());
        if !known.contains_key(&(&p.workspace, p.id.clone())) && !subscribers.contains_key(&key) {
            subscribers.insert(
                key,
                store::subscribers::subscribed(conn, &p.workspace, &p.event_type, now)?,
            );
        }
    }
    let mut events: Vec<NewEvent> = Vec::new();
    let mut rows: Vec<NewDelivery> = Vec::new();
    // For each row: the publish and the subscriber it is for.
    let mut made: Vec<(&Publish, &Subscriber)> = Vec::new();
    let mut answers = Vec::with_capacity(batch.len());
    for p in batch.iter().map(|q| &q.publish) {
        if let Some(count) = known.get(&(&p.workspace, p.id.clone())) {
            answers.push(Accepted {
                id: p.id.clone(),
                deliveries: *count,
                created: false,
            });
            continue;
        }
        let before = rows.len();
        for w in &subscribers[&(&p.workspace, p.event_type.as_str())] {
            if filters.allows(&w.id, w.filter.as_deref(), &p.data) {
                rows.push(NewDelivery {
                    workspace: &p.workspace,
                    id: ids::new_id("dlv"),
                    event_id: &p.id,
                    webhook_id: &w.id,
                    event_type: &p.event_type,
                    is_test: false,
                    lease_until: None,
                });
                made.push((p, w));
            }
        }
        let count = (rows.len() - before) as i32;
        events.push(NewEvent {
            workspace: &p.workspace,
            id: &p.id,
            event_type: &p.event_type,
            body: &p.payload,
            delivery_count: count,
            created_at: p.created_at,
        });
        known.insert((&p.workspace, p.id.clone()), count);
        answers.push(Accepted {
            id: p.id.clone(),
            deliveries: count,
            created: true,
        });
    }
    let straight = handoff.map(|h| take_straight(h, &mut rows, &made, now));
    match conn {
        crate::db::DbConn::Pg(c) => store::pg_batch::insert_published(c, &events, &rows, now)?,
        _ => {
            store::events::insert_many(conn, &events)?;
            store::deliveries::insert_many(conn, &rows, now)?;
        }
    }
    let queued = rows.iter().any(|r| r.lease_until.is_none());
    // The other instances are told of rows to claim. The write above is committed already on
    // PostgreSQL, so a failure here must not fail the batch: this instance's own dispatcher,
    // woken once this returns, claims them anyway.
    if queued && let Err(e) = store::claims::wake_others(conn) {
        tracing::warn!(error = %e, "telling the other instances of queued deliveries failed");
    }
    Ok(Stored {
        answers,
        straight,
        queued,
    })
}

/// Leases the rows that may go straight to a sender (not those of ordered or rate-limited
/// webhooks, which a claim paces) and returns what sending them needs.
fn take_straight(
    handoff: &Arc<Handoff>,
    rows: &mut [NewDelivery<'_>],
    made: &[(&Publish, &Subscriber)],
    now: i64,
) -> Reserved {
    let eligible: Vec<usize> = (0..rows.len())
        .filter(|&i| !made[i].1.ordered && !made[i].1.rate_limited)
        .collect();
    if eligible.is_empty() || !handoff.is_clear() {
        return Reserved::new(handoff.clone(), Vec::new(), HashMap::new());
    }
    let fresh: Vec<Fresh> = eligible
        .iter()
        .map(|&i| Fresh {
            id: &rows[i].id,
            webhook_id: rows[i].webhook_id,
            workspace_id: rows[i].workspace.as_str(),
        })
        .collect();
    let taken = handoff.reserve(&fresh);
    let lease_until = handoff.lease_until(now);
    let mut straight = Vec::new();
    let mut sealed = HashMap::new();
    for (&i, took) in eligible.iter().zip(taken) {
        if !took {
            continue;
        }
        let (p, w) = made[i];
        sealed
            .entry(w.id.clone())
            .or_insert_with(|| w.secrets.clone());
        rows[i].lease_until = Some(lease_until);
        straight.push(Claimed {
            id: rows[i].id.clone(),
            event_id: p.id.clone(),
            webhook_id: w.id.clone(),
            event_type: p.event_type.clone(),
            attempt_count: 0,
            manual_attempts: 0,
            is_test: false,
            url: w.url.clone(),
            body: p.payload.clone(),
            workspace_id: p.workspace.as_str().to_owned(),
            workspace_uid: p.workspace_uid.clone(),
            headers: w.headers.clone(),
            ordered: false,
            paced: false,
        });
    }
    Reserved::new(handoff.clone(), straight, sealed)
}

fn writer(
    pool: DbPool,
    health: Arc<Health>,
    wakeup: Arc<Notify>,
    write_lock: WriteLock,
    handoff: Slot,
    rx: mpsc::Receiver<Queued>,
    linger: Option<Duration>,
) {
    let filters = std::cell::RefCell::new(Filters::default());
    let mut last_len = 0;
    let mut arrivals = Arrivals::default();
    while let Ok(first) = rx.recv() {
        arrivals.see(first.at);
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(q) => {
                    arrivals.see(q.at);
                    batch.push(q)
                }
                Err(_) => break,
            }
        }
        // Under load (the last batch held more than one event) on PostgreSQL, where a batch
        // costs the same round trips and commit whatever its size, a batch waits up to
        // `LINGER` for company. At a fixed load a second instance halves every batch, and that
        // cost per delivery is what limits the instances one database carries (BENCHMARKS.md,
        // issue 21). At light load nothing waits, nor past a pause in arrivals.
        if let Some(linger) = linger.filter(|_| last_len > 1) {
            let until = Instant::now() + linger;
            while batch.len() < BATCH {
                let deadline = arrivals.likely_until().map_or(until, |l| l.min(until));
                match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(q) => {
                        arrivals.see(q.at);
                        batch.push(q)
                    }
                    Err(_) => break,
                }
            }
        }
        last_len = batch.len();
        let handoff = handoff.read().unwrap_or_else(|p| p.into_inner()).clone();
        let store = |batch: &[Queued]| {
            let mut conn = pool.get().map_err(|e| NotStored::of_pool(&e))?;
            let store = |c: &mut crate::db::DbConn| {
                store_batch(c, batch, &mut filters.borrow_mut(), handoff.as_ref())
            };
            // On PostgreSQL the batch's writes are one statement, atomic alone, and its reads
            // (at READ COMMITTED) gain nothing from a transaction: two or three round trips
            // instead of five or six.
            let mut stored = match &mut *conn {
                crate::db::DbConn::Pg(_) => store(&mut conn),
                _ => crate::db::immediate(&mut conn, &write_lock, store),
            }
            .map_err(|e| NotStored::of_error(&e));
            if let Ok(s) = &mut stored
                && let Some(straight) = s.straight.take()
            {
                let unsent = straight.hand_over();
                if !unsent.is_empty() {
                    // The actor stopped meanwhile: back to the queue.
                    let _ = store::claims::release(&mut conn, &unsent);
                }
            }
            // A connection whose server went away is not used again.
            if let Err(NotStored::Fault(Fault::Unavailable)) = &stored {
                crate::db::discard(&mut conn);
            }
            stored
        };
        let store = |batch: &[Queued]| {
            let stored = store(batch);
            match &stored {
                Err(NotStored::Fault(fault)) => health.fault(*fault),
                // Woken after the commit: even if a publisher has hung up by now, what was
                // stored is delivered at once.
                Ok(s) if s.queued => wakeup.notify_one(),
                _ => {}
            }
            stored.map(|s| s.answers)
        };
        let stored = store(&batch);
        // One event that cannot be stored (its workspace deleted a moment ago) must not fail
        // the others of its batch: they are stored one by one, each answered for itself. (A
        // database that cannot take writes fails them all alike, at once.)
        if matches!(stored, Err(NotStored::Failed(_))) && batch.len() > 1 {
            for q in batch {
                let answer = store(std::slice::from_ref(&q)).and_then(|mut a| {
                    a.pop()
                        .ok_or_else(|| NotStored::Failed("no answer".to_owned()))
                });
                if let Err(NotStored::Failed(e)) = &answer {
                    tracing::error!(error = %e, "storing a published event failed");
                }
                let _ = q.publish.reply.send(answer);
            }
            continue;
        }
        match stored {
            Ok(answers) => {
                for (q, a) in batch.into_iter().zip(answers) {
                    let _ = q.publish.reply.send(Ok(a));
                }
            }
            Err(e) => {
                // A fault is logged once by the health state, not once per batch.
                if let NotStored::Failed(message) = &e {
                    tracing::error!(error = %message, events = batch.len(), "storing published events failed");
                }
                for q in batch {
                    let _ = q.publish.reply.send(Err(e.clone()));
                }
            }
        }
    }
}
