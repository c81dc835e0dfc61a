//! Attempts made by a person or an API client right now, outside the schedule: Send Test and
//! Resend. They go through the same signing and sending path as the actor's.

use super::{outcome, send};
use crate::domain::workspace::WorkspaceId;
use crate::domain::{events, ids, time};
use crate::error::AppError;
use crate::limits::ManualTurn;
use crate::state::AppState;
use crate::store::claims;
use crate::store::deliveries::{self as store, After, NewDelivery};
use crate::store::events::NewEvent;
use std::cell::RefCell;

thread_local! {
    // awc is not `Send`: each web worker thread keeps its own client.
    static CLIENT: RefCell<Option<awc::Client>> = const { RefCell::new(None) };
}

fn client(state: &AppState) -> awc::Client {
    CLIENT.with(|c| {
        c.borrow_mut()
            .get_or_insert_with(|| {
                send::client(
                    state.config.allow_private_targets,
                    state.config.request_timeout,
                    64,
                )
            })
            .clone()
    })
}

/// What a person sees after an attempt made by hand.
#[derive(Debug, Clone)]
pub struct Result {
    pub delivery_id: String,
    pub success: bool,
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    pub error_class: Option<&'static str>,
    pub error: Option<String>,
    pub response_excerpt: String,
}

/// Sends `delivery_id` now and records the attempt. `test` deliveries are single attempts; a
/// resend keeps the delivery's schedule unless it succeeds. `turn` is this attempt's place
/// among those made by hand (taken here when None); it is held until the attempt is recorded.
async fn attempt(
    state: &AppState,
    ws: &WorkspaceId,
    delivery_id: &str,
    trigger: &str,
    by: &str,
    turn: Option<ManualTurn>,
) -> std::result::Result<Result, AppError> {
    let already_leased = turn.is_some();
    let _turn = match turn {
        Some(t) => t,
        None => {
            let (ws, id) = (ws.clone(), delivery_id.to_owned());
            let webhook_id = crate::db::run(&state.pool, move |conn| {
                store::get(conn, &ws, &id)
                    .map(|d| d.webhook_id)
                    .map_err(AppError::from)
            })
            .await?;
            state.manual_attempts.take(&webhook_id)?
        }
    };
    let (ws, id) = (ws.clone(), delivery_id.to_owned());
    let lease = lease_until(state);
    let state_secrets = state.secrets.clone();
    let (job, secrets, leased) = crate::db::run(&state.pool, move |conn| {
        let job = claims::load_claimed(conn, &ws, &id)?;
        let leased = already_leased || claims::lease_one(conn, &id, lease, time::now_ms())?;
        let secrets = crate::store::webhooks::valid_secrets(conn, &job.webhook_id, time::now_ms())?;
        let secrets = state_secrets
            .open_all(&secrets)
            .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
        Ok::<_, AppError>((job, secrets, leased))
    })
    .await?;
    if !leased {
        return Err(AppError::Conflict(
            "An attempt of this delivery is in progress; try again in a moment.".into(),
        ));
    }
    let config = &state.config;
    let policy = send::Policy::of(state);
    let custom = crate::domain::headers::open(&state.secrets, job.headers.as_deref())
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let sent = send::send(
        &client(state),
        &job,
        &secrets,
        &custom,
        policy,
        config.request_timeout,
    )
    .await;
    let after = match (sent.success(), job.is_test) {
        (true, _) => After::Succeeded,
        (false, true) => After::Failed,
        (false, false) => After::Unchanged,
    };
    let result = Result {
        delivery_id: job.id.clone(),
        success: sent.success(),
        status_code: sent.status,
        duration_ms: sent.duration.as_millis() as u64,
        error_class: sent.error_class,
        error: sent.error.clone(),
        response_excerpt: String::from_utf8_lossy(
            &sent.response_body[..sent.response_body.len().min(2048)],
        )
        .into_owned(),
    };
    state.metrics.attempt(sent.status, sent.duration);
    let mut record = outcome(&job, sent, after, trigger);
    record.attempt.triggered_by = Some(by.to_owned());
    record.affects_health = !job.is_test;
    // A 410 on a resend disables like any other; a test never changes the webhook.
    record.gone = record.gone && !job.is_test;
    let disable_after_ms = config.disable_after.as_millis() as i64;
    let text = send::human_long(config.disable_after);
    let write_lock = state.write_lock.clone();
    crate::db::run(&state.pool, move |conn| {
        crate::db::immediate(conn, &write_lock, |conn| {
            crate::store::outcomes::record(
                conn,
                std::slice::from_ref(&record),
                time::now_ms(),
                disable_after_ms,
                &text,
            )
        })
        .map_err(AppError::from)
    })
    .await?;
    tracing::info!(delivery_id = %result.delivery_id, trigger, success = result.success, status = result.status_code, "attempt made by hand");
    Ok(result)
}

/// Send Test: the type's sample payload, signed and sent to the webhook now, whether or not
/// it subscribes to the type and even when it is disabled; logged as a test delivery.
pub async fn send_test(
    state: &AppState,
    ws: &WorkspaceId,
    webhook_id: &str,
    event_type: &str,
    by: &str,
) -> std::result::Result<Result, AppError> {
    let data = events::sample_data(event_type).ok_or_else(|| {
        AppError::validation(
            "event_type",
            format!(
                "unknown event type: {}",
                event_type.chars().take(64).collect::<String>()
            ),
        )
    })?;
    // Taken before anything is stored: a refused test leaves no delivery behind.
    let turn = state.manual_attempts.take(webhook_id)?;
    let (webhook_id, event_type) = (webhook_id.to_owned(), event_type.to_owned());
    let event_id = ids::new_id("evt");
    let delivery_id = ids::new_id("dlv");
    let now = time::now_ms();
    let payload = events::payload(&event_id, &event_type, now, &data);
    let lease = lease_until(state);
    let write_lock = state.write_lock.clone();
    let created = delivery_id.clone();
    let workspace = ws.clone();
    crate::db::run(&state.pool, move |conn| {
        crate::db::immediate(conn, &write_lock, |conn| {
            crate::store::webhooks::get(conn, &workspace, &webhook_id)?;
            crate::store::events::insert(
                conn,
                &NewEvent {
                    workspace: &workspace,
                    id: &event_id,
                    event_type: &event_type,
                    body: &payload,
                    delivery_count: 1,
                    created_at: now,
                },
            )?;
            store::insert_many(
                conn,
                &[NewDelivery {
                    workspace: &workspace,
                    id: created.clone(),
                    event_id: &event_id,
                    webhook_id: &webhook_id,
                    event_type: &event_type,
                    is_test: true,
                    lease_until: None,
                }],
                now,
            )?;
            // Held by this request, not the actor, until the attempt is recorded.
            claims::lease_one(conn, &created, lease, now)
        })
        .map_err(AppError::from)
    })
    .await?;
    attempt(state, ws, &delivery_id, "test", by, Some(turn)).await
}

fn lease_until(state: &AppState) -> i64 {
    time::now_ms() + super::lease_ms(&state.config)
}

/// Resend: one more attempt of the delivery now; its schedule is left as it was.
pub async fn resend(
    state: &AppState,
    ws: &WorkspaceId,
    delivery_id: &str,
    by: &str,
) -> std::result::Result<Result, AppError> {
    attempt(state, ws, delivery_id, "resend", by, None).await
}
