//! Rate limits and ordered delivery: set through the API and the form, refused naming the
//! field, and kept by the actor: at most N attempts a second with the rest pending (Send Test
//! not held back), one attempt at a time in order with a retry holding the rest.

use crate::receiver::*;
use crate::support::*;
use awc::http::StatusCode;
use serde_json::json;
use std::time::Duration;

#[actix_rt::test]
async fn rate_limit_and_ordered_are_set_changed_and_refused_through_the_api() {
    let app = TestApp::delivering(|_| {}).await;
    let api = app.api(&app.api_key());
    let url = "http://127.0.0.1:9/x";
    let res = api
        .post(
            "/webhooks",
            json!({"url": url, "events": ["call.missed"], "rate_limit": {"per_second": 25}, "ordered": true}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let w = res.json();
    assert_eq!(w["rate_limit"], json!({"per_second": 25}));
    assert_eq!(w["ordered"], true);
    let id = w["id"].as_str().unwrap().to_owned();
    // Absent keeps; null removes; a whole number written as 10.0 is a whole number.
    let res = api
        .patch(&format!("/webhooks/{id}"), json!({"description": "x"}))
        .await;
    assert_eq!(res.json()["rate_limit"], json!({"per_second": 25}));
    assert_eq!(res.json()["ordered"], true);
    let res = api
        .patch(
            &format!("/webhooks/{id}"),
            json!({"rate_limit": {"per_second": 10.0}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["rate_limit"], json!({"per_second": 10}));
    let res = api
        .patch(
            &format!("/webhooks/{id}"),
            json!({"rate_limit": null, "ordered": false}),
        )
        .await;
    assert_eq!(res.json()["rate_limit"], serde_json::Value::Null);
    assert_eq!(res.json()["ordered"], false);
    // A new webhook has neither.
    let res = api
        .post("/webhooks", json!({"url": url, "events": ["call.missed"]}))
        .await;
    assert_eq!(res.json()["rate_limit"], serde_json::Value::Null);
    assert_eq!(res.json()["ordered"], false);

    let before = app.webhook_count();
    for (bad, field) in [
        (json!({"per_second": 0}), "rate_limit"),
        (json!({"per_second": 10001}), "rate_limit"),
        (json!({"per_second": 2.5}), "rate_limit.per_second"),
        (json!({"per_second": "5"}), "rate_limit.per_second"),
        (json!({}), "rate_limit"),
        (json!({"per_second": 5, "burst": 9}), "rate_limit"),
        (json!(5), "rate_limit"),
    ] {
        let res = api
            .post(
                "/webhooks",
                json!({"url": url, "events": ["call.missed"], "rate_limit": bad}),
            )
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            res.body
        );
        assert!(
            res.error_field().starts_with(field),
            "{bad}: {} names {}",
            res.body,
            res.error_field()
        );
        let res = api
            .patch(&format!("/webhooks/{id}"), json!({"rate_limit": bad}))
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let res = api
        .post(
            "/webhooks",
            json!({"url": url, "events": ["call.missed"], "ordered": "yes"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.error_field(), "ordered");
    assert_eq!(app.webhook_count(), before, "nothing refused was stored");
}

#[actix_rt::test]
async fn the_form_sets_both_and_keeps_a_bad_rate_limit_as_typed() {
    let app = TestApp::spawn_with(|c| c.allow_private_targets = true).await;
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let fields = |rate: &'static str| {
        vec![
            ("url", "http://127.0.0.1:9/form"),
            ("events", "message.sent"),
            ("rate_limit", rate),
            ("ordered", "on"),
        ]
    };
    let res = admin
        .post(&in_default_workspace("/webhooks"), &fields("ten"))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(res.body.contains("id=\"rate_limit-error\""), "{}", res.body);
    assert!(res.body.contains("value=\"ten\""), "kept as typed");
    assert!(res.body.contains("id=\"ordered\" name=\"ordered\" checked"));
    assert_eq!(app.webhook_count(), 0);
    let res = admin
        .post(&in_default_workspace("/webhooks"), &fields("7"))
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let id = res.location_webhook_id();
    let page = admin
        .get(&in_default_workspace(&format!("/webhooks/{id}")))
        .await;
    assert!(page.body.contains("7 attempts per second"), "{}", page.body);
    assert!(page.body.contains("Ordered: one at a time"));
    // Settings: cleared and unticked.
    let res = admin
        .post(
            &in_default_workspace(&format!("/webhooks/{id}/settings")),
            &[
                ("url", "http://127.0.0.1:9/form"),
                ("events", "message.sent"),
                ("rate_limit", ""),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let w = app
        .api(&app.api_key())
        .get(&format!("/webhooks/{id}"))
        .await;
    assert_eq!(w.json()["rate_limit"], serde_json::Value::Null);
    assert_eq!(w.json()["ordered"], false);
}

/// When each of the webhook's automatic attempts began, in ms, in order.
fn attempt_times(app: &TestApp, event_ids: &[String]) -> Vec<i64> {
    let mut times: Vec<i64> = event_ids
        .iter()
        .flat_map(|e| app.deliveries_of(e))
        .flat_map(|d| app.attempts(&d.id))
        .map(|a| a.attempted_at)
        .collect();
    times.sort_unstable();
    times
}

#[actix_rt::test]
async fn a_rate_limit_starts_at_most_n_a_second_keeps_the_rest_pending_and_spares_send_test() {
    const N: usize = 3;
    const EVENTS: usize = 4 * N;
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    let api = app.api(&app.api_key());
    let res = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/rate"), "events": ["message.sent"], "rate_limit": {"per_second": N}}),
        )
        .await;
    let id = res.id();
    let mut events = Vec::new();
    for n in 0..EVENTS {
        let res = api
            .post("/events", json!({"type": "message.sent", "data": {"n": n}}))
            .await;
        assert_eq!(res.status, StatusCode::ACCEPTED);
        events.push(res.id());
    }
    // While some wait: pending (not failed), and the webhook's page says why.
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let page_path = in_default_workspace(&format!("/webhooks/{id}"));
    let mut said = String::new();
    for _ in 0..200 {
        let page = admin.get(&page_path).await;
        if page.body.contains("waiting: rate limit") {
            said = page.body;
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        said.contains("pending"),
        "the page never said it waits for the rate limit"
    );
    let waiting = api
        .get("/deliveries?status=pending")
        .await
        .json()
        .get("data")
        .and_then(|d| d.as_array().map(Vec::len))
        .unwrap_or(0);
    assert!(waiting > 0, "some deliveries are pending");
    assert_eq!(
        api.get("/deliveries?status=failed").await.json()["data"],
        json!([]),
        "none is failed for waiting"
    );
    // Send Test goes at once, whatever the queue.
    let arrived = rx.count();
    let res = api
        .post(
            &format!("/webhooks/{id}/test"),
            json!({"event_type": "message.sent"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["success"], true);
    assert!(rx.count() > arrived);

    wait_for(15, "every event to arrive", || rx.count() == EVENTS + 1).await;
    // An arrival is recorded once its answer is back: wait for the records too.
    wait_for(15, "every attempt to be recorded", || {
        attempt_times(&app, &events).len() >= EVENTS
    })
    .await;
    let times = attempt_times(&app, &events);
    assert_eq!(times.len(), EVENTS, "one attempt each");
    // Every calendar second allows N: no second of time holds more than two seconds' worth,
    // and four seconds' worth take at least three seconds of windows after the first.
    for w in times.windows(2 * N + 1) {
        assert!(
            w[2 * N] - w[0] >= 1000,
            "more than {} attempts within a second: {times:?}",
            2 * N
        );
    }
    let span = times[EVENTS - 1] - times[0];
    assert!(span >= 2000, "{EVENTS} attempts in {span} ms at {N}/s");
}

#[actix_rt::test]
async fn ordered_delivery_goes_one_at_a_time_in_order_and_a_failing_one_holds_the_rest() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    // The first goes through; the second is held, then fails every attempt (1 + 3 retries).
    rx.script([
        Reply::status(204),
        Reply::status(503).held(),
        Reply::status(500),
        Reply::status(500),
        Reply::status(500),
    ]);
    let api = app.api(&app.api_key());
    let res = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/ordered"), "events": ["message.sent"], "ordered": true}),
        )
        .await;
    let id = res.id();
    let mut events = Vec::new();
    for n in 0..6 {
        let res = api
            .post("/events", json!({"type": "message.sent", "data": {"n": n}}))
            .await;
        events.push(res.id());
    }
    wait_for(10, "the second event's attempt", || rx.count() == 2).await;
    // Nothing else goes while it is in flight, and the page says who waits behind whom.
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let second = app.deliveries_of(&events[1])[0].id.clone();
    let page = admin
        .get(&in_default_workspace(&format!("/webhooks/{id}")))
        .await;
    assert!(
        page.body.contains("4 wait behind <a href=\"/w/") && page.body.contains(&second),
        "{}",
        page.body
    );
    assert_eq!(rx.count(), 2, "the later ones wait");
    rx.release();

    wait_for(20, "every event to arrive", || rx.count() == 1 + 4 + 4).await;
    let order: Vec<String> = rx
        .got()
        .iter()
        .map(|r| r.header("webhook-id").to_owned())
        .collect();
    let mut expected = vec![events[0].clone()];
    expected.extend(std::iter::repeat_n(events[1].clone(), 4));
    expected.extend(events[2..].iter().cloned());
    assert_eq!(
        order, expected,
        "in order, the failing one first to the end"
    );
    assert_eq!(rx.max_in_flight(), 1, "one at a time");
    wait_for(10, "the outcomes", || {
        app.deliveries_of(&events[5])[0].status == "succeeded"
    })
    .await;
    assert_eq!(app.deliveries_of(&events[1])[0].status, "failed");

    // Resending an old one is allowed, and says it goes out of order.
    let first = app.deliveries_of(&events[0])[0].id.clone();
    let confirm = admin
        .get(&in_default_workspace(&format!(
            "/deliveries/{first}/resend"
        )))
        .await;
    assert!(confirm.body.contains("out of order"), "{}", confirm.body);
    let res = api
        .post(&format!("/deliveries/{first}/resend"), json!({}))
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    assert_eq!(res.json()["success"], true);
    assert_eq!(rx.count(), 10);
}
