//! Settings → API keys: list, create with a role (the key is shown once), revoke. Administrators only.

use super::confirm::ConfirmPage;
use super::forms::Form;
use super::page::{Ctx, Layout, Nav, render, render_status, see_other};
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
    keys: Vec<KeyRow>,
    new_key: Option<String>,
    name: String,
    role: String,
    name_error: Option<String>,
    notice: Option<&'static str>,
}

impl KeysPage {
    async fn new(state: &AppState, ctx: &Ctx) -> Result<KeysPage, AppError> {
        let keys = app::keys::list(state, &ctx.actor()?).await?;
        Ok(KeysPage {
            layout: ctx.layout("API keys", Nav::ApiKeys),
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
    ctx: Ctx,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let mut page = KeysPage::new(&state, &ctx).await?;
    page.notice = (query.notice == "revoked")
        .then_some("API key revoked. Requests with it are refused from now on.");
    render(&page)
}

async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let role = match form.get("role") {
        "" => Some(Role::Admin),
        r => Role::parse(r),
    };
    let created = match role {
        Some(role) => app::keys::create(&state, &ctx.actor()?, form.get("name"), role).await,
        None => Err(CreateError::Name(
            "Choose the role admin or support.".into(),
        )),
    };
    match created {
        // Shown in this response only: never stored or logged in clear.
        Ok((key, _)) => {
            let mut page = KeysPage::new(&state, &ctx).await?;
            page.new_key = Some(key);
            render(&page)
        }
        Err(CreateError::Name(message)) => {
            let mut page = KeysPage::new(&state, &ctx).await?;
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
    ctx: Ctx,
    path: web::Path<i32>,
) -> Result<HttpResponse, AppError> {
    let key = app::keys::get_active(&state, &ctx.actor()?, *path).await?;
    render(
        &ConfirmPage::new(
            ctx.layout("Revoke API key", Nav::ApiKeys),
            "Revoke this API key?",
            "Every request made with it is refused from now on. This cannot be undone.",
            format!("{} ({}…)", key.name, key.prefix),
            format!("/settings/api-keys/{}/revoke", key.id),
            "Revoke key",
            "/settings/api-keys",
        )
        .danger(),
    )
}

async fn revoke(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<i32>,
) -> Result<HttpResponse, AppError> {
    app::keys::revoke(&state, &ctx.actor()?, *path).await?;
    Ok(see_other("/settings/api-keys?notice=revoked"))
}
