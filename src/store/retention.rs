//! What retention deletes, a small batch at a time: finished deliveries (their attempts go with
//! them), events left with no delivery, old audit entries and old bulk retries; and what the
//! Storage page counts.

use super::deliveries::{FAILED, PENDING, SUCCEEDED};
use crate::db::DbConn;
use crate::db::schema::{attempts, audit_log, bulk_retries, deliveries, events, webhooks};
use crate::domain::workspace::WorkspaceId;
use diesel::dsl::{exists, not};
use diesel::prelude::*;

/// Up to `limit` deliveries that finished (succeeded or failed) before `cutoff_ms`, oldest
/// first, with their events (workspace, event id). Delivery ids are time-ordered, so only ids below `id_below` (the
/// id of a delivery created at the cutoff) can qualify: the primary key bounds the scan. A
/// pending delivery is never chosen, however old.
pub fn finished_before(
    conn: &mut DbConn,
    cutoff_ms: i64,
    id_below: &str,
    limit: i64,
) -> QueryResult<Vec<(String, (String, String))>> {
    deliveries::table
        .filter(deliveries::id.lt(id_below))
        .filter(deliveries::status.eq_any([SUCCEEDED, FAILED]))
        .filter(deliveries::updated_at.lt(cutoff_ms))
        .order(deliveries::id.asc())
        .limit(limit)
        .select((
            deliveries::id,
            (deliveries::workspace_id, deliveries::event_id),
        ))
        .load(conn)
}

/// Deletes these deliveries and their attempts: (deliveries, attempts) deleted.
pub fn delete_deliveries(conn: &mut DbConn, ids: &[String]) -> QueryResult<(usize, usize)> {
    let attempts =
        diesel::delete(attempts::table.filter(attempts::delivery_id.eq_any(ids))).execute(conn)?;
    // A pending delivery is never deleted, even if it became pending since it was chosen.
    let deliveries = diesel::delete(
        deliveries::table
            .filter(deliveries::id.eq_any(ids))
            .filter(deliveries::status.ne(PENDING)),
    )
    .execute(conn)?;
    Ok((deliveries, attempts))
}

/// Up to `limit` events accepted before `cutoff_ms` that never had a delivery (nobody was
/// subscribed). The literal condition lets SQLite use the partial index on these rows alone.
pub fn unsubscribed_events_before(
    conn: &mut DbConn,
    cutoff_ms: i64,
    limit: i64,
) -> QueryResult<Vec<(String, String)>> {
    events::table
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "delivery_count = 0",
        ))
        .filter(events::created_at.lt(cutoff_ms))
        .order(events::created_at.asc())
        .limit(limit)
        .select((events::workspace_id, events::id))
        .load(conn)
}

/// Deletes those of these events of a workspace that no delivery refers to any more.
pub fn delete_events(conn: &mut DbConn, ws: &WorkspaceId, ids: &[String]) -> QueryResult<usize> {
    diesel::delete(
        events::table
            .filter(events::workspace_id.eq(ws.as_str()))
            .filter(events::id.eq_any(ids))
            .filter(not(exists(
                deliveries::table
                    .filter(deliveries::event_id.eq(events::id))
                    .filter(deliveries::workspace_id.eq(events::workspace_id)),
            ))),
    )
    .execute(conn)
}

/// `delete_events` for (workspace, event id) pairs of any workspaces.
pub fn delete_events_of(conn: &mut DbConn, mut keys: Vec<(String, String)>) -> QueryResult<usize> {
    keys.sort_unstable();
    keys.dedup();
    let mut n = 0;
    for group in keys.chunk_by(|a, b| a.0 == b.0) {
        let ws = WorkspaceId::from_stored(group[0].0.clone());
        let ids: Vec<String> = group.iter().map(|(_, id)| id.clone()).collect();
        for chunk in ids.chunks(900) {
            n += delete_events(conn, &ws, chunk)?;
        }
    }
    Ok(n)
}

/// Deletes up to `limit` audit entries older than `cutoff_ms`, oldest first.
pub fn delete_audit_before(conn: &mut DbConn, cutoff_ms: i64, limit: i64) -> QueryResult<usize> {
    let ids: Vec<i32> = audit_log::table
        .filter(audit_log::at.lt(cutoff_ms))
        .order(audit_log::id.asc())
        .limit(limit)
        .select(audit_log::id)
        .load(conn)?;
    diesel::delete(audit_log::table.filter(audit_log::id.eq_any(&ids))).execute(conn)
}

/// Deletes bulk retries started before `cutoff_ms` (their items go with them).
pub fn delete_bulk_retries_before(conn: &mut DbConn, cutoff_ms: i64) -> QueryResult<usize> {
    diesel::delete(bulk_retries::table.filter(bulk_retries::created_at.lt(cutoff_ms))).execute(conn)
}

/// Rows kept per table, for the Storage page and /metrics.
pub fn row_counts(conn: &mut DbConn) -> QueryResult<Vec<(&'static str, i64)>> {
    Ok(vec![
        ("webhooks", webhooks::table.count().get_result(conn)?),
        ("deliveries", deliveries::table.count().get_result(conn)?),
        ("attempts", attempts::table.count().get_result(conn)?),
        ("events", events::table.count().get_result(conn)?),
        ("audit_log", audit_log::table.count().get_result(conn)?),
    ])
}

/// When the oldest delivery kept was created.
pub fn oldest_delivery(conn: &mut DbConn) -> QueryResult<Option<i64>> {
    deliveries::table
        .order(deliveries::id.asc())
        .select(deliveries::created_at)
        .first(conn)
        .optional()
}

/// Deliveries waiting for their first attempt, and those waiting to be retried.
pub fn waiting_and_retrying(conn: &mut DbConn) -> QueryResult<(i64, i64)> {
    let waiting = deliveries::table
        .filter(deliveries::status.eq(PENDING))
        .filter(deliveries::attempt_count.eq(0))
        .count()
        .get_result(conn)?;
    let retrying = deliveries::table
        .filter(deliveries::status.eq(PENDING))
        .filter(deliveries::attempt_count.gt(0))
        .count()
        .get_result(conn)?;
    Ok((waiting, retrying))
}

/// The advisory lock that makes one instance at a time prune a shared PostgreSQL database.
const PASS_LOCK: i64 = 0x4145_5448_5052; // "AETHPR"

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    taken: bool,
}

/// Takes the pruning lock for this session if no other instance holds it.
pub fn try_lock_pass(conn: &mut diesel::PgConnection) -> QueryResult<bool> {
    diesel::sql_query(format!("SELECT pg_try_advisory_lock({PASS_LOCK}) AS taken"))
        .get_result::<Taken>(conn)
        .map(|t| t.taken)
}

/// Gives the pruning lock back.
pub fn unlock_pass(conn: &mut diesel::PgConnection) -> QueryResult<()> {
    diesel::sql_query(format!("SELECT pg_advisory_unlock({PASS_LOCK}) AS taken"))
        .get_result::<Taken>(conn)
        .map(|_| ())
}
