//! Operational webhooks: the instance tells the platform when a webhook of any workspace is
//! disabled automatically or a delivery fails for good, signed and logged as any delivery,
//! never about the operational webhooks' own failures; managed by instance admins only,
//! through the API and Settings → Operational webhooks.

use crate::receiver::*;
use crate::support::*;
use aethenox_webhooks::domain::workspace::{OPERATIONAL_ID, WorkspaceId};
use aethenox_webhooks::store::{self, users::Role};
use awc::http::StatusCode;
use serde_json::json;
use std::time::Duration;

const OPS: &str = "/operational-webhooks";

/// The operational webhooks' deliveries, oldest first.
fn ops_deliveries(app: &TestApp) -> Vec<store::deliveries::Delivery> {
    let filter = store::delivery_log::LogFilter::default();
    let page =
        store::delivery_log::log_page(&mut app.conn(), &WorkspaceId::operational(), &filter, 1000)
            .unwrap();
    page.into_iter().rev().map(|row| row.delivery).collect()
}

#[actix_rt::test]
async fn disabled_webhooks_and_exhausted_deliveries_are_told_to_operational_webhooks() {
    let app = TestApp::delivering(|c| c.retry_schedule = vec![Duration::from_millis(50)]).await;
    let instance = app.api(&app.api_key());
    let told = Receiver::start().await;
    let res = instance
        .post(
            OPS,
            json!({"url": told.url("/ops"), "events": ["webhook.disabled", "delivery.exhausted"],
                "description": "platform alerts"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let ops = res.json();
    let secret = ops["secret"].as_str().unwrap().to_owned();
    // One that fails for good itself: its exhausted deliveries are never told (no loops).
    let broken = Receiver::start().await;
    broken.always(Reply::status(500));
    let res = instance
        .post(
            OPS,
            json!({"url": broken.url("/ops"), "events": ["delivery.exhausted"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let broken_id = res.id();

    // A workspace with a uid, a webhook answering 500 and one answering 410.
    let res = instance
        .post("/workspaces", json!({"name": "Acme", "uid": "acct_77"}))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let acme = WorkspaceId::from_stored(res.id());
    let failing = Receiver::start().await;
    failing.always(Reply::status(500));
    let gone = Receiver::start().await;
    gone.always(Reply::status(410));
    let res = instance
        .post(
            "/workspaces/acct_77/webhooks",
            json!({"url": failing.url("/a"), "events": ["message.sent"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let failing_id = res.id();
    let res = instance
        .post(
            "/workspaces/acct_77/webhooks",
            json!({"url": gone.url("/b"), "events": ["call.missed"]}),
        )
        .await;
    let gone_id = res.id();
    let res = instance
        .post(
            "/workspaces/acct_77/events",
            json!({"type": "message.sent", "id": "evt_sent_1", "data": {}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    instance
        .post(
            "/workspaces/acct_77/events",
            json!({"type": "call.missed", "id": "evt_missed_1", "data": {}}),
        )
        .await;

    // 500 twice (the schedule's one retry) → exhausted; 410 → exhausted and disabled.
    wait_for(20, "three operational events", || told.count() >= 3).await;
    let got = told.got();
    let mut bodies: Vec<serde_json::Value> = got.iter().map(|r| r.json()).collect();
    bodies.sort_by_key(|b| b["data"]["delivery_id"].as_str().map(str::to_owned));
    for r in &got {
        assert!(
            aethenox_signature_ok(r, &secret),
            "signed with its own secret"
        );
        assert_eq!(r.header("x-aethenox-workspace"), OPERATIONAL_ID);
        assert!(["webhook.disabled", "delivery.exhausted"].contains(&r.header("x-aethenox-event")));
    }
    let exhausted: Vec<&serde_json::Value> = bodies
        .iter()
        .filter(|b| b["type"] == "delivery.exhausted")
        .collect();
    assert_eq!(exhausted.len(), 2, "{bodies:?}");
    let sent = exhausted
        .iter()
        .find(|b| b["data"]["event_id"] == "evt_sent_1")
        .expect("the 500s' delivery");
    let delivery_id = store::deliveries::for_event(&mut app.conn(), &acme, "evt_sent_1").unwrap()
        [0]
    .id
    .clone();
    assert_eq!(
        sent["data"],
        json!({"workspace": "acct_77", "webhook_id": failing_id, "delivery_id": delivery_id,
            "event_id": "evt_sent_1", "event_type": "message.sent",
            "last_status_code": 500, "last_error": "HTTP 500"})
    );
    let disabled = bodies
        .iter()
        .find(|b| b["type"] == "webhook.disabled")
        .expect("webhook.disabled");
    assert_eq!(
        disabled["data"],
        json!({"workspace": "acct_77", "webhook_id": gone_id, "url": gone.url("/b"),
            "reason": "the endpoint answered 410 Gone"})
    );

    // The broken operational webhook's own deliveries fail for good and tell nobody: once
    // both are failed, a further exhaustion is the only new event.
    wait_for(
        20,
        "the broken operational webhook's deliveries to fail",
        || {
            let all = ops_deliveries(&app);
            let of_broken: Vec<_> = all.iter().filter(|d| d.webhook_id == broken_id).collect();
            of_broken.len() == 2 && of_broken.iter().all(|d| d.status == "failed")
        },
    )
    .await;
    instance
        .post(
            "/workspaces/acct_77/events",
            json!({"type": "message.sent", "id": "evt_sent_2", "data": {}}),
        )
        .await;
    wait_for(20, "the fourth operational event", || told.count() >= 4).await;
    let all = ops_deliveries(&app);
    // Three occurrences before, one now: each made one delivery per subscribed webhook
    // (2 to the exhausted ones, 1 to the disabled one), and none for the broken one's failures.
    assert_eq!(
        all.iter()
            .filter(|d| d.event_type == "delivery.exhausted")
            .count(),
        6,
        "{all:?}"
    );
    assert_eq!(
        all.iter()
            .filter(|d| d.event_type == "webhook.disabled")
            .count(),
        1
    );
    assert_eq!(
        told.count(),
        4,
        "nothing about the operational webhooks' own failures"
    );
}

#[actix_rt::test]
async fn operational_webhooks_belong_to_instance_admins_and_stay_out_of_every_workspace() {
    let app = TestApp::delivering(|_| {}).await;
    let instance = app.api(&app.api_key());
    let url = "http://127.0.0.1:9/ops";
    // Only the operational types, and the fields of a webhook.
    let res = instance
        .post(OPS, json!({"url": url, "events": ["message.sent"]}))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.error_field(), "events");
    let res = instance
        .post(
            "/webhooks",
            json!({"url": url, "events": ["webhook.disabled"]}),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a workspace's webhook cannot hear them"
    );
    let res = instance
        .post("/events", json!({"type": "delivery.exhausted", "data": {}}))
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nobody publishes them"
    );
    let res = instance
        .post(
            OPS,
            json!({"url": url, "events": ["webhook.disabled"], "rate_limit": {"per_second": 5}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.id();
    let res = instance
        .patch(
            &format!("{OPS}/{id}"),
            json!({"events": ["delivery.exhausted"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["events"], json!(["delivery.exhausted"]));
    let listed = instance.get(OPS).await.json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["rate_limit"], json!({"per_second": 5}));
    // Not a workspace's webhook, and the workspace is nowhere.
    assert!(
        instance.get("/webhooks").await.json()["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let spaces = instance.get("/workspaces").await.json();
    assert!(!spaces.to_string().contains(OPERATIONAL_ID), "{spaces}");
    for path in [
        format!("/workspaces/{OPERATIONAL_ID}"),
        format!("/workspaces/{OPERATIONAL_ID}/webhooks"),
        format!("/workspaces/{OPERATIONAL_ID}/webhooks/{id}"),
        format!("/webhooks/{id}"),
    ] {
        assert_eq!(
            instance.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // A support key of the instance is told no; a workspace's admin key finds nothing.
    let support = app.api(&app.api_key_with(Role::Support));
    let res = support.get(OPS).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let member = app.workspace_api_key(&dws(), Role::Admin);
    for (method, path) in [
        ("GET", OPS.to_owned()),
        ("GET", format!("{OPS}/{id}")),
        ("DELETE", format!("{OPS}/{id}")),
    ] {
        let res = member.call(method, &path, None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{method} {path}");
    }

    // The pages: Settings → Operational webhooks, the same pages as a workspace's webhooks.
    let b = app.signed_in(ADMIN_EMAIL).await;
    let page = b.get("/webhooks").await;
    assert!(
        page.body.contains("href=\"/operational/webhooks\""),
        "in the sidebar"
    );
    let page = b.get("/operational/webhooks").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<h1>Operational webhooks</h1>"));
    assert!(page.body.contains(url));
    let form = b.get("/operational/webhooks/new").await.body;
    assert!(
        form.contains("value=\"webhook.disabled\"") && !form.contains("value=\"message.sent\"")
    );
    let res = b
        .post(
            "/operational/webhooks",
            &[
                ("url", "http://127.0.0.1:9/form"),
                ("description", ""),
                ("events", "message.sent"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body.contains("Unknown event type: message.sent")
            && res.body.contains("http://127.0.0.1:9/form")
    );
    let res = b
        .post(
            "/operational/webhooks",
            &[
                ("url", "http://127.0.0.1:9/form"),
                ("description", "from the form"),
                ("events", "webhook.disabled"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let made = res.header("location").to_owned();
    assert!(made.starts_with("/operational/webhooks/wh_"), "{made}");
    let shown = b.get(&made).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("webhook.disabled"));
    assert_eq!(
        b.get("/operational/deliveries").await.status,
        StatusCode::OK
    );
    assert_eq!(
        b.get("/operational/settings/audit").await.status,
        StatusCode::OK
    );
    assert!(
        b.get("/operational/settings/audit")
            .await
            .body
            .contains("webhook_created")
    );
    // Not reachable as a workspace, even for an instance admin.
    assert_eq!(
        b.get(&format!("/w/{OPERATIONAL_ID}/webhooks")).await.status,
        StatusCode::NOT_FOUND
    );
    // Instance support users are told no; members of a workspace find nothing.
    let s = app.signed_in(SUPPORT_EMAIL).await;
    assert_eq!(
        s.get("/operational/webhooks").await.status,
        StatusCode::FORBIDDEN
    );
    assert!(
        !s.get("/webhooks")
            .await
            .body
            .contains("/operational/webhooks")
    );
    let res = instance
        .post("/workspaces", json!({"name": "Acme", "uid": "acme"}))
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let acme = WorkspaceId::from_stored(res.id());
    let hash = aethenox_webhooks::domain::passwords::hash(PASSWORD).unwrap();
    let now = aethenox_webhooks::domain::time::now_ms();
    let user =
        store::users::create_member(&mut app.conn(), "member@example.com", &hash, now).unwrap();
    store::workspaces::add_member(&mut app.conn(), user.id, &acme, Role::Admin, now).unwrap();
    let m = app.signed_in("member@example.com").await;
    assert_eq!(
        m.get("/operational/webhooks").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(m.get(&made).await.status, StatusCode::NOT_FOUND);
}
