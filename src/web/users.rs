//! Settings → Users (administrators): add, change role, disable or enable, reset a password.
//! The last active administrator cannot be disabled or demoted. And everyone's own account
//! page, to change one's password.

use super::audit;
use super::forms::Form;
use super::guard::SessionHash;
use super::page::{Ctx, Layout, Nav, render, render_status, see_other};
use super::throttle;
use crate::AppState;
use crate::domain::{passwords, time};
use crate::error::AppError;
use crate::store::{self, users::Role, users::User};
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
    let users = crate::db::run(&state.pool, |conn| {
        store::users::list(conn).map_err(AppError::from)
    })
    .await?;
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
    ctx.admin()?;
    let email = passwords::check_email(form.get("email"));
    let role = Role::parse(form.get("role"));
    let password = form.get("password").to_owned();
    let password_error = passwords::check_new_password(&password).err();
    let (email, role) = match (email, role, password_error) {
        (Ok(email), Some(role), None) => (email, role),
        (email, _, password_error) => {
            let f = AddForm {
                email: form.get("email").to_owned(),
                role: form.get("role").to_owned(),
                email_error: email.err(),
                password_error,
            };
            return render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &users_page(&state, &ctx, f, None, None).await?,
            );
        }
    };
    let e = email.clone();
    let hash = state.passwords.hash(password).await?;
    let created = crate::db::run(&state.pool, move |conn| {
        conn.immediate_transaction(|conn| {
            if store::users::find_by_email(conn, &e)?.is_some() {
                return Ok(None);
            }
            store::users::create(conn, &e, role, &hash, time::now_ms()).map(Some)
        })
        .map_err(AppError::from)
    })
    .await?;
    if created.is_none() {
        let f = AddForm {
            email: email.clone(),
            role: role.as_str().into(),
            email_error: Some("A user with this e-mail address already exists.".into()),
            password_error: None,
        };
        return render_status(
            StatusCode::CONFLICT,
            &users_page(&state, &ctx, f, None, None).await?,
        );
    }
    audit::by_user(
        &state,
        &ctx,
        "user_created",
        Some(&email),
        Some(role.as_str()),
    )
    .await;
    Ok(see_other("/settings/users?done=added"))
}

/// One change to one user: `action` is role, disable, enable or password.
async fn change(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<i32>,
    form: Form,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let id = *path;
    let action = form.get("action").to_owned();
    let role = Role::parse(form.get("role"));
    let password = form.get("password").to_owned();
    if action == "password"
        && let Err(m) = passwords::check_new_password(&password)
    {
        let empty = AddForm {
            role: "support".into(),
            ..AddForm::default()
        };
        let page = users_page(
            &state,
            &ctx,
            empty,
            None,
            Some(format!("Password not reset: {m}")),
        )
        .await?;
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let hash = if action == "password" {
        Some(state.passwords.hash(password).await?)
    } else {
        None
    };
    let act = action.clone();
    let outcome = crate::db::run(&state.pool, move |conn| {
        conn.immediate_transaction(|conn| {
            let user: User = store::users::get(conn, id)?;
            let last_admin =
                user.is_admin() && !user.disabled && store::users::active_admins(conn)? <= 1;
            let refused = |m: &str| Ok::<_, diesel::result::Error>(Err(m.to_owned()));
            match act.as_str() {
                "role" => match role {
                    Some(Role::Support) if last_admin => {
                        return refused("The last active administrator cannot be demoted.");
                    }
                    Some(r) => store::users::set_role(conn, id, r)?,
                    None => return refused("Choose the role admin or support."),
                },
                "disable" if last_admin => {
                    return refused("The last active administrator cannot be disabled.");
                }
                "disable" => {
                    store::users::set_disabled(conn, id, true)?;
                    store::sessions::end_all_of(conn, id, None)?;
                }
                "enable" => store::users::set_disabled(conn, id, false)?,
                "password" => {
                    store::users::set_password_hash(conn, id, hash.as_deref().unwrap_or_default())?;
                    store::sessions::end_all_of(conn, id, None)?;
                }
                _ => return refused("Unknown change."),
            }
            Ok(Ok(user.email))
        })
        .map_err(AppError::from)
    })
    .await?;
    match outcome {
        Ok(email) => {
            let (audit_action, detail) = match action.as_str() {
                "role" => ("user_role_changed", role.map(|r| r.as_str())),
                "disable" => ("user_disabled", None),
                "enable" => ("user_enabled", None),
                _ => ("user_password_reset", None),
            };
            audit::by_user(&state, &ctx, audit_action, Some(&email), detail).await;
            Ok(see_other(&format!("/settings/users?done={action}")))
        }
        Err(message) => {
            let page = users_page(
                &state,
                &ctx,
                AddForm {
                    role: "support".into(),
                    ..AddForm::default()
                },
                None,
                Some(message),
            )
            .await?;
            render_status(StatusCode::CONFLICT, &page)
        }
    }
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
    let (current, new) = (
        form.get("current_password").to_owned(),
        form.get("new_password").to_owned(),
    );
    let mut new_error = passwords::check_new_password(&new).err();
    if new_error.is_none() && new != form.get("new_password_confirm") {
        new_error = Some("The two new passwords differ.".into());
    }
    // Guesses at the current password are throttled like sign-ins to the same account.
    let account_key = format!("account:{}", user.email.to_lowercase());
    let throttle = &state.sign_in_throttle;
    if let Err(wait) = throttle.begin(&[(account_key.as_str(), throttle::FREE_PER_ACCOUNT)]) {
        return Err(AppError::Busy {
            message: format!(
                "Too many wrong current passwords. Try again in {} seconds.",
                wait.as_secs().max(1)
            ),
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let current_ok = match state
        .passwords
        .verify(current, Some(user.password_hash.clone()))
        .await
    {
        Ok(ok) => ok,
        Err(e) => {
            throttle.refund(&[account_key.as_str()]);
            return Err(e);
        }
    };
    if current_ok {
        throttle.succeeded(&account_key);
    }
    if !current_ok || new_error.is_some() {
        return render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &AccountPage {
                layout: ctx.layout("Your account", Nav::Account),
                account_email: user.email.clone(),
                role: user.role.clone(),
                current_error: (!current_ok)
                    .then(|| "That is not your current password.".to_owned()),
                new_error,
                notice: None,
            },
        );
    }
    let keep = req.extensions().get::<SessionHash>().map(|s| s.0.clone());
    let id = user.id;
    let hash = state.passwords.hash(new).await?;
    crate::db::run(&state.pool, move |conn| {
        conn.immediate_transaction(|conn| {
            store::users::set_password_hash(conn, id, &hash)?;
            store::sessions::end_all_of(conn, id, keep.as_deref())
        })
        .map_err(AppError::from)
    })
    .await?;
    audit::by_user(&state, &ctx, "password_changed", Some(&user.email), None).await;
    Ok(see_other("/account?done=password"))
}
