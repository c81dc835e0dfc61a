//! Test inboxes: URLs on this server (/inbox/{token}) that accept deliveries, check their
//! signature, and list what they received, so nobody needs a tunnel or a request bin while
//! building a receiver.

use super::confirm::ConfirmPage;
use super::forms::Form;
use super::page::{IdPath, Layout, Nav, WsCtx, render, render_status, see_other};
use crate::app::{self, inboxes::url as inbox_url};
use crate::domain::time;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::inboxes::{Inbox, InboxRequest};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/inboxes", web::get().to(list))
        .route("/inboxes", web::post().to(create))
        .route("/inboxes/{id}", web::get().to(show))
        .route("/inboxes/{id}/requests", web::get().to(requests))
        .route("/inboxes/{id}/webhook", web::post().to(create_webhook_to))
        .route("/inboxes/{id}/purge", web::get().to(purge_confirm))
        .route("/inboxes/{id}/purge", web::post().to(purge));
}

struct InboxView {
    id: String,
    name: String,
    url: String,
    created: String,
}

fn view(state: &AppState, i: Inbox) -> InboxView {
    InboxView {
        url: inbox_url(state, &i.token),
        created: time::display(i.created_at),
        id: i.id,
        name: i.name,
    }
}

#[derive(Template)]
#[template(path = "inboxes/list.html")]
struct ListPage {
    layout: Layout,
    inboxes: Vec<InboxView>,
    name: String,
    name_error: Option<String>,
}

async fn list(state: web::Data<AppState>, ctx: WsCtx) -> Result<HttpResponse, AppError> {
    let inboxes = app::inboxes::list(&state, &ctx.scope)
        .await?
        .into_iter()
        .map(|i| view(&state, i))
        .collect();
    render(&ListPage {
        layout: ctx.layout("Test inboxes", Nav::Inboxes),
        inboxes,
        name: String::new(),
        name_error: None,
    })
}

async fn create(
    state: web::Data<AppState>,
    ctx: WsCtx,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let actor = &ctx.scope;
    match app::inboxes::create(&state, actor, form.get("name")).await? {
        Ok(inbox) => Ok(see_other(&format!(
            "{}/inboxes/{}",
            ctx.scope.base(),
            inbox.id
        ))),
        Err(message) => {
            let existing = app::inboxes::list(&state, actor).await?;
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ListPage {
                    layout: ctx.layout("Test inboxes", Nav::Inboxes),
                    inboxes: existing.into_iter().map(|i| view(&state, i)).collect(),
                    name: form.get("name").to_owned(),
                    name_error: Some(message),
                },
            )
        }
    }
}

struct RequestView {
    id: i32,
    at: String,
    headers: Vec<(String, String)>,
    body: String,
    truncated: bool,
    signature_valid: bool,
    webhook_id: Option<String>,
}

#[derive(Template)]
#[template(path = "inboxes/_requests.html")]
struct RequestsPartial {
    ws: String,
    inbox_id: String,
    requests: Vec<RequestView>,
}

#[derive(Template)]
#[template(path = "inboxes/show.html")]
struct ShowPage {
    layout: Layout,
    ws: String,
    inbox: InboxView,
    inbox_id: String,
    requests: Vec<RequestView>,
}

fn request_views(rows: Vec<InboxRequest>) -> Vec<RequestView> {
    rows.into_iter()
        .map(|r| RequestView {
            id: r.id,
            at: time::display_seconds(r.received_at),
            headers: serde_json::from_str::<Vec<(String, String)>>(&r.headers).unwrap_or_default(),
            body: String::from_utf8_lossy(&r.body).into_owned(),
            truncated: r.body_truncated,
            signature_valid: r.signature_valid,
            webhook_id: r.webhook_id,
        })
        .collect()
}

async fn show(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let (inbox, rows) = app::inboxes::requests(&state, &ctx.scope, &path).await?;
    let requests = request_views(rows);
    render(&ShowPage {
        ws: ctx.scope.base(),
        layout: ctx.layout(inbox.name.clone(), Nav::Inboxes),
        inbox_id: inbox.id.clone(),
        inbox: view(&state, inbox),
        requests,
    })
}

async fn requests(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let (inbox, rows) = app::inboxes::requests(&state, &ctx.scope, &path).await?;
    let requests = request_views(rows);
    render(&RequestsPartial {
        ws: ctx.scope.base(),
        inbox_id: inbox.id,
        requests,
    })
}

async fn create_webhook_to(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let webhook = app::inboxes::create_webhook_to(&state, &ctx.scope, &path).await?;
    Ok(see_other(&format!(
        "{}/webhooks/{}?notice=created",
        ctx.scope.base(),
        webhook.id
    )))
}

async fn purge_confirm(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let inbox = app::inboxes::get(&state, &ctx.scope, &path).await?;
    render(
        &ConfirmPage::new(
            ctx.layout("Purge inbox", Nav::Inboxes),
            "Purge this inbox?",
            "Every request it received is deleted. The inbox and its URL stay.",
            inbox.name,
            format!("{}/inboxes/{}/purge", ctx.scope.base(), inbox.id),
            "Purge",
            format!("{}/inboxes/{}", ctx.scope.base(), inbox.id),
        )
        .danger(),
    )
}

async fn purge(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let inbox = app::inboxes::purge(&state, &ctx.scope, &path).await?;
    Ok(see_other(&format!(
        "{}/inboxes/{}",
        ctx.scope.base(),
        inbox.id
    )))
}

/// POST /inbox/{token}: no session and no CSRF (deliveries are not browsers); it stores the
/// request and answers 204 when the signature is valid for a webhook pointing here, else 401.
pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .take(100)
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let signature = req
        .headers()
        .get("x-aethenox-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let valid =
        app::inboxes::receive(&state, path.into_inner(), headers, signature, body.to_vec()).await?;
    match valid {
        None => Err(AppError::NotFound),
        Some(true) => Ok(HttpResponse::NoContent().finish()),
        Some(false) => Ok(HttpResponse::Unauthorized()
            .content_type("text/plain")
            .body("signature not valid")),
    }
}
