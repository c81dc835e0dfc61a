//! API keys guard all of /api/v1 (but the OpenAPI document) and /metrics before any handler
//! or body parser runs, so an unauthenticated request learns nothing but 401.

use crate::AppState;
use crate::domain::ids::token_hash;
use crate::domain::time::now_ms;
use crate::error::{ApiError, AppError};
use crate::store;
use crate::store::users::Role;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{
    FromRequest, HttpMessage, HttpRequest, ResponseError, dev::Payload, http::header, web,
};
use std::collections::HashMap;
use std::future::{Ready, ready};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `last_used_at` is written at most this often per key.
const TOUCH_EVERY_MS: i64 = 60 * 1000;
/// How long a verified key is trusted without asking the database again.
const CACHE_TTL: Duration = Duration::from_secs(10);

/// Recently verified keys (hash → key id, when verified), so a busy publisher does not cost a
/// database read per request. Revoking a key clears it.
#[derive(Default)]
pub struct KeyCache(Mutex<HashMap<String, (ApiKeyAuth, Instant)>>);

impl KeyCache {
    fn get(&self, hash: &str) -> Option<ApiKeyAuth> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(hash)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(auth, _)| auth.clone())
    }

    fn put(&self, hash: String, auth: ApiKeyAuth) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
        map.insert(hash, (auth, Instant::now()));
    }

    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// The API key a request was made with (put in request extensions by `require_api_key`).
#[derive(Debug, Clone)]
pub struct ApiKeyAuth {
    pub key_id: i32,
    pub name: String,
    pub role: Role,
}

impl ApiKeyAuth {
    /// Keys with the support role may read, Send Test and Resend; everything else needs admin.
    pub fn admin(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Support => Err(ApiError(AppError::Forbidden(
                "This API key has the support role; this needs an admin key.".into(),
            ))),
        }
    }

    /// How the audit log names this key.
    pub fn actor(&self) -> String {
        format!("API key {}", self.name)
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
    let key = bearer(req)
        .filter(|k| crate::domain::ids::looks_like_api_key(k))
        .ok_or(AppError::Unauthorized)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("app state missing")))?;
    // Looked up by hash: the clear key is never stored or compared byte by byte.
    let hash = token_hash(&key);
    if let Some(auth) = state.api_key_cache.get(&hash) {
        return Ok(auth);
    }
    let lookup = hash.clone();
    let found = crate::db::run(&state.pool, move |conn| {
        let found = store::api_keys::find_active_by_hash(conn, &lookup)?;
        if let Some(k) = &found {
            let now = now_ms();
            if k.last_used_at.is_none_or(|t| now - t > TOUCH_EVERY_MS) {
                store::api_keys::touch(conn, k.id, now)?;
            }
        }
        Ok::<_, AppError>(found)
    })
    .await?;
    let key = found.ok_or(AppError::Unauthorized)?;
    let auth = ApiKeyAuth {
        key_id: key.id,
        role: Role::parse(&key.role).unwrap_or(Role::Support),
        name: key.name,
    };
    state.api_key_cache.put(hash, auth.clone());
    Ok(auth)
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
