use crate::db::DbConn;
use crate::db::schema::{inbox_requests, inboxes, webhooks};
use crate::domain::workspace::WorkspaceId;
use diesel::prelude::*;

/// Requests kept per inbox; the oldest go first.
pub const MAX_REQUESTS: i64 = 100;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inboxes)]
pub struct Inbox {
    pub id: String,
    pub token: String,
    pub name: String,
    pub created_at: i64,
    pub workspace_id: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inbox_requests)]
pub struct InboxRequest {
    pub id: i32,
    pub inbox_id: String,
    pub received_at: i64,
    pub headers: String,
    pub body: Vec<u8>,
    pub body_truncated: bool,
    pub signature_valid: bool,
    pub webhook_id: Option<String>,
}

pub fn create(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    id: &str,
    token: &str,
    name: &str,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(inboxes::table)
        .values((
            inboxes::id.eq(id),
            inboxes::workspace_id.eq(ws.as_str()),
            inboxes::token.eq(token),
            inboxes::name.eq(name),
            inboxes::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn list(conn: &mut DbConn, ws: &WorkspaceId) -> QueryResult<Vec<Inbox>> {
    inboxes::table
        .filter(inboxes::workspace_id.eq(ws.as_str()))
        .order(inboxes::id.desc())
        .select(Inbox::as_select())
        .load(conn)
}

pub fn get(conn: &mut DbConn, ws: &WorkspaceId, id: &str) -> QueryResult<Inbox> {
    inboxes::table
        .find(id)
        .filter(inboxes::workspace_id.eq(ws.as_str()))
        .select(Inbox::as_select())
        .first(conn)
}

pub fn by_token(conn: &mut DbConn, token: &str) -> QueryResult<Option<Inbox>> {
    inboxes::table
        .filter(inboxes::token.eq(token))
        .select(Inbox::as_select())
        .first(conn)
        .optional()
}

/// Newest first.
pub fn requests(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    inbox_id: &str,
    after_id: i32,
) -> QueryResult<Vec<InboxRequest>> {
    inbox_requests::table
        .inner_join(inboxes::table)
        .filter(inboxes::workspace_id.eq(ws.as_str()))
        .filter(inbox_requests::inbox_id.eq(inbox_id))
        .filter(inbox_requests::id.gt(after_id))
        .order(inbox_requests::id.desc())
        .limit(MAX_REQUESTS)
        .select(InboxRequest::as_select())
        .load(conn)
}

pub struct NewRequest<'a> {
    pub inbox_id: &'a str,
    pub received_at: i64,
    pub headers: &'a str,
    pub body: &'a [u8],
    pub body_truncated: bool,
    pub signature_valid: bool,
    pub webhook_id: Option<&'a str>,
}

/// Stores a request and drops the oldest beyond `MAX_REQUESTS`.
pub fn add_request(conn: &mut DbConn, r: &NewRequest<'_>) -> QueryResult<()> {
    diesel::insert_into(inbox_requests::table)
        .values((
            inbox_requests::inbox_id.eq(r.inbox_id),
            inbox_requests::received_at.eq(r.received_at),
            inbox_requests::headers.eq(r.headers),
            inbox_requests::body.eq(r.body),
            inbox_requests::body_truncated.eq(r.body_truncated),
            inbox_requests::signature_valid.eq(r.signature_valid),
            inbox_requests::webhook_id.eq(r.webhook_id),
        ))
        .execute(conn)?;
    let keep: Vec<i32> = inbox_requests::table
        .filter(inbox_requests::inbox_id.eq(r.inbox_id))
        .order(inbox_requests::id.desc())
        .limit(MAX_REQUESTS)
        .select(inbox_requests::id)
        .load(conn)?;
    if let Some(oldest_kept) = keep.last() {
        diesel::delete(
            inbox_requests::table
                .filter(inbox_requests::inbox_id.eq(r.inbox_id))
                .filter(inbox_requests::id.lt(oldest_kept)),
        )
        .execute(conn)?;
    }
    Ok(())
}

pub fn purge(conn: &mut DbConn, ws: &WorkspaceId, inbox_id: &str) -> QueryResult<usize> {
    get(conn, ws, inbox_id)?;
    diesel::delete(inbox_requests::table.filter(inbox_requests::inbox_id.eq(inbox_id)))
        .execute(conn)
}

/// The workspace's webhooks whose endpoint is exactly `url`.
pub fn webhooks_for_url(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    url: &str,
) -> QueryResult<Vec<String>> {
    webhooks::table
        .filter(webhooks::workspace_id.eq(ws.as_str()))
        .filter(webhooks::url.eq(url))
        .select(webhooks::id)
        .load(conn)
}
