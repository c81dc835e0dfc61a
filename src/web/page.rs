//! What every page shares: the layout data, the request context and the render helper.

use crate::app::{Actor, Via};
use crate::error::AppError;
use crate::store::users::User;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, dev::Payload};
use askama::Template;
use std::future::{Ready, ready};

/// The CSRF token of this browser (see `guard`), put in request extensions by the guard.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// The signed-in user, put in request extensions by the guard.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

/// Which sidebar entry is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    None,
    Webhooks,
    Deliveries,
    Inboxes,
    ApiKeys,
    Users,
    Audit,
    Storage,
    Account,
}

/// The data `base.html` needs on every page.
pub struct Layout {
    pub title: String,
    pub csrf: String,
    pub user_email: Option<String>,
    pub is_admin: bool,
    pub nav: Nav,
}

/// Everything a page handler reads from the request besides its own inputs.
pub struct Ctx {
    pub user: Option<User>,
    pub csrf: String,
    pub is_htmx: bool,
    /// The peer address (not a forwarded header, which a client could forge).
    pub client_ip: Option<String>,
}

impl Ctx {
    pub fn layout(&self, title: impl Into<String>, nav: Nav) -> Layout {
        Layout {
            title: title.into(),
            csrf: self.csrf.clone(),
            user_email: self.user.as_ref().map(|u| u.email.clone()),
            is_admin: self.user.as_ref().is_some_and(User::is_admin),
            nav,
        }
    }

    pub fn user(&self) -> Result<&User, AppError> {
        self.user.as_ref().ok_or(AppError::Unauthorized)
    }

    /// The signed-in person, as use cases know them.
    pub fn actor(&self) -> Result<Actor, AppError> {
        let user = self.user()?;
        Ok(Actor {
            name: user.email.clone(),
            role: user.role(),
            via: Via::Browser { user_id: user.id },
            client_ip: self.client_ip.clone(),
        })
    }

    pub fn admin(&self) -> Result<&User, AppError> {
        let user = self.user()?;
        if user.is_admin() {
            Ok(user)
        } else {
            Err(AppError::Forbidden(
                "Only administrators can do this.".into(),
            ))
        }
    }
}

impl FromRequest for Ctx {
    type Error = AppError;
    type Future = Ready<Result<Ctx, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ext = req.extensions();
        ready(Ok(Ctx {
            user: ext.get::<CurrentUser>().map(|u| u.0.clone()),
            csrf: ext
                .get::<CsrfToken>()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
            is_htmx: req.headers().contains_key("HX-Request"),
            client_ip: req.peer_addr().map(|a| a.ip().to_string()),
        }))
    }
}

/// Renders a template as an HTML response; render failures become `AppError::Internal`.
pub fn render<T: Template>(template: &T) -> Result<HttpResponse, AppError> {
    render_status(StatusCode::OK, template)
}

pub fn render_status<T: Template>(
    status: StatusCode,
    template: &T,
) -> Result<HttpResponse, AppError> {
    let body = template.render()?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// A 303 to `location` (after a POST, so a reload does not post again).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Only same-site absolute paths may be used as a `next` target after sign-in.
pub fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control());
    if ok { next } else { "/webhooks" }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_targets_stay_on_site() {
        assert_eq!(safe_next("/webhooks/wh_1"), "/webhooks/wh_1");
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "",
            "javascript:alert(1)",
            "/a\r\nb",
        ] {
            assert_eq!(safe_next(bad), "/webhooks", "{bad}");
        }
    }
}
