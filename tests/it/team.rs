//! Roles enforced on every route and API call, users, sessions, throttling, headers, audit,
//! secrets at rest.

use crate::receiver::*;
use crate::support::*;
use aethenox_webhooks::store::users::Role;
use aethenox_webhooks::{build_state, domain, store};
use awc::http::StatusCode;
use serde_json::json;
use std::time::Duration;

/// (method, path, may support staff do it?)
fn ui_routes(
    webhook: &str,
    delivery: &str,
    inbox: &str,
    key: i32,
    user: i32,
) -> Vec<(&'static str, String, bool)> {
    vec![
        ("GET", "/webhooks".into(), true),
        ("GET", format!("/webhooks/{webhook}"), true),
        ("GET", format!("/webhooks/{webhook}/deliveries"), true),
        ("GET", "/deliveries".into(), true),
        ("GET", format!("/deliveries/{delivery}"), true),
        ("GET", format!("/deliveries/{delivery}/row"), true),
        ("GET", format!("/deliveries/{delivery}/resend"), true),
        ("POST", format!("/deliveries/{delivery}/resend"), true),
        ("POST", format!("/webhooks/{webhook}/test"), true),
        ("GET", format!("/webhooks/{webhook}/retry-failed"), true),
        ("POST", format!("/webhooks/{webhook}/retry-failed"), true),
        ("GET", "/account".into(), true),
        ("GET", "/webhooks/new".into(), false),
        ("POST", "/webhooks".into(), false),
        ("GET", format!("/webhooks/{webhook}/settings"), false),
        ("POST", format!("/webhooks/{webhook}/settings"), false),
        ("POST", format!("/webhooks/{webhook}/enable"), false),
        ("POST", format!("/webhooks/{webhook}/disable"), false),
        ("GET", format!("/webhooks/{webhook}/delete"), false),
        ("POST", format!("/webhooks/{webhook}/delete"), false),
        ("POST", format!("/webhooks/{webhook}/secret"), false),
        ("GET", format!("/webhooks/{webhook}/rotate-secret"), false),
        ("POST", format!("/webhooks/{webhook}/rotate-secret"), false),
        ("GET", format!("/webhooks/{webhook}/recover"), false),
        ("POST", format!("/webhooks/{webhook}/recover"), false),
        ("GET", "/inboxes".into(), false),
        ("POST", "/inboxes".into(), false),
        ("GET", format!("/inboxes/{inbox}"), false),
        ("GET", format!("/inboxes/{inbox}/requests"), false),
        ("POST", format!("/inboxes/{inbox}/webhook"), false),
        ("GET", format!("/inboxes/{inbox}/purge"), false),
        ("POST", format!("/inboxes/{inbox}/purge"), false),
        ("GET", "/settings/api-keys".into(), false),
        ("POST", "/settings/api-keys".into(), false),
        ("GET", format!("/settings/api-keys/{key}/revoke"), false),
        ("POST", format!("/settings/api-keys/{key}/revoke"), false),
        ("GET", "/settings/users".into(), false),
        ("POST", "/settings/users".into(), false),
        ("POST", format!("/settings/users/{user}"), false),
        ("GET", "/settings/audit".into(), false),
    ]
}

#[actix_rt::test]
async fn roles_are_enforced_on_every_route_as_a_matrix() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    let (webhook, _) = app.webhook(&rx.url("/m"), &["call.missed"]);
    let api = app.api(&app.api_key());
    let event = api
        .post("/events", json!({"type": "call.missed", "data": {}}))
        .await
        .id();
    wait_for(10, "the delivery", || rx.count() == 1).await;
    let delivery = app.deliveries_of(&event)[0].id.clone();
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let inbox = admin
        .post("/inboxes", &[("name", "matrix")])
        .await
        .header("location")
        .trim_start_matches("/w/default/inboxes/")
        .to_owned();
    let key = store::api_keys::list_active(&mut app.conn(), store::api_keys::Owner::Instance)
        .unwrap()[0]
        .id;
    let user = store::users::find_by_email(&mut app.conn(), SUPPORT_EMAIL)
        .unwrap()
        .unwrap()
        .id;
    let routes = ui_routes(&webhook, &delivery, &inbox, key, user);
    assert!(routes.len() >= 40);

    let support = app.signed_in(SUPPORT_EMAIL).await;
    let anonymous = app.client();
    for (method, path, support_may) in &routes {
        let as_support = match *method {
            "GET" => support.get(path).await,
            _ => support.post(path, &[]).await,
        };
        if *support_may {
            assert_ne!(
                as_support.status,
                StatusCode::FORBIDDEN,
                "support {method} {path}"
            );
            assert!(
                as_support.status.as_u16() < 500,
                "support {method} {path}: {}",
                as_support.status
            );
        } else {
            assert_eq!(
                as_support.status,
                StatusCode::FORBIDDEN,
                "support {method} {path}"
            );
        }
        let as_anonymous = match *method {
            "GET" => anonymous.get(path).await,
            _ => anonymous.post(path, &[]).await,
        };
        let expected = if *method == "GET" {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(as_anonymous.status, expected, "anonymous {method} {path}");
    }
    // Administrators may read everything (writes are tested with their own forms elsewhere).
    for (method, path, _) in routes.iter().filter(|(m, _, _)| *m == "GET") {
        let res = admin.get(path).await;
        assert_eq!(res.status, StatusCode::OK, "admin {method} {path}");
    }
    assert!(
        store::webhooks::get(&mut app.conn(), &crate::support::dws(), &webhook)
            .unwrap()
            .enabled,
        "support changed nothing"
    );
    assert_eq!(app.webhook_count(), 1);
}

#[actix_rt::test]
async fn api_keys_act_with_their_role() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    let (webhook, _) = app.webhook(&rx.url("/k"), &["call.missed"]);
    let admin = app.api(&app.api_key());
    let support = app.api(&app.api_key_with(Role::Support));
    let event = admin
        .post("/events", json!({"type": "call.missed", "data": {}}))
        .await
        .id();
    wait_for(10, "the delivery", || rx.count() == 1).await;
    let delivery = app.deliveries_of(&event)[0].id.clone();
    let body = json!({"url": "https://93.184.215.14/x", "events": ["call.missed"]});
    let cases: Vec<(&str, String, Option<serde_json::Value>, bool)> = vec![
        ("GET", "/webhooks".into(), None, true),
        ("GET", format!("/webhooks/{webhook}"), None, true),
        ("GET", "/deliveries".into(), None, true),
        ("GET", format!("/deliveries/{delivery}"), None, true),
        (
            "POST",
            format!("/deliveries/{delivery}/resend"),
            Some(json!({})),
            true,
        ),
        (
            "POST",
            format!("/webhooks/{webhook}/test"),
            Some(json!({})),
            true,
        ),
        ("POST", "/webhooks".into(), Some(body.clone()), false),
        (
            "PATCH",
            format!("/webhooks/{webhook}"),
            Some(json!({"description": "x"})),
            false,
        ),
        (
            "POST",
            format!("/webhooks/{webhook}/rotate-secret"),
            Some(json!({})),
            false,
        ),
        ("DELETE", format!("/webhooks/{webhook}"), None, false),
        (
            "POST",
            "/events".into(),
            Some(json!({"type": "call.missed", "data": {}})),
            false,
        ),
        ("GET", "/audit".into(), None, false),
    ];
    for (method, path, body, support_may) in &cases {
        let b = body.as_ref().map(|b| b.to_string());
        let res = support.call(method, path, b.as_deref()).await;
        if *support_may {
            assert!(
                res.status.is_success(),
                "support key {method} {path}: {} {}",
                res.status,
                res.body
            );
        } else {
            assert_eq!(
                res.status,
                StatusCode::FORBIDDEN,
                "support key {method} {path}"
            );
            assert_eq!(res.json()["error"]["code"], "forbidden");
        }
    }
    // Support keys see webhooks, never secrets.
    assert_eq!(
        support.get(&format!("/webhooks/{webhook}")).await.json()["secret"],
        serde_json::Value::Null
    );
    assert!(support.get("/webhooks").await.json()["data"][0]["secret"].is_null());
    assert!(
        admin.get(&format!("/webhooks/{webhook}")).await.json()["secret"]
            .as_str()
            .unwrap()
            .starts_with("whsec_")
    );
    // The admin key may do all of it.
    for (method, path, body, _) in &cases {
        let b = body.as_ref().map(|b| b.to_string());
        let res = admin.call(method, path, b.as_deref()).await;
        assert!(
            res.status.is_success(),
            "admin key {method} {path}: {} {}",
            res.status,
            res.body
        );
    }
}

#[actix_rt::test]
async fn users_are_managed_and_the_last_admin_is_protected() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let support_id = store::users::find_by_email(&mut app.conn(), SUPPORT_EMAIL)
        .unwrap()
        .unwrap()
        .id;
    let admin_id = store::users::find_by_email(&mut app.conn(), ADMIN_EMAIL)
        .unwrap()
        .unwrap()
        .id;

    let bad = admin
        .post(
            "/settings/users",
            &[
                ("email", "nope"),
                ("role", "support"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("id=\"email-error\"") && bad.body.contains("id=\"password-error\""));
    assert!(bad.body.contains("value=\"nope\""));
    let res = admin
        .post(
            "/settings/users",
            &[
                ("email", "new@example.com"),
                ("role", "support"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.client().login("new@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let dup = admin
        .post(
            "/settings/users",
            &[
                ("email", "NEW@example.com"),
                ("role", "support"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);

    // The last active admin can be neither disabled nor demoted.
    for (action, role) in [("disable", ""), ("role", "support")] {
        let res = admin
            .post(
                &format!("/settings/users/{admin_id}"),
                &[("action", action), ("role", role)],
            )
            .await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{action}");
        assert!(
            res.body.contains("The last active administrator cannot be"),
            "{action}"
        );
    }
    assert!(
        store::users::get(&mut app.conn(), admin_id)
            .unwrap()
            .is_admin()
    );

    // Disabling ends the user's sessions at once.
    let support = app.signed_in(SUPPORT_EMAIL).await;
    assert_eq!(support.get("/webhooks").await.status, StatusCode::OK);
    let res = admin
        .post(
            &format!("/settings/users/{support_id}"),
            &[("action", "disable")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        support.get("/webhooks").await.status,
        StatusCode::SEE_OTHER,
        "signed out"
    );
    assert_eq!(
        app.client().login(SUPPORT_EMAIL, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    admin
        .post(
            &format!("/settings/users/{support_id}"),
            &[("action", "enable")],
        )
        .await;

    // Promote, then the former last admin may be demoted.
    admin
        .post(
            &format!("/settings/users/{support_id}"),
            &[("action", "role"), ("role", "admin")],
        )
        .await;
    assert!(
        store::users::get(&mut app.conn(), support_id)
            .unwrap()
            .is_admin()
    );

    // Reset a password: the old one stops working, the new one works, sessions end.
    let support = app.signed_in(SUPPORT_EMAIL).await;
    let too_short = admin
        .post(
            &format!("/settings/users/{support_id}"),
            &[("action", "password"), ("password", "x")],
        )
        .await;
    assert_eq!(too_short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = admin
        .post(
            &format!("/settings/users/{support_id}"),
            &[("action", "password"), ("password", "a brand new password")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(support.get("/webhooks").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.client().login(SUPPORT_EMAIL, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.client()
            .login(SUPPORT_EMAIL, "a brand new password")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[actix_rt::test]
async fn everyone_can_change_their_own_password() {
    let app = TestApp::spawn().await;
    let here = app.signed_in(SUPPORT_EMAIL).await;
    let elsewhere = app.signed_in(SUPPORT_EMAIL).await;
    let wrong = here
        .post(
            "/account/password",
            &[
                ("current_password", "wrong"),
                ("new_password", "another long one"),
                ("new_password_confirm", "another long one"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("That is not your current password."));
    let res = here
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "another long one"),
                ("new_password_confirm", "another long one"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        here.get("/webhooks").await.status,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        elsewhere.get("/webhooks").await.status,
        StatusCode::SEE_OTHER,
        "other sessions end"
    );
    assert_eq!(
        app.client()
            .login(SUPPORT_EMAIL, "another long one")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[actix_rt::test]
async fn sessions_expire_when_idle_and_after_their_maximum() {
    let app = TestApp::spawn_with(|c| {
        c.session_idle = Duration::from_millis(600);
        c.session_max = Duration::from_secs(2);
    })
    .await;
    let idle = app.signed_in(ADMIN_EMAIL).await;
    assert_eq!(idle.get("/webhooks").await.status, StatusCode::OK);
    let started = std::time::Instant::now();
    // Kept alive by requests, a session still ends at its maximum age.
    let busy = app.signed_in(ADMIN_EMAIL).await;
    let mut ended_at = None;
    while started.elapsed() < Duration::from_secs(5) {
        if busy.get("/webhooks").await.status == StatusCode::SEE_OTHER {
            ended_at = Some(started.elapsed());
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    let ended_at = ended_at.expect("the busy session ended");
    assert!(
        ended_at >= Duration::from_millis(1800),
        "not before its maximum: {ended_at:?}"
    );
    assert_eq!(
        idle.get("/webhooks").await.status,
        StatusCode::SEE_OTHER,
        "the idle one ended long before"
    );
}

#[actix_rt::test]
async fn failed_sign_ins_are_throttled_per_account_without_saying_whether_it_exists() {
    let app = TestApp::spawn().await;
    let b = app.client();
    for email in [ADMIN_EMAIL, "ghost@example.com"] {
        for _ in 0..3 {
            assert_eq!(
                b.login(email, "wrong password").await.status,
                StatusCode::UNAUTHORIZED
            );
        }
        let res = b.login(email, PASSWORD).await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{email}");
        assert!(
            res.body.contains("Too many failed sign-ins. Try again in"),
            "{email}"
        );
        assert!(res.header("retry-after").parse::<u64>().is_ok());
    }
    // Another account from the same address is not locked out by those.
    assert_eq!(
        b.login(SUPPORT_EMAIL, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[actix_rt::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let b = app.client();
    let key = app.api_key();
    let plain = b.get("/login").await;
    let api = app.api(&key).get("/webhooks").await;
    let asset = b.get("/static/app.js").await;
    let missing = b.get("/nowhere").await;
    for (what, res) in [
        ("page", &plain),
        ("api", &api),
        ("asset", &asset),
        ("redirect", &missing),
    ] {
        let csp = res.header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{what}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{what}");
        assert_eq!(res.header("x-content-type-options"), "nosniff", "{what}");
        assert_eq!(res.header("referrer-policy"), "same-origin", "{what}");
        assert_eq!(
            res.header("strict-transport-security"),
            "",
            "{what}: no HSTS over plain http"
        );
    }
    assert!(
        !plain.body.contains("<script>") && !plain.body.contains(" style="),
        "no inline scripts or styles"
    );
    let https = b
        .get_with("/login", &[("X-Forwarded-Proto", "https")])
        .await;
    assert_eq!(
        https.header("strict-transport-security"),
        "max-age=31536000"
    );
    let long = b.get(&format!("/login?x={}", "a".repeat(9000))).await;
    assert_eq!(long.status, StatusCode::URI_TOO_LONG);
    let names: Vec<String> = (0..120).map(|i| format!("x-h{i}")).collect();
    let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    let crowded = b.get_with("/login", &many).await;
    assert_eq!(crowded.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

#[actix_rt::test]
async fn the_audit_log_records_who_did_what_and_admins_can_filter_it() {
    let app = TestApp::spawn().await;
    app.client().login(ADMIN_EMAIL, "wrong password").await;
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let id = admin
        .create_webhook("https://93.184.215.14/audit", &["call.missed"])
        .await;
    admin
        .post_raw(
            &format!("/webhooks/{id}/secret"),
            &[],
            &[("X-CSRF-Token", &admin.csrf().await)],
        )
        .await;
    admin
        .post(
            &format!("/webhooks/{id}/rotate-secret"),
            &[("grace_period_seconds", "0")],
        )
        .await;
    let key = app.api_key();
    app.api(&key)
        .call("DELETE", &format!("/webhooks/{id}"), None)
        .await;

    let page = admin.get("/settings/audit").await;
    for action in [
        "sign_in_failed",
        "sign_in",
        "webhook_created",
        "secret_revealed",
        "secret_rotated",
        "webhook_deleted",
    ] {
        assert!(
            page.body.contains(&format!("<code>{action}</code>")),
            "{action} missing"
        );
    }
    assert!(
        page.body.contains("API key tests"),
        "API actions name their key"
    );
    let filtered = admin.get("/settings/audit?action=secret_revealed").await;
    assert_eq!(
        filtered
            .body
            .matches("<code>secret_revealed</code>")
            .count(),
        1
    );
    assert!(!filtered.body.contains("<code>webhook_created</code>"));
    let bad = admin.get("/settings/audit?action=%3Cscript%3E").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(!bad.body.contains("<script>"));

    let listed = app.api(&key).get("/audit?action=webhook_created").await;
    assert_eq!(listed.status, StatusCode::OK);
    let data = listed.json()["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["actor"], ADMIN_EMAIL);
    assert_eq!(data[0]["target"], id.as_str());
    assert_eq!(
        app.api(&key).get("/audit?limit=0").await.json()["error"]["field"],
        "limit"
    );
    assert_eq!(
        app.api(&key).get("/audit?cursor=abc").await.json()["error"]["field"],
        "cursor"
    );
}

#[actix_rt::test]
async fn signing_secrets_are_encrypted_at_rest() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let id = admin
        .create_webhook("https://93.184.215.14/at-rest", &["call.missed"])
        .await;
    let stored =
        store::webhooks::current_secret(&mut app.conn(), &crate::support::dws(), &id).unwrap();
    let secret = app.secret(&id);
    assert!(stored.starts_with("enc:v1:"), "{stored}");
    assert!(secret.starts_with("whsec_"));
    // On SQLite, not in the file either (PostgreSQL's files are the server's).
    let db = std::fs::read(app.dir.path().join("aethenox.db")).unwrap_or_default();
    let wal = std::fs::read(app.dir.path().join("aethenox.db-wal")).unwrap_or_default();
    let needle = secret.as_bytes();
    assert!(
        !db.windows(needle.len()).any(|w| w == needle)
            && !wal.windows(needle.len()).any(|w| w == needle),
        "no plaintext secret on disk"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(app.dir.path().join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A plaintext secret from before encryption is sealed at the next start.
    store::webhooks::replace_secret(&mut app.conn(), 1, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .unwrap();
    let again = build_state(app.same_database_config()).unwrap();
    let resealed =
        store::webhooks::current_secret(&mut app.conn(), &crate::support::dws(), &id).unwrap();
    assert!(resealed.starts_with("enc:v1:"));
    assert_eq!(
        again.secrets.open(&resealed).unwrap(),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    );
    // The wrong master key refuses to start rather than sign with garbage.
    let mut wrong = app.same_database_config();
    wrong.secret_key = Some(domain::crypto::new_key_text());
    let err = build_state(wrong)
        .err()
        .expect("a wrong key is refused")
        .to_string();
    assert!(err.contains("master key"), "{err}");
}
