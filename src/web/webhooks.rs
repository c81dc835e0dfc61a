//! Automation → Webhooks: list, create, the webhook's page with its tabs, edit, enable and
//! disable, delete, and the signing secret (reveal, rotate).

use super::audit;
use super::deliveries;
use super::forms::Form;
use super::page::{Ctx, Layout, Nav, render, render_status, see_other};
use crate::AppState;
use crate::domain::events::{self, CATALOGUE, EventType};
use crate::domain::webhook::{FieldErrors, ValidWebhook, WebhookInput, validate};
use crate::domain::{ids, secrets, time, url_policy};
use crate::error::AppError;
use crate::store::{self, webhooks::Webhook};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use std::time::Duration;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks", web::get().to(list))
        .route("/webhooks", web::post().to(create))
        .route("/webhooks/new", web::get().to(new_form))
        .route("/webhooks/{id}", web::get().to(overview))
        .route("/webhooks/{id}/deliveries", web::get().to(delivery_log))
        .route("/webhooks/{id}/settings", web::get().to(settings))
        .route("/webhooks/{id}/settings", web::post().to(update))
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

// ---- shared with the JSON API ----

const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The save-time half of the URL policy: resolve the host and check every address.
pub async fn check_target(state: &AppState, url: &url::Url) -> Result<(), String> {
    if state.config.allow_private_targets {
        return Ok(());
    }
    let url = url.clone();
    let lookup = web::block(move || url_policy::resolve(&url, false));
    match actix_web::rt::time::timeout(RESOLVE_TIMEOUT, lookup).await {
        Ok(Ok(Ok(_))) => Ok(()),
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Err(_)) | Err(_) => {
            Err("The host could not be resolved in time; check the spelling.".into())
        }
    }
}

/// Validates input fully (the network check included); errors are per field.
pub async fn validate_fully(
    state: &AppState,
    input: &WebhookInput,
) -> Result<ValidWebhook, FieldErrors> {
    // This server's own test inbox is the one private target always allowed.
    let own_inbox = url_policy::parse(&input.url, true)
        .is_ok_and(|u| url_policy::is_own_inbox(&u, state.local_addr()));
    if own_inbox {
        return validate(input, true);
    }
    let valid = validate(input, state.config.allow_private_targets)?;
    if let Err(message) = check_target(state, &valid.url).await {
        let mut errors = FieldErrors::default();
        errors.add("url", message);
        return Err(errors);
    }
    Ok(valid)
}

pub async fn create_webhook(
    state: &AppState,
    valid: ValidWebhook,
    enabled: bool,
) -> Result<Webhook, AppError> {
    let secret = state.secrets.seal(&secrets::generate());
    crate::db::run(&state.pool, move |conn| {
        let id = ids::new_id("wh");
        conn.immediate_transaction(|conn| {
            store::webhooks::create(
                conn,
                &store::webhooks::NewWebhook {
                    id: &id,
                    url: valid.url.as_str(),
                    description: &valid.description,
                    enabled,
                    events: &valid.events,
                    secret: &secret,
                },
                time::now_ms(),
            )?;
            store::webhooks::get(conn, &id)
        })
        .map_err(AppError::from)
    })
    .await
}

pub async fn load_webhook(state: &AppState, id: &str) -> Result<Webhook, AppError> {
    if !ids::is_id("wh", id) {
        return Err(AppError::NotFound);
    }
    let id = id.to_owned();
    crate::db::run(&state.pool, move |conn| {
        store::webhooks::get(conn, &id).map_err(AppError::from)
    })
    .await
}

pub async fn set_enabled(
    state: &AppState,
    id: &str,
    enabled: bool,
    reason: Option<String>,
) -> Result<(), AppError> {
    let id = id.to_owned();
    crate::db::run(&state.pool, move |conn| {
        conn.immediate_transaction(|conn| {
            store::webhooks::set_enabled(conn, &id, enabled, reason.as_deref(), time::now_ms())
        })
        .map_err(AppError::from)
    })
    .await
}

/// Rotates the secret; the old one keeps verifying for `grace_seconds`.
pub async fn rotate_secret(state: &AppState, id: &str, grace_seconds: i64) -> Result<(), AppError> {
    let id = id.to_owned();
    let sealed = state.secrets.seal(&secrets::generate());
    crate::db::run(&state.pool, move |conn| {
        conn.immediate_transaction(|conn| {
            store::webhooks::get(conn, &id)?;
            store::webhooks::rotate_secret(conn, &id, &sealed, grace_seconds * 1000, time::now_ms())
        })
        .map_err(AppError::from)
    })
    .await
}

// ---- views ----

struct WebhookRow {
    id: String,
    url: String,
    description: String,
    events: Vec<String>,
    enabled: bool,
    created: String,
}

struct WebhookView {
    id: String,
    url: String,
    description: String,
    enabled: bool,
    disabled_reason: Option<String>,
    events: Vec<&'static EventType>,
    created: String,
    updated: String,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        WebhookView {
            events: w.events.iter().filter_map(|e| events::find(e)).collect(),
            created: time::display(w.created_at),
            updated: time::display(w.updated_at),
            id: w.id,
            url: w.url,
            description: w.description,
            enabled: w.enabled,
            disabled_reason: w.disabled_reason,
        }
    }
}

/// What the webhook form shows: what was typed, and what is wrong with it.
struct FormView {
    url: String,
    description: String,
    events: Vec<String>,
    errors: FieldErrors,
}

impl FormView {
    fn has_event(&self, name: &str) -> bool {
        self.events.iter().any(|e| e == name)
    }
    fn from_input(input: WebhookInput, errors: FieldErrors) -> Self {
        FormView {
            url: input.url,
            description: input.description,
            events: input.events,
            errors,
        }
    }
}

fn input_from(form: &Form) -> WebhookInput {
    WebhookInput {
        url: form.get("url").to_owned(),
        description: form.get("description").to_owned(),
        events: form.get_all("events"),
    }
}

struct SecretView {
    webhook_id: String,
    csrf: String,
    masked: String,
    revealed: Option<String>,
    previous_expires: Option<String>,
}

/// Opens a stored signing secret; a wrong master key is a server error, said plainly in the log.
pub fn open_secret(state: &AppState, stored: &str) -> Result<String, AppError> {
    state
        .secrets
        .open(stored)
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))
}

async fn secret_view(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    reveal: bool,
) -> Result<SecretView, AppError> {
    let webhook_id = id.to_owned();
    let (current, previous) = crate::db::run(&state.pool, move |conn| {
        let current = store::webhooks::current_secret(conn, &webhook_id)?;
        let previous = store::webhooks::previous_secret_expiry(conn, &webhook_id, time::now_ms())?;
        Ok::<_, AppError>((current, previous))
    })
    .await?;
    Ok(SecretView {
        webhook_id: id.to_owned(),
        csrf: ctx.csrf.clone(),
        masked: secrets::masked(),
        revealed: if reveal {
            Some(open_secret(state, &current)?)
        } else {
            None
        },
        previous_expires: previous.map(time::display),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Overview,
    Deliveries,
    Settings,
}

#[derive(Template)]
#[template(path = "webhooks/list.html")]
struct ListPage {
    layout: Layout,
    webhooks: Vec<WebhookRow>,
    notice: Option<&'static str>,
    older: Option<String>,
    paged: bool,
}

#[derive(Template)]
#[template(path = "webhooks/new.html")]
struct NewPage {
    layout: Layout,
    form: FormView,
    catalogue: &'static [EventType],
    action: &'static str,
    cancel: &'static str,
}

#[derive(Template)]
#[template(path = "webhooks/show.html")]
struct ShowPage {
    layout: Layout,
    webhook: WebhookView,
    tab: Tab,
    notice: Option<&'static str>,
    secret: Option<SecretView>,
    form: Option<FormView>,
    catalogue: &'static [EventType],
    action: String,
    cancel: String,
    stats: Option<deliveries::Stats>,
    log: Option<deliveries::LogView>,
    test_default: String,
    windows: &'static [(&'static str, &'static str, i64)],
    recovered: Option<String>,
}

#[derive(Template)]
#[template(path = "partials/_secret.html")]
struct SecretPartial {
    secret: SecretView,
}

#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
    pub subject: String,
    pub action: String,
    pub button: &'static str,
    pub cancel: String,
    pub danger: bool,
    pub ask_grace: bool,
    pub grace_choices: &'static [(i64, &'static str)],
}

impl ConfirmPage {
    /// A confirmation page that posts to `action`; not dangerous and asks nothing more by default.
    pub fn new(
        layout: Layout,
        heading: impl Into<String>,
        message: impl Into<String>,
        subject: impl Into<String>,
        action: impl Into<String>,
        button: &'static str,
        cancel: impl Into<String>,
    ) -> ConfirmPage {
        ConfirmPage {
            layout,
            heading: heading.into(),
            message: message.into(),
            subject: subject.into(),
            action: action.into(),
            button,
            cancel: cancel.into(),
            danger: false,
            ask_grace: false,
            grace_choices: &GRACE_CHOICES,
        }
    }

    /// The button is styled as destructive.
    pub fn danger(mut self) -> ConfirmPage {
        self.danger = true;
        self
    }

    /// Also asks how long the current signing secret stays valid.
    pub fn with_grace(mut self) -> ConfirmPage {
        self.ask_grace = true;
        self
    }
}

const GRACE_CHOICES: [(i64, &str); 5] = [
    (0, "No grace period: stop it now"),
    (3600, "1 hour"),
    (86_400, "24 hours"),
    (259_200, "3 days"),
    (604_800, "7 days"),
];

fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "created" => "Webhook created. Deliveries start with the next matching event.",
        "saved" => "Changes saved.",
        "enabled" => "Webhook enabled.",
        "disabled" => "Webhook disabled. It gets no new deliveries until you enable it.",
        "deleted" => "Webhook deleted.",
        "rotated" => "Signing secret rotated. Update your receiver with the new secret.",
        _ => return None,
    })
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

// ---- handlers ----

async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.user()?;
    let before = ids::is_id("wh", &query.before).then(|| query.before.clone());
    let paged = before.is_some();
    let mut rows = crate::db::run(&state.pool, move |conn| {
        store::webhooks::list(conn, before.as_deref(), PAGE_SIZE + 1).map_err(AppError::from)
    })
    .await?;
    let older = super::page::keyset_next(&mut rows, PAGE_SIZE, |w| w.id.clone());
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

async fn new_form(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    render(&NewPage {
        layout: ctx.layout("Create Webhook", Nav::Webhooks),
        form: FormView::from_input(WebhookInput::default(), FieldErrors::default()),
        catalogue: &CATALOGUE,
        action: "/webhooks",
        cancel: "/webhooks",
    })
}

async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let user = ctx.admin()?;
    let input = input_from(&form);
    match validate_fully(&state, &input).await {
        Ok(valid) => {
            let webhook = create_webhook(&state, valid, true).await?;
            tracing::info!(webhook_id = %webhook.id, user_id = user.id, "webhook created");
            audit::by_user(
                &state,
                &ctx,
                "webhook_created",
                Some(&webhook.id),
                Some(&webhook.url),
            )
            .await;
            Ok(see_other(&format!(
                "/webhooks/{}?notice=created",
                webhook.id
            )))
        }
        Err(errors) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NewPage {
                layout: ctx.layout("Create Webhook", Nav::Webhooks),
                form: FormView::from_input(input, errors),
                catalogue: &CATALOGUE,
                action: "/webhooks",
                cancel: "/webhooks",
            },
        ),
    }
}

async fn show_page(
    state: &AppState,
    ctx: &Ctx,
    webhook: Webhook,
    tab: Tab,
    notice: Option<&'static str>,
    form: Option<FormView>,
) -> Result<ShowPage, AppError> {
    let secret = if ctx.user()?.is_admin() && tab != Tab::Deliveries {
        Some(secret_view(state, ctx, &webhook.id, false).await?)
    } else {
        None
    };
    let stats = match tab {
        Tab::Overview => Some(deliveries::stats(state, &webhook.id).await?),
        _ => None,
    };
    Ok(ShowPage {
        stats,
        log: None,
        test_default: webhook.events.first().cloned().unwrap_or_default(),
        windows: &deliveries::WINDOWS,
        recovered: None,
        layout: ctx.layout(webhook.url.clone(), Nav::Webhooks),
        action: format!("/webhooks/{}/settings", webhook.id),
        cancel: format!("/webhooks/{}", webhook.id),
        webhook: webhook.into(),
        tab,
        notice,
        secret,
        form,
        catalogue: &CATALOGUE,
    })
}

async fn overview(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let webhook = load_webhook(&state, &path).await?;
    let mut page = show_page(
        &state,
        &ctx,
        webhook,
        Tab::Overview,
        notice_text(&query.notice),
        None,
    )
    .await?;
    if let (Some(r), Some(m)) = (query.recovered, query.missed) {
        page.recovered = Some(format!(
            "Webhook enabled. {r} failed deliveries were queued again and {m} missed events queued for delivery."
        ));
    }
    render(&page)
}

async fn delivery_log(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    let webhook = load_webhook(&state, &path).await?;
    let filters = deliveries::Filters::parse(req.query_string(), Some(&webhook.id));
    let base = format!("/webhooks/{}/deliveries", webhook.id);
    let log = deliveries::log_view(&state, filters, base, false).await?;
    let status = if log.filters.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut page = show_page(&state, &ctx, webhook, Tab::Deliveries, None, None).await?;
    page.log = Some(log);
    render_status(status, &page)
}

/// What "recover" would deliver: failed deliveries since the trouble began, and events of
/// subscribed types published while the webhook was disabled.
async fn recovery(
    state: &AppState,
    webhook: &Webhook,
) -> Result<(Vec<String>, Vec<(String, String)>), AppError> {
    let disabled_at = webhook.disabled_at.unwrap_or_else(time::now_ms);
    let trouble_from = webhook
        .failing_since
        .map_or(disabled_at, |f| f.min(disabled_at));
    let (id, types) = (webhook.id.clone(), webhook.events.clone());
    crate::db::run(&state.pool, move |conn| {
        let failed = store::deliveries::failed_after(conn, &id, trouble_from)?;
        let missed = store::deliveries::missed_events(conn, &id, &types, disabled_at)?;
        Ok::<_, AppError>((failed, missed))
    })
    .await
}

async fn recover_confirm(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let webhook = load_webhook(&state, &path).await?;
    let (failed, missed) = recovery(&state, &webhook).await?;
    render(&ConfirmPage::new(
        ctx.layout("Enable and recover", Nav::Webhooks),
        "Enable this webhook and recover what it missed?",
        format!(
            "{} deliveries that failed and {} events published while it was disabled will be delivered, as well as new events from now on.",
            failed.len(),
            missed.len()
        ),
        webhook.url,
        format!("/webhooks/{}/recover", webhook.id),
        "Enable and recover",
        format!("/webhooks/{}", webhook.id),
    ))
}

async fn recover(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.admin()?;
    let webhook = load_webhook(&state, &path).await?;
    let (failed, missed) = recovery(&state, &webhook).await?;
    let (id, write_lock) = (webhook.id.clone(), state.write_lock.clone());
    let (requeued, created) = crate::db::run(&state.pool, move |conn| {
        crate::db::immediate(conn, &write_lock, |conn| {
            let now = time::now_ms();
            store::webhooks::set_enabled(conn, &id, true, None, now)?;
            let requeued = store::deliveries::requeue(conn, &failed, now)?;
            let rows: Vec<store::deliveries::NewDelivery> = missed
                .iter()
                .map(|(event_id, event_type)| store::deliveries::NewDelivery {
                    id: ids::new_id("dlv"),
                    event_id,
                    webhook_id: &id,
                    event_type,
                    is_test: false,
                })
                .collect();
            store::deliveries::insert_many(conn, &rows, now)?;
            Ok((requeued, rows.len()))
        })
        .map_err(AppError::from)
    })
    .await?;
    state.wakeup.notify_one();
    tracing::info!(webhook_id = %webhook.id, user_id = user.id, requeued, missed = created, "webhook enabled with recovery");
    let detail =
        format!("{requeued} failed deliveries queued again, {created} missed events queued");
    audit::by_user(
        &state,
        &ctx,
        "webhook_recovered",
        Some(&webhook.id),
        Some(&detail),
    )
    .await;
    Ok(see_other(&format!(
        "/webhooks/{}?recovered={requeued}&missed={created}",
        webhook.id
    )))
}

fn form_of(webhook: &Webhook) -> FormView {
    FormView {
        url: webhook.url.clone(),
        description: webhook.description.clone(),
        events: webhook.events.clone(),
        errors: FieldErrors::default(),
    }
}

async fn settings(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let webhook = load_webhook(&state, &path).await?;
    let form = form_of(&webhook);
    render(
        &show_page(
            &state,
            &ctx,
            webhook,
            Tab::Settings,
            notice_text(&query.notice),
            Some(form),
        )
        .await?,
    )
}

async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let user = ctx.admin()?;
    let webhook = load_webhook(&state, &path).await?;
    let input = input_from(&form);
    match validate_fully(&state, &input).await {
        Ok(valid) => {
            let id = webhook.id.clone();
            crate::db::run(&state.pool, move |conn| {
                conn.immediate_transaction(|conn| {
                    store::webhooks::update(
                        conn,
                        &id,
                        valid.url.as_str(),
                        &valid.description,
                        &valid.events,
                        time::now_ms(),
                    )
                })
                .map_err(AppError::from)
            })
            .await?;
            tracing::info!(webhook_id = %webhook.id, user_id = user.id, "webhook updated");
            audit::by_user(&state, &ctx, "webhook_updated", Some(&webhook.id), None).await;
            Ok(see_other(&format!(
                "/webhooks/{}/settings?notice=saved",
                webhook.id
            )))
        }
        Err(errors) => {
            let form = FormView::from_input(input, errors);
            let page = show_page(&state, &ctx, webhook, Tab::Settings, None, Some(form)).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

async fn enable(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    switch(&state, &ctx, &path, true).await
}

async fn disable(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    switch(&state, &ctx, &path, false).await
}

/// Enable or disable from the browser; disabling records who did it as the reason.
async fn switch(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    enabled: bool,
) -> Result<HttpResponse, AppError> {
    let user = ctx.admin()?;
    let webhook = load_webhook(state, id).await?;
    let reason = (!enabled).then(|| format!("disabled by {}", user.email));
    set_enabled(state, &webhook.id, enabled, reason).await?;
    let (action, notice) = if enabled {
        ("webhook_enabled", "enabled")
    } else {
        ("webhook_disabled", "disabled")
    };
    audit::by_user(state, ctx, action, Some(&webhook.id), None).await;
    Ok(see_other(&format!(
        "/webhooks/{}?notice={notice}",
        webhook.id
    )))
}

async fn delete_confirm(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let webhook = load_webhook(&state, &path).await?;
    render(&ConfirmPage::new(
        ctx.layout("Delete webhook", Nav::Webhooks),
        "Delete this webhook?",
        "Its endpoint stops receiving events at once, and its signing secret is destroyed. This cannot be undone.",
        webhook.url,
        format!("/webhooks/{}/delete", webhook.id),
        "Delete webhook",
        format!("/webhooks/{}/settings", webhook.id),
    )
    .danger())
}

async fn delete(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.admin()?;
    let webhook = load_webhook(&state, &path).await?;
    let id = webhook.id.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.immediate_transaction(|conn| store::webhooks::delete(conn, &id))
            .map_err(AppError::from)
    })
    .await?;
    tracing::info!(webhook_id = %webhook.id, user_id = user.id, "webhook deleted");
    audit::by_user(
        &state,
        &ctx,
        "webhook_deleted",
        Some(&webhook.id),
        Some(&webhook.url),
    )
    .await;
    Ok(see_other("/webhooks?notice=deleted"))
}

async fn reveal_secret(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.admin()?;
    let webhook = load_webhook(&state, &path).await?;
    tracing::info!(webhook_id = %webhook.id, user_id = user.id, "signing secret revealed");
    audit::by_user(&state, &ctx, "secret_revealed", Some(&webhook.id), None).await;
    let secret = secret_view(&state, &ctx, &webhook.id, true).await?;
    if ctx.is_htmx {
        return render(&SecretPartial { secret });
    }
    let mut page = show_page(&state, &ctx, webhook, Tab::Overview, None, None).await?;
    page.secret = Some(secret);
    render(&page)
}

async fn rotate_confirm(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let webhook = load_webhook(&state, &path).await?;
    render(&ConfirmPage::new(
        ctx.layout("Rotate signing secret", Nav::Webhooks),
        "Rotate the signing secret?",
        "A new secret is made and used for every delivery from now on. Your receiver must be updated to the new secret.",
        webhook.url,
        format!("/webhooks/{}/rotate-secret", webhook.id),
        "Rotate secret",
        format!("/webhooks/{}", webhook.id),
    )
    .with_grace())
}

/// Parses a grace period in seconds: 0 up to seven days.
pub fn parse_grace(raw: &str) -> Result<i64, String> {
    let message = || {
        format!(
            "Choose a grace period between 0 and {} seconds.",
            secrets::MAX_GRACE_SECONDS
        )
    };
    let n: i64 = raw.trim().parse().map_err(|_| message())?;
    if (0..=secrets::MAX_GRACE_SECONDS).contains(&n) {
        Ok(n)
    } else {
        Err(message())
    }
}

async fn rotate(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let user = ctx.admin()?;
    let webhook = load_webhook(&state, &path).await?;
    let grace = match form.get("grace_period_seconds") {
        "" => secrets::DEFAULT_GRACE_SECONDS,
        raw => parse_grace(raw).map_err(|m| AppError::validation("grace_period_seconds", m))?,
    };
    rotate_secret(&state, &webhook.id, grace).await?;
    tracing::info!(webhook_id = %webhook.id, user_id = user.id, grace_seconds = grace, "signing secret rotated");
    audit::by_user(
        &state,
        &ctx,
        "secret_rotated",
        Some(&webhook.id),
        Some(&format!("grace {grace} s")),
    )
    .await;
    Ok(see_other(&format!(
        "/webhooks/{}?notice=rotated",
        webhook.id
    )))
}
