//! `move-to-postgres`: a SQLite installation copied into an empty PostgreSQL database serves
//! exactly as before with the same master key; a non-empty target is refused. Runs when the
//! suite runs on PostgreSQL (`AETHENOX_TEST_DATABASE_URL`).

use crate::receiver::*;
use crate::support::*;
use awc::http::StatusCode;
use serde_json::json;
fn run(dir: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    run_binary(Some(dir), &[], args, stdin)
}

#[actix_rt::test]
async fn a_sqlite_installation_moved_to_postgres_serves_as_before() {
    let Some(pg) = PgDatabase::for_this_run() else {
        eprintln!("moving to PostgreSQL needs PostgreSQL: this runs with {PG_ENV} set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start().await;
    rx.script([Reply::status(500)]);
    rx.always(Reply::status(204));

    // An installation on SQLite with a user, a key, a webhook, deliveries with attempts
    // (one retried), an inbox and audit entries.
    let flags = ["--allow-private-targets", "--retry-schedule", "100ms"];
    let (mut before, _) = Served::start(dir.path(), &flags);
    let added = run(
        dir.path(),
        &[
            "users",
            "add",
            "--email",
            ADMIN_EMAIL,
            "--role",
            "admin",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(added.status.success());
    let key =
        String::from_utf8(run(dir.path(), &["api-keys", "create", "--name", "ops"], "").stdout)
            .unwrap()
            .trim()
            .to_owned();
    let api = Api::new(&before.base, &key);
    let made = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/moved"), "events": ["contact.created"], "description": "CRM"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    let webhook = made.json();
    let (id, secret) = (
        webhook["id"].as_str().unwrap().to_owned(),
        webhook["secret"].as_str().unwrap().to_owned(),
    );
    for n in 0..30 {
        let res = api
            .post(
                "/events",
                json!({"type": "contact.created", "data": {"n": n}, "id": format!("evt-{n}")}),
            )
            .await;
        assert_eq!(res.status, StatusCode::ACCEPTED);
    }
    wait_for(20, "31 attempts (one retried)", || rx.count() == 31).await;
    // A second workspace, with a webhook, a key of its own, and an event id the default
    // workspace has too.
    let put = api
        .call(
            "PUT",
            "/workspaces/acct_moved",
            Some(r#"{"name": "Moved"}"#),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED);
    let hook = api
        .post(
            "/workspaces/acct_moved/webhooks",
            json!({"url": rx.url("/other"), "events": ["call.missed"]}),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED);
    let same_id = api
        .post(
            "/workspaces/acct_moved/events",
            json!({"type": "contact.created", "data": {}, "id": "evt-0"}),
        )
        .await;
    assert_eq!(same_id.status, StatusCode::ACCEPTED);
    let ws_key = run(
        dir.path(),
        &[
            "api-keys",
            "create",
            "--name",
            "moved",
            "--workspace",
            "acct_moved",
        ],
        "",
    );
    let ws_key = String::from_utf8(ws_key.stdout).unwrap().trim().to_owned();
    let browser = Browser::from_address(&before.base, "127.0.0.3");
    assert_eq!(
        browser.login(ADMIN_EMAIL, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let inbox = browser.post("/inboxes", &[("name", "staging")]).await;
    assert_eq!(inbox.status, StatusCode::SEE_OTHER, "{}", inbox.body);
    let listed_before = api.get("/deliveries?limit=100").await.json();
    let retried = api.get("/deliveries?limit=100").await.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["attempt_count"] == 2)
        .expect("one delivery took two attempts")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let detail_before = api.get(&format!("/deliveries/{retried}")).await.json();
    assert!(before.terminate(30).success());

    // The move: refused without a URL, done once, refused again on the now full database.
    let url = pg.url.as_str();
    let missing = run(dir.path(), &["move-to-postgres"], "");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--database-url"));
    let moved = run(dir.path(), &["move-to-postgres", "--database-url", url], "");
    let said = String::from_utf8_lossy(&moved.stderr).into_owned();
    assert!(moved.status.success(), "{said}");
    assert!(said.contains("deliveries: 30 of 30 rows"), "{said}");
    assert!(said.contains("attempts: 31 of 31 rows"), "{said}");
    let again = run(dir.path(), &["move-to-postgres", "--database-url", url], "");
    let refusal = String::from_utf8_lossy(&again.stderr).into_owned();
    assert_eq!(again.status.code(), Some(1), "{refusal}");
    assert!(refusal.contains("not empty"), "{refusal}");
    assert!(refusal.contains("30 deliveries"), "{refusal}");

    // Served from PostgreSQL with the same master key (the key file in the data directory).
    let mut args = flags.to_vec();
    args.extend(["--database-url", url]);
    let (after, _) = Served::start(dir.path(), &args);
    let api = Api::new(&after.base, &key);
    let same = api.get(&format!("/webhooks/{id}")).await;
    assert_eq!(same.status, StatusCode::OK, "the API key still works");
    assert_eq!(
        same.json()["secret"],
        secret.as_str(),
        "the sealed secret opens"
    );
    assert_eq!(same.json()["description"], "CRM");
    assert_eq!(api.get("/deliveries?limit=100").await.json(), listed_before);
    assert_eq!(
        api.get(&format!("/deliveries/{retried}")).await.json(),
        detail_before,
        "every attempt with its request and response"
    );
    let browser = Browser::from_address(&after.base, "127.0.0.3");
    assert_eq!(
        browser.login(ADMIN_EMAIL, PASSWORD).await.status,
        StatusCode::SEE_OTHER,
        "the password hash moved"
    );
    assert!(browser.get("/inboxes").await.body.contains("staging"));
    // The second workspace came along, with its webhook and its key, and its event.
    assert_eq!(
        api.get("/workspaces/acct_moved").await.json()["webhooks"],
        1
    );
    let theirs = Api::new(&after.base, &ws_key);
    assert_eq!(
        theirs.get("/webhooks").await.json()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        theirs.get("/workspaces/default/webhooks").await.status,
        StatusCode::NOT_FOUND
    );
    let again = theirs
        .post(
            "/events",
            json!({"type": "contact.created", "data": {}, "id": "evt-0"}),
        )
        .await;
    assert_eq!(
        again.json()["deliveries"],
        0,
        "known in its workspace: answered as before"
    );
    let audit = api.get("/audit?limit=100").await.json();
    assert!(
        audit["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "webhook_created"),
        "{audit}"
    );
    // New rows get new ids, and new events go out signed with the same secret.
    let res = api
        .post(
            "/events",
            json!({"type": "contact.created", "data": {"n": 99}, "id": "evt-after"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    wait_for(10, "the first delivery from PostgreSQL", || {
        rx.count() == 32
    })
    .await;
    let last = rx.got().pop().unwrap();
    assert_eq!(last.header("webhook-id"), "evt-after");
    assert!(aethenox_signature_ok(&last, &secret));
    assert_eq!(
        browser.post("/inboxes", &[("name", "second")]).await.status,
        StatusCode::SEE_OTHER,
        "identities go on after the copied ids"
    );
}
