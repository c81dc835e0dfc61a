//! The deliveries table is the queue: rows are claimed with a lease, sent outside any
//! transaction, and their outcome recorded afterwards, many at a time.

use crate::db::DbConn;
use crate::db::schema::{attempts, deliveries};
use crate::domain::workspace::WorkspaceId;
use diesel::prelude::*;

pub const PENDING: &str = "pending";
/// Shown (and filtered on) for a pending delivery under a live lease; never stored by this
/// version (older databases may hold it, and start-up turns it back into pending).
pub const SENDING: &str = "sending";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";

pub struct NewDelivery<'a> {
    pub workspace: &'a WorkspaceId,
    pub id: String,
    pub event_id: &'a str,
    pub webhook_id: &'a str,
    pub event_type: &'a str,
    pub is_test: bool,
    /// Stored already leased (handed straight to a sender of this process).
    pub lease_until: Option<i64>,
}

/// Stores many deliveries: in a few statements on PostgreSQL (each is a round trip), one cached
/// statement per delivery on SQLite (in-process, where a multi-row statement of a new size is
/// compiled anew each batch: 10% of every delivery's instructions, BENCHMARKS.md).
pub fn insert_many(conn: &mut DbConn, rows: &[NewDelivery<'_>], now: i64) -> QueryResult<()> {
    macro_rules! values {
        ($d:expr) => {{
            let d: &NewDelivery<'_> = $d;
            (
                deliveries::id.eq(d.id.as_str()),
                deliveries::workspace_id.eq(d.workspace.as_str()),
                deliveries::event_id.eq(d.event_id),
                deliveries::webhook_id.eq(d.webhook_id),
                deliveries::event_type.eq(d.event_type),
                deliveries::status.eq(PENDING),
                deliveries::attempt_count.eq(0),
                deliveries::next_attempt_at.eq(Some(now)),
                deliveries::is_test.eq(d.is_test),
                deliveries::lease_until.eq(d.lease_until),
                deliveries::created_at.eq(now),
                deliveries::updated_at.eq(now),
            )
        }};
    }
    match conn {
        DbConn::Sqlite(c) => rows.iter().try_for_each(|d| {
            diesel::insert_into(deliveries::table)
                .values(values!(d))
                .execute(c)
                .map(|_| ())
        }),
        DbConn::Pg(c) => {
            let values: Vec<_> = rows.iter().map(|d| values!(d)).collect();
            // 12 parameters a row, below PostgreSQL's limit per statement.
            for chunk in values.chunks(2500) {
                diesel::insert_into(deliveries::table)
                    .values(chunk)
                    .execute(c)?;
            }
            Ok(())
        }
    }
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
#[diesel(treat_none_as_default_value = false)]
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
    /// Of an ordered webhook: once it is recorded, the webhook's next delivery may go.
    pub ordered: bool,
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
    pub workspace_id: String,
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

pub fn get(conn: &mut DbConn, ws: &WorkspaceId, id: &str) -> QueryResult<Delivery> {
    deliveries::table
        .find(id)
        .filter(deliveries::workspace_id.eq(ws.as_str()))
        .select(Delivery::as_select())
        .first(conn)
}

pub fn attempts_of(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    delivery_id: &str,
) -> QueryResult<Vec<Attempt>> {
    attempts::table
        .filter(attempts::delivery_id.eq(delivery_id))
        .filter(diesel::dsl::exists(
            deliveries::table
                .find(delivery_id)
                .filter(deliveries::workspace_id.eq(ws.as_str())),
        ))
        .order(attempts::id.asc())
        .select(Attempt::as_select())
        .load(conn)
}

pub fn for_event(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    event_id: &str,
) -> QueryResult<Vec<Delivery>> {
    deliveries::table
        .filter(deliveries::workspace_id.eq(ws.as_str()))
        .filter(deliveries::event_id.eq(event_id))
        .order(deliveries::id.asc())
        .select(Delivery::as_select())
        .load(conn)
}

/// Which of these deliveries still exist (a webhook deleted while its deliveries were being
/// sent takes them with it).
pub fn existing(conn: &mut DbConn, ids: &[&str]) -> QueryResult<std::collections::HashSet<String>> {
    let mut found = std::collections::HashSet::new();
    for chunk in ids.chunks(900) {
        let rows: Vec<String> = deliveries::table
            .filter(deliveries::id.eq_any(chunk))
            .select(deliveries::id)
            .load(conn)?;
        found.extend(rows);
    }
    Ok(found)
}

/// Puts failed deliveries back in the queue for one more attempt now.
pub fn requeue(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    ids: &[String],
    now: i64,
) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in ids.chunks(900) {
        n += diesel::update(
            deliveries::table
                .filter(deliveries::workspace_id.eq(ws.as_str()))
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
