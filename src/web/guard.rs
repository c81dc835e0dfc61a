//! The one middleware in front of every browser route. In order: security headers, the CSRF
//! cookie and check on every state-changing request, then the session: nothing but /login,
//! /setup, /api/reference, /healthz and static assets is reachable without signing in. `/api/v1` is guarded
//! by API keys instead (see `api::ApiKeyAuth`).

use super::forms::Form;
use super::page::{CsrfToken, CurrentUser, PortalAuth, SessionHash, SessionWorkspace, WasHead};
use crate::domain::ids::{random_token, secure_eq};
use crate::error::AppError;
use crate::state::AppState;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};

pub const SESSION_COOKIE: &str = "aethenox_session";
pub const CSRF_COOKIE: &str = "aethenox_csrf";
pub const CSRF_FIELD: &str = "csrf_token";
/// Longer paths and query strings are refused (414) before anything else looks at them.
pub const MAX_URL_LEN: usize = 8 * 1024;
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// Reachable signed in or not (the API reference, like the document it shows, needs no account).
const PUBLIC_PATHS: [&str; 4] = ["/login", "/setup", "/logout", "/api/reference"];

fn is_unguarded(path: &str) -> bool {
    path == "/healthz"
        || path == "/metrics"
        || path.starts_with("/inbox/")
        || path.starts_with("/static/")
        || path == "/api/v1"
        || path.starts_with("/api/v1/")
}

/// Users reach this server over https: the request came so, or `--public-url` says so (behind
/// a TLS-terminating proxy that does not say how the request came).
pub fn is_secure(req: &actix_web::HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
        || req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|s| s.config.public_https())
}

/// A cookie with the attributes every cookie of ours has.
pub fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish()
}

/// Scripts and styles only from this server (htmx is configured to need nothing inline).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
    base-uri 'none'; object-src 'none'";

/// The headers every response carries; HSTS only when served over https.
pub fn add_security_headers(res: &mut HttpResponse<impl MessageBody>, secure: bool) {
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    res.headers_mut().insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    add_common_headers(res, secure);
}

/// A portal page's headers: the sites of `--portal-frame-ancestors` may frame it (none when
/// there are none), and nothing else changes.
pub fn add_portal_headers(
    res: &mut HttpResponse<impl MessageBody>,
    secure: bool,
    ancestors: &[String],
) {
    if ancestors.is_empty() {
        return add_security_headers(res, secure);
    }
    let csp = CONTENT_SECURITY_POLICY.replace(
        "frame-ancestors 'none'",
        &format!("frame-ancestors {}", ancestors.join(" ")),
    );
    if let Ok(value) = header::HeaderValue::from_str(&csp) {
        res.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    res.headers_mut().remove(header::X_FRAME_OPTIONS);
    add_common_headers(res, secure);
}

fn add_common_headers(res: &mut HttpResponse<impl MessageBody>, secure: bool) {
    let h = res.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        h.insert(name, header::HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if secure {
        set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
}

/// An `Origin` header, when present, must be this site (as the request reached it, or as
/// `--public-url` names it).
fn origin_ok(req: &ServiceRequest) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let info = req.connection_info();
    let public = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.config.public_url.clone());
    origin == format!("{}://{}", info.scheme(), info.host()) || public.as_deref() == Some(origin)
}

/// The token the request presents: the header (htmx) or the form field (plain forms).
async fn presented_token(req: &mut ServiceRequest) -> Option<String> {
    if let Some(h) = req.headers().get(CSRF_HEADER) {
        return h.to_str().ok().map(str::to_owned);
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return None;
    }
    let body = req.extract::<web::Bytes>().await.ok()?;
    let token = Form::parse(&body).get(CSRF_FIELD).to_owned();
    // Put the body back for the handler.
    req.set_payload(actix_web::dev::Payload::from(body));
    Some(token)
}

fn csrf_rejected() -> HttpResponse {
    AppError::Forbidden(
        "This form has expired or did not come from this site. Reload the page and try again."
            .into(),
    )
    .error_response()
}

fn sign_in_required(req: &ServiceRequest) -> HttpResponse {
    if req.headers().contains_key("HX-Request") {
        return HttpResponse::Unauthorized()
            .insert_header(("HX-Redirect", "/login"))
            .finish();
    }
    if req.method() == Method::GET || req.method() == Method::HEAD {
        let next = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let target: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .finish();
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/login?{target}")))
            .finish();
    }
    AppError::Unauthorized.error_response()
}

async fn signed_in_user(
    req: &ServiceRequest,
) -> Result<Option<crate::app::sessions::SignedIn>, AppError> {
    let Some(token) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
        return Ok(None);
    };
    if !crate::domain::ids::is_token_32(&token) {
        return Ok(None);
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(AppError::Internal(anyhow::anyhow!("app state missing")));
    };
    crate::app::sessions::current(&state, &token).await
}

pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let path = req.path().to_owned();
    let secure = is_secure(req.request());
    if path.len() + req.query_string().len() > MAX_URL_LEN {
        let res =
            AppError::bad_request("uri_too_long", "The address is too long.").error_response();
        let mut res =
            HttpResponse::build(actix_web::http::StatusCode::URI_TOO_LONG).body(res.into_body());
        add_security_headers(&mut res, secure);
        return Ok(req.into_response(res).map_into_right_body());
    }
    if let Some(rest) = path.strip_prefix("/p/") {
        let token = rest.split('/').next().unwrap_or_default().to_owned();
        return portal(req, next, token, secure).await;
    }
    if path.starts_with("/portal/") {
        let ancestors = frame_ancestors(&req);
        let mut res = next.call(req).await?;
        add_portal_headers(res.response_mut(), secure, &ancestors);
        return Ok(res.map_into_left_body());
    }
    if is_unguarded(&path) {
        let mut res = next.call(req).await?;
        add_security_headers(res.response_mut(), secure);
        return Ok(res.map_into_left_body());
    }

    let existing = req
        .cookie(CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|t| crate::domain::ids::is_token_32(t));
    let csrf_is_new = existing.is_none();
    let csrf = existing.unwrap_or_else(random_token::<32>);

    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let presented = presented_token(&mut req).await;
        let ok = !csrf_is_new && origin_ok(&req) && presented.is_some_and(|p| secure_eq(&p, &csrf));
        if !ok {
            tracing::warn!(path = %path, method = %req.method(), "request refused: CSRF check failed");
            let mut res = csrf_rejected();
            add_security_headers(&mut res, secure);
            return Ok(req.into_response(res).map_into_right_body());
        }
    }
    req.extensions_mut().insert(CsrfToken(csrf.clone()));

    let user = match signed_in_user(&req).await {
        Ok(u) => u,
        Err(e) => return Ok(req.into_response(e.error_response()).map_into_right_body()),
    };
    match user {
        Some(signed_in) => {
            req.extensions_mut().insert(CurrentUser(signed_in.user));
            req.extensions_mut().insert(SessionHash(signed_in.hash));
            req.extensions_mut()
                .insert(SessionWorkspace(signed_in.workspace));
        }
        None if !PUBLIC_PATHS.contains(&path.as_str()) => {
            let mut res = sign_in_required(&req);
            add_security_headers(&mut res, secure);
            if csrf_is_new {
                let _ = res.add_cookie(&cookie(CSRF_COOKIE, csrf, is_secure(req.request())));
            }
            return Ok(req.into_response(res).map_into_right_body());
        }
        None => {}
    }

    let mut res = next.call(req).await?;
    add_security_headers(res.response_mut(), secure);
    if csrf_is_new {
        let _ = res
            .response_mut()
            .add_cookie(&cookie(CSRF_COOKIE, csrf, secure));
    }
    Ok(res.map_into_left_body())
}

fn frame_ancestors(req: &ServiceRequest) -> Vec<String> {
    req.app_data::<web::Data<AppState>>()
        .map(|s| s.config.portal_frame_ancestors.clone())
        .unwrap_or_default()
}

/// A portal page (`/p/{session}/…`): the session in its path is the credential, with no
/// cookie (which a browser's third-party rules would drop inside another site's frame); its
/// CSRF token derives from the session, and is checked with the `Origin` as on every page.
/// A session that ended gets the page that says so; an error page leads back into the portal.
async fn portal<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
    token: String,
    secure: bool,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let ancestors = frame_ancestors(&req);
    let finish = |req: ServiceRequest, mut res: HttpResponse| {
        add_portal_headers(&mut res, secure, &ancestors);
        Ok(req.into_response(res).map_into_right_body())
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return finish(req, AppError::NotFound.error_response());
    };
    let csrf = crate::domain::portal::csrf_token(&token);
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let presented = presented_token(&mut req).await;
        if !(origin_ok(&req) && presented.is_some_and(|p| secure_eq(&p, &csrf))) {
            // The path holds the session's token: it is not logged.
            tracing::warn!(method = %req.method(), "portal request refused: CSRF check failed");
            return finish(req, csrf_rejected());
        }
    }
    let htmx = req.headers().contains_key("HX-Request");
    let base = format!("/p/{token}");
    match crate::app::portal::session(&state, &token).await {
        Err(e) => return finish(req, e.error_response()),
        Ok(Err(ended)) => return finish(req, super::portal::ended_page(ended, htmx)),
        Ok(Ok(session)) => {
            req.extensions_mut().insert(PortalAuth {
                session,
                base: base.clone(),
            });
            req.extensions_mut().insert(CsrfToken(csrf));
        }
    }
    let res = next.call(req).await?;
    let error_page = res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
        .filter(|_| !htmx)
        .map(|e| e.page(&base));
    let mut res = match error_page {
        Some(page) => res.into_response(page).map_into_right_body(),
        None => res.map_into_left_body(),
    };
    add_portal_headers(res.response_mut(), secure, &ancestors);
    Ok(res)
}

/// HEAD is answered as GET is, without the body (RFC 9110: wherever GET is, HEAD is too):
/// uptime monitors and caches ask `HEAD /healthz` or `HEAD /static/…`. The method is rewritten
/// before routing; the HTTP layer, which saw HEAD, leaves the body out and keeps its length.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(WasHead);
    }
    next.call(req).await
}
