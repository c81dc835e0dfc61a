//! Claiming due deliveries for attempts: leases on pending rows, so that neither this process
//! nor any other instance sharing a PostgreSQL database sends the same attempt twice, and a
//! wake-up for the other instances when work arrives.
//! (A lease left by an instance that died is claimable again once it runs out: every instance
//! looks at the queue at least once a second.) On SQLite, one process, neither is needed.

use super::deliveries::{PENDING, SENDING};
use crate::db::DbConn;
use crate::db::schema::{deliveries, events, webhooks, workspaces};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use std::collections::HashMap;

/// The channel instances LISTEN on: a notification means "deliveries are due now".
pub const WAKE_CHANNEL: &str = "aethenox_due";

#[derive(QueryableByName)]
struct Candidate {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    webhook_id: String,
}

/// Due deliveries (id, webhook) in the order they fell due, at most `per_webhook` of each
/// webhook and none of `full_webhooks`, read without locks. Each webhook's earliest rows are
/// looked up in its own index range, so the cost follows the number of webhooks, not the
/// size of a backlog (one slow endpoint's thousands of due rows are never scanned).
pub fn pg_candidates(
    conn: &mut diesel::PgConnection,
    now: i64,
    room: i64,
    per_webhook: i64,
    full_webhooks: &[String],
) -> QueryResult<Vec<(String, String)>> {
    let rows: Vec<Candidate> = diesel::sql_query(
        "SELECT d.id, d.webhook_id FROM webhooks w CROSS JOIN LATERAL ( \
           SELECT id, webhook_id, next_attempt_at FROM deliveries \
           WHERE webhook_id = w.id AND status = 'pending' AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until < $1) AND (w.enabled OR is_test) \
           ORDER BY next_attempt_at LIMIT $2) d \
         WHERE NOT (w.id = ANY($3)) \
         ORDER BY d.next_attempt_at LIMIT $4",
    )
    .bind::<BigInt, _>(now)
    .bind::<BigInt, _>(per_webhook)
    .bind::<Array<Text>, _>(full_webhooks)
    .bind::<BigInt, _>(room)
    .load(conn)?;
    Ok(rows.into_iter().map(|c| (c.id, c.webhook_id)).collect())
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Of `ids` (due deliveries read without locks), those still claimable, each row locked for
/// this transaction. Rows another instance is claiming right now are skipped rather than
/// waited for, and a row whose lease another instance committed since it was read no longer
/// matches. Only the rows about to be leased are locked (a lock is a write in PostgreSQL).
pub fn lock_claimable(
    conn: &mut diesel::PgConnection,
    ids: &[&str],
    now: i64,
) -> QueryResult<Vec<String>> {
    let rows: Vec<Id> = diesel::sql_query(
        "SELECT id FROM deliveries \
         WHERE id = ANY($1) AND status = 'pending' \
           AND (lease_until IS NULL OR lease_until < $2) \
         FOR UPDATE SKIP LOCKED",
    )
    .bind::<Array<Text>, _>(ids)
    .bind::<BigInt, _>(now)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Tells every instance listening that deliveries are due (delivered when the surrounding
/// transaction commits). Nothing on SQLite: there the only instance wakes itself.
pub fn wake_others(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query(format!("NOTIFY {WAKE_CHANNEL}")).execute(c)?;
    }
    Ok(())
}

/// A delivery claimed for an attempt, with everything needed to send it
/// (fields in the order `claim_due` selects them).
#[derive(Debug, Clone, Queryable)]
pub struct Claimed {
    pub id: String,
    pub event_id: String,
    pub webhook_id: String,
    pub event_type: String,
    pub attempt_count: i32,
    pub manual_attempts: i32,
    pub is_test: bool,
    pub url: String,
    pub body: Vec<u8>,
    pub workspace_id: String,
    /// How `X-Aethenox-Workspace` names the workspace: its uid, when it has one.
    pub workspace_uid: Option<String>,
}

impl Claimed {
    /// The `X-Aethenox-Workspace` header's value: the uid, or the id when there is none.
    pub fn workspace_key(&self) -> &str {
        self.workspace_uid.as_deref().unwrap_or(&self.workspace_id)
    }
}

/// Claims up to `limit` due deliveries (oldest due first) by leasing them until `lease_until`.
/// Deliveries of disabled webhooks wait, except test deliveries. No webhook gets more than
/// `per_webhook` in flight: `in_flight` says how many each already has.
pub fn claim_due(
    conn: &mut DbConn,
    now: i64,
    limit: usize,
    in_flight: &HashMap<String, usize>,
    per_webhook: usize,
    lease_until: i64,
) -> QueryResult<Vec<Claimed>> {
    let full: Vec<String> = in_flight
        .iter()
        .filter(|(_, n)| **n >= per_webhook)
        .map(|(id, _)| id.clone())
        .collect();
    // Room to skip over a busy webhook's backlog within one claim.
    let room = (limit * 4).min(4096) as i64;
    if let DbConn::Pg(c) = conn {
        let found = pg_candidates(c, now, room, per_webhook as i64, &full)?;
        return lease_candidates(conn, found, now, limit, in_flight, per_webhook, lease_until);
    }
    let query = deliveries::table
        .inner_join(webhooks::table)
        .filter(deliveries::status.eq(PENDING))
        .filter(deliveries::next_attempt_at.le(now))
        .filter(
            deliveries::lease_until
                .is_null()
                .or(deliveries::lease_until.lt(now)),
        )
        .filter(webhooks::enabled.eq(true).or(deliveries::is_test.eq(true)))
        .order(deliveries::next_attempt_at.asc())
        .limit(room)
        .select((deliveries::id, deliveries::webhook_id));
    // The hot path runs on the backend's own connection (its statement cache; the combined
    // connection writes the SQL anew for every statement).
    let candidates: Vec<(String, String)> = crate::db::on_backend!(&mut *conn, c => {
        if full.is_empty() {
            query.load(c)?
        } else {
            query.filter(deliveries::webhook_id.ne_all(&full)).load(c)?
        }
    });
    lease_candidates(
        conn,
        candidates,
        now,
        limit,
        in_flight,
        per_webhook,
        lease_until,
    )
}

/// Takes up to `limit` of `candidates` within each webhook's room, leases them, and loads
/// what sending them needs.
fn lease_candidates(
    conn: &mut DbConn,
    candidates: Vec<(String, String)>,
    now: i64,
    limit: usize,
    in_flight: &HashMap<String, usize>,
    per_webhook: usize,
    lease_until: i64,
) -> QueryResult<Vec<Claimed>> {
    let mut taken: HashMap<&str, usize> = HashMap::new();
    let mut ids: Vec<&str> = Vec::with_capacity(limit);
    for (id, webhook) in &candidates {
        let n = taken
            .entry(webhook)
            .or_insert_with(|| in_flight.get(webhook).copied().unwrap_or(0));
        if *n < per_webhook {
            *n += 1;
            ids.push(id);
            if ids.len() == limit {
                break;
            }
        }
    }
    // Instances sharing PostgreSQL: keep only the rows this transaction could lock and that
    // are still claimable (another instance may have leased some since they were read).
    let locked;
    if let DbConn::Pg(c) = conn {
        locked = lock_claimable(c, &ids, now)?;
        ids = locked.iter().map(String::as_str).collect();
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // A lease on a pending row is what "sending" is: the status itself is written once, when
    // the outcome is known, which halves the index updates of every delivery.
    let lease = diesel::update(deliveries::table.filter(deliveries::id.eq_any(&ids)))
        .set(deliveries::lease_until.eq(Some(lease_until)));
    let claimed = with_event_and_workspace!()
        .filter(deliveries::id.eq_any(&ids))
        .select(CLAIMED_COLUMNS);
    crate::db::on_backend!(conn, c => {
        lease.execute(c)?;
        claimed.load(c)
    })
}

/// Deliveries joined with their webhook, event and workspace: what sending one needs.
macro_rules! with_event_and_workspace {
    () => {
        deliveries::table
            .inner_join(webhooks::table)
            .inner_join(
                events::table.on(events::workspace_id
                    .eq(deliveries::workspace_id)
                    .and(events::id.eq(deliveries::event_id))),
            )
            .inner_join(workspaces::table.on(workspaces::id.eq(deliveries::workspace_id)))
    };
}
use with_event_and_workspace;

/// The columns of `Claimed`, in its order.
const CLAIMED_COLUMNS: (
    deliveries::id,
    deliveries::event_id,
    deliveries::webhook_id,
    deliveries::event_type,
    deliveries::attempt_count,
    deliveries::manual_attempts,
    deliveries::is_test,
    webhooks::url,
    events::body,
    deliveries::workspace_id,
    workspaces::uid,
) = (
    deliveries::id,
    deliveries::event_id,
    deliveries::webhook_id,
    deliveries::event_type,
    deliveries::attempt_count,
    deliveries::manual_attempts,
    deliveries::is_test,
    webhooks::url,
    events::body,
    deliveries::workspace_id,
    workspaces::uid,
);

/// One delivery of a workspace with what sending it needs, without claiming it (for attempts
/// made by hand).
pub fn load_claimed(
    conn: &mut DbConn,
    ws: &crate::domain::workspace::WorkspaceId,
    id: &str,
) -> QueryResult<Claimed> {
    with_event_and_workspace!()
        .filter(deliveries::id.eq(id))
        .filter(deliveries::workspace_id.eq(ws.as_str()))
        .select(CLAIMED_COLUMNS)
        .first(conn)
}

/// Leases one delivery for an attempt made by hand (the actor leaves leased rows alone);
/// false when an attempt of it is under way already.
pub fn lease_one(conn: &mut DbConn, id: &str, lease_until: i64, now: i64) -> QueryResult<bool> {
    let n = diesel::update(
        deliveries::table
            .find(id)
            .filter(deliveries::status.ne(SENDING))
            .filter(
                deliveries::lease_until
                    .is_null()
                    .or(deliveries::lease_until.lt(now)),
            ),
    )
    .set(deliveries::lease_until.eq(Some(lease_until)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Puts every leased delivery back in the queue, at start-up (nothing can be in flight yet).
pub fn release_leases(conn: &mut DbConn, now: i64) -> QueryResult<usize> {
    let legacy = diesel::update(deliveries::table.filter(deliveries::status.eq(SENDING)))
        .set((
            deliveries::status.eq(PENDING),
            deliveries::lease_until.eq(None::<i64>),
            deliveries::next_attempt_at.eq(Some(now)),
        ))
        .execute(conn)?;
    let leased = diesel::update(
        deliveries::table
            .filter(deliveries::status.eq(PENDING))
            .filter(deliveries::lease_until.is_not_null()),
    )
    .set(deliveries::lease_until.eq(None::<i64>))
    .execute(conn)?;
    Ok(legacy + leased)
}

/// Releases specific leased deliveries unattempted (shutdown).
pub fn release(conn: &mut DbConn, ids: &[String]) -> QueryResult<usize> {
    diesel::update(
        deliveries::table
            .filter(deliveries::id.eq_any(ids))
            .filter(deliveries::status.eq(PENDING)),
    )
    .set(deliveries::lease_until.eq(None::<i64>))
    .execute(conn)
}

/// When the next pending delivery (of an enabled webhook, or a test) falls due after `after`.
pub fn next_due_after(conn: &mut DbConn, after: i64) -> QueryResult<Option<i64>> {
    let query = deliveries::table
        .inner_join(webhooks::table)
        .filter(deliveries::status.eq(PENDING))
        .filter(deliveries::next_attempt_at.gt(after))
        .filter(webhooks::enabled.eq(true).or(deliveries::is_test.eq(true)))
        .select(diesel::dsl::min(deliveries::next_attempt_at));
    crate::db::on_backend!(conn, c => query.first(c))
}
