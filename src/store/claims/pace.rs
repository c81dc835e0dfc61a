//! What rate limits and ordered delivery add to a claim: the rate windows of the webhooks a
//! claim would start attempts for (locked for the claim's transaction, so instances sharing
//! PostgreSQL share them), and the one delivery an ordered webhook may send next.

use super::fair::Due;
use crate::db::DbConn;
use crate::db::schema::webhooks;
use crate::domain::pacing::Window;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

/// The rate limits and windows of `ids` (webhooks with a rate limit), as (id, limit, window).
/// On PostgreSQL the rows stay locked until the claim commits: another instance's claim of
/// the same webhooks waits for this one's window (a key-share lock, which inserting a
/// delivery takes, is not held up).
pub fn windows(conn: &mut DbConn, ids: &[&str]) -> QueryResult<Vec<(String, i32, Window)>> {
    let query = webhooks::table
        .filter(webhooks::id.eq_any(ids))
        .filter(webhooks::rate_limit.is_not_null())
        .select((
            webhooks::id,
            webhooks::rate_limit,
            webhooks::rate_window,
            webhooks::rate_used,
        ));
    let rows: Vec<(String, Option<i32>, i64, i32)> = match conn {
        DbConn::Pg(c) => query.for_no_key_update().load(c)?,
        DbConn::Sqlite(c) => query.load(c)?,
    };
    Ok(rows
        .into_iter()
        .filter_map(|(id, limit, start, used)| Some((id, limit?, Window { start, used })))
        .collect())
}

/// Stores a webhook's window after a claim started attempts in it.
pub fn save_window(conn: &mut DbConn, id: &str, window: Window) -> QueryResult<()> {
    diesel::update(webhooks::table.find(id))
        .set((
            webhooks::rate_window.eq(window.start),
            webhooks::rate_used.eq(window.used),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A due delivery as the claims' SQL reads it (this module's heads, and PostgreSQL's
/// candidates with them).
#[derive(QueryableByName)]
pub(super) struct DueRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    webhook_id: String,
    #[diesel(sql_type = Text)]
    workspace_id: String,
    #[diesel(sql_type = Nullable<Integer>)]
    rate_limit: Option<i32>,
}

impl DueRow {
    pub(super) fn into_due(self) -> Due {
        (self.id, self.webhook_id, self.workspace_id, self.rate_limit)
    }
}

/// For each enabled ordered webhook, its oldest pending delivery (the order is the ids',
/// which sort as events were accepted), when that one is due and not being attempted: the
/// only one it may send. One waiting for a retry, or in flight, holds every later one back.
pub fn ordered_heads(conn: &mut diesel::SqliteConnection, now: i64) -> QueryResult<Vec<Due>> {
    static QUERY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| HEADS.replace("{now}", "?1"));
    let rows: Vec<DueRow> = diesel::sql_query(QUERY.as_str())
        .bind::<BigInt, _>(now)
        .load(conn)?;
    Ok(rows.into_iter().map(DueRow::into_due).collect())
}

/// The query of `ordered_heads`, with `{now}` for the time (PostgreSQL runs it in the same
/// statement as the other candidates).
pub const HEADS: &str = "SELECT d.id, d.webhook_id, d.workspace_id, w.rate_limit \
        FROM webhooks w JOIN deliveries d ON d.id = ( \
          SELECT h.id FROM deliveries h WHERE h.webhook_id = w.id AND h.status = 'pending' \
          ORDER BY h.id LIMIT 1) \
        WHERE w.ordered AND w.enabled AND d.next_attempt_at <= {now} \
          AND (d.lease_until IS NULL OR d.lease_until < {now})";
