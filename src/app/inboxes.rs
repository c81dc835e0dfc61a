//! Test inboxes: URLs on this server (`/inbox/{token}`) that accept deliveries, check their
//! signature against the webhooks pointing to them, and keep what they received.

use super::scope::Scope;
use super::{audit, webhooks};
use crate::domain::events::CATALOGUE;
use crate::domain::webhook::ValidWebhook;
use crate::domain::{ids, signing, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::inboxes::{self as store, Inbox, InboxRequest, NewRequest};
use crate::store::webhooks::Webhook;

/// At most this much of a received body is kept.
pub const MAX_BODY: usize = 64 * 1024;
/// At most this many inboxes.
pub const MAX_INBOXES: usize = 20;

/// The URL of an inbox on this server, as deliveries reach it.
pub fn url(state: &AppState, token: &str) -> String {
    let addr = state.local_addr();
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    let host = if addr.is_ipv6() && !addr.ip().is_unspecified() {
        format!("[{host}]")
    } else {
        host
    };
    format!("http://{host}:{}/inbox/{token}", addr.port())
}

pub async fn list(state: &AppState, scope: &Scope) -> Result<Vec<Inbox>, AppError> {
    scope.admin()?;
    let ws = scope.ws().clone();
    crate::db::run(&state.pool, move |conn| {
        store::list(conn, &ws).map_err(AppError::from)
    })
    .await
}

/// Creates an inbox; Err(message) when the name cannot be used or there are enough inboxes.
pub async fn create(
    state: &AppState,
    scope: &Scope,
    name: &str,
) -> Result<Result<Inbox, String>, AppError> {
    let existing = list(state, scope).await?;
    let name = match ids::check_key_name(name) {
        Ok(_) if existing.len() >= MAX_INBOXES => {
            return Ok(Err(format!(
                "There are {MAX_INBOXES} inboxes already: purge and reuse one."
            )));
        }
        Ok(name) => name,
        Err(message) => return Ok(Err(message)),
    };
    let (id, token) = (ids::new_id("ibx"), ids::random_token::<24>());
    let ws = scope.ws().clone();
    let inbox = crate::db::run(&state.pool, move |conn| {
        store::create(conn, &ws, &id, &token, &name, time::now_ms())?;
        store::get(conn, &ws, &id).map_err(AppError::from)
    })
    .await?;
    audit::record(state, scope, "inbox_created", Some(&inbox.id), None).await;
    Ok(Ok(inbox))
}

pub async fn get(state: &AppState, scope: &Scope, id: &str) -> Result<Inbox, AppError> {
    if !ids::is_id("ibx", id) {
        return Err(AppError::NotFound);
    }
    let (ws, id) = (scope.ws().clone(), id.to_owned());
    let inbox = crate::db::run(&state.pool, move |conn| {
        store::get(conn, &ws, &id).map_err(AppError::from)
    })
    .await?;
    scope.admin()?;
    Ok(inbox)
}

/// What the inbox received, newest first.
pub async fn requests(
    state: &AppState,
    scope: &Scope,
    id: &str,
) -> Result<(Inbox, Vec<InboxRequest>), AppError> {
    let inbox = get(state, scope, id).await?;
    let (ws, inbox_id) = (scope.ws().clone(), inbox.id.clone());
    let rows = crate::db::run(&state.pool, move |conn| {
        store::requests(conn, &ws, &inbox_id, 0).map_err(AppError::from)
    })
    .await?;
    Ok((inbox, rows))
}

pub async fn purge(state: &AppState, scope: &Scope, id: &str) -> Result<Inbox, AppError> {
    let inbox = get(state, scope, id).await?;
    let (ws, inbox_id) = (scope.ws().clone(), inbox.id.clone());
    crate::db::run(&state.pool, move |conn| {
        store::purge(conn, &ws, &inbox_id).map_err(AppError::from)
    })
    .await?;
    audit::record(state, scope, "inbox_purged", Some(&inbox.id), None).await;
    Ok(inbox)
}

/// A webhook to this inbox, subscribed to every event type.
pub async fn create_webhook_to(
    state: &AppState,
    scope: &Scope,
    id: &str,
) -> Result<Webhook, AppError> {
    let inbox = get(state, scope, id).await?;
    let url =
        url::Url::parse(&url(state, &inbox.token)).map_err(|e| AppError::Internal(e.into()))?;
    let valid = ValidWebhook {
        url,
        description: format!("Test inbox: {}", inbox.name),
        events: CATALOGUE.iter().map(|e| e.name.to_owned()).collect(),
        filter: None,
        headers: None,
        rate_limit: None,
        ordered: false,
    };
    webhooks::create_valid(state, scope, valid, true).await
}

/// A request to `/inbox/{token}`: stored, and Some(true) when its signature is valid for a
/// webhook pointing here (None: no such inbox).
pub async fn receive(
    state: &AppState,
    token: String,
    headers: Vec<(String, String)>,
    signature: String,
    body: Vec<u8>,
) -> Result<Option<bool>, AppError> {
    if token.len() != 32 {
        return Ok(None);
    }
    let url = url(state, &token);
    let sealed = state.secrets.clone();
    crate::db::run(&state.pool, move |conn| {
        let Some(inbox) = store::by_token(conn, &token)? else {
            return Ok(None);
        };
        let now = time::now_ms();
        let mut matched = None;
        // Only the inbox's own workspace's webhooks: another workspace's signature is no match.
        let ws = crate::domain::workspace::WorkspaceId::from_stored(inbox.workspace_id.clone());
        for webhook_id in store::webhooks_for_url(conn, &ws, &url)? {
            let secrets = crate::store::webhooks::valid_secrets(conn, &webhook_id, now)?;
            let secrets = sealed
                .open_all(&secrets)
                .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
            if secrets
                .iter()
                .any(|s| signing::verify_aethenox_signature(s, &body, &signature))
            {
                matched = Some(webhook_id);
                break;
            }
        }
        let kept = &body[..body.len().min(MAX_BODY)];
        store::add_request(
            conn,
            &NewRequest {
                inbox_id: &inbox.id,
                received_at: now,
                headers: &serde_json::to_string(&headers).unwrap_or_default(),
                body: kept,
                body_truncated: body.len() > MAX_BODY,
                signature_valid: matched.is_some(),
                webhook_id: matched.as_deref(),
            },
        )?;
        Ok::<_, AppError>(Some(matched.is_some()))
    })
    .await
}
