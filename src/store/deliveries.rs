//! The deliveries table is the queue: rows are claimed with a lease, sent outside any
//! transaction, and their outcome recorded afterwards, many at a time.

use crate::db::DbConn;
use crate::db::schema::{attempts, deliveries, events, webhooks};
use diesel::prelude::*;
use std::collections::HashMap;

pub const PENDING: &str = "pending";
/// Shown (and filtered on) for a pending delivery under a live lease; never stored by this
/// version (older databases may hold it, and start-up turns it back into pending).
pub const SENDING: &str = "sending";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";

pub struct NewDelivery<'a> {
    pub id: String,
    pub event_id: &'a str,
    pub webhook_id: &'a str,
    pub event_type: &'a str,
    pub is_test: bool,
}

pub fn insert_many(conn: &mut DbConn, rows: &[NewDelivery<'_>], now: i64) -> QueryResult<()> {
    let values: Vec<_> = rows
        .iter()
        .map(|d| {
            (
                deliveries::id.eq(d.id.as_str()),
                deliveries::event_id.eq(d.event_id),
                deliveries::webhook_id.eq(d.webhook_id),
                deliveries::event_type.eq(d.event_type),
                deliveries::status.eq(PENDING),
                deliveries::attempt_count.eq(0),
                deliveries::next_attempt_at.eq(Some(now)),
                deliveries::is_test.eq(d.is_test),
                deliveries::created_at.eq(now),
                deliveries::updated_at.eq(now),
            )
        })
        .collect();
    // SQLite caps bound parameters per statement; 10 per row.
    for chunk in values.chunks(3000) {
        let insert = diesel::insert_into(deliveries::table).values(chunk);
        crate::db::on_backend!(conn, c => insert.execute(c))?;
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
    let candidates: Vec<(String, String)> = match conn {
        DbConn::Pg(c) => super::claims::pg_candidates(c, now, room, &full)?,
        DbConn::Sqlite(_) => {
            let mut query = deliveries::table
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
                .select((deliveries::id, deliveries::webhook_id))
                .into_boxed();
            if !full.is_empty() {
                query = query.filter(deliveries::webhook_id.ne_all(full));
            }
            query.load(conn)?
        }
    };
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
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // A lease on a pending row is what "sending" is: the status itself is written once, when
    // the outcome is known, which halves the index updates of every delivery.
    diesel::update(deliveries::table.filter(deliveries::id.eq_any(&ids)))
        .set(deliveries::lease_until.eq(Some(lease_until)))
        .execute(conn)?;
    deliveries::table
        .inner_join(webhooks::table)
        .inner_join(events::table)
        .filter(deliveries::id.eq_any(&ids))
        .select(CLAIMED_COLUMNS)
        .load(conn)
}

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
);

/// One delivery with what sending it needs, without claiming it (for attempts made by hand).
pub fn load_claimed(conn: &mut DbConn, id: &str) -> QueryResult<Claimed> {
    deliveries::table
        .inner_join(webhooks::table)
        .inner_join(events::table)
        .filter(deliveries::id.eq(id))
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
    deliveries::table
        .inner_join(webhooks::table)
        .filter(deliveries::status.eq(PENDING))
        .filter(deliveries::next_attempt_at.gt(after))
        .filter(webhooks::enabled.eq(true).or(deliveries::is_test.eq(true)))
        .select(diesel::dsl::min(deliveries::next_attempt_at))
        .first(conn)
}

/// (due now, scheduled later) pending deliveries, for /metrics.
pub fn queue_depth(conn: &mut DbConn, now: i64) -> QueryResult<(i64, i64)> {
    let due = deliveries::table
        .filter(deliveries::status.eq(PENDING))
        .filter(deliveries::next_attempt_at.le(now))
        .count()
        .get_result(conn)?;
    let later = deliveries::table
        .filter(deliveries::status.eq(PENDING))
        .filter(deliveries::next_attempt_at.gt(now))
        .count()
        .get_result(conn)?;
    Ok((due, later))
}

/// One attempt as sent and as answered.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = attempts)]
pub struct NewAttempt {
    pub delivery_id: String,
    pub attempted_at: i64,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error_class: Option<String>,
    pub error: Option<String>,
    pub request_headers: String,
    pub response_headers: Option<String>,
    pub response_body: Option<Vec<u8>>,
    pub response_truncated: bool,
    pub trigger: String,
    pub triggered_by: Option<String>,
}

/// Where a delivery stands after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Succeeded,
    RetryAt(i64),
    Failed,
    /// A failed attempt made by hand: the delivery keeps its state and schedule.
    Unchanged,
}

/// What the recorder writes for one finished attempt.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub attempt: NewAttempt,
    pub webhook_id: String,
    pub after: After,
    /// The endpoint answered 410 Gone: the webhook is disabled at once.
    pub gone: bool,
    /// Test deliveries say nothing about the webhook's health.
    pub affects_health: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = deliveries)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub webhook_id: String,
    pub event_type: String,
    pub status: String,
    pub attempt_count: i32,
    pub next_attempt_at: Option<i64>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub is_test: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub manual_attempts: i32,
    pub last_status_class: Option<i32>,
    pub last_duration_ms: Option<i32>,
    pub lease_until: Option<i64>,
}

impl Delivery {
    /// The state people see: a pending delivery under a live lease is being sent.
    pub fn shown_status(&self, now: i64) -> &str {
        if self.status == PENDING && self.lease_until.is_some_and(|l| l > now) {
            SENDING
        } else {
            &self.status
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attempts)]
pub struct Attempt {
    pub id: i32,
    pub delivery_id: String,
    pub attempted_at: i64,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error_class: Option<String>,
    pub error: Option<String>,
    pub request_headers: String,
    pub response_headers: Option<String>,
    pub response_body: Option<Vec<u8>>,
    pub response_truncated: bool,
    pub trigger: String,
    pub triggered_by: Option<String>,
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Delivery> {
    deliveries::table
        .find(id)
        .select(Delivery::as_select())
        .first(conn)
}

pub fn attempts_of(conn: &mut DbConn, delivery_id: &str) -> QueryResult<Vec<Attempt>> {
    attempts::table
        .filter(attempts::delivery_id.eq(delivery_id))
        .order(attempts::id.asc())
        .select(Attempt::as_select())
        .load(conn)
}

pub fn for_event(conn: &mut DbConn, event_id: &str) -> QueryResult<Vec<Delivery>> {
    deliveries::table
        .filter(deliveries::event_id.eq(event_id))
        .order(deliveries::id.asc())
        .select(Delivery::as_select())
        .load(conn)
}

/// Writes a batch of outcomes: the attempts, the deliveries' new state, and each webhook's
/// health (a success clears its run of failures; 410, or failing for `disable_after_ms`
/// without a success, disables it). Returns the webhooks disabled by this batch.
pub fn record(
    conn: &mut DbConn,
    outcomes: &[Outcome],
    now: i64,
    disable_after_ms: i64,
    disable_after_text: &str,
) -> QueryResult<Vec<(String, String)>> {
    let rows: Vec<&NewAttempt> = outcomes.iter().map(|o| &o.attempt).collect();
    for chunk in rows.chunks(500) {
        let insert = diesel::insert_into(attempts::table)
            .values(chunk.iter().map(|a| (*a).clone()).collect::<Vec<_>>());
        crate::db::on_backend!(conn, c => insert.execute(c))?;
    }
    for o in outcomes {
        let manual = i32::from(o.attempt.trigger != "automatic");
        let class = o.attempt.status_code.map_or(0, |c| c / 100);
        let error = o.attempt.error.as_deref();
        let target = deliveries::table.find(&o.attempt.delivery_id);
        let common = (
            deliveries::attempt_count.eq(deliveries::attempt_count + 1),
            deliveries::manual_attempts.eq(deliveries::manual_attempts + manual),
            deliveries::lease_until.eq(None::<i64>),
            deliveries::last_status_code.eq(o.attempt.status_code),
            deliveries::last_status_class.eq(Some(class)),
            deliveries::last_duration_ms.eq(Some(o.attempt.duration_ms)),
            deliveries::last_error.eq(error),
            deliveries::updated_at.eq(now),
        );
        let (status, next) = match o.after {
            After::Succeeded => (SUCCEEDED, None),
            After::RetryAt(at) => (PENDING, Some(at)),
            After::Failed => (FAILED, None),
            After::Unchanged => {
                diesel::update(target).set(common).execute(conn)?;
                continue;
            }
        };
        diesel::update(target)
            .set((
                common,
                deliveries::status.eq(status),
                deliveries::next_attempt_at.eq(next),
            ))
            .execute(conn)?;
    }

    let mut disabled = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for o in outcomes.iter().rev().filter(|o| o.affects_health) {
        // The last outcome of each webhook in this batch decides its health.
        if seen.contains(&o.webhook_id.as_str()) {
            continue;
        }
        seen.push(&o.webhook_id);
        let webhook = webhooks::table.find(&o.webhook_id);
        if o.after == After::Succeeded {
            diesel::update(webhook.filter(webhooks::failing_since.is_not_null()))
                .set(webhooks::failing_since.eq(None::<i64>))
                .execute(conn)?;
            continue;
        }
        diesel::update(webhook.filter(webhooks::failing_since.is_null()))
            .set(webhooks::failing_since.eq(Some(o.attempt.attempted_at)))
            .execute(conn)?;
        let gone = outcomes
            .iter()
            .any(|x| x.gone && x.webhook_id == o.webhook_id);
        let reason = if gone {
            Some("the endpoint answered 410 Gone".to_owned())
        } else {
            let since: Option<i64> = webhook
                .select(webhooks::failing_since)
                .first(conn)
                .optional()?
                .flatten();
            since
                .filter(|s| now - s >= disable_after_ms)
                .map(|_| format!("deliveries failed for {disable_after_text} without a success"))
        };
        if let Some(reason) = reason {
            let n = diesel::update(webhook.filter(webhooks::enabled.eq(true)))
                .set((
                    webhooks::enabled.eq(false),
                    webhooks::disabled_reason.eq(Some(reason.as_str())),
                    webhooks::disabled_at.eq(Some(now)),
                    webhooks::updated_at.eq(now),
                ))
                .execute(conn)?;
            if n > 0 {
                disabled.push((o.webhook_id.clone(), reason));
            }
        }
    }
    Ok(disabled)
}

/// Puts failed deliveries back in the queue for one more attempt now.
pub fn requeue(conn: &mut DbConn, ids: &[String], now: i64) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in ids.chunks(900) {
        n += diesel::update(
            deliveries::table
                .filter(deliveries::id.eq_any(chunk))
                .filter(deliveries::status.eq(FAILED)),
        )
        .set((
            deliveries::status.eq(PENDING),
            deliveries::next_attempt_at.eq(Some(now)),
            deliveries::lease_until.eq(None::<i64>),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?;
    }
    Ok(n)
}
