//! POST /api/v1/events: the rest of the platform publishes events here.

use super::auth::ApiKeyAuth;
use super::body::ApiJson;
use super::webhooks::ErrorBody;
use crate::AppState;
use crate::domain::{events, ids, time};
use crate::error::{ApiError, AppError};
use crate::store::{self, deliveries::NewDelivery, events::NewEvent};
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
/// transaction, and delivered in the background.
#[utoipa::path(post, path = "/api/v1/events", tag = "events", request_body = PublishEvent,
    responses((status = 202, body = EventAccepted), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn publish_event(
    _auth: ApiKeyAuth,
    state: web::Data<AppState>,
    body: ApiJson<PublishEvent>,
) -> Result<HttpResponse, ApiError> {
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
    let worker = state.clone();
    let (accepted, created) = crate::db::run(&state.pool, move |conn| {
        let result = conn.immediate_transaction(|conn| {
            if let Some((_, count)) = store::events::find(conn, &id)? {
                return Ok((
                    EventAccepted {
                        id: id.clone(),
                        deliveries: count,
                    },
                    false,
                ));
            }
            let webhooks = store::webhooks::subscribed(conn, &event_type)?;
            let rows: Vec<NewDelivery> = webhooks
                .iter()
                .map(|w| NewDelivery {
                    id: ids::new_id("dlv"),
                    event_id: &id,
                    webhook_id: w,
                    event_type: &event_type,
                    is_test: false,
                })
                .collect();
            let count = rows.len() as i32;
            store::events::insert(
                conn,
                &NewEvent {
                    id: &id,
                    event_type: &event_type,
                    body: &payload,
                    delivery_count: count,
                    created_at: now,
                },
            )?;
            store::deliveries::insert_many(conn, &rows, now)?;
            Ok::<_, diesel::result::Error>((
                EventAccepted {
                    id: id.clone(),
                    deliveries: count,
                },
                true,
            ))
        })?;
        // Woken from here, after the commit: even if the publisher has gone away by now,
        // what was stored is delivered at once.
        if result.1 {
            worker.wakeup.notify_one();
        }
        Ok::<_, AppError>(result)
    })
    .await?;
    if created {
        state
            .metrics
            .events_accepted
            .fetch_add(1, Ordering::Relaxed);
        state
            .metrics
            .deliveries_created
            .fetch_add(accepted.deliveries as u64, Ordering::Relaxed);
    }
    Ok(HttpResponse::Accepted().json(accepted))
}
