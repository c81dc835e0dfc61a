use crate::db::DbConn;
use crate::db::schema::{webhook_events, webhook_secrets, webhooks};
use crate::domain::events;
use crate::domain::workspace::WorkspaceId;
use diesel::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
struct WebhookRow {
    id: String,
    url: String,
    description: String,
    enabled: bool,
    disabled_reason: Option<String>,
    created_at: i64,
    updated_at: i64,
    disabled_at: Option<i64>,
    failing_since: Option<i64>,
    workspace_id: String,
    filter: Option<String>,
    headers: Option<String>,
    rate_limit: Option<i32>,
    ordered: bool,
    rate_window: i64,
    rate_used: i32,
}

/// A webhook with the event types it subscribes to (in catalogue order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub description: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub events: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// When it was last disabled (kept after re-enabling).
    pub disabled_at: Option<i64>,
    /// When its current run of failed attempts began; None while healthy.
    pub failing_since: Option<i64>,
    pub workspace_id: String,
    /// Its payload filter (compact JSON), None for every event of its types.
    pub filter: Option<String>,
    /// Its custom request headers, sealed (None: none).
    pub headers: Option<String>,
    /// Attempts that may start per second (None: no limit).
    pub rate_limit: Option<i32>,
    /// Its deliveries go one at a time, in the order their events were accepted.
    pub ordered: bool,
    /// The rate limit's last window: the second and how many attempts started in it.
    pub rate_window: crate::domain::pacing::Window,
}

impl Webhook {
    fn from_row(row: WebhookRow, mut events: Vec<String>) -> Self {
        events::catalogue_order(&mut events);
        Webhook {
            id: row.id,
            url: row.url,
            description: row.description,
            enabled: row.enabled,
            disabled_reason: row.disabled_reason,
            events,
            created_at: row.created_at,
            updated_at: row.updated_at,
            disabled_at: row.disabled_at,
            failing_since: row.failing_since,
            workspace_id: row.workspace_id,
            filter: row.filter,
            headers: row.headers,
            rate_limit: row.rate_limit,
            ordered: row.ordered,
            rate_window: crate::domain::pacing::Window {
                start: row.rate_window,
                used: row.rate_used,
            },
        }
    }
}

pub struct NewWebhook<'a> {
    pub workspace: &'a WorkspaceId,
    pub id: &'a str,
    pub url: &'a str,
    pub description: &'a str,
    pub enabled: bool,
    pub events: &'a [String],
    pub secret: &'a str,
    pub filter: Option<&'a str>,
    /// Custom headers, sealed.
    pub headers: Option<&'a str>,
    pub rate_limit: Option<i32>,
    pub ordered: bool,
}

/// The webhook `id` if it is the workspace's.
fn in_workspace<'a>(
    ws: &'a WorkspaceId,
    id: &'a str,
) -> diesel::dsl::Filter<
    diesel::dsl::Find<webhooks::table, &'a str>,
    diesel::dsl::Eq<webhooks::workspace_id, &'a str>,
> {
    webhooks::table
        .find(id)
        .filter(webhooks::workspace_id.eq(ws.as_str()))
}

fn insert_events(conn: &mut DbConn, id: &str, types: &[String]) -> QueryResult<()> {
    let rows: Vec<_> = types
        .iter()
        .map(|t| {
            (
                webhook_events::webhook_id.eq(id),
                webhook_events::event_type.eq(t),
            )
        })
        .collect();
    let insert = diesel::insert_into(webhook_events::table).values(rows);
    crate::db::on_backend!(conn, c => insert.execute(c)).map(|_| ())
}

pub fn create(conn: &mut DbConn, new: &NewWebhook<'_>, now: i64) -> QueryResult<()> {
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::id.eq(new.id),
            webhooks::workspace_id.eq(new.workspace.as_str()),
            webhooks::url.eq(new.url),
            webhooks::description.eq(new.description),
            webhooks::enabled.eq(new.enabled),
            webhooks::created_at.eq(now),
            webhooks::updated_at.eq(now),
            webhooks::filter.eq(new.filter),
            webhooks::headers.eq(new.headers),
            webhooks::rate_limit.eq(new.rate_limit),
            webhooks::ordered.eq(new.ordered),
        ))
        .execute(conn)?;
    insert_events(conn, new.id, new.events)?;
    diesel::insert_into(webhook_secrets::table)
        .values((
            webhook_secrets::webhook_id.eq(new.id),
            webhook_secrets::secret.eq(new.secret),
            webhook_secrets::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

fn events_of(conn: &mut DbConn, ids: &[&str]) -> QueryResult<HashMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> = webhook_events::table
        .filter(webhook_events::webhook_id.eq_any(ids))
        .select((webhook_events::webhook_id, webhook_events::event_type))
        .load(conn)?;
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (id, t) in rows {
        map.entry(id).or_default().push(t);
    }
    Ok(map)
}

/// Fails with `NotFound` when there is no such webhook in the workspace.
pub fn get(conn: &mut DbConn, ws: &WorkspaceId, id: &str) -> QueryResult<Webhook> {
    let row: WebhookRow = webhooks::table
        .find(id)
        .filter(webhooks::workspace_id.eq(ws.as_str()))
        .select(WebhookRow::as_select())
        .first(conn)?;
    let events = events_of(conn, &[id])?.remove(id).unwrap_or_default();
    Ok(Webhook::from_row(row, events))
}

/// Newest first; `before` is the id of the last webhook of the previous page.
pub fn list(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Webhook>> {
    let mut query = webhooks::table
        .filter(webhooks::workspace_id.eq(ws.as_str()))
        .order(webhooks::id.desc())
        .limit(limit)
        .select(WebhookRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(webhooks::id.lt(before));
    }
    let rows = query.load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut events = events_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let e = events.remove(&r.id).unwrap_or_default();
            Webhook::from_row(r, e)
        })
        .collect())
}

/// What a webhook's settings say: its URL, description, events, filter and delivery options.
pub struct Settings<'a> {
    pub url: &'a str,
    pub description: &'a str,
    pub events: &'a [String],
    pub filter: Option<&'a str>,
    /// New custom headers, sealed (`Some(None)`: none); None keeps them.
    pub headers: Option<Option<&'a str>>,
    pub rate_limit: Option<i32>,
    pub ordered: bool,
}

pub fn update(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    id: &str,
    settings: &Settings<'_>,
    now: i64,
) -> QueryResult<()> {
    let n = diesel::update(in_workspace(ws, id))
        .set((
            webhooks::url.eq(settings.url),
            webhooks::description.eq(settings.description),
            webhooks::filter.eq(settings.filter),
            webhooks::updated_at.eq(now),
            settings.headers.map(|h| webhooks::headers.eq(h)),
            webhooks::rate_limit.eq(settings.rate_limit),
            webhooks::ordered.eq(settings.ordered),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    diesel::delete(webhook_events::table.filter(webhook_events::webhook_id.eq(id)))
        .execute(conn)?;
    insert_events(conn, id, settings.events)
}

/// Enabling clears the reason; disabling records who or what disabled it, and when it went
/// down (kept for "recover" until it goes down again).
pub fn set_enabled(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    id: &str,
    enabled: bool,
    reason: Option<&str>,
    now: i64,
) -> QueryResult<()> {
    let was_enabled: bool = in_workspace(ws, id).select(webhooks::enabled).first(conn)?;
    let target = in_workspace(ws, id);
    if enabled {
        diesel::update(target)
            .set((
                webhooks::enabled.eq(true),
                webhooks::disabled_reason.eq(None::<&str>),
                webhooks::updated_at.eq(now),
            ))
            .execute(conn)?;
    } else {
        diesel::update(target)
            .set((
                webhooks::enabled.eq(false),
                webhooks::disabled_reason.eq(reason),
                webhooks::updated_at.eq(now),
            ))
            .execute(conn)?;
        if was_enabled {
            diesel::update(target)
                .set(webhooks::disabled_at.eq(Some(now)))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Deletes a webhook, its deliveries (with their attempts) and the events that no other
/// webhook's delivery refers to, so nothing is left for retention to miss.
pub fn delete(conn: &mut DbConn, ws: &WorkspaceId, id: &str) -> QueryResult<()> {
    use crate::db::schema::deliveries;
    // The webhook must be the workspace's (its deliveries' events are then the workspace's too).
    in_workspace(ws, id)
        .select(webhooks::id)
        .first::<String>(conn)?;
    let mut events: Vec<String> = deliveries::table
        .filter(deliveries::webhook_id.eq(id))
        .select(deliveries::event_id)
        .load(conn)?;
    events.sort_unstable();
    events.dedup();
    let n = diesel::delete(in_workspace(ws, id)).execute(conn)?;
    if n == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    for chunk in events.chunks(900) {
        super::retention::delete_events(conn, ws, chunk)?;
    }
    Ok(())
}

/// The workspace a webhook belongs to (for the delivery actor, which works across them all).
pub fn workspace_of(conn: &mut DbConn, id: &str) -> QueryResult<Option<String>> {
    webhooks::table
        .find(id)
        .select(webhooks::workspace_id)
        .first(conn)
        .optional()
}

/// The secret new signatures are made with.
pub fn current_secret(conn: &mut DbConn, ws: &WorkspaceId, id: &str) -> QueryResult<String> {
    webhook_secrets::table
        .filter(webhook_secrets::webhook_id.eq(id))
        .filter(diesel::dsl::exists(in_workspace(ws, id)))
        .filter(webhook_secrets::expires_at.is_null())
        .order(webhook_secrets::id.desc())
        .select(webhook_secrets::secret)
        .first(conn)
}

/// Every secret a receiver may still be checking against at `now`: the current one first,
/// then rotated-out ones still inside their grace period, newest first.
pub fn valid_secrets(conn: &mut DbConn, id: &str, now: i64) -> QueryResult<Vec<String>> {
    Ok(super::subscribers::valid_secrets_for(conn, &[id], now)?
        .remove(id)
        .unwrap_or_default())
}

/// Stored secrets that are not sealed yet (from before encryption at rest): (row id, secret).
pub fn unsealed_secrets(conn: &mut DbConn) -> QueryResult<Vec<(i32, String)>> {
    webhook_secrets::table
        .filter(webhook_secrets::secret.not_like("enc:%"))
        .select((webhook_secrets::id, webhook_secrets::secret))
        .load(conn)
}

/// Any one stored secret, to check the master key against.
pub fn any_secret(conn: &mut DbConn) -> QueryResult<Option<String>> {
    webhook_secrets::table
        .select(webhook_secrets::secret)
        .first(conn)
        .optional()
}

pub fn replace_secret(conn: &mut DbConn, row_id: i32, stored: &str) -> QueryResult<()> {
    diesel::update(webhook_secrets::table.find(row_id))
        .set(webhook_secrets::secret.eq(stored))
        .execute(conn)
        .map(|_| ())
}

/// When the most recently rotated-out secret stops working, if it still works at `now`.
pub fn previous_secret_expiry(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    id: &str,
    now: i64,
) -> QueryResult<Option<i64>> {
    webhook_secrets::table
        .filter(webhook_secrets::webhook_id.eq(id))
        .filter(diesel::dsl::exists(in_workspace(ws, id)))
        .filter(webhook_secrets::expires_at.gt(now))
        .select(diesel::dsl::max(webhook_secrets::expires_at))
        .first(conn)
}

/// Makes `new_secret` current; the old one keeps working for `grace_ms` (0 = stops now).
pub fn rotate_secret(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    id: &str,
    new_secret: &str,
    grace_ms: i64,
    now: i64,
) -> QueryResult<()> {
    in_workspace(ws, id)
        .select(webhooks::id)
        .first::<String>(conn)?;
    diesel::update(
        webhook_secrets::table
            .filter(webhook_secrets::webhook_id.eq(id))
            .filter(webhook_secrets::expires_at.is_null()),
    )
    .set(webhook_secrets::expires_at.eq(now + grace_ms))
    .execute(conn)?;
    diesel::delete(
        webhook_secrets::table
            .filter(webhook_secrets::webhook_id.eq(id))
            .filter(webhook_secrets::expires_at.le(now)),
    )
    .execute(conn)?;
    diesel::insert_into(webhook_secrets::table)
        .values((
            webhook_secrets::webhook_id.eq(id),
            webhook_secrets::secret.eq(new_secret),
            webhook_secrets::created_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(webhooks::table.find(id))
        .set(webhooks::updated_at.eq(now))
        .execute(conn)
        .map(|_| ())
}
