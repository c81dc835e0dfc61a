//! Fresh deliveries go straight from the intake to a sender while nothing waits in the queue
//! (stored leased, no claim), and through claims, in turn and within the caps, while
//! something does.

use crate::receiver::{Receiver, Reply};
use crate::support::*;
use serde_json::json;

/// `aethenox_deliveries_straight_total` of this app.
async fn straight(app: &TestApp, key: &str) -> u64 {
    metrics_text(&app.base, key)
        .await
        .lines()
        .find_map(|l| l.strip_prefix("aethenox_deliveries_straight_total "))
        .and_then(|n| n.parse().ok())
        .expect("the metric is there")
}

#[actix_rt::test]
async fn fresh_deliveries_go_straight_while_nothing_waits_and_queue_behind_a_cap() {
    let app = TestApp::delivering(|c| {
        c.max_in_flight = 8;
        c.max_per_endpoint = 2;
    })
    .await;
    let rx = Receiver::start().await;
    let key = app.api_key();
    let api = app.api(&key);
    app.webhook(&rx.url("/w"), &["message.sent"]);
    let publish = || api.post("/events", json!({"type": "message.sent", "data": {}}));

    // Light load: each event is out before the next; after the first (which may meet the
    // actor's first claim), every one goes straight.
    for n in 1..=5 {
        publish().await;
        wait_for(10, "the event's delivery", || rx.count() == n).await;
    }
    let light = straight(&app, &key).await;
    assert!(light >= 4, "{light} of 5 went straight");

    // The endpoint holds its answers: two go straight (its cap), the rest wait in the queue,
    // and none goes straight past them.
    rx.always(Reply::status(204).held());
    for _ in 0..5 {
        publish().await;
    }
    wait_for(10, "the cap in flight", || rx.in_flight() == 2).await;
    assert_eq!(straight(&app, &key).await, light + 2);
    rx.release();
    wait_for(20, "the queue behind the cap", || rx.count() == 10).await;
    assert!(rx.max_in_flight() <= 2, "{}", rx.max_in_flight());

    // Once a claim has caught up with the queue, fresh deliveries go straight again.
    let mut went = false;
    for n in 11..=15 {
        publish().await;
        wait_for(10, "the event's delivery", || rx.count() == n).await;
        went = straight(&app, &key).await > light + 2;
        if went {
            break;
        }
    }
    assert!(went, "nothing went straight after the queue drained");
    // Every delivery recorded as succeeded, one attempt each.
    let mut res = api.get("/deliveries?limit=100").await;
    for _ in 0..200 {
        if res.body.matches("\"succeeded\"").count() >= rx.count() {
            break;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
        res = api.get("/deliveries?limit=100").await;
    }
    assert_eq!(
        res.body.matches("\"succeeded\"").count(),
        rx.count(),
        "{}",
        res.body
    );
}

/// A success after failures, as recorded (on PostgreSQL a batch of successes is written in one
/// statement of its own, `store/pg_batch.rs`): the attempt in full, the delivery's new state,
/// and the webhook's run of failures cleared.
#[actix_rt::test]
async fn a_success_after_failures_is_recorded_in_full_and_clears_the_run_of_failures() {
    use aethenox_webhooks::store;
    let app = TestApp::delivering(|c| {
        c.retry_schedule = vec![std::time::Duration::from_millis(200); 5];
    })
    .await;
    let rx = Receiver::start().await;
    rx.script([
        Reply::status(500).body("down"),
        Reply::status(201).header("x-receipt", "r-1").body("taken"),
    ]);
    let (webhook_id, _) = app.webhook(&rx.url("/w"), &["contact.created"]);
    let api = app.api(&app.api_key());
    let res = api
        .post("/events", json!({"type": "contact.created", "data": {}}))
        .await;
    let event_id = res.id();
    let webhook = || store::webhooks::get(&mut app.conn(), &dws(), &webhook_id).unwrap();
    let delivery = || app.deliveries_of(&event_id).pop();
    wait_for(10, "the failure recorded", || {
        delivery().is_some_and(|d| d.attempt_count == 1)
    })
    .await;
    assert!(webhook().failing_since.is_some());
    wait_for(10, "the success recorded", || {
        delivery().is_some_and(|d| d.status == "succeeded")
    })
    .await;
    let d = delivery().unwrap();
    assert_eq!(
        (
            d.attempt_count,
            d.manual_attempts,
            d.last_status_code,
            d.last_status_class
        ),
        (2, 0, Some(201), Some(2))
    );
    assert_eq!(
        (d.lease_until, d.next_attempt_at, d.last_error),
        (None, None, None)
    );
    assert!(d.last_duration_ms.is_some());
    assert_eq!(webhook().failing_since, None, "the run of failures is over");
    let attempts = app.attempts(&d.id);
    assert_eq!(attempts.len(), 2);
    let a = &attempts[1];
    assert_eq!(
        (a.status_code, a.trigger.as_str()),
        (Some(201), "automatic")
    );
    assert_eq!(a.response_body.as_deref(), Some(&b"taken"[..]));
    assert!(a.response_headers.as_deref().unwrap().contains("r-1"));
    assert!(
        a.request_headers.contains("webhook-signature"),
        "{}",
        a.request_headers
    );
    assert_eq!((a.error.as_deref(), a.error_class.as_deref()), (None, None));
    assert!(!a.response_truncated);
}
