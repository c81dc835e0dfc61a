//! Request bodies as URL-encoded parameters (`domain::params::Params`, here called `Form`).

use crate::error::AppError;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use std::future::Future;
use std::pin::Pin;

pub use crate::domain::params::Params as Form;

/// The largest form or JSON body any route accepts.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(MAX_BODY_BYTES)
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
