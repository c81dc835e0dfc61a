//! Attempts a person or an API client asks for now: Send Test, Resend, and Retry failed (with
//! its progress). The sending itself is `delivery::manual`; this layer picks the input, checks
//! who may, and records it in the audit log.

use super::scope::Scope;
use super::{audit, webhooks};
use crate::delivery::manual;
use crate::domain::{events, ids, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::deliveries as store;
use crate::store::delivery_log::{self as log, BulkRetry};

pub use crate::delivery::manual::Result as Attempted;

/// Send Test: `event_type` (the webhook's first subscribed type when None) signed and sent now,
/// even while the webhook is disabled. Support may do it too.
pub async fn send_test(
    state: &AppState,
    scope: &Scope,
    webhook_id: &str,
    event_type: Option<&str>,
) -> Result<(Attempted, String), AppError> {
    let webhook = webhooks::get(state, scope, webhook_id).await?;
    let event_type = match event_type {
        Some(t) if events::is_in(scope.catalogue(), t) => t.to_owned(),
        Some(_) => {
            return Err(AppError::validation(
                "event_type",
                "Choose an event type from the list.",
            ));
        }
        None => webhook
            .events
            .first()
            .cloned()
            .unwrap_or_else(|| "message.received".into()),
    };
    let result = manual::send_test(
        state,
        scope.ws(),
        &webhook.id,
        &event_type,
        &scope.actor().name,
    )
    .await?;
    audit::record(
        state,
        scope,
        "test_sent",
        Some(&webhook.id),
        Some(&event_type),
    )
    .await;
    Ok((result, event_type))
}

/// Resend: one more attempt of a delivery now; its schedule stays as it was.
pub async fn resend(
    state: &AppState,
    scope: &Scope,
    delivery_id: &str,
) -> Result<Attempted, AppError> {
    if !ids::is_id("dlv", delivery_id) {
        return Err(AppError::NotFound);
    }
    let result = manual::resend(state, scope.ws(), delivery_id, &scope.actor().name).await?;
    audit::record(
        state,
        scope,
        "delivery_resent",
        Some(&result.delivery_id),
        None,
    )
    .await;
    Ok(result)
}

/// The windows "Retry failed" offers: (key, words, seconds).
pub const WINDOWS: [(&str, &str, i64); 4] = [
    ("1h", "the last hour", 3600),
    ("24h", "the last 24 hours", 86_400),
    ("7d", "the last 7 days", 7 * 86_400),
    ("30d", "the last 30 days", 30 * 86_400),
];

/// The window named `key` (the last 24 hours when empty).
pub fn window(key: &str) -> Result<(&'static str, &'static str, i64), AppError> {
    WINDOWS
        .iter()
        .find(|(k, _, _)| *k == if key.is_empty() { "24h" } else { key })
        .copied()
        .ok_or_else(|| AppError::validation("window", "Choose a time window from the list."))
}

/// Ids of the webhook's deliveries that failed within the last `secs` seconds.
pub async fn failed_in(
    state: &AppState,
    scope: &Scope,
    webhook_id: &str,
    secs: i64,
) -> Result<Vec<String>, AppError> {
    let (id, from) = (
        webhook_id.to_owned(),
        ids::id_floor("dlv", time::now_ms() - secs * 1000),
    );
    let ws = scope.ws().clone();
    crate::db::run(&state.pool, move |conn| {
        log::failed_since(conn, &ws, &id, &from).map_err(AppError::from)
    })
    .await
}

/// Queues every delivery of the webhook that failed within the window for one more attempt;
/// returns the id of this bulk retry, whose progress `retry_progress` reads.
pub async fn retry_failed(
    state: &AppState,
    scope: &Scope,
    webhook_id: &str,
    window_secs: i64,
) -> Result<String, AppError> {
    let webhook = webhooks::get(state, scope, webhook_id).await?;
    let ids_to_retry = failed_in(state, scope, &webhook.id, window_secs).await?;
    let n = ids_to_retry.len();
    let bulk_id = ids::new_id("rty");
    let (id, bulk, by, write_lock) = (
        webhook.id.clone(),
        bulk_id.clone(),
        scope.actor().name.clone(),
        state.write_lock.clone(),
    );
    let ws = scope.ws().clone();
    crate::db::run(&state.pool, move |conn| {
        crate::db::immediate(conn, &write_lock, |conn| {
            let now = time::now_ms();
            log::create_bulk_retry(conn, &bulk, &id, &ids_to_retry, &by, now)?;
            store::requeue(conn, &ws, &ids_to_retry, now)
        })
        .map_err(AppError::from)
    })
    .await?;
    state.wakeup.notify_one();
    tracing::info!(webhook_id = %webhook.id, bulk_id = %bulk_id, "failed deliveries queued again");
    audit::record(
        state,
        scope,
        "retry_failed",
        Some(&webhook.id),
        Some(&format!("{n} deliveries")),
    )
    .await;
    Ok(bulk_id)
}

/// How a bulk retry of `webhook_id` is going.
pub async fn retry_progress(
    state: &AppState,
    scope: &Scope,
    webhook_id: &str,
    bulk_id: &str,
) -> Result<BulkRetry, AppError> {
    let webhook = webhooks::get(state, scope, webhook_id).await?;
    if !ids::is_id("rty", bulk_id) {
        return Err(AppError::NotFound);
    }
    let (ws, bulk) = (scope.ws().clone(), bulk_id.to_owned());
    let retry = crate::db::run(&state.pool, move |conn| {
        log::bulk_retry(conn, &ws, &bulk).map_err(AppError::from)
    })
    .await?;
    if retry.webhook_id != webhook.id {
        return Err(AppError::NotFound);
    }
    Ok(retry)
}
