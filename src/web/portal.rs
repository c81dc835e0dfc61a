//! The customer portal's own pages: opening a link (`/portal/{token}`), the page that says why
//! a link or session no longer works, and the accent stylesheet. The portal's other pages are
//! the workspace's Automation pages, mounted under `/p/{session}` (see `web::configure`).

use super::page::{Ctx, see_other};
use crate::app::portal::{self, Ended};
use crate::error::AppError;
use crate::state::AppState;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/portal/{token}", web::get().to(open));
}

/// Routes of a portal session beside the Automation pages.
pub fn pages(cfg: &mut web::ServiceConfig) {
    cfg.route("/accent.css", web::get().to(accent_css));
}

#[derive(Template)]
#[template(path = "portal_ended.html")]
struct EndedPage {
    title: &'static str,
    explanation: &'static str,
}

/// Says why the portal does not open, and how to get back in (ask the platform for a new
/// link); an htmx request makes its page reload to show it.
pub fn ended_page(ended: Ended, htmx: bool) -> HttpResponse {
    let status = match ended {
        Ended::Unknown => StatusCode::NOT_FOUND,
        _ => StatusCode::GONE,
    };
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    if htmx {
        return res.insert_header(("HX-Refresh", "true")).finish();
    }
    let page = EndedPage {
        title: ended.title(),
        explanation: ended.explanation(),
    };
    match page.render() {
        Ok(body) => res.content_type("text/html; charset=utf-8").body(body),
        Err(e) => AppError::from(e).page(""),
    }
}

/// Opens a link once: its session starts, and the browser goes to the workspace's webhooks.
async fn open(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    // A HEAD (a link checker, a preview) does not use the link up.
    if req.extensions().get::<super::page::WasHead>().is_some() {
        return Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    }
    let ip = req.peer_addr().map(|a| a.ip().to_string());
    Ok(match portal::open(&state, &path, ip.as_deref()).await? {
        Ok(opened) => see_other(&format!("/p/{}/webhooks", opened.session_token)),
        Err(ended) => ended_page(ended, false),
    })
}

/// The link's accent colour as a stylesheet (pages link it only when there is one).
async fn accent_css(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let css = ctx
        .portal
        .as_ref()
        .and_then(|p| p.session.accent.as_deref())
        .and_then(crate::domain::portal::accent_css)
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(css))
}
