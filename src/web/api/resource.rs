//! The routing shape every /api/v1 resource shares.

use crate::error::{ApiError, AppError};
use actix_web::web;

/// A resource under /api/v1: add its routes; any other method answers 405 with `Allow`.
pub fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        Err::<actix_web::HttpResponse, _>(ApiError(AppError::MethodNotAllowed(allow)))
    }))
}
