//! /api/v1/webhooks: list, create, get, update, delete, rotate-secret.

use super::auth::ApiKeyAuth;
use super::body::ApiJson;
use crate::AppState;
use crate::domain::webhook::{FieldErrors, WebhookInput};
use crate::domain::{ids, secrets, time};
use crate::error::{ApiError, AppError};
use crate::store::{self, webhooks::Webhook};
use crate::web::forms::Form;
use crate::web::webhooks as ops;

/// Records an API key's change in the audit log.
pub async fn audit_api(
    state: &AppState,
    auth: &ApiKeyAuth,
    req: &HttpRequest,
    action: &str,
    target: &str,
) {
    let ip = req.peer_addr().map(|a| a.ip().to_string());
    crate::web::audit::record(
        state,
        &auth.actor(),
        action,
        Some(target),
        None,
        ip.as_deref(),
    )
    .await;
}
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks", web::get().to(list_webhooks))
        .route("/webhooks", web::post().to(create_webhook))
        .route("/webhooks/{id}", web::get().to(get_webhook))
        .route("/webhooks/{id}", web::patch().to(update_webhook))
        .route("/webhooks/{id}", web::delete().to(delete_webhook))
        .route(
            "/webhooks/{id}/rotate-secret",
            web::post().to(rotate_webhook_secret),
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
}

impl WebhookResource {
    fn new(w: Webhook, secret: Option<String>) -> Self {
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
    pub url: String,
    /// Event types from the catalogue; at least one.
    pub events: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Defaults to true.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Every field is optional; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// How long the previous secret keeps verifying, 0 to 604800; default 86400.
    #[serde(default)]
    pub grace_period_seconds: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<u32>,
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

fn first_error(errors: FieldErrors) -> ApiError {
    match errors.first() {
        Some((field, message)) => ApiError(AppError::validation(field, message)),
        None => ApiError(AppError::validation("body", "invalid")),
    }
}

async fn resource(
    state: &AppState,
    auth: &ApiKeyAuth,
    webhook: Webhook,
) -> Result<WebhookResource, ApiError> {
    if auth.admin().is_err() {
        return Ok(WebhookResource::new(webhook, None));
    }
    let id = webhook.id.clone();
    let secret = crate::db::run(&state.pool, move |conn| {
        store::webhooks::current_secret(conn, &id).map_err(AppError::from)
    })
    .await?;
    Ok(WebhookResource::new(
        webhook,
        Some(ops::open_secret(state, &secret)?),
    ))
}

/// List webhooks, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", params(ListParams),
    responses((status = 200, body = WebhookList), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_webhooks(
    auth: ApiKeyAuth,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = Form::parse(req.query_string().as_bytes());
    let limit = super::parse_limit(query.get("limit"), 20)?;
    let cursor = match query.get("cursor") {
        "" => None,
        c if ids::is_id("wh", c) => Some(c.to_owned()),
        _ => {
            return Err(ApiError(AppError::validation(
                "cursor",
                "cursor is not one this API gave out",
            )));
        }
    };
    let with_secrets = auth.admin().is_ok();
    let (mut rows, secrets) = crate::db::run(&state.pool, move |conn| {
        let rows = store::webhooks::list(conn, cursor.as_deref(), limit + 1)?;
        let secrets = rows
            .iter()
            .map(|w| {
                with_secrets
                    .then(|| store::webhooks::current_secret(conn, &w.id))
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok::<_, AppError>((rows, secrets))
    })
    .await?;
    let next_cursor = crate::web::page::keyset_next(&mut rows, limit, |w| w.id.clone());
    let data = rows
        .into_iter()
        .zip(secrets)
        .map(|(w, s)| {
            Ok::<_, AppError>(WebhookResource::new(
                w,
                s.map(|s| ops::open_secret(&state, &s)).transpose()?,
            ))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(WebhookList { data, next_cursor }))
}

/// Create a webhook. The answer includes its signing secret.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = WebhookResource), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_webhook(
    auth: ApiKeyAuth,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<CreateWebhook>,
) -> Result<HttpResponse, ApiError> {
    auth.admin()?;
    let body = body.0;
    let input = WebhookInput {
        url: body.url,
        description: body.description.unwrap_or_default(),
        events: body.events,
    };
    let valid = ops::validate_fully(&state, &input)
        .await
        .map_err(first_error)?;
    let webhook = ops::create_webhook(&state, valid, body.enabled.unwrap_or(true)).await?;
    tracing::info!(webhook_id = %webhook.id, "webhook created through the API");
    audit_api(&state, &auth, &req, "webhook_created", &webhook.id).await;
    Ok(HttpResponse::Created().json(resource(&state, &auth, webhook).await?))
}

/// Get one webhook.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    responses((status = 200, body = WebhookResource), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_webhook(
    auth: ApiKeyAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let webhook = ops::load_webhook(&state, &path).await?;
    Ok(HttpResponse::Ok().json(resource(&state, &auth, webhook).await?))
}

/// Change a webhook's URL, events, description or enabled state.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", request_body = UpdateWebhook,
    responses((status = 200, body = WebhookResource), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn update_webhook(
    auth: ApiKeyAuth,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: ApiJson<UpdateWebhook>,
) -> Result<HttpResponse, ApiError> {
    auth.admin()?;
    let body = body.0;
    let webhook = ops::load_webhook(&state, &path).await?;
    let url_changed = body.url.is_some();
    let input = WebhookInput {
        url: body.url.unwrap_or_else(|| webhook.url.clone()),
        description: body
            .description
            .unwrap_or_else(|| webhook.description.clone()),
        events: body.events.unwrap_or_else(|| webhook.events.clone()),
    };
    // The host is resolved again only when the URL is being changed.
    let valid = if url_changed {
        ops::validate_fully(&state, &input).await
    } else {
        crate::domain::webhook::validate(&input, state.config.allow_private_targets)
    }
    .map_err(first_error)?;
    let id = webhook.id.clone();
    let enabled = body.enabled;
    let updated = crate::db::run(&state.pool, move |conn| {
        conn.immediate_transaction(|conn| {
            let now = time::now_ms();
            store::webhooks::update(
                conn,
                &id,
                valid.url.as_str(),
                &valid.description,
                &valid.events,
                now,
            )?;
            if let Some(enabled) = enabled {
                store::webhooks::set_enabled(
                    conn,
                    &id,
                    enabled,
                    Some("disabled through the API"),
                    now,
                )?;
            }
            store::webhooks::get(conn, &id)
        })
        .map_err(AppError::from)
    })
    .await?;
    tracing::info!(webhook_id = %updated.id, "webhook updated through the API");
    audit_api(&state, &auth, &req, "webhook_updated", &updated.id).await;
    Ok(HttpResponse::Ok().json(resource(&state, &auth, updated).await?))
}

/// Delete a webhook and its signing secret.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn delete_webhook(
    auth: ApiKeyAuth,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth.admin()?;
    let webhook = ops::load_webhook(&state, &path).await?;
    let id = webhook.id.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.immediate_transaction(|conn| store::webhooks::delete(conn, &id))
            .map_err(AppError::from)
    })
    .await?;
    tracing::info!(webhook_id = %webhook.id, "webhook deleted through the API");
    audit_api(&state, &auth, &req, "webhook_deleted", &webhook.id).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the signing secret; the previous one keeps verifying for the grace period.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", request_body = RotateSecret,
    responses((status = 200, body = WebhookResource), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn rotate_webhook_secret(
    auth: ApiKeyAuth,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: ApiJson<RotateSecret>,
) -> Result<HttpResponse, ApiError> {
    auth.admin()?;
    let grace = body
        .0
        .grace_period_seconds
        .unwrap_or(secrets::DEFAULT_GRACE_SECONDS);
    let grace = ops::parse_grace(&grace.to_string())
        .map_err(|m| ApiError(AppError::validation("grace_period_seconds", m)))?;
    let webhook = ops::load_webhook(&state, &path).await?;
    ops::rotate_secret(&state, &webhook.id, grace).await?;
    tracing::info!(webhook_id = %webhook.id, grace_seconds = grace, "signing secret rotated through the API");
    audit_api(&state, &auth, &req, "secret_rotated", &webhook.id).await;
    let webhook = ops::load_webhook(&state, &webhook.id).await?;
    Ok(HttpResponse::Ok().json(resource(&state, &auth, webhook).await?))
}
