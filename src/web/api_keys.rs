//! Settings → API keys: list, create with a role (the key is shown once), revoke. Administrators only.

use super::audit;
use super::forms::Form;
use super::page::{Ctx, Layout, Nav, render, render_status, see_other};
use super::webhooks::ConfirmPage;
use crate::AppState;
use crate::domain::{ids, time};
use crate::error::AppError;
use crate::store::{self, users::Role};
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
        let keys = crate::db::run(&state.pool, |conn| {
            store::api_keys::list_active(conn).map_err(AppError::from)
        })
        .await?;
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
    ctx.admin()?;
    let role = match form.get("role") {
        "" => Some(Role::Admin),
        r => Role::parse(r),
    };
    let name = ids::check_key_name(form.get("name"));
    let (name, role) = match (name, role) {
        (Ok(name), Some(role)) => (name, role),
        (name, _) => {
            let mut page = KeysPage::new(&state, &ctx).await?;
            page.name = form.get("name").to_owned();
            page.role = form.get("role").to_owned();
            page.name_error = Some(
                name.err()
                    .unwrap_or_else(|| "Choose the role admin or support.".into()),
            );
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let key = ids::new_api_key();
    let stored = key.clone();
    let key_name = name.clone();
    let created = crate::db::run(&state.pool, move |conn| {
        conn.immediate_transaction(|conn| {
            if store::api_keys::count_active(conn)? >= store::api_keys::MAX_ACTIVE {
                return Ok(None);
            }
            store::api_keys::create_for_key(conn, &key_name, &stored, role, time::now_ms())
                .map(Some)
        })
        .map_err(AppError::from)
    })
    .await?;
    let Some(created) = created else {
        let mut page = KeysPage::new(&state, &ctx).await?;
        page.name = name;
        page.role = role.as_str().to_owned();
        page.name_error = Some(format!(
            "There are {} active keys already: revoke the ones no longer used first.",
            store::api_keys::MAX_ACTIVE
        ));
        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    audit::by_user(
        &state,
        &ctx,
        "api_key_created",
        Some(&format!("{} ({}…)", name, created.prefix)),
        Some(role.as_str()),
    )
    .await;
    // Shown in this response only: never stored or logged in clear.
    let mut page = KeysPage::new(&state, &ctx).await?;
    page.new_key = Some(key);
    render(&page)
}

async fn load_key(state: &AppState, id: i32) -> Result<store::api_keys::ApiKey, AppError> {
    let key = crate::db::run(&state.pool, move |conn| {
        store::api_keys::get(conn, id).map_err(AppError::from)
    })
    .await?;
    if key.revoked_at.is_some() {
        Err(AppError::NotFound)
    } else {
        Ok(key)
    }
}

async fn revoke_confirm(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<i32>,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let key = load_key(&state, *path).await?;
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
    ctx.admin()?;
    let key = load_key(&state, *path).await?;
    let id = key.id;
    crate::db::run(&state.pool, move |conn| {
        store::api_keys::revoke(conn, id, time::now_ms()).map_err(AppError::from)
    })
    .await?;
    state.api_key_cache.clear();
    audit::by_user(
        &state,
        &ctx,
        "api_key_revoked",
        Some(&format!("{} ({}…)", key.name, key.prefix)),
        None,
    )
    .await;
    Ok(see_other("/settings/api-keys?notice=revoked"))
}
