//! Automation → Webhooks: list, create, the webhook's page with its tabs, edit, enable and
//! disable, delete, the signing secret (reveal, rotate) and Enable and recover. Each handler
//! reads its input, calls one use case in `app::webhooks`, and renders.

use super::confirm::ConfirmPage;
use super::deliveries::{log_status, log_view};
use super::forms::Form;
use super::header_rows;
use super::page::{IdPath, Nav, WsCtx, render, render_status, see_other};
use super::webhook_page::{
    FormView, ListPage, NewPage, SecretPartial, Tab, WebhookRow, form_of, input_from, notice_text,
    secret_view, show_page,
};
use crate::app::deliveries::{LogQuery, PAGE_NAMES};
use crate::app::webhook_secrets;
use crate::app::webhooks::{self as webhooks, Change, SaveError};
use crate::domain::webhook::{FieldErrors, WebhookInput};
use crate::domain::{ids, time};
use crate::error::AppError;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks", web::get().to(list))
        .route("/webhooks", web::post().to(create))
        .route("/webhooks/new", web::get().to(new_form))
        .route("/webhooks/{id}", web::get().to(overview))
        .route("/webhooks/{id}/deliveries", web::get().to(delivery_log))
        .route("/webhooks/{id}/settings", web::get().to(settings))
        .route("/webhooks/{id}/settings", web::post().to(update))
        .route(
            "/webhooks/{id}/settings/reveal-headers",
            web::post().to(reveal_headers),
        )
        .route("/webhooks/{id}/enable", web::post().to(enable))
        .route("/webhooks/{id}/disable", web::post().to(disable))
        .route("/webhooks/{id}/delete", web::get().to(delete_confirm))
        .route("/webhooks/{id}/delete", web::post().to(delete))
        .route("/webhooks/{id}/secret", web::post().to(reveal_secret))
        .route(
            "/webhooks/{id}/rotate-secret",
            web::get().to(rotate_confirm),
        )
        .route("/webhooks/{id}/rotate-secret", web::post().to(rotate))
        .route("/webhooks/{id}/recover", web::get().to(recover_confirm))
        .route("/webhooks/{id}/recover", web::post().to(recover));
}

#[derive(serde::Deserialize)]
struct ListQuery {
    #[serde(default)]
    before: String,
    #[serde(default)]
    notice: String,
}

#[derive(serde::Deserialize)]
struct NoticeQuery {
    #[serde(default)]
    notice: String,
    recovered: Option<u32>,
    missed: Option<u32>,
}

const PAGE_SIZE: i64 = 50;

async fn list(
    state: web::Data<AppState>,
    ctx: WsCtx,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let before = ids::is_id("wh", &query.before).then(|| query.before.clone());
    let paged = before.is_some();
    let (rows, older) = webhooks::list(&state, &ctx.scope, before, PAGE_SIZE).await?;
    let webhooks = rows
        .into_iter()
        .map(|w| WebhookRow {
            created: time::display(w.created_at),
            id: w.id,
            url: w.url,
            description: w.description,
            events: w.events,
            enabled: w.enabled,
        })
        .collect();
    render(&ListPage {
        layout: ctx.layout("Webhooks", Nav::Webhooks),
        webhooks,
        notice: notice_text(&query.notice),
        older,
        paged,
    })
}

fn new_page(ctx: &WsCtx, form: FormView) -> NewPage {
    NewPage {
        layout: ctx.layout("Create Webhook", Nav::Webhooks),
        form,
        catalogue: ctx.scope.catalogue(),
        action: ctx.link("/webhooks"),
        cancel: ctx.link("/webhooks"),
    }
}

async fn new_form(ctx: WsCtx) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let form = FormView::from_input(WebhookInput::default(), FieldErrors::default());
    render(&new_page(&ctx, form))
}

async fn create(
    state: web::Data<AppState>,
    ctx: WsCtx,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let mut input = input_from(&form);
    let typed = header_rows::typed(&form);
    let refused = |input: WebhookInput, errors: FieldErrors| {
        let form = FormView::from_input(input, errors).with_headers(&typed, &[]);
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &new_page(&ctx, form))
    };
    match header_rows::to_save(&typed, &[]) {
        Ok(headers) => input.headers = Some(headers),
        Err(message) => return refused(input, FieldErrors(vec![("headers", message)])),
    }
    match webhooks::create(&state, &ctx.scope, input.clone(), true).await {
        Ok(webhook) => Ok(see_other(&format!(
            "{}/webhooks/{}?notice=created",
            ctx.scope.base(),
            webhook.id
        ))),
        Err(SaveError::Invalid(errors)) => refused(input, errors),
        Err(SaveError::Failed(e)) => Err(e),
    }
}

async fn overview(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let webhook = webhooks::get(&state, &ctx.scope, &path).await?;
    let notice = notice_text(&query.notice);
    let mut page = show_page(&state, &ctx, webhook, Tab::Overview, notice, None).await?;
    if let (Some(r), Some(m)) = (query.recovered, query.missed) {
        page.recovered = Some(format!(
            "Webhook enabled. {r} failed deliveries were queued again and {m} missed events queued for delivery."
        ));
    }
    render(&page)
}

async fn delivery_log(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let webhook = webhooks::get(&state, &ctx.scope, &path).await?;
    let params = Form::parse(req.query_string().as_bytes());
    let filters = LogQuery::parse(&params, PAGE_NAMES, Some(&webhook.id));
    let base = format!("{}/webhooks/{}/deliveries", ctx.scope.base(), webhook.id);
    let log = log_view(&state, &ctx.scope, filters, base, false).await?;
    let status = log_status(&log);
    let mut page = show_page(&state, &ctx, webhook, Tab::Deliveries, None, None).await?;
    page.log = Some(log);
    render_status(status, &page)
}

async fn recover_confirm(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let r = webhooks::recovery(&state, &ctx.scope, &path).await?;
    render(&ConfirmPage::new(
        ctx.layout("Enable and recover", Nav::Webhooks),
        "Enable this webhook and recover what it missed?",
        format!(
            "{} deliveries that failed and {} events published while it was disabled will be delivered, as well as new events from now on.",
            r.failed.len(),
            r.missed.len()
        ),
        r.webhook.url,
        format!("{}/webhooks/{}/recover", ctx.scope.base(), r.webhook.id),
        "Enable and recover",
        format!("{}/webhooks/{}", ctx.scope.base(), r.webhook.id),
    ))
}

async fn recover(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let (requeued, created) = webhooks::recover(&state, &ctx.scope, &path).await?;
    Ok(see_other(&format!(
        "{}/webhooks/{}?recovered={requeued}&missed={created}",
        ctx.scope.base(),
        path
    )))
}

async fn settings(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let webhook = webhooks::get(&state, &ctx.scope, &path).await?;
    ctx.admin()?;
    let saved = webhook_secrets::custom_headers(&state, &ctx.scope, &webhook)?.unwrap_or_default();
    let form = form_of(&webhook, &saved, false);
    let notice = notice_text(&query.notice);
    render(&show_page(&state, &ctx, webhook, Tab::Settings, notice, Some(form)).await?)
}

/// Settings with the custom headers' values shown (audited).
async fn reveal_headers(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let (webhook, saved) = webhook_secrets::reveal_headers(&state, &ctx.scope, &path).await?;
    let form = form_of(&webhook, &saved, true);
    let notice = Some("Header values shown below; saving keeps them as they are.");
    render(&show_page(&state, &ctx, webhook, Tab::Settings, notice, Some(form)).await?)
}

async fn update(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let input = input_from(&form);
    let webhook = webhooks::get(&state, &ctx.scope, &path).await?;
    ctx.admin()?;
    // An empty value on a saved name keeps the saved value, which the page never held.
    let saved = webhook_secrets::custom_headers(&state, &ctx.scope, &webhook)?.unwrap_or_default();
    let typed = header_rows::typed(&form);
    let headers = header_rows::to_save(&typed, &saved);
    let refused = |webhook, errors: FieldErrors| async {
        let form = FormView::from_input(input.clone(), errors).with_headers(&typed, &saved);
        let page = show_page(&state, &ctx, webhook, Tab::Settings, None, Some(form)).await?;
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let headers = match headers {
        Ok(h) => h,
        Err(message) => return refused(webhook, FieldErrors(vec![("headers", message)])).await,
    };
    let change = Change {
        url: Some(input.url.clone()),
        description: Some(input.description.clone()),
        events: Some(input.events.clone()),
        enabled: None,
        filter: Some(input.filter.clone()),
        headers: Some(headers),
        rate_limit: Some(input.rate_limit.clone()),
        ordered: Some(input.ordered),
    };
    match webhooks::update(&state, &ctx.scope, &path, change).await {
        Ok(webhook) => Ok(see_other(&format!(
            "{}/webhooks/{}/settings?notice=saved",
            ctx.scope.base(),
            webhook.id
        ))),
        Err(SaveError::Invalid(errors)) => refused(webhook, errors).await,
        Err(SaveError::Failed(e)) => Err(e),
    }
}

async fn enable(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let webhook = webhooks::set_enabled(&state, &ctx.scope, &path, true).await?;
    Ok(see_other(&format!(
        "{}/webhooks/{}?notice=enabled",
        ctx.scope.base(),
        webhook.id
    )))
}

async fn disable(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let webhook = webhooks::set_enabled(&state, &ctx.scope, &path, false).await?;
    Ok(see_other(&format!(
        "{}/webhooks/{}?notice=disabled",
        ctx.scope.base(),
        webhook.id
    )))
}

async fn delete_confirm(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let webhook = webhooks::get(&state, &ctx.scope, &path).await?;
    ctx.admin()?;
    render(&ConfirmPage::new(
        ctx.layout("Delete webhook", Nav::Webhooks),
        "Delete this webhook?",
        "Its endpoint stops receiving events at once, and its signing secret is destroyed. This cannot be undone.",
        webhook.url,
        format!("{}/webhooks/{}/delete", ctx.scope.base(), webhook.id),
        "Delete webhook",
        format!("{}/webhooks/{}/settings", ctx.scope.base(), webhook.id),
    )
    .danger())
}

async fn delete(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    webhooks::delete(&state, &ctx.scope, &path).await?;
    Ok(see_other(&ctx.link("/webhooks?notice=deleted")))
}

async fn reveal_secret(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let (webhook, secret) = webhook_secrets::reveal_secret(&state, &ctx.scope, &path).await?;
    let secret = secret_view(&state, &ctx, &webhook.id, Some(secret)).await?;
    if ctx.is_htmx {
        return render(&SecretPartial { secret });
    }
    let mut page = show_page(&state, &ctx, webhook, Tab::Overview, None, None).await?;
    page.secret = Some(secret);
    render(&page)
}

async fn rotate_confirm(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let webhook = webhooks::get(&state, &ctx.scope, &path).await?;
    ctx.admin()?;
    render(&ConfirmPage::new(
        ctx.layout("Rotate signing secret", Nav::Webhooks),
        "Rotate the signing secret?",
        "A new secret is made and used for every delivery from now on. Your receiver must be updated to the new secret.",
        webhook.url,
        format!("{}/webhooks/{}/rotate-secret", ctx.scope.base(), webhook.id),
        "Rotate secret",
        format!("{}/webhooks/{}", ctx.scope.base(), webhook.id),
    )
    .with_grace())
}

async fn rotate(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let grace = match form.get("grace_period_seconds") {
        "" => None,
        raw => Some(webhook_secrets::parse_grace(raw)?),
    };
    let webhook = webhook_secrets::rotate_secret(&state, &ctx.scope, &path, grace).await?;
    Ok(see_other(&format!(
        "{}/webhooks/{}?notice=rotated",
        ctx.scope.base(),
        webhook.id
    )))
}
