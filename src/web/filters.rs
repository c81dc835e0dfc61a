//! The webhook form's **Try it**: the payload filter as typed, tried on the samples of the
//! chosen event types and on data pasted in (an htmx part of the form).

use super::forms::Form;
use super::page::{WsCtx, render};
use crate::app::filters::{self, Trial};
use crate::error::AppError;
use actix_web::{HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/filter-test", web::post().to(try_filter));
}

#[derive(Template)]
#[template(path = "webhooks/_filter_result.html")]
struct FilterResult {
    trial: Trial,
}

async fn try_filter(ctx: WsCtx, form: Form) -> Result<HttpResponse, AppError> {
    let trial = filters::try_filter(
        form.get("filter"),
        form.get("filter_data"),
        &form.get_all("events"),
        ctx.scope.catalogue(),
    );
    render(&FilterResult { trial })
}
