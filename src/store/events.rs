use crate::db::DbConn;
use crate::db::schema::events;
use diesel::prelude::*;

pub struct NewEvent<'a> {
    pub id: &'a str,
    pub event_type: &'a str,
    pub body: &'a [u8],
    pub delivery_count: i32,
    pub created_at: i64,
}

pub fn insert(conn: &mut DbConn, e: &NewEvent<'_>) -> QueryResult<()> {
    diesel::insert_into(events::table)
        .values((
            events::id.eq(e.id),
            events::event_type.eq(e.event_type),
            events::body.eq(e.body),
            events::delivery_count.eq(e.delivery_count),
            events::created_at.eq(e.created_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The type and delivery count an event was first accepted with, if it exists.
pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<(String, i32)>> {
    events::table
        .find(id)
        .select((events::event_type, events::delivery_count))
        .first(conn)
        .optional()
}

pub fn body(conn: &mut DbConn, id: &str) -> QueryResult<Vec<u8>> {
    events::table.find(id).select(events::body).first(conn)
}
