//! Settings → API keys: list, create with a role (the key is shown once), revoke. The
//! instance's keys at `/settings/api-keys` (instance admins), a workspace's at
//! `/w/{workspace}/settings/api-keys` (its admins).

use super::confirm::ConfirmPage;
use super::forms::Form;
use super::page::{Ctx, Layout, Nav, WsCtx, render, render_status, see_other};
use crate::app::keys::Keyring;
use crate::app::{self, keys::CreateError};
use crate::domain::time;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::users::Role;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/api-keys", web::get().to(page))
        .route("/settings/api-keys", web::post().to(create))
        .route(
            "/settings/api-keys/{id}/revoke",
            web::get().to(revoke_confirm),
        )
        .route("/settings/api-keys/{id}/revoke", web::post().to(revoke));
}

struct KeyRow {
    id: i32,
    name: String,
    prefix: String,
    role: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct KeysPage {
    layout: Layout,
    /// Where these keys' pages are: empty for the instance's, `/w/…` for a workspace's.
    base: String,
    /// A workspace's keys: they reach it only.
    in_workspace: bool,
    keys: Vec<KeyRow>,
    new_key: Option<String>,
    name: String,
    role: String,
    name_error: Option<String>,
    notice: Option<&'static str>,
}

/// Whose keys a page shows: the instance's, or the workspace's of the path.
pub enum Place {
    Instance(Ctx, crate::app::Actor),
    Workspace(WsCtx),
}

impl Place {
    fn ring(&self) -> Keyring<'_> {
        match self {
            Place::Instance(_, actor) => Keyring::Instance(actor),
            Place::Workspace(w) => Keyring::Workspace(&w.scope),
        }
    }

    fn layout(&self, title: &str) -> Layout {
        match self {
            Place::Instance(ctx, _) => ctx.layout(title, Nav::ApiKeys),
            Place::Workspace(w) => w.layout(title, Nav::ApiKeys),
        }
    }

    /// A path of these keys' pages.
    fn link(&self, path: &str) -> String {
        match self {
            Place::Instance(..) => path.to_owned(),
            Place::Workspace(w) => w.link(path),
        }
    }
}

impl actix_web::FromRequest for Place {
    type Error = AppError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Place, AppError>>>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        if req.match_info().get("workspace").is_some() {
            let ws = WsCtx::from_request(req, payload);
            return Box::pin(async move { Ok(Place::Workspace(ws.await?)) });
        }
        let ctx = Ctx::from_request(req, payload).into_inner();
        Box::pin(async move {
            let ctx = ctx?;
            let actor = ctx.actor()?;
            Ok(Place::Instance(ctx, actor))
        })
    }
}

impl KeysPage {
    async fn new(state: &AppState, place: &Place) -> Result<KeysPage, AppError> {
        let keys = app::keys::list(state, place.ring()).await?;
        Ok(KeysPage {
            layout: place.layout("API keys"),
            base: place.link(""),
            in_workspace: matches!(place, Place::Workspace(_)),
            keys: keys
                .into_iter()
                .map(|k| KeyRow {
                    id: k.id,
                    name: k.name,
                    prefix: k.prefix,
                    role: k.role,
                    created: time::display(k.created_at),
                    last_used: k
                        .last_used_at
                        .map(time::display)
                        .unwrap_or_else(|| "Never".into()),
                })
                .collect(),
            new_key: None,
            name: String::new(),
            role: "admin".into(),
            name_error: None,
            notice: None,
        })
    }
}

#[derive(serde::Deserialize)]
struct NoticeQuery {
    #[serde(default)]
    notice: String,
}

async fn page(
    state: web::Data<AppState>,
    place: Place,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let mut page = KeysPage::new(&state, &place).await?;
    page.notice = (query.notice == "revoked")
        .then_some("API key revoked. Requests with it are refused from now on.");
    render(&page)
}

async fn create(
    state: web::Data<AppState>,
    place: Place,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let role = match form.get("role") {
        "" => Some(Role::Admin),
        r => Role::parse(r),
    };
    let created = match role {
        Some(role) => app::keys::create(&state, place.ring(), form.get("name"), role).await,
        None => Err(CreateError::Name(
            "Choose the role admin or support.".into(),
        )),
    };
    match created {
        // Shown in this response only: never stored or logged in clear.
        Ok((key, _)) => {
            let mut page = KeysPage::new(&state, &place).await?;
            page.new_key = Some(key);
            render(&page)
        }
        Err(CreateError::Name(message)) => {
            let mut page = KeysPage::new(&state, &place).await?;
            page.name = form.get("name").to_owned();
            page.role = form.get("role").to_owned();
            page.name_error = Some(message);
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(CreateError::Failed(e)) => Err(e),
    }
}

async fn revoke_confirm(
    state: web::Data<AppState>,
    place: Place,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    let key = app::keys::get_active(&state, place.ring(), super::page::number_id(&req)?).await?;
    render(
        &ConfirmPage::new(
            place.layout("Revoke API key"),
            "Revoke this API key?",
            "Every request made with it is refused from now on. This cannot be undone.",
            format!("{} ({}…)", key.name, key.prefix),
            place.link(&format!("/settings/api-keys/{}/revoke", key.id)),
            "Revoke key",
            place.link("/settings/api-keys"),
        )
        .danger(),
    )
}

async fn revoke(
    state: web::Data<AppState>,
    place: Place,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    app::keys::revoke(&state, place.ring(), super::page::number_id(&req)?).await?;
    Ok(see_other(&place.link("/settings/api-keys?notice=revoked")))
}
