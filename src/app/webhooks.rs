//! Webhooks: read, create, change, enable and disable, delete, their signing secrets (reveal,
//! rotate) and recovery after they were disabled. Each use case checks the role, runs its
//! transaction and writes its audit entry.

use super::scope::Scope;
use super::{Actor, Via, audit};
use crate::domain::webhook::{FieldErrors, ValidWebhook, WebhookInput, validate};
use crate::domain::{ids, secrets, time, url_policy};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{self, webhooks::Webhook};
use std::time::Duration;

const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a webhook was not saved: its input (every field that is wrong), or anything else.
#[derive(Debug)]
pub enum SaveError {
    Invalid(FieldErrors),
    Failed(AppError),
}

impl From<AppError> for SaveError {
    fn from(e: AppError) -> Self {
        SaveError::Failed(e)
    }
}

impl SaveError {
    /// The first wrong field as a 422, for answers that name one field.
    pub fn into_first_error(self) -> AppError {
        match self {
            SaveError::Invalid(errors) => match errors.first() {
                Some((field, message)) => AppError::validation(field, message),
                None => AppError::validation("body", "invalid webhook"),
            },
            SaveError::Failed(e) => e,
        }
    }
}

/// The save-time half of the URL policy: resolve the host and check every address.
async fn check_target(state: &AppState, url: &url::Url) -> Result<(), String> {
    if state.config.allow_private_targets {
        return Ok(());
    }
    let url = url.clone();
    let lookup = actix_web::rt::task::spawn_blocking(move || url_policy::resolve(&url, false));
    match actix_web::rt::time::timeout(RESOLVE_TIMEOUT, lookup).await {
        Ok(Ok(Ok(_))) => Ok(()),
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Err(_)) | Err(_) => {
            Err("The host could not be resolved in time; check the spelling.".into())
        }
    }
}

/// Validates input fully (the network check included when `resolve`); errors are per field.
async fn validate_fully(
    state: &AppState,
    scope: &Scope,
    input: &WebhookInput,
    resolve: bool,
) -> Result<ValidWebhook, FieldErrors> {
    let catalogue = scope.catalogue();
    // This server's own test inbox is the one private target always allowed.
    let own_inbox = url_policy::parse(&input.url, true)
        .is_ok_and(|u| url_policy::is_own_inbox(&u, state.local_addr()));
    if own_inbox {
        return validate(input, true, catalogue);
    }
    let valid = validate(input, state.config.allow_private_targets, catalogue)?;
    if resolve && let Err(message) = check_target(state, &valid.url).await {
        let mut errors = FieldErrors::default();
        errors.add("url", message);
        return Err(errors);
    }
    Ok(valid)
}

/// Stores a webhook that passed validation, with a new signing secret, and records who made it.
pub(super) async fn create_valid(
    state: &AppState,
    scope: &Scope,
    valid: ValidWebhook,
    enabled: bool,
) -> Result<Webhook, AppError> {
    let secret = state.secrets.seal(&secrets::generate());
    let headers = valid
        .headers
        .as_deref()
        .and_then(|h| crate::domain::headers::seal(&state.secrets, h));
    let ws = scope.ws().clone();
    let webhook = crate::db::run(&state.pool, move |conn| {
        let id = ids::new_id("wh");
        crate::db::write_transaction(conn, |conn| {
            store::webhooks::create(
                conn,
                &store::webhooks::NewWebhook {
                    workspace: &ws,
                    id: &id,
                    url: valid.url.as_str(),
                    description: &valid.description,
                    enabled,
                    events: &valid.events,
                    secret: &secret,
                    filter: valid.filter.as_deref(),
                    headers: headers.as_deref(),
                    rate_limit: valid.rate_limit,
                    ordered: valid.ordered,
                },
                time::now_ms(),
            )?;
            store::webhooks::get(conn, &ws, &id)
        })
        .map_err(AppError::from)
    })
    .await?;
    tracing::info!(webhook_id = %webhook.id, actor = %scope.actor().name, "webhook created");
    audit::record(
        state,
        scope,
        "webhook_created",
        Some(&webhook.id),
        Some(&webhook.url),
    )
    .await;
    Ok(webhook)
}

/// One webhook; anything that is not a webhook id is simply not found.
pub async fn get(state: &AppState, scope: &Scope, id: &str) -> Result<Webhook, AppError> {
    if !ids::is_id("wh", id) {
        return Err(AppError::NotFound);
    }
    let (ws, id) = (scope.ws().clone(), id.to_owned());
    crate::db::run(&state.pool, move |conn| {
        store::webhooks::get(conn, &ws, &id).map_err(AppError::from)
    })
    .await
}

/// A page of webhooks, newest first, with the cursor of the next page.
pub async fn list(
    state: &AppState,
    scope: &Scope,
    before: Option<String>,
    limit: i64,
) -> Result<(Vec<Webhook>, Option<String>), AppError> {
    let ws = scope.ws().clone();
    let mut rows = crate::db::run(&state.pool, move |conn| {
        store::webhooks::list(conn, &ws, before.as_deref(), limit + 1).map_err(AppError::from)
    })
    .await?;
    let next = super::keyset_next(&mut rows, limit, |w| w.id.clone());
    Ok((rows, next))
}

pub async fn create(
    state: &AppState,
    scope: &Scope,
    input: WebhookInput,
    enabled: bool,
) -> Result<Webhook, SaveError> {
    scope.admin()?;
    let valid = validate_fully(state, scope, &input, true)
        .await
        .map_err(SaveError::Invalid)?;
    Ok(create_valid(state, scope, valid, enabled).await?)
}

/// What changes; absent fields keep their value.
#[derive(Debug, Default)]
pub struct Change {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
    /// A new payload filter as JSON text ("" removes it).
    pub filter: Option<String>,
    /// New custom headers (an empty list removes them all).
    pub headers: Option<Vec<(String, String)>>,
    /// A new rate limit as text ("" removes it).
    pub rate_limit: Option<String>,
    pub ordered: Option<bool>,
}

/// Why a webhook was disabled by hand, as its banner says.
fn disabled_reason(actor: &Actor) -> String {
    match actor.via {
        Via::ApiKey { .. } => "disabled through the API".into(),
        _ => format!("disabled by {}", actor.name),
    }
}

/// Changes a webhook; its host is resolved again only when the URL changes.
pub async fn update(
    state: &AppState,
    scope: &Scope,
    id: &str,
    change: Change,
) -> Result<Webhook, SaveError> {
    // Found first: another workspace's webhook is not found, whatever the role.
    let webhook = get(state, scope, id).await?;
    scope.admin()?;
    let url_changed = change.url.as_ref().is_some_and(|u| *u != webhook.url);
    let input = WebhookInput {
        url: change.url.unwrap_or_else(|| webhook.url.clone()),
        description: change
            .description
            .unwrap_or_else(|| webhook.description.clone()),
        events: change.events.unwrap_or_else(|| webhook.events.clone()),
        filter: change
            .filter
            .unwrap_or_else(|| webhook.filter.clone().unwrap_or_default()),
        headers: change.headers,
        rate_limit: change.rate_limit.unwrap_or_else(|| {
            webhook
                .rate_limit
                .map(|n| n.to_string())
                .unwrap_or_default()
        }),
        ordered: change.ordered.unwrap_or(webhook.ordered),
    };
    let valid = validate_fully(state, scope, &input, url_changed)
        .await
        .map_err(SaveError::Invalid)?;
    let (id, enabled, reason) = (
        webhook.id.clone(),
        change.enabled,
        disabled_reason(scope.actor()),
    );
    let headers = valid
        .headers
        .as_deref()
        .map(|h| crate::domain::headers::seal(&state.secrets, h));
    let ws = scope.ws().clone();
    let updated = crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            let now = time::now_ms();
            let settings = store::webhooks::Settings {
                url: valid.url.as_str(),
                description: &valid.description,
                events: &valid.events,
                filter: valid.filter.as_deref(),
                headers: headers.as_ref().map(|h| h.as_deref()),
                rate_limit: valid.rate_limit,
                ordered: valid.ordered,
            };
            store::webhooks::update(conn, &ws, &id, &settings, now)?;
            if let Some(enabled) = enabled {
                store::webhooks::set_enabled(conn, &ws, &id, enabled, Some(&reason), now)?;
            }
            store::webhooks::get(conn, &ws, &id)
        })
        .map_err(AppError::from)
    })
    .await?;
    tracing::info!(webhook_id = %updated.id, actor = %scope.actor().name, "webhook updated");
    audit::record(state, scope, "webhook_updated", Some(&updated.id), None).await;
    Ok(updated)
}

/// Enables or disables a webhook; disabling says who did it.
pub async fn set_enabled(
    state: &AppState,
    scope: &Scope,
    id: &str,
    enabled: bool,
) -> Result<Webhook, AppError> {
    // Found first: another workspace's webhook is not found, whatever the role.
    let webhook = get(state, scope, id).await?;
    scope.admin()?;
    let reason = (!enabled).then(|| disabled_reason(scope.actor()));
    let (ws, id) = (scope.ws().clone(), webhook.id.clone());
    crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            store::webhooks::set_enabled(conn, &ws, &id, enabled, reason.as_deref(), time::now_ms())
        })
        .map_err(AppError::from)
    })
    .await?;
    let action = if enabled {
        "webhook_enabled"
    } else {
        "webhook_disabled"
    };
    audit::record(state, scope, action, Some(&webhook.id), None).await;
    Ok(webhook)
}

pub async fn delete(state: &AppState, scope: &Scope, id: &str) -> Result<Webhook, AppError> {
    // Found first: another workspace's webhook is not found, whatever the role.
    let webhook = get(state, scope, id).await?;
    scope.admin()?;
    let (ws, id) = (scope.ws().clone(), webhook.id.clone());
    crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| store::webhooks::delete(conn, &ws, &id))
            .map_err(AppError::from)
    })
    .await?;
    tracing::info!(webhook_id = %webhook.id, actor = %scope.actor().name, "webhook deleted");
    audit::record(
        state,
        scope,
        "webhook_deleted",
        Some(&webhook.id),
        Some(&webhook.url),
    )
    .await;
    Ok(webhook)
}

/// What "recover" would deliver: failed deliveries since the trouble began, and events of
/// subscribed types published while the webhook was disabled.
pub struct Recovery {
    pub webhook: Webhook,
    pub failed: Vec<String>,
    pub missed: Vec<(String, String)>,
}

pub async fn recovery(state: &AppState, scope: &Scope, id: &str) -> Result<Recovery, AppError> {
    // Found first: another workspace's webhook is not found, whatever the role.
    let webhook = get(state, scope, id).await?;
    scope.admin()?;
    let disabled_at = webhook.disabled_at.unwrap_or_else(time::now_ms);
    let trouble_from = webhook
        .failing_since
        .map_or(disabled_at, |f| f.min(disabled_at));
    let (id, types) = (webhook.id.clone(), webhook.events.clone());
    let ws = scope.ws().clone();
    let (failed, missed) = crate::db::run(&state.pool, move |conn| {
        let failed = store::delivery_log::failed_after(conn, &ws, &id, trouble_from)?;
        let missed = store::delivery_log::missed_events(conn, &ws, &id, &types, disabled_at)?;
        Ok::<_, AppError>((failed, missed))
    })
    .await?;
    Ok(Recovery {
        webhook,
        failed,
        missed,
    })
}

/// Enables the webhook and queues what it missed: returns (failed queued again, missed queued).
pub async fn recover(
    state: &AppState,
    scope: &Scope,
    id: &str,
) -> Result<(usize, usize), AppError> {
    let Recovery {
        webhook,
        failed,
        missed,
    } = recovery(state, scope, id).await?;
    let (id, write_lock) = (webhook.id.clone(), state.write_lock.clone());
    let ws = scope.ws().clone();
    let (requeued, created) = crate::db::run(&state.pool, move |conn| {
        crate::db::immediate(conn, &write_lock, |conn| {
            let now = time::now_ms();
            store::webhooks::set_enabled(conn, &ws, &id, true, None, now)?;
            let requeued = store::deliveries::requeue(conn, &ws, &failed, now)?;
            let rows: Vec<store::deliveries::NewDelivery> = missed
                .iter()
                .map(|(event_id, event_type)| store::deliveries::NewDelivery {
                    workspace: &ws,
                    id: ids::new_id("dlv"),
                    event_id,
                    webhook_id: &id,
                    event_type,
                    is_test: false,
                    lease_until: None,
                })
                .collect();
            store::deliveries::insert_many(conn, &rows, now)?;
            Ok::<_, diesel::result::Error>((requeued, rows.len()))
        })
        .map_err(AppError::from)
    })
    .await?;
    state.wakeup.notify_one();
    tracing::info!(webhook_id = %webhook.id, actor = %scope.actor().name, requeued, missed = created, "webhook enabled with recovery");
    let detail =
        format!("{requeued} failed deliveries queued again, {created} missed events queued");
    audit::record(
        state,
        scope,
        "webhook_recovered",
        Some(&webhook.id),
        Some(&detail),
    )
    .await;
    Ok((requeued, created))
}

/// What waits in a webhook's queue, and whether its rate limit is what holds it.
pub struct QueueState {
    pub queue: store::queue::Queue,
    /// Deliveries wait for the rate limit: its second is used up with some still pending.
    pub waiting_rate_limit: bool,
}

/// A webhook's queue, for its page.
pub async fn queue(
    state: &AppState,
    scope: &Scope,
    webhook: &Webhook,
) -> Result<QueueState, AppError> {
    let (ws, id) = (scope.ws().clone(), webhook.id.clone());
    let now = time::now_ms();
    let queue = crate::db::run(&state.pool, move |conn| {
        store::queue::of_webhook(conn, &ws, &id, now).map_err(AppError::from)
    })
    .await?;
    let waiting_rate_limit = queue.pending > 0
        && webhook
            .rate_limit
            .is_some_and(|limit| webhook.rate_window.used_up(limit, now));
    Ok(QueueState {
        queue,
        waiting_rate_limit,
    })
}
