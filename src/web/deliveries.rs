//! The Delivery Log (a tab on each webhook and a page of its own), a delivery's detail with
//! every attempt, Resend, Send Test, "Retry failed" and the overview's numbers.

use super::audit;
use super::forms::Form;
use super::page::{Ctx, Layout, Nav, render, render_status, see_other};
use super::webhooks::{ConfirmPage, load_webhook};
use crate::AppState;
use crate::delivery::manual;
use crate::domain::{events, hints, ids, time};
use crate::error::AppError;
use crate::store::deliveries::{self as store, Delivery, LogFilter, LogRow};
use crate::store::{self as stores};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/deliveries", web::get().to(global_log))
        .route("/deliveries/{id}", web::get().to(detail))
        .route("/deliveries/{id}/row", web::get().to(row))
        .route("/deliveries/{id}/resend", web::get().to(resend_confirm))
        .route("/deliveries/{id}/resend", web::post().to(resend))
        .route("/webhooks/{id}/test", web::post().to(send_test))
        .route("/webhooks/{id}/retry-failed", web::get().to(retry_confirm))
        .route("/webhooks/{id}/retry-failed", web::post().to(retry_failed))
        .route(
            "/webhooks/{id}/retries/{bulk}",
            web::get().to(retry_progress),
        );
}

pub const PAGE_SIZE: i64 = 50;

// ---- filters ----

pub const STATUSES: [&str; 4] = ["pending", "sending", "succeeded", "failed"];
pub const CLASSES: [(&str, i32); 5] = [("2xx", 2), ("3xx", 3), ("4xx", 4), ("5xx", 5), ("none", 0)];

/// The filters as typed (kept for the form) and as understood, with what was not understood.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub status: String,
    pub event_type: String,
    pub webhook: String,
    pub class: String,
    pub from: String,
    pub to: String,
    pub q: String,
    pub errors: Vec<(&'static str, String)>,
    pub filter: LogFilter,
}

impl Filters {
    /// Reads the query string; values that mean nothing are reported, not applied.
    pub fn parse(query: &str, webhook_id: Option<&str>) -> Filters {
        let form = Form::parse(query.as_bytes());
        let mut f = Filters {
            status: form.get("status").trim().to_owned(),
            event_type: form.get("event_type").trim().to_owned(),
            webhook: form.get("webhook").trim().to_owned(),
            class: form.get("class").trim().to_owned(),
            from: form.get("from").trim().to_owned(),
            to: form.get("to").trim().to_owned(),
            q: form.get("q").trim().to_owned(),
            ..Filters::default()
        };
        let mut filter = LogFilter {
            webhook_id: webhook_id.map(str::to_owned),
            ..LogFilter::default()
        };
        if !f.status.is_empty() {
            match STATUSES.contains(&f.status.as_str()) {
                true => filter.status = Some(f.status.clone()),
                false => f
                    .errors
                    .push(("status", "Choose a status from the list.".into())),
            }
        }
        if !f.event_type.is_empty() {
            match events::is_known(&f.event_type) {
                true => filter.event_type = Some(f.event_type.clone()),
                false => f
                    .errors
                    .push(("event_type", "Choose an event type from the list.".into())),
            }
        }
        if webhook_id.is_none() && !f.webhook.is_empty() {
            match ids::is_id("wh", &f.webhook) {
                true => filter.webhook_id = Some(f.webhook.clone()),
                false => f
                    .errors
                    .push(("webhook", "Choose a webhook from the list.".into())),
            }
        }
        if !f.class.is_empty() {
            match CLASSES.iter().find(|(name, _)| *name == f.class) {
                Some((_, c)) => filter.status_class = Some(*c),
                None => f
                    .errors
                    .push(("class", "Choose a response class from the list.".into())),
            }
        }
        for (field, raw, slot) in [
            ("from", &f.from, &mut filter.id_from),
            ("to", &f.to, &mut filter.id_to),
        ] {
            if raw.is_empty() {
                continue;
            }
            match time::parse_utc(raw) {
                Some(ms) => *slot = Some(ids::id_floor("dlv", ms)),
                None => f.errors.push((
                    field,
                    "Enter a date and time such as 2026-11-27T20:00 (UTC).".into(),
                )),
            }
        }
        if !f.q.is_empty() {
            let ok = f.q.len() <= 100
                && f.q
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
            match ok {
                true => filter.search = Some(f.q.clone()),
                false => f.errors.push((
                    "q",
                    "Search by a delivery id (dlv_…) or an event id.".into(),
                )),
            }
        }
        let before = form.get("before");
        if ids::is_id("dlv", before) {
            filter.before = Some(before.to_owned());
        }
        f.filter = filter;
        f
    }

    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// The query string of these filters (without the cursor), for links.
    pub fn query(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &self.status),
            ("event_type", &self.event_type),
            ("webhook", &self.webhook),
            ("class", &self.class),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.finish()
    }

    pub fn any(&self) -> bool {
        !self.query().is_empty()
    }
}

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
}

impl RowView {
    pub fn new(d: Delivery, webhook_url: String) -> RowView {
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
    pub filters: Filters,
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

/// Loads one page of the log under `filters`.
pub async fn log_view(
    state: &AppState,
    filters: Filters,
    base: String,
    show_webhook: bool,
) -> Result<LogView, AppError> {
    let filter = filters.filter.clone();
    let paged = filter.before.is_some();
    let _turn = state.list_queries.turn().await?;
    let (mut rows, webhooks) = crate::db::run(&state.pool, move |conn| {
        let rows = store::log_page(conn, &filter, PAGE_SIZE + 1)?;
        let webhooks = if show_webhook {
            stores::webhooks::list(conn, None, 500)?
                .into_iter()
                .map(|w| (w.id, w.url))
                .collect()
        } else {
            Vec::new()
        };
        Ok::<_, AppError>((rows, webhooks))
    })
    .await?;
    let next = super::page::keyset_next(&mut rows, PAGE_SIZE, |r| r.delivery.id.clone());
    Ok(LogView {
        rows: rows
            .into_iter()
            .map(
                |LogRow {
                     delivery,
                     webhook_url,
                 }| RowView::new(delivery, webhook_url),
            )
            .collect(),
        filters,
        next,
        paged,
        show_webhook,
        base,
        webhooks,
        statuses: &STATUSES,
        classes: &CLASSES,
        catalogue: &events::CATALOGUE,
    })
}

#[derive(Template)]
#[template(path = "deliveries/log.html")]
struct GlobalLogPage {
    layout: Layout,
    log: LogView,
}

async fn global_log(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    ctx.user()?;
    let filters = Filters::parse(req.query_string(), None);
    let log = log_view(&state, filters, "/deliveries".into(), true).await?;
    let status = if log.filters.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render_status(
        status,
        &GlobalLogPage {
            layout: ctx.layout("Delivery Log", Nav::Deliveries),
            log,
        },
    )
}

async fn load(state: &AppState, id: &str) -> Result<(Delivery, String), AppError> {
    if !ids::is_id("dlv", id) {
        return Err(AppError::NotFound);
    }
    let id = id.to_owned();
    crate::db::run(&state.pool, move |conn| {
        let d = store::get(conn, &id)?;
        let url = stores::webhooks::get(conn, &d.webhook_id)?.url;
        Ok::<_, AppError>((d, url))
    })
    .await
}

async fn row(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    ctx.user()?;
    let (d, url) = load(&state, &path).await?;
    let show_webhook = Form::parse(req.query_string().as_bytes()).get("global") == "1";
    render(&RowPartial {
        d: RowView::new(d, url),
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

async fn detail_page(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    notice: Option<String>,
) -> Result<DetailPage, AppError> {
    let (d, url) = load(state, id).await?;
    let (event_id, delivery_id) = (d.event_id.clone(), d.id.clone());
    let (body, attempts) = crate::db::run(&state.pool, move |conn| {
        Ok::<_, AppError>((
            stores::events::body(conn, &event_id)?,
            store::attempts_of(conn, &delivery_id)?,
        ))
    })
    .await?;
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
    Ok(DetailPage {
        layout: ctx.layout(format!("Delivery {}", d.id), Nav::Deliveries),
        can_resend: d.shown_status(time::now_ms()) != store::SENDING,
        d: RowView::new(d, url),
        payload,
        attempts,
        notice,
    })
}

async fn detail(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    ctx.user()?;
    let notice = match Form::parse(req.query_string().as_bytes()).get("notice") {
        "resent-ok" => Some("Resent: the endpoint acknowledged it.".to_owned()),
        "resent-failed" => {
            Some("Resent, but the attempt failed: see the newest attempt below.".to_owned())
        }
        _ => None,
    };
    render(&detail_page(&state, &ctx, &path, notice).await?)
}

fn who(ctx: &Ctx) -> String {
    ctx.user
        .as_ref()
        .map(|u| u.email.clone())
        .unwrap_or_default()
}

async fn resend_confirm(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.user()?;
    let (d, url) = load(&state, &path).await?;
    render(&ConfirmPage::new(
        ctx.layout("Resend delivery", Nav::Deliveries),
        "Resend this delivery now?",
        format!(
            "The {} event {} is sent to this endpoint once more, with the same body and delivery id. Its retry schedule stays as it is.",
            d.event_type, d.event_id
        ),
        url,
        format!("/deliveries/{}/resend", d.id),
        "Resend",
        format!("/deliveries/{}", d.id),
    ))
}

async fn resend(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.user()?;
    let (d, _) = load(&state, &path).await?;
    let result = manual::resend(&state, &d.id, &who(&ctx)).await?;
    audit::by_user(&state, &ctx, "delivery_resent", Some(&d.id), None).await;
    let notice = if result.success {
        "resent-ok"
    } else {
        "resent-failed"
    };
    Ok(see_other(&format!("/deliveries/{}?notice={notice}", d.id)))
}

// ---- Send Test ----

pub struct TestResultView {
    pub success: bool,
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    pub excerpt: String,
    pub error: Option<String>,
    pub hint: Option<String>,
    pub delivery_id: String,
    pub event_type: String,
}

#[derive(Template)]
#[template(path = "partials/_test_result.html")]
struct TestResultPartial {
    r: TestResultView,
}

#[derive(Template)]
#[template(path = "partials/_test_busy.html")]
struct TestBusyPartial {
    message: String,
}

pub fn test_result_view(state: &AppState, r: manual::Result, event_type: &str) -> TestResultView {
    let timeout = crate::delivery::send::human(state.config.request_timeout);
    TestResultView {
        hint: hints::hint(
            r.error_class,
            r.status_code.map(i32::from),
            r.error.as_deref(),
            &timeout,
        ),
        success: r.success,
        status_code: r.status_code,
        duration_ms: r.duration_ms,
        excerpt: r.response_excerpt.chars().take(500).collect(),
        error: r.error,
        delivery_id: r.delivery_id,
        event_type: event_type.to_owned(),
    }
}

async fn send_test(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse, AppError> {
    ctx.user()?;
    let webhook = load_webhook(&state, &path).await?;
    let event_type = match form.get("event_type") {
        "" => webhook
            .events
            .first()
            .map(String::as_str)
            .unwrap_or("message.received"),
        t => t,
    }
    .to_owned();
    if !events::is_known(&event_type) {
        return Err(AppError::validation(
            "event_type",
            "Choose an event type from the list.",
        ));
    }
    let result = match manual::send_test(&state, &webhook.id, &event_type, &who(&ctx)).await {
        // Said in place, like any other result, instead of an error htmx would not show.
        Err(AppError::Busy {
            message,
            retry_after_secs,
        }) if ctx.is_htmx => {
            let mut res = render(&TestBusyPartial { message })?;
            res.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                retry_after_secs.into(),
            );
            return Ok(res);
        }
        r => r?,
    };
    audit::by_user(
        &state,
        &ctx,
        "test_sent",
        Some(&webhook.id),
        Some(&event_type),
    )
    .await;
    let view = test_result_view(&state, result, &event_type);
    if ctx.is_htmx {
        return render(&TestResultPartial { r: view });
    }
    Ok(see_other(&format!("/deliveries/{}", view.delivery_id)))
}

// ---- Retry failed ----

pub const WINDOWS: [(&str, &str, i64); 4] = [
    ("1h", "the last hour", 3600),
    ("24h", "the last 24 hours", 86_400),
    ("7d", "the last 7 days", 7 * 86_400),
    ("30d", "the last 30 days", 30 * 86_400),
];

fn window(form: &Form) -> Result<(&'static str, &'static str, i64), AppError> {
    let w = form.get("window");
    WINDOWS
        .iter()
        .find(|(k, _, _)| *k == if w.is_empty() { "24h" } else { w })
        .copied()
        .ok_or_else(|| AppError::validation("window", "Choose a time window from the list."))
}

async fn failed_in(state: &AppState, webhook_id: &str, secs: i64) -> Result<Vec<String>, AppError> {
    let (id, from) = (
        webhook_id.to_owned(),
        ids::id_floor("dlv", time::now_ms() - secs * 1000),
    );
    crate::db::run(&state.pool, move |conn| {
        store::failed_since(conn, &id, &from).map_err(AppError::from)
    })
    .await
}

async fn retry_confirm(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    ctx.user()?;
    let webhook = load_webhook(&state, &path).await?;
    let (key, label, secs) = window(&Form::parse(req.query_string().as_bytes()))?;
    let n = failed_in(&state, &webhook.id, secs).await?.len();
    render(&ConfirmPage::new(
        ctx.layout("Retry failed deliveries", Nav::Webhooks),
        format!("Retry {n} failed deliveries?"),
        format!(
            "{n} deliveries to this endpoint failed in {label}. Each is queued for one more attempt now{}.",
            if webhook.enabled {
                ""
            } else {
                ", which starts when the webhook is enabled"
            }
        ),
        webhook.url,
        format!("/webhooks/{}/retry-failed?window={key}", webhook.id),
        "Retry failed",
        format!("/webhooks/{}/deliveries", webhook.id),
    ))
}

async fn retry_failed(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    ctx.user()?;
    let webhook = load_webhook(&state, &path).await?;
    let (_, _, secs) = window(&Form::parse(req.query_string().as_bytes()))?;
    let ids_to_retry = failed_in(&state, &webhook.id, secs).await?;
    let n = ids_to_retry.len();
    let bulk_id = ids::new_id("rty");
    let (webhook_id, bulk, by, write_lock) = (
        webhook.id.clone(),
        bulk_id.clone(),
        who(&ctx),
        state.write_lock.clone(),
    );
    crate::db::run(&state.pool, move |conn| {
        crate::db::immediate(conn, &write_lock, |conn| {
            let now = time::now_ms();
            store::create_bulk_retry(conn, &bulk, &webhook_id, &ids_to_retry, &by, now)?;
            store::requeue(conn, &ids_to_retry, now)
        })
        .map_err(AppError::from)
    })
    .await?;
    state.wakeup.notify_one();
    tracing::info!(webhook_id = %webhook.id, bulk_id = %bulk_id, "failed deliveries queued again");
    audit::by_user(
        &state,
        &ctx,
        "retry_failed",
        Some(&webhook.id),
        Some(&format!("{n} deliveries")),
    )
    .await;
    Ok(see_other(&format!(
        "/webhooks/{}/retries/{bulk_id}",
        webhook.id
    )))
}

#[derive(Template)]
#[template(path = "deliveries/retry.html")]
struct RetryPage {
    layout: Layout,
    webhook_id: String,
    webhook_url: String,
    bulk_id: String,
    total: i32,
    succeeded: usize,
    failed: usize,
    waiting: usize,
    done: bool,
    created: String,
    created_by: String,
}

#[derive(Template)]
#[template(path = "deliveries/_retry_progress.html")]
struct RetryPartial {
    webhook_id: String,
    bulk_id: String,
    total: i32,
    succeeded: usize,
    failed: usize,
    waiting: usize,
    done: bool,
}

async fn retry_progress(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    ctx.user()?;
    let (webhook_id, bulk_id) = path.into_inner();
    let webhook = load_webhook(&state, &webhook_id).await?;
    if !ids::is_id("rty", &bulk_id) {
        return Err(AppError::NotFound);
    }
    let bulk = bulk_id.clone();
    let store::BulkRetry {
        webhook_id: owner,
        total,
        created_at,
        created_by,
        statuses,
    } = crate::db::run(&state.pool, move |conn| {
        store::bulk_retry(conn, &bulk).map_err(AppError::from)
    })
    .await?;
    if owner != webhook.id {
        return Err(AppError::NotFound);
    }
    let count = |s: &str| statuses.iter().filter(|x| *x == s).count();
    let (succeeded, failed) = (count(store::SUCCEEDED), count(store::FAILED));
    let waiting = statuses.len() - succeeded - failed;
    let done = waiting == 0;
    if ctx.is_htmx {
        return render(&RetryPartial {
            webhook_id: webhook.id,
            bulk_id,
            total,
            succeeded,
            failed,
            waiting,
            done,
        });
    }
    render(&RetryPage {
        layout: ctx.layout("Retry failed", Nav::Webhooks),
        webhook_id: webhook.id,
        webhook_url: webhook.url,
        bulk_id,
        total,
        succeeded,
        failed,
        waiting,
        done,
        created: time::display_seconds(created_at),
        created_by,
    })
}

// ---- the overview's numbers ----

pub struct Bar {
    pub x: u32,
    pub label: String,
    pub ok_y: u32,
    pub ok_h: u32,
    pub fail_y: u32,
    pub fail_h: u32,
    pub other_y: u32,
    pub other_h: u32,
    pub title: String,
}

pub struct Stats {
    pub bars: Vec<Bar>,
    pub total: usize,
    pub success_rate: Option<String>,
    pub p95: Option<String>,
    pub last_error: Option<(String, String)>,
}

pub const CHART_HEIGHT: u32 = 120;

/// Deliveries per hour over the last 24 hours by outcome, success rate, p95 duration, last error.
pub async fn stats(state: &AppState, webhook_id: &str) -> Result<Stats, AppError> {
    let now = time::now_ms();
    let hour = 3_600_000;
    let start = (now / hour - 23) * hour;
    let (id, from) = (webhook_id.to_owned(), ids::id_floor("dlv", start));
    let (rows, last) = crate::db::run(&state.pool, move |conn| {
        Ok::<_, AppError>((
            store::recent_of(conn, &id, &from)?,
            store::last_error(conn, &id)?,
        ))
    })
    .await?;
    let mut buckets = [[0u32; 3]; 24];
    let mut durations: Vec<i32> = Vec::new();
    for (created, status, duration) in &rows {
        let i = (((created - start) / hour).clamp(0, 23)) as usize;
        let k = match status.as_str() {
            store::SUCCEEDED => 0,
            store::FAILED => 1,
            _ => 2,
        };
        buckets[i][k] += 1;
        if let Some(d) = duration {
            durations.push(*d);
        }
    }
    let peak = buckets
        .iter()
        .map(|b| b.iter().sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: u32| (n as u64 * CHART_HEIGHT as u64 / peak as u64) as u32;
    let bars = buckets
        .iter()
        .enumerate()
        .map(|(i, [ok, fail, other])| {
            let (ok_h, fail_h, other_h) = (scale(*ok), scale(*fail), scale(*other));
            let ok_y = CHART_HEIGHT - ok_h;
            let fail_y = ok_y - fail_h;
            let label = time::display(start + i as i64 * hour)[11..16].to_owned();
            Bar {
                x: i as u32 * 20,
                title: format!("{label} UTC: {ok} succeeded, {fail} failed, {other} waiting"),
                label,
                ok_y,
                ok_h,
                fail_y,
                fail_h,
                other_y: fail_y - other_h,
                other_h,
            }
        })
        .collect();
    let finished_ok: u32 = buckets.iter().map(|b| b[0]).sum();
    let finished_fail: u32 = buckets.iter().map(|b| b[1]).sum();
    let success_rate = (finished_ok + finished_fail > 0).then(|| {
        format!(
            "{:.1}%",
            finished_ok as f64 * 100.0 / (finished_ok + finished_fail) as f64
        )
    });
    durations.sort_unstable();
    let p95 = (!durations.is_empty())
        .then(|| format!("{} ms", durations[(durations.len() * 95).div_ceil(100) - 1]));
    Ok(Stats {
        bars,
        total: rows.len(),
        success_rate,
        p95,
        last_error: last.map(|(at, _, e)| (time::display_seconds(at), e)),
    })
}
