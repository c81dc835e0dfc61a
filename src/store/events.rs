use crate::db::DbConn;
use crate::db::schema::events;
use crate::domain::workspace::WorkspaceId;
use diesel::prelude::*;

pub struct NewEvent<'a> {
    pub workspace: &'a WorkspaceId,
    pub id: &'a str,
    pub event_type: &'a str,
    pub body: &'a [u8],
    pub delivery_count: i32,
    pub created_at: i64,
}

/// Stores many events: in a few statements on PostgreSQL (each is a round trip), one cached
/// statement per event on SQLite (in-process, where re-parsing a statement of a new size each
/// batch costs more than it saves).
pub fn insert_many(conn: &mut DbConn, rows: &[NewEvent<'_>]) -> QueryResult<()> {
    if let DbConn::Sqlite(_) = conn {
        return rows.iter().try_for_each(|e| insert(conn, e));
    }
    let values: Vec<_> = rows
        .iter()
        .map(|e| {
            (
                events::workspace_id.eq(e.workspace.as_str()),
                events::id.eq(e.id),
                events::event_type.eq(e.event_type),
                events::body.eq(e.body),
                events::delivery_count.eq(e.delivery_count),
                events::created_at.eq(e.created_at),
            )
        })
        .collect();
    // 6 parameters a row, below both backends' limits per statement.
    for chunk in values.chunks(2000) {
        let insert = diesel::insert_into(events::table).values(chunk);
        crate::db::on_backend!(conn, c => insert.execute(c))?;
    }
    Ok(())
}

/// The delivery counts events with these ids were first accepted with, for those that exist.
pub fn delivery_counts(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    ids: &[&str],
) -> QueryResult<std::collections::HashMap<String, i32>> {
    let mut found = std::collections::HashMap::new();
    if let DbConn::Sqlite(_) = conn {
        for id in ids {
            if let Some((_, n)) = find(conn, ws, id)? {
                found.insert((*id).to_owned(), n);
            }
        }
        return Ok(found);
    }
    for chunk in ids.chunks(900) {
        let query = events::table
            .filter(events::workspace_id.eq(ws.as_str()))
            .filter(events::id.eq_any(chunk))
            .select((events::id, events::delivery_count));
        let rows: Vec<(String, i32)> = crate::db::on_backend!(&mut *conn, c => query.load(c))?;
        found.extend(rows);
    }
    Ok(found)
}

pub fn insert(conn: &mut DbConn, e: &NewEvent<'_>) -> QueryResult<()> {
    let insert = diesel::insert_into(events::table).values((
        events::workspace_id.eq(e.workspace.as_str()),
        events::id.eq(e.id),
        events::event_type.eq(e.event_type),
        events::body.eq(e.body),
        events::delivery_count.eq(e.delivery_count),
        events::created_at.eq(e.created_at),
    ));
    crate::db::on_backend!(conn, c => insert.execute(c)).map(|_| ())
}

/// The type and delivery count an event was first accepted with, if it exists.
pub fn find(conn: &mut DbConn, ws: &WorkspaceId, id: &str) -> QueryResult<Option<(String, i32)>> {
    let query = events::table
        .find((ws.as_str(), id))
        .select((events::event_type, events::delivery_count));
    crate::db::on_backend!(conn, c => query.first(c).optional())
}

pub fn body(conn: &mut DbConn, ws: &WorkspaceId, id: &str) -> QueryResult<Vec<u8>> {
    events::table
        .find((ws.as_str(), id))
        .select(events::body)
        .first(conn)
}
