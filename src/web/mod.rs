//! The site map: one `configure` per area.

pub mod api;
pub mod api_keys;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod deliveries;
pub mod forms;
pub mod guard;
pub mod inboxes;
pub mod page;
pub mod throttle;
pub mod users;
pub mod webhooks;

use crate::AppState;
use crate::error::AppError;
use actix_web::{HttpResponse, web};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .service(
            web::resource("/metrics")
                .wrap(actix_web::middleware::from_fn(api::auth::require_api_key))
                .route(web::get().to(metrics)),
        )
        .service(assets::asset)
        .service(
            web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(api::auth::require_api_key))
                .configure(api::configure),
        )
        .configure(auth::configure)
        .configure(webhooks::configure)
        .configure(deliveries::configure)
        .configure(inboxes::configure)
        .configure(api_keys::configure)
        .configure(audit::configure)
        .configure(users::configure)
        .route("/", web::get().to(home))
        .default_service(web::to(not_found));
}

async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let ok = crate::db::run(&state.pool, |conn| {
        crate::db::ping(conn).map_err(AppError::from)
    })
    .await
    .is_ok();
    if ok {
        HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "database unavailable"}))
    }
}

/// Prometheus text format; scraped with an API key (`Authorization: Bearer`).
async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, crate::error::ApiError> {
    let now = crate::domain::time::now_ms();
    let queue = crate::db::run(&state.pool, move |conn| {
        crate::store::deliveries::queue_depth(conn, now).map_err(AppError::from)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(queue)))
}

async fn home() -> HttpResponse {
    page::see_other("/webhooks")
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
