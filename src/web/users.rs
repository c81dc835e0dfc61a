//! Settings → Users (administrators): add, change role, disable or enable, reset a password.
//! The last active administrator cannot be disabled or demoted. And everyone's own account
//! page, to change one's password.

use super::forms::Form;
use super::page::SessionHash;
use super::page::{Ctx, Layout, Nav, render, render_status, see_other};
use crate::app::{self, users::Change, users::Refused};
use crate::domain::time;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::users::Role;
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/users", web::get().to(list))
        .route("/settings/users", web::post().to(add))
        .route("/settings/users/{id}", web::post().to(change))
        .route("/account", web::get().to(account))
        .route("/account/password", web::post().to(change_own_password));
}

struct UserRow {
    id: i32,
    email: String,
    role: String,
    disabled: bool,
    created: String,
    is_me: bool,
}

#[derive(Default)]
struct AddForm {
    email: String,
    role: String,
    email_error: Option<String>,
    password_error: Option<String>,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    form: AddForm,
    notice: Option<String>,
    error: Option<String>,
}

async fn users_page(
    state: &AppState,
    ctx: &Ctx,
    form: AddForm,
    notice: Option<String>,
    error: Option<String>,
) -> Result<UsersPage, AppError> {
    let me = ctx.user()?.id;
    let users = app::users::list(state, &ctx.actor()?).await?;
    Ok(UsersPage {
        layout: ctx.layout("Users", Nav::Users),
        users: users
            .into_iter()
            .map(|u| UserRow {
                is_me: u.id == me,
                created: time::display(u.created_at),
                id: u.id,
                email: u.email,
                role: u.role,
                disabled: u.disabled,
            })
            .collect(),
        form,
        notice,
        error,
    })
}

#[derive(serde::Deserialize)]
struct NoticeQuery {
    #[serde(default)]
    done: String,
}

async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let notice = match query.done.as_str() {
        "added" => {
            Some("User added. Give them their password over a channel you trust.".to_owned())
        }
        "role" => Some("Role changed.".to_owned()),
        "disable" => Some("User disabled and signed out everywhere.".to_owned()),
        "enable" => Some("User enabled.".to_owned()),
        "password" => Some("Password reset; the user's sessions were ended.".to_owned()),
        _ => None,
    };
    render(
        &users_page(
            &state,
            &ctx,
            AddForm {
                role: "support".into(),
                ..AddForm::default()
            },
            notice,
            None,
        )
        .await?,
    )
}

async fn add(state: web::Data<AppState>, ctx: Ctx, form: Form) -> Result<HttpResponse, AppError> {
    let role = Role::parse(form.get("role"));
    let password = form.get("password").to_owned();
    let added = app::users::add(&state, &ctx.actor()?, form.get("email"), role, password).await?;
    let errors = match added {
        Ok(_) => return Ok(see_other("/settings/users?done=added")),
        Err(errors) => errors,
    };
    let status = if errors.exists {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let f = AddForm {
        email: form.get("email").to_owned(),
        role: form.get("role").to_owned(),
        email_error: errors.email,
        password_error: errors.password,
    };
    render_status(status, &users_page(&state, &ctx, f, None, None).await?)
}

/// One change to one user: `action` is role, disable, enable or password.
async fn change(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<i32>,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let action = form.get("action").to_owned();
    let change = match action.as_str() {
        "role" => Change::Role(Role::parse(form.get("role"))),
        "disable" => Change::Disable,
        "enable" => Change::Enable,
        "password" => Change::Password(form.get("password").to_owned()),
        _ => Change::Unknown,
    };
    let (status, message) = match app::users::change(&state, &ctx.actor()?, *path, change).await? {
        Ok(()) => return Ok(see_other(&format!("/settings/users?done={action}"))),
        Err(Refused::Invalid(m)) => (StatusCode::UNPROCESSABLE_ENTITY, m),
        Err(Refused::Conflict(m)) => (StatusCode::CONFLICT, m),
    };
    let empty = AddForm {
        role: "support".into(),
        ..AddForm::default()
    };
    let page = users_page(&state, &ctx, empty, None, Some(message)).await?;
    render_status(status, &page)
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    account_email: String,
    role: String,
    current_error: Option<String>,
    new_error: Option<String>,
    notice: Option<&'static str>,
}

async fn account(ctx: Ctx, query: web::Query<NoticeQuery>) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?;
    render(&AccountPage {
        layout: ctx.layout("Your account", Nav::Account),
        account_email: user.email.clone(),
        role: user.role.clone(),
        current_error: None,
        new_error: None,
        notice: (query.done == "password")
            .then_some("Password changed. Your other sessions were signed out."),
    })
}

async fn change_own_password(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let keep = req.extensions().get::<SessionHash>().map(|s| s.0.clone());
    let changed = app::users::change_own_password(
        &state,
        &ctx.actor()?,
        form.get("current_password").to_owned(),
        form.get("new_password").to_owned(),
        form.get("new_password_confirm"),
        keep,
    )
    .await?;
    match changed {
        Ok(()) => Ok(see_other("/account?done=password")),
        Err(errors) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &AccountPage {
                layout: ctx.layout("Your account", Nav::Account),
                account_email: user.email.clone(),
                role: user.role.clone(),
                current_error: errors.current,
                new_error: errors.new,
                notice: None,
            },
        ),
    }
}
