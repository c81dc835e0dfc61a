//! Custom request headers of a webhook: sent with every attempt (Send Test included), sealed
//! at rest, masked in the Delivery Log, null to support keys, refused naming the header.

use crate::support::*;
use aethenox_webhooks::store::{self, users::Role};
use awc::http::StatusCode;
use serde_json::json;

#[actix_rt::test]
async fn custom_headers_go_out_with_every_attempt_and_are_kept_sealed_and_masked() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = crate::receiver::Receiver::start().await;
    let api = app.api(&app.api_key());
    let key = "k_live_0123456789abcdef";
    let res = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/h"), "events": ["call.missed"],
                   "headers": {"X-Api-Key": key, "X-Tenant": "acme"}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(res.json()["headers"]["X-Api-Key"], key);
    // Sealed at rest: the value is nowhere in the webhook's row.
    let stored = store::webhooks::get(&mut app.conn(), &dws(), &id).unwrap();
    assert!(!stored.headers.as_deref().unwrap().contains(key));
    // To a support key, null.
    let support = app.api(&app.api_key_with(Role::Support));
    let seen = support.get(&format!("/webhooks/{id}")).await.json();
    assert_eq!(seen["headers"], serde_json::Value::Null);

    let res = api
        .post("/events", json!({"type": "call.missed", "data": {}}))
        .await;
    let event = res.json()["id"].as_str().unwrap().to_owned();
    wait_for(10, "the delivery", || rx.count() == 1).await;
    let got = &rx.got()[0];
    assert_eq!(got.header("x-api-key"), key);
    assert_eq!(got.header("x-tenant"), "acme");
    assert!(
        !got.header("x-aethenox-signature").is_empty(),
        "the server's own headers too"
    );
    // The attempt recorded the value masked, never as sent.
    let delivery = app.deliveries_of(&event)[0].id.clone();
    wait_for(10, "the attempt", || !app.attempts(&delivery).is_empty()).await;
    let recorded = &app.attempts(&delivery)[0].request_headers;
    assert!(recorded.contains("••••cdef"), "{recorded}");
    assert!(!recorded.contains(key), "{recorded}");
    // Send Test carries them too.
    let res = api
        .post(
            &format!("/webhooks/{id}/test"),
            json!({"event_type": "call.missed"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(rx.got()[1].header("x-api-key"), key);

    // Changed and removed through PATCH; kept when absent.
    let res = api
        .patch(&format!("/webhooks/{id}"), json!({"description": "kept"}))
        .await;
    assert_eq!(res.json()["headers"]["X-Tenant"], "acme");
    let res = api
        .patch(
            &format!("/webhooks/{id}"),
            json!({"headers": {"X-Only": "one"}}),
        )
        .await;
    assert_eq!(res.json()["headers"], json!({"X-Only": "one"}));
    let res = api
        .patch(&format!("/webhooks/{id}"), json!({"headers": null}))
        .await;
    assert_eq!(res.json()["headers"], json!({}));

    // Refused, naming the header; nothing changes.
    for (headers, words) in [
        (json!({"Content-Type": "text/plain"}), "Content-Type"),
        (json!({"X-Aethenox-Signature": "0"}), "X-Aethenox-Signature"),
        (json!({"webhook-id": "1"}), "webhook-id"),
        (json!({"Bad Name": "x"}), "Bad Name"),
        (json!({"X-Note": "a\r\nX-Evil: 1"}), "X-Note"),
        (json!({"X-Big": "v".repeat(1025)}), "X-Big"),
    ] {
        let res = api
            .patch(&format!("/webhooks/{id}"), json!({"headers": headers}))
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{headers}");
        assert_eq!(res.error_field(), "headers");
        assert!(res.body.contains(words), "{}", res.body);
    }
    let many: serde_json::Map<String, serde_json::Value> =
        (0..21).map(|i| (format!("X-H{i}"), json!("v"))).collect();
    let res = api
        .patch(&format!("/webhooks/{id}"), json!({"headers": many}))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("at most 20"));
}
