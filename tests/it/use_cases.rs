//! One rule per action, whichever front asks: the page and the API read the Delivery Log's
//! filters with one parser, and an action taken through either writes the same audit entry.

use crate::support::*;
use aethenox_webhooks::store;
use awc::http::StatusCode;
use serde_json::json;

#[actix_rt::test]
async fn a_cursor_this_server_did_not_give_out_is_refused_on_the_page_and_in_the_api() {
    let app = TestApp::spawn().await;
    let key = app.api_key();
    let b = app.signed_in(SUPPORT_EMAIL).await;
    for bad in ["dlv_x", "abc", "wh_01jdb6d9m0v8k3x4r5t6y7z8a9"] {
        let page = b.get(&format!("/deliveries?before={bad}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "page {bad}");
        assert!(
            page.body
                .contains("This page of the log does not exist; start again from the first page."),
            "{bad}"
        );
        let api = app
            .api(&key)
            .get(&format!("/deliveries?cursor={bad}"))
            .await;
        assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY, "api {bad}");
        assert_eq!(api.json()["error"]["field"], "cursor");
        assert!(
            api.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("This page of the log does not exist; start again from the first page."),
            "{}",
            api.body
        );
    }
    // The page's other messages are the API's too, each naming the API's parameter.
    for (q, field, message) in [
        ("status=lost", "status", "Choose a status from the list."),
        (
            "status_class=9xx",
            "status_class",
            "Choose a response class from the list.",
        ),
        (
            "webhook_id=x",
            "webhook_id",
            "Choose a webhook from the list.",
        ),
    ] {
        let res = app.api(&key).get(&format!("/deliveries?{q}")).await;
        assert_eq!(res.json()["error"]["field"], field, "{q}");
        assert!(
            res.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{q}: {}",
            res.body
        );
    }
}

fn audit_entries(app: &TestApp, action: &str) -> Vec<store::audit::AuditEntry> {
    let filter = store::audit::AuditFilter {
        action: Some(action.into()),
        ..Default::default()
    };
    store::audit::page(&mut app.conn(), &crate::support::dws(), true, &filter, 100).unwrap()
}

#[actix_rt::test]
async fn the_page_and_the_api_record_the_same_audit_entry_for_the_same_action() {
    let app = TestApp::spawn().await;
    let key = app.api_key();
    let b = app.signed_in(ADMIN_EMAIL).await;
    let (from_page, _) = app.webhook("https://example.com/a", &["message.sent"]);
    let (from_api, _) = app.webhook("https://example.com/b", &["message.sent"]);
    let res = b
        .post(
            &format!("/webhooks/{from_page}/rotate-secret"),
            &[("grace_period_seconds", "3600")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = app
        .api(&key)
        .post(
            &format!("/webhooks/{from_api}/rotate-secret"),
            json!({"grace_period_seconds": 3600}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let entries = audit_entries(&app, "secret_rotated");
    assert_eq!(entries.len(), 2);
    let api_entry = entries
        .iter()
        .find(|e| e.target.as_deref() == Some(&from_api))
        .unwrap();
    let page_entry = entries
        .iter()
        .find(|e| e.target.as_deref() == Some(&from_page))
        .unwrap();
    assert_eq!(api_entry.actor, "API key tests");
    assert_eq!(page_entry.actor, ADMIN_EMAIL);
    assert_eq!(
        api_entry.detail, page_entry.detail,
        "the same detail either way"
    );
    assert_eq!(api_entry.detail.as_deref(), Some("grace 3600 s"));
    assert!(api_entry.client_ip.is_some() && page_entry.client_ip.is_some());
    // Disabling says who did it, in the words of each front.
    b.post(&format!("/webhooks/{from_page}/disable"), &[]).await;
    let res = app
        .api(&key)
        .patch(&format!("/webhooks/{from_api}"), json!({"enabled": false}))
        .await;
    assert_eq!(res.json()["disabled_reason"], "disabled through the API");
    let page_webhook =
        store::webhooks::get(&mut app.conn(), &crate::support::dws(), &from_page).unwrap();
    assert_eq!(
        page_webhook.disabled_reason.as_deref(),
        Some("disabled by admin@example.com")
    );
}
