//! The audit log: who did what, to what, when, and from where.

use crate::db::DbConn;
use crate::db::schema::audit_log;
use crate::domain::workspace::WorkspaceId;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i32,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub client_ip: Option<String>,
}

pub struct NewEntry<'a> {
    pub at: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub client_ip: Option<&'a str>,
    /// None for the instance's own entries.
    pub workspace_id: Option<&'a str>,
}

/// Text as it can be stored on both backends: PostgreSQL refuses NUL characters, and an audit
/// entry can hold what someone typed (a failed sign-in's address), so NUL is shown as U+FFFD.
pub fn storable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}").into()
    } else {
        text.into()
    }
}

pub fn record(conn: &mut DbConn, e: &NewEntry<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(e.at),
            audit_log::actor.eq(storable(e.actor)),
            audit_log::action.eq(e.action),
            audit_log::target.eq(e.target.map(storable)),
            audit_log::detail.eq(e.detail.map(storable)),
            audit_log::client_ip.eq(e.client_ip),
            audit_log::workspace_id.eq(e.workspace_id),
        ))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub before: Option<i32>,
}

/// A workspace's entries (with the instance's own when `with_instance`), newest first,
/// keyset-paginated on the id.
pub fn page(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    with_instance: bool,
    f: &AuditFilter,
    limit: i64,
) -> QueryResult<Vec<AuditEntry>> {
    let mut q = audit_log::table
        .order(audit_log::id.desc())
        .limit(limit)
        .select(AuditEntry::as_select())
        .into_boxed();
    q = if with_instance {
        q.filter(
            audit_log::workspace_id
                .eq(ws.as_str())
                .or(audit_log::workspace_id.is_null()),
        )
    } else {
        q.filter(audit_log::workspace_id.eq(ws.as_str()))
    };
    if let Some(v) = &f.actor {
        q = q.filter(audit_log::actor.eq(v));
    }
    if let Some(v) = &f.action {
        q = q.filter(audit_log::action.eq(v));
    }
    if let Some(v) = f.from {
        q = q.filter(audit_log::at.ge(v));
    }
    if let Some(v) = f.to {
        q = q.filter(audit_log::at.lt(v));
    }
    if let Some(v) = f.before {
        q = q.filter(audit_log::id.lt(v));
    }
    q.load(conn)
}
