use crate::receiver::*;
use crate::support::*;
use aethenox_webhooks::store;
use awc::http::StatusCode;
use serde_json::json;
use std::time::Duration;

async fn publish(api: &Api, event_type: &str, data: serde_json::Value) -> serde_json::Value {
    let res = api
        .post("/events", json!({"type": event_type, "data": data}))
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    res.json()
}

#[actix_rt::test]
async fn an_event_is_delivered_signed_both_ways_and_recorded() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    let (webhook_id, secret) = app.webhook(&rx.url("/hook"), &["message.received"]);
    let api = app.api(&app.api_key());
    let answer = publish(
        &api,
        "message.received",
        json!({"message_id": "msg_1", "body": "Hi"}),
    )
    .await;
    assert_eq!(answer["deliveries"], 1);
    let event_id = answer["id"].as_str().unwrap().to_owned();

    wait_for(10, "the delivery", || rx.count() == 1).await;
    let r = &rx.got()[0];
    assert_eq!(r.path, "/hook");
    assert!(
        aethenox_signature_ok(r, &secret),
        "X-Aethenox-Signature does not verify"
    );
    assert_eq!(
        standard_signature_count(r, &[&secret]),
        1,
        "webhook-signature does not verify"
    );
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.header("x-aethenox-event"), "message.received");
    assert_eq!(r.header("webhook-id"), event_id);
    assert_eq!(
        r.header("x-aethenox-timestamp"),
        r.header("webhook-timestamp")
    );
    let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
    assert!((ts - aethenox_webhooks::domain::time::now_ms() / 1000).abs() < 30);
    assert!(r.header("user-agent").starts_with("AethenoxAI-Webhooks/"));
    assert_eq!(r.header("x-aethenox-test"), "");
    let body = r.json();
    assert_eq!(body["id"], event_id.as_str());
    assert_eq!(body["type"], "message.received");
    assert_eq!(body["data"], json!({"message_id": "msg_1", "body": "Hi"}));
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));

    let deliveries = app.deliveries_of(&event_id);
    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0];
    assert_eq!(r.header("x-aethenox-delivery"), d.id);
    assert_eq!(d.webhook_id, webhook_id);
    wait_for(10, "the outcome to be recorded", || {
        app.delivery(&d.id).status == "succeeded"
    })
    .await;
    let d = app.delivery(&d.id);
    assert_eq!((d.attempt_count, d.last_status_code), (1, Some(204)));
    let attempts = app.attempts(&d.id);
    assert_eq!(attempts.len(), 1);
    let sent: serde_json::Value = serde_json::from_str(&attempts[0].request_headers).unwrap();
    assert_eq!(
        sent["X-Aethenox-Signature"],
        r.header("x-aethenox-signature")
    );
    assert!(
        !attempts[0].request_headers.contains(&secret),
        "the secret is never recorded"
    );
    assert_eq!(attempts[0].trigger, "automatic");
    assert_eq!(attempts[0].error_class, None);
}

#[actix_rt::test]
async fn a_500_is_retried_with_the_same_delivery_id_and_body() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    rx.script([Reply::status(500).body("oops"), Reply::status(200)]);
    let (_, secret) = app.webhook(&rx.url("/h"), &["call.missed"]);
    let api = app.api(&app.api_key());
    let event_id = publish(&api, "call.missed", json!({"call_id": "c1"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for(10, "the retry", || rx.count() == 2).await;
    let got = rx.got();
    assert_eq!(
        got[0].header("x-aethenox-delivery"),
        got[1].header("x-aethenox-delivery")
    );
    assert_eq!(
        got[0].body, got[1].body,
        "every attempt sends the same bytes"
    );
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert!(got.iter().all(|r| aethenox_signature_ok(r, &secret)));
    let id = app.deliveries_of(&event_id)[0].id.clone();
    wait_for(10, "success to be recorded", || {
        app.delivery(&id).status == "succeeded"
    })
    .await;
    let attempts = app.attempts(&id);
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].status_code, Some(500));
    assert_eq!(attempts[0].error_class.as_deref(), Some("http_status"));
    assert_eq!(attempts[0].response_body.as_deref(), Some(&b"oops"[..]));
    assert_eq!(attempts[1].status_code, Some(200));
}

#[actix_rt::test]
async fn the_last_failure_marks_the_delivery_failed() {
    let app = TestApp::delivering(|c| c.retry_schedule = vec![Duration::from_millis(50)]).await;
    let rx = Receiver::start().await;
    rx.always(Reply::status(500));
    app.webhook(&rx.url("/h"), &["call.missed"]);
    let api = app.api(&app.api_key());
    let event_id = publish(&api, "call.missed", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = app.deliveries_of(&event_id)[0].id.clone();
    wait_for(10, "the delivery to fail", || {
        app.delivery(&id).status == "failed"
    })
    .await;
    assert_eq!(
        app.delivery(&id).attempt_count,
        2,
        "one attempt plus one retry"
    );
    assert_eq!(rx.count(), 2);
}

#[actix_rt::test]
async fn a_slow_receiver_times_out_and_is_retried() {
    let app = TestApp::delivering(|c| {
        c.request_timeout = Duration::from_millis(300);
        c.retry_schedule = vec![Duration::from_secs(3600)];
    })
    .await;
    let rx = Receiver::start().await;
    rx.script([Reply::status(200).delay(Duration::from_secs(2))]);
    app.webhook(&rx.url("/slow"), &["call.missed"]);
    let api = app.api(&app.api_key());
    let event_id = publish(&api, "call.missed", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = app.deliveries_of(&event_id)[0].id.clone();
    wait_for(10, "the timeout to be recorded", || {
        app.delivery(&id).attempt_count == 1
    })
    .await;
    let d = app.delivery(&id);
    assert_eq!(d.status, "pending");
    let attempts = app.attempts(&id);
    assert_eq!(attempts[0].error_class.as_deref(), Some("timeout"));
    assert_eq!(attempts[0].error.as_deref(), Some("timed out after 300 ms"));
    assert!(
        attempts[0].duration_ms >= 290 && attempts[0].duration_ms < 1500,
        "{}",
        attempts[0].duration_ms
    );
    let wait = d.next_attempt_at.unwrap() - attempts[0].attempted_at;
    assert!(
        (2_880_000..=4_320_000).contains(&wait),
        "retry in an hour ±20%: {wait}"
    );
}

#[actix_rt::test]
async fn redirects_are_not_followed() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    rx.always(Reply::status(302).header("Location", "/elsewhere"));
    app.webhook(&rx.url("/old"), &["call.missed"]);
    let api = app.api(&app.api_key());
    let event_id = publish(&api, "call.missed", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = app.deliveries_of(&event_id)[0].id.clone();
    wait_for(10, "the redirect to be recorded", || {
        app.delivery(&id).attempt_count >= 1
    })
    .await;
    let a = &app.attempts(&id)[0];
    assert_eq!(a.status_code, Some(302));
    assert_eq!(a.error_class.as_deref(), Some("redirect"));
    assert!(
        a.error
            .as_deref()
            .unwrap()
            .contains("redirect not followed")
    );
    assert!(
        rx.got().iter().all(|r| r.path == "/old"),
        "never followed to /elsewhere"
    );
}

#[actix_rt::test]
async fn gone_disables_the_webhook_at_once() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    rx.always(Reply::status(410));
    let (webhook_id, _) = app.webhook(&rx.url("/gone"), &["call.missed", "call.completed"]);
    let api = app.api(&app.api_key());
    let event_id = publish(&api, "call.missed", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = app.deliveries_of(&event_id)[0].id.clone();
    wait_for(10, "the delivery to fail", || {
        app.delivery(&id).status == "failed"
    })
    .await;
    assert_eq!(app.delivery(&id).attempt_count, 1, "410 is not retried");
    wait_for(10, "the webhook to be disabled", || {
        !store::webhooks::get(&mut app.conn(), &crate::support::dws(), &webhook_id)
            .unwrap()
            .enabled
    })
    .await;
    let w = store::webhooks::get(&mut app.conn(), &crate::support::dws(), &webhook_id).unwrap();
    assert_eq!(
        w.disabled_reason.as_deref(),
        Some("the endpoint answered 410 Gone")
    );
    // A disabled webhook gets no new deliveries.
    assert_eq!(
        publish(&api, "call.completed", json!({})).await["deliveries"],
        0
    );
    // Its page says why, and offers to enable it again.
    let b = app.signed_in(ADMIN_EMAIL).await;
    let page = b.get(&format!("/webhooks/{webhook_id}")).await;
    assert!(
        page.body
            .contains("This webhook is disabled: the endpoint answered 410 Gone")
    );
    assert!(page.body.contains(&format!(
        "action=\"/w/default/webhooks/{webhook_id}/enable\""
    )));
}

#[actix_rt::test]
async fn retry_after_postpones_the_next_attempt() {
    let app = TestApp::delivering(|c| c.retry_schedule = vec![Duration::from_secs(1)]).await;
    let rx = Receiver::start().await;
    rx.script([
        Reply::status(503).header("Retry-After", "2"),
        Reply::status(200),
    ]);
    app.webhook(&rx.url("/busy"), &["call.missed"]);
    let api = app.api(&app.api_key());
    let event_id = publish(&api, "call.missed", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = app.deliveries_of(&event_id)[0].id.clone();
    wait_for(10, "the first attempt", || {
        app.delivery(&id).attempt_count == 1
    })
    .await;
    let first = &app.attempts(&id)[0];
    let wait = app.delivery(&id).next_attempt_at.unwrap() - first.attempted_at;
    assert!(
        (1_990..=2_100).contains(&wait),
        "Retry-After: 2 with a 1 s schedule waits 2 s, got {wait} ms"
    );
    wait_for(10, "the second attempt", || rx.count() == 2).await;
    let got = rx.got();
    assert!(got[1].at - got[0].at >= Duration::from_millis(1_900));
}

#[actix_rt::test]
async fn private_targets_are_refused_at_send_time_by_default() {
    // As if the URL had been saved while it pointed elsewhere: the check at send time still holds.
    let app = TestApp::spawn_with(|c| c.retry_schedule = vec![]).await;
    let rx = Receiver::start().await;
    app.webhook(&rx.url("/h"), &["call.missed"]);
    let (_, _) = app.webhook(
        &rx.url("/h").replace("http://", "https://"),
        &["call.missed"],
    );
    let api = app.api(&app.api_key());
    let event_id = publish(&api, "call.missed", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ids: Vec<String> = app
        .deliveries_of(&event_id)
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids.len(), 2);
    for id in &ids {
        wait_for(10, "the refusal", || app.delivery(id).status == "failed").await;
        let a = &app.attempts(id)[0];
        assert_eq!(a.error_class.as_deref(), Some("refused"), "{:?}", a.error);
        assert!(
            a.error
                .as_deref()
                .unwrap()
                .contains("refused by the URL policy")
        );
        assert_eq!(a.status_code, None);
    }
    assert_eq!(rx.count(), 0, "nothing reached the private address");
}

#[actix_rt::test]
async fn rotation_grace_signs_with_both_secrets_then_only_the_new_one() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    let (webhook_id, old) = app.webhook(&rx.url("/r"), &["contact.created"]);
    let api = app.api(&app.api_key());
    let res = api
        .post(
            &format!("/webhooks/{webhook_id}/rotate-secret"),
            json!({"grace_period_seconds": 2}),
        )
        .await;
    let new = res.json()["secret"].as_str().unwrap().to_owned();
    let rotated_at = std::time::Instant::now();
    publish(&api, "contact.created", json!({})).await;
    wait_for(10, "the first delivery", || rx.count() == 1).await;
    let r = &rx.got()[0];
    assert!(
        aethenox_signature_ok(r, &new),
        "X-Aethenox-Signature uses the current secret"
    );
    assert!(!aethenox_signature_ok(r, &old));
    assert_eq!(
        standard_signature_count(r, &[&new, &old]),
        2,
        "both secrets verify during the grace period"
    );

    let left = Duration::from_millis(2_100).saturating_sub(rotated_at.elapsed());
    actix_rt::time::sleep(left).await; // the grace period itself is what is being tested
    publish(&api, "contact.created", json!({})).await;
    wait_for(10, "the second delivery", || rx.count() == 2).await;
    let r = &rx.got()[1];
    assert_eq!(standard_signature_count(r, &[&new]), 1);
    assert_eq!(
        standard_signature_count(r, &[&old]),
        0,
        "the old secret stops verifying after the window"
    );
    assert_eq!(r.header("webhook-signature").split(' ').count(), 1);
}

/// Deliveries of one webhook claimed together each carry one signature per valid secret. A
/// claim once read a webhook's secrets once per delivery it took (on SQLite), so each of N
/// deliveries claimed together carried N copies of the signature: past N of about 170 the
/// header outgrew what nginx accepts, and every such attempt failed with a 400.
#[actix_rt::test]
async fn deliveries_claimed_together_carry_one_signature_each() {
    let app = TestApp::delivering(|c| {
        c.max_in_flight = 8;
        c.max_per_endpoint = 4;
    })
    .await;
    let rx = Receiver::start().await;
    rx.script((0..4).map(|_| Reply::status(204).held()));
    let (_, secret) = app.webhook(&rx.url("/h"), &["message.sent"]);
    let api = app.api(&app.api_key());
    for _ in 0..20 {
        publish(&api, "message.sent", json!({})).await;
    }
    // The first four hold every slot of the webhook; the rest are claimed in batches, several
    // deliveries of the one webhook in each.
    wait_for(10, "the webhook's slots held", || rx.in_flight() == 4).await;
    rx.release();
    wait_for(20, "every delivery", || rx.count() == 20).await;
    for r in rx.got() {
        assert_eq!(
            r.header("webhook-signature").split(' ').count(),
            1,
            "one secret, one signature: {}",
            r.header("webhook-signature")
        );
        assert_eq!(standard_signature_count(&r, &[&secret]), 1);
        assert!(aethenox_signature_ok(&r, &secret));
    }
}

#[actix_rt::test]
async fn repeating_an_event_id_returns_the_first_answer_and_creates_nothing() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    app.webhook(&rx.url("/a"), &["message.sent"]);
    let api = app.api(&app.api_key());
    let body = json!({"type": "message.sent", "data": {"n": 1}, "id": "order-4821.shipped"});
    let first = api.post("/events", body.clone()).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    assert_eq!(
        first.json(),
        json!({"id": "order-4821.shipped", "deliveries": 1})
    );
    app.webhook(&rx.url("/b"), &["message.sent"]);
    let again = api
        .post(
            "/events",
            json!({"type": "message.sent", "data": {"n": 2}, "id": "order-4821.shipped"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(again.json(), first.json());
    wait_for(10, "the delivery", || rx.count() == 1).await;
    assert_eq!(app.deliveries_of("order-4821.shipped").len(), 1);
    assert_eq!(rx.got()[0].json()["data"], json!({"n": 1}));
}

#[actix_rt::test]
async fn fan_out_reaches_every_subscribed_enabled_webhook_and_no_other() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    let mut secrets = Vec::new();
    for i in 0..20 {
        secrets.push(app.webhook(
            &rx.url(&format!("/w{i}")),
            &["message.delivered", "message.read"],
        ));
    }
    app.webhook(&rx.url("/unsubscribed"), &["message.read"]);
    let (disabled, _) = app.webhook(&rx.url("/disabled"), &["message.delivered"]);
    store::webhooks::set_enabled(
        &mut app.conn(),
        &crate::support::dws(),
        &disabled,
        false,
        Some("test"),
        0,
    )
    .unwrap();
    let api = app.api(&app.api_key());
    let answer = publish(&api, "message.delivered", json!({"message_id": "m"})).await;
    assert_eq!(answer["deliveries"], 20);
    wait_for(10, "20 deliveries", || rx.count() == 20).await;
    let got = rx.got();
    for (i, (_, secret)) in secrets.iter().enumerate() {
        let hits: Vec<_> = got.iter().filter(|r| r.path == format!("/w{i}")).collect();
        assert_eq!(hits.len(), 1, "/w{i}");
        assert!(
            aethenox_signature_ok(hits[0], secret),
            "/w{i} signed with its own secret"
        );
    }
    let event_id = answer["id"].as_str().unwrap().to_owned();
    wait_for(10, "all outcomes", || {
        app.deliveries_of(&event_id)
            .iter()
            .all(|d| d.status == "succeeded")
    })
    .await;
    assert!(
        rx.got()
            .iter()
            .all(|r| r.path != "/unsubscribed" && r.path != "/disabled")
    );
}

#[actix_rt::test]
async fn a_webhook_failing_too_long_without_success_is_disabled() {
    let app = TestApp::delivering(|c| {
        c.disable_after = Duration::from_secs(1);
        c.retry_schedule = vec![Duration::from_millis(300); 20];
    })
    .await;
    let rx = Receiver::start().await;
    rx.always(Reply::status(500));
    let (webhook_id, _) = app.webhook(&rx.url("/down"), &["call.missed"]);
    let api = app.api(&app.api_key());
    publish(&api, "call.missed", json!({})).await;
    wait_for(15, "automatic disabling", || {
        !store::webhooks::get(&mut app.conn(), &crate::support::dws(), &webhook_id)
            .unwrap()
            .enabled
    })
    .await;
    let w = store::webhooks::get(&mut app.conn(), &crate::support::dws(), &webhook_id).unwrap();
    assert_eq!(
        w.disabled_reason.as_deref(),
        Some("deliveries failed for 1 second without a success")
    );
    // While it is disabled its pending delivery waits.
    let n = rx.count();
    actix_rt::time::sleep(Duration::from_millis(700)).await; // long enough for two more retries if it were enabled
    assert_eq!(rx.count(), n);
}

#[actix_rt::test]
async fn an_event_is_delivered_even_if_its_publisher_hangs_up_right_after_sending() {
    use std::io::Write;
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    app.webhook(&rx.url("/h"), &["contact.updated"]);
    let key = app.api_key();
    let body = r#"{"type":"contact.updated","data":{"contact_id":"c1"},"id":"evt_hangup_1"}"#;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let request = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        stream.shutdown(std::net::Shutdown::Both).unwrap();
    }
    wait_for(10, "the stored event to be delivered", || rx.count() == 1).await;
    assert_eq!(rx.got()[0].header("webhook-id"), "evt_hangup_1");
}

#[actix_rt::test]
async fn the_events_api_refuses_bad_input_with_the_field_named() {
    let app = TestApp::delivering(|_| {}).await;
    let api = app.api(&app.api_key());
    for (body, field) in [
        (json!({"type": "user.deleted", "data": {}}), "type"),
        (json!({"data": {}}), "type"),
        (json!({"type": "call.missed"}), "data"),
        (json!({"type": "call.missed", "data": [1]}), "data"),
        (json!({"type": "call.missed", "data": "x"}), "data"),
        (
            json!({"type": "call.missed", "data": {}, "id": "has space"}),
            "id",
        ),
        (json!({"type": "call.missed", "data": {}, "id": 5}), "id"),
        (
            json!({"type": "call.missed", "data": {}, "extra": 1}),
            "extra",
        ),
    ] {
        let res = api.post("/events", body.clone()).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(res.json()["error"]["field"], field, "{body}");
    }
    let big = format!(
        r#"{{"type":"call.missed","data":{{"x":"{}"}}}}"#,
        "a".repeat(256 * 1024)
    );
    assert_eq!(
        api.call("POST", "/events", Some(&big)).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let near = format!(
        r#"{{"type":"call.missed","data":{{"x":"{}"}}}}"#,
        "a".repeat(250 * 1024)
    );
    assert_eq!(
        api.call("POST", "/events", Some(&near)).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        app.api("aex_wrong")
            .post("/events", json!({"type": "call.missed", "data": {}}))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_rt::test]
async fn metrics_count_what_happened() {
    let app = TestApp::delivering(|c| c.retry_schedule = vec![]).await;
    let rx = Receiver::start().await;
    rx.script([Reply::status(204), Reply::status(500)]);
    app.webhook(&rx.url("/m"), &["call.missed"]);
    let key = app.api_key();
    let api = app.api(&key);
    publish(&api, "call.missed", json!({})).await;
    publish(&api, "call.missed", json!({})).await;
    wait_for(10, "two attempts", || rx.count() == 2).await;
    let client = awc::Client::default();
    assert_eq!(
        client
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let expected = [
        "aethenox_events_accepted_total 2",
        "aethenox_deliveries_created_total 2",
        "aethenox_deliveries_total{outcome=\"succeeded\"} 1",
        "aethenox_deliveries_total{outcome=\"failed\"} 1",
        "aethenox_attempts_total{class=\"2xx\"} 1",
        "aethenox_attempts_total{class=\"5xx\"} 1",
        "aethenox_attempt_duration_seconds_count 2",
        "aethenox_attempts_in_flight 0",
        "aethenox_deliveries_held 0",
        "aethenox_queue_depth{state=\"due\"} 0",
    ];
    // The two outcomes may be recorded in separate batches: wait for all of them.
    let mut text;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut res = client
            .get(format!("{}/metrics", app.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        text = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
        if expected.iter().all(|l| text.contains(l)) || std::time::Instant::now() > deadline {
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    for line in expected {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    // Statements are counted on PostgreSQL (what several instances share), not on SQLite.
    let statements = text
        .lines()
        .find_map(|l| l.strip_prefix("aethenox_db_statements_total "))
        .and_then(|n| n.parse::<u64>().ok());
    if on_postgres() {
        let n = statements.expect("statements are counted");
        assert!(n > 10, "{n} statements for two deliveries and a setup");
    } else {
        assert_eq!(statements, None);
    }
}

#[actix_rt::test]
async fn a_slow_endpoint_gets_a_few_attempts_at_once_and_cannot_starve_the_others() {
    let app = TestApp::delivering(|c| c.max_per_endpoint = 2).await;
    let slow = Receiver::start().await;
    slow.always(Reply::status(204).delay(Duration::from_millis(500)));
    let fast = Receiver::start().await;
    app.webhook(&slow.url("/slow"), &["message.sent"]);
    app.webhook(&fast.url("/fast"), &["message.sent"]);
    let api = app.api(&app.api_key());
    let started = std::time::Instant::now();
    for _ in 0..8 {
        publish(&api, "message.sent", json!({})).await;
    }
    wait_for(10, "the fast endpoint to get all 8", || fast.count() == 8).await;
    let fast_done = started.elapsed();
    assert!(
        slow.count() < 8,
        "the fast endpoint did not wait for the slow one"
    );
    assert!(
        fast_done < Duration::from_millis(1500),
        "fast deliveries took {fast_done:?}"
    );
    wait_for(20, "the slow endpoint to get all 8", || slow.count() == 8).await;
    assert_eq!(
        slow.max_in_flight(),
        2,
        "at most --max-per-endpoint attempts at once"
    );
}

#[actix_rt::test]
async fn deleting_a_webhook_while_its_delivery_is_being_sent_holds_up_no_other_outcome() {
    let app = TestApp::delivering(|_| {}).await;
    let slow = Receiver::start().await;
    slow.always(Reply::status(500).held());
    let fast = Receiver::start().await;
    let (doomed, _) = app.webhook(&slow.url("/slow"), &["message.sent"]);
    app.webhook(&fast.url("/fast"), &["call.missed"]);
    let api = app.api(&app.api_key());
    publish(&api, "message.sent", json!({})).await;
    wait_for(10, "the delivery to be in flight", || slow.in_flight() == 1).await;
    let deleted = api
        .call("DELETE", &format!("/webhooks/{doomed}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    // The answer arrives after its delivery was deleted: it has nowhere to be recorded.
    slow.release();
    wait_for(10, "the held request to be answered", || {
        slow.in_flight() == 0
    })
    .await;
    let event = publish(&api, "call.missed", json!({})).await;
    let event_id = event["id"].as_str().unwrap().to_owned();
    wait_for(10, "the next outcome to be recorded", || {
        app.deliveries_of(&event_id)[0].status == "succeeded"
    })
    .await;
    assert_eq!(
        slow.count(),
        1,
        "the deleted webhook's delivery was not sent again"
    );
}
