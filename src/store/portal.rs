//! Portal links and the sessions they open (one row each: a link, then its session).

use crate::db::DbConn;
use crate::db::schema::portal_sessions;
use crate::domain::workspace::WorkspaceId;
use diesel::prelude::*;

/// How long a row is kept after its session ended, so a late visit hears what happened.
pub const KEEP_AFTER_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = portal_sessions)]
pub struct PortalRow {
    pub link_hash: String,
    pub session_hash: Option<String>,
    pub workspace_id: String,
    pub role: String,
    pub user_label: String,
    pub accent: Option<String>,
    pub created_at: i64,
    pub open_until: i64,
    pub expires_at: i64,
    pub opened_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub struct NewLink<'a> {
    pub link_hash: &'a str,
    pub workspace: &'a WorkspaceId,
    pub role: &'a str,
    pub user_label: &'a str,
    pub accent: Option<&'a str>,
    pub created_at: i64,
    pub open_until: i64,
    pub expires_at: i64,
}

pub fn create(conn: &mut DbConn, link: &NewLink) -> QueryResult<()> {
    diesel::insert_into(portal_sessions::table)
        .values((
            portal_sessions::link_hash.eq(link.link_hash),
            portal_sessions::workspace_id.eq(link.workspace.as_str()),
            portal_sessions::role.eq(link.role),
            portal_sessions::user_label.eq(link.user_label),
            portal_sessions::accent.eq(link.accent),
            portal_sessions::created_at.eq(link.created_at),
            portal_sessions::open_until.eq(link.open_until),
            portal_sessions::expires_at.eq(link.expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Opens the link once: gives it its session, when it is unused, within its opening time, not
/// revoked and not expired. False when any of those fails (nothing changes then).
pub fn open(conn: &mut DbConn, link_hash: &str, session_hash: &str, now: i64) -> QueryResult<bool> {
    let n = diesel::update(
        portal_sessions::table
            .filter(portal_sessions::link_hash.eq(link_hash))
            .filter(portal_sessions::opened_at.is_null())
            .filter(portal_sessions::revoked_at.is_null())
            .filter(portal_sessions::open_until.gt(now))
            .filter(portal_sessions::expires_at.gt(now)),
    )
    .set((
        portal_sessions::opened_at.eq(Some(now)),
        portal_sessions::session_hash.eq(Some(session_hash)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn by_link(conn: &mut DbConn, link_hash: &str) -> QueryResult<Option<PortalRow>> {
    portal_sessions::table
        .filter(portal_sessions::link_hash.eq(link_hash))
        .select(PortalRow::as_select())
        .first(conn)
        .optional()
}

pub fn by_session(conn: &mut DbConn, session_hash: &str) -> QueryResult<Option<PortalRow>> {
    portal_sessions::table
        .filter(portal_sessions::session_hash.eq(session_hash))
        .select(PortalRow::as_select())
        .first(conn)
        .optional()
}

/// Ends every live session and unopened link of a workspace; how many there were.
pub fn revoke_all(conn: &mut DbConn, workspace: &WorkspaceId, now: i64) -> QueryResult<usize> {
    diesel::update(
        portal_sessions::table
            .filter(portal_sessions::workspace_id.eq(workspace.as_str()))
            .filter(portal_sessions::revoked_at.is_null())
            .filter(portal_sessions::expires_at.gt(now)),
    )
    .set(portal_sessions::revoked_at.eq(Some(now)))
    .execute(conn)
}

/// Forgets rows whose session ended more than a day ago.
pub fn delete_old(conn: &mut DbConn, now: i64) -> QueryResult<usize> {
    diesel::delete(
        portal_sessions::table.filter(portal_sessions::expires_at.lt(now - KEEP_AFTER_MS)),
    )
    .execute(conn)
}

/// Everything of a workspace, when it is deleted.
pub fn delete_workspace(conn: &mut DbConn, workspace: &WorkspaceId) -> QueryResult<usize> {
    diesel::delete(
        portal_sessions::table.filter(portal_sessions::workspace_id.eq(workspace.as_str())),
    )
    .execute(conn)
}
