//! /api/v1/openapi.json, generated from the handlers and types above by utoipa.

use super::{audit, deliveries, events, webhooks};
use actix_web::HttpResponse;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "aethenox-webhooks", description = "Webhooks of AethenoxAI: manage endpoints whose deliveries are signed, retried and logged."),
    paths(
        webhooks::list_webhooks,
        webhooks::create_webhook,
        webhooks::get_webhook,
        webhooks::update_webhook,
        webhooks::delete_webhook,
        webhooks::rotate_webhook_secret,
        events::publish_event,
        deliveries::list_deliveries,
        deliveries::get_delivery,
        deliveries::resend_delivery,
        deliveries::test_webhook,
        audit::list_audit,
    ),
    components(schemas(
        webhooks::WebhookResource,
        webhooks::WebhookList,
        webhooks::CreateWebhook,
        webhooks::UpdateWebhook,
        webhooks::RotateSecret,
        webhooks::ErrorBody,
        webhooks::ErrorDetail,
        events::PublishEvent,
        events::EventAccepted,
        deliveries::DeliveryResource,
        deliveries::DeliveryList,
        deliveries::DeliveryDetail,
        deliveries::AttemptResource,
        deliveries::AttemptResult,
        deliveries::TestRequest,
        audit::AuditResource,
        audit::AuditList,
    )),
    modifiers(&BearerKeys)
)]
pub struct ApiDoc;

struct BearerKeys;

impl utoipa::Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn spec() -> HttpResponse {
    static JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = JSON.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        serde_json::to_string(&doc).unwrap_or_default()
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.clone())
}
