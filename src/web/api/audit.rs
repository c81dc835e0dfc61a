//! GET /api/v1/audit: the audit log for admin API keys.

use super::auth::ApiScope;
use super::webhooks::ErrorBody;
use crate::app;
use crate::domain::time;
use crate::error::{ApiError, AppError};
use crate::state::AppState;
use crate::web::forms::Form;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource::resource("/audit", "GET").route(web::get().to(list_audit)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditResource {
    pub id: i32,
    pub at: String,
    /// A user's e-mail, "API key NAME", "setup link" or "delivery actor".
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub client_ip: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    pub data: Vec<AuditResource>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AuditParams {
    /// A user's e-mail or an API key's name.
    #[param(max_length = 254, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub actor: Option<String>,
    pub action: Option<String>,
    /// At or after (RFC 3339, a date alone, or `2026-11-27T20:00` as a form sends it; UTC unless an offset is given).
    pub from: Option<String>,
    /// Before (as `from`).
    pub to: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{0,9}$")]
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Who did what and when, newest first (admin keys only).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = AuditList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_audit(
    s: ApiScope,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let actor = &s.scope;
    actor.admin()?;
    let params = Form::parse(req.query_string().as_bytes());
    let (filter, _) = app::audit::parse_filter(&params, "cursor", false)
        .map_err(|(field, m)| AppError::validation(field, m))?;
    let limit = crate::app::parse_limit(&params, 50)?;
    let (rows, next) = app::audit::page(&state, actor, filter, limit).await?;
    let next_cursor = next.map(|id| id.to_string());
    let data = rows
        .into_iter()
        .map(|e| AuditResource {
            id: e.id,
            at: time::rfc3339(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: e.detail,
            client_ip: e.client_ip,
        })
        .collect();
    Ok(HttpResponse::Ok().json(AuditList { data, next_cursor }))
}
