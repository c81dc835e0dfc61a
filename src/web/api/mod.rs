//! The JSON API under /api/v1, authenticated with API keys (`Authorization: Bearer <key>`).

pub mod audit;
pub mod auth;
pub mod body;
pub mod deliveries;
pub mod events;
pub mod examples;
pub mod filters;
pub mod openapi;
pub mod operational;
pub mod portal;
pub mod resource;
pub mod webhooks;
pub mod workspaces;

use crate::error::{ApiError, AppError};
use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource::resource("/openapi.json", "GET").route(web::get().to(openapi::spec)))
        .configure(workspaces::configure)
        .configure(filters::configure)
        .configure(operational::configure)
        // Everything of a workspace, under its id or uid; the same at the top level means the
        // key's own workspace (the default one for an instance key).
        .service(
            web::scope("/workspaces/{workspace}")
                .configure(portal::configure)
                .configure(workspace_data)
                .default_service(web::to(not_found)),
        )
        .configure(workspace_data)
        .default_service(web::to(not_found));
}

/// The routes of one workspace's data: each handler takes an `ApiScope`.
fn workspace_data(cfg: &mut web::ServiceConfig) {
    cfg.configure(webhooks::configure)
        .configure(events::configure)
        .configure(deliveries::configure)
        .configure(audit::configure);
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError(AppError::NotFound))
}
