//! The first release's page paths (`/webhooks…`, `/deliveries…`, `/inboxes…`,
//! `/settings/audit`): each leads to the same page of the browser's current workspace
//! (`/w/{workspace}/…`), a GET with 303, anything else with 308 so a form posts again there.

use super::page::{Ctx, SessionWorkspace};
use crate::error::AppError;
use crate::state::AppState;
use actix_web::http::{Method, header};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

pub fn configure(cfg: &mut web::ServiceConfig) {
    for prefix in ["/webhooks", "/deliveries", "/inboxes"] {
        cfg.service(web::scope(prefix).default_service(web::to(redirect)));
    }
    cfg.service(web::resource("/settings/audit").default_service(web::to(redirect)));
}

/// Where the first release's paths lead this browser: its current workspace's pages.
pub async fn current_base(
    state: &AppState,
    ctx: &Ctx,
    req: &HttpRequest,
) -> Result<String, AppError> {
    let preferred = req
        .extensions()
        .get::<SessionWorkspace>()
        .and_then(|w| w.0.clone());
    let scope = crate::app::scope::own(state, &ctx.actor()?, preferred.as_deref()).await?;
    Ok(scope.base())
}

async fn redirect(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let base = current_base(&state, &ctx, &req).await?;
    let target = match req.uri().path_and_query() {
        Some(pq) => format!("{base}{}", pq.as_str()),
        None => format!("{base}{}", req.path()),
    };
    let mut res = if req.method() == Method::GET {
        HttpResponse::SeeOther()
    } else {
        HttpResponse::PermanentRedirect()
    };
    Ok(res.insert_header((header::LOCATION, target)).finish())
}
