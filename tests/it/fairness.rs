//! Fair delivery: one webhook's backlog does not hold up a fresh event to another webhook, and
//! one workspace's attempts in flight are capped (`--max-per-workspace`), so another
//! workspace's fresh events go out while that workspace's endpoint hangs.

use crate::receiver::{Receiver, Reply};
use crate::support::*;
use serde_json::json;

#[actix_rt::test]
async fn a_fresh_event_to_a_quiet_webhook_goes_before_another_webhooks_backlog() {
    let app = TestApp::delivering(|c| {
        c.max_in_flight = 4;
        c.max_per_endpoint = 4;
    })
    .await;
    let rx = Receiver::start().await;
    rx.script((0..4).map(|_| Reply::status(204).held()));
    let api = app.api(&app.api_key());
    app.webhook(&rx.url("/busy"), &["message.sent"]);
    app.webhook(&rx.url("/quiet"), &["call.missed"]);
    for _ in 0..40 {
        api.post("/events", json!({"type": "message.sent", "data": {}}))
            .await;
    }
    wait_for(10, "every slot held by the busy webhook", || {
        rx.in_flight() == 4
    })
    .await;
    api.post("/events", json!({"type": "call.missed", "data": {}}))
        .await;
    rx.release();
    wait_for(20, "everything", || rx.count() == 41).await;
    let at = rx.got().iter().position(|r| r.path == "/quiet").unwrap();
    // The first slot that frees goes to the webhook with nothing in flight.
    assert!(at < 9, "the fresh event went out as request {at} of 41");
}

#[actix_rt::test]
async fn a_workspace_whose_endpoint_hangs_holds_only_its_share_of_the_slots() {
    let app = TestApp::delivering(|c| {
        c.max_in_flight = 8;
        c.max_per_endpoint = 8;
        c.max_per_workspace = 3;
    })
    .await;
    let (hanging, fine) = (Receiver::start().await, Receiver::start().await);
    hanging.always(Reply::status(204).held());
    let api = app.api(&app.api_key());
    api.call("PUT", "/workspaces/acct_slow", Some(r#"{"name": "Slow"}"#))
        .await;
    for (ws, url) in [
        ("acct_slow", hanging.url("/h")),
        ("default", fine.url("/f")),
    ] {
        let res = api
            .post(
                &format!("/workspaces/{ws}/webhooks"),
                json!({"url": url, "events": ["message.sent"]}),
            )
            .await;
        assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    }
    for _ in 0..20 {
        api.post(
            "/workspaces/acct_slow/events",
            json!({"type": "message.sent", "data": {}}),
        )
        .await;
    }
    wait_for(10, "the slow workspace's share in flight", || {
        hanging.in_flight() == 3
    })
    .await;
    api.post("/events", json!({"type": "message.sent", "data": {}}))
        .await;
    wait_for(10, "the other workspace's fresh event", || {
        fine.count() == 1
    })
    .await;
    assert_eq!(hanging.in_flight(), 3, "never more than its share");
    hanging.release();
    wait_for(20, "the slow workspace's backlog", || hanging.count() == 20).await;
    assert!(hanging.max_in_flight() <= 3);
}

#[actix_rt::test]
async fn a_single_workspace_installation_has_every_slot_to_itself() {
    let app = TestApp::delivering(|c| {
        c.max_in_flight = 6;
        c.max_per_endpoint = 6;
        c.max_per_workspace = 2;
    })
    .await;
    let rx = Receiver::start().await;
    rx.always(Reply::status(204).held());
    let api = app.api(&app.api_key());
    app.webhook(&rx.url("/one"), &["message.sent"]);
    for _ in 0..10 {
        api.post("/events", json!({"type": "message.sent", "data": {}}))
            .await;
    }
    // No other workspace to share with: the cap per workspace does not apply.
    wait_for(10, "every slot in use", || rx.in_flight() == 6).await;
    rx.release();
    wait_for(20, "the rest", || rx.count() == 10).await;
}
