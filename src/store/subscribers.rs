//! What the delivery path reads of webhooks: who subscribes to a published event (with what
//! sending it at once needs), and the secrets that sign their deliveries.

use crate::db::DbConn;
use crate::db::schema::{webhook_events, webhook_secrets, webhooks};
use crate::domain::workspace::WorkspaceId;
use diesel::prelude::*;
use std::collections::HashMap;

/// Sealed secrets with their expiry (None: the current one).
type Secrets = Vec<(String, Option<i64>)>;

/// An enabled webhook subscribed to an event type, as the intake needs it: whom a new event
/// makes a delivery for (`filter`), and what sending it at once needs.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub id: String,
    /// The stored payload filter (None: every event).
    pub filter: Option<String>,
    pub url: String,
    /// Sealed custom headers (None: none).
    pub headers: Option<String>,
    pub ordered: bool,
    pub rate_limited: bool,
    /// Its valid signing secrets, sealed, the current one first (as `valid_secrets`).
    pub secrets: Vec<String>,
}

/// The workspace's enabled webhooks subscribed to `event_type`, with their secrets valid at
/// `now`, in one statement (it runs for every batch of published events).
pub fn subscribed(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    event_type: &str,
    now: i64,
) -> QueryResult<Vec<Subscriber>> {
    use webhook_secrets as s;
    let query = webhook_events::table
        .inner_join(webhooks::table)
        .left_join(
            s::table.on(s::webhook_id
                .eq(webhooks::id)
                .and(s::expires_at.is_null().or(s::expires_at.gt(now)))),
        )
        .filter(webhooks::workspace_id.eq(ws.as_str()))
        .filter(webhook_events::event_type.eq(event_type))
        .filter(webhooks::enabled.eq(true))
        .order((webhooks::id, s::id.desc()))
        .select((
            (
                webhooks::id,
                webhooks::filter,
                webhooks::url,
                webhooks::headers,
                webhooks::ordered,
                webhooks::rate_limit.is_not_null(),
            ),
            (s::secret.nullable(), s::expires_at.nullable()),
        ));
    type Row = (
        (String, Option<String>, String, Option<String>, bool, bool),
        (Option<String>, Option<i64>),
    );
    // On the publishing path: run on the backend's own connection and statement cache.
    let rows: Vec<Row> = crate::db::on_backend!(conn, c => query.load(c))?;
    let mut found: Vec<(Subscriber, Secrets)> = Vec::new();
    for ((id, filter, url, headers, ordered, rate_limited), (secret, expires)) in rows {
        if found.last().is_none_or(|(w, _)| w.id != id) {
            let webhook = Subscriber {
                id,
                filter,
                url,
                headers,
                ordered,
                rate_limited,
                secrets: Vec::new(),
            };
            found.push((webhook, Vec::new()));
        }
        if let (Some(secret), Some((_, list))) = (secret, found.last_mut()) {
            list.push((secret, expires));
        }
    }
    Ok(found
        .into_iter()
        .map(|(mut w, list)| {
            w.secrets = current_first(list);
            w
        })
        .collect())
}

/// The valid signing secrets of many webhooks at once (`webhooks::valid_secrets` of each).
/// `ids` may name a webhook many times (a claim names it once per delivery): each webhook's
/// secrets are read, and listed, once.
pub fn valid_secrets_for(
    conn: &mut DbConn,
    ids: &[&str],
    now: i64,
) -> QueryResult<HashMap<String, Vec<String>>> {
    use webhook_secrets as s;
    // Read once per id, a claim of 500 deliveries to one webhook listed its secret 500 times,
    // and each of them carried 500 signatures: a header past what receivers take (nginx
    // answered 400), and the signing cost squared (issue 21).
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let ids = &ids[..];
    let valid = s::expires_at.is_null().or(s::expires_at.gt(now));
    let columns = (s::webhook_id, s::secret, s::expires_at);
    let newest_first = s::table.order(s::id.desc());
    // On the delivery path: run on the backend's own connection and statement cache. SQLite
    // writes `IN (?, ?, …)` for a list, a statement compiled anew on every use; one cached
    // statement per webhook costs less there (in-process, no round trips).
    let rows: Vec<(String, String, Option<i64>)> = match conn {
        DbConn::Pg(c) => newest_first
            .filter(s::webhook_id.eq_any(ids))
            .filter(valid)
            .select(columns)
            .load(c)?,
        DbConn::Sqlite(c) => {
            let mut rows = Vec::new();
            for id in ids {
                let one = newest_first.filter(s::webhook_id.eq(*id)).filter(valid);
                rows.extend(
                    one.select(columns)
                        .load::<(String, String, Option<i64>)>(c)?,
                );
            }
            rows
        }
    };
    let mut map: HashMap<String, Secrets> = HashMap::new();
    for (id, secret, exp) in rows {
        map.entry(id).or_default().push((secret, exp));
    }
    Ok(map
        .into_iter()
        .map(|(id, list)| (id, current_first(list)))
        .collect())
}

/// Valid secrets read newest first, put in the order signing uses: the current one (no expiry)
/// first, then the rest newest first.
fn current_first(mut list: Secrets) -> Vec<String> {
    list.sort_by_key(|(_, exp)| exp.is_some());
    list.into_iter().map(|(s, _)| s).collect()
}
