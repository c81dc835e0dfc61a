//! The real binary, killed and stopped: nothing accepted is lost.

use crate::receiver::*;
use crate::support::*;
use aethenox_webhooks::{db, store};
use awc::http::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

fn api_key(dir: &std::path::Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aethenox-webhooks"))
        .args(["api-keys", "create", "--name", "crash test", "--data-dir"])
        .arg(dir.join("data"))
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn call(
    base: &str,
    key: &str,
    path: &str,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let mut res = awc::Client::default()
        .post(format!("{base}/api/v1{path}"))
        .bearer_auth(key)
        .send_json(&body)
        .await
        .unwrap();
    let json = res.json::<serde_json::Value>().await.unwrap_or_default();
    (res.status(), json)
}

/// Publishes a `message.sent` event with each of `ids`, in order; each must be accepted.
async fn publish(base: &str, key: &str, ids: impl IntoIterator<Item = &String>) {
    for id in ids {
        let (status, _) = call(
            base,
            key,
            "/events",
            json!({"type": "message.sent", "data": {}, "id": id}),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
}

#[actix_rt::test]
async fn kill_9_while_deliveries_are_in_flight_loses_nothing() {
    let rx = Receiver::start().await;
    rx.always(Reply::status(204).delay(Duration::from_millis(200)));
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--allow-private-targets",
        "--max-per-endpoint",
        "4",
        "--retry-schedule",
        "100ms,100ms,100ms",
    ];
    let (mut first, _) = Served::start(dir.path(), &flags);
    let key = api_key(dir.path());
    let (status, _) = call(
        &first.base,
        &key,
        "/webhooks",
        json!({"url": rx.url("/crash"), "events": ["message.sent"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let ids: BTreeSet<String> = (0..40).map(|i| format!("crash-{i}")).collect();
    publish(&first.base, &key, &ids).await;
    wait_for(20, "some deliveries to arrive", || rx.count() >= 4).await;
    first.child.kill().unwrap(); // SIGKILL: no chance to finish or clean up
    first.child.wait().unwrap();
    let before = rx.count();
    assert!(
        before < 40,
        "the kill came after everything was delivered; nothing was tested"
    );

    let (_second, _) = Served::start(dir.path(), &flags);
    wait_for(30, "every event to arrive after the restart", || {
        let seen: BTreeSet<String> = rx
            .got()
            .iter()
            .map(|r| r.header("webhook-id").to_owned())
            .collect();
        seen == ids
    })
    .await;
    let pool = db::open(&db::Location::Sqlite(dir.path().join("data/aethenox.db"))).unwrap();
    wait_for(10, "every delivery to be recorded as succeeded", || {
        let mut conn = pool.get().unwrap();
        ids.iter().all(|id| {
            store::deliveries::for_event(&mut conn, &crate::support::dws(), id)
                .unwrap()
                .iter()
                .all(|d| d.status == "succeeded")
        })
    })
    .await;
}

#[actix_rt::test]
async fn sigterm_lets_attempts_in_flight_finish_and_stops() {
    let rx = Receiver::start().await;
    rx.always(Reply::status(204).delay(Duration::from_millis(1500)));
    let dir = tempfile::tempdir().unwrap();
    let (mut served, _) = Served::start(dir.path(), &["--allow-private-targets"]);
    let key = api_key(dir.path());
    call(
        &served.base,
        &key,
        "/webhooks",
        json!({"url": rx.url("/slow"), "events": ["call.completed"]}),
    )
    .await;
    let (status, _) = call(
        &served.base,
        &key,
        "/events",
        json!({"type": "call.completed", "data": {}, "id": "evt_term"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_for(10, "the attempt to be in flight", || rx.count() == 1).await;
    let exit = served.terminate(30);
    assert!(exit.success(), "{exit:?}");
    let pool = db::open(&db::Location::Sqlite(dir.path().join("data/aethenox.db"))).unwrap();
    let deliveries =
        store::deliveries::for_event(&mut pool.get().unwrap(), &crate::support::dws(), "evt_term")
            .unwrap();
    assert_eq!(
        deliveries[0].status, "succeeded",
        "the attempt in flight finished and was recorded"
    );
}

#[actix_rt::test]
async fn an_ordered_webhook_keeps_its_order_across_a_kill_9_mid_attempt() {
    let rx = Receiver::start().await;
    rx.always(Reply::status(204).delay(Duration::from_millis(100)));
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--allow-private-targets", "--retry-schedule", "100ms"];
    let (mut first, _) = Served::start(dir.path(), &flags);
    let key = api_key(dir.path());
    let (status, _) = call(
        &first.base,
        &key,
        "/webhooks",
        json!({"url": rx.url("/ordered"), "events": ["message.sent"], "ordered": true}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let ids: Vec<String> = (0..12).map(|i| format!("ordered-{i:02}")).collect();
    publish(&first.base, &key, &ids).await;
    // Killed while the fourth is being answered.
    wait_for(20, "three to arrive and a fourth in flight", || {
        rx.count() >= 4 && rx.in_flight() == 1
    })
    .await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert!(rx.count() < 12, "the kill came too late to test anything");

    let (_second, _) = Served::start(dir.path(), &flags);
    let seen = || -> Vec<String> {
        rx.got()
            .iter()
            .map(|r| r.header("webhook-id").to_owned())
            .collect()
    };
    wait_for(30, "every event to arrive after the restart", || {
        seen().iter().collect::<BTreeSet<_>>().len() == 12
    })
    .await;
    // In order: the one in flight at the kill may come again, right after itself.
    let mut order = seen();
    order.dedup();
    assert_eq!(order, ids, "arrival order across the kill");
}
