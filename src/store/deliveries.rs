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
        diesel::insert_into(deliveries::table)
            .values(chunk)
            .execute(conn)?;
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
    let full: Vec<&String> = in_flight
        .iter()
        .filter(|(_, n)| **n >= per_webhook)
        .map(|(id, _)| id)
        .collect();
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
        // Room to skip over a busy webhook's backlog within one claim.
        .limit((limit * 4).min(4096) as i64)
        .select((deliveries::id, deliveries::webhook_id))
        .into_boxed();
    if !full.is_empty() {
        query = query.filter(deliveries::webhook_id.ne_all(full));
    }
    let candidates: Vec<(String, String)> = query.load(conn)?;
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
        diesel::insert_into(attempts::table)
            .values(chunk.iter().map(|a| (*a).clone()).collect::<Vec<_>>())
            .execute(conn)?;
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

/// What the Delivery Log shows; every field narrows the list.
#[derive(Debug, Default, Clone)]
pub struct LogFilter {
    pub webhook_id: Option<String>,
    pub status: Option<String>,
    pub event_type: Option<String>,
    /// 2, 3, 4, 5 for that class of response, 0 for attempts that got no response.
    pub status_class: Option<i32>,
    /// Delivery ids are time-ordered, so a time range is an id range: from (inclusive)…
    pub id_from: Option<String>,
    /// …to (exclusive).
    pub id_to: Option<String>,
    /// A delivery id or an event id.
    pub search: Option<String>,
    /// The keyset cursor: only deliveries older than this id.
    pub before: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LogRow {
    pub delivery: Delivery,
    pub webhook_url: String,
}

/// One page of the Delivery Log, newest first (keyset pagination: no OFFSET).
pub fn log_page(conn: &mut DbConn, f: &LogFilter, limit: i64) -> QueryResult<Vec<LogRow>> {
    let mut q = deliveries::table
        .inner_join(webhooks::table)
        .select((Delivery::as_select(), webhooks::url))
        .order(deliveries::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(v) = &f.webhook_id {
        q = q.filter(deliveries::webhook_id.eq(v));
    }
    let now = crate::domain::time::now_ms();
    match f.status.as_deref() {
        Some(SENDING) => {
            q = q
                .filter(deliveries::status.eq(PENDING))
                .filter(deliveries::lease_until.gt(now));
        }
        Some(PENDING) => {
            q = q.filter(deliveries::status.eq(PENDING)).filter(
                deliveries::lease_until
                    .is_null()
                    .or(deliveries::lease_until.le(now)),
            );
        }
        Some(v) => q = q.filter(deliveries::status.eq(v)),
        None => {}
    }
    if let Some(v) = &f.event_type {
        q = q.filter(deliveries::event_type.eq(v));
    }
    if let Some(v) = f.status_class {
        q = q.filter(deliveries::last_status_class.eq(v));
    }
    if let Some(v) = &f.id_from {
        q = q.filter(deliveries::id.ge(v));
    }
    if let Some(v) = &f.id_to {
        q = q.filter(deliveries::id.lt(v));
    }
    if let Some(v) = &f.search {
        q = q.filter(deliveries::id.eq(v).or(deliveries::event_id.eq(v)));
    }
    if let Some(v) = &f.before {
        q = q.filter(deliveries::id.lt(v));
    }
    let rows: Vec<(Delivery, String)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(delivery, webhook_url)| LogRow {
            delivery,
            webhook_url,
        })
        .collect())
}

/// (created_at, status, last_duration_ms) of a webhook's non-test deliveries from `id_from` on.
pub fn recent_of(
    conn: &mut DbConn,
    webhook_id: &str,
    id_from: &str,
) -> QueryResult<Vec<(i64, String, Option<i32>)>> {
    deliveries::table
        .filter(deliveries::webhook_id.eq(webhook_id))
        .filter(deliveries::id.ge(id_from))
        .filter(deliveries::is_test.eq(false))
        .select((
            deliveries::created_at,
            deliveries::status,
            deliveries::last_duration_ms,
        ))
        .load(conn)
}

/// The most recent error of a webhook's deliveries: (when, status code, error).
pub fn last_error(
    conn: &mut DbConn,
    webhook_id: &str,
) -> QueryResult<Option<(i64, Option<i32>, String)>> {
    let row: Option<(i64, Option<i32>, Option<String>)> = deliveries::table
        .filter(deliveries::webhook_id.eq(webhook_id))
        .filter(deliveries::last_error.is_not_null())
        .order(deliveries::updated_at.desc())
        .select((
            deliveries::updated_at,
            deliveries::last_status_code,
            deliveries::last_error,
        ))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(at, code, e)| e.map(|e| (at, code, e))))
}

/// Ids of a webhook's failed (non-test) deliveries created from `id_from` on.
pub fn failed_since(
    conn: &mut DbConn,
    webhook_id: &str,
    id_from: &str,
) -> QueryResult<Vec<String>> {
    deliveries::table
        .filter(deliveries::webhook_id.eq(webhook_id))
        .filter(deliveries::status.eq(FAILED))
        .filter(deliveries::is_test.eq(false))
        .filter(deliveries::id.ge(id_from))
        .select(deliveries::id)
        .load(conn)
}

/// Ids of a webhook's failed (non-test) deliveries whose last attempt was at or after `since`.
pub fn failed_after(conn: &mut DbConn, webhook_id: &str, since: i64) -> QueryResult<Vec<String>> {
    deliveries::table
        .filter(deliveries::webhook_id.eq(webhook_id))
        .filter(deliveries::status.eq(FAILED))
        .filter(deliveries::is_test.eq(false))
        .filter(deliveries::updated_at.ge(since))
        .select(deliveries::id)
        .load(conn)
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

/// Records a "Retry failed" so its progress can be followed.
pub fn create_bulk_retry(
    conn: &mut DbConn,
    bulk_id: &str,
    webhook_id: &str,
    ids: &[String],
    by: &str,
    now: i64,
) -> QueryResult<()> {
    use crate::db::schema::{bulk_retries, bulk_retry_items};
    diesel::insert_into(bulk_retries::table)
        .values((
            bulk_retries::id.eq(bulk_id),
            bulk_retries::webhook_id.eq(webhook_id),
            bulk_retries::total.eq(ids.len() as i32),
            bulk_retries::created_by.eq(by),
            bulk_retries::created_at.eq(now),
        ))
        .execute(conn)?;
    let rows: Vec<_> = ids
        .iter()
        .map(|id| {
            (
                bulk_retry_items::bulk_id.eq(bulk_id),
                bulk_retry_items::delivery_id.eq(id),
            )
        })
        .collect();
    for chunk in rows.chunks(400) {
        diesel::insert_into(bulk_retry_items::table)
            .values(chunk)
            .execute(conn)?;
    }
    Ok(())
}

/// A "Retry failed" and where its deliveries stand.
#[derive(Debug, Clone)]
pub struct BulkRetry {
    pub webhook_id: String,
    pub total: i32,
    pub created_at: i64,
    pub created_by: String,
    pub statuses: Vec<String>,
}

pub fn bulk_retry(conn: &mut DbConn, bulk_id: &str) -> QueryResult<BulkRetry> {
    use crate::db::schema::{bulk_retries, bulk_retry_items};
    let (webhook_id, total, created_at, created_by) = bulk_retries::table
        .find(bulk_id)
        .select((
            bulk_retries::webhook_id,
            bulk_retries::total,
            bulk_retries::created_at,
            bulk_retries::created_by,
        ))
        .first(conn)?;
    let statuses = bulk_retry_items::table
        .inner_join(deliveries::table)
        .filter(bulk_retry_items::bulk_id.eq(bulk_id))
        .select(deliveries::status)
        .load(conn)?;
    Ok(BulkRetry {
        webhook_id,
        total,
        created_at,
        created_by,
        statuses,
    })
}

/// Events of `types` accepted from `since` on that have no delivery to `webhook_id`:
/// what a disabled webhook missed.
pub fn missed_events(
    conn: &mut DbConn,
    webhook_id: &str,
    types: &[String],
    since: i64,
) -> QueryResult<Vec<(String, String)>> {
    events::table
        .filter(events::created_at.ge(since))
        .filter(events::event_type.eq_any(types))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            deliveries::table
                .filter(deliveries::event_id.eq(events::id))
                .filter(deliveries::webhook_id.eq(webhook_id)),
        )))
        .select((events::id, events::event_type))
        .load(conn)
}
