//! /api/v1/openapi.json, generated from the handlers and types above by utoipa.

use super::{audit, deliveries, events, filters, portal, webhooks, workspaces};
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
        workspaces::list_workspaces,
        workspaces::create_workspace,
        workspaces::get_workspace,
        workspaces::put_workspace,
        workspaces::update_workspace,
        workspaces::delete_workspace,
        portal::create_portal_link,
        portal::revoke_portal_sessions,
        filters::test_filter,
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
        workspaces::WorkspaceResource,
        workspaces::WorkspaceList,
        workspaces::CreateWorkspace,
        workspaces::PutWorkspace,
        workspaces::UpdateWorkspace,
        portal::CreatePortalLink,
        portal::PortalLink,
        filters::FilterTest,
        filters::FilterTestResult,
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
        with_filter_lists(&mut doc);
        with_common_answers_and_links(&mut doc);
        super::examples::add(&mut doc);
        with_workspace_paths(&mut doc);
        super::operational::add_to(&mut doc);
        serde_json::to_string(&doc).unwrap_or_default()
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.clone())
}

/// What every operation can answer beyond its own responses: 403 to a support key where an
/// admin key is needed, 413 to a body over the limit, 503 when manual attempts or list queries
/// are at their bound; the bodies that may be left out; and links from a created webhook and a listed delivery to the operations that take
/// its id (for generated clients and stateful testing).
fn with_common_answers_and_links(doc: &mut serde_json::Value) {
    let error = serde_json::json!({"$ref": "#/components/schemas/ErrorBody"});
    let answer = |text: &str| serde_json::json!({"description": text, "content": {"application/json": {"schema": error}}});
    let admin_only = [
        ("post", "/api/v1/webhooks"),
        ("patch", "/api/v1/webhooks/{id}"),
        ("delete", "/api/v1/webhooks/{id}"),
        ("post", "/api/v1/webhooks/{id}/rotate-secret"),
        ("post", "/api/v1/events"),
        ("post", "/api/v1/workspaces"),
        ("put", "/api/v1/workspaces/{workspace}"),
        ("patch", "/api/v1/workspaces/{workspace}"),
        ("delete", "/api/v1/workspaces/{workspace}"),
    ];
    let list_queries = [("get", "/api/v1/deliveries"), ("get", "/api/v1/audit")];
    let busy = [
        ("post", "/api/v1/webhooks/{id}/test"),
        ("post", "/api/v1/deliveries/{id}/resend"),
    ];
    // Sent without a body, these do what an empty object asks (nothing changed, a new secret
    // with the default grace, the default sample).
    let body_optional = [
        ("patch", "/api/v1/webhooks/{id}"),
        ("post", "/api/v1/webhooks/{id}/rotate-secret"),
        ("post", "/api/v1/webhooks/{id}/test"),
        ("patch", "/api/v1/workspaces/{workspace}"),
        ("post", "/api/v1/workspaces/{workspace}/portal-links"),
    ];
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, ops) in paths.iter_mut() {
        let Some(ops) = ops.as_object_mut() else {
            continue;
        };
        for (method, op) in ops.iter_mut() {
            let has_body = op.get("requestBody").is_some();
            if body_optional.contains(&(method.as_str(), path.as_str())) {
                op["requestBody"]["required"] = serde_json::json!(false);
            }
            let responses = &mut op["responses"];
            if has_body && responses.get("413").is_none() {
                responses["413"] = answer("The body is larger than the server accepts.");
            }
            if admin_only.contains(&(method.as_str(), path.as_str())) {
                responses["403"] =
                    answer("The API key has the support role; this needs an admin key.");
            }
            if busy.contains(&(method.as_str(), path.as_str())) {
                responses["503"] =
                    answer("Too many manual attempts in flight; retry after Retry-After seconds.");
            }
            if list_queries.contains(&(method.as_str(), path.as_str())) {
                responses["503"] =
                    answer("Too many list queries at once; retry after Retry-After seconds.");
            }
            // Whatever needs the database may find it away or full.
            if !path.ends_with("/openapi.json") && !path.ends_with("/filter-test") {
                let database = "The database cannot be reached (database_unavailable) or its storage is full (storage_full): nothing was changed; retry after Retry-After seconds.";
                match responses["503"]["description"].as_str() {
                    Some(busy) => {
                        let both = format!("{busy} Or: {database}");
                        responses["503"]["description"] = both.into();
                    }
                    None => responses["503"] = answer(database),
                }
            }
        }
    }
    let link =
        |op: &str, from: &str| serde_json::json!({"operationId": op, "parameters": {"id": from}});
    doc["paths"]["/api/v1/webhooks"]["post"]["responses"]["201"]["links"] = serde_json::json!({
        "GetWebhook": link("get_webhook", "$response.body#/id"),
        "UpdateWebhook": link("update_webhook", "$response.body#/id"),
        "RotateWebhookSecret": link("rotate_webhook_secret", "$response.body#/id"),
        "TestWebhook": link("test_webhook", "$response.body#/id"),
        "DeleteWebhook": link("delete_webhook", "$response.body#/id"),
    });
    doc["paths"]["/api/v1/deliveries"]["get"]["responses"]["200"]["links"] = serde_json::json!({
        "GetDelivery": link("get_delivery", "$response.body#/data/0/id"),
        "ResendDelivery": link("resend_delivery", "$response.body#/data/0/id"),
    });
}

/// The query parameters that take one of a fixed list (the empty value means "any"), and the
/// time bounds.
fn with_filter_lists(doc: &mut serde_json::Value) {
    let classes: Vec<&str> = crate::app::deliveries::CLASSES
        .iter()
        .map(|(name, _)| *name)
        .collect();
    let actions = crate::app::audit::ACTIONS.to_vec();
    // A named list, or empty ("any").
    for (name, schema) in [("event_type", "EventType"), ("status", "DeliveryStatus")] {
        let Some(params) = doc["paths"]["/api/v1/deliveries"]["get"]["parameters"].as_array_mut()
        else {
            continue;
        };
        for p in params.iter_mut().filter(|p| p["name"] == name) {
            p["schema"] = serde_json::json!({"anyOf": [
                {"$ref": format!("#/components/schemas/{schema}")},
                {"type": "string", "maxLength": 0},
            ]});
        }
    }
    for (path, name, list) in [
        ("/api/v1/deliveries", "status_class", &classes),
        ("/api/v1/audit", "action", &actions),
    ] {
        let Some(params) = doc["paths"][path]["get"]["parameters"].as_array_mut() else {
            continue;
        };
        for p in params.iter_mut().filter(|p| p["name"] == name) {
            let mut values = vec![""];
            values.extend(list.iter());
            p["schema"]["enum"] = serde_json::json!(values);
        }
    }
    // Time bounds: an RFC 3339 date-time or a date (the server also reads the form's
    // `2026-11-27T20:00`); empty means "no bound", as for the lists.
    let time_bound = serde_json::json!({"anyOf": [
        {"type": "string", "format": "date-time"},
        {"type": "string", "format": "date"},
        {"type": "string", "maxLength": 0},
    ]});
    for path in ["/api/v1/deliveries", "/api/v1/audit"] {
        let Some(params) = doc["paths"][path]["get"]["parameters"].as_array_mut() else {
            continue;
        };
        for p in params
            .iter_mut()
            .filter(|p| p["name"] == "from" || p["name"] == "to")
        {
            p["schema"] = time_bound.clone();
        }
    }
}

/// The event catalogue and the delivery statuses as named schemas (`EventType`,
/// `DeliveryStatus`) that every field and filter taking one refers to, so a generated client
/// gets one type for each list; a webhook's URL has the URL policy's pattern.
fn with_catalogue(doc: &mut serde_json::Value) {
    use serde_json::json;
    let schemas = &mut doc["components"]["schemas"];
    schemas["EventType"] = json!({
        "type": "string",
        "description": "An event type of the catalogue.",
        "enum": catalogue_names(),
    });
    schemas["DeliveryStatus"] = json!({
        "type": "string",
        "description": "Where a delivery stands: pending (waiting for its next attempt), sending, succeeded, failed.",
        "enum": delivery_statuses(),
    });
    let event_type = json!({"$ref": "#/components/schemas/EventType"});
    let status = json!({"$ref": "#/components/schemas/DeliveryStatus"});
    for (schema, field, items) in [
        ("PublishEvent", "type", false),
        ("TestRequest", "event_type", false),
        ("CreateWebhook", "events", true),
        ("UpdateWebhook", "events", true),
        ("WebhookResource", "events", true),
        ("DeliveryResource", "event_type", false),
    ] {
        let property = &mut schemas[schema]["properties"][field];
        let target = if items {
            &mut property["items"]
        } else {
            property
        };
        let nullable = target["type"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "null"));
        *target = if nullable {
            json!({"oneOf": [event_type, {"type": "null"}]})
        } else {
            event_type.clone()
        };
    }
    schemas["DeliveryResource"]["properties"]["status"] = status;
    for schema in ["CreateWebhook", "UpdateWebhook"] {
        schemas[schema]["properties"]["url"]["pattern"] =
            crate::domain::url_policy::schema_pattern().into();
        // Custom headers: HTTP token names, values of one line.
        schemas[schema]["properties"]["headers"] = json!({
            "type": ["object", "null"],
            "maxProperties": crate::domain::headers::MAX_HEADERS,
            "propertyNames": {"pattern": "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", "maxLength": crate::domain::headers::MAX_NAME_CHARS},
            "additionalProperties": {"type": "string", "maxLength": crate::domain::headers::MAX_VALUE_BYTES, "pattern": "^[\\t\\u0020-\\u007e]*$"},
        });
    }
}

/// Everything of a workspace also under `/api/v1/workspaces/{workspace}/…`: each operation of
/// workspace data copied there with the `{workspace}` parameter and its own operation id
/// (`workspace_…`), so generated clients have both.
fn with_workspace_paths(doc: &mut serde_json::Value) {
    let Some(paths) = doc["paths"].as_object() else {
        return;
    };
    let workspace = serde_json::json!({
        "name": "workspace",
        "in": "path",
        "required": true,
        "description": "The workspace's id (`ws_…`) or uid.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
        "example": "default",
    });
    let mut copies = Vec::new();
    for (path, ops) in paths {
        let Some(rest) = path.strip_prefix("/api/v1") else {
            continue;
        };
        if rest.starts_with("/workspaces") || rest == "/openapi.json" || rest == "/filter-test" {
            continue;
        }
        let mut ops = ops.clone();
        for op in ops.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
            if let Some(id) = op["operationId"].as_str() {
                op["operationId"] = format!("workspace_{id}").into();
            }
            let mut params = op["parameters"].as_array().cloned().unwrap_or_default();
            params.insert(0, workspace.clone());
            op["parameters"] = params.into();
            if op["responses"].get("404").is_none() {
                op["responses"]["404"] = serde_json::json!({
                    "description": "No such workspace, or one this key may not reach.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                });
            }
            // Links name the first release's operations, which take the same ids.
            super::resource::drop_links(op);
        }
        copies.push((format!("/api/v1/workspaces/{{workspace}}{rest}"), ops));
    }
    let paths = doc["paths"].as_object_mut().expect("paths is an object");
    paths.extend(copies);
}

/// The statuses a delivery is shown with.
fn delivery_statuses() -> Vec<&'static str> {
    vec![
        crate::store::deliveries::PENDING,
        crate::store::deliveries::SENDING,
        crate::store::deliveries::SUCCEEDED,
        crate::store::deliveries::FAILED,
    ]
}

/// The event types of the catalogue, in its order.
fn catalogue_names() -> Vec<&'static str> {
    crate::domain::events::CATALOGUE
        .iter()
        .map(|e| e.name)
        .collect()
}
