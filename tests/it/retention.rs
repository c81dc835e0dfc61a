//! Running it for months: retention (never a delivery still being retried), space given back,
//! Settings → Storage and its metrics, backups taken while serving, refusing a newer schema.

use crate::support::*;
use aethenox_webhooks::domain::workspace::DEFAULT_ID;
use aethenox_webhooks::domain::{ids, time};
use aethenox_webhooks::{db, retention, store};
use awc::http::StatusCode;
use diesel::connection::SimpleConnection;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

const DAY: i64 = 86_400_000;

/// Inserts `n` deliveries of `webhook_id` created at `created_ms` with `status`, each with its
/// own event and `attempts` attempts carrying a `body_len`-byte response; returns their ids.
fn seed(
    app: &TestApp,
    webhook_id: &str,
    n: usize,
    created_ms: i64,
    status: &str,
    attempts: usize,
    body_len: usize,
) -> Vec<String> {
    let mut sql = String::from("BEGIN;");
    let body = "x".repeat(body_len);
    let event_body = if on_postgres() {
        r"'\x7b7d'"
    } else {
        "X'7B7D'"
    };
    let mut out = Vec::new();
    for _ in 0..n {
        let (evt, dlv) = (
            ids::new_id_at("evt", created_ms),
            ids::new_id_at("dlv", created_ms),
        );
        sql.push_str(&format!(
            "INSERT INTO events (workspace_id, id, event_type, body, delivery_count, created_at) VALUES ('{DEFAULT_ID}', '{evt}', 'message.sent', {event_body}, 1, {created_ms});
             INSERT INTO deliveries (workspace_id, id, event_id, webhook_id, event_type, status, attempt_count, next_attempt_at, created_at, updated_at)
               VALUES ('{DEFAULT_ID}', '{dlv}', '{evt}', '{webhook_id}', 'message.sent', '{status}', {attempts}, {created_ms}, {created_ms}, {created_ms});"
        ));
        for _ in 0..attempts {
            sql.push_str(&format!(
                "INSERT INTO attempts (delivery_id, attempted_at, duration_ms, request_headers, response_body)
                   VALUES ('{dlv}', {created_ms}, 5, '{{}}', '{body}');"
            ));
        }
        out.push(dlv);
    }
    sql.push_str("COMMIT;");
    app.conn().batch_execute(&sql).unwrap();
    out
}

fn exists(app: &TestApp, id: &str) -> bool {
    store::deliveries::get(&mut app.conn(), &crate::support::dws(), id).is_ok()
}

fn count(app: &TestApp, table: &str) -> i64 {
    store::retention::row_counts(&mut app.conn())
        .unwrap()
        .into_iter()
        .find(|(t, _)| *t == table)
        .unwrap()
        .1
}

#[actix_rt::test]
async fn retention_deletes_what_finished_long_ago_and_never_what_is_still_being_retried() {
    let app = TestApp::spawn_with(|c| {
        c.retention = Duration::from_secs(30 * 86_400);
        c.audit_retention = Duration::from_secs(400 * 86_400);
    })
    .await;
    let (wh, _) = app.webhook("https://example.com/hook", &["message.sent"]);
    let now = time::now_ms();
    let old_ok = seed(&app, &wh, 30, now - 40 * DAY, "succeeded", 2, 100);
    let old_failed = seed(&app, &wh, 10, now - 40 * DAY, "failed", 8, 100);
    let old_pending = seed(&app, &wh, 5, now - 40 * DAY, "pending", 3, 100);
    let recent = seed(&app, &wh, 7, now - 2 * DAY, "succeeded", 1, 100);
    // An old event that never had a delivery (nobody subscribed), and a recent one.
    app.conn()
        .batch_execute(&format!(
            "INSERT INTO events VALUES ('old_orphan', 'call.missed', '{{}}', 0, {}, '{DEFAULT_ID}');
             INSERT INTO events VALUES ('new_orphan', 'call.missed', '{{}}', 0, {}, '{DEFAULT_ID}');
             INSERT INTO audit_log (at, actor, action) VALUES ({}, 'old', 'sign_in'), ({}, 'new', 'sign_in');",
            now - 40 * DAY,
            now - DAY,
            now - 401 * DAY,
            now - 399 * DAY
        ))
        .unwrap();
    let report = retention::prune(&app.state, &AtomicBool::new(false)).unwrap();
    assert_eq!(report.deliveries, 40, "{report:?}");
    assert_eq!(report.attempts, 30 * 2 + 10 * 8);
    assert_eq!(
        report.events, 41,
        "the 40 events left with no delivery, and the old orphan"
    );
    assert_eq!(report.audit, 1);
    for id in old_ok.iter().chain(&old_failed) {
        assert!(!exists(&app, id), "{id} finished 40 days ago");
    }
    for id in old_pending.iter().chain(&recent) {
        assert!(exists(&app, id), "{id} is kept");
    }
    assert_eq!(count(&app, "attempts"), 5 * 3 + 7);
    assert_eq!(
        count(&app, "events"),
        5 + 7 + 1,
        "the recent orphan stays (idempotency)"
    );
    assert_eq!(count(&app, "audit_log"), 1);
    // A second pass finds nothing more.
    let again = retention::prune(&app.state, &AtomicBool::new(false)).unwrap();
    assert_eq!((again.deliveries, again.events, again.audit), (0, 0, 0));
}

#[actix_rt::test]
async fn space_freed_by_retention_goes_back_to_the_file_system() {
    if on_postgres() {
        eprintln!("about the SQLite file: runs in the SQLite run (PostgreSQL has autovacuum)");
        return;
    }
    let app = TestApp::spawn_with(|c| c.retention = Duration::from_secs(86_400)).await;
    let (wh, _) = app.webhook("https://example.com/hook", &["message.sent"]);
    let path = app.state.config.db_path();
    let auto_vacuum: i64 = {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Mode {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            auto_vacuum: i64,
        }
        diesel::sql_query("PRAGMA auto_vacuum")
            .get_result::<Mode>(&mut app.conn())
            .unwrap()
            .auto_vacuum
    };
    assert_eq!(auto_vacuum, 2, "incremental vacuum is on from the start");
    seed(
        &app,
        &wh,
        2000,
        time::now_ms() - 3 * DAY,
        "succeeded",
        2,
        2000,
    );
    let before = db::space::space(&mut app.conn(), &path).unwrap();
    let report = retention::prune(&app.state, &AtomicBool::new(false)).unwrap();
    let after = db::space::space(&mut app.conn(), &path).unwrap();
    assert_eq!(report.deliveries, 2000);
    assert!(
        after.file_bytes < before.file_bytes / 2,
        "{} → {} bytes",
        before.file_bytes,
        after.file_bytes
    );
    assert_eq!(after.free_bytes, 0, "every free page was given back");
    assert_eq!(report.freed_bytes, before.file_bytes - after.file_bytes);
}

#[actix_rt::test]
async fn retention_runs_in_the_background_and_the_storage_page_and_metrics_say_what_it_did() {
    let app = TestApp::spawn_with(|c| {
        c.retention = Duration::from_secs(86_400);
        c.prune_every = Duration::from_millis(200);
    })
    .await;
    let (wh, _) = app.webhook("https://example.com/hook", &["message.sent"]);
    let old = seed(&app, &wh, 25, time::now_ms() - 3 * DAY, "failed", 1, 10);
    seed(&app, &wh, 4, time::now_ms() - 3 * DAY, "pending", 1, 10);
    wait_for(20, "the background pass deletes the old deliveries", || {
        !exists(&app, &old[0])
    })
    .await;
    wait_for(20, "the pass is reported", || {
        app.state.metrics.last_prune.lock().unwrap().is_some()
    })
    .await;
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let page = admin.get("/settings/storage").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for expected in [
        "id=\"db-size\"",
        "id=\"rows-deliveries\"",
        "Deliveries that finished (succeeded or failed) more than <strong>1 day</strong> ago",
        "<strong>400 days</strong>",
        "id=\"last-prune\">Last pass",
        "id=\"queue-retrying\">4<",
    ] {
        assert!(page.body.contains(expected), "{expected}");
    }
    let support = app.signed_in(SUPPORT_EMAIL).await;
    assert_eq!(
        support.get("/settings/storage").await.status,
        StatusCode::FORBIDDEN
    );
    let key = app.api_key();
    let res = awc::Client::default()
        .get(format!("{}/metrics", app.base))
        .insert_header(("Authorization", format!("Bearer {key}")))
        .send()
        .await
        .unwrap()
        .body()
        .await
        .unwrap();
    let text = String::from_utf8(res.to_vec()).unwrap();
    for expected in [
        "aethenox_database_bytes{part=\"file\"}",
        "aethenox_rows{table=\"deliveries\"} 4",
        "aethenox_deliveries_waiting{state=\"retrying\"} 4",
        "aethenox_pruned_total{table=\"deliveries\"} 25",
        "aethenox_retention_last_run_timestamp_seconds",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
}

#[actix_rt::test]
async fn a_database_from_a_newer_version_is_refused_and_an_old_one_gets_incremental_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aethenox.db");
    db::open(&db::Location::Sqlite(path.clone())).unwrap();
    {
        use diesel::Connection;
        let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        conn.batch_execute(
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000000');",
        )
        .unwrap();
    }
    let Err(err) = db::open(&db::Location::Sqlite(path.clone())) else {
        panic!("a newer schema must be refused")
    };
    let err = err.to_string();
    assert!(
        err.contains("upgraded by a newer aethenox-webhooks")
            && err.contains("29991231000000")
            && err.contains("Nothing was changed"),
        "{err}"
    );
    // A database made before retention (no auto-vacuum) is converted once.
    let old = dir.path().join("old").join("aethenox.db");
    std::fs::create_dir_all(old.parent().unwrap()).unwrap();
    {
        use diesel::Connection;
        let mut conn = diesel::SqliteConnection::establish(old.to_str().unwrap()).unwrap();
        conn.batch_execute("CREATE TABLE leftover (x INTEGER); INSERT INTO leftover VALUES (1);")
            .unwrap();
    }
    let pool = db::open(&db::Location::Sqlite(old.clone())).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        auto_vacuum: i64,
    }
    use diesel::RunQueryDsl;
    let mode = diesel::sql_query("PRAGMA auto_vacuum")
        .get_result::<Mode>(&mut pool.get().unwrap())
        .unwrap();
    assert_eq!(mode.auto_vacuum, 2);
}

#[actix_rt::test]
async fn a_backup_taken_while_serving_restores_the_same_webhooks_secrets_and_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_aethenox-webhooks");
    let (mut served, _) = Served::start(dir.path(), &["--allow-private-targets"]);
    let key_out = std::process::Command::new(bin)
        .args(["api-keys", "create", "--name", "backup test"])
        .current_dir(dir.path())
        .env_remove("AETHENOX_DATA_DIR")
        .output()
        .unwrap();
    assert!(key_out.status.success());
    let key = String::from_utf8(key_out.stdout).unwrap().trim().to_owned();
    let api = Api::new(&served.base, &key);
    let res = api
        .post(
            "/webhooks",
            serde_json::json!({"url": "http://127.0.0.1:9/hook", "events": ["message.sent"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let webhook = res.json();
    // Publishing goes on while the backup is taken.
    let published = std::rc::Rc::new(std::cell::Cell::new(0));
    let publisher = {
        let api = Api::new(&served.base, &key);
        let published = published.clone();
        actix_rt::spawn(async move {
            let mut accepted = Vec::new();
            for n in 0..300 {
                let res = api
                    .post(
                        "/events",
                        serde_json::json!({"type": "message.sent", "data": {"n": n}, "id": format!("evt_backup_{n}")}),
                    )
                    .await;
                assert_eq!(res.status, StatusCode::ACCEPTED);
                accepted.push(format!("evt_backup_{n}"));
                published.set(n + 1);
            }
            accepted
        })
    };
    wait_for(30, "the first events are published", || {
        published.get() >= 50
    })
    .await;
    let copy = dir.path().join("copy.db");
    let out = actix_rt::task::spawn_blocking({
        let (bin, dir, copy) = (bin.to_owned(), dir.path().to_owned(), copy.clone());
        move || {
            std::process::Command::new(bin)
                .args(["backup", "--to", copy.to_str().unwrap()])
                .current_dir(dir)
                .env_remove("AETHENOX_DATA_DIR")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let accepted = publisher.await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("wrote ") && said.contains("1 webhooks"),
        "{said}"
    );
    // Refuses to overwrite.
    let again = std::process::Command::new(bin)
        .args(["backup", "--to", copy.to_str().unwrap()])
        .current_dir(dir.path())
        .env_remove("AETHENOX_DATA_DIR")
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    served.terminate(15);
    // Restore: the copy as aethenox.db beside the same master key.
    let restored = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(restored.path().join("data")).unwrap();
    std::fs::copy(&copy, restored.path().join("data/aethenox.db")).unwrap();
    std::fs::copy(
        dir.path().join("data/secret.key"),
        restored.path().join("data/secret.key"),
    )
    .unwrap();
    let (served2, _) = Served::start(restored.path(), &["--allow-private-targets"]);
    let api2 = Api::new(&served2.base, &key);
    let got = api2
        .get(&format!("/webhooks/{}", webhook["id"].as_str().unwrap()))
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(
        got.json()["secret"],
        webhook["secret"],
        "the same signing secret"
    );
    // Every event the copy holds has its delivery; the copy holds a prefix of what was accepted.
    let copy_conn = store_of(&restored.path().join("data/aethenox.db"));
    let mut held = 0;
    for id in &accepted {
        match store::events::find(&mut copy_conn.get().unwrap(), &crate::support::dws(), id)
            .unwrap()
        {
            Some((_, n)) => {
                assert_eq!(n, 1);
                held += 1;
            }
            None => break,
        }
    }
    let deliveries = store::retention::row_counts(&mut copy_conn.get().unwrap())
        .unwrap()
        .into_iter()
        .find(|(t, _)| *t == "deliveries")
        .unwrap()
        .1;
    assert_eq!(
        deliveries, held as i64,
        "one delivery per event in the copy"
    );
    assert!(
        held >= 50,
        "the copy holds what was accepted before it began ({held})"
    );
    drop(served2);
}

fn store_of(path: &std::path::Path) -> db::DbPool {
    db::open(&db::Location::Sqlite(path.into())).unwrap()
}

#[actix_rt::test]
async fn deleting_a_webhook_takes_the_events_only_it_was_sent_and_keeps_shared_ones() {
    let app = TestApp::spawn().await;
    let key = app.api_key();
    let (gone, _) = app.webhook("https://example.com/a", &["message.sent"]);
    let (kept, _) = app.webhook("https://example.com/b", &["call.missed"]);
    let (both, _) = app.webhook("https://example.com/c", &["message.sent", "call.missed"]);
    let api = app.api(&key);
    for (id, ty) in [
        ("evt_only_a", "message.sent"),
        ("evt_shared", "call.missed"),
    ] {
        let res = api
            .post(
                "/events",
                serde_json::json!({"type": ty, "data": {}, "id": id}),
            )
            .await;
        assert_eq!(res.status, StatusCode::ACCEPTED);
    }
    // `both` gets message.sent too, so delete it and `gone`: evt_only_a has no delivery left.
    for id in [&gone, &both] {
        assert_eq!(
            api.call("DELETE", &format!("/webhooks/{id}"), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
    }
    let mut conn = app.conn();
    assert!(
        store::events::find(&mut conn, &crate::support::dws(), "evt_only_a")
            .unwrap()
            .is_none()
    );
    assert!(
        store::events::find(&mut conn, &crate::support::dws(), "evt_shared")
            .unwrap()
            .is_some(),
        "still delivered to {kept}"
    );
}
