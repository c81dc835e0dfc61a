//! A webhook's secrets: its signing secret (reveal, rotate, the previous one's grace period)
//! and its custom headers, opened for administrators only.

use super::audit;
use super::scope::Scope;
use super::webhooks::get;
use crate::domain::{secrets, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{self, webhooks::Webhook};

/// The current signing secret, opened: for administrators; None for everyone else.
pub async fn current_secret(
    state: &AppState,
    scope: &Scope,
    id: &str,
) -> Result<Option<String>, AppError> {
    if !scope.is_admin() {
        return Ok(None);
    }
    let (ws, id) = (scope.ws().clone(), id.to_owned());
    let sealed = crate::db::run(&state.pool, move |conn| {
        store::webhooks::current_secret(conn, &ws, &id).map_err(AppError::from)
    })
    .await?;
    open_secret(state, &sealed).map(Some)
}

/// A webhook's custom headers, opened: for administrators; None for everyone else.
pub fn custom_headers(
    state: &AppState,
    scope: &Scope,
    webhook: &Webhook,
) -> Result<Option<Vec<(String, String)>>, AppError> {
    if !scope.is_admin() {
        return Ok(None);
    }
    crate::domain::headers::open(&state.secrets, webhook.headers.as_deref())
        .map(Some)
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))
}

/// Shows a webhook's custom header values to an administrator, and says so in the audit log.
pub async fn reveal_headers(
    state: &AppState,
    scope: &Scope,
    id: &str,
) -> Result<(Webhook, Vec<(String, String)>), AppError> {
    let webhook = get(state, scope, id).await?;
    scope.admin()?;
    let headers = custom_headers(state, scope, &webhook)?.unwrap_or_default();
    tracing::info!(webhook_id = %webhook.id, actor = %scope.actor().name, "custom header values revealed");
    audit::record(state, scope, "headers_revealed", Some(&webhook.id), None).await;
    Ok((webhook, headers))
}

/// Opens a stored signing secret; a wrong master key is a server error, said plainly in the log.
fn open_secret(state: &AppState, stored: &str) -> Result<String, AppError> {
    state
        .secrets
        .open(stored)
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))
}

/// Shows the current secret to an administrator (with its webhook), and says so in the audit log.
pub async fn reveal_secret(
    state: &AppState,
    scope: &Scope,
    id: &str,
) -> Result<(Webhook, String), AppError> {
    // Found first: another workspace's webhook is not found, whatever the role.
    let webhook = get(state, scope, id).await?;
    scope.admin()?;
    let secret = current_secret(state, scope, &webhook.id)
        .await?
        .ok_or(AppError::NotFound)?;
    tracing::info!(webhook_id = %webhook.id, actor = %scope.actor().name, "signing secret revealed");
    audit::record(state, scope, "secret_revealed", Some(&webhook.id), None).await;
    Ok((webhook, secret))
}

/// When the previous secret stops verifying, while it is in its grace period.
pub async fn previous_secret_expiry(
    state: &AppState,
    scope: &Scope,
    id: &str,
) -> Result<Option<i64>, AppError> {
    scope.admin()?;
    let (ws, id) = (scope.ws().clone(), id.to_owned());
    crate::db::run(&state.pool, move |conn| {
        store::webhooks::previous_secret_expiry(conn, &ws, &id, time::now_ms())
            .map_err(AppError::from)
    })
    .await
}

/// Parses a grace period in seconds: 0 up to seven days.
pub fn parse_grace(raw: &str) -> Result<i64, AppError> {
    let message = || {
        format!(
            "Choose a grace period between 0 and {} seconds.",
            secrets::MAX_GRACE_SECONDS
        )
    };
    let invalid = || AppError::validation("grace_period_seconds", message());
    let n: i64 = raw.trim().parse().map_err(|_| invalid())?;
    if (0..=secrets::MAX_GRACE_SECONDS).contains(&n) {
        Ok(n)
    } else {
        Err(invalid())
    }
}

/// Makes a new signing secret; the old one keeps verifying for `grace_seconds` (default 24 h).
pub async fn rotate_secret(
    state: &AppState,
    scope: &Scope,
    id: &str,
    grace_seconds: Option<i64>,
) -> Result<Webhook, AppError> {
    let webhook = get(state, scope, id).await?;
    scope.admin()?;
    let grace = match grace_seconds {
        None => secrets::DEFAULT_GRACE_SECONDS,
        Some(n) => parse_grace(&n.to_string())?,
    };
    let (ws, id) = (scope.ws().clone(), webhook.id.clone());
    let sealed = state.secrets.seal(&secrets::generate());
    let rotated = crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            store::webhooks::rotate_secret(conn, &ws, &id, &sealed, grace * 1000, time::now_ms())?;
            store::webhooks::get(conn, &ws, &id)
        })
        .map_err(AppError::from)
    })
    .await?;
    tracing::info!(webhook_id = %webhook.id, actor = %scope.actor().name, grace_seconds = grace, "signing secret rotated");
    audit::record(
        state,
        scope,
        "secret_rotated",
        Some(&webhook.id),
        Some(&format!("grace {grace} s")),
    )
    .await;
    Ok(rotated)
}
