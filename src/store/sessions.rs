use super::users::User;
use crate::db::DbConn;
use crate::db::schema::{sessions, users};
use diesel::prelude::*;

pub fn create(conn: &mut DbConn, token_hash: &str, user_id: i32, now: i64) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(token_hash),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The signed-in user of a live session, with when the session was last seen.
/// Sessions past either timeout, or of a disabled user, count as absent.
pub fn find_user(
    conn: &mut DbConn,
    token_hash: &str,
    now: i64,
    idle_ms: i64,
    absolute_ms: i64,
) -> QueryResult<Option<(User, i64, Option<String>)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::last_seen_at.gt(now - idle_ms))
        .filter(sessions::created_at.gt(now - absolute_ms))
        .filter(users::disabled.eq(false))
        .select((
            User::as_select(),
            sessions::last_seen_at,
            sessions::workspace_id,
        ))
        .first(conn)
        .optional()
}

pub fn touch(conn: &mut DbConn, token_hash: &str, now: i64) -> QueryResult<()> {
    diesel::update(sessions::table.find(token_hash))
        .set(sessions::last_seen_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

/// Remembers the workspace this browser is in (where the first release's page paths lead).
pub fn set_workspace(conn: &mut DbConn, token_hash: &str, workspace_id: &str) -> QueryResult<()> {
    diesel::update(sessions::table.find(token_hash))
        .set(sessions::workspace_id.eq(Some(workspace_id)))
        .execute(conn)
        .map(|_| ())
}

pub fn delete(conn: &mut DbConn, token_hash: &str) -> QueryResult<()> {
    diesel::delete(sessions::table.find(token_hash))
        .execute(conn)
        .map(|_| ())
}

pub fn delete_expired(
    conn: &mut DbConn,
    now: i64,
    idle_ms: i64,
    absolute_ms: i64,
) -> QueryResult<usize> {
    diesel::delete(
        sessions::table.filter(
            sessions::last_seen_at
                .le(now - idle_ms)
                .or(sessions::created_at.le(now - absolute_ms)),
        ),
    )
    .execute(conn)
}

/// Ends every session of a user, but `keep` (the one making the request, if any).
pub fn end_all_of(conn: &mut DbConn, user_id: i32, keep: Option<&str>) -> QueryResult<usize> {
    let mut target = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .into_boxed();
    if let Some(k) = keep {
        target = target.filter(sessions::token_hash.ne(k));
    }
    let hashes: Vec<String> = target.select(sessions::token_hash).load(conn)?;
    diesel::delete(sessions::table.filter(sessions::token_hash.eq_any(hashes))).execute(conn)
}
