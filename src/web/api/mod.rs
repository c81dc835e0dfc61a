//! The JSON API under /api/v1, authenticated with API keys (`Authorization: Bearer <key>`).

pub mod audit;
pub mod auth;
pub mod body;
pub mod deliveries;
pub mod events;
pub mod openapi;
pub mod webhooks;

use crate::error::{ApiError, AppError};
use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(openapi::spec))
        .configure(webhooks::configure)
        .configure(events::configure)
        .configure(deliveries::configure)
        .configure(audit::configure)
        .default_service(web::to(not_found));
}

/// The `limit` query parameter of list endpoints: 1 to 100, `default` when absent.
pub fn parse_limit(raw: &str, default: i64) -> Result<i64, ApiError> {
    match raw.trim() {
        "" => Ok(default),
        v => match v.parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(ApiError(AppError::validation(
                "limit",
                "limit must be a whole number from 1 to 100",
            ))),
        },
    }
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError(AppError::NotFound))
}
