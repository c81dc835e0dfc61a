//! /api/v1/deliveries (the Delivery Log as JSON), resend, and /api/v1/webhooks/{id}/test.

use super::auth::{ApiId, ApiScope};
use super::body::ApiJson;
use super::webhooks::ErrorBody;
use crate::app::deliveries::{API_NAMES, LogQuery};
use crate::app::{self, manual::Attempted};
use crate::domain::time;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::deliveries::{self as store, Delivery};
use crate::web::forms::Form;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource::resource("/deliveries", "GET").route(web::get().to(list_deliveries)),
    )
    .service(
        super::resource::resource("/deliveries/{id}", "GET").route(web::get().to(get_delivery)),
    )
    .service(
        super::resource::resource("/deliveries/{id}/resend", "POST")
            .route(web::post().to(resend_delivery)),
    )
    .service(
        super::resource::resource("/webhooks/{id}/test", "POST")
            .route(web::post().to(test_webhook)),
    );
}

/// One delivery of one event to one webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResource {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    /// pending, sending, succeeded or failed.
    pub status: String,
    pub attempt_count: i32,
    pub next_attempt_at: Option<String>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub is_test: bool,
    pub created_at: String,
}

impl From<Delivery> for DeliveryResource {
    fn from(d: Delivery) -> Self {
        let status = d.shown_status(time::now_ms()).to_owned();
        DeliveryResource {
            next_attempt_at: if status == store::PENDING {
                d.next_attempt_at.map(time::rfc3339)
            } else {
                None
            },
            created_at: time::rfc3339(d.created_at),
            id: d.id,
            webhook_id: d.webhook_id,
            event_id: d.event_id,
            event_type: d.event_type,
            status,
            attempt_count: d.attempt_count,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            is_test: d.is_test,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub data: Vec<DeliveryResource>,
    pub next_cursor: Option<String>,
}

/// One attempt, as sent and as answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptResource {
    pub attempted_at: String,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    /// timeout, connect, dns, tls, refused, redirect, http_status; null on success.
    pub error_class: Option<String>,
    pub error: Option<String>,
    #[schema(value_type = Object)]
    pub request_headers: serde_json::Value,
    #[schema(value_type = Option<Object>)]
    pub response_headers: Option<serde_json::Value>,
    /// The first 64 KiB of the response body (invalid UTF-8 replaced).
    pub response_body: Option<String>,
    pub response_truncated: bool,
    /// automatic, resend or test.
    pub trigger: String,
    pub triggered_by: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryResource,
    /// The event body every attempt sends.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempts: Vec<AttemptResource>,
}

/// The outcome of an attempt made now (Send Test, resend).
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptResult {
    pub delivery_id: String,
    pub success: bool,
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    pub error: Option<String>,
}

impl From<Attempted> for AttemptResult {
    fn from(r: Attempted) -> Self {
        AttemptResult {
            delivery_id: r.delivery_id,
            success: r.success,
            status_code: r.status_code,
            duration_ms: r.duration_ms,
            error: r.error,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// The sample to send; defaults to the webhook's first subscribed type.
    #[serde(default)]
    pub event_type: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DeliveryParams {
    #[param(pattern = "^(wh_[0-9a-hjkmnp-tv-z]{26})?$")]
    pub webhook_id: Option<String>,
    pub event_type: Option<String>,
    /// pending, sending, succeeded, failed.
    pub status: Option<String>,
    /// 2xx, 3xx, 4xx, 5xx, or none (no response).
    pub status_class: Option<String>,
    /// Created at or after (RFC 3339, a date alone, or `2026-11-27T20:00` as a form sends it; UTC unless an offset is given).
    pub from: Option<String>,
    /// Created before (as `from`).
    pub to: Option<String>,
    /// A delivery id or an event id.
    #[param(pattern = "^[A-Za-z0-9._:-]{0,100}$")]
    pub q: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^(dlv_[0-9a-hjkmnp-tv-z]{26})?$")]
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The Delivery Log, newest first, with the same filters as the page.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "deliveries", params(DeliveryParams),
    responses((status = 200, body = DeliveryList), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_deliveries(
    s: ApiScope,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Form::parse(req.query_string().as_bytes());
    let query = LogQuery::parse(&params, API_NAMES, None);
    query.first_error()?;
    let limit = crate::app::parse_limit(&params, 20)?;
    let (rows, next_cursor) =
        app::deliveries::log_page(&state, &s.scope, query.filter, limit).await?;
    let data = rows.into_iter().map(|r| r.delivery.into()).collect();
    Ok(HttpResponse::Ok().json(DeliveryList { data, next_cursor }))
}

fn json_or_null(s: Option<&str>) -> Option<serde_json::Value> {
    s.and_then(|s| serde_json::from_str(s).ok())
}

/// A delivery with its payload and every attempt.
#[utoipa::path(get, path = "/api/v1/deliveries/{id}", tag = "deliveries", params(super::resource::DeliveryPath),
    responses((status = 200, body = DeliveryDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_delivery(
    s: ApiScope,
    state: web::Data<AppState>,
    ApiId(path): ApiId,
) -> Result<HttpResponse, ApiError> {
    let app::deliveries::Detail {
        delivery: d,
        payload: body,
        attempts,
        ..
    } = app::deliveries::detail(&state, &s.scope, &path).await?;
    let attempts = attempts
        .into_iter()
        .map(|a| AttemptResource {
            attempted_at: time::rfc3339(a.attempted_at),
            duration_ms: a.duration_ms,
            status_code: a.status_code,
            error_class: a.error_class,
            error: a.error,
            request_headers: json_or_null(Some(&a.request_headers)).unwrap_or_default(),
            response_headers: json_or_null(a.response_headers.as_deref()),
            response_body: a
                .response_body
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
            response_truncated: a.response_truncated,
            trigger: a.trigger,
            triggered_by: a.triggered_by,
        })
        .collect();
    let payload = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    Ok(HttpResponse::Ok().json(DeliveryDetail {
        delivery: d.into(),
        payload,
        attempts,
    }))
}

/// Attempt the delivery once more now; its retry schedule is left as it was.
///
/// For a webhook with `ordered: true` this attempt goes out at once, out of order: it does
/// not wait for the deliveries ahead of it, nor hold back those behind it.
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/resend", tag = "deliveries", params(super::resource::DeliveryPath),
    responses((status = 202, body = AttemptResult), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn resend_delivery(
    s: ApiScope,
    state: web::Data<AppState>,
    ApiId(path): ApiId,
) -> Result<HttpResponse, ApiError> {
    let result = app::manual::resend(&state, &s.scope, &path).await?;
    Ok(HttpResponse::Accepted().json(AttemptResult::from(result)))
}

/// Send Test: a sample payload signed and sent now, even to a disabled webhook, whatever its
/// rate limit or ordered queue.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", params(super::resource::WebhookPath), request_body = TestRequest,
    responses((status = 200, body = AttemptResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn test_webhook(
    s: ApiScope,
    state: web::Data<AppState>,
    ApiId(path): ApiId,
    body: ApiJson<TestRequest>,
) -> Result<HttpResponse, ApiError> {
    let event_type = body.0.event_type;
    let (result, _) =
        app::manual::send_test(&state, &s.scope, &path, event_type.as_deref()).await?;
    Ok(HttpResponse::Ok().json(AttemptResult::from(result)))
}
