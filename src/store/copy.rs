//! `move-to-postgres`: every row of a SQLite installation copied into an empty PostgreSQL
//! database, table by table in the order their references need, a page at a time, inside one
//! PostgreSQL transaction (a copy that fails leaves the target as empty as it found it).

use super::audit::storable;
use crate::db::schema::*;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

/// Rows read and written at a time (16 columns × 500 rows stays far below PostgreSQL's 65,535
/// parameters per statement, and 500 attempts with 64 KiB bodies below 40 MiB of memory).
const PAGE: i64 = 500;

/// Copies `$table` page by page in `$key` order; `$fix` may rewrite each row before writing.
macro_rules! copy_table {
    ($from:expr, $to:expr, $progress:expr, $table:ident, order($($key:ident),+),
     [$($col:ident: $ty:ty),+ $(,)?], $fix:expr) => {{
        let total: i64 = $table::table.count().get_result($from)?;
        $progress(stringify!($table), 0, total);
        let mut done: i64 = 0;
        while done < total {
            let rows: Vec<($($ty,)+)> = $table::table
                .select(($($table::$col,)+))
                .order(($($table::$key.asc(),)+))
                .limit(PAGE)
                .offset(done)
                .load($from)?;
            if rows.is_empty() {
                break;
            }
            let n = rows.len() as i64;
            let values: Vec<_> = rows
                .into_iter()
                .map($fix)
                .map(|($($col,)+)| ($($table::$col.eq($col),)+))
                .collect();
            diesel::insert_into($table::table).values(&values).execute($to)?;
            done += n;
            $progress(stringify!($table), done, total);
        }
        done
    }};
}

/// The tables copied, in the order their references need; `check_empty` and `copy` agree.
pub const TABLES: [&str; 17] = [
    "workspaces",
    "users",
    "memberships",
    "sessions",
    "api_keys",
    "webhooks",
    "webhook_events",
    "webhook_secrets",
    "events",
    "deliveries",
    "attempts",
    "bulk_retries",
    "bulk_retry_items",
    "inboxes",
    "inbox_requests",
    "audit_log",
    "portal_sessions",
];

/// The tables of `TABLES` that hold rows already (a target must have none).
pub fn non_empty(to: &mut PgConnection) -> QueryResult<Vec<(&'static str, i64)>> {
    // A migrated database has the default and the operational workspaces, and nothing else.
    let counts = [
        workspaces::table
            .filter(workspaces::id.ne(crate::domain::workspace::DEFAULT_ID))
            .filter(workspaces::id.ne(crate::domain::workspace::OPERATIONAL_ID))
            .count()
            .get_result::<i64>(to)?,
        users::table.count().get_result::<i64>(to)?,
        memberships::table.count().get_result(to)?,
        sessions::table.count().get_result(to)?,
        api_keys::table.count().get_result(to)?,
        webhooks::table.count().get_result(to)?,
        webhook_events::table.count().get_result(to)?,
        webhook_secrets::table.count().get_result(to)?,
        events::table.count().get_result(to)?,
        deliveries::table.count().get_result(to)?,
        attempts::table.count().get_result(to)?,
        bulk_retries::table.count().get_result(to)?,
        bulk_retry_items::table.count().get_result(to)?,
        inboxes::table.count().get_result(to)?,
        inbox_requests::table.count().get_result(to)?,
        audit_log::table.count().get_result(to)?,
        portal_sessions::table.count().get_result(to)?,
    ];
    Ok(TABLES
        .into_iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .collect())
}

/// An audit entry as copied.
type AuditRow = (
    i32,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn same<T>(row: T) -> T {
    row
}

/// Copies every table; `progress(table, rows done, rows in all)` is called as it goes.
/// Returns the rows copied per table. The caller runs it inside a transaction on `to`.
pub fn copy(
    from: &mut SqliteConnection,
    to: &mut PgConnection,
    progress: &mut dyn FnMut(&str, i64, i64),
) -> QueryResult<Vec<(&'static str, i64)>> {
    // The target's default workspace is the source's, copied with the rest.
    diesel::delete(workspaces::table).execute(to)?;
    let counts = [
        copy_table!(from, to, progress, workspaces, order(id), [
            id: String, uid: Option<String>, name: String, created_at: i64,
        ], same),
        copy_table!(from, to, progress, users, order(id), [
            id: i32, email: String, role: String, password_hash: String, disabled: bool,
            created_at: i64, instance: bool,
        ], same),
        copy_table!(from, to, progress, memberships, order(user_id, workspace_id), [
            user_id: i32, workspace_id: String, role: String, created_at: i64,
        ], same),
        copy_table!(from, to, progress, sessions, order(token_hash), [
            token_hash: String, user_id: i32, created_at: i64, last_seen_at: i64,
            workspace_id: Option<String>,
        ], same),
        copy_table!(from, to, progress, api_keys, order(id), [
            id: i32, name: String, prefix: String, key_hash: String, created_at: i64,
            last_used_at: Option<i64>, revoked_at: Option<i64>, role: String,
            workspace_id: Option<String>,
        ], same),
        copy_table!(from, to, progress, webhooks, order(id), [
            id: String, url: String, description: String, enabled: bool,
            disabled_reason: Option<String>, created_at: i64, updated_at: i64,
            failing_since: Option<i64>, disabled_at: Option<i64>, workspace_id: String,
            filter: Option<String>, headers: Option<String>, rate_limit: Option<i32>,
            ordered: bool,
        ], same),
        copy_table!(from, to, progress, webhook_events, order(webhook_id, event_type), [
            webhook_id: String, event_type: String,
        ], same),
        copy_table!(from, to, progress, webhook_secrets, order(id), [
            id: i32, webhook_id: String, secret: String, created_at: i64,
            expires_at: Option<i64>,
        ], same),
        copy_table!(from, to, progress, events, order(workspace_id, id), [
            id: String, event_type: String, body: Vec<u8>, delivery_count: i32,
            created_at: i64, workspace_id: String,
        ], same),
        copy_table!(from, to, progress, deliveries, order(id), [
            id: String, event_id: String, webhook_id: String, event_type: String,
            status: String, attempt_count: i32, next_attempt_at: Option<i64>,
            lease_until: Option<i64>, last_status_code: Option<i32>, last_error: Option<String>,
            is_test: bool, created_at: i64, updated_at: i64, manual_attempts: i32,
            last_status_class: Option<i32>, last_duration_ms: Option<i32>, workspace_id: String,
        ], same),
        copy_table!(from, to, progress, attempts, order(id), [
            id: i32, delivery_id: String, attempted_at: i64, duration_ms: i32,
            status_code: Option<i32>, error_class: Option<String>, error: Option<String>,
            request_headers: String, response_headers: Option<String>,
            response_body: Option<Vec<u8>>, response_truncated: bool, trigger: String,
            triggered_by: Option<String>,
        ], same),
        copy_table!(from, to, progress, bulk_retries, order(id), [
            id: String, webhook_id: String, total: i32, created_by: String, created_at: i64,
        ], same),
        copy_table!(from, to, progress, bulk_retry_items, order(bulk_id, delivery_id), [
            bulk_id: String, delivery_id: String,
        ], same),
        copy_table!(from, to, progress, inboxes, order(id), [
            id: String, token: String, name: String, created_at: i64, workspace_id: String,
        ], same),
        copy_table!(from, to, progress, inbox_requests, order(id), [
            id: i32, inbox_id: String, received_at: i64, headers: String, body: Vec<u8>,
            body_truncated: bool, signature_valid: bool, webhook_id: Option<String>,
        ], same),
        // What someone typed at a failed sign-in may hold a NUL, which PostgreSQL refuses.
        copy_table!(from, to, progress, audit_log, order(id), [
            id: i32, at: i64, actor: String, action: String, target: Option<String>,
            detail: Option<String>, client_ip: Option<String>, workspace_id: Option<String>,
        ], |(id, at, actor, action, target, detail, client_ip, workspace_id): AuditRow| {
            let fix = |t: &str| storable(t).into_owned();
            (id, at, fix(&actor), action, target.as_deref().map(fix), detail.as_deref().map(fix), client_ip, workspace_id)
        }),
        copy_table!(from, to, progress, portal_sessions, order(link_hash), [
            link_hash: String, session_hash: Option<String>, workspace_id: String, role: String,
            user_label: String, accent: Option<String>, created_at: i64, open_until: i64,
            expires_at: i64, opened_at: Option<i64>, revoked_at: Option<i64>,
        ], same),
    ];
    // Identities go on from the highest id copied, so the next row made gets a new one.
    for table in [
        "users",
        "api_keys",
        "webhook_secrets",
        "attempts",
        "inbox_requests",
        "audit_log",
    ] {
        diesel::sql_query(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        ))
        .execute(to)?;
    }
    Ok(TABLES.into_iter().zip(counts).collect())
}
