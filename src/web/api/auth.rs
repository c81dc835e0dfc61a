//! API keys guard all of /api/v1 (but the OpenAPI document) and /metrics before any handler
//! or body parser runs, so an unauthenticated request learns nothing but 401.

use crate::app::scope::Scope;
use crate::app::{self, Actor, Reach, Via};
use crate::error::{ApiError, AppError};
use crate::state::AppState;
use crate::store::users::Role;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{
    FromRequest, HttpMessage, HttpRequest, ResponseError, dev::Payload, http::header, web,
};
use std::future::{Ready, ready};

/// The API key a request was made with (put in request extensions by `require_api_key`).
#[derive(Debug, Clone)]
pub struct ApiKeyAuth {
    pub key_id: i32,
    pub name: String,
    pub role: Role,
    /// None for instance keys.
    pub workspace_id: Option<String>,
    /// The peer address of the request.
    pub client_ip: Option<String>,
}

impl ApiKeyAuth {
    /// Who is acting, as use cases know them: "API key NAME" in the audit log.
    pub fn actor(&self) -> Actor {
        Actor {
            name: format!("API key {}", self.name),
            role: self.role,
            via: Via::ApiKey {
                key_id: self.key_id,
            },
            reach: match &self.workspace_id {
                None => Reach::Instance,
                Some(ws) => Reach::Workspace(ws.clone()),
            },
            client_ip: self.client_ip.clone(),
        }
    }
}

fn bearer(req: &ServiceRequest) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty() && k.len() <= 200)
}

async fn authenticate(req: &ServiceRequest) -> Result<ApiKeyAuth, AppError> {
    let presented = bearer(req).ok_or(AppError::Unauthorized)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("app state missing")))?;
    let key = app::keys::verify(&state, &presented).await?;
    Ok(ApiKeyAuth {
        key_id: key.key_id,
        name: key.name,
        role: key.role,
        workspace_id: key.workspace_id,
        client_ip: req.peer_addr().map(|a| a.ip().to_string()),
    })
}

pub async fn require_api_key(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    if req.path() == "/api/v1/openapi.json" {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    match authenticate(&req).await {
        Ok(auth) => {
            req.extensions_mut().insert(auth);
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(e) => {
            let res = ApiError(e).error_response();
            Ok(req.into_response(res).map_into_right_body())
        }
    }
}

impl FromRequest for ApiKeyAuth {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<ApiKeyAuth>()
                .cloned()
                .ok_or(ApiError(AppError::Unauthorized)),
        )
    }
}

/// The key and the workspace a request works in: the path's `{workspace}` under
/// `/api/v1/workspaces/{workspace}/…`, else the key's own (the default one for instance keys).
/// Another workspace is not found.
pub struct ApiScope {
    pub auth: ApiKeyAuth,
    pub scope: Scope,
}

/// The workspace an /api/v1 request works in, when it works in one: `/workspaces/{key}/…`
/// names it; the workspaces resource itself, the OpenAPI document and the filter test have
/// none; anything else
/// is the key's own workspace.
fn workspace_in_path(path: &str) -> Option<Option<&str>> {
    let rest = path.strip_prefix("/api/v1")?;
    if rest == "/openapi.json" || rest == "/filter-test" {
        return None;
    }
    match rest.strip_prefix("/workspaces") {
        Some("") => None,
        Some(tail) => {
            let tail = tail.strip_prefix('/')?;
            match tail.split_once('/') {
                Some((key, _)) => Some(Some(key)),
                None => None,
            }
        }
        None => Some(None),
    }
}

/// Resolves the scope of an /api/v1 request (after its key is checked) before any handler or
/// body parser runs, so another workspace is a 404 whatever the body holds.
pub async fn resolve_scope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let path = req.path().to_owned();
    let operational = path
        .strip_prefix("/api/v1")
        .and_then(|rest| rest.strip_prefix("/operational-webhooks"))
        .is_some_and(|tail| tail.is_empty() || tail.starts_with('/'));
    let key = if operational {
        Some(None)
    } else {
        workspace_in_path(&path)
    };
    let Some(key) = key else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let auth = req.extensions().get::<ApiKeyAuth>().cloned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let resolved = match (auth, state) {
        (Some(auth), Some(state)) => {
            let actor = auth.actor();
            match key {
                _ if operational => app::scope::operational(&state, &actor).await,
                Some(key) => app::scope::resolve(&state, &actor, key).await,
                None => app::scope::own(&state, &actor, None).await,
            }
        }
        _ => Err(AppError::Unauthorized),
    };
    match resolved {
        Ok(scope) => {
            req.extensions_mut().insert(scope);
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(e) => {
            let res = ApiError(e).error_response();
            Ok(req.into_response(res).map_into_right_body())
        }
    }
}

impl FromRequest for ApiScope {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let auth = ApiKeyAuth::from_request(req, payload).into_inner();
        let scope = req.extensions().get::<Scope>().cloned();
        ready(match (auth, scope) {
            (Ok(auth), Some(scope)) => Ok(ApiScope { auth, scope }),
            (Err(e), _) => Err(e),
            (Ok(_), None) => Err(ApiError(AppError::NotFound)),
        })
    }
}

/// The `{id}` of an API path (beside `{workspace}` in the nested paths).
pub struct ApiId(pub String);

impl FromRequest for ApiId {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.match_info()
                .get("id")
                .map(|id| ApiId(id.to_owned()))
                .ok_or(ApiError(AppError::NotFound)),
        )
    }
}

/// An instance key (for the instance's own resources, such as workspaces); to a workspace key
/// they do not exist (404), before its body is even read.
pub struct InstanceKey(pub ApiKeyAuth);

impl FromRequest for InstanceKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(match ApiKeyAuth::from_request(req, payload).into_inner() {
            Ok(auth) if auth.workspace_id.is_none() => Ok(InstanceKey(auth)),
            Ok(_) => Err(ApiError(AppError::NotFound)),
            Err(e) => Err(e),
        })
    }
}
