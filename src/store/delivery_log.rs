//! The Delivery Log's reads: filtered pages (keyset-paginated on the time-ordered id), a
//! webhook's recent outcomes, what failed (for Retry failed and recovery) and bulk retries.

use super::deliveries::{Delivery, FAILED, PENDING, SENDING};
use crate::db::DbConn;
use crate::db::schema::{deliveries, events, webhooks};
use crate::domain::workspace::WorkspaceId;
use diesel::prelude::*;

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
pub fn log_page(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    f: &LogFilter,
    limit: i64,
) -> QueryResult<Vec<LogRow>> {
    let mut q = deliveries::table
        .inner_join(webhooks::table)
        .filter(deliveries::workspace_id.eq(ws.as_str()))
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
    ws: &WorkspaceId,
    webhook_id: &str,
    id_from: &str,
) -> QueryResult<Vec<(i64, String, Option<i32>)>> {
    deliveries::table
        .filter(deliveries::workspace_id.eq(ws.as_str()))
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
    ws: &WorkspaceId,
    webhook_id: &str,
) -> QueryResult<Option<(i64, Option<i32>, String)>> {
    let row: Option<(i64, Option<i32>, Option<String>)> = deliveries::table
        .filter(deliveries::workspace_id.eq(ws.as_str()))
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
    ws: &WorkspaceId,
    webhook_id: &str,
    id_from: &str,
) -> QueryResult<Vec<String>> {
    deliveries::table
        .filter(deliveries::workspace_id.eq(ws.as_str()))
        .filter(deliveries::webhook_id.eq(webhook_id))
        .filter(deliveries::status.eq(FAILED))
        .filter(deliveries::is_test.eq(false))
        .filter(deliveries::id.ge(id_from))
        .select(deliveries::id)
        .load(conn)
}

/// Ids of a webhook's failed (non-test) deliveries whose last attempt was at or after `since`.
pub fn failed_after(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    webhook_id: &str,
    since: i64,
) -> QueryResult<Vec<String>> {
    deliveries::table
        .filter(deliveries::workspace_id.eq(ws.as_str()))
        .filter(deliveries::webhook_id.eq(webhook_id))
        .filter(deliveries::status.eq(FAILED))
        .filter(deliveries::is_test.eq(false))
        .filter(deliveries::updated_at.ge(since))
        .select(deliveries::id)
        .load(conn)
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
        let insert = diesel::insert_into(bulk_retry_items::table).values(chunk);
        crate::db::on_backend!(conn, c => insert.execute(c))?;
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

pub fn bulk_retry(conn: &mut DbConn, ws: &WorkspaceId, bulk_id: &str) -> QueryResult<BulkRetry> {
    use crate::db::schema::{bulk_retries, bulk_retry_items};
    let (webhook_id, total, created_at, created_by) = bulk_retries::table
        .inner_join(webhooks::table)
        .filter(bulk_retries::id.eq(bulk_id))
        .filter(webhooks::workspace_id.eq(ws.as_str()))
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
    ws: &WorkspaceId,
    webhook_id: &str,
    types: &[String],
    since: i64,
) -> QueryResult<Vec<(String, String)>> {
    events::table
        .filter(events::workspace_id.eq(ws.as_str()))
        .filter(events::created_at.ge(since))
        .filter(events::event_type.eq_any(types))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            deliveries::table
                .filter(deliveries::event_id.eq(events::id))
                .filter(deliveries::workspace_id.eq(events::workspace_id))
                .filter(deliveries::webhook_id.eq(webhook_id)),
        )))
        .select((events::id, events::event_type))
        .load(conn)
}

/// A delivery found across every workspace, with where it lives.
#[derive(Debug, Clone)]
pub struct Found {
    pub delivery: Delivery,
    pub webhook_url: String,
    pub workspace: super::workspaces::Workspace,
}

/// Deliveries whose id or event id is `id`, in every workspace (newest first, at most
/// `limit`): where support staff start from the id in a customer's ticket. Instance users only.
pub fn find_everywhere(conn: &mut DbConn, id: &str, limit: i64) -> QueryResult<Vec<Found>> {
    use crate::db::schema::workspaces;
    let rows: Vec<(Delivery, String, super::workspaces::Workspace)> = deliveries::table
        .inner_join(webhooks::table.inner_join(workspaces::table))
        .filter(deliveries::id.eq(id).or(deliveries::event_id.eq(id)))
        // The operational webhooks' deliveries are on their own pages, for instance admins.
        .filter(workspaces::id.ne(crate::domain::workspace::OPERATIONAL_ID))
        .order(deliveries::id.desc())
        .limit(limit)
        .select((
            Delivery::as_select(),
            webhooks::url,
            super::workspaces::Workspace::as_select(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(delivery, webhook_url, workspace)| Found {
            delivery,
            webhook_url,
            workspace,
        })
        .collect())
}
