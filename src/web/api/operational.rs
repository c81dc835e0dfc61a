//! /api/v1/operational-webhooks: the instance's operational webhooks (`webhook.disabled`,
//! `delivery.exhausted` of every workspace), for instance admin keys. The same handlers and
//! fields as a workspace's webhooks, in the operational scope that `auth::resolve_scope`
//! gives these paths; in the OpenAPI document, their own operations and schemas.

use super::resource::resource;
use super::webhooks::{
    create_webhook, delete_webhook, get_webhook, list_webhooks, rotate_webhook_secret,
    update_webhook,
};
use actix_web::web;
use serde_json::{Value, json};

const PATH: &str = "/operational-webhooks";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/operational-webhooks", "GET, POST")
            .route(web::get().to(list_webhooks))
            .route(web::post().to(create_webhook)),
    )
    .service(
        resource("/operational-webhooks/{id}", "GET, PATCH, DELETE")
            .route(web::get().to(get_webhook))
            .route(web::patch().to(update_webhook))
            .route(web::delete().to(delete_webhook)),
    )
    .service(
        resource("/operational-webhooks/{id}/rotate-secret", "POST")
            .route(web::post().to(rotate_webhook_secret)),
    );
}

/// Copies the webhook operations to `/api/v1/operational-webhooks…` (operation ids
/// `operational_…`), their schemas to `Operational…` ones whose events are the operational
/// types, with examples of those, and what these paths answer to other keys.
pub fn add_to(doc: &mut Value) {
    let names: Vec<&str> = crate::domain::events::OPERATIONAL
        .iter()
        .map(|e| e.name)
        .collect();
    let schemas = &mut doc["components"]["schemas"];
    schemas["OperationalEventType"] = json!({
        "type": "string",
        "description": "An operational event type: what the instance tells the platform.",
        "enum": names,
    });
    let renamed = [
        ("WebhookResource", "OperationalWebhook"),
        ("WebhookList", "OperationalWebhookList"),
        ("CreateWebhook", "CreateOperationalWebhook"),
        ("UpdateWebhook", "UpdateOperationalWebhook"),
    ];
    for (from, to) in renamed {
        let mut schema = schemas[from].clone();
        retarget(&mut schema, &renamed);
        if let Some(events) = schema["properties"].get_mut("events") {
            events["items"] = json!({"$ref": "#/components/schemas/OperationalEventType"});
            if events.get("example").is_some() {
                events["example"] = json!(names);
            }
        }
        schemas[to] = schema;
    }
    let Some(paths) = doc["paths"].as_object() else {
        return;
    };
    let mut copies = Vec::new();
    for (path, ops) in paths {
        let Some(rest) = path.strip_prefix("/api/v1/webhooks") else {
            continue;
        };
        if rest.ends_with("/test") {
            continue;
        }
        let mut ops = ops.clone();
        retarget(&mut ops, &renamed);
        for op in ops.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
            if let Some(id) = op["operationId"].as_str() {
                op["operationId"] = format!("operational_{id}").into();
            }
            op["tags"] = json!(["operational webhooks"]);
            if let Some(example) = op.pointer_mut("/requestBody/content/application~1json/example")
                && example.get("events").is_some()
            {
                example["events"] = json!(names);
            }
            let error = json!({"$ref": "#/components/schemas/ErrorBody"});
            op["responses"]["403"] = json!({"description": "The API key has the support role; operational webhooks need an instance admin key.", "content": {"application/json": {"schema": error}}});
            op["responses"]["404"] = json!({"description": "Not found; to a workspace's key, these paths do not exist.", "content": {"application/json": {"schema": error}}});
            super::resource::drop_links(op);
        }
        copies.push((format!("/api/v1{PATH}{rest}"), ops));
    }
    let paths = doc["paths"].as_object_mut().expect("paths is an object");
    paths.extend(copies);
}

/// Every `$ref` to a renamed schema, pointed at its new name.
fn retarget(value: &mut Value, renamed: &[(&str, &str)]) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "$ref"
                    && let Some(r) = v.as_str()
                    && let Some((_, to)) = renamed
                        .iter()
                        .find(|(from, _)| r == format!("#/components/schemas/{from}"))
                {
                    *v = json!(format!("#/components/schemas/{to}"));
                } else {
                    retarget(v, renamed);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| retarget(v, renamed)),
        _ => {}
    }
}
