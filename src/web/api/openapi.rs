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
        let mut doc = serde_json::to_value(&doc).unwrap_or_default();
        with_catalogue(&mut doc);
        serde_json::to_string(&doc).unwrap_or_default()
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.clone())
}

/// Every field that takes an event type lists the catalogue's (the server refuses any other).
fn with_catalogue(doc: &mut serde_json::Value) {
    let names: Vec<&str> = crate::domain::events::CATALOGUE
        .iter()
        .map(|e| e.name)
        .collect();
    let schemas = &mut doc["components"]["schemas"];
    for (schema, field, items) in [
        ("PublishEvent", "type", false),
        ("TestRequest", "event_type", false),
        ("CreateWebhook", "events", true),
        ("UpdateWebhook", "events", true),
    ] {
        let property = &mut schemas[schema]["properties"][field];
        let target = if items {
            &mut property["items"]
        } else {
            property
        };
        let mut values = serde_json::json!(names);
        let nullable = target["type"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "null"));
        if nullable {
            values.as_array_mut().unwrap().push(serde_json::Value::Null);
        }
        target["enum"] = values;
    }
}
