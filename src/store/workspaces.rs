//! Workspaces and who belongs to them (memberships of users who are not instance users).

use super::users::Role;
use crate::db::DbConn;
use crate::db::schema::{
    api_keys, audit_log, deliveries, events, inboxes, memberships, sessions, webhooks, workspaces,
};
use crate::domain::workspace::{self, WorkspaceId};
use diesel::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = workspaces)]
pub struct Workspace {
    pub id: String,
    pub uid: Option<String>,
    pub name: String,
    pub created_at: i64,
}

impl Workspace {
    pub fn workspace_id(&self) -> WorkspaceId {
        WorkspaceId::from_stored(self.id.clone())
    }

    /// How paths and the `X-Aethenox-Workspace` header name it: its uid, or its id.
    pub fn key(&self) -> &str {
        self.uid.as_deref().unwrap_or(&self.id)
    }

    pub fn is_default(&self) -> bool {
        self.id == workspace::DEFAULT_ID
    }
}

pub fn create(
    conn: &mut DbConn,
    id: &str,
    uid: Option<&str>,
    name: &str,
    now: i64,
) -> QueryResult<Workspace> {
    diesel::insert_into(workspaces::table)
        .values((
            workspaces::id.eq(id),
            workspaces::uid.eq(uid),
            workspaces::name.eq(name),
            workspaces::created_at.eq(now),
        ))
        .execute(conn)?;
    get(conn, &WorkspaceId::from_stored(id))
}

/// The workspace a path names: by id (`ws_…`) or by uid. The operational workspace is never
/// named by a path (nor listed, searched or counted below).
pub fn find(conn: &mut DbConn, key: &str) -> QueryResult<Option<Workspace>> {
    let query = workspaces::table
        .filter(workspaces::id.ne(workspace::OPERATIONAL_ID))
        .select(Workspace::as_select())
        .into_boxed();
    let query = if workspace::is_id_form(key) {
        query.filter(workspaces::id.eq(key))
    } else {
        query.filter(workspaces::uid.eq(key))
    };
    query.first(conn).optional()
}

pub fn get(conn: &mut DbConn, id: &WorkspaceId) -> QueryResult<Workspace> {
    workspaces::table
        .find(id.as_str())
        .select(Workspace::as_select())
        .first(conn)
}

/// A page in creation order (`after` is the last id of the previous page); `q` narrows to
/// names or uids that contain it (any case).
pub fn list(
    conn: &mut DbConn,
    q: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Workspace>> {
    let mut query = workspaces::table
        .filter(workspaces::id.ne(workspace::OPERATIONAL_ID))
        .order(workspaces::id.asc())
        .limit(limit)
        .select(Workspace::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(workspaces::id.gt(after));
    }
    if let Some(q) = q.filter(|q| !q.is_empty()) {
        query = query.filter(name_or_uid_contains(q));
    }
    query.load(conn)
}

/// Up to `limit` workspaces with a webhook failing now or disabled, matching `q` as `list`
/// does: what the Workspaces page shows first.
pub fn with_failing_webhooks(
    conn: &mut DbConn,
    q: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Workspace>> {
    let failing = webhooks::table
        .filter(
            webhooks::failing_since
                .is_not_null()
                .or(webhooks::enabled.eq(false)),
        )
        .select(webhooks::workspace_id);
    let mut query = workspaces::table
        .filter(workspaces::id.eq_any(failing))
        .filter(workspaces::id.ne(workspace::OPERATIONAL_ID))
        .order(workspaces::id.asc())
        .limit(limit)
        .select(Workspace::as_select())
        .into_boxed();
    if let Some(q) = q.filter(|q| !q.is_empty()) {
        query = query.filter(name_or_uid_contains(q));
    }
    query.load(conn)
}

/// The workspaces whose name or uid contains `q`, whatever its case (both backends).
fn name_or_uid_contains(
    q: &str,
) -> Box<
    dyn BoxableExpression<
            workspaces::table,
            <DbConn as diesel::Connection>::Backend,
            SqlType = diesel::sql_types::Bool,
        >,
> {
    let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
    Box::new(
        super::users::lower(workspaces::name)
            .like(pattern.clone())
            .escape('\\')
            .or(
                super::users::lower(diesel::dsl::sql::<diesel::sql_types::Text>(
                    "coalesce(workspaces.uid, '')",
                ))
                .like(pattern)
                .escape('\\'),
            ),
    )
}

/// `%`, `_` and `\` of a search taken literally in LIKE.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    workspaces::table
        .filter(workspaces::id.ne(workspace::OPERATIONAL_ID))
        .count()
        .get_result(conn)
}

pub fn rename(conn: &mut DbConn, id: &WorkspaceId, name: &str) -> QueryResult<()> {
    diesel::update(workspaces::table.find(id.as_str()))
        .set(workspaces::name.eq(name))
        .execute(conn)
        .map(|_| ())
}

pub fn set_uid(conn: &mut DbConn, id: &WorkspaceId, uid: Option<&str>) -> QueryResult<()> {
    diesel::update(workspaces::table.find(id.as_str()))
        .set(workspaces::uid.eq(uid))
        .execute(conn)
        .map(|_| ())
}

/// Whether another workspace has this uid.
pub fn uid_taken(conn: &mut DbConn, uid: &str, except: Option<&WorkspaceId>) -> QueryResult<bool> {
    let mut query = workspaces::table
        .filter(workspaces::uid.eq(uid))
        .select(workspaces::id)
        .into_boxed();
    if let Some(except) = except {
        query = query.filter(workspaces::id.ne(except.as_str()));
    }
    Ok(query.first::<String>(conn).optional()?.is_some())
}

/// Deletes a workspace with everything in it.
pub fn delete(conn: &mut DbConn, id: &WorkspaceId) -> QueryResult<()> {
    let ws = id.as_str();
    // Attempts and bulk-retry items go with their deliveries; secrets, subscriptions and bulk
    // retries with their webhooks; recorded requests with their inboxes (ON DELETE CASCADE).
    diesel::delete(deliveries::table.filter(deliveries::workspace_id.eq(ws))).execute(conn)?;
    diesel::delete(events::table.filter(events::workspace_id.eq(ws))).execute(conn)?;
    diesel::delete(webhooks::table.filter(webhooks::workspace_id.eq(ws))).execute(conn)?;
    diesel::delete(inboxes::table.filter(inboxes::workspace_id.eq(ws))).execute(conn)?;
    diesel::delete(audit_log::table.filter(audit_log::workspace_id.eq(ws))).execute(conn)?;
    diesel::delete(api_keys::table.filter(api_keys::workspace_id.eq(ws))).execute(conn)?;
    diesel::delete(memberships::table.filter(memberships::workspace_id.eq(ws))).execute(conn)?;
    super::portal::delete_workspace(conn, id)?;
    diesel::update(sessions::table.filter(sessions::workspace_id.eq(ws)))
        .set(sessions::workspace_id.eq(None::<&str>))
        .execute(conn)?;
    let n = diesel::delete(workspaces::table.find(ws)).execute(conn)?;
    if n == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    Ok(())
}

/// What the Workspaces page and the API show beside each workspace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub webhooks: i64,
    /// Failing now (a run of failed attempts) or disabled.
    pub failing_webhooks: i64,
    /// Deliveries made since `since`, and how many of those failed for good.
    pub deliveries: i64,
    pub failed: i64,
}

/// Counts for these workspaces; deliveries since the id `since_id` (an `id_floor`).
pub fn counts(
    conn: &mut DbConn,
    ids: &[&str],
    since_id: &str,
) -> QueryResult<HashMap<String, Counts>> {
    let mut out: HashMap<String, Counts> = HashMap::new();
    let hooks: Vec<(String, i64)> = webhooks::table
        .filter(webhooks::workspace_id.eq_any(ids))
        .group_by(webhooks::workspace_id)
        .select((webhooks::workspace_id, diesel::dsl::count_star()))
        .load(conn)?;
    for (ws, n) in hooks {
        out.entry(ws).or_default().webhooks = n;
    }
    let failing: Vec<(String, i64)> = webhooks::table
        .filter(webhooks::workspace_id.eq_any(ids))
        .filter(
            webhooks::failing_since
                .is_not_null()
                .or(webhooks::enabled.eq(false)),
        )
        .group_by(webhooks::workspace_id)
        .select((webhooks::workspace_id, diesel::dsl::count_star()))
        .load(conn)?;
    for (ws, n) in failing {
        out.entry(ws).or_default().failing_webhooks = n;
    }
    let made: Vec<(String, i64)> = deliveries::table
        .filter(deliveries::workspace_id.eq_any(ids))
        .filter(deliveries::id.ge(since_id))
        .group_by(deliveries::workspace_id)
        .select((deliveries::workspace_id, diesel::dsl::count_star()))
        .load(conn)?;
    for (ws, n) in made {
        out.entry(ws).or_default().deliveries = n;
    }
    let failed: Vec<(String, i64)> = deliveries::table
        .filter(deliveries::workspace_id.eq_any(ids))
        .filter(deliveries::status.eq(super::deliveries::FAILED))
        .filter(deliveries::id.ge(since_id))
        .group_by(deliveries::workspace_id)
        .select((deliveries::workspace_id, diesel::dsl::count_star()))
        .load(conn)?;
    for (ws, n) in failed {
        out.entry(ws).or_default().failed = n;
    }
    Ok(out)
}

/// Makes `user_id` a member of `ws` with `role` (or changes the role of a member).
pub fn add_member(
    conn: &mut DbConn,
    user_id: i32,
    ws: &WorkspaceId,
    role: Role,
    now: i64,
) -> QueryResult<()> {
    diesel::delete(
        memberships::table
            .filter(memberships::user_id.eq(user_id))
            .filter(memberships::workspace_id.eq(ws.as_str())),
    )
    .execute(conn)?;
    diesel::insert_into(memberships::table)
        .values((
            memberships::user_id.eq(user_id),
            memberships::workspace_id.eq(ws.as_str()),
            memberships::role.eq(role.as_str()),
            memberships::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A workspace's members with their role there and when they joined, oldest first.
pub fn members(
    conn: &mut DbConn,
    ws: &WorkspaceId,
) -> QueryResult<Vec<(super::users::User, String, i64)>> {
    use crate::db::schema::users;
    memberships::table
        .inner_join(users::table)
        .filter(memberships::workspace_id.eq(ws.as_str()))
        .order(memberships::created_at.asc())
        .select((
            super::users::User::as_select(),
            memberships::role,
            memberships::created_at,
        ))
        .load(conn)
}

/// Ends a membership; false when there was none.
pub fn remove_member(conn: &mut DbConn, user_id: i32, ws: &WorkspaceId) -> QueryResult<bool> {
    let n = diesel::delete(
        memberships::table
            .filter(memberships::user_id.eq(user_id))
            .filter(memberships::workspace_id.eq(ws.as_str())),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// The role of a member in a workspace; None when they are not a member.
pub fn member_role(conn: &mut DbConn, user_id: i32, ws: &str) -> QueryResult<Option<Role>> {
    let role: Option<String> = memberships::table
        .filter(memberships::user_id.eq(user_id))
        .filter(memberships::workspace_id.eq(ws))
        .select(memberships::role)
        .first(conn)
        .optional()?;
    Ok(role.and_then(|r| Role::parse(&r)))
}

/// The workspaces a member belongs to, in the order they joined.
pub fn of_member(conn: &mut DbConn, user_id: i32) -> QueryResult<Vec<Workspace>> {
    memberships::table
        .inner_join(workspaces::table)
        .filter(memberships::user_id.eq(user_id))
        .order(memberships::created_at.asc())
        .select(Workspace::as_select())
        .load(conn)
}

/// The smallest write that must reach the disk: the health probe's, while the database is
/// down (the operational workspace's row, which always exists, rewritten as it is).
pub fn probe(conn: &mut DbConn) -> QueryResult<()> {
    diesel::update(workspaces::table.find(workspace::OPERATIONAL_ID))
        .set(workspaces::created_at.eq(workspaces::created_at))
        .execute(conn)
        .map(|_| ())
}
