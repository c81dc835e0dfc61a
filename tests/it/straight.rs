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
