//! The request and response examples of the OpenAPI document, made from the handlers' own
//! types: answers are built as the handlers build them and serialised; requests are read back
//! into their types by a unit test. An example cannot drift from what the server says or takes.

use super::audit::{AuditList, AuditResource};
use super::deliveries::{
    AttemptResource, AttemptResult, DeliveryDetail, DeliveryList, DeliveryResource,
};
use super::events::EventAccepted;
use super::filters::FilterTestResult;
use super::portal::PortalLink;
use super::webhooks::{WebhookList, WebhookResource};
use super::workspaces::{WorkspaceList, WorkspaceResource};
use serde_json::{Value, json};

/// The ids of the path parameters' examples (`resource.rs`), so the page reads as one story.
const WEBHOOK: &str = "wh_01jdb6d9m0v8k3x4r5t6y7z8a9";
const DELIVERY: &str = "dlv_01jdb6f2k8n4p6r8t0v2x4z6b8";
const EVENT: &str = "evt_order_4821";
const AT: &str = "2026-11-27T20:00:00Z";

/// (method, path, request body, [(status, answer)]) of one operation.
type Example = (
    &'static str,
    &'static str,
    Option<Value>,
    Vec<(&'static str, Value)>,
);

/// The examples of every operation with a JSON body.
fn catalogue() -> Vec<Example> {
    let attempt = AttemptResult {
        delivery_id: DELIVERY.into(),
        success: true,
        status_code: Some(204),
        duration_ms: 84,
        error: None,
    };
    vec![
        (
            "get",
            "/api/v1/webhooks",
            None,
            vec![(
                "200",
                value(&WebhookList {
                    data: vec![webhook()],
                    next_cursor: None,
                }),
            )],
        ),
        (
            "post",
            "/api/v1/webhooks",
            Some(json!({
                "url": "https://example.com/webhooks/aethenox",
                "events": ["message.received", "call.missed"],
                "description": "Orders team",
                "filter": {"amount": {"$gte": 100}},
                "headers": {"X-Api-Key": "k_live_4f8a9c"},
                "rate_limit": {"per_second": 50},
            })),
            vec![("201", value(&webhook()))],
        ),
        (
            "get",
            "/api/v1/webhooks/{id}",
            None,
            vec![("200", value(&webhook()))],
        ),
        (
            "patch",
            "/api/v1/webhooks/{id}",
            Some(json!({
                "events": ["message.received"],
                "enabled": false,
            })),
            vec![("200", value(&webhook()))],
        ),
        (
            "post",
            "/api/v1/webhooks/{id}/rotate-secret",
            Some(json!({"grace_period_seconds": 3600})),
            vec![("200", value(&webhook()))],
        ),
        (
            "post",
            "/api/v1/webhooks/{id}/test",
            Some(json!({"event_type": "call.missed"})),
            vec![("200", value(&attempt))],
        ),
        (
            "post",
            "/api/v1/events",
            Some(json!({
                "type": "message.received",
                "id": EVENT,
                "data": {"from": "+4915112345678", "body": "Is my order on its way?"},
            })),
            vec![(
                "202",
                value(&EventAccepted {
                    id: EVENT.into(),
                    deliveries: 2,
                }),
            )],
        ),
        (
            "get",
            "/api/v1/deliveries",
            None,
            vec![(
                "200",
                value(&DeliveryList {
                    data: vec![delivery()],
                    next_cursor: Some(DELIVERY.into()),
                }),
            )],
        ),
        (
            "get",
            "/api/v1/deliveries/{id}",
            None,
            vec![(
                "200",
                value(&DeliveryDetail {
                    delivery: delivery(),
                    payload: json!({
                        "id": EVENT, "type": "message.received", "created_at": AT,
                        "data": {"from": "+4915112345678", "body": "Is my order on its way?"},
                    }),
                    attempts: vec![AttemptResource {
                        attempted_at: AT.into(),
                        duration_ms: 212,
                        status_code: Some(500),
                        error_class: Some("http_status".into()),
                        error: Some("HTTP 500 Internal Server Error".into()),
                        request_headers: json!({"content-type": "application/json", "webhook-id": EVENT}),
                        response_headers: Some(json!({"content-type": "text/plain"})),
                        response_body: Some("database unavailable".into()),
                        response_truncated: false,
                        trigger: "automatic".into(),
                        triggered_by: None,
                    }],
                }),
            )],
        ),
        (
            "post",
            "/api/v1/deliveries/{id}/resend",
            None,
            vec![("202", value(&attempt))],
        ),
        (
            "get",
            "/api/v1/audit",
            None,
            vec![(
                "200",
                value(&AuditList {
                    data: vec![AuditResource {
                        id: 42,
                        at: AT.into(),
                        actor: "API key deploys".into(),
                        action: "webhook_created".into(),
                        target: Some(WEBHOOK.into()),
                        detail: Some("https://example.com/webhooks/aethenox".into()),
                        client_ip: Some("203.0.113.7".into()),
                    }],
                    next_cursor: Some("41".into()),
                }),
            )],
        ),
        (
            "get",
            "/api/v1/workspaces",
            None,
            vec![(
                "200",
                value(&WorkspaceList {
                    data: vec![workspace()],
                    next_cursor: None,
                }),
            )],
        ),
        (
            "post",
            "/api/v1/workspaces",
            Some(json!({"name": "Acme Corp", "uid": "acct_4821"})),
            vec![("201", value(&workspace()))],
        ),
        (
            "get",
            "/api/v1/workspaces/{workspace}",
            None,
            vec![("200", value(&workspace()))],
        ),
        (
            "put",
            "/api/v1/workspaces/{workspace}",
            Some(json!({"name": "Acme Corp"})),
            vec![("200", value(&workspace())), ("201", value(&workspace()))],
        ),
        (
            "patch",
            "/api/v1/workspaces/{workspace}",
            Some(json!({"name": "Acme Corporation"})),
            vec![("200", value(&workspace()))],
        ),
        (
            "post",
            "/api/v1/workspaces/{workspace}/portal-links",
            Some(json!({
                "role": "admin",
                "expires_in": 3600,
                "user": "ana@acme.example",
                "accent": "#1d4ed8",
            })),
            vec![(
                "201",
                value(&PortalLink {
                    url: "https://hooks.example.com/portal/3q2-7wXkQeTz1vYd0Jm8bPfRcLsAuNhG5iKoE4yW6xZ"
                        .into(),
                    expires_at: "2026-11-27T21:00:00Z".into(),
                }),
            )],
        ),
        (
            "post",
            "/api/v1/filter-test",
            Some(json!({
                "filter": {"amount": {"$gte": 100}, "contact.country": {"$in": ["PT", "ES"]}},
                "data": {"amount": 250, "contact": {"country": "PT"}},
            })),
            vec![("200", value(&FilterTestResult { matches: true }))],
        ),
    ]
}

fn workspace() -> WorkspaceResource {
    WorkspaceResource {
        id: "ws_01jdb6d9m0v8k3x4r5t6y7z8a9".into(),
        uid: Some("acct_4821".into()),
        name: "Acme Corp".into(),
        created_at: AT.into(),
        webhooks: 3,
        failing_webhooks: 1,
    }
}

fn webhook() -> WebhookResource {
    WebhookResource {
        id: WEBHOOK.into(),
        url: "https://example.com/webhooks/aethenox".into(),
        description: "Orders team".into(),
        events: vec!["message.received".into(), "call.missed".into()],
        enabled: true,
        disabled_reason: None,
        secret: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwJ8QjNq2T6xA=".into()),
        created_at: AT.into(),
        updated_at: AT.into(),
        filter: Some(json!({"amount": {"$gte": 100}})),
        rate_limit: Some(super::webhooks::RateLimit { per_second: 50 }),
        ordered: false,
        headers: Some([("X-Api-Key".to_owned(), "k_live_4f8a9c".to_owned())].into()),
    }
}

fn delivery() -> DeliveryResource {
    DeliveryResource {
        id: DELIVERY.into(),
        webhook_id: WEBHOOK.into(),
        event_id: EVENT.into(),
        event_type: "message.received".into(),
        status: "failed".into(),
        attempt_count: 8,
        next_attempt_at: None,
        last_status_code: Some(500),
        last_error: Some("HTTP 500 Internal Server Error".into()),
        is_test: false,
        created_at: AT.into(),
    }
}

/// Puts each example in the document, next to the schema it illustrates (only where the
/// document has that body: an example never adds an operation or an answer).
pub fn add(doc: &mut Value) {
    let json = "/content/application~1json";
    for (method, path, request, answers) in catalogue() {
        let Some(op) = doc["paths"]
            .get_mut(path)
            .and_then(|ops| ops.get_mut(method))
        else {
            continue;
        };
        if let (Some(body), Some(content)) =
            (request, op.pointer_mut(&format!("/requestBody{json}")))
        {
            content["example"] = body;
        }
        for (status, answer) in answers {
            if let Some(content) = op.pointer_mut(&format!("/responses/{status}{json}")) {
                content["example"] = answer;
            }
        }
    }
}

fn value(answer: &impl serde::Serialize) -> Value {
    serde_json::to_value(answer).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::api::body::parse;
    use crate::web::api::deliveries::TestRequest;
    use crate::web::api::events::PublishEvent;
    use crate::web::api::webhooks::{CreateWebhook, RotateSecret, UpdateWebhook};
    use crate::web::api::workspaces::{CreateWorkspace, PutWorkspace, UpdateWorkspace};

    #[test]
    fn every_request_example_is_read_by_its_handlers_type() {
        let mut seen = 0;
        for (method, path, request, _) in catalogue() {
            let Some(body) = request else { continue };
            let bytes = body.to_string().into_bytes();
            let read = match (method, path) {
                ("post", "/api/v1/webhooks") => parse::<CreateWebhook>(&bytes).map(drop),
                ("patch", "/api/v1/webhooks/{id}") => parse::<UpdateWebhook>(&bytes).map(drop),
                ("post", "/api/v1/webhooks/{id}/rotate-secret") => {
                    parse::<RotateSecret>(&bytes).map(drop)
                }
                ("post", "/api/v1/webhooks/{id}/test") => parse::<TestRequest>(&bytes).map(drop),
                ("post", "/api/v1/events") => parse::<PublishEvent>(&bytes).map(drop),
                ("post", "/api/v1/workspaces") => parse::<CreateWorkspace>(&bytes).map(drop),
                ("put", "/api/v1/workspaces/{workspace}") => {
                    parse::<PutWorkspace>(&bytes).map(drop)
                }
                ("patch", "/api/v1/workspaces/{workspace}") => {
                    parse::<UpdateWorkspace>(&bytes).map(drop)
                }
                ("post", "/api/v1/filter-test") => {
                    parse::<crate::web::api::filters::FilterTest>(&bytes).map(drop)
                }
                ("post", "/api/v1/workspaces/{workspace}/portal-links") => {
                    parse::<crate::web::api::portal::CreatePortalLink>(&bytes).map(drop)
                }
                other => panic!("no request type known for {other:?}"),
            };
            assert!(read.is_ok(), "{method} {path}: {body}");
            seen += 1;
        }
        assert_eq!(seen, 10);
    }
}
