//! The Workspaces page (instance users): every workspace with its health, failing ones first,
//! a search that is also the sidebar's switcher, create, rename, and delete with the name
//! typed to confirm. To members of a workspace it does not exist.

use super::forms::Form;
use super::page::{Ctx, Layout, Nav, render, render_status, see_other};
use crate::app::workspaces::{self, Change, Listed};
use crate::error::AppError;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/workspaces", web::get().to(page))
        .route("/workspaces", web::post().to(create))
        .route("/workspaces/rename", web::post().to(rename))
        .route("/workspaces/search", web::get().to(search))
        .route("/workspaces/{id}/delete", web::get().to(delete_confirm))
        .route("/workspaces/{id}/delete", web::post().to(delete));
}

/// Most rows the page shows; the search narrows the rest.
const SHOWN: i64 = 100;

struct Row {
    id: String,
    key: String,
    name: String,
    uid: String,
    webhooks: i64,
    failing: i64,
    deliveries: i64,
    failure_rate: String,
    is_default: bool,
}

impl From<Listed> for Row {
    fn from(l: Listed) -> Self {
        let rate = l.failure_rate();
        let w = l.workspace;
        Row {
            key: w.key().to_owned(),
            is_default: w.is_default(),
            uid: w.uid.unwrap_or_default(),
            id: w.id,
            name: w.name,
            webhooks: l.counts.webhooks,
            failing: l.counts.failing_webhooks,
            deliveries: l.counts.deliveries,
            failure_rate: format!("{rate:.1} %"),
        }
    }
}

#[derive(Template)]
#[template(path = "workspaces.html")]
struct WorkspacesPage {
    layout: Layout,
    rows: Vec<Row>,
    truncated: bool,
    q: String,
    notice: Option<String>,
    name: String,
    name_error: Option<String>,
    uid: String,
    uid_error: Option<String>,
    rename_key: String,
    rename_key_error: Option<String>,
    rename_name: String,
    rename_name_error: Option<String>,
}

#[derive(Template)]
#[template(path = "workspace_delete.html")]
struct DeletePage {
    layout: Layout,
    id: String,
    name: String,
    typed: String,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct PageQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    notice: String,
}

async fn listing(
    state: &AppState,
    ctx: &Ctx,
    q: &str,
    mut page: WorkspacesPage,
) -> Result<WorkspacesPage, AppError> {
    let actor = ctx.actor()?;
    let query = q.trim().chars().take(200).collect::<String>();
    let mut rows = workspaces::overview(state, &actor, Some(query.clone()), SHOWN + 1).await?;
    page.truncated = rows.len() as i64 > SHOWN;
    rows.truncate(SHOWN as usize);
    page.rows = rows.into_iter().map(Row::from).collect();
    page.q = query;
    Ok(page)
}

/// The page with nothing typed and nothing wrong.
fn blank(ctx: &Ctx) -> WorkspacesPage {
    WorkspacesPage {
        layout: ctx.layout("Workspaces", Nav::Workspaces),
        rows: Vec::new(),
        truncated: false,
        q: String::new(),
        notice: None,
        name: String::new(),
        name_error: None,
        uid: String::new(),
        uid_error: None,
        rename_key: String::new(),
        rename_key_error: None,
        rename_name: String::new(),
        rename_name_error: None,
    }
}

async fn page(
    state: web::Data<AppState>,
    ctx: Ctx,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let notice = match query.notice.as_str() {
        "created" => Some("Workspace created.".to_owned()),
        "renamed" => Some("Workspace renamed.".to_owned()),
        "deleted" => Some("Workspace deleted, with everything in it.".to_owned()),
        _ => None,
    };
    let page = listing(
        &state,
        &ctx,
        &query.q,
        WorkspacesPage {
            notice,
            ..blank(&ctx)
        },
    )
    .await?;
    render(&page)
}

fn field_error(e: &AppError, field: &str) -> Option<String> {
    match e {
        AppError::Validation { field: f, message } if f == field => Some(message.clone()),
        AppError::Conflict(message) if field == "uid" => Some(message.clone()),
        _ => None,
    }
}

async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let (name, uid) = (
        form.get("name").to_owned(),
        form.get("uid").trim().to_owned(),
    );
    let uid_given = (!uid.is_empty()).then_some(uid.as_str());
    match workspaces::create(&state, &ctx.actor()?, &name, uid_given).await {
        Ok(ws) => Ok(see_other(&format!("/w/{}/webhooks", ws.key()))),
        Err(e) if field_error(&e, "name").is_some() || field_error(&e, "uid").is_some() => {
            let page = WorkspacesPage {
                name_error: field_error(&e, "name"),
                uid_error: field_error(&e, "uid"),
                name,
                uid,
                ..blank(&ctx)
            };
            let page = listing(&state, &ctx, "", page).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e),
    }
}

async fn rename(
    state: web::Data<AppState>,
    ctx: Ctx,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let (key, name) = (
        form.get("workspace").trim().to_owned(),
        form.get("name").to_owned(),
    );
    let change = Change {
        name: Some(name.clone()),
        uid: None,
    };
    let error = match workspaces::update(&state, &ctx.actor()?, &key, change).await {
        Ok(_) => return Ok(see_other("/workspaces?notice=renamed")),
        Err(AppError::NotFound) if ctx.actor()?.is_instance() => {
            (Some("No workspace has this uid or id.".to_owned()), None)
        }
        Err(e) if field_error(&e, "name").is_some() => (None, field_error(&e, "name")),
        Err(e) => return Err(e),
    };
    let page = WorkspacesPage {
        rename_key: key,
        rename_key_error: error.0,
        rename_name: name,
        rename_name_error: error.1,
        ..blank(&ctx)
    };
    let page = listing(&state, &ctx, "", page).await?;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

async fn delete_confirm(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let actor = ctx.actor()?;
    actor.instance_admin()?;
    let listed = workspaces::get(&state, &actor, &path).await?;
    render(&DeletePage {
        layout: ctx.layout("Delete workspace", Nav::Workspaces),
        id: listed.workspace.id,
        name: listed.workspace.name,
        typed: String::new(),
        error: None,
    })
}

async fn delete(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let actor = ctx.actor()?;
    actor.instance_admin()?;
    let listed = workspaces::get(&state, &actor, &path).await?;
    let typed = form.get("confirm_name").to_owned();
    if typed.trim() != listed.workspace.name {
        return render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &DeletePage {
                layout: ctx.layout("Delete workspace", Nav::Workspaces),
                id: listed.workspace.id,
                name: listed.workspace.name,
                typed,
                error: Some("Type the name exactly as shown to delete this workspace.".into()),
            },
        );
    }
    workspaces::delete(&state, &actor, &listed.workspace.id).await?;
    Ok(see_other("/workspaces?notice=deleted"))
}

struct FoundRow {
    id: String,
    time: String,
    ws_key: String,
    ws_name: String,
    webhook_url: String,
    event_type: String,
    event_id: String,
    status: String,
}

#[derive(Template)]
#[template(path = "workspace_search.html")]
struct SearchPage {
    layout: Layout,
    id: String,
    rows: Vec<FoundRow>,
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    #[serde(default)]
    id: String,
}

/// A delivery or event id from a customer's ticket, looked up in every workspace.
async fn search(
    state: web::Data<AppState>,
    ctx: Ctx,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    let id: String = query.id.trim().chars().take(100).collect();
    let found = workspaces::find_delivery(&state, &ctx.actor()?, &id).await?;
    let now = crate::domain::time::now_ms();
    let rows = found
        .into_iter()
        .map(|f| FoundRow {
            time: crate::domain::time::display_seconds(f.delivery.created_at),
            status: f.delivery.shown_status(now).to_owned(),
            ws_key: f.workspace.key().to_owned(),
            ws_name: f.workspace.name,
            webhook_url: f.webhook_url,
            event_type: f.delivery.event_type,
            event_id: f.delivery.event_id,
            id: f.delivery.id,
        })
        .collect();
    render(&SearchPage {
        layout: ctx.layout("Find a delivery", Nav::Workspaces),
        id,
        rows,
    })
}
