//! Settings → Users inside a workspace: its members, added, given a role there, removed. The
//! rules live in `app::members`.

use super::forms::Form;
use super::page::{Layout, Nav, WsCtx, render_status, see_other};
use crate::app::{self, members::Change, users::AddErrors};
use crate::domain::time;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::users::Role;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/users", web::get().to(list))
        .route("/settings/users", web::post().to(add))
        .route("/settings/users/{id}", web::post().to(change));
}

struct MemberRow {
    id: i32,
    email: String,
    role: &'static str,
    joined: String,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    layout: Layout,
    members: Vec<MemberRow>,
    new_email: String,
    role: String,
    email_error: Option<String>,
    password_error: Option<String>,
    notice: Option<&'static str>,
    error: Option<String>,
}

async fn page(state: &AppState, ctx: &WsCtx) -> Result<MembersPage, AppError> {
    let members = app::members::list(state, &ctx.scope).await?;
    Ok(MembersPage {
        layout: ctx.layout("Users", Nav::Users),
        members: members
            .into_iter()
            .map(|m| MemberRow {
                id: m.user.id,
                email: m.user.email,
                role: m.role.as_str(),
                joined: time::display(m.joined_at),
            })
            .collect(),
        new_email: String::new(),
        role: "support".into(),
        email_error: None,
        password_error: None,
        notice: None,
        error: None,
    })
}

async fn list(
    state: web::Data<AppState>,
    ctx: WsCtx,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let mut page = page(&state, &ctx).await?;
    page.notice = match Form::parse(req.query_string().as_bytes()).get("done") {
        "added" => Some("Member added: they can sign in and see this workspace."),
        "changed" => Some("Role changed."),
        "removed" => Some("Member removed from this workspace."),
        _ => None,
    };
    render_status(StatusCode::OK, &page)
}

fn role_of(raw: &str) -> Option<Role> {
    Role::parse(if raw.is_empty() { "support" } else { raw })
}

async fn add(state: web::Data<AppState>, ctx: WsCtx, form: Form) -> Result<HttpResponse, AppError> {
    let Some(role) = role_of(form.get("role")) else {
        let mut page = page(&state, &ctx).await?;
        page.error = Some("Choose the role admin or support.".into());
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let password = form.get("password").to_owned();
    match app::members::add(&state, &ctx.scope, form.get("email"), role, password).await? {
        Ok(_) => Ok(see_other(&ctx.link("/settings/users?done=added"))),
        Err(AddErrors {
            email, password, ..
        }) => {
            let mut page = page(&state, &ctx).await?;
            page.new_email = form.get("email").to_owned();
            page.role = role.as_str().to_owned();
            page.email_error = email;
            page.password_error = password;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

async fn change(
    state: web::Data<AppState>,
    ctx: WsCtx,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let id = super::page::number_id(&req)?;
    let (change, done) = match (form.get("action"), role_of(form.get("role"))) {
        ("remove", _) => (Change::Remove, "removed"),
        ("role", Some(r)) => (Change::Role(r), "changed"),
        _ => (Change::Unknown, ""),
    };
    match app::members::change(&state, &ctx.scope, id, change).await {
        Ok(()) => Ok(see_other(
            &ctx.link(&format!("/settings/users?done={done}")),
        )),
        Err(AppError::Conflict(message)) => {
            let mut page = page(&state, &ctx).await?;
            page.error = Some(message);
            render_status(StatusCode::CONFLICT, &page)
        }
        Err(e) => Err(e),
    }
}
