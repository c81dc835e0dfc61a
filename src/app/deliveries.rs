//! The Delivery Log: one filter parser for the page and the API (they differ only in how they
//! report what was not understood), pages of deliveries, a delivery with its attempts, and the
//! numbers behind a webhook's overview.

use super::scope::Scope;
use crate::domain::{events, ids, params::Params, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::deliveries::{self as store, Attempt, Delivery};
use crate::store::delivery_log::{self as log, LogFilter, LogRow};

pub const STATUSES: [&str; 4] = ["pending", "sending", "succeeded", "failed"];
pub const CLASSES: [(&str, i32); 5] = [("2xx", 2), ("3xx", 3), ("4xx", 4), ("5xx", 5), ("none", 0)];

/// The parameter names of one front: the page and the API name three filters differently.
/// The page also trims what people type; the API reads each value exactly as sent, as its
/// document describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    pub webhook: &'static str,
    pub class: &'static str,
    pub cursor: &'static str,
    pub trim: bool,
}

/// The page's names (`?webhook=&class=&before=`).
pub const PAGE_NAMES: Names = Names {
    webhook: "webhook",
    class: "class",
    cursor: "before",
    trim: true,
};

impl Names {
    /// A value as this front reads it.
    pub fn read(self, value: &str) -> &str {
        if self.trim { value.trim() } else { value }
    }
}

impl Default for Names {
    fn default() -> Self {
        PAGE_NAMES
    }
}

/// The API's names (`?webhook_id=&status_class=&cursor=`).
pub const API_NAMES: Names = Names {
    webhook: "webhook_id",
    class: "status_class",
    cursor: "cursor",
    trim: false,
};

/// The filters as typed (kept for the form) and as understood, with every value that was not
/// understood (by its parameter name). Nothing wrong is ever applied.
#[derive(Debug, Default, Clone)]
pub struct LogQuery {
    pub status: String,
    pub event_type: String,
    pub webhook: String,
    pub class: String,
    pub from: String,
    pub to: String,
    pub q: String,
    pub errors: Vec<(&'static str, String)>,
    pub filter: LogFilter,
    /// The names these filters were read with (and are written back with, in links).
    pub names: Names,
}

impl LogQuery {
    /// Reads the parameters; `webhook_id` fixes the webhook (a webhook's own tab).
    pub fn parse(params: &Params, names: Names, webhook_id: Option<&str>) -> LogQuery {
        let get = |name: &str| names.read(params.get(name)).to_owned();
        let mut f = LogQuery {
            status: get("status"),
            event_type: get("event_type"),
            webhook: get(names.webhook),
            class: get(names.class),
            from: get("from"),
            to: get("to"),
            q: get("q"),
            names,
            ..LogQuery::default()
        };
        let mut filter = LogFilter {
            webhook_id: webhook_id.map(str::to_owned),
            ..LogFilter::default()
        };
        if !f.status.is_empty() {
            match STATUSES.contains(&f.status.as_str()) {
                true => filter.status = Some(f.status.clone()),
                false => f
                    .errors
                    .push(("status", "Choose a status from the list.".into())),
            }
        }
        if !f.event_type.is_empty() {
            match events::find(&f.event_type).is_some() {
                true => filter.event_type = Some(f.event_type.clone()),
                false => f
                    .errors
                    .push(("event_type", "Choose an event type from the list.".into())),
            }
        }
        if webhook_id.is_none() && !f.webhook.is_empty() {
            match ids::is_id("wh", &f.webhook) {
                true => filter.webhook_id = Some(f.webhook.clone()),
                false => f
                    .errors
                    .push((names.webhook, "Choose a webhook from the list.".into())),
            }
        }
        if !f.class.is_empty() {
            match CLASSES.iter().find(|(name, _)| *name == f.class) {
                Some((_, c)) => filter.status_class = Some(*c),
                None => f
                    .errors
                    .push((names.class, "Choose a response class from the list.".into())),
            }
        }
        for (field, raw, slot) in [
            ("from", &f.from, &mut filter.id_from),
            ("to", &f.to, &mut filter.id_to),
        ] {
            if raw.is_empty() {
                continue;
            }
            match time::parse_utc(raw) {
                Some(ms) => *slot = Some(ids::id_floor("dlv", ms)),
                None => f.errors.push((
                    field,
                    "Enter a date and time such as 2026-11-27T20:00 (UTC).".into(),
                )),
            }
        }
        if !f.q.is_empty() {
            let ok = f.q.len() <= 100
                && f.q
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
            match ok {
                true => filter.search = Some(f.q.clone()),
                false => f.errors.push((
                    "q",
                    "Search by a delivery id (dlv_…) or an event id.".into(),
                )),
            }
        }
        // One rule on both fronts: a cursor this server did not give out is refused.
        match names.read(params.get(names.cursor)) {
            "" => {}
            c if ids::is_id("dlv", c) => filter.before = Some(c.to_owned()),
            _ => f.errors.push((
                names.cursor,
                "This page of the log does not exist; start again from the first page.".into(),
            )),
        }
        f.filter = filter;
        f
    }

    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// The query string of these filters (without the cursor), for links.
    pub fn query(&self) -> String {
        let names = self.names;
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &self.status),
            ("event_type", &self.event_type),
            (names.webhook, &self.webhook),
            (names.class, &self.class),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.finish()
    }

    /// True when any filter was typed.
    pub fn any(&self) -> bool {
        !self.query().is_empty()
    }

    /// The first value not understood, as a 422 naming its parameter (the API's way).
    pub fn first_error(&self) -> Result<(), AppError> {
        match self.errors.first() {
            Some((field, message)) => Err(AppError::validation(*field, message.clone())),
            None => Ok(()),
        }
    }
}

/// One page of the log under `filter`, newest first, and the cursor of the next page.
pub async fn log_page(
    state: &AppState,
    scope: &Scope,
    filter: LogFilter,
    limit: i64,
) -> Result<(Vec<LogRow>, Option<String>), AppError> {
    let _turn = state.list_queries.turn().await?;
    let ws = scope.ws().clone();
    let mut rows = crate::db::run(&state.pool, move |conn| {
        log::log_page(conn, &ws, &filter, limit + 1).map_err(AppError::from)
    })
    .await?;
    let next = super::keyset_next(&mut rows, limit, |r| r.delivery.id.clone());
    Ok((rows, next))
}

/// A delivery and the URL of its webhook.
pub async fn get(
    state: &AppState,
    scope: &Scope,
    id: &str,
) -> Result<(Delivery, String), AppError> {
    if !ids::is_id("dlv", id) {
        return Err(AppError::NotFound);
    }
    let (ws, id) = (scope.ws().clone(), id.to_owned());
    crate::db::run(&state.pool, move |conn| {
        let d = store::get(conn, &ws, &id)?;
        let url = crate::store::webhooks::get(conn, &ws, &d.webhook_id)?.url;
        Ok::<_, AppError>((d, url))
    })
    .await
}

/// A delivery with its webhook's URL, the event's body as sent, and every attempt (oldest first).
pub struct Detail {
    pub delivery: Delivery,
    pub webhook_url: String,
    pub payload: Vec<u8>,
    pub attempts: Vec<Attempt>,
}

pub async fn detail(state: &AppState, scope: &Scope, id: &str) -> Result<Detail, AppError> {
    let (delivery, webhook_url) = get(state, scope, id).await?;
    let (event_id, delivery_id) = (delivery.event_id.clone(), delivery.id.clone());
    let ws = scope.ws().clone();
    let (payload, attempts) = crate::db::run(&state.pool, move |conn| {
        Ok::<_, AppError>((
            crate::store::events::body(conn, &ws, &event_id)?,
            store::attempts_of(conn, &ws, &delivery_id)?,
        ))
    })
    .await?;
    Ok(Detail {
        delivery,
        webhook_url,
        payload,
        attempts,
    })
}

/// A webhook's recent deliveries for its overview: (created_at, status, duration) of each
/// non-test delivery since `since_ms`, and its last error (when, status, message).
pub struct Recent {
    pub rows: Vec<(i64, String, Option<i32>)>,
    pub last_error: Option<(i64, Option<i32>, String)>,
}

pub async fn recent(
    state: &AppState,
    scope: &Scope,
    webhook_id: &str,
    since_ms: i64,
) -> Result<Recent, AppError> {
    let (id, from) = (webhook_id.to_owned(), ids::id_floor("dlv", since_ms));
    let ws = scope.ws().clone();
    crate::db::run(&state.pool, move |conn| {
        Ok::<_, AppError>(Recent {
            rows: log::recent_of(conn, &ws, &id, &from)?,
            last_error: log::last_error(conn, &ws, &id)?,
        })
    })
    .await
}
