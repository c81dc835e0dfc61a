//! Settings → API keys: list, create (the key is shown once), revoke. Administrators only.

use super::forms::Form;
use super::page::{Ctx, Layout, Nav, render, render_status, see_other};
use super::webhooks::ConfirmPage;
use crate::AppState;
use crate::domain::{ids, time};
use crate::error::AppError;
use crate::store;
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
    name_error: Option<String>,
    notice: Option<&'static str>,
}

async fn keys(state: &AppState) -> Result<Vec<KeyRow>, AppError> {
    let keys = crate::db::run(&state.pool, |conn| {
        store::api_keys::list_active(conn).map_err(AppError::from)
    })
    .await?;
    Ok(keys
        .into_iter()
        .map(|k| KeyRow {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            created: time::display(k.created_at),
            last_used: k
                .last_used_at
                .map(time::display)
                .unwrap_or_else(|| "Never".into()),
        })
        .collect())
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
    render(&KeysPage {
        layout: ctx.layout("API keys", Nav::ApiKeys),
        keys: keys(&state).await?,
        new_key: None,
        name: String::new(),
        name_error: None,
        notice: (query.notice == "revoked")
            .then_some("API key revoked. Requests with it are refused from now on."),
    })
}

async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    form: Form,
) -> Result<HttpResponse, AppError> {
    let user = ctx.admin()?;
    match ids::check_key_name(form.get("name")) {
        Ok(name) => {
            let key = ids::new_api_key();
            let stored = key.clone();
            let created = crate::db::run(&state.pool, move |conn| {
                store::api_keys::create_for_key(conn, &name, &stored, time::now_ms())
                    .map_err(AppError::from)
            })
            .await?;
            tracing::info!(
                api_key_id = created.id,
                user_id = user.id,
                "API key created"
            );
            // Shown in this response only: never stored or logged in clear.
            render(&KeysPage {
                layout: ctx.layout("API keys", Nav::ApiKeys),
                keys: keys(&state).await?,
                new_key: Some(key),
                name: String::new(),
                name_error: None,
                notice: None,
            })
        }
        Err(message) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &KeysPage {
                layout: ctx.layout("API keys", Nav::ApiKeys),
                keys: keys(&state).await?,
                new_key: None,
                name: form.get("name").to_owned(),
                name_error: Some(message),
                notice: None,
            },
        ),
    }
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
    render(&ConfirmPage {
        layout: ctx.layout("Revoke API key", Nav::ApiKeys),
        heading: "Revoke this API key?".into(),
        message: "Every request made with it is refused from now on. This cannot be undone.".into(),
        subject: format!("{} ({}…)", key.name, key.prefix),
        action: format!("/settings/api-keys/{}/revoke", key.id),
        button: "Revoke key",
        cancel: "/settings/api-keys".into(),
        danger: true,
        ask_grace: false,
        grace_choices: &[],
    })
}

async fn revoke(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<i32>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.admin()?;
    let id = *path;
    let n = crate::db::run(&state.pool, move |conn| {
        store::api_keys::revoke(conn, id, time::now_ms()).map_err(AppError::from)
    })
    .await?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    state.api_key_cache.clear();
    tracing::info!(api_key_id = id, user_id = user.id, "API key revoked");
    Ok(see_other("/settings/api-keys?notice=revoked"))
}
