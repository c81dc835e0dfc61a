//! Publishing an event: checked, stored with one delivery per subscribed enabled webhook in one
//! (group-committed) transaction, and answered only once stored.

use super::scope::Scope;
use crate::delivery::intake::{NotQueued, NotStored, Publish};
use crate::domain::{events, ids, time};
use crate::error::AppError;
use crate::state::AppState;
use std::sync::atomic::Ordering;

/// An accepted event: its id and how many deliveries it made (the first answer again when the
/// id was published before).
pub struct Accepted {
    pub id: String,
    pub deliveries: i32,
}

pub async fn publish(
    state: &AppState,
    scope: &Scope,
    event_type: String,
    data: serde_json::Value,
    id: Option<String>,
) -> Result<Accepted, AppError> {
    scope.admin()?;
    if !events::is_known(&event_type) {
        let shown: String = event_type.chars().take(64).collect();
        return Err(AppError::validation(
            "type",
            format!("unknown event type: {shown}"),
        ));
    }
    if !data.is_object() {
        return Err(AppError::validation("data", "data must be a JSON object"));
    }
    let generated_id = id.is_none();
    let id = match id {
        Some(id) => {
            events::check_event_id(&id).map_err(|m| AppError::validation("id", m))?;
            id
        }
        None => ids::new_id("evt"),
    };
    let now = time::now_ms();
    let payload = events::payload(&id, &event_type, now, &data);
    let (reply, answer) = tokio::sync::oneshot::channel();
    state
        .intake
        .publish(Publish {
            workspace: scope.ws().clone(),
            workspace_uid: scope.workspace().uid.clone(),
            id,
            generated_id,
            event_type,
            payload,
            data,
            created_at: now,
            reply,
        })
        .map_err(|e| match e {
            NotQueued::Full => AppError::Busy {
                message: "Too many events are waiting to be stored; retry in a second.".into(),
                retry_after_secs: 1,
            },
            NotQueued::Stopped => {
                AppError::Internal(anyhow::anyhow!("the event writer has stopped"))
            }
        })?;
    let accepted = answer
        .await
        .map_err(|_| AppError::Internal(anyhow::anyhow!("the event writer stopped")))?
        .map_err(|e| match e {
            NotStored::Fault(fault) => AppError::Database(fault),
            NotStored::Failed(e) => AppError::Internal(anyhow::anyhow!("storing the event: {e}")),
        })?;
    if accepted.created {
        state
            .metrics
            .events_accepted
            .fetch_add(1, Ordering::Relaxed);
        state
            .metrics
            .deliveries_created
            .fetch_add(accepted.deliveries as u64, Ordering::Relaxed);
    }
    Ok(Accepted {
        id: accepted.id,
        deliveries: accepted.deliveries,
    })
}
