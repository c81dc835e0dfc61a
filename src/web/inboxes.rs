//! Test inboxes: URLs on this server (/inbox/{token}) that accept deliveries, check their
//! signature, and list what they received, so nobody needs a tunnel or a request bin while
//! building a receiver.

use super::audit;
use super::forms::Form;
use super::page::{Ctx, Layout, Nav, render, render_status, see_other};
use super::webhooks::{ConfirmPage, create_webhook};
use crate::AppState;
use crate::domain::events::CATALOGUE;
use crate::domain::webhook::ValidWebhook;
use crate::domain::{ids, signing, time};
use crate::error::AppError;
use crate::store::inboxes::{self as store, Inbox, NewRequest};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

/// At most this much of a received body is kept.
const MAX_BODY: usize = 64 * 1024;
/// At most this many inboxes.
const MAX_INBOXES: usize = 20;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/inboxes", web::get().to(list))
        .route("/inboxes", web::post().to(create))
        .route("/inboxes/{id}", web::get().to(show))
        .route("/inboxes/{id}/requests", web::get().to(requests))
        .route("/inboxes/{id}/webhook", web::post().to(create_webhook_to))
        .route("/inboxes/{id}/purge", web::get().to(purge_confirm))
        .route("/inboxes/{id}/purge", web::post().to(purge))
        .route("/inbox/{token}", web::post().to(receive));
}

/// The URL of an inbox on this server, as deliveries reach it.
pub fn inbox_url(state: &AppState, token: &str) -> String {
    let addr = state.local_addr();
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    let host = if addr.is_ipv6() && !addr.ip().is_unspecified() {
        format!("[{host}]")
    } else {
        host
    };
    format!("http://{host}:{}/inbox/{token}", addr.port())
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

async fn all(state: &AppState) -> Result<Vec<Inbox>, AppError> {
    crate::db::run(&state.pool, |conn| {
        store::list(conn).map_err(AppError::from)
    })
    .await
}

async fn list(state: web::Data<AppState>, ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let inboxes = all(&state)
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
    ctx: Ctx,
    form: Form,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let existing = all(&state).await?;
    let name = match ids::check_key_name(form.get("name")) {
        Ok(_) if existing.len() >= MAX_INBOXES => Err(format!(
            "There are {MAX_INBOXES} inboxes already: purge and reuse one."
        )),
        other => other,
    };
    match name {
        Ok(name) => {
            let (id, token) = (ids::new_id("ibx"), ids::random_token::<24>());
            let inbox = id.clone();
            crate::db::run(&state.pool, move |conn| {
                store::create(conn, &inbox, &token, &name, time::now_ms()).map_err(AppError::from)
            })
            .await?;
            audit::by_user(&state, &ctx, "inbox_created", Some(&id), None).await;
            Ok(see_other(&format!("/inboxes/{id}")))
        }
        Err(message) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ListPage {
                layout: ctx.layout("Test inboxes", Nav::Inboxes),
                inboxes: existing.into_iter().map(|i| view(&state, i)).collect(),
                name: form.get("name").to_owned(),
                name_error: Some(message),
            },
        ),
    }
}

async fn load(state: &AppState, id: &str) -> Result<Inbox, AppError> {
    if !ids::is_id("ibx", id) {
        return Err(AppError::NotFound);
    }
    let id = id.to_owned();
    crate::db::run(&state.pool, move |conn| {
        store::get(conn, &id).map_err(AppError::from)
    })
    .await
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
    inbox_id: String,
    requests: Vec<RequestView>,
}

#[derive(Template)]
#[template(path = "inboxes/show.html")]
struct ShowPage {
    layout: Layout,
    inbox: InboxView,
    inbox_id: String,
    requests: Vec<RequestView>,
}

async fn received(state: &AppState, inbox_id: &str) -> Result<Vec<RequestView>, AppError> {
    let id = inbox_id.to_owned();
    let rows = crate::db::run(&state.pool, move |conn| {
        store::requests(conn, &id, 0).map_err(AppError::from)
    })
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RequestView {
            id: r.id,
            at: time::display_seconds(r.received_at),
            headers: serde_json::from_str::<Vec<(String, String)>>(&r.headers).unwrap_or_default(),
            body: String::from_utf8_lossy(&r.body).into_owned(),
            truncated: r.body_truncated,
            signature_valid: r.signature_valid,
            webhook_id: r.webhook_id,
        })
        .collect())
}

async fn show(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let inbox = load(&state, &path).await?;
    let requests = received(&state, &inbox.id).await?;
    render(&ShowPage {
        layout: ctx.layout(inbox.name.clone(), Nav::Inboxes),
        inbox_id: inbox.id.clone(),
        inbox: view(&state, inbox),
        requests,
    })
}

async fn requests(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let inbox = load(&state, &path).await?;
    let requests = received(&state, &inbox.id).await?;
    render(&RequestsPartial {
        inbox_id: inbox.id,
        requests,
    })
}

async fn create_webhook_to(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let inbox = load(&state, &path).await?;
    let url = url::Url::parse(&inbox_url(&state, &inbox.token))
        .map_err(|e| AppError::Internal(e.into()))?;
    let valid = ValidWebhook {
        url,
        description: format!("Test inbox: {}", inbox.name),
        events: CATALOGUE.iter().map(|e| e.name.to_owned()).collect(),
    };
    let webhook = create_webhook(&state, valid, true).await?;
    Ok(see_other(&format!(
        "/webhooks/{}?notice=created",
        webhook.id
    )))
}

async fn purge_confirm(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let inbox = load(&state, &path).await?;
    render(
        &ConfirmPage::new(
            ctx.layout("Purge inbox", Nav::Inboxes),
            "Purge this inbox?",
            "Every request it received is deleted. The inbox and its URL stay.",
            inbox.name,
            format!("/inboxes/{}/purge", inbox.id),
            "Purge",
            format!("/inboxes/{}", inbox.id),
        )
        .danger(),
    )
}

async fn purge(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let inbox = load(&state, &path).await?;
    let id = inbox.id.clone();
    crate::db::run(&state.pool, move |conn| {
        store::purge(conn, &id).map_err(AppError::from)
    })
    .await?;
    audit::by_user(&state, &ctx, "inbox_purged", Some(&inbox.id), None).await;
    Ok(see_other(&format!("/inboxes/{}", inbox.id)))
}

/// POST /inbox/{token}: no session and no CSRF (deliveries are not browsers); it stores the
/// request and answers 204 when the signature is valid for a webhook pointing here, else 401.
async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    if token.len() != 32 {
        return Err(AppError::NotFound);
    }
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
    let url = inbox_url(&state, &token);
    let sealed = state.secrets.clone();
    let valid = crate::db::run(&state.pool, move |conn| {
        let Some(inbox) = store::by_token(conn, &token)? else {
            return Ok(None);
        };
        let now = time::now_ms();
        let mut matched = None;
        for webhook_id in store::webhooks_for_url(conn, &url)? {
            let secrets = crate::store::webhooks::valid_secrets(conn, &webhook_id, now)?;
            let secrets = sealed
                .open_all(&secrets)
                .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
            if secrets
                .iter()
                .any(|s| signing::verify_aethenox_signature(s, &body, &signature))
            {
                matched = Some(webhook_id);
                break;
            }
        }
        let kept = &body[..body.len().min(MAX_BODY)];
        store::add_request(
            conn,
            &NewRequest {
                inbox_id: &inbox.id,
                received_at: now,
                headers: &serde_json::to_string(&headers).unwrap_or_default(),
                body: kept,
                body_truncated: body.len() > MAX_BODY,
                signature_valid: matched.is_some(),
                webhook_id: matched.as_deref(),
            },
        )?;
        Ok::<_, AppError>(Some(matched.is_some()))
    })
    .await?;
    match valid {
        None => Err(AppError::NotFound),
        Some(true) => Ok(HttpResponse::NoContent().finish()),
        Some(false) => Ok(HttpResponse::Unauthorized()
            .content_type("text/plain")
            .body("signature not valid")),
    }
}
