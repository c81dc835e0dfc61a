//! URL-encoded forms as ordered pairs, so repeated fields (one per ticked event) survive.

use crate::error::AppError;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use std::future::Future;
use std::pin::Pin;

/// The largest form or JSON body any route accepts.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(MAX_BODY_BYTES)
}

#[derive(Debug, Clone, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }
    /// The first value of `name`, or "" when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
    pub fn get_all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl FromRequest for Form {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Form, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = bytes.await.map_err(|_| AppError::PayloadTooLarge)?;
            Ok(Form::parse(&body))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_repeated_fields_in_order() {
        let f =
            Form::parse(b"events=message.sent&url=https%3A%2F%2Fx.io&events=call.missed&d=%3Cb%3E");
        assert_eq!(f.get_all("events"), ["message.sent", "call.missed"]);
        assert_eq!(f.get("url"), "https://x.io");
        assert_eq!(f.get("d"), "<b>");
        assert_eq!(f.get("missing"), "");
    }
}
