//! The deliveries table is the queue: rows are claimed with a lease, sent outside any
//! transaction, and their outcome recorded afterwards, many at a time.

use crate::db::DbConn;
use crate::db::schema::{attempts, deliveries, webhooks};
use crate::domain::workspace::WorkspaceId;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text};

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

/// Writes a batch of outcomes: each webhook's health (a success clears its run of failures;
/// 410, or failing for `disable_after_ms` without a success, disables it), the attempts and
/// the deliveries' new state. Returns the webhooks disabled by this batch.
///
/// Rows are locked in the order every other writer uses: webhooks (in id order) before their
/// deliveries, as deleting or editing a webhook does. The other order let PostgreSQL's deadlock
/// detector abort a webhook's deletion while a batch of its failures was being written.
pub fn record(
    conn: &mut DbConn,
    outcomes: &[Outcome],
    now: i64,
    disable_after_ms: i64,
    disable_after_text: &str,
) -> QueryResult<Vec<(String, String)>> {
    let disabled = record_health(conn, outcomes, now, disable_after_ms, disable_after_text)?;
    let rows: Vec<&NewAttempt> = outcomes.iter().map(|o| &o.attempt).collect();
    match &mut *conn {
        // One cached statement a row (its shape never changes: `None` is bound as NULL).
        DbConn::Sqlite(c) => {
            for a in &rows {
                diesel::insert_into(attempts::table).values(*a).execute(c)?;
            }
        }
        DbConn::Pg(c) => {
            for chunk in rows.chunks(500) {
                diesel::insert_into(attempts::table)
                    .values(chunk.to_vec())
                    .execute(c)?;
            }
        }
    }
    let once = {
        let mut ids: Vec<&str> = outcomes
            .iter()
            .map(|o| o.attempt.delivery_id.as_str())
            .collect();
        ids.sort_unstable();
        ids.windows(2).all(|w| w[0] != w[1])
    };
    let row_by_row = match conn {
        DbConn::Pg(c) if once => {
            pg_update_outcomes(c, outcomes, now)?;
            &[][..]
        }
        _ => outcomes,
    };
    // Row by row (SQLite in-process, or a batch naming a delivery twice), on the backend's own
    // connection and statement cache.
    crate::db::on_backend!(&mut *conn, c => {
        for o in row_by_row {
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
                    diesel::update(target).set(common).execute(c)?;
                    continue;
                }
            };
            diesel::update(target)
                .set((
                    common,
                    deliveries::status.eq(status),
                    deliveries::next_attempt_at.eq(next),
                ))
                .execute(c)?;
        }
    });
    Ok(disabled)
}

/// The health part of `record`, one webhook at a time in id order.
fn record_health(
    conn: &mut DbConn,
    outcomes: &[Outcome],
    now: i64,
    disable_after_ms: i64,
    disable_after_text: &str,
) -> QueryResult<Vec<(String, String)>> {
    // The last outcome of each webhook in this batch decides its health.
    let mut last = std::collections::BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.affects_health) {
        last.insert(o.webhook_id.as_str(), o);
    }
    let mut disabled = Vec::new();
    crate::db::on_backend!(&mut *conn, c => {
        for o in last.values() {
            let webhook = webhooks::table.find(&o.webhook_id);
            if o.after == After::Succeeded {
                diesel::update(webhook.filter(webhooks::failing_since.is_not_null()))
                    .set(webhooks::failing_since.eq(None::<i64>))
                    .execute(c)?;
                continue;
            }
            diesel::update(webhook.filter(webhooks::failing_since.is_null()))
                .set(webhooks::failing_since.eq(Some(o.attempt.attempted_at)))
                .execute(c)?;
            let gone = outcomes
                .iter()
                .any(|x| x.gone && x.webhook_id == o.webhook_id);
            let reason = if gone {
                Some("the endpoint answered 410 Gone".to_owned())
            } else {
                let since: Option<i64> = webhook
                    .select(webhooks::failing_since)
                    .first(c)
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
                    .execute(c)?;
                if n > 0 {
                    disabled.push((o.webhook_id.clone(), reason));
                }
            }
        }
    });
    Ok(disabled)
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

/// PostgreSQL: the per-row updates of `record` as one statement (each statement is a round
/// trip to the server; SQLite, in-process, runs them row by row).
/// Writes each outcome onto its delivery: the attempt counted, the lease released, the last
/// response noted, and the new status and next attempt (kept as they are for `Unchanged`).
/// Each delivery must appear once in `outcomes`.
fn pg_update_outcomes(
    conn: &mut PgConnection,
    outcomes: &[Outcome],
    now: i64,
) -> QueryResult<usize> {
    let mut ids = Vec::with_capacity(outcomes.len());
    let mut manual = Vec::with_capacity(outcomes.len());
    let mut codes: Vec<Option<i32>> = Vec::with_capacity(outcomes.len());
    let mut classes = Vec::with_capacity(outcomes.len());
    let mut durations = Vec::with_capacity(outcomes.len());
    let mut errors: Vec<Option<String>> = Vec::with_capacity(outcomes.len());
    let mut statuses: Vec<Option<&str>> = Vec::with_capacity(outcomes.len());
    let mut next: Vec<Option<i64>> = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        let a = &o.attempt;
        ids.push(a.delivery_id.as_str());
        manual.push(i32::from(a.trigger != "automatic"));
        codes.push(a.status_code);
        classes.push(a.status_code.map_or(0, |c| c / 100));
        durations.push(a.duration_ms);
        errors.push(a.error.clone());
        let (status, at) = match o.after {
            After::Succeeded => (Some(SUCCEEDED), None),
            After::RetryAt(at) => (Some(PENDING), Some(at)),
            After::Failed => (Some(FAILED), None),
            After::Unchanged => (None, None),
        };
        statuses.push(status);
        next.push(at);
    }
    diesel::sql_query(
        "UPDATE deliveries AS d SET \
           attempt_count = d.attempt_count + 1, \
           manual_attempts = d.manual_attempts + v.manual, \
           lease_until = NULL, \
           last_status_code = v.code, \
           last_status_class = v.class, \
           last_duration_ms = v.duration, \
           last_error = v.error, \
           updated_at = $9, \
           status = COALESCE(v.status, d.status), \
           next_attempt_at = CASE WHEN v.status IS NULL THEN d.next_attempt_at ELSE v.next END \
         FROM unnest($1, $2, $3, $4, $5, $6, $7, $8) \
           AS v(id, manual, code, class, duration, error, status, next) \
         WHERE d.id = v.id",
    )
    .bind::<Array<Text>, _>(&ids)
    .bind::<Array<Integer>, _>(&manual)
    .bind::<Array<Nullable<Integer>>, _>(&codes)
    .bind::<Array<Integer>, _>(&classes)
    .bind::<Array<Integer>, _>(&durations)
    .bind::<Array<Nullable<Text>>, _>(&errors)
    .bind::<Array<Nullable<Text>>, _>(&statuses)
    .bind::<Array<Nullable<BigInt>>, _>(&next)
    .bind::<BigInt, _>(now)
    .execute(conn)
}
