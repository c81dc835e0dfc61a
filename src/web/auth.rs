//! Sign-in, sign-out and the one-time setup of the first administrator.

use super::audit;
use super::forms::Form;
use super::guard::{CSRF_COOKIE, SESSION_COOKIE, SessionHash, cookie, is_secure};
use super::page::{Ctx, Layout, Nav, render, render_status, safe_next, see_other};
use super::throttle;
use crate::AppState;
use crate::domain::ids::{random_token, secure_eq, token_hash};
use crate::domain::passwords;
use crate::domain::time::now_ms;
use crate::error::AppError;
use crate::store::{self, users::Role};
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

/// Starts a session for `user_id` and answers with a redirect to `next`, setting a fresh
/// session cookie and a fresh CSRF cookie (so no token from before sign-in survives it).
async fn start_session(
    state: &AppState,
    req: &HttpRequest,
    user_id: i32,
    next: &str,
) -> Result<HttpResponse, AppError> {
    let token = random_token::<32>();
    let hash = token_hash(&token);
    let (idle, max) = (
        state.config.session_idle.as_millis() as i64,
        state.config.session_max.as_millis() as i64,
    );
    crate::db::run(&state.pool, move |conn| {
        let now = now_ms();
        // Sign-ins are rare: a good moment to drop sessions that have expired.
        store::sessions::delete_expired(conn, now, idle, max)?;
        store::sessions::create(conn, &hash, user_id, now).map_err(AppError::from)
    })
    .await?;
    let secure = is_secure(req);
    let mut res = see_other(safe_next(next));
    let _ = res.add_cookie(&cookie(SESSION_COOKIE, token, secure));
    let _ = res.add_cookie(&cookie(CSRF_COOKIE, random_token::<32>(), secure));
    Ok(res)
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    ctx: Ctx,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let email = form.get("email").trim().to_owned();
    let password = form.get("password").to_owned();
    let next = form.get("next").to_owned();
    let failed_page = |status: StatusCode, message: String| {
        render_status(
            status,
            &LoginPage {
                layout: ctx.layout("Sign in", Nav::None),
                email: email.clone(),
                next: safe_next(&next).to_owned(),
                error: Some(message),
                notice: None,
            },
        )
    };
    // Throttled per typed account (whether or not it exists) and per client address; the
    // attempt counts from now, so guesses sent together count like guesses sent in turn.
    let account_key = format!("account:{}", email.to_lowercase());
    let address_key = format!("address:{}", ctx.client_ip.as_deref().unwrap_or("unknown"));
    let throttle = &state.sign_in_throttle;
    let keys = [
        (account_key.as_str(), throttle::FREE_PER_ACCOUNT),
        (address_key.as_str(), throttle::FREE_PER_ADDRESS),
    ];
    if let Err(wait) = throttle.begin(&keys) {
        let secs = wait.as_secs().max(1);
        return failed_page(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed sign-ins. Try again in {secs} seconds."),
        )
        .map(|r| with_retry_after(r, secs));
    }
    let lookup = email.clone();
    let user = crate::db::run(&state.pool, move |conn| {
        store::users::find_by_email(conn, &lookup).map_err(AppError::from)
    })
    .await?;
    // Argon2 is slow and large on purpose: it runs a bounded number at a time, without a
    // database connection held.
    let phc = user
        .as_ref()
        .filter(|u| !u.disabled)
        .map(|u| u.password_hash.clone());
    let checked = match state.passwords.verify(password, phc).await {
        Ok(ok) => ok,
        Err(AppError::Busy {
            message,
            retry_after_secs,
        }) => {
            throttle.refund(&[account_key.as_str(), address_key.as_str()]);
            return failed_page(StatusCode::SERVICE_UNAVAILABLE, message)
                .map(|r| with_retry_after(r, retry_after_secs));
        }
        Err(e) => return Err(e),
    };
    let user = user.filter(|u| checked && !u.disabled);
    match user {
        Some(user) => {
            throttle.succeeded(&account_key);
            throttle.succeeded(&address_key);
            audit::record(
                &state,
                &user.email,
                "sign_in",
                None,
                None,
                ctx.client_ip.as_deref(),
            )
            .await;
            start_session(&state, &req, user.id, &next).await
        }
        None => {
            let typed: String = email.chars().take(254).collect();
            audit::record(
                &state,
                &typed,
                "sign_in_failed",
                None,
                None,
                ctx.client_ip.as_deref(),
            )
            .await;
            failed_page(
                StatusCode::UNAUTHORIZED,
                "Incorrect e-mail or password.".into(),
            )
        }
    }
}

fn with_retry_after(mut res: HttpResponse, secs: u64) -> HttpResponse {
    res.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    res
}

async fn logout(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let hash = req.extensions().get::<SessionHash>().map(|s| s.0.clone());
    if let Some(hash) = hash {
        crate::db::run(&state.pool, move |conn| {
            store::sessions::delete(conn, &hash).map_err(AppError::from)
        })
        .await?;
        audit::by_user(&state, &ctx, "sign_out", None, None).await;
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

fn setup_token_ok(state: &AppState, presented: &str) -> bool {
    let guard = state.setup_token.lock().unwrap_or_else(|p| p.into_inner());
    guard.as_deref().is_some_and(|t| secure_eq(t, presented))
}

fn setup_link_invalid() -> AppError {
    AppError::Forbidden(
        "This setup link is not valid. Setup links work once, until the first administrator exists; \
         after that, sign in, or add users with `aethenox-webhooks users add`."
            .into(),
    )
}

async fn setup_page(
    state: web::Data<AppState>,
    ctx: Ctx,
    query: web::Query<SetupQuery>,
) -> Result<HttpResponse, AppError> {
    if !setup_token_ok(&state, &query.token) {
        return Err(setup_link_invalid());
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
    if !setup_token_ok(&state, &token) {
        return Err(setup_link_invalid());
    }
    let email = passwords::check_email(form.get("email"));
    let mut password_error = passwords::check_new_password(form.get("password")).err();
    if password_error.is_none() && form.get("password") != form.get("password_confirm") {
        password_error = Some("The two passwords differ.".into());
    }
    let (email, password) = match (email, password_error) {
        (Ok(email), None) => (email, form.get("password").to_owned()),
        (email, password_error) => {
            return render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &SetupPage {
                    layout: ctx.layout("Set up", Nav::None),
                    token,
                    email: form.get("email").to_owned(),
                    email_error: email.err(),
                    password_error,
                },
            );
        }
    };
    let hash = state.passwords.hash(password).await?;
    let user = crate::db::run(&state.pool, move |conn| {
        conn.immediate_transaction(|conn| {
            if store::users::any_admin(conn)? {
                return Err(setup_link_invalid());
            }
            if store::users::find_by_email(conn, &email)?.is_some() {
                return Err(AppError::Conflict(
                    "A user with this e-mail address already exists.".into(),
                ));
            }
            Ok(store::users::create(
                conn,
                &email,
                Role::Admin,
                &hash,
                now_ms(),
            )?)
        })
    })
    .await?;
    *state.setup_token.lock().unwrap_or_else(|p| p.into_inner()) = None;
    tracing::info!(
        user_id = user.id,
        "first administrator created through the setup link"
    );
    audit::record(
        &state,
        "setup link",
        "user_created",
        Some(&user.email),
        Some("admin"),
        ctx.client_ip.as_deref(),
    )
    .await;
    start_session(&state, &req, user.id, "/webhooks").await
}
