//! POST /api/v1/events: the rest of the platform publishes events here.

use super::auth::ApiKeyAuth;
use super::body::ApiJson;
use super::webhooks::ErrorBody;
use crate::AppState;
use crate::delivery::intake::{NotQueued, Publish};
use crate::domain::{events, ids, time};
use crate::error::{ApiError, AppError};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::post().to(publish_event));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishEvent {
    /// An event type from the catalogue.
    #[serde(rename = "type")]
    #[schema(example = "message.received")]
    pub event_type: String,
    /// The event's data: a JSON object, sent to receivers as it is.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// Your idempotency key: publishing the same id again returns the first answer and
    /// creates nothing. Generated when absent.
    #[serde(default)]
    #[schema(example = "evt_order_4821_shipped")]
    pub id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventAccepted {
    pub id: String,
    /// How many deliveries were created: one per enabled webhook subscribed to the type.
    pub deliveries: i32,
}

/// Publish an event: it is stored with one delivery per subscribed, enabled webhook in one
/// transaction before the answer, and delivered in the background.
#[utoipa::path(post, path = "/api/v1/events", tag = "events", request_body = PublishEvent,
    responses((status = 202, body = EventAccepted), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, description = "Too many events are waiting to be stored: retry after Retry-After seconds", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn publish_event(
    auth: ApiKeyAuth,
    state: web::Data<AppState>,
    body: ApiJson<PublishEvent>,
) -> Result<HttpResponse, ApiError> {
    auth.admin()?;
    let PublishEvent {
        event_type,
        data,
        id,
    } = body.0;
    if !events::is_known(&event_type) {
        let shown: String = event_type.chars().take(64).collect();
        return Err(AppError::validation("type", format!("unknown event type: {shown}")).into());
    }
    if !data.is_object() {
        return Err(AppError::validation("data", "data must be a JSON object").into());
    }
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
            id,
            event_type,
            payload,
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
        .map_err(|e| AppError::Internal(anyhow::anyhow!("storing the event: {e}")))?;
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
    let accepted = EventAccepted {
        id: accepted.id,
        deliveries: accepted.deliveries,
    };
    Ok(HttpResponse::Accepted().json(accepted))
}
