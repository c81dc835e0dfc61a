//! The routing shape every /api/v1 resource shares.

use crate::error::{ApiError, AppError};
use actix_web::web;

/// A resource under /api/v1: add its routes; any other method answers 405 with `Allow`.
pub fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        Err::<actix_web::HttpResponse, _>(ApiError(AppError::MethodNotAllowed(allow)))
    }))
}

/// A list's `cursor`: absent or empty for the first page, else an id of `prefix` this API gave
/// out as `next_cursor`.
pub fn cursor(
    query: &crate::domain::params::Params,
    prefix: &str,
) -> Result<Option<String>, ApiError> {
    match query.get("cursor") {
        "" => Ok(None),
        c if crate::domain::ids::is_id(prefix, c) => Ok(Some(c.to_owned())),
        _ => Err(ApiError(AppError::validation(
            "cursor",
            "cursor is not one this API gave out",
        ))),
    }
}

/// The `{id}` of a webhook in a path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct WebhookPath {
    /// The webhook's id.
    #[param(
        pattern = "^wh_[0-9a-hjkmnp-tv-z]{26}$",
        example = "wh_01jdb6d9m0v8k3x4r5t6y7z8a9"
    )]
    id: String,
}

/// The `{id}` of a delivery in a path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct DeliveryPath {
    /// The delivery's id.
    #[param(
        pattern = "^dlv_[0-9a-hjkmnp-tv-z]{26}$",
        example = "dlv_01jdb6f2k8n4p6r8t0v2x4z6b8"
    )]
    id: String,
}

/// An operation of the document without the links of its answers (a copy of an operation
/// under another path: the links name the original's operations).
pub fn drop_links(op: &mut serde_json::Value) {
    if let Some(responses) = op["responses"].as_object_mut() {
        for answer in responses.values_mut() {
            if let Some(a) = answer.as_object_mut() {
                a.remove("links");
            }
        }
    }
}
