//! The audit log: recorded from every handler that changes something or reveals a secret;
//! browsable and filterable by administrators under Settings → Audit log.

use super::forms::Form;
use super::page::{Ctx, Layout, Nav, render_status};
use crate::AppState;
use crate::domain::time;
use crate::error::AppError;
use crate::store::audit::{self as store, AuditEntry, AuditFilter, NewEntry};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/audit", web::get().to(page));
}

/// Records one entry; a failure to record is logged, and does not undo what was done.
pub async fn record(
    state: &AppState,
    actor: &str,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
    ip: Option<&str>,
) {
    let (actor, action) = (actor.to_owned(), action.to_owned());
    let (target, detail, ip) = (
        target.map(str::to_owned),
        detail.map(str::to_owned),
        ip.map(str::to_owned),
    );
    let written = crate::db::run(&state.pool, move |conn| {
        store::record(
            conn,
            &NewEntry {
                at: time::now_ms(),
                actor: &actor,
                action: &action,
                target: target.as_deref(),
                detail: detail.as_deref(),
                client_ip: ip.as_deref(),
            },
        )
        .map_err(AppError::from)
    })
    .await;
    if let Err(e) = written {
        tracing::error!(error = %e, "writing the audit log failed");
    }
}

/// Records what the signed-in user did.
pub async fn by_user(
    state: &AppState,
    ctx: &Ctx,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
) {
    record(
        state,
        &ctx.actor(),
        action,
        target,
        detail,
        ctx.client_ip.as_deref(),
    )
    .await
}

/// Every action the log records, for the filter.
pub const ACTIONS: [&str; 24] = [
    "sign_in",
    "sign_in_failed",
    "sign_out",
    "password_changed",
    "webhook_created",
    "webhook_updated",
    "webhook_deleted",
    "webhook_enabled",
    "webhook_disabled",
    "webhook_recovered",
    "secret_revealed",
    "secret_rotated",
    "test_sent",
    "delivery_resent",
    "retry_failed",
    "user_created",
    "user_role_changed",
    "user_disabled",
    "user_enabled",
    "user_password_reset",
    "api_key_created",
    "api_key_revoked",
    "inbox_created",
    "inbox_purged",
];

pub struct EntryView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub client_ip: String,
}

impl From<AuditEntry> for EntryView {
    fn from(e: AuditEntry) -> Self {
        EntryView {
            at: time::display_seconds(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target.unwrap_or_default(),
            detail: e.detail.unwrap_or_default(),
            client_ip: e.client_ip.unwrap_or_default(),
        }
    }
}

/// Parses the filters shared by the page and the API; errors name the field. The page calls
/// its cursor `before`, the API `cursor`.
pub fn parse_filter(
    query: &str,
    cursor: &'static str,
) -> Result<(AuditFilter, [String; 4]), (&'static str, String)> {
    let q = Form::parse(query.as_bytes());
    let typed =
        [q.get("actor"), q.get("action"), q.get("from"), q.get("to")].map(|s| s.trim().to_owned());
    let mut f = AuditFilter::default();
    if !typed[0].is_empty() {
        if typed[0].len() > 254 || typed[0].chars().any(char::is_control) {
            return Err((
                "actor",
                "Enter an e-mail address or an API key name.".into(),
            ));
        }
        f.actor = Some(typed[0].clone());
    }
    if !typed[1].is_empty() {
        if !ACTIONS.contains(&typed[1].as_str()) {
            return Err(("action", "Choose an action from the list.".into()));
        }
        f.action = Some(typed[1].clone());
    }
    for (i, slot, field) in [(2, &mut f.from, "from"), (3, &mut f.to, "to")] {
        if !typed[i].is_empty() {
            *slot = Some(time::parse_utc(&typed[i]).ok_or((
                field,
                "Enter a date and time such as 2026-11-27T20:00 (UTC).".to_owned(),
            ))?);
        }
    }
    match q.get(cursor) {
        "" => {}
        b => {
            f.before = Some(
                b.parse()
                    .map_err(|_| (cursor, "Not a page of this log.".to_owned()))?,
            )
        }
    }
    Ok((f, typed))
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<EntryView>,
    actions: &'static [&'static str],
    typed: [String; 4],
    error: Option<(&'static str, String)>,
    older: Option<String>,
}

const PAGE_SIZE: i64 = 100;

async fn page(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let (filter, typed, error) = match parse_filter(req.query_string(), "before") {
        Ok((f, t)) => (f, t, None),
        Err(e) => (AuditFilter::default(), Default::default(), Some(e)),
    };
    let f = filter.clone();
    let _turn = state.list_queries.turn().await?;
    let mut rows = crate::db::run(&state.pool, move |conn| {
        store::page(conn, &f, PAGE_SIZE + 1).map_err(AppError::from)
    })
    .await?;
    let older = super::page::keyset_next(&mut rows, PAGE_SIZE, |e| e.id).map(|last| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in ["actor", "action", "from", "to"].iter().zip(&typed) {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.append_pair("before", &last.to_string());
        format!("/settings/audit?{}", s.finish())
    });
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        &AuditPage {
            layout: ctx.layout("Audit log", Nav::Audit),
            entries: rows.into_iter().map(EntryView::from).collect(),
            actions: &ACTIONS,
            typed,
            error,
            older,
        },
    )
}
