//! Settings → Audit log: the entries every use case records (`app::audit`), browsable and
//! filterable by administrators.

use super::forms::Form;
use super::page::{Layout, Nav, WsCtx, render_status};
use crate::app::audit::{self as audit, ACTIONS};
use crate::domain::time;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::audit::{AuditEntry, AuditFilter};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/audit", web::get().to(page));
}

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
    ctx: WsCtx,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let actor = &ctx.scope;
    let params = Form::parse(req.query_string().as_bytes());
    let (filter, typed, error) = match audit::parse_filter(&params, "before", true) {
        Ok((f, t)) => (f, t, None),
        Err(e) => (AuditFilter::default(), Default::default(), Some(e)),
    };
    let (rows, next) = audit::page(&state, actor, filter, PAGE_SIZE).await?;
    let older = next.map(|last| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in ["actor", "action", "from", "to"].iter().zip(&typed) {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.append_pair("before", &last.to_string());
        format!("{}/settings/audit?{}", ctx.scope.base(), s.finish())
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
