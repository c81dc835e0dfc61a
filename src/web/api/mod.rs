//! The JSON API under /api/v1, authenticated with API keys (`Authorization: Bearer <key>`).

pub mod audit;
pub mod auth;
pub mod body;
pub mod deliveries;
pub mod events;
pub mod examples;
pub mod openapi;
pub mod resource;
pub mod webhooks;

use crate::error::{ApiError, AppError};
use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource::resource("/openapi.json", "GET").route(web::get().to(openapi::spec)))
        .configure(webhooks::configure)
        .configure(events::configure)
        .configure(deliveries::configure)
        .configure(audit::configure)
        .default_service(web::to(not_found));
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError(AppError::NotFound))
}
