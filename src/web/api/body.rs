//! JSON request bodies with errors that name the field at fault.

use crate::error::{ApiError, AppError};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

pub struct ApiJson<T>(pub T);

/// Turns a deserialisation failure into (field, message).
fn describe(err: serde_path_to_error::Error<serde_json::Error>) -> (String, String) {
    let path = err.path().to_string();
    let message = err.inner().to_string();
    // serde's message ends with a position that means nothing once the body is parsed.
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_string();
    let field = if path.is_empty() || path == "." {
        message.split('`').nth(1).unwrap_or("body").to_string()
    } else {
        path
    };
    (field, message)
}

/// Parses `body` as a JSON object into `T`.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        AppError::bad_request("invalid_json", format!("The body is not valid JSON: {e}"))
    })?;
    if !value.is_object() {
        return Err(AppError::bad_request(
            "invalid_json",
            "The body must be a JSON object.",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let (field, message) = describe(e);
        AppError::validation(field, message)
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = bytes
                .await
                .map_err(|_| ApiError(AppError::PayloadTooLarge))?;
            // No body at all means "no fields", which suits endpoints whose fields are
            // optional; white space alone is not JSON, and is refused like any other.
            let body: &[u8] = if body.is_empty() { b"{}" } else { &body };
            parse(body).map(ApiJson).map_err(ApiError)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        url: String,
        events: Vec<String>,
        enabled: Option<bool>,
    }

    fn field_of(body: &str) -> String {
        match parse::<T>(body.as_bytes()) {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(r#"{"events":[]}"#), "url");
        assert_eq!(field_of(r#"{"url":1,"events":[]}"#), "url");
        assert_eq!(field_of(r#"{"url":"x","events":[1]}"#), "events[0]");
        assert_eq!(
            field_of(r#"{"url":"x","events":[],"enabled":"yes"}"#),
            "enabled"
        );
        assert_eq!(field_of(r#"{"url":"x","events":[],"colour":1}"#), "colour");
        assert!(matches!(
            parse::<T>(b"[1]"),
            Err(AppError::BadRequest { .. })
        ));
        assert!(matches!(
            parse::<T>(b"{nope"),
            Err(AppError::BadRequest { .. })
        ));
        assert!(parse::<T>(br#"{"url":"x","events":["a"]}"#).is_ok());
    }
}
