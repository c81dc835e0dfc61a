//! POST /api/v1/events: the rest of the platform publishes events here.

use super::auth::ApiScope;
use super::body::ApiJson;
use super::webhooks::ErrorBody;
use crate::app;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource::resource("/events", "POST").route(web::post().to(publish_event)));
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
    #[schema(
        example = "evt_order_4821_shipped",
        pattern = "^[A-Za-z0-9._:-]{1,100}$"
    )]
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
    s: ApiScope,
    state: web::Data<AppState>,
    body: ApiJson<PublishEvent>,
) -> Result<HttpResponse, ApiError> {
    let PublishEvent {
        event_type,
        data,
        id,
    } = body.0;
    let accepted = app::events::publish(&state, &s.scope, event_type, data, id).await?;
    Ok(HttpResponse::Accepted().json(EventAccepted {
        id: accepted.id,
        deliveries: accepted.deliveries,
    }))
}
