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
    let id = res.id();
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
    let event = res.id();
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

#[actix_rt::test]
async fn the_form_adds_keeps_masked_reveals_and_removes_custom_headers() {
    let app = TestApp::spawn_with(|c| c.allow_private_targets = true).await;
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let key = "k_live_0123456789abcdef";
    let base = [
        ("url", "http://127.0.0.1:9/form"),
        ("events", "message.sent"),
    ];
    let with = |rows: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, &str)> = base.to_vec();
        for (n, v) in rows {
            f.push(("header_name", n));
            f.push(("header_value", v));
        }
        f
    };
    // A new name without a value, and a reserved one: refused, kept as typed, nothing stored.
    let res = admin
        .post(
            &in_default_workspace("/webhooks"),
            &with(&[("X-Api-Key", key), ("X-Tenant", "")]),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(res.body.contains("id=\"headers-error\""));
    assert!(
        res.body.contains("Enter a value for X-Tenant"),
        "{}",
        res.body
    );
    assert!(res.body.contains("value=\"X-Tenant\""), "kept as typed");
    let res = admin
        .post(
            &in_default_workspace("/webhooks"),
            &with(&[("Content-Type", "text/plain")]),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body.contains("Content-Type cannot be set"),
        "{}",
        res.body
    );
    assert_eq!(app.webhook_count(), 0);

    let res = admin
        .post(
            &in_default_workspace("/webhooks"),
            &with(&[("X-Api-Key", key), ("X-Tenant", "acme-tenant-01"), ("", "")]),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let id = res.location_webhook_id();
    let api = app.api(&app.api_key());
    let stored = api.get(&format!("/webhooks/{id}")).await.json()["headers"].clone();
    assert_eq!(
        stored,
        json!({"X-Api-Key": key, "X-Tenant": "acme-tenant-01"})
    );

    // Settings: names shown, values masked, never in the page.
    let settings = in_default_workspace(&format!("/webhooks/{id}/settings"));
    let page = admin.get(&settings).await;
    assert!(page.body.contains("value=\"X-Api-Key\""));
    assert!(
        page.body.contains("placeholder=\"••••cdef\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains(key) && !page.body.contains("acme-tenant-01"));
    let overview = admin
        .get(&in_default_workspace(&format!("/webhooks/{id}")))
        .await;
    assert!(overview.body.contains("<code>X-Tenant</code>"));
    assert!(!overview.body.contains(key));

    // Saved with one value left empty (kept), one changed, and a name cleared (removed).
    let res = admin
        .post(
            &settings,
            &with(&[("X-Api-Key", ""), ("X-Tenant", "beta"), ("", "")]),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let stored = api.get(&format!("/webhooks/{id}")).await.json()["headers"].clone();
    assert_eq!(stored, json!({"X-Api-Key": key, "X-Tenant": "beta"}));
    let res = admin.post(&settings, &with(&[("X-Api-Key", "")])).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let stored = api.get(&format!("/webhooks/{id}")).await.json()["headers"].clone();
    assert_eq!(stored, json!({"X-Api-Key": key}));

    // Reveal shows the values to an admin, and the audit log says so; support may not.
    let reveal = format!("{settings}/reveal-headers");
    let res = admin.post(&reveal, &with(&[("X-Api-Key", "")])).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.body.contains(&format!("value=\"{key}\"")));
    let audit = api.get("/audit?action=headers_revealed").await.json();
    assert_eq!(audit["data"][0]["target"], id.as_str(), "{audit}");
    let support = app.signed_in(SUPPORT_EMAIL).await;
    let res = support.post(&reveal, &[]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(!res.body.contains(key));
}
