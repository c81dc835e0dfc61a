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
    let fresh = api
        .post("/events", json!({"type": "call.missed", "data": {}}))
        .await
        .id();
    // Claimed while every slot is held: it waits in memory with the busy webhook's next ones
    // (in the waiting line, not merely leased by a claim that has not yet put it there).
    wait_for(10, "the fresh delivery claimed", || {
        app.deliveries_of(&fresh)
            .iter()
            .all(|d| d.lease_until.is_some())
    })
    .await;
    app.wait_until_held(4).await;
    rx.release();
    wait_for(20, "everything", || rx.count() == 41).await;
    let at = rx.got().iter().position(|r| r.path == "/quiet").unwrap();
    // The first slot that frees goes to the webhook with nothing in flight: it starts with the
    // first wave after the release (the busy one's held requests are 0-3, the wave 4-7, in
    // whatever order four requests sent at once arrive); behind the busy webhook's four waiting
    // it would start only after one of them finished, as request 8 or later.
    assert!(at < 8, "the fresh event went out as request {at} of 41");
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

/// A claim takes more than the caps let start (the rest waits in memory, leased), so an
/// attempt that finishes starts the next at once; those waiting never pass the caps, and a
/// shutdown gives them back to the queue rather than leaving them leased.
#[actix_rt::test]
async fn deliveries_waiting_in_memory_for_room_keep_the_caps_and_are_given_back_at_shutdown() {
    let mut app = TestApp::delivering(|c| {
        c.max_in_flight = 8;
        c.max_per_endpoint = 8;
        c.max_per_workspace = 1;
        c.request_timeout = std::time::Duration::from_millis(500);
    })
    .await;
    let rx = Receiver::start().await;
    rx.always(Reply::status(204).held());
    let api = app.api(&app.api_key());
    // A second workspace, so that the cap per workspace applies.
    api.call(
        "PUT",
        "/workspaces/acct_other",
        Some(r#"{"name": "Other"}"#),
    )
    .await;
    app.webhook(&rx.url("/h"), &["message.sent"]);
    for _ in 0..10 {
        api.post("/events", json!({"type": "message.sent", "data": {}}))
            .await;
    }
    wait_for(
        10,
        "one attempt in flight and more claimed, waiting",
        || rx.in_flight() == 1 && app.leased() > 1,
    )
    .await;
    assert_eq!(rx.max_in_flight(), 1, "the workspace's cap holds");
    // /metrics shows them: every leased delivery but the one in flight is held in memory.
    app.wait_until_held(1).await;
    app.stop_delivering();
    assert_eq!(app.leased(), 0, "nothing is left leased after a shutdown");
    assert_eq!(app.held(&app.api_key()).await, 0);
}

/// A claim says whether it left anything due behind. Only a claim that took everything due
/// lets fresh deliveries go straight to the senders: one that merely filled the room its caps
/// left must not, or room freed meanwhile lets fresh events pass the backlog while the
/// dispatcher sleeps (a backlog drained four times slower that way, BENCHMARKS.md).
#[actix_rt::test]
async fn a_claim_says_whether_it_left_anything_due_behind() {
    use aethenox_webhooks::store::{self, claims};
    use std::collections::HashMap;
    let app = TestApp::spawn().await;
    let (webhook_id, _) = app.webhook("https://example.com/h", &["message.sent"]);
    // Due an hour from now, so the app's own actor leaves them alone.
    let later = aethenox_webhooks::domain::time::now_ms() + 3_600_000;
    let ws = dws();
    let mut conn = app.conn();
    let event = store::events::NewEvent {
        workspace: &ws,
        id: "evt_left_behind",
        event_type: "message.sent",
        body: b"{}",
        delivery_count: 5,
        created_at: later,
    };
    store::events::insert(&mut conn, &event).unwrap();
    let rows: Vec<_> = (0..5)
        .map(|i| store::deliveries::NewDelivery {
            workspace: &ws,
            id: format!("dlv_left_behind_{i}"),
            event_id: "evt_left_behind",
            webhook_id: &webhook_id,
            event_type: "message.sent",
            is_test: false,
            lease_until: None,
        })
        .collect();
    store::deliveries::insert_many(&mut conn, &rows, later).unwrap();
    let idle = HashMap::new();
    let busy = HashMap::from([(webhook_id.clone(), 2)]);
    let room = |per_webhook, webhooks| claims::Room {
        per_webhook,
        per_workspace: 64,
        webhooks,
        workspaces: &idle,
        rate_held: &[],
        ahead: (per_webhook, 64),
    };
    let mut claim = |room: claims::Room<'_>| {
        claims::claim_due(&mut conn, later, 10, &room, later + 60_000).unwrap()
    };

    let first = claim(room(2, &idle));
    assert_eq!(first.jobs.len(), 2, "the webhook's cap");
    assert!(first.left_behind, "three wait behind the cap");
    let capped = claim(room(2, &busy));
    assert!(capped.jobs.is_empty());
    assert!(
        capped.left_behind,
        "the webhook at its cap is not even read"
    );
    let rest = claim(room(10, &idle));
    assert_eq!(rest.jobs.len(), 3);
    assert!(!rest.left_behind, "everything due was taken");
}

/// A rate-limited webhook's delivery is counted in its second's window when claimed, so it
/// never waits in memory: claimed while every slot in all is taken, it is given back to the
/// queue at once (not left leased until its lease runs out) and goes out when a slot frees.
#[actix_rt::test]
async fn a_rate_limited_delivery_claimed_without_a_free_slot_is_given_back_and_sent_later() {
    let app = TestApp::delivering(|c| {
        c.max_in_flight = 2;
        c.max_per_endpoint = 2;
        c.max_per_workspace = 2;
    })
    .await;
    let (hanging, fine) = (Receiver::start().await, Receiver::start().await);
    hanging.always(Reply::status(204).held());
    let api = app.api(&app.api_key());
    let ws = api
        .call(
            "PUT",
            "/workspaces/acct_paced",
            Some(r#"{"name": "Paced"}"#),
        )
        .await
        .id();
    let ws = aethenox_webhooks::domain::workspace::WorkspaceId::from_stored(ws);
    app.webhook(&hanging.url("/h"), &["message.sent"]);
    let res = api
        .post(
            "/workspaces/acct_paced/webhooks",
            json!({"url": fine.url("/p"), "events": ["message.sent"], "rate_limit": {"per_second": 50}}),
        )
        .await;
    assert_eq!(res.status.as_u16(), 201, "{}", res.body);
    let paced = res.id();
    for _ in 0..2 {
        api.post("/events", json!({"type": "message.sent", "data": {}}))
            .await;
    }
    wait_for(10, "every slot in all held", || hanging.in_flight() == 2).await;
    let event = api
        .post(
            "/workspaces/acct_paced/events",
            json!({"type": "message.sent", "data": {}}),
        )
        .await
        .id();
    // Its workspace has room, so a claim takes it and counts it in the window...
    let used = |app: &TestApp| {
        use aethenox_webhooks::db::schema::webhooks::dsl::*;
        use diesel::prelude::*;
        webhooks
            .filter(id.eq(&paced))
            .select(rate_used)
            .first::<i32>(&mut *app.conn())
            .unwrap()
    };
    wait_for(10, "the paced delivery claimed", || used(&app) > 0).await;
    // ...and, with no slot free, gives it back at once.
    wait_for(5, "the paced delivery given back", || {
        let of_event =
            aethenox_webhooks::store::deliveries::for_event(&mut app.conn(), &ws, &event).unwrap();
        of_event.len() == 1 && of_event[0].lease_until.is_none()
    })
    .await;
    assert_eq!(
        fine.count(),
        0,
        "nothing past the cap on attempts in flight"
    );
    assert_eq!(hanging.in_flight(), 2);
    // A lease left behind would hold it for 20 s (twice the request timeout and 10 s).
    hanging.release();
    wait_for(10, "the paced delivery sent once a slot freed", || {
        fine.count() == 1
    })
    .await;
}
