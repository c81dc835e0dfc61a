//! Sign-in, sign-out and the one-time setup of the first administrator.

use super::forms::Form;
use super::guard::{CSRF_COOKIE, SESSION_COOKIE, cookie, is_secure};
use super::page::SessionHash;
use super::page::{Ctx, Layout, Nav, render, render_status, safe_next, see_other};
use crate::app::sessions::{self, Refused, Started};
use crate::domain::ids::random_token;
use crate::error::AppError;
use crate::state::AppState;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/setup", web::get().to(setup_page))
        .route("/setup", web::post().to(setup));
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    notice: String,
}

async fn login_page(ctx: Ctx, query: web::Query<LoginQuery>) -> Result<HttpResponse, AppError> {
    if ctx.user.is_some() {
        return Ok(see_other(safe_next(&query.next)));
    }
    let notice = match query.notice.as_str() {
        "signed-out" => Some("You have signed out."),
        _ => None,
    };
    render(&LoginPage {
        layout: ctx.layout("Sign in", Nav::None),
        email: String::new(),
        next: safe_next(&query.next).to_owned(),
        error: None,
        notice,
    })
}

/// Answers a started session with a redirect to `next`, setting a fresh session cookie and a
/// fresh CSRF cookie (so no token from before sign-in survives it).
fn session_started(req: &HttpRequest, started: Started, next: &str) -> HttpResponse {
    let secure = is_secure(req);
    let mut res = see_other(safe_next(next));
    let _ = res.add_cookie(&cookie(SESSION_COOKIE, started.token, secure));
    let _ = res.add_cookie(&cookie(CSRF_COOKIE, random_token::<32>(), secure));
    res
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    ctx: Ctx,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let email = form.get("email").trim().to_owned();
    let next = form.get("next").to_owned();
    let password = form.get("password").to_owned();
    let refused =
        match sessions::sign_in(&state, &email, password, ctx.client_ip.as_deref()).await? {
            Ok(started) => return Ok(session_started(&req, started, &next)),
            Err(refused) => refused,
        };
    let (status, message, retry_after) = match refused {
        Refused::Wrong => (
            StatusCode::UNAUTHORIZED,
            "Incorrect e-mail or password.".to_owned(),
            None,
        ),
        Refused::Throttled(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed sign-ins. Try again in {secs} seconds."),
            Some(secs),
        ),
        Refused::Busy(message, secs) => (StatusCode::SERVICE_UNAVAILABLE, message, Some(secs)),
    };
    let mut res = render_status(
        status,
        &LoginPage {
            layout: ctx.layout("Sign in", Nav::None),
            email,
            next: safe_next(&next).to_owned(),
            error: Some(message),
            notice: None,
        },
    )?;
    if let Some(secs) = retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    Ok(res)
}

async fn logout(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let hash = req.extensions().get::<SessionHash>().map(|s| s.0.clone());
    if let (Some(hash), Ok(actor)) = (hash, ctx.actor()) {
        sessions::sign_out(&state, &actor, hash).await?;
    }
    let mut res = see_other("/login?notice=signed-out");
    let mut gone = cookie(SESSION_COOKIE, String::new(), is_secure(&req));
    gone.make_removal();
    let _ = res.add_cookie(&gone);
    Ok(res)
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    layout: Layout,
    token: String,
    email: String,
    email_error: Option<String>,
    password_error: Option<String>,
}

#[derive(serde::Deserialize)]
struct SetupQuery {
    #[serde(default)]
    token: String,
}

async fn setup_page(
    state: web::Data<AppState>,
    ctx: Ctx,
    query: web::Query<SetupQuery>,
) -> Result<HttpResponse, AppError> {
    if !sessions::setup_token_ok(&state, &query.token) {
        return Err(sessions::setup_link_invalid());
    }
    render(&SetupPage {
        layout: ctx.layout("Set up", Nav::None),
        token: query.token.clone(),
        email: String::new(),
        email_error: None,
        password_error: None,
    })
}

async fn setup(
    state: web::Data<AppState>,
    req: HttpRequest,
    ctx: Ctx,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let token = form.get("token").to_owned();
    let created = sessions::setup(
        &state,
        &token,
        form.get("email"),
        form.get("password").to_owned(),
        form.get("password_confirm"),
        ctx.client_ip.as_deref(),
    )
    .await?;
    match created {
        Ok(started) => Ok(session_started(&req, started, "/webhooks")),
        Err(errors) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetupPage {
                layout: ctx.layout("Set up", Nav::None),
                token,
                email: form.get("email").to_owned(),
                email_error: errors.email,
                password_error: errors.password,
            },
        ),
    }
}
