//! /api/v1/workspaces/{workspace}/portal-links and …/portal-sessions: the platform asks for a
//! link that opens the customer portal of one workspace, and ends its portal sessions.

use super::auth::ApiScope;
use super::body::ApiJson;
use super::webhooks::ErrorBody;
use super::workspaces::WorkspacePath;
use crate::app::portal::{self, LinkRequest};
use crate::domain::time;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Mounted only under `/workspaces/{workspace}`: a link is always to one named workspace.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource::resource("/portal-links", "POST")
            .route(web::post().to(create_portal_link)),
    )
    .service(
        super::resource::resource("/portal-sessions", "DELETE")
            .route(web::delete().to(revoke_portal_sessions)),
    );
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePortalLink {
    /// admin (the default): everything of the workspace's Automation pages; support: read,
    /// Send Test and Resend, no signing secret.
    #[serde(default)]
    #[schema(example = "admin", pattern = "^(admin|support)$")]
    pub role: Option<String>,
    /// Seconds the session lasts from now (300 to 86400, default 3600). The link itself must
    /// be opened within 5 minutes.
    #[serde(default, deserialize_with = "super::webhooks::whole_seconds")]
    #[schema(value_type = Option<i64>, minimum = 300, maximum = 86400, example = 3600)]
    pub expires_in: Option<i64>,
    /// Who the link is for; the audit log names changes made through it `portal: <user>`.
    #[serde(default)]
    #[schema(
        max_length = 200,
        example = "ana@acme.example",
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub user: Option<String>,
    /// A colour for buttons and links, `#rrggbb`; white text on it must reach 4.5:1
    /// (a lighter one is refused with 422).
    #[serde(default)]
    #[schema(example = "#1d4ed8", pattern = "^#[0-9A-Fa-f]{6}$")]
    pub accent: Option<String>,
}

/// A link to the portal: open it (in an iframe, or a new tab) within 5 minutes; it works once.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalLink {
    #[schema(
        example = "https://hooks.example.com/portal/3q2-7wXkQeTz1vYd0Jm8bPfRcLsAuNhG5iKoE4yW6xZ"
    )]
    pub url: String,
    /// When the session the link opens ends.
    #[schema(example = "2026-12-01T19:00:00Z")]
    pub expires_at: String,
}

/// Where users reach this server: `--public-url`, else how this request arrived.
fn public_base(state: &AppState, req: &HttpRequest) -> String {
    match &state.config.public_url {
        Some(url) => url.clone(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// Make a link to this workspace's customer portal (instance admin keys, or the workspace's
/// admin keys).
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/portal-links", tag = "portal",
    params(WorkspacePath), request_body(content = CreatePortalLink, description = "Every field is optional.", content_type = "application/json"),
    responses((status = 201, body = PortalLink), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "A support key cannot make links", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_portal_link(
    s: ApiScope,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<CreatePortalLink>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let request = LinkRequest {
        role: body.role,
        expires_in: body.expires_in,
        user: body.user,
        accent: body.accent,
    };
    let link = portal::create_link(&state, &s.scope, request).await?;
    Ok(HttpResponse::Created().json(PortalLink {
        url: format!("{}/portal/{}", public_base(&state, &req), link.token),
        expires_at: time::rfc3339(link.expires_at),
    }))
}

/// End every portal session of this workspace at once, and every link not opened yet.
#[utoipa::path(delete, path = "/api/v1/workspaces/{workspace}/portal-sessions", tag = "portal",
    params(WorkspacePath),
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 403, description = "A support key cannot end sessions", body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn revoke_portal_sessions(
    s: ApiScope,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    portal::revoke(&state, &s.scope).await?;
    Ok(HttpResponse::NoContent().finish())
}
