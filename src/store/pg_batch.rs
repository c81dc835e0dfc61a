//! PostgreSQL: a batch's writes in one statement. Each statement is a round trip, and a single
//! statement is atomic without `BEGIN`/`COMMIT` (two more round trips): a published batch is
//! its reads and this one write, a batch of successful outcomes is one statement in all. With
//! a second instance each batch holds about half as many rows, so what a batch costs whatever
//! its size is what a second instance adds per delivery (BENCHMARKS.md, issue 21).

use super::deliveries::{NewAttempt, NewDelivery, Outcome, PENDING};
use super::events::NewEvent;
use crate::db::prepared::Prepared;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Binary, Bool, Integer, Nullable, Text};

/// Stores a published batch's events and their deliveries in one statement.
pub fn insert_published(
    conn: &mut PgConnection,
    events: &[NewEvent<'_>],
    rows: &[NewDelivery<'_>],
    now: i64,
) -> QueryResult<()> {
    if events.is_empty() && rows.is_empty() {
        return Ok(());
    }
    Prepared::new(
        "WITH e AS ( \
           INSERT INTO events (workspace_id, id, event_type, body, delivery_count, created_at) \
           SELECT * FROM unnest($1, $2, $3, $4, $5, $6) \
         ) \
         INSERT INTO deliveries (id, workspace_id, event_id, webhook_id, event_type, status, \
           attempt_count, next_attempt_at, is_test, lease_until, created_at, updated_at) \
         SELECT d.id, d.ws, d.event_id, d.webhook_id, d.event_type, $14, 0, $13, d.is_test, \
           d.lease_until, $13, $13 \
         FROM unnest($7, $8, $9, $10, $11, $12, $15) \
           AS d(id, ws, event_id, webhook_id, event_type, lease_until, is_test)",
    )
    .bind::<Array<Text>, _>(column(events, |e| e.workspace.as_str()))
    .bind::<Array<Text>, _>(column(events, |e| e.id))
    .bind::<Array<Text>, _>(column(events, |e| e.event_type))
    .bind::<Array<Binary>, _>(column(events, |e| e.body))
    .bind::<Array<Integer>, _>(column(events, |e| e.delivery_count))
    .bind::<Array<BigInt>, _>(column(events, |e| e.created_at))
    .bind::<Array<Text>, _>(column(rows, |d| d.id.as_str()))
    .bind::<Array<Text>, _>(column(rows, |d| d.workspace.as_str()))
    .bind::<Array<Text>, _>(column(rows, |d| d.event_id))
    .bind::<Array<Text>, _>(column(rows, |d| d.webhook_id))
    .bind::<Array<Text>, _>(column(rows, |d| d.event_type))
    .bind::<Array<Nullable<BigInt>>, _>(column(rows, |d| d.lease_until))
    .bind::<BigInt, _>(now)
    .bind::<Text, _>(PENDING)
    .bind::<Array<Bool>, _>(column(rows, |d| d.is_test))
    .execute(conn)
    .map(|_| ())
}

/// Whether `record_successes` can write this batch: every outcome that speaks for a webhook's
/// health is a success (so no webhook can be disabled and no operational event follows), and
/// each delivery appears once.
pub fn all_healthy(outcomes: &[Outcome]) -> bool {
    let healthy = outcomes
        .iter()
        .all(|o| !o.affects_health || o.after == super::deliveries::After::Succeeded);
    healthy && super::outcomes::each_delivery_once(outcomes)
}

/// Records a batch that `all_healthy` allows in one statement: the webhooks' runs of failures
/// cleared, the attempts inserted, the deliveries' new state written (as `outcomes::record`
/// does in several). The webhooks are locked first, as every other writer does (the deliveries'
/// update waits for the count of cleared webhooks).
pub fn record_successes(
    conn: &mut PgConnection,
    outcomes: &[Outcome],
    now: i64,
) -> QueryResult<()> {
    let mut healthy: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.affects_health)
        .map(|o| o.webhook_id.as_str())
        .collect();
    healthy.sort_unstable();
    healthy.dedup();
    let attempts: Vec<&NewAttempt> = outcomes.iter().map(|o| &o.attempt).collect();
    let state = super::outcomes::NewStates::of(outcomes);
    Prepared::new(concat!(
        "WITH h AS ( \
           UPDATE webhooks SET failing_since = NULL \
           WHERE id = ANY($1) AND failing_since IS NOT NULL RETURNING 1 \
         ), a AS ( \
           INSERT INTO attempts (delivery_id, attempted_at, duration_ms, status_code, \
             error_class, error, request_headers, response_headers, response_body, \
             response_truncated, trigger, triggered_by) \
           SELECT * FROM unnest($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ) ",
        super::outcomes::pg_set_outcomes!("$14"),
        "FROM unnest($2, $15, $5, $16, $4, $7, $17, $18) \
           AS v(id, manual, code, class, duration, error, status, next) \
         WHERE d.id = v.id AND (SELECT count(*) FROM h) >= 0"
    ))
    .bind::<Array<Text>, _>(&healthy)
    .bind::<Array<Text>, _>(column(&attempts, |a| a.delivery_id.as_str()))
    .bind::<Array<BigInt>, _>(column(&attempts, |a| a.attempted_at))
    .bind::<Array<Integer>, _>(column(&attempts, |a| a.duration_ms))
    .bind::<Array<Nullable<Integer>>, _>(column(&attempts, |a| a.status_code))
    .bind::<Array<Nullable<Text>>, _>(column(&attempts, |a| a.error_class.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(column(&attempts, |a| a.error.as_deref()))
    .bind::<Array<Text>, _>(column(&attempts, |a| a.request_headers.as_str()))
    .bind::<Array<Nullable<Text>>, _>(column(&attempts, |a| a.response_headers.as_deref()))
    .bind::<Array<Nullable<Binary>>, _>(column(&attempts, |a| a.response_body.as_deref()))
    .bind::<Array<Bool>, _>(column(&attempts, |a| a.response_truncated))
    .bind::<Array<Text>, _>(column(&attempts, |a| a.trigger.as_str()))
    .bind::<Array<Nullable<Text>>, _>(column(&attempts, |a| a.triggered_by.as_deref()))
    .bind::<BigInt, _>(now)
    .bind::<Array<Integer>, _>(&state.manual)
    .bind::<Array<Integer>, _>(&state.classes)
    .bind::<Array<Nullable<Text>>, _>(&state.statuses)
    .bind::<Array<Nullable<BigInt>>, _>(&state.next)
    .execute(conn)
    .map(|_| ())
}

/// One column of a batch, as an array to bind.
fn column<'a, T, U>(items: &'a [T], f: impl Fn(&'a T) -> U) -> Vec<U> {
    items.iter().map(f).collect()
}
