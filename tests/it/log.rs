//! Send Test, the Delivery Log, delivery detail, Resend, Retry failed, Enable and recover,
//! the overview's numbers, and test inboxes.

use crate::receiver::*;
use crate::support::*;
use aethenox_webhooks::{domain, store};
use awc::http::StatusCode;
use serde_json::json;
use std::time::Duration;

async fn publish(api: &Api, event_type: &str) -> String {
    let res = api
        .post("/events", json!({"type": event_type, "data": {"n": 1}}))
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    res.id()
}

fn finished(app: &TestApp, event_id: &str) -> bool {
    let d = app.deliveries_of(event_id);
    !d.is_empty()
        && d.iter()
            .all(|d| d.status == "succeeded" || d.status == "failed")
}

#[actix_rt::test]
async fn send_test_shows_success_in_place_and_is_logged_as_a_test() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    let (id, secret) = app.webhook(&rx.url("/t"), &["call.missed", "message.sent"]);
    let b = app.signed_in(SUPPORT_EMAIL).await;
    let overview = b.get(&format!("/webhooks/{id}")).await;
    assert!(overview.body.contains("Send Test"));
    assert!(
        overview
            .body
            .contains("<option value=\"message.sent\" selected>"),
        "defaults to the first subscribed type"
    );

    let res = b
        .post_raw(
            &format!("/webhooks/{id}/test"),
            &[("event_type", "contact.updated")],
            &[("HX-Request", "true"), ("X-CSRF-Token", &b.csrf().await)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(
        res.body.contains("<strong>Success</strong>"),
        "{}",
        res.body
    );
    assert!(
        res.body
            .contains("HTTP <span id=\"test-status\">204</span>")
    );
    assert!(!res.body.contains("<html"), "a partial");

    let r = &rx.got()[0];
    assert_eq!(r.header("x-aethenox-test"), "1");
    assert_eq!(
        r.header("x-aethenox-event"),
        "contact.updated",
        "sent regardless of subscriptions"
    );
    assert!(aethenox_signature_ok(r, &secret));
    assert_eq!(
        r.json()["data"],
        domain::events::sample_data("contact.updated").unwrap()
    );

    let delivery_id = r.header("x-aethenox-delivery").to_owned();
    let d = app.delivery(&delivery_id);
    assert!(d.is_test);
    assert_eq!(d.status, "succeeded");
    let a = &app.attempts(&delivery_id)[0];
    assert_eq!(
        (a.trigger.as_str(), a.triggered_by.as_deref()),
        ("test", Some(SUPPORT_EMAIL))
    );

    let log = b.get(&format!("/webhooks/{id}/deliveries")).await;
    assert!(log.body.contains(&delivery_id));
    assert!(log.body.contains("badge test"));
    // A test says nothing about the webhook's health.
    assert_eq!(
        store::webhooks::get(&mut app.conn(), &crate::support::dws(), &id)
            .unwrap()
            .failing_since,
        None
    );
}

#[actix_rt::test]
async fn send_test_explains_failures_and_works_on_a_disabled_webhook() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    rx.always(Reply::status(401).body("<script>alert(1)</script>bad signature"));
    let (id, _) = app.webhook(&rx.url("/t"), &["call.missed"]);
    store::webhooks::set_enabled(
        &mut app.conn(),
        &crate::support::dws(),
        &id,
        false,
        Some("paused"),
        domain::time::now_ms(),
    )
    .unwrap();
    let b = app.signed_in(ADMIN_EMAIL).await;
    let res = b
        .post_raw(
            &format!("/webhooks/{id}/test"),
            &[],
            &[("HX-Request", "true"), ("X-CSRF-Token", &b.csrf().await)],
        )
        .await;
    assert!(res.body.contains("<strong>Failed</strong>"));
    assert!(
        res.body
            .contains("401: your server rejected the signature: check the signing secret"),
        "{}",
        res.body
    );
    assert!(
        res.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;bad signature"),
        "a response excerpt, escaped"
    );
    assert!(!res.body.contains("<script>"));
    assert_eq!(rx.count(), 1, "sent although the webhook is disabled");
    assert!(
        !store::webhooks::get(&mut app.conn(), &crate::support::dws(), &id)
            .unwrap()
            .enabled,
        "and it stays disabled"
    );

    // Nothing listens here: the hint says so.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (closed, _) = app.webhook(&format!("http://127.0.0.1:{port}/x"), &["call.missed"]);
    let res = b
        .post_raw(
            &format!("/webhooks/{closed}/test"),
            &[],
            &[("HX-Request", "true"), ("X-CSRF-Token", &b.csrf().await)],
        )
        .await;
    assert!(
        res.body
            .contains("connection refused: is your server listening on that port?"),
        "{}",
        res.body
    );

    // Through the API.
    let api = app.api(&app.api_key());
    let res = api
        .post(
            &format!("/webhooks/{id}/test"),
            json!({"event_type": "message.read"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let body = res.json();
    assert_eq!(body["success"], false);
    assert_eq!(body["status_code"], 401);
    assert!(body["delivery_id"].as_str().unwrap().starts_with("dlv_"));
    assert!(body["duration_ms"].is_number());
    assert_eq!(body["error"], "HTTP 401");
    let res = api
        .post(
            &format!("/webhooks/{id}/test"),
            json!({"event_type": "nope"}),
        )
        .await;
    assert_eq!(res.json()["error"]["field"], "event_type");
}

/// Six deliveries over two webhooks, two types and three outcomes.
async fn seeded() -> (TestApp, Receiver, Vec<String>, String, String) {
    let app = TestApp::delivering(|c| c.retry_schedule = vec![]).await;
    let rx = Receiver::start().await;
    let (ok, _) = app.webhook(&rx.url("/ok"), &["message.sent", "call.missed"]);
    let (bad, _) = app.webhook(&rx.url("/bad"), &["message.sent"]);
    rx.always(Reply::status(204));
    let api = app.api(&app.api_key());
    let mut events = Vec::new();
    for t in ["message.sent", "call.missed", "message.sent"] {
        events.push(publish(&api, t).await);
    }
    for e in &events {
        wait_for(10, "deliveries", || finished(&app, e)).await;
    }
    (app, rx, events, ok, bad)
}

#[actix_rt::test]
async fn every_filter_narrows_the_log_in_the_page_and_the_api() {
    let app = TestApp::delivering(|c| c.retry_schedule = vec![]).await;
    let rx = Receiver::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (ok, _) = app.webhook(&rx.url("/ok"), &["message.sent", "call.missed"]);
    let (bad, _) = app.webhook(&rx.url("/bad"), &["message.sent"]);
    let (dead, _) = app.webhook(&format!("http://127.0.0.1:{port}/"), &["call.missed"]);
    let rx_bad = Receiver::start().await;
    rx_bad.always(Reply::status(503));
    let now = domain::time::now_ms();
    store::webhooks::update(
        &mut app.conn(),
        &crate::support::dws(),
        &bad,
        &aethenox_webhooks::store::webhooks::Settings {
            url: &rx_bad.url("/bad"),
            description: "",
            events: &["message.sent".into()],
            filter: None,
            headers: None,
            rate_limit: None,
            ordered: false,
        },
        now,
    )
    .unwrap();
    let api = app.api(&app.api_key());
    let e1 = publish(&api, "message.sent").await;
    let e2 = publish(&api, "call.missed").await;
    for e in [&e1, &e2] {
        wait_for(10, "deliveries", || finished(&app, e)).await;
    }
    let all: Vec<_> = [&e1, &e2]
        .iter()
        .flat_map(|e| app.deliveries_of(e))
        .collect();
    assert_eq!(all.len(), 4);
    let id_of = |webhook: &str, event: &str| {
        all.iter()
            .find(|d| d.webhook_id == webhook && d.event_id == *event)
            .unwrap()
            .id
            .clone()
    };
    let (ok_sent, bad_sent, ok_missed, dead_missed) = (
        id_of(&ok, &e1),
        id_of(&bad, &e1),
        id_of(&ok, &e2),
        id_of(&dead, &e2),
    );

    let b = app.signed_in(SUPPORT_EMAIL).await;
    let later = domain::time::datetime_local(domain::time::now_ms() + 3_600_000);
    let earlier = domain::time::datetime_local(domain::time::now_ms() - 3_600_000);
    let cases: Vec<(String, Vec<&String>)> = vec![
        (
            String::new(),
            vec![&ok_sent, &bad_sent, &ok_missed, &dead_missed],
        ),
        ("status=failed".into(), vec![&bad_sent, &dead_missed]),
        ("status=succeeded".into(), vec![&ok_sent, &ok_missed]),
        (
            "event_type=call.missed".into(),
            vec![&ok_missed, &dead_missed],
        ),
        (format!("webhook={ok}"), vec![&ok_sent, &ok_missed]),
        ("class=5xx".into(), vec![&bad_sent]),
        ("class=2xx".into(), vec![&ok_sent, &ok_missed]),
        ("class=none".into(), vec![&dead_missed]),
        (format!("from={later}"), vec![]),
        (format!("to={earlier}"), vec![]),
        (
            format!("from={earlier}&to={later}"),
            vec![&ok_sent, &bad_sent, &ok_missed, &dead_missed],
        ),
        (format!("q={e2}"), vec![&ok_missed, &dead_missed]),
        (format!("q={bad_sent}"), vec![&bad_sent]),
        (
            format!("status=failed&event_type=message.sent&webhook={bad}"),
            vec![&bad_sent],
        ),
    ];
    let everything = [&ok_sent, &bad_sent, &ok_missed, &dead_missed];
    for (query, expected) in &cases {
        let page = b.get(&format!("/deliveries?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}");
        for id in everything {
            assert_eq!(
                page.body.contains(id.as_str()),
                expected.contains(&id),
                "page ?{query}: {id}"
            );
        }
        // The same filters in the API, under its own parameter names.
        let api_query = query
            .replace("webhook=", "webhook_id=")
            .replace("class=", "status_class=");
        let res = api.get(&format!("/deliveries?{api_query}")).await;
        assert_eq!(res.status, StatusCode::OK, "api ?{api_query}: {}", res.body);
        let mut got: Vec<String> = res.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect();
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "api ?{api_query}");
    }
    // The webhook's tab is the same log, limited to that webhook.
    let tab = b
        .get(&format!("/webhooks/{ok}/deliveries?status=succeeded"))
        .await;
    assert!(tab.body.contains(&ok_sent) && !tab.body.contains(&bad_sent));
    // Filters that mean nothing are said to be wrong, next to their field, and not applied.
    let bad_filter = b
        .get("/deliveries?status=lost&class=9xx&from=yesterday&q=%3Cscript%3E")
        .await;
    assert_eq!(bad_filter.status, StatusCode::BAD_REQUEST);
    for message in [
        "Choose a status from the list.",
        "Choose a response class from the list.",
        "Enter a date and time",
        "Search by a delivery id",
    ] {
        assert!(bad_filter.body.contains(message), "{message}");
    }
    assert!(!bad_filter.body.contains("<script>"));
    for (q, field) in [
        ("status=lost", "status"),
        ("status_class=9xx", "status_class"),
        ("from=x", "from"),
        ("cursor=abc", "cursor"),
        ("limit=101", "limit"),
        ("webhook_id=x", "webhook_id"),
    ] {
        let res = api.get(&format!("/deliveries?{q}")).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
        assert_eq!(res.json()["error"]["field"], field, "{q}");
    }
}

#[actix_rt::test]
async fn keyset_pagination_walks_every_delivery_once() {
    let app = TestApp::delivering(|c| c.retry_schedule = vec![]).await;
    let rx = Receiver::start().await;
    app.webhook(&rx.url("/p"), &["message.read"]);
    let api = app.api(&app.api_key());
    let mut events = Vec::new();
    for _ in 0..105 {
        events.push(publish(&api, "message.read").await);
    }
    wait_for(20, "all deliveries", || rx.count() == 105).await;
    // API: pages of 50, 50, 5; exactly-full pages do not promise a next one that is empty.
    let mut seen = Vec::new();
    let mut path = "/deliveries?limit=50".to_owned();
    let mut sizes = Vec::new();
    loop {
        let page = api.get(&path).await.json();
        let data = page["data"].as_array().unwrap();
        sizes.push(data.len());
        seen.extend(data.iter().map(|d| d["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/deliveries?limit=50&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(sizes, [50, 50, 5]);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(seen, sorted, "newest first, no repeats");
    let page = api.get("/deliveries?limit=35").await.json();
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let rest = api
        .get(&format!("/deliveries?limit=70&cursor={cursor}"))
        .await
        .json();
    assert_eq!(rest["data"].as_array().unwrap().len(), 70);
    assert_eq!(
        rest["next_cursor"],
        serde_json::Value::Null,
        "the last page exactly full"
    );

    // The page: 50 rows, then "Older" keeps the filters.
    let b = app.signed_in(ADMIN_EMAIL).await;
    let first = b.get("/deliveries?event_type=message.read").await;
    assert_eq!(first.body.matches("class=\"delivery-row").count(), 50);
    let start = first
        .body
        .find("id=\"log-older\"")
        .map(|i| first.body[..i].rfind("href=\"").unwrap() + 6)
        .unwrap();
    let older = first.body[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&");
    assert!(
        older.contains("event_type=message.read") && older.contains("before=dlv_"),
        "{older}"
    );
    let second = b.get(&older).await;
    assert_eq!(second.body.matches("class=\"delivery-row").count(), 50);
    assert!(second.body.contains("id=\"log-newest\""));
    let third_start = second
        .body
        .find("id=\"log-older\"")
        .map(|i| second.body[..i].rfind("href=\"").unwrap() + 6)
        .unwrap();
    let third = b
        .get(
            &second.body[third_start..]
                .split('"')
                .next()
                .unwrap()
                .replace("&#38;", "&"),
        )
        .await;
    assert_eq!(third.body.matches("class=\"delivery-row").count(), 5);
    assert!(!third.body.contains("id=\"log-older\""));
}

#[actix_rt::test]
async fn the_detail_shows_payload_and_every_attempt_escaped_and_resend_adds_one() {
    let app = TestApp::delivering(|c| c.retry_schedule = vec![]).await;
    let rx = Receiver::start().await;
    rx.script([Reply::status(500)
        .header("X-Evil", "<script>alert(2)</script>")
        .body("<script>alert(1)</script>")]);
    let (id, secret) = app.webhook(&rx.url("/d"), &["message.received"]);
    let api = app.api(&app.api_key());
    let event = publish(&api, "message.received").await;
    wait_for(10, "the failure", || finished(&app, &event)).await;
    let delivery = app.deliveries_of(&event)[0].id.clone();
    assert_eq!(app.delivery(&delivery).status, "failed");

    let b = app.signed_in(SUPPORT_EMAIL).await;
    let page = b.get(&format!("/deliveries/{delivery}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains("<script>alert"),
        "receiver content is escaped"
    );
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
    );
    assert!(page.body.contains("X-Aethenox-Signature"));
    assert!(
        !page.body.contains(&secret),
        "the secret is never shown with an attempt"
    );
    assert!(page.body.contains("5xx") || page.body.contains("your server failed"));
    assert!(
        page.body
            .contains(&format!("&#34;id&#34;: &#34;{event}&#34;")),
        "payload pretty-printed"
    );
    // Rows that can no longer change do not poll.
    let row = b.get(&format!("/deliveries/{delivery}/row")).await;
    assert!(!row.body.contains("hx-trigger"));

    let confirm = b.get(&format!("/deliveries/{delivery}/resend")).await;
    assert!(confirm.body.contains("Resend this delivery now?"));
    assert_eq!(app.attempts(&delivery).len(), 1, "asking is not resending");
    let res = b.post(&format!("/deliveries/{delivery}/resend"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let after = b.get(res.header("location")).await;
    assert!(after.body.contains("Resent: the endpoint acknowledged it."));
    let attempts = app.attempts(&delivery);
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        (
            attempts[1].trigger.as_str(),
            attempts[1].triggered_by.as_deref()
        ),
        ("resend", Some(SUPPORT_EMAIL))
    );
    let got = rx.got();
    assert_eq!(
        got[0].header("x-aethenox-delivery"),
        got[1].header("x-aethenox-delivery")
    );
    assert_eq!(got[0].body, got[1].body);
    assert_eq!(app.delivery(&delivery).status, "succeeded");
    assert!(after.body.contains("resend by support@example.com"));
    let _ = id;

    // Through the API.
    let res = api
        .post(&format!("/deliveries/{delivery}/resend"), json!({}))
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    assert_eq!(res.json()["success"], true);
    let detail = api.get(&format!("/deliveries/{delivery}")).await.json();
    assert_eq!(detail["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(detail["attempts"][2]["trigger"], "resend");
    assert_eq!(detail["attempts"][2]["triggered_by"], "API key tests");
    assert_eq!(
        detail["attempts"][0]["response_body"], "<script>alert(1)</script>",
        "JSON carries it as data"
    );
    assert_eq!(detail["payload"]["id"], event.as_str());
    assert!(detail["attempts"][0]["request_headers"]["X-Aethenox-Signature"].is_string());
}

#[actix_rt::test]
async fn a_failed_resend_leaves_the_schedule_as_it_was() {
    let app = TestApp::delivering(|c| c.retry_schedule = vec![Duration::from_secs(3600)]).await;
    let rx = Receiver::start().await;
    rx.always(Reply::status(500));
    app.webhook(&rx.url("/s"), &["call.missed"]);
    let api = app.api(&app.api_key());
    let event = publish(&api, "call.missed").await;
    let id = app.deliveries_of(&event)[0].id.clone();
    wait_for(10, "the first attempt", || {
        app.delivery(&id).attempt_count == 1
    })
    .await;
    let before = app.delivery(&id);
    assert_eq!(before.status, "pending");
    let res = api
        .post(&format!("/deliveries/{id}/resend"), json!({}))
        .await;
    assert_eq!(res.json()["success"], false);
    let after = app.delivery(&id);
    assert_eq!(after.status, "pending");
    assert_eq!(
        after.next_attempt_at, before.next_attempt_at,
        "the schedule is undisturbed"
    );
    assert_eq!((after.attempt_count, after.manual_attempts), (2, 1));
}

#[actix_rt::test]
async fn retry_failed_shows_the_count_first_and_progress_after() {
    let (app, rx, _events, ok, bad) = seeded().await;
    let _ = ok;
    // Make /bad fail: three failures there, then the endpoint recovers.
    let rx_bad = Receiver::start().await;
    rx_bad.always(Reply::status(500));
    let now = domain::time::now_ms();
    store::webhooks::update(
        &mut app.conn(),
        &crate::support::dws(),
        &bad,
        &aethenox_webhooks::store::webhooks::Settings {
            url: &rx_bad.url("/bad"),
            description: "",
            events: &["message.sent".into()],
            filter: None,
            headers: None,
            rate_limit: None,
            ordered: false,
        },
        now,
    )
    .unwrap();
    let api = app.api(&app.api_key());
    let mut failed = Vec::new();
    for _ in 0..3 {
        failed.push(publish(&api, "message.sent").await);
    }
    for e in &failed {
        wait_for(10, "failures", || finished(&app, e)).await;
    }
    rx_bad.always(Reply::status(200));
    let b = app.signed_in(SUPPORT_EMAIL).await;
    let confirm = b
        .get(&format!("/webhooks/{bad}/retry-failed?window=1h"))
        .await;
    assert!(
        confirm.body.contains("Retry 3 failed deliveries?"),
        "{}",
        confirm.body
    );
    let res = b
        .post(&format!("/webhooks/{bad}/retry-failed?window=1h"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let progress_url = res.header("location").to_owned();
    assert!(progress_url.starts_with(&format!("/w/default/webhooks/{bad}/retries/rty_")));
    wait_for(10, "the retries to succeed", || {
        failed.iter().all(|e| {
            app.deliveries_of(e)
                .iter()
                .filter(|d| d.webhook_id == bad)
                .all(|d| d.status == "succeeded")
        })
    })
    .await;
    let page = b.get(&progress_url).await;
    assert!(
        page.body.contains("<strong>3</strong> succeeded"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"retry-done\""));
    assert!(
        !page.body.contains("hx-trigger"),
        "finished: no more polling"
    );
    let _ = rx;
}

#[actix_rt::test]
async fn enable_and_recover_delivers_what_failed_or_was_missed() {
    let app = TestApp::delivering(|c| c.retry_schedule = vec![]).await;
    let rx = Receiver::start().await;
    rx.always(Reply::status(500));
    let (id, _) = app.webhook(&rx.url("/r"), &["contact.created"]);
    let api = app.api(&app.api_key());
    let failed = publish(&api, "contact.created").await;
    wait_for(10, "the failure", || finished(&app, &failed)).await;
    let b = app.signed_in(ADMIN_EMAIL).await;
    b.post(&format!("/webhooks/{id}/disable"), &[]).await;
    let missed = [
        publish(&api, "contact.created").await,
        publish(&api, "contact.created").await,
    ];
    assert!(
        missed.iter().all(|e| app.deliveries_of(e).is_empty()),
        "a disabled webhook gets no new deliveries"
    );
    rx.always(Reply::status(204));

    let page = b.get(&format!("/webhooks/{id}")).await;
    assert!(page.body.contains("Enable and recover"));
    let confirm = b.get(&format!("/webhooks/{id}/recover")).await;
    assert!(
        confirm
            .body
            .contains("1 deliveries that failed and 2 events published while it was disabled"),
        "{}",
        confirm.body
    );
    let res = b.post(&format!("/webhooks/{id}/recover"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let after = b.get(res.header("location")).await;
    assert!(
        after
            .body
            .contains("1 failed deliveries were queued again and 2 missed events queued")
    );
    wait_for(10, "recovered deliveries", || {
        let ids: std::collections::BTreeSet<String> = rx
            .got()
            .iter()
            .filter(|r| !r.header("webhook-id").is_empty())
            .map(|r| r.header("webhook-id").to_owned())
            .collect();
        ids.contains(&failed) && missed.iter().all(|m| ids.contains(m))
    })
    .await;
    // Plain Enable does not replay.
    b.post(&format!("/webhooks/{id}/disable"), &[]).await;
    let missed_again = publish(&api, "contact.created").await;
    b.post(&format!("/webhooks/{id}/enable"), &[]).await;
    let n = rx.count();
    actix_rt::time::sleep(Duration::from_millis(300)).await; // nothing should arrive; there is no event to wait for
    assert_eq!(rx.count(), n);
    assert!(app.deliveries_of(&missed_again).is_empty());
}

#[actix_rt::test]
async fn the_overview_shows_the_last_24_hours() {
    let (app, _rx, _events, ok, _bad) = seeded().await;
    let b = app.signed_in(ADMIN_EMAIL).await;
    let page = b.get(&format!("/webhooks/{ok}")).await;
    assert!(
        page.body.contains("<dd id=\"stat-total\">3</dd>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<dd id=\"stat-success\">100.0%</dd>"));
    assert!(page.body.contains("<svg class=\"chart\""));
    assert!(page.body.contains("<rect class=\"ok\""));
    assert!(page.body.contains("id=\"stat-p95\">") && page.body.contains(" ms</dd>"));
}

#[actix_rt::test]
async fn a_test_inbox_receives_checks_signatures_and_lists_them() {
    // The strict policy: only this server's own inbox path is exempt.
    let app = TestApp::spawn().await;
    let b = app.signed_in(ADMIN_EMAIL).await;
    let res = b.post("/inboxes", &[("name", "receiver prototype")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let inbox_page = res.header("location").to_owned();
    let page = b.get(&inbox_page).await;
    assert!(page.body.contains("Nothing received yet."));
    let url_start = page.body.find("id=\"inbox-url\">").unwrap() + "id=\"inbox-url\">".len();
    let inbox_url = page.body[url_start..].split('<').next().unwrap().to_owned();
    assert!(
        inbox_url.starts_with(&format!("{}/inbox/", app.base)),
        "{inbox_url}"
    );

    let res = b.post(&format!("{inbox_page}/webhook"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let webhook_id = res.location_webhook_id();
    let res = b
        .post_raw(
            &format!("/webhooks/{webhook_id}/test"),
            &[],
            &[("HX-Request", "true"), ("X-CSRF-Token", &b.csrf().await)],
        )
        .await;
    assert!(
        res.body.contains("<strong>Success</strong>"),
        "{}",
        res.body
    );

    // A forged request is stored too, marked not valid, and answered 401.
    let forged = awc::Client::default()
        .post(&inbox_url)
        .insert_header(("X-Aethenox-Signature", "00"))
        .send_body("{\"forged\":true}")
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

    let list = b.get(&format!("{inbox_page}/requests")).await;
    assert_eq!(list.body.matches("signature-valid").count(), 1);
    assert_eq!(list.body.matches("signature-invalid").count(), 1);
    assert!(list.body.contains("forged"));
    assert!(
        list.body.contains("hx-trigger=\"every 2s\""),
        "the list stays live"
    );

    // Another port on this host is not the inbox, and stays refused.
    let other = b
        .post(
            "/webhooks",
            &[
                ("url", "http://127.0.0.1:9/inbox/abc"),
                ("events", "call.missed"),
            ],
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Unknown inbox tokens are not found; purging empties the list.
    let none = awc::Client::default()
        .post(format!("{}/inbox/{}", app.base, "x".repeat(32)))
        .send_body("{}")
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        b.post(&format!("{inbox_page}/purge"), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(
        b.get(&inbox_page)
            .await
            .body
            .contains("Nothing received yet.")
    );
    // Support staff cannot use inboxes.
    let support = app.signed_in(SUPPORT_EMAIL).await;
    assert_eq!(support.get("/inboxes").await.status, StatusCode::FORBIDDEN);
}

#[actix_rt::test]
async fn live_rows_poll_until_final() {
    let app = TestApp::delivering(|c| {
        c.retry_schedule = vec![Duration::from_secs(3600)];
    })
    .await;
    let rx = Receiver::start().await;
    rx.always(Reply::status(500));
    app.webhook(&rx.url("/l"), &["call.missed"]);
    let api = app.api(&app.api_key());
    let event = publish(&api, "call.missed").await;
    let id = app.deliveries_of(&event)[0].id.clone();
    wait_for(10, "an attempt", || app.delivery(&id).attempt_count == 1).await;
    let b = app.signed_in(ADMIN_EMAIL).await;
    let row = b.get(&format!("/deliveries/{id}/row")).await;
    assert!(
        row.body
            .contains(&format!("hx-get=\"/w/default/deliveries/{id}/row\""))
    );
    assert!(row.body.contains("hx-trigger=\"every 2s\""));
    assert!(
        row.body.contains("next "),
        "pending rows show the next attempt time"
    );
}

#[actix_rt::test]
async fn a_delivery_in_flight_shows_as_sending() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    rx.always(Reply::status(204).delay(Duration::from_millis(1500)));
    app.webhook(&rx.url("/slow"), &["call.missed"]);
    let api = app.api(&app.api_key());
    let event = publish(&api, "call.missed").await;
    wait_for(10, "the attempt to be in flight", || rx.count() == 1).await;
    let id = app.deliveries_of(&event)[0].id.clone();
    assert_eq!(
        api.get(&format!("/deliveries/{id}")).await.json()["status"],
        "sending"
    );
    let sending = api.get("/deliveries?status=sending").await.json();
    assert_eq!(sending["data"][0]["id"], id.as_str());
    assert!(
        api.get("/deliveries?status=pending").await.json()["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let b = app.signed_in(SUPPORT_EMAIL).await;
    let row = b.get(&format!("/deliveries/{id}/row")).await;
    assert!(row.body.contains("s-sending") && row.body.contains("hx-trigger"));
    wait_for(10, "the outcome", || finished(&app, &event)).await;
    assert_eq!(
        api.get(&format!("/deliveries/{id}")).await.json()["status"],
        "succeeded"
    );
}
