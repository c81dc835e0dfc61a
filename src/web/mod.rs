//! The web layer: the site map (one `configure` per area), browser handlers (askama pages, htmx
//! partials) and the JSON API in `api/`. Handlers read their input, call a use case in `app/`,
//! and render; no handler holds a rule, a transaction or SQL.

pub mod api;
pub mod api_keys;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod compress;
pub mod confirm;
pub mod deliveries;
pub mod filters;
pub mod forms;
pub mod guard;
pub mod header_rows;
pub mod inboxes;
pub mod legacy;
pub mod manual;
pub mod members;
pub mod overview;
pub mod page;
pub mod portal;
pub mod reference;
pub mod storage;
pub mod users;
pub mod webhook_page;
pub mod webhooks;
pub mod workspaces;

use crate::error::AppError;
use crate::state::AppState;
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
                .wrap(actix_web::middleware::from_fn(api::auth::resolve_scope))
                .wrap(actix_web::middleware::from_fn(api::auth::require_api_key))
                .configure(api::configure),
        )
        .configure(auth::configure)
        .route("/inbox/{token}", web::post().to(inboxes::receive))
        .configure(workspaces::configure)
        // A workspace's pages; the scope of each request is resolved from `{workspace}`.
        .service(
            web::scope("/w/{workspace}")
                .configure(webhooks::configure)
                .configure(filters::configure)
                .configure(deliveries::configure)
                .configure(manual::configure)
                .configure(inboxes::configure)
                .configure(audit::configure)
                .configure(api_keys::configure)
                .configure(members::configure)
                .default_service(web::to(not_found)),
        )
        // Settings → Operational webhooks: the instance's own webhooks, with the same pages.
        .service(
            web::scope("/operational")
                .app_data(web::Data::new(page::OperationalPages))
                .configure(webhooks::configure)
                .configure(filters::configure)
                .configure(deliveries::configure)
                .configure(manual::configure)
                .configure(audit::configure)
                .default_service(web::to(not_found)),
        )
        // The customer portal: a link opens a session whose pages are the workspace's
        // Automation pages and nothing else (the guard resolves the session from the path).
        .configure(portal::configure)
        .service(
            web::scope("/p/{portal}")
                .configure(webhooks::configure)
                .configure(filters::configure)
                .configure(deliveries::configure)
                .configure(manual::configure)
                .configure(inboxes::configure)
                .configure(portal::pages)
                .default_service(web::to(not_found)),
        )
        .configure(legacy::configure)
        .configure(api_keys::configure)
        .configure(storage::configure)
        .configure(users::configure)
        .configure(reference::configure)
        .route("/", web::get().to(home))
        .default_service(web::to(not_found));
}

/// 200 while the database takes writes; else 503 naming why, with `Retry-After` (what a load
/// balancer or a watchdog acts on).
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match crate::app::status::database_fault(&state).await {
        None => HttpResponse::Ok().json(serde_json::json!({"status": "ok"})),
        Some(fault) => HttpResponse::ServiceUnavailable()
            .insert_header((
                actix_web::http::header::RETRY_AFTER,
                fault.retry_after_secs(),
            ))
            .json(serde_json::json!({
                "status": "unavailable",
                "reason": fault.code(),
                "message": fault.message(),
            })),
    }
}

/// Reports the database faults that requests met (left on their error responses) to the
/// health state, which logs the first and answers `/healthz` from it until the probe writes.
pub async fn observe_faults(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await?;
    if let (Some(state), Some(fault)) = (
        state,
        res.response().extensions().get::<crate::db::fault::Fault>(),
    ) {
        state.health.fault(*fault);
    }
    Ok(res)
}

/// Prometheus text format; scraped with an instance API key (`Authorization: Bearer`): the
/// numbers are the whole instance's, so to a workspace key there are none.
async fn metrics(
    _key: api::auth::InstanceKey,
    state: web::Data<AppState>,
) -> Result<HttpResponse, crate::error::ApiError> {
    let text = crate::app::status::metrics(&state).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

async fn home(
    state: web::Data<AppState>,
    ctx: page::Ctx,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    let base = legacy::current_base(&state, &ctx, &req).await?;
    Ok(page::see_other(&format!("{base}/webhooks")))
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
