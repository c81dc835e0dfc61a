use crate::AppState;
use crate::domain::ids::token_hash;
use crate::domain::time::now_ms;
use crate::error::{ApiError, AppError};
use crate::store;
use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use std::future::Future;
use std::pin::Pin;

/// `last_used_at` is written at most this often per key.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// A request made with a valid, unrevoked API key.
#[derive(Debug, Clone)]
pub struct ApiKeyAuth {
    pub key_id: i32,
}

impl FromRequest for ApiKeyAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|k| k.trim().to_owned());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let (Some(key), Some(state)) = (presented, state) else {
                return Err(ApiError(AppError::Unauthorized));
            };
            if key.is_empty() || key.len() > 200 {
                return Err(ApiError(AppError::Unauthorized));
            }
            // Looked up by hash: the clear key is never stored or compared byte by byte.
            let hash = token_hash(&key);
            let found = crate::db::run(&state.pool, move |conn| {
                let found = store::api_keys::find_active_by_hash(conn, &hash)?;
                if let Some(k) = &found {
                    let now = now_ms();
                    if k.last_used_at.is_none_or(|t| now - t > TOUCH_EVERY_MS) {
                        store::api_keys::touch(conn, k.id, now)?;
                    }
                }
                Ok::<_, AppError>(found)
            })
            .await?;
            found.map(|k| ApiKeyAuth { key_id: k.id }).ok_or(ApiError(AppError::Unauthorized))
        })
    }
}
