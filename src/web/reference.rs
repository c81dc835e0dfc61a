//! The API reference, `/api/reference`: the OpenAPI document the server serves at
//! `/api/v1/openapi.json`, rendered in the browser by Swagger UI (from npm, embedded under
//! `static/vendor/swagger-ui`; see tests/npm). Readable without signing in, like the document;
//! signed in, it shows inside the admin UI.

use super::page::{Ctx, Layout, Nav, render};
use crate::error::AppError;
use actix_web::{HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/reference", web::get().to(page));
}

#[derive(Template)]
#[template(path = "api_reference.html")]
struct ReferencePage {
    layout: Layout,
}

async fn page(ctx: Ctx) -> Result<HttpResponse, AppError> {
    render(&ReferencePage {
        layout: ctx.layout("API reference", Nav::ApiKeys),
    })
}
