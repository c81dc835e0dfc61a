//! One error type that knows its HTTP meaning. Browser routes render it as a page;
//! `/api/v1` wraps it in `ApiError`, which renders the JSON error contract.

pub use crate::db::fault::Fault;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("sign in required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The resource exists but does not answer this method; the methods it answers.
    #[error("this resource answers only {0}")]
    MethodNotAllowed(&'static str),
    /// A bounded resource has no room now; the client should retry after the given seconds.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after_secs: u64,
    },
    /// The database cannot be reached or is full: 503 with `Retry-After`, never 500.
    #[error("{}", .0.message())]
    Database(Fault),
    #[error("internal error")]
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for AppError {
    /// A database fault stays one through the `anyhow` a caller wrapped it in.
    fn from(e: anyhow::Error) -> Self {
        match fault_in(&e) {
            Some(fault) => AppError::Database(fault),
            None => AppError::Internal(e),
        }
    }
}

impl crate::db::fault::HasFault for AppError {
    fn fault(&self) -> Option<Fault> {
        AppError::fault(self)
    }
}

/// The database fault somewhere in an error's chain, if there is one.
pub fn fault_in(e: &anyhow::Error) -> Option<Fault> {
    e.chain().find_map(|cause| {
        if let Some(d) = cause.downcast_ref::<diesel::result::Error>() {
            return crate::db::fault::of_error(d);
        }
        if let Some(p) = cause.downcast_ref::<diesel::r2d2::PoolError>() {
            return Some(crate::db::fault::of_pool(p));
        }
        cause.downcast_ref::<AppError>().and_then(AppError::fault)
    })
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::BadRequest { code, .. } => code,
            AppError::Validation { .. } => "validation_failed",
            AppError::Conflict(_) => "conflict",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::Busy { .. } => "busy",
            AppError::Database(fault) => fault.code(),
            AppError::Internal(_) => "internal",
        }
    }

    /// The database fault this error is, if it is one.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            AppError::Database(fault) => Some(*fault),
            _ => None,
        }
    }

    /// `Retry-After` for a busy answer.
    fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::Busy {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            AppError::Database(fault) => Some(fault.retry_after_secs()),
            _ => None,
        }
    }

    fn log_if_internal(&self) {
        if let AppError::Internal(e) = self {
            tracing::error!(error = %format!("{e:#}"), "request failed");
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound,
            // PostgreSQL refuses a NUL character in text (SQLite stores it): a value no stored
            // row can match, sent by a client, not a fault of the server.
            diesel::result::Error::DatabaseError(_, ref info)
                if info.message().contains("0x00") =>
            {
                AppError::BadRequest {
                    code: "invalid_text",
                    message: "A value contains a NUL character.".into(),
                }
            }
            other => match crate::db::fault::of_error(&other) {
                Some(fault) => AppError::Database(fault),
                None => AppError::Internal(other.into()),
            },
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Database(crate::db::fault::of_pool(&e))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(anyhow::anyhow!("template failed to render: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: String,
    /// Where the workspace's pages are ("" for the signed-in browser's current one).
    home: &'a str,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Busy { .. } | AppError::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log_if_internal();
        self.page("")
    }
}

impl AppError {
    /// The error page, its way back leading to `{home}/webhooks` (a portal's own pages).
    pub fn page(&self, home: &str) -> HttpResponse {
        let status = self.status_code();
        let (title, message) = match self {
            AppError::NotFound => ("Not found", "There is nothing at this address.".to_string()),
            AppError::Unauthorized => ("Sign in required", "Sign in to continue.".to_string()),
            AppError::Forbidden(m) => ("Not allowed", m.clone()),
            AppError::Internal(_) => (
                "Something went wrong",
                "The server could not complete this request; it has been logged.".to_string(),
            ),
            AppError::PayloadTooLarge => ("Too large", self.to_string()),
            AppError::MethodNotAllowed(_) => ("Not allowed", self.to_string()),
            AppError::Conflict(m) => ("Conflict", m.clone()),
            AppError::BadRequest { message, .. } => ("Bad request", message.clone()),
            AppError::Validation { .. } => ("Invalid input", self.to_string()),
            AppError::Busy { message, .. } => ("Busy", message.clone()),
            AppError::Database(Fault::Unavailable) => (
                "Database unavailable",
                "The database cannot be reached right now, so this page cannot be shown. \
                 Nothing was changed; try again in a few seconds."
                    .to_string(),
            ),
            AppError::Database(Fault::Full) => (
                "Storage full",
                "The disk the database is on is full, so nothing can be saved right now. \
                 Nothing was changed; an administrator needs to free space."
                    .to_string(),
            ),
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message,
            home,
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("{} {}", status.as_u16(), title));
        let mut res = HttpResponse::build(status);
        if let Some(secs) = self.retry_after() {
            res.insert_header((actix_web::http::header::RETRY_AFTER, secs));
        }
        let mut res = res.content_type("text/html; charset=utf-8").body(body);
        self.mark(&mut res);
        res
    }

    /// Leaves the fault on the response, where the health middleware reads it.
    fn mark(&self, res: &mut HttpResponse) {
        if let Some(fault) = self.fault() {
            res.extensions_mut().insert(fault);
        }
    }
}

/// The JSON form of `AppError`, for `/api/v1`: `{"error":{"code","message","field"?}}`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log_if_internal();
        let message = match &self.0 {
            AppError::NotFound => "No such resource.".to_string(),
            AppError::Unauthorized => {
                "A valid API key is required (Authorization: Bearer <key>).".to_string()
            }
            AppError::Internal(_) => "The server could not complete this request.".to_string(),
            other => other.to_string(),
        };
        let mut error = serde_json::json!({ "code": self.0.code(), "message": message });
        if let AppError::Validation { field, .. } = &self.0 {
            error["field"] = serde_json::Value::String(field.clone());
        }
        let mut resp = HttpResponse::build(self.status_code());
        if matches!(self.0, AppError::Unauthorized) {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let Some(secs) = self.0.retry_after() {
            resp.insert_header((actix_web::http::header::RETRY_AFTER, secs));
        }
        if let AppError::MethodNotAllowed(allow) = self.0 {
            resp.insert_header((actix_web::http::header::ALLOW, allow));
        }
        let mut resp = resp.json(serde_json::json!({ "error": error }));
        self.0.mark(&mut resp);
        resp
    }
}
