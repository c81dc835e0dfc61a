//! Upgrading an installation of the previous release: a database made with that release's
//! migrations and filled with one of everything comes up on this binary with every row in the
//! `default` workspace, reachable through the pages and the API.

use crate::support::*;
use aethenox_webhooks::db::schema::*;
use aethenox_webhooks::{Config, build_state, db, domain, store};
use awc::http::StatusCode;
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;

/// The previous release's migrations: all but this release's workspaces migration.
const PREVIOUS_SQLITE: usize = 5;
const PREVIOUS_POSTGRES: usize = 1;

#[actix_rt::test]
async fn an_installation_of_the_previous_release_upgrades_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let pg = PgDatabase::for_this_run();
    let config = Config {
        database_url: pg.as_ref().map(|d| d.url.clone()),
        bind: "127.0.0.1:0".into(),
        ..Config::with_data_dir(dir.path())
    };
    let location = db::Location::new(config.database_url.as_deref(), &config.db_path()).unwrap();
    let key = domain::ids::new_api_key();
    let secrets = {
        // The master key the upgraded server will find in the data directory.
        let text = domain::crypto::new_key_text();
        std::fs::write(dir.path().join("secret.key"), format!("{text}\n")).unwrap();
        domain::crypto::SecretBox::new(domain::crypto::parse_key(&text).unwrap())
    };
    let sealed = secrets.seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let hash = domain::passwords::hash(PASSWORD).unwrap();
    let mut conn = match &location {
        db::Location::Sqlite(path) => {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let mut c = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            for _ in 0..PREVIOUS_SQLITE {
                c.run_next_migration(db::SQLITE_MIGRATIONS).unwrap();
            }
            db::DbConn::Sqlite(c)
        }
        db::Location::Postgres(url) => {
            db::init_tls();
            let mut c = diesel::PgConnection::establish(url).unwrap();
            for _ in 0..PREVIOUS_POSTGRES {
                c.run_next_migration(db::POSTGRES_MIGRATIONS).unwrap();
            }
            db::DbConn::Pg(c)
        }
    };
    // One of everything, written with only the previous release's columns.
    let c = &mut conn;
    diesel::insert_into(users::table)
        .values((
            users::email.eq(ADMIN_EMAIL),
            users::role.eq("admin"),
            users::password_hash.eq(&hash),
            users::disabled.eq(false),
            users::created_at.eq(1),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::name.eq("old"),
            api_keys::prefix.eq("aex_"),
            api_keys::key_hash.eq(domain::ids::token_hash(&key)),
            api_keys::created_at.eq(1),
            api_keys::role.eq("admin"),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::id.eq("wh_00000000000000000000000001"),
            webhooks::url.eq(PUBLIC_URL),
            webhooks::description.eq("old"),
            webhooks::enabled.eq(true),
            webhooks::created_at.eq(1),
            webhooks::updated_at.eq(1),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(webhook_events::table)
        .values((
            webhook_events::webhook_id.eq("wh_00000000000000000000000001"),
            webhook_events::event_type.eq("call.missed"),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(webhook_secrets::table)
        .values((
            webhook_secrets::webhook_id.eq("wh_00000000000000000000000001"),
            webhook_secrets::secret.eq(&sealed),
            webhook_secrets::created_at.eq(1),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(events::table)
        .values((
            events::id.eq("evt_old"),
            events::event_type.eq("call.missed"),
            events::body.eq(b"{}".to_vec()),
            events::delivery_count.eq(1),
            events::created_at.eq(1),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(deliveries::table)
        .values((
            deliveries::id.eq("dlv_00000000000000000000000001"),
            deliveries::event_id.eq("evt_old"),
            deliveries::webhook_id.eq("wh_00000000000000000000000001"),
            deliveries::event_type.eq("call.missed"),
            deliveries::status.eq("failed"),
            deliveries::attempt_count.eq(1),
            deliveries::created_at.eq(1),
            deliveries::updated_at.eq(1),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(attempts::table)
        .values((
            attempts::delivery_id.eq("dlv_00000000000000000000000001"),
            attempts::attempted_at.eq(1),
            attempts::duration_ms.eq(5),
            attempts::status_code.eq(Some(500)),
            attempts::request_headers.eq("{}"),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(inboxes::table)
        .values((
            inboxes::id.eq("ibx_00000000000000000000000001"),
            inboxes::token.eq("t".repeat(32)),
            inboxes::name.eq("old inbox"),
            inboxes::created_at.eq(1),
        ))
        .execute(c)
        .unwrap();
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(1),
            audit_log::actor.eq("old"),
            audit_log::action.eq("webhook_created"),
        ))
        .execute(c)
        .unwrap();
    drop(conn);

    // The new binary's start: migrated, everything in the default workspace.
    let state = build_state(config).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = aethenox_webhooks::run(state.clone(), listener).unwrap();
    let handle = server.handle();
    actix_rt::spawn(server);
    let ws = domain::workspace::WorkspaceId::default_workspace();
    let mut c = state.pool.get().unwrap();
    let counts = store::retention::row_counts(&mut c).unwrap();
    for (table, n) in counts {
        assert_eq!(n, 1, "{table} keeps its row");
    }
    let hook = store::webhooks::get(&mut c, &ws, "wh_00000000000000000000000001").unwrap();
    assert_eq!(hook.events, ["call.missed"]);
    assert_eq!(
        state
            .secrets
            .open(&store::webhooks::current_secret(&mut c, &ws, &hook.id).unwrap())
            .unwrap(),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    );
    assert_eq!(store::inboxes::list(&mut c, &ws).unwrap().len(), 1);
    drop(c);

    let api = Api::new(&base, &key);
    let listed = api.get("/workspaces/default/webhooks").await.json();
    assert_eq!(
        listed["data"][0]["id"], "wh_00000000000000000000000001",
        "the old key is an instance key"
    );
    let d = api
        .get("/deliveries/dlv_00000000000000000000000001")
        .await
        .json();
    assert_eq!(d["attempts"][0]["status_code"], 500, "{d}");
    let audit = api.get("/audit").await.json();
    assert!(
        audit["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "old"),
        "{audit}"
    );
    // Publishing the old event's id again is still idempotent in the default workspace.
    let again = api
        .post(
            "/events",
            serde_json::json!({"type": "call.missed", "data": {}, "id": "evt_old"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(again.json()["deliveries"], 1);
    let browser = Browser::at(&base);
    let res = browser.login(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(
        res.status,
        StatusCode::SEE_OTHER,
        "the old user signs in: {}",
        res.body
    );
    let page = browser.get("/webhooks/wh_00000000000000000000000001").await;
    assert_eq!(page.status, StatusCode::OK);
    drop(handle.stop(false));
}
