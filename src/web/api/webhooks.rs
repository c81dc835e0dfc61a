//! /api/v1/webhooks: list, create, get, update, delete, rotate-secret. Each handler reads its
//! JSON, calls one use case in `app::webhooks`, and answers JSON.

use super::auth::{ApiId, ApiScope};
use super::body::ApiJson;
use crate::app::scope::Scope;
use crate::app::webhook_secrets;
use crate::app::webhooks::{self as webhooks, Change, SaveError};
use crate::domain::time;
use crate::domain::webhook::WebhookInput;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::webhooks::Webhook;
use crate::web::forms::Form;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource::resource("/webhooks", "GET, POST")
            .route(web::get().to(list_webhooks))
            .route(web::post().to(create_webhook)),
    )
    .service(
        super::resource::resource("/webhooks/{id}", "GET, PATCH, DELETE")
            .route(web::get().to(get_webhook))
            .route(web::patch().to(update_webhook))
            .route(web::delete().to(delete_webhook)),
    )
    .service(
        super::resource::resource("/webhooks/{id}/rotate-secret", "POST")
            .route(web::post().to(rotate_webhook_secret)),
    );
}

/// A webhook: where events are delivered, which ones, and the secret that signs them.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResource {
    #[schema(example = "wh_01jdb6d9m0v8k3x4r5t6y7z8a9")]
    pub id: String,
    #[schema(example = "https://example.com/webhooks/aethenox")]
    pub url: String,
    pub description: String,
    #[schema(example = json!(["message.received", "call.missed"]))]
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why the webhook is disabled (null while enabled).
    pub disabled_reason: Option<String>,
    /// The current signing secret.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwJ8QjNq2T6xA=")]
    /// Null for API keys with the support role, which may not see secrets.
    pub secret: Option<String>,
    #[schema(example = "2026-11-27T20:00:00Z")]
    pub created_at: String,
    pub updated_at: String,
    /// The payload filter on the event's `data` (null: every event of its types).
    #[schema(value_type = Option<Object>, example = json!({"amount": {"$gte": 100}}))]
    pub filter: Option<serde_json::Value>,
    /// Custom request headers sent with every attempt, `{name: value}`; null for API keys
    /// with the support role, which may not see them.
    #[schema(example = json!({"X-Api-Key": "k_live_4f8a9c"}))]
    pub headers: Option<BTreeMap<String, String>>,
    /// At most this many attempts start per second (null: no limit).
    pub rate_limit: Option<RateLimit>,
    /// Deliveries go one at a time, in the order their events were accepted.
    pub ordered: bool,
}

/// A rate limit: attempts that may start per second to this webhook, across instances.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    #[serde(deserialize_with = "whole_number")]
    #[schema(value_type = i64, minimum = 1, maximum = 10000, example = 50)]
    pub per_second: i64,
}

/// A rate limit as the validation reads it ("" for none).
fn rate_text(limit: Option<RateLimit>) -> String {
    limit.map(|r| r.per_second.to_string()).unwrap_or_default()
}

impl WebhookResource {
    fn new(w: Webhook, secret: Option<String>, headers: Option<BTreeMap<String, String>>) -> Self {
        WebhookResource {
            created_at: time::rfc3339(w.created_at),
            updated_at: time::rfc3339(w.updated_at),
            id: w.id,
            url: w.url,
            description: w.description,
            events: w.events,
            enabled: w.enabled,
            disabled_reason: w.disabled_reason,
            secret,
            headers,
            rate_limit: w.rate_limit.map(|n| RateLimit {
                per_second: i64::from(n),
            }),
            ordered: w.ordered,
            filter: w
                .filter
                .as_deref()
                .and_then(|f| serde_json::from_str(f).ok()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub data: Vec<WebhookResource>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// https:// URL (http:// and private addresses only with --allow-private-targets).
    #[schema(min_length = 1, max_length = 2048)]
    pub url: String,
    /// Event types from the catalogue; at least one.
    #[schema(min_items = 1)]
    pub events: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 500, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub description: Option<String>,
    /// Defaults to true.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// A payload filter on the event's `data`: only events that match make a delivery
    /// (`{"amount": {"$gte": 100}}`; see `POST /api/v1/filter-test`). Null or absent: every
    /// event of its types.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub filter: Option<serde_json::Value>,
    /// Custom request headers, `{name: value}` (at most 20; not the server's own headers nor
    /// Host, Content-Type, Content-Length, User-Agent, Connection, Transfer-Encoding; a value
    /// at most 1,024 bytes, no CR, LF or NUL).
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// At most this many attempts start per second (1 to 10000); the rest wait, pending.
    /// Null or absent: no limit.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// One attempt at a time, in the order events were accepted; a delivery waiting for a
    /// retry holds the later ones back. Defaults to false.
    #[serde(default)]
    pub ordered: Option<bool>,
}

/// Every field is optional; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 2048)]
    pub url: Option<String>,
    #[serde(default)]
    #[schema(min_items = 1)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    #[schema(max_length = 500, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// A new payload filter, or null to remove it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Option<serde_json::Value>>,
    /// New custom headers (all of them), or null to remove them.
    #[serde(default, deserialize_with = "present_headers")]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub headers: Option<Option<BTreeMap<String, String>>>,
    /// A new rate limit, or null to remove it.
    #[serde(default, deserialize_with = "present_rate")]
    #[schema(value_type = Option<RateLimit>)]
    pub rate_limit: Option<Option<RateLimit>>,
    #[serde(default)]
    pub ordered: Option<bool>,
}

/// `rate_limit` present (null included) is `Some`; absent stays `None`.
fn present_rate<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<RateLimit>>, D::Error> {
    Option::<RateLimit>::deserialize(d).map(Some)
}

/// `headers` present (null included) is `Some`; absent stays `None`.
fn present_headers<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<BTreeMap<String, String>>>, D::Error> {
    Option::<BTreeMap<String, String>>::deserialize(d).map(Some)
}

/// A field that is present (null included) is `Some`; absent stays `None`.
fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<serde_json::Value>>, D::Error> {
    Option::<serde_json::Value>::deserialize(d).map(Some)
}

/// A filter sent as JSON, as the text the validation reads ("" for none); anything but an
/// object or null is refused there, naming `filter`.
fn filter_text(filter: Option<serde_json::Value>) -> String {
    match filter {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(f) => f.to_string(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// How long the previous secret keeps verifying, 0 to 604800; default 86400.
    #[serde(default, deserialize_with = "whole_seconds")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 604800)]
    pub grace_period_seconds: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `next_cursor` of the previous page.
    #[param(pattern = "^(wh_[0-9a-hjkmnp-tv-z]{26})?$")]
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// A whole number of seconds, written as an integer or as a number with no fraction (`60.0`),
/// which JSON Schema counts as an integer too.
pub fn whole_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let n: Option<serde_json::Number> = Option::deserialize(d)?;
    n.map(|n| whole(&n, "a whole number of seconds is expected"))
        .transpose()
}

/// A whole number, as `whole_seconds` reads one.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    whole(
        &serde_json::Number::deserialize(d)?,
        "a whole number is expected",
    )
}

fn whole<E: serde::de::Error>(n: &serde_json::Number, message: &str) -> Result<i64, E> {
    n.as_i64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        })
        .ok_or_else(|| E::custom(message))
}

/// `{"error": {...}}`, the shape of every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    #[schema(example = "validation_failed")]
    pub code: String,
    pub message: String,
    /// The request field at fault, for validation errors.
    pub field: Option<String>,
}

fn save_error(e: SaveError) -> ApiError {
    ApiError(e.into_first_error())
}

async fn resource(
    state: &AppState,
    scope: &Scope,
    webhook: Webhook,
) -> Result<WebhookResource, ApiError> {
    let secret = webhook_secrets::current_secret(state, scope, &webhook.id).await?;
    let headers =
        webhook_secrets::custom_headers(state, scope, &webhook)?.map(|h| h.into_iter().collect());
    Ok(WebhookResource::new(webhook, secret, headers))
}

/// List webhooks, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", params(ListParams),
    responses((status = 200, body = WebhookList), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_webhooks(
    s: ApiScope,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = Form::parse(req.query_string().as_bytes());
    let limit = crate::app::parse_limit(&query, 20)?;
    let cursor = super::resource::cursor(&query, "wh")?;
    let (rows, next_cursor) = webhooks::list(&state, &s.scope, cursor, limit).await?;
    let mut data = Vec::with_capacity(rows.len());
    for w in rows {
        data.push(resource(&state, &s.scope, w).await?);
    }
    Ok(HttpResponse::Ok().json(WebhookList { data, next_cursor }))
}

/// Create a webhook. The answer includes its signing secret.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = WebhookResource), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_webhook(
    s: ApiScope,
    state: web::Data<AppState>,
    body: ApiJson<CreateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let input = WebhookInput {
        url: body.url,
        description: body.description.unwrap_or_default(),
        events: body.events,
        filter: filter_text(body.filter),
        headers: body.headers.map(|h| h.into_iter().collect()),
        rate_limit: rate_text(body.rate_limit),
        ordered: body.ordered.unwrap_or(false),
    };
    let enabled = body.enabled.unwrap_or(true);
    let webhook = webhooks::create(&state, &s.scope, input, enabled)
        .await
        .map_err(save_error)?;
    Ok(HttpResponse::Created().json(resource(&state, &s.scope, webhook).await?))
}

/// Get one webhook.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(super::resource::WebhookPath),
    responses((status = 200, body = WebhookResource), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_webhook(
    s: ApiScope,
    state: web::Data<AppState>,
    ApiId(path): ApiId,
) -> Result<HttpResponse, ApiError> {
    let webhook = webhooks::get(&state, &s.scope, &path).await?;
    Ok(HttpResponse::Ok().json(resource(&state, &s.scope, webhook).await?))
}

/// Change a webhook's URL, events, description, enabled state or delivery options.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(super::resource::WebhookPath), request_body = UpdateWebhook,
    responses((status = 200, body = WebhookResource), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn update_webhook(
    s: ApiScope,
    state: web::Data<AppState>,
    ApiId(path): ApiId,
    body: ApiJson<UpdateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let change = Change {
        url: body.url,
        description: body.description,
        events: body.events,
        enabled: body.enabled,
        filter: body.filter.map(filter_text),
        headers: body
            .headers
            .map(|h| h.unwrap_or_default().into_iter().collect()),
        rate_limit: body.rate_limit.map(rate_text),
        ordered: body.ordered,
    };
    let updated = webhooks::update(&state, &s.scope, &path, change)
        .await
        .map_err(save_error)?;
    Ok(HttpResponse::Ok().json(resource(&state, &s.scope, updated).await?))
}

/// Delete a webhook and its signing secret.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(super::resource::WebhookPath),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn delete_webhook(
    s: ApiScope,
    state: web::Data<AppState>,
    ApiId(path): ApiId,
) -> Result<HttpResponse, ApiError> {
    webhooks::delete(&state, &s.scope, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the signing secret; the previous one keeps verifying for the grace period.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(super::resource::WebhookPath), request_body = RotateSecret,
    responses((status = 200, body = WebhookResource), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn rotate_webhook_secret(
    s: ApiScope,
    state: web::Data<AppState>,
    ApiId(path): ApiId,
    body: ApiJson<RotateSecret>,
) -> Result<HttpResponse, ApiError> {
    let grace = body.0.grace_period_seconds;
    let webhook = webhook_secrets::rotate_secret(&state, &s.scope, &path, grace).await?;
    Ok(HttpResponse::Ok().json(resource(&state, &s.scope, webhook).await?))
}
