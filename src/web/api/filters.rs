//! POST /api/v1/filter-test: whether a payload filter matches some event data, or what is wrong
//! with it (the same parser a webhook's filter goes through when it is saved).

use super::auth::ApiKeyAuth;
use super::body::ApiJson;
use super::webhooks::ErrorBody;
use crate::domain::filter::Filter;
use crate::error::{ApiError, AppError};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource::resource("/filter-test", "POST").route(web::post().to(test_filter)),
    );
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterTest {
    /// A payload filter, as a webhook's `filter` takes it.
    #[schema(value_type = Object, example = json!({"amount": {"$gte": 100}, "contact.country": {"$in": ["PT", "ES"]}}))]
    pub filter: serde_json::Value,
    /// An event's `data` to match it against.
    #[schema(value_type = Object, example = json!({"amount": 250, "contact": {"country": "PT"}}))]
    pub data: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FilterTestResult {
    pub matches: bool,
}

/// A filter's error as a 422 naming `filter` (the message names the path and the operator).
fn invalid(e: &crate::domain::filter::FilterError) -> AppError {
    AppError::validation("filter", e.to_string())
}

/// Test a payload filter against event data (any key).
#[utoipa::path(post, path = "/api/v1/filter-test", tag = "webhooks", request_body = FilterTest,
    responses((status = 200, body = FilterTestResult), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "The filter is not valid: the message names its path and operator", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn test_filter(
    _auth: ApiKeyAuth,
    body: ApiJson<FilterTest>,
) -> Result<HttpResponse, ApiError> {
    if !body.0.data.is_object() {
        return Err(ApiError(AppError::validation(
            "data",
            "data must be a JSON object, as an event's data is",
        )));
    }
    let filter = Filter::parse(&body.0.filter).map_err(|e| invalid(&e))?;
    Ok(HttpResponse::Ok().json(FilterTestResult {
        matches: filter.matches(&body.0.data),
    }))
}
