//! What every page shares: the layout data, the request context and the render helper.

use crate::app::scope::Scope;
use crate::app::{Actor, Reach, Via};
use crate::error::AppError;
use crate::state::AppState;
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

/// The hash of the session token this request carries, for sign-out (put there by the guard).
#[derive(Debug, Clone)]
pub struct SessionHash(pub String);

/// The workspace (id) the session was last in, if any (put there by the guard).
#[derive(Debug, Clone)]
pub struct SessionWorkspace(pub Option<String>);

/// A live portal session and the base of its pages (`/p/<token>`), put in request extensions
/// by the guard on portal paths.
#[derive(Debug, Clone)]
pub struct PortalAuth {
    pub session: crate::app::portal::PortalSession,
    pub base: String,
}

/// In request extensions when the request was a HEAD answered as a GET (see
/// `guard::head_as_get`): a GET that changes something (opening a portal link) must not happen
/// for it.
#[derive(Debug, Clone, Copy)]
pub struct WasHead;

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
    Workspaces,
    Operational,
}

/// The data `base.html` needs on every page.
pub struct Layout {
    pub title: String,
    pub csrf: String,
    pub user_email: Option<String>,
    pub is_admin: bool,
    pub nav: Nav,
    /// Where the workspace's pages are (`/w/default`); empty on pages of the instance, whose
    /// links go through the first release's paths to the browser's current workspace.
    pub ws: String,
    /// Where the sidebar's Automation and Settings links go: `ws`, except on the operational
    /// webhooks' pages, whose sidebar leads back to the current workspace.
    pub nav_ws: String,
    /// The workspace's name, on its pages.
    pub ws_name: Option<String>,
    /// The instance's operational webhooks (Settings → Operational webhooks).
    pub operational: bool,
    /// Why the database cannot take writes now, said on every page until it can.
    pub database: Option<&'static str>,
    /// Instance users: the workspace switcher and the Workspaces page.
    pub instance: bool,
    /// Instance admins: the instance's own settings (users, API keys, storage).
    pub instance_admin: bool,
    /// A customer portal page: the workspace's Automation pages and nothing else.
    pub portal: bool,
    /// The portal link's accent colour has a stylesheet (`{ws}/accent.css`).
    pub accent: bool,
}

/// Everything a page handler reads from the request besides its own inputs.
pub struct Ctx {
    pub user: Option<User>,
    pub csrf: String,
    pub is_htmx: bool,
    /// The peer address (not a forwarded header, which a client could forge).
    pub client_ip: Option<String>,
    /// On a portal page: its session.
    pub portal: Option<PortalAuth>,
    /// The database fault in force, if any (the banner).
    pub database: Option<crate::db::fault::Fault>,
}

impl Ctx {
    pub fn layout(&self, title: impl Into<String>, nav: Nav) -> Layout {
        let instance = self.user.as_ref().is_some_and(|u| u.instance);
        let admin = self.user.as_ref().is_some_and(User::is_admin);
        Layout {
            title: title.into(),
            csrf: self.csrf.clone(),
            user_email: self.user.as_ref().map(|u| u.email.clone()),
            is_admin: admin && instance,
            nav,
            ws: String::new(),
            nav_ws: String::new(),
            ws_name: None,
            operational: false,
            database: self.database.map(|f| match f {
                crate::db::fault::Fault::Full => {
                    "The database's storage is full: nothing can be saved (webhooks, settings, \
                     published events) until space is freed. Deliveries resume by themselves."
                }
                crate::db::fault::Fault::Unavailable => {
                    "The database cannot be reached: changes cannot be saved and events are \
                     not accepted until it is back. Deliveries resume by themselves."
                }
            }),
            instance,
            instance_admin: admin && instance,
            portal: self.portal.is_some(),
            accent: self
                .portal
                .as_ref()
                .is_some_and(|p| p.session.accent.is_some()),
        }
    }

    pub fn user(&self) -> Result<&User, AppError> {
        self.user.as_ref().ok_or(AppError::Unauthorized)
    }

    /// The signed-in person (or the portal's customer), as use cases know them.
    pub fn actor(&self) -> Result<Actor, AppError> {
        if let Some(portal) = &self.portal {
            return Ok(portal.session.actor(self.client_ip.as_deref()));
        }
        let user = self.user()?;
        Ok(Actor {
            name: user.email.clone(),
            role: user.role(),
            via: Via::Browser { user_id: user.id },
            reach: if user.instance {
                Reach::Instance
            } else {
                Reach::Member { user_id: user.id }
            },
            client_ip: self.client_ip.clone(),
        })
    }

    /// Instance administrators only (instance settings); to anyone else they do not exist.
    pub fn admin(&self) -> Result<&User, AppError> {
        let user = self.user()?;
        if !user.instance {
            return Err(AppError::NotFound);
        }
        if user.is_admin() {
            Ok(user)
        } else {
            Err(AppError::Forbidden(
                "Only administrators can do this.".into(),
            ))
        }
    }
}

/// A page of one workspace: the request context and the scope (workspace and role) resolved
/// from the `{workspace}` of the path and the signed-in user. Another workspace is not found.
pub struct WsCtx {
    pub ctx: Ctx,
    pub scope: Scope,
}

impl std::ops::Deref for WsCtx {
    type Target = Ctx;
    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}

impl WsCtx {
    pub fn layout(&self, title: impl Into<String>, nav: Nav) -> Layout {
        let mut layout = self.ctx.layout(title, nav);
        layout.ws = self.scope.base();
        layout.is_admin = self.scope.is_admin();
        if self.scope.is_operational() {
            layout.operational = true;
            layout.nav = Nav::Operational;
        } else {
            layout.nav_ws = self.scope.base();
            layout.ws_name = Some(self.scope.workspace().name.clone());
        }
        layout
    }

    /// Administrators of this workspace only.
    pub fn admin(&self) -> Result<(), AppError> {
        self.scope.admin()
    }

    /// A path of this workspace: `link("/webhooks")` is `/w/default/webhooks`.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.scope.base())
    }
}

impl FromRequest for WsCtx {
    type Error = AppError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<WsCtx, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let ctx = Ctx::from_request(req, payload).into_inner();
        let portal_key = ctx
            .as_ref()
            .ok()
            .and_then(|c| c.portal.as_ref())
            .map(|p| p.session.workspace_id.clone());
        let key = portal_key.or_else(|| req.match_info().get("workspace").map(str::to_owned));
        let operational = req
            .app_data::<actix_web::web::Data<OperationalPages>>()
            .is_some();
        let state = req.app_data::<actix_web::web::Data<AppState>>().cloned();
        let ext = req.extensions();
        let session = ext.get::<SessionHash>().map(|h| h.0.clone());
        let current = ext.get::<SessionWorkspace>().and_then(|w| w.0.clone());
        drop(ext);
        Box::pin(async move {
            let ctx = ctx?;
            let state =
                state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("app state missing")))?;
            let actor = ctx.actor()?;
            if operational && ctx.portal.is_none() {
                let scope = crate::app::scope::operational(&state, &actor).await?;
                return Ok(WsCtx { ctx, scope });
            }
            let scope =
                crate::app::scope::resolve(&state, &actor, &key.ok_or(AppError::NotFound)?).await?;
            if let Some(portal) = &ctx.portal {
                let scope = scope.with_base(portal.base.clone());
                return Ok(WsCtx { ctx, scope });
            }
            if let Some(hash) = session
                && current.as_deref() != Some(scope.ws().as_str())
            {
                let remembered =
                    crate::app::sessions::remember_workspace(&state, &hash, scope.ws().as_str())
                        .await;
                // On a full disk the page is still shown; the browser's place is not kept.
                if let Err(e) = remembered
                    && e.fault() != Some(crate::db::fault::Fault::Full)
                {
                    return Err(e);
                }
            }
            Ok(WsCtx { ctx, scope })
        })
    }
}

/// Marks the routes under `/operational`: the same Automation pages as a workspace's, in the
/// scope of the operational webhooks (instance admins only).
pub struct OperationalPages;

/// A numeric `{id}` of a path (users, API keys); anything else is not found.
pub fn number_id(req: &HttpRequest) -> Result<i32, AppError> {
    req.match_info()
        .get("id")
        .and_then(|id| id.parse().ok())
        .ok_or(AppError::NotFound)
}

/// The `{id}` of a path (in a workspace's pages, beside `{workspace}`).
pub struct IdPath(pub String);

impl FromRequest for IdPath {
    type Error = AppError;
    type Future = Ready<Result<IdPath, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.match_info()
                .get("id")
                .map(|id| IdPath(id.to_owned()))
                .ok_or(AppError::NotFound),
        )
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
            portal: ext.get::<PortalAuth>().cloned(),
            database: req
                .app_data::<actix_web::web::Data<AppState>>()
                .and_then(|s| s.health.current()),
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
