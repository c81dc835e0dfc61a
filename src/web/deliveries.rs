//! The Delivery Log (a tab on each webhook and a page of its own), a delivery's detail with
//! every attempt, and Resend. The rules live in `app::deliveries` and `app::manual`.

use super::confirm::ConfirmPage;
use super::forms::Form;
use super::page::{IdPath, Layout, Nav, WsCtx, render, render_status, see_other};
use crate::app::{self, deliveries::LogQuery};
use crate::domain::{events, hints, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::deliveries::{self as store, Delivery};
use crate::store::delivery_log::LogRow;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/deliveries", web::get().to(global_log))
        .route("/deliveries/{id}", web::get().to(detail))
        .route("/deliveries/{id}/row", web::get().to(row))
        .route("/deliveries/{id}/resend", web::get().to(resend_confirm))
        .route("/deliveries/{id}/resend", web::post().to(resend));
}

pub const PAGE_SIZE: i64 = 50;

// ---- rows ----

pub struct RowView {
    pub id: String,
    pub webhook_id: String,
    pub webhook_url: String,
    pub time: String,
    pub event_type: String,
    pub event_id: String,
    pub status: String,
    pub next_attempt: Option<String>,
    pub code: Option<i32>,
    pub attempts: i32,
    pub duration: Option<String>,
    pub is_test: bool,
    /// Still able to change: the row asks for itself again until it is final.
    pub live: bool,
    /// The base of the workspace's pages, for the row's links.
    pub ws: String,
}

impl RowView {
    pub fn new(ws: &str, d: Delivery, webhook_url: String) -> RowView {
        let status = d.shown_status(time::now_ms()).to_owned();
        let live = status == store::PENDING || status == store::SENDING;
        RowView {
            time: time::display_seconds(d.created_at),
            next_attempt: (status == store::PENDING)
                .then(|| d.next_attempt_at.map(time::display_seconds))
                .flatten(),
            code: d.last_status_code,
            attempts: d.attempt_count,
            duration: d.last_duration_ms.map(|ms| format!("{ms} ms")),
            is_test: d.is_test,
            live,
            id: d.id,
            webhook_id: d.webhook_id,
            webhook_url,
            event_type: d.event_type,
            event_id: d.event_id,
            status,
            ws: ws.to_owned(),
        }
    }
}

#[derive(Template)]
#[template(path = "deliveries/_row.html")]
struct RowPartial {
    d: RowView,
    show_webhook: bool,
}

/// The table and its pager, as the tab and the global page show it.
pub struct LogView {
    pub rows: Vec<RowView>,
    pub filters: LogQuery,
    pub next: Option<String>,
    pub paged: bool,
    pub show_webhook: bool,
    pub base: String,
    pub webhooks: Vec<(String, String)>,
    pub statuses: &'static [&'static str],
    pub classes: &'static [(&'static str, i32)],
    pub catalogue: &'static [events::EventType],
}

impl LogView {
    pub fn next_link(&self) -> Option<String> {
        let next = self.next.as_ref()?;
        let q = self.filters.query();
        Some(if q.is_empty() {
            format!("{}?before={next}", self.base)
        } else {
            format!("{}?{q}&before={next}", self.base)
        })
    }
    pub fn first_link(&self) -> String {
        let q = self.filters.query();
        if q.is_empty() {
            self.base.clone()
        } else {
            format!("{}?{q}", self.base)
        }
    }
}

/// Loads one page of the log under `filters` (the webhook list too, for the global page's filter).
pub async fn log_view(
    state: &AppState,
    scope: &app::scope::Scope,
    filters: LogQuery,
    base: String,
    show_webhook: bool,
) -> Result<LogView, AppError> {
    let paged = filters.filter.before.is_some();
    // What was understood applies; what was not is said next to its field.
    let (rows, next) =
        app::deliveries::log_page(state, scope, filters.filter.clone(), PAGE_SIZE).await?;
    let webhooks = if show_webhook {
        let (all, _) = app::webhooks::list(state, scope, None, 500).await?;
        all.into_iter().map(|w| (w.id, w.url)).collect()
    } else {
        Vec::new()
    };
    Ok(LogView {
        rows: rows
            .into_iter()
            .map(
                |LogRow {
                     delivery,
                     webhook_url,
                 }| RowView::new(&scope.base(), delivery, webhook_url),
            )
            .collect(),
        filters,
        next,
        paged,
        show_webhook,
        base,
        webhooks,
        statuses: &app::deliveries::STATUSES,
        classes: &app::deliveries::CLASSES,
        catalogue: scope.catalogue(),
    })
}

/// 400 when a filter was not understood (each said next to its field), else 200.
pub fn log_status(log: &LogView) -> StatusCode {
    if log.filters.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    }
}

#[derive(Template)]
#[template(path = "deliveries/log.html")]
struct GlobalLogPage {
    layout: Layout,
    log: LogView,
}

async fn global_log(
    state: web::Data<AppState>,
    ctx: WsCtx,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let params = Form::parse(req.query_string().as_bytes());
    let filters = LogQuery::parse(&params, app::deliveries::PAGE_NAMES, None);
    let log = log_view(&state, &ctx.scope, filters, ctx.link("/deliveries"), true).await?;
    render_status(
        log_status(&log),
        &GlobalLogPage {
            layout: ctx.layout("Delivery Log", Nav::Deliveries),
            log,
        },
    )
}

async fn row(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (d, url) = app::deliveries::get(&state, &ctx.scope, &path).await?;
    let show_webhook = Form::parse(req.query_string().as_bytes()).get("global") == "1";
    render(&RowPartial {
        d: RowView::new(&ctx.scope.base(), d, url),
        show_webhook,
    })
}

// ---- detail ----

pub struct AttemptView {
    pub number: usize,
    pub at: String,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error_class: Option<String>,
    pub error: Option<String>,
    pub hint: Option<String>,
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub truncated: bool,
    pub trigger: String,
    pub triggered_by: Option<String>,
}

fn header_pairs(json: Option<&str>) -> Vec<(String, String)> {
    json.and_then(|j| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(j).ok())
        .map(|m| {
            m.into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "deliveries/detail.html")]
struct DetailPage {
    layout: Layout,
    d: RowView,
    payload: String,
    attempts: Vec<AttemptView>,
    notice: Option<String>,
    can_resend: bool,
}

async fn detail(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let notice = match Form::parse(req.query_string().as_bytes()).get("notice") {
        "resent-ok" => Some("Resent: the endpoint acknowledged it.".to_owned()),
        "resent-failed" => {
            Some("Resent, but the attempt failed: see the newest attempt below.".to_owned())
        }
        _ => None,
    };
    let app::deliveries::Detail {
        delivery: d,
        webhook_url,
        payload: body,
        attempts,
    } = app::deliveries::detail(&state, &ctx.scope, &path).await?;
    let payload = serde_json::from_slice::<serde_json::Value>(&body)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
    let timeout = crate::delivery::send::human(state.config.request_timeout);
    let attempts = attempts
        .into_iter()
        .enumerate()
        .rev()
        .map(|(i, a)| AttemptView {
            number: i + 1,
            at: time::display_seconds(a.attempted_at),
            duration_ms: a.duration_ms,
            hint: hints::hint(
                a.error_class.as_deref(),
                a.status_code,
                a.error.as_deref(),
                &timeout,
            ),
            status_code: a.status_code,
            error_class: a.error_class,
            error: a.error,
            request_headers: header_pairs(Some(&a.request_headers)),
            response_headers: header_pairs(a.response_headers.as_deref()),
            response_body: a
                .response_body
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
            truncated: a.response_truncated,
            trigger: a.trigger,
            triggered_by: a.triggered_by,
        })
        .collect();
    render(&DetailPage {
        layout: ctx.layout(format!("Delivery {}", d.id), Nav::Deliveries),
        can_resend: d.shown_status(time::now_ms()) != store::SENDING,
        d: RowView::new(&ctx.scope.base(), d, webhook_url),
        payload,
        attempts,
        notice,
    })
}

async fn resend_confirm(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let (d, url) = app::deliveries::get(&state, &ctx.scope, &path).await?;
    let ordered = app::webhooks::get(&state, &ctx.scope, &d.webhook_id)
        .await?
        .ordered;
    let order = if ordered {
        " This webhook delivers in order: a resend goes out now, out of order, whatever waits in its queue."
    } else {
        ""
    };
    render(&ConfirmPage::new(
        ctx.layout("Resend delivery", Nav::Deliveries),
        "Resend this delivery now?",
        format!(
            "The {} event {} is sent to this endpoint once more, with the same body and delivery id. Its retry schedule stays as it is.{order}",
            d.event_type, d.event_id
        ),
        url,
        format!("{}/deliveries/{}/resend", ctx.scope.base(), d.id),
        "Resend",
        format!("{}/deliveries/{}", ctx.scope.base(), d.id),
    ))
}

async fn resend(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
) -> Result<HttpResponse, AppError> {
    let result = app::manual::resend(&state, &ctx.scope, &path).await?;
    let notice = if result.success {
        "resent-ok"
    } else {
        "resent-failed"
    };
    Ok(see_other(&format!(
        "{}/deliveries/{}?notice={notice}",
        ctx.scope.base(),
        result.delivery_id
    )))
}
