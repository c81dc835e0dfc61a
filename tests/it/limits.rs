//! Bounds on what floods and races can make the server hold: password hashes, sign-in
//! throttling under concurrency, Send Test and Resend against a slow endpoint, the event
//! queue, list queries, API keys and ports.

use crate::receiver::{Receiver, Reply};
use crate::support::*;
use aethenox_webhooks::domain;
use aethenox_webhooks::store::{self, users::Role};
use awc::http::StatusCode;
use std::time::{Duration, Instant};

/// Starts every future at once (each on its own task) and returns their outputs in order.
async fn all_at_once<T: 'static>(
    futures: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = T>>>>,
) -> Vec<T> {
    let handles: Vec<_> = futures.into_iter().map(actix_rt::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

fn count(statuses: &[StatusCode], want: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == want).count()
}

/// Browsers that have loaded the sign-in form (so they hold a CSRF cookie), from `ip`.
async fn ready_browsers(app: &TestApp, n: usize, ip: &str) -> Vec<Browser> {
    let mut out = Vec::new();
    for _ in 0..n {
        let b = app.client_from(ip);
        b.csrf().await;
        out.push(b);
    }
    out
}

#[actix_rt::test]
async fn simultaneous_wrong_guesses_for_one_account_check_no_more_passwords_than_guesses_in_turn() {
    let app = TestApp::spawn().await;
    let browsers = ready_browsers(&app, 40, "127.0.0.1").await;
    let statuses = all_at_once(
        browsers
            .into_iter()
            .map(|b| {
                Box::pin(async move { b.login(ADMIN_EMAIL, "wrong password").await.status }) as _
            })
            .collect(),
    )
    .await;
    // In turn, 3 wrong guesses are checked before the delays start: at once, no more.
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        37,
        "{statuses:?}"
    );
}

#[actix_rt::test]
async fn simultaneous_guesses_across_accounts_from_one_address_are_bounded_per_address() {
    let app = TestApp::spawn().await;
    let browsers = ready_browsers(&app, 40, "127.0.0.1").await;
    let statuses = all_at_once(
        browsers
            .into_iter()
            .enumerate()
            .map(|(n, b)| {
                Box::pin(async move {
                    let email = format!("guess{n}@example.com");
                    b.login(&email, "wrong password").await.status
                }) as _
            })
            .collect(),
    )
    .await;
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        30,
        "{statuses:?}"
    );
    // Another address is not held back by those.
    let other = app.client_from("127.0.0.2");
    assert_eq!(
        other.login(ADMIN_EMAIL, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[actix_rt::test]
async fn sign_ins_beyond_the_hashing_bound_are_told_to_retry_and_do_not_count_as_guesses() {
    let app = TestApp::spawn_with(|c| {
        c.max_password_hashes = 1;
        c.password_hash_wait = Duration::from_millis(50);
    })
    .await;
    let key = app.api_key();
    let held = app
        .state
        .passwords
        .gate()
        .enter()
        .await
        .expect("the only turn");
    let b = app.client();
    for _ in 0..5 {
        let res = b.login(ADMIN_EMAIL, PASSWORD).await;
        assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
        assert_eq!(res.header("retry-after"), "2");
        assert!(
            res.body
                .contains("The server is busy checking other sign-ins"),
            "{}",
            res.body
        );
        assert!(
            res.body.contains(r#"value="admin@example.com""#),
            "what was typed is kept"
        );
    }
    // Nothing else waits on the hashing turns: the API, health and pages answer at once.
    let t0 = Instant::now();
    assert_eq!(app.api(&key).get("/webhooks").await.status, StatusCode::OK);
    assert_eq!(b.get("/healthz").await.status, StatusCode::OK);
    assert!(t0.elapsed() < Duration::from_secs(1));
    // Own password changes and user management wait for the same turns.
    let admin_browser = {
        drop(held);
        app.signed_in(ADMIN_EMAIL).await
    };
    let held = app.state.passwords.gate().enter().await.unwrap();
    let res = admin_browser
        .post(
            "/settings/users",
            &[
                ("email", "new@example.com"),
                ("role", "support"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.header("retry-after"), "2");
    drop(held);
    // The five refused sign-ins checked no password, so none of them counts as a failure.
    assert_eq!(
        app.client().login(ADMIN_EMAIL, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[actix_rt::test]
async fn guesses_at_the_current_password_are_throttled_like_sign_ins() {
    let app = TestApp::spawn().await;
    let b = app.signed_in(SUPPORT_EMAIL).await;
    let change = |current: &'static str| {
        let b = &b;
        async move {
            b.post(
                "/account/password",
                &[
                    ("current_password", current),
                    ("new_password", "another long password"),
                    ("new_password_confirm", "another long password"),
                ],
            )
            .await
        }
    };
    for _ in 0..3 {
        assert_eq!(
            change("wrong guess").await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let res = change(PASSWORD).await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
    assert!(res.body.contains("Too many wrong current passwords"));
    assert!(res.header("retry-after").parse::<u64>().is_ok());
}

#[actix_rt::test]
async fn send_test_and_resend_to_a_slow_endpoint_are_bounded_per_webhook_and_in_all() {
    // 4 in all, one per webhook.
    let app = TestApp::delivering(|c| c.max_manual_attempts = 4).await;
    let slow = Receiver::start().await;
    slow.always(Reply::status(204).held());
    let (wh, _) = app.webhook(&slow.url("/slow"), &["message.received"]);
    let key = app.api_key();
    let api = app.api(&key);
    let first = {
        let api = app.api(&key);
        let path = format!("/webhooks/{wh}/test");
        actix_rt::spawn(async move { api.post(&path, serde_json::json!({})).await })
    };
    wait_for(10, "the first test reaches the endpoint", || {
        slow.in_flight() == 1
    })
    .await;
    let tests_before = store::delivery_log::log_page(
        &mut app.conn(),
        &crate::support::dws(),
        &store::delivery_log::LogFilter::default(),
        100,
    )
    .unwrap()
    .len();
    let res = api
        .post(&format!("/webhooks/{wh}/test"), serde_json::json!({}))
        .await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "busy");
    assert!(
        res.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("this webhook"),
        "{}",
        res.body
    );
    assert_eq!(res.header("retry-after"), "5");
    let tests_after = store::delivery_log::log_page(
        &mut app.conn(),
        &crate::support::dws(),
        &store::delivery_log::LogFilter::default(),
        100,
    )
    .unwrap()
    .len();
    assert_eq!(tests_before, tests_after, "a refused test stores nothing");
    // The Send Test button says so in place.
    let b = app.signed_in(SUPPORT_EMAIL).await;
    let token = b.csrf().await;
    let res = b
        .post_raw(
            &format!("/webhooks/{wh}/test"),
            &[("csrf_token", &token), ("event_type", "message.sent")],
            &[("HX-Request", "true")],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("Not sent"), "{}", res.body);
    assert!(res.body.contains("already waiting for its endpoint"));
    // A resend to the same webhook waits its turn too.
    let delivery_id = first_delivery_of(&app, &wh);
    let res = api
        .post(
            &format!("/deliveries/{delivery_id}/resend"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
    // Other webhooks fill the rest, up to the bound in all.
    let mut others = Vec::new();
    for n in 0..3 {
        let (other, _) = app.webhook(&slow.url(&format!("/other{n}")), &["message.received"]);
        let api = app.api(&key);
        let path = format!("/webhooks/{other}/test");
        others.push(actix_rt::spawn(async move {
            api.post(&path, serde_json::json!({})).await
        }));
    }
    wait_for(10, "four tests at the endpoint", || slow.in_flight() == 4).await;
    let (fifth, _) = app.webhook(&slow.url("/fifth"), &["message.received"]);
    let res = api
        .post(&format!("/webhooks/{fifth}/test"), serde_json::json!({}))
        .await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        res.body
            .contains("4 tests and resends are already in progress")
    );
    slow.release();
    assert_eq!(first.await.unwrap().status, StatusCode::OK);
    for o in others {
        assert_eq!(o.await.unwrap().status, StatusCode::OK);
    }
    // Turns are given back when attempts finish.
    let res = api
        .post(&format!("/webhooks/{fifth}/test"), serde_json::json!({}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

fn first_delivery_of(app: &TestApp, webhook_id: &str) -> String {
    let filter = store::delivery_log::LogFilter {
        webhook_id: Some(webhook_id.to_owned()),
        ..Default::default()
    };
    store::delivery_log::log_page(&mut app.conn(), &crate::support::dws(), &filter, 1).unwrap()[0]
        .delivery
        .id
        .clone()
}

#[actix_rt::test]
async fn a_full_event_queue_answers_busy_and_stores_nothing() {
    // A budget smaller than any event: every publish finds the queue full.
    let app = TestApp::spawn_with(|c| c.max_queued_event_bytes = 100).await;
    app.webhook("https://example.com/hook", &["message.received"]);
    let key = app.api_key();
    let res = app
        .api(&key)
        .post(
            "/events",
            serde_json::json!({"type": "message.received", "data": {}, "id": "evt_flood_1"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "busy");
    assert_eq!(res.header("retry-after"), "1");
    assert!(
        store::events::find(&mut app.conn(), &crate::support::dws(), "evt_flood_1")
            .unwrap()
            .is_none()
    );
}

#[actix_rt::test]
async fn list_queries_beyond_their_bound_answer_busy() {
    let app = TestApp::spawn_with(|c| c.list_query_wait = Duration::from_millis(50)).await;
    let key = app.api_key();
    let gate = app.state.list_queries.gate();
    let mut held = Vec::new();
    for _ in 0..gate.size() {
        held.push(gate.enter().await.unwrap());
    }
    let res = app.api(&key).get("/deliveries").await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "busy");
    let res = app.api(&key).get("/audit").await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    let b = app.signed_in(ADMIN_EMAIL).await;
    let page = b.get("/deliveries").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.body.contains("Too many log searches"));
    // Everything else answers meanwhile.
    assert_eq!(app.api(&key).get("/webhooks").await.status, StatusCode::OK);
    drop(held);
    assert_eq!(
        app.api(&key).get("/deliveries").await.status,
        StatusCode::OK
    );
    assert_eq!(b.get("/settings/audit").await.status, StatusCode::OK);
}

#[actix_rt::test]
async fn active_api_keys_are_capped_and_malformed_keys_never_reach_the_database() {
    let app = TestApp::spawn().await;
    for n in 0..store::api_keys::MAX_ACTIVE {
        let key = domain::ids::new_api_key();
        store::api_keys::create_for_key(
            &mut app.conn(),
            &format!("k{n}"),
            &key,
            Role::Support,
            store::api_keys::Owner::Instance,
            domain::time::now_ms(),
        )
        .unwrap();
    }
    let b = app.signed_in(ADMIN_EMAIL).await;
    let res = b
        .post(
            "/settings/api-keys",
            &[("name", "one too many"), ("role", "admin")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(res.body.contains("active keys already"));
    assert!(res.body.contains(r#"value="one too many""#));
    let dir = app.dir.path().to_str().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aethenox-webhooks"))
        .args(["api-keys", "create", "--name", "cli", "--data-dir", dir])
        .envs(app.database_url().map(|u| ("AETHENOX_DATABASE_URL", u)))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("active API keys already"));
    assert!(out.stdout.is_empty(), "no key printed");
    // A bearer that is not shaped like a key is refused before any lookup.
    for bad in ["aex_short", "not-a-key", &"x".repeat(47)] {
        assert_eq!(
            app.api(bad).get("/webhooks").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

#[actix_rt::test]
async fn port_zero_and_ports_out_of_range_are_refused_naming_the_url() {
    let app = TestApp::spawn().await;
    let key = app.api_key();
    for url in ["https://93.184.216.34:0/", "https://93.184.216.34:65536/"] {
        let res = app
            .api(&key)
            .post(
                "/webhooks",
                serde_json::json!({"url": url, "events": ["message.received"]}),
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert_eq!(res.json()["error"]["field"], "url");
        assert!(res.body.contains("1 to 65535"), "{}", res.body);
    }
    assert_eq!(app.webhook_count(), 0);
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

/// 128 sign-ins at once against the real binary, from 16 addresses (8 each, under the
/// per-address limit, so they all reach the hasher): known and unknown accounts, right and
/// wrong passwords. Before the bound this took the server past 1 GiB.
#[actix_rt::test]
async fn a_sign_in_flood_keeps_memory_bounded_gives_it_back_and_health_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_aethenox-webhooks");
    for n in 0..8 {
        let mut child = std::process::Command::new(bin)
            .args(["users", "add", "--email", &format!("u{n}@example.com")])
            .args(["--role", "support", "--password-stdin"])
            .current_dir(dir.path())
            .env_remove("AETHENOX_DATA_DIR")
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
    let (served, _) = Served::start(dir.path(), &["--max-password-hashes", "2"]);
    let pid = served.child.id();
    let base = served.base.clone();
    let mut browsers = Vec::new();
    for i in 0..128 {
        let b = Browser::from_address(&base, &format!("127.0.0.{}", 2 + i / 8));
        b.csrf().await;
        browsers.push((i, b));
    }
    let rss_before = status_kib(pid, "VmRSS");
    let flood = all_at_once(
        browsers
            .into_iter()
            .map(|(i, b)| {
                Box::pin(async move {
                    let (email, password) = match i % 4 {
                        0 => (format!("ghost{i}@example.com"), "wrong password"),
                        1 => (format!("u{}@example.com", i % 8), "wrong password"),
                        2 => (format!("u{}@example.com", i % 8), PASSWORD),
                        _ => (format!("ghost{i}@example.com"), PASSWORD),
                    };
                    let res = b.login(&email, password).await;
                    (res.status, res.header("retry-after").to_owned())
                }) as _
            })
            .collect(),
    );
    let health = {
        let base = base.clone();
        actix_rt::spawn(async move {
            let client = awc::Client::default();
            let mut slowest = Duration::ZERO;
            for _ in 0..20 {
                let t0 = Instant::now();
                let res = client.get(format!("{base}/healthz")).send().await.unwrap();
                assert_eq!(res.status(), StatusCode::OK);
                slowest = slowest.max(t0.elapsed());
                actix_rt::time::sleep(Duration::from_millis(50)).await;
            }
            slowest
        })
    };
    let answers = flood.await;
    let slowest_health = health.await.unwrap();
    let peak_mib = status_kib(pid, "VmHWM") / 1024;
    for (status, retry_after) in &answers {
        assert!(
            [
                StatusCode::SEE_OTHER,
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::SERVICE_UNAVAILABLE
            ]
            .contains(status),
            "{status}"
        );
        if *status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(retry_after, "2");
        }
    }
    let checked = answers
        .iter()
        .filter(|(s, _)| [StatusCode::SEE_OTHER, StatusCode::UNAUTHORIZED].contains(s))
        .count();
    assert!(checked > 0, "some passwords were checked: {answers:?}");
    assert!(
        peak_mib < 100,
        "peak RSS {peak_mib} MiB through 128 simultaneous sign-ins"
    );
    assert!(
        slowest_health < Duration::from_secs(1),
        "/healthz took {slowest_health:?} during the flood"
    );
    // Hash memory goes back to the system once the burst is over.
    let settled = rss_before + 24 * 1024;
    wait_for(10, "RSS back near where it was before the flood", || {
        status_kib(pid, "VmRSS") < settled
    })
    .await;
    drop(served);
}
