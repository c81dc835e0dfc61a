//! Operational events: what the instance tells the platform about every other workspace
//! (`webhook.disabled`, `delivery.exhausted`), written as events of the operational workspace
//! with a delivery to each of its subscribed webhooks, in the transaction of the outcomes that
//! cause them, so that none is lost and each is signed, retried and logged as any delivery.

use super::deliveries::{After, NewDelivery, Outcome};
use super::events::NewEvent;
use crate::db::DbConn;
use crate::db::schema::{deliveries, webhooks, workspaces};
use crate::domain::filter::Filter;
use crate::domain::workspace::{OPERATIONAL_ID, WorkspaceId};
use crate::domain::{events, ids};
use diesel::prelude::*;
use serde_json::{Value, json};
use std::collections::HashMap;

/// One operational event before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    pub event_type: &'static str,
    pub data: Value,
}

/// The operational events of a batch of outcomes: a `delivery.exhausted` for each delivery that
/// failed for good and a `webhook.disabled` for each webhook this batch disabled, except for
/// test deliveries and for the operational workspace's own (which would loop).
pub fn occurrences(
    conn: &mut DbConn,
    outcomes: &[Outcome],
    disabled: &[(String, String)],
) -> QueryResult<Vec<Occurrence>> {
    let failed: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.after == After::Failed && o.affects_health)
        .collect();
    if failed.is_empty() && disabled.is_empty() {
        return Ok(Vec::new());
    }
    let failed_ids: Vec<&str> = failed
        .iter()
        .map(|o| o.attempt.delivery_id.as_str())
        .collect();
    let mut of_delivery: HashMap<String, (String, String, String, bool)> = HashMap::new();
    for chunk in failed_ids.chunks(500) {
        let rows: Vec<(String, String, String, String, bool)> = deliveries::table
            .filter(deliveries::id.eq_any(chunk))
            .select((
                deliveries::id,
                deliveries::workspace_id,
                deliveries::event_id,
                deliveries::event_type,
                deliveries::is_test,
            ))
            .load(conn)?;
        for (id, ws, event_id, event_type, is_test) in rows {
            of_delivery.insert(id, (ws, event_id, event_type, is_test));
        }
    }
    let disabled_ids: Vec<&str> = disabled.iter().map(|(id, _)| id.as_str()).collect();
    let of_webhook: HashMap<String, (String, String)> = webhooks::table
        .filter(webhooks::id.eq_any(&disabled_ids))
        .select((webhooks::id, webhooks::workspace_id, webhooks::url))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, ws, url)| (id, (ws, url)))
        .collect();
    let mut spaces: Vec<&str> = of_delivery
        .values()
        .map(|d| d.0.as_str())
        .chain(of_webhook.values().map(|w| w.0.as_str()))
        .collect();
    spaces.sort_unstable();
    spaces.dedup();
    // A workspace is named as its deliveries' `X-Aethenox-Workspace` names it: uid, else id.
    let keys: HashMap<String, String> = workspaces::table
        .filter(workspaces::id.eq_any(&spaces))
        .select((workspaces::id, workspaces::uid))
        .load::<(String, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, uid)| (id.clone(), uid.unwrap_or(id)))
        .collect();
    let key = |ws: &str| keys.get(ws).cloned().unwrap_or_else(|| ws.to_owned());
    let mut out = Vec::new();
    for (webhook_id, reason) in disabled {
        let Some((ws, url)) = of_webhook.get(webhook_id) else {
            continue;
        };
        if ws != OPERATIONAL_ID {
            out.push(Occurrence {
                event_type: "webhook.disabled",
                data: json!({"workspace": key(ws), "webhook_id": webhook_id, "url": url,
                    "reason": reason}),
            });
        }
    }
    for o in failed {
        let Some((ws, event_id, event_type, is_test)) = of_delivery.get(&o.attempt.delivery_id)
        else {
            continue;
        };
        if ws != OPERATIONAL_ID && !is_test {
            out.push(Occurrence {
                event_type: "delivery.exhausted",
                data: json!({
                    "workspace": key(ws),
                    "webhook_id": o.webhook_id,
                    "delivery_id": o.attempt.delivery_id,
                    "event_id": event_id,
                    "event_type": event_type,
                    "last_status_code": o.attempt.status_code,
                    "last_error": o.attempt.error,
                }),
            });
        }
    }
    Ok(out)
}

/// Stores each occurrence as an event of the operational workspace with a delivery to every
/// enabled operational webhook subscribed to it (its payload filter applied); an occurrence
/// nobody subscribes to is not stored. Returns how many deliveries were made.
pub fn emit(conn: &mut DbConn, occurred: &[Occurrence], now: i64) -> QueryResult<usize> {
    if occurred.is_empty() {
        return Ok(0);
    }
    let ops = WorkspaceId::operational();
    let mut subscribers: HashMap<&str, Vec<(String, Option<Filter>)>> = HashMap::new();
    for o in occurred {
        if !subscribers.contains_key(o.event_type) {
            let found = super::subscribers::subscribed(conn, &ops, o.event_type, now)?
                .into_iter()
                // Stored filters were checked when saved; one that no longer parses lets
                // everything through rather than lose an event.
                .map(|w| {
                    (
                        w.id,
                        w.filter.and_then(|f| Filter::parse_text(&f).ok().flatten()),
                    )
                })
                .collect();
            subscribers.insert(o.event_type, found);
        }
    }
    let mut stored = Vec::new();
    for o in occurred {
        let to: Vec<&str> = subscribers[o.event_type]
            .iter()
            .filter(|(_, f)| f.as_ref().is_none_or(|f| f.matches(&o.data)))
            .map(|(id, _)| id.as_str())
            .collect();
        if !to.is_empty() {
            let id = ids::new_id("evt");
            let body = events::payload(&id, o.event_type, now, &o.data);
            stored.push((id, o.event_type, body, to));
        }
    }
    let new_events: Vec<NewEvent> = stored
        .iter()
        .map(|(id, event_type, body, to)| NewEvent {
            workspace: &ops,
            id,
            event_type,
            body,
            delivery_count: to.len() as i32,
            created_at: now,
        })
        .collect();
    let rows: Vec<NewDelivery> = stored
        .iter()
        .flat_map(|(id, event_type, _, to)| {
            to.iter().map(|webhook_id| NewDelivery {
                workspace: &ops,
                id: ids::new_id("dlv"),
                event_id: id,
                webhook_id,
                event_type,
                is_test: false,
                lease_until: None,
            })
        })
        .collect();
    super::events::insert_many(conn, &new_events)?;
    super::deliveries::insert_many(conn, &rows, now)?;
    if !rows.is_empty() {
        super::claims::wake_others(conn)?;
    }
    Ok(rows.len())
}
