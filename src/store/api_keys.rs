use super::users::Role;
use crate::db::DbConn;
use crate::db::schema::api_keys;
use crate::domain::workspace::WorkspaceId;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: i32,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub role: String,
    /// None for instance keys; a workspace key reaches that workspace only.
    pub workspace_id: Option<String>,
}

pub fn create(
    conn: &mut DbConn,
    name: &str,
    prefix: &str,
    key_hash: &str,
    role: Role,
    workspace: Option<&WorkspaceId>,
    now: i64,
) -> QueryResult<ApiKey> {
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::workspace_id.eq(workspace.map(WorkspaceId::as_str)),
            api_keys::name.eq(name),
            api_keys::prefix.eq(prefix),
            api_keys::key_hash.eq(key_hash),
            api_keys::role.eq(role.as_str()),
            api_keys::created_at.eq(now),
        ))
        .execute(conn)?;
    api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .select(ApiKey::as_select())
        .first(conn)
}

/// Most keys that work at once: each is a credential to audit, and lists show them all.
pub const MAX_ACTIVE: i64 = 200;

/// Whose keys: the instance's own, or one workspace's.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Instance,
    Workspace(&'a WorkspaceId),
}

impl Owner<'_> {
    fn workspace(&self) -> Option<&WorkspaceId> {
        match self {
            Owner::Instance => None,
            Owner::Workspace(ws) => Some(ws),
        }
    }
}

/// The keys of `owner`, still working or all.
fn owned(owner: Owner<'_>) -> api_keys::BoxedQuery<'_, <DbConn as diesel::Connection>::Backend> {
    match owner {
        Owner::Instance => api_keys::table
            .filter(api_keys::workspace_id.is_null())
            .into_boxed(),
        Owner::Workspace(ws) => api_keys::table
            .filter(api_keys::workspace_id.eq(ws.as_str()))
            .into_boxed(),
    }
}

pub fn count_active(conn: &mut DbConn, owner: Owner<'_>) -> QueryResult<i64> {
    owned(owner)
        .filter(api_keys::revoked_at.is_null())
        .count()
        .get_result(conn)
}

/// Keys of `owner` that still work, newest first.
pub fn list_active(conn: &mut DbConn, owner: Owner<'_>) -> QueryResult<Vec<ApiKey>> {
    owned(owner)
        .filter(api_keys::revoked_at.is_null())
        .order(api_keys::id.desc())
        .select(ApiKey::as_select())
        .load(conn)
}

/// One key of `owner`; another's is not found.
pub fn get_owned(conn: &mut DbConn, owner: Owner<'_>, id: i32) -> QueryResult<ApiKey> {
    owned(owner)
        .filter(api_keys::id.eq(id))
        .select(ApiKey::as_select())
        .first(conn)
}

pub fn find_active_by_hash(conn: &mut DbConn, key_hash: &str) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKey::as_select())
        .first(conn)
        .optional()
}

pub fn get(conn: &mut DbConn, id: i32) -> QueryResult<ApiKey> {
    api_keys::table
        .find(id)
        .select(ApiKey::as_select())
        .first(conn)
}

pub fn touch(conn: &mut DbConn, id: i32, now: i64) -> QueryResult<()> {
    diesel::update(api_keys::table.find(id))
        .set(api_keys::last_used_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

/// Returns how many keys were revoked (0 when it was already revoked or never existed).
pub fn revoke(conn: &mut DbConn, id: i32, now: i64) -> QueryResult<usize> {
    diesel::update(
        api_keys::table
            .find(id)
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now))
    .execute(conn)
}

/// Stores a new key for `name`; only its hash and display prefix are kept.
pub fn create_for_key(
    conn: &mut DbConn,
    name: &str,
    key: &str,
    role: Role,
    owner: Owner<'_>,
    now: i64,
) -> QueryResult<ApiKey> {
    use crate::domain::ids::{api_key_display_prefix, token_hash};
    create(
        conn,
        name,
        &api_key_display_prefix(key),
        &token_hash(key),
        role,
        owner.workspace(),
        now,
    )
}
