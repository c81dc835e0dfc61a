//! Send Test (its result in place) and Retry failed (the count first, progress after). The
//! rules live in `app::manual`.

use super::confirm::ConfirmPage;
use super::forms::Form;
use super::page::{IdPath, Layout, Nav, WsCtx, render, see_other};
use crate::app::{self, manual::Attempted};
use crate::domain::{hints, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{deliveries as store, delivery_log::BulkRetry};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/{id}/test", web::post().to(send_test))
        .route("/webhooks/{id}/retry-failed", web::get().to(retry_confirm))
        .route("/webhooks/{id}/retry-failed", web::post().to(retry_failed))
        .route(
            "/webhooks/{id}/retries/{bulk}",
            web::get().to(retry_progress),
        );
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
    /// The base of the workspace's pages, for the link to the delivery.
    pub ws: String,
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

pub fn test_result_view(
    state: &AppState,
    ws: String,
    r: Attempted,
    event_type: &str,
) -> TestResultView {
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
        ws,
    }
}

async fn send_test(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let actor = &ctx.scope;
    // The form's empty choice means the default: the webhook's first subscribed type.
    let event_type = Some(form.get("event_type")).filter(|t| !t.is_empty());
    let sent = app::manual::send_test(&state, actor, &path, event_type).await;
    let (result, event_type) = match sent {
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
    let view = test_result_view(&state, ctx.scope.base(), result, &event_type);
    if ctx.is_htmx {
        return render(&TestResultPartial { r: view });
    }
    Ok(see_other(&format!(
        "{}/deliveries/{}",
        ctx.scope.base(),
        view.delivery_id
    )))
}

// ---- Retry failed ----

async fn retry_confirm(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let webhook = app::webhooks::get(&state, &ctx.scope, &path).await?;
    let (key, label, secs) =
        app::manual::window(Form::parse(req.query_string().as_bytes()).get("window"))?;
    let n = app::manual::failed_in(&state, &ctx.scope, &webhook.id, secs)
        .await?
        .len();
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
        format!(
            "{}/webhooks/{}/retry-failed?window={key}",
            ctx.scope.base(),
            webhook.id
        ),
        "Retry failed",
        format!("{}/webhooks/{}/deliveries", ctx.scope.base(), webhook.id),
    ))
}

async fn retry_failed(
    state: web::Data<AppState>,
    ctx: WsCtx,
    IdPath(path): IdPath,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let actor = &ctx.scope;
    let (_, _, secs) =
        app::manual::window(Form::parse(req.query_string().as_bytes()).get("window"))?;
    let bulk_id = app::manual::retry_failed(&state, actor, &path, secs).await?;
    Ok(see_other(&format!(
        "{}/webhooks/{}/retries/{bulk_id}",
        ctx.scope.base(),
        path
    )))
}

#[derive(Template)]
#[template(path = "deliveries/retry.html")]
struct RetryPage {
    layout: Layout,
    ws: String,
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
    ws: String,
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
    ctx: WsCtx,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let param = |name| req.match_info().get(name).unwrap_or_default().to_owned();
    let (webhook_id, bulk_id) = (param("id"), param("bulk"));
    let webhook = app::webhooks::get(&state, &ctx.scope, &webhook_id).await?;
    let BulkRetry {
        total,
        created_at,
        created_by,
        statuses,
        ..
    } = app::manual::retry_progress(&state, &ctx.scope, &webhook.id, &bulk_id).await?;
    let count = |s: &str| statuses.iter().filter(|x| *x == s).count();
    let (succeeded, failed) = (count(store::SUCCEEDED), count(store::FAILED));
    let waiting = statuses.len() - succeeded - failed;
    let done = waiting == 0;
    if ctx.is_htmx {
        return render(&RetryPartial {
            ws: ctx.scope.base(),
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
        ws: ctx.scope.base(),
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
