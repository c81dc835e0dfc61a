//! The customer portal: links the platform asks for, the sessions they open (confined to one
//! workspace's Automation pages), their end, and what they may frame and change.

use crate::receiver::Receiver;
use crate::support::*;
use aethenox_webhooks::domain::{self, workspace::WorkspaceId};
use aethenox_webhooks::store::{self, users::Role};
use awc::http::StatusCode;
use serde_json::json;
use std::time::Duration;

/// An app with the workspace `acme` and an instance admin key.
async fn acme(change: impl FnOnce(&mut aethenox_webhooks::Config)) -> (TestApp, Api, WorkspaceId) {
    let app = TestApp::delivering(change).await;
    let api = app.api(&app.api_key());
    let res = api
        .call("PUT", "/workspaces/acme", Some(r#"{"name": "Acme Corp"}"#))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = WorkspaceId::from_stored(res.id());
    (app, api, id)
}

#[actix_rt::test]
async fn a_link_opens_once_into_the_workspaces_webhooks_and_then_says_to_ask_for_a_new_one() {
    let (app, api, ws) = acme(|_| {}).await;
    let res = api
        .post(
            "/workspaces/acme/portal-links",
            json!({"user": "ana@acme.test"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let url = res.json()["url"].as_str().unwrap().to_owned();
    let token = url
        .strip_prefix(&format!("{}/portal/", app.base))
        .unwrap_or_else(|| panic!("{url}"))
        .to_owned();
    assert!(token.len() >= 43, "256 random bits: {token}");
    let expires = domain::time::parse_utc(res.json()["expires_at"].as_str().unwrap()).unwrap();
    let hour = domain::time::now_ms() + 3_600_000;
    assert!((expires - hour).abs() < 5_000, "an hour by default");
    // Stored hashed: the token itself is nowhere in the database.
    let row = store::portal::by_link(&mut app.conn(), &domain::ids::token_hash(&token))
        .unwrap()
        .expect("the link's row");
    assert_eq!(row.workspace_id, ws.as_str());
    assert!(
        store::portal::by_link(&mut app.conn(), &token)
            .unwrap()
            .is_none()
    );

    // A HEAD (a link checker) leaves the link as it was.
    let head = awc::Client::new()
        .head(format!("{}/portal/{token}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    let browser = app.client();
    let opened = browser.get_exactly(&format!("/portal/{token}")).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert!(opened.set_cookies().is_empty(), "a portal needs no cookie");
    let location = opened.header("location").to_owned();
    assert!(
        location.starts_with("/p/") && location.ends_with("/webhooks"),
        "{location}"
    );
    let page = browser.get_exactly(&location).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for shown in [
        "Create Webhook",
        "Acme Corp",
        "Delivery Log",
        "Test inboxes",
    ] {
        assert!(page.body.contains(shown), "{shown}");
    }
    for hidden in [
        "Sign out",
        "nav-settings",
        "Workspaces",
        "/settings/",
        "/account",
    ] {
        assert!(!page.body.contains(hidden), "the portal shows {hidden}");
    }

    // The link again, from anywhere: it worked once.
    let again = app.client().get_exactly(&format!("/portal/{token}")).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(
        again.body.contains("This link has been used already"),
        "{}",
        again.body
    );
    assert!(again.body.contains("ask for a new link"), "{}", again.body);
    assert!(!again.body.contains("Sign in") && !again.body.contains("password"));
    // A link never made.
    let unknown = app
        .client()
        .get_exactly(&format!("/portal/{}", domain::ids::random_token::<32>()))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.contains("This link is not valid"));
    // And the session keeps working.
    assert_eq!(browser.get_exactly(&location).await.status, StatusCode::OK);
}

#[actix_rt::test]
async fn links_open_only_within_5_minutes_and_sessions_end_at_expires_at() {
    let (app, api, _) = acme(|_| {}).await;
    let late = api
        .post("/workspaces/acme/portal-links", json!({"expires_in": 300}))
        .await;
    let late = late.json()["url"].as_str().unwrap().to_owned();
    let portal = app.portal(&api, "acme", json!({"expires_in": 300})).await;
    app.state.clock.advance(Duration::from_secs(5 * 60 + 1));
    let res = app
        .client()
        .get_exactly(late.strip_prefix(&app.base).unwrap())
        .await;
    assert_eq!(res.status, StatusCode::GONE);
    assert!(res.body.contains("This session has ended"), "{}", res.body);

    let res = portal.get("/webhooks").await;
    assert_eq!(res.status, StatusCode::GONE);
    assert!(res.body.contains("This session has ended"), "{}", res.body);
    assert!(res.body.contains("ask for a new link"));
    // An htmx part of the page reloads it, to show the same.
    let part = portal
        .get_with("/deliveries", &[("HX-Request", "true")])
        .await;
    assert_eq!(part.status, StatusCode::GONE);
    assert_eq!(part.header("hx-refresh"), "true");

    // A link of an hour that is not opened within 5 minutes.
    let unopened = api.post("/workspaces/acme/portal-links", json!({})).await;
    let unopened = unopened.json()["url"].as_str().unwrap().to_owned();
    app.state.clock.advance(Duration::from_secs(5 * 60));
    let res = app
        .client()
        .get_exactly(unopened.strip_prefix(&app.base).unwrap())
        .await;
    assert_eq!(res.status, StatusCode::GONE);
    assert!(res.body.contains("This link has expired"), "{}", res.body);
}

#[actix_rt::test]
async fn the_platform_ends_every_portal_session_of_a_workspace_at_once() {
    let (app, api, _) = acme(|_| {}).await;
    let first = app.portal(&api, "acme", json!({})).await;
    let second = app.portal(&api, "acme", json!({"role": "support"})).await;
    let unopened = api.post("/workspaces/acme/portal-links", json!({})).await;
    let unopened = unopened.json()["url"].as_str().unwrap().to_owned();
    // Another workspace's session is not touched.
    api.call("PUT", "/workspaces/other", Some(r#"{"name": "Other"}"#))
        .await;
    let other = app.portal(&api, "other", json!({})).await;

    let res = api
        .call("DELETE", "/workspaces/acme/portal-sessions", None)
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.body);
    for portal in [&first, &second] {
        let res = portal.get("/webhooks").await;
        assert_eq!(res.status, StatusCode::GONE);
        assert!(res.body.contains("This session was ended"), "{}", res.body);
    }
    let res = app
        .client()
        .get_exactly(unopened.strip_prefix(&app.base).unwrap())
        .await;
    assert_eq!(res.status, StatusCode::GONE);
    assert_eq!(other.get("/webhooks").await.status, StatusCode::OK);

    // Both are audited at the instance (the default workspace's log, to instance users).
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let log = admin.get("/settings/audit").await.body;
    assert!(log.contains("portal_link_created"), "{log}");
    assert!(log.contains("portal_sessions_revoked"), "{log}");
}

#[actix_rt::test]
async fn who_may_ask_for_links_and_what_a_link_may_ask_for() {
    let (app, api, ws) = acme(|_| {}).await;
    let own_admin = app.workspace_api_key(&ws, Role::Admin);
    let own_support = app.workspace_api_key(&ws, Role::Support);
    let instance_support = app.api(&app.api_key_with(Role::Support));
    let other = api
        .call("PUT", "/workspaces/other", Some(r#"{"name": "Other"}"#))
        .await;
    let other = WorkspaceId::from_stored(other.id());
    let other_admin = app.workspace_api_key(&other, Role::Admin);
    let path = "/workspaces/acme/portal-links";
    assert_eq!(
        own_admin.post(path, json!({})).await.status,
        StatusCode::CREATED
    );
    let id_path = format!("/workspaces/{}/portal-links", ws.as_str());
    assert_eq!(
        api.post(&id_path, json!({})).await.status,
        StatusCode::CREATED
    );
    for support in [&own_support, &instance_support] {
        let res = support.post(path, json!({})).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
        let res = support
            .call("DELETE", "/workspaces/acme/portal-sessions", None)
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    }
    let res = other_admin.post(path, json!({})).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(!res.body.contains("acme"));
    let res = other_admin
        .call("DELETE", "/workspaces/acme/portal-sessions", None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // Only under a named workspace.
    assert_eq!(
        api.post("/portal-links", json!({})).await.status,
        StatusCode::NOT_FOUND
    );

    for (body, field, words) in [
        (json!({"role": "owner"}), "role", "admin"),
        (json!({"expires_in": 299}), "expires_in", "300"),
        (json!({"expires_in": 86_401}), "expires_in", "86400"),
        (json!({"user": "a\u{7}b"}), "user", "control"),
        (json!({"accent": "#ffffff"}), "accent", "1.00:1"),
        (json!({"accent": "#3b82f6"}), "accent", "4.5:1"),
        (json!({"accent": "blue"}), "accent", "#rrggbb"),
        (json!({"colour": "#000000"}), "colour", "unknown field"),
    ] {
        let res = api.post(path, body.clone()).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            res.body
        );
        assert_eq!(res.error_field(), field, "{body}");
        assert!(res.body.contains(words), "{body}: {}", res.body);
    }
    let res = api.call("POST", path, None).await;
    assert_eq!(res.status, StatusCode::CREATED, "no body: every default");
    // JSON Schema's integers include 1518.0.
    let res = api.post(path, json!({"expires_in": 1518.0})).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let res = api.post(path, json!({"expires_in": 1518.5})).await;
    assert_eq!(res.error_field(), "expires_in");
}

#[actix_rt::test]
async fn changes_made_in_the_portal_are_audited_as_the_links_user_and_need_its_csrf_token() {
    let (app, api, ws) = acme(|_| {}).await;
    let rx = Receiver::start().await;
    let portal = app
        .portal(&api, "acme", json!({"user": "ana@acme.test"}))
        .await;
    let form = portal.get("/webhooks/new").await;
    assert!(
        form.body.contains(&portal.csrf),
        "the form carries the portal's token"
    );
    let url = rx.url("/from-the-portal");
    let fields = [
        ("url", url.as_str()),
        ("description", ""),
        ("events", "call.missed"),
    ];
    // Without the token, with another's, or from another site: refused, nothing made.
    let bare = portal
        .browser
        .post_raw(&format!("{}/webhooks", portal.base), &fields, &[])
        .await;
    assert_eq!(bare.status, StatusCode::FORBIDDEN);
    let mut forged = vec![("csrf_token", "A".repeat(43))];
    forged.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = portal
        .browser
        .post_raw(&format!("{}/webhooks", portal.base), &forged, &[])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let mut with_token = vec![("csrf_token", portal.csrf.as_str())];
    with_token.extend_from_slice(&fields);
    let res = portal
        .browser
        .post_raw(
            &format!("{}/webhooks", portal.base),
            &with_token,
            &[("Origin", "https://evil.example")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(
        store::webhooks::list(&mut app.conn(), &ws, None, 10)
            .unwrap()
            .is_empty()
    );

    let res = portal.post("/webhooks", &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let location = res.header("location").to_owned();
    assert!(
        location.starts_with(&format!("{}/webhooks/wh_", portal.base)),
        "{location}"
    );
    let hook = res.location_webhook_id();
    // Send Test, from the portal, to a real receiver.
    let res = portal
        .post_with(
            &format!("/webhooks/{hook}/test"),
            &[("event_type", "call.missed")],
            &[("HX-Request", "true")],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.body.contains("Success"), "{}", res.body);
    assert_eq!(rx.count(), 1);
    assert_eq!(rx.got()[0].header("x-aethenox-workspace"), "acme");

    let entries = store::audit::page(&mut app.conn(), &ws, false, &Default::default(), 50).unwrap();
    let made = entries
        .iter()
        .find(|e| e.action == "webhook_created")
        .expect("the creation is audited");
    assert_eq!(made.actor, "portal: ana@acme.test");
    assert!(
        entries
            .iter()
            .any(|e| e.action == "test_sent" && e.actor == "portal: ana@acme.test")
    );
    assert!(entries.iter().any(|e| e.action == "portal_opened"));
}

#[actix_rt::test]
async fn a_support_portal_sees_no_secret_and_changes_nothing() {
    let (app, api, ws) = acme(|_| {}).await;
    let rx = Receiver::start().await;
    let admin = app.portal(&api, "acme", json!({})).await;
    let url = rx.url("/support");
    let res = admin
        .post(
            "/webhooks",
            &[("url", url.as_str()), ("events", "call.missed")],
        )
        .await;
    let hook = res.location_webhook_id();
    let support = app.portal(&api, "acme", json!({"role": "support"})).await;
    let page = support.get(&format!("/webhooks/{hook}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("reveal-secret") && !page.body.contains("whsec_"));
    assert!(page.body.contains("send-test-button"));
    for (path, fields) in [
        (format!("/webhooks/{hook}/secret"), vec![]),
        (format!("/webhooks/{hook}/rotate-secret"), vec![]),
        (format!("/webhooks/{hook}/disable"), vec![]),
        (format!("/webhooks/{hook}/delete"), vec![]),
        (
            format!("/webhooks/{hook}/settings"),
            vec![("url", url.as_str()), ("events", "call.missed")],
        ),
        (
            "/webhooks".to_owned(),
            vec![("url", url.as_str()), ("events", "call.missed")],
        ),
        ("/inboxes".to_owned(), vec![("name", "x")]),
    ] {
        let res = support.post(&path, &fields).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}: {}", res.body);
        assert!(!res.body.contains("whsec_"), "{path}");
        assert!(
            res.body.contains(&format!("{}/webhooks", support.base)),
            "the way back stays in the portal"
        );
    }
    assert_eq!(
        store::webhooks::list(&mut app.conn(), &ws, None, 10)
            .unwrap()
            .len(),
        1
    );
    let res = support
        .post_with(
            &format!("/webhooks/{hook}/test"),
            &[("event_type", "call.missed")],
            &[("HX-Request", "true")],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "Send Test is a support action");
}

#[actix_rt::test]
async fn a_portal_answers_only_its_workspaces_automation_pages() {
    let (app, api, _) = acme(|_| {}).await;
    let portal = app.portal(&api, "acme", json!({})).await;
    for page in ["/webhooks", "/webhooks/new", "/deliveries", "/inboxes"] {
        let res = portal.get(page).await;
        assert_eq!(res.status, StatusCode::OK, "{page}");
    }
    for page in [
        "/settings/users",
        "/settings/api-keys",
        "/settings/audit",
        "/settings/storage",
        "/settings/members",
        "/workspaces",
        "/account",
        "/metrics",
        "/api/v1/webhooks",
        "/api/reference",
        "/w/acme/webhooks",
        "/w/default/webhooks",
    ] {
        let res = portal.get(page).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{page}: {}", res.body);
        assert!(
            res.body.contains(&format!("{}/webhooks", portal.base)),
            "{page}: the error page leads back into the portal"
        );
    }
    // The session is no credential anywhere else: the site's pages ask to sign in, the API
    // for a key.
    let res = portal.browser.get_exactly("/w/acme/webhooks").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(res.header("location").starts_with("/login"));
    let res = portal.browser.get_exactly("/api/v1/webhooks").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // A made-up session.
    let res = app
        .client()
        .get_exactly(&format!(
            "/p/{}/webhooks",
            domain::ids::random_token::<32>()
        ))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(res.body.contains("ask for a new link"));
}

#[actix_rt::test]
async fn only_portal_pages_may_be_framed_and_only_by_the_configured_origins() {
    let (app, api, _) = acme(|c| {
        c.portal_frame_ancestors = vec!["https://app.aethenox.test".into()];
    })
    .await;
    let portal = app.portal(&api, "acme", json!({"accent": "#1D4ED8"})).await;
    let res = portal.get("/webhooks").await;
    let csp = res.header("content-security-policy");
    assert!(
        csp.contains("frame-ancestors https://app.aethenox.test;"),
        "{csp}"
    );
    assert_eq!(res.header("x-frame-options"), "");
    assert!(res.body.contains(&format!("{}/accent.css", portal.base)));
    let css = portal.get("/accent.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.body.contains("#1d4ed8"), "{}", css.body);
    // The page saying a link is used is shown in the frame too.
    let used = app.client().get_exactly("/portal/x").await;
    assert!(
        used.header("content-security-policy")
            .contains("frame-ancestors https://app.aethenox.test")
    );
    for page in ["/login", "/w/default/webhooks", "/api/reference"] {
        let res = app.client().get_exactly(page).await;
        let csp = res.header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{page}: {csp}");
        assert_eq!(res.header("x-frame-options"), "DENY", "{page}");
    }
    // By default no site may frame the portal either; no accent, no stylesheet.
    let (app, api, _) = acme(|_| {}).await;
    let portal = app.portal(&api, "acme", json!({})).await;
    let res = portal.get("/webhooks").await;
    assert!(
        res.header("content-security-policy")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(res.header("x-frame-options"), "DENY");
    assert!(!res.body.contains("accent.css"));
    assert_eq!(
        portal.get("/accent.css").await.status,
        StatusCode::NOT_FOUND
    );
}

#[actix_rt::test]
async fn behind_a_tls_proxy_every_cookie_is_secure_and_links_use_the_public_url() {
    let (app, api, _) = acme(|c| c.public_url = Some("https://hooks.aethenox.test".into())).await;
    let browser = app.client();
    let res = browser.get_exactly("/login").await;
    assert_eq!(res.header("strict-transport-security"), "max-age=31536000");
    let cookies = res.set_cookies();
    assert!(!cookies.is_empty());
    assert!(cookies.iter().all(|c| c.contains("Secure")), "{cookies:?}");
    let res = browser.login(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let session = res.set_cookies();
    assert!(
        session
            .iter()
            .any(|c| c.starts_with("aethenox_session=") && c.contains("Secure"))
    );
    // A form posted from the public origin passes the CSRF check.
    let token = browser.csrf().await;
    let res = browser
        .post_raw(
            "/logout",
            &[("csrf_token", token.as_str())],
            &[("Origin", "https://hooks.aethenox.test")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let link = api.post("/workspaces/acme/portal-links", json!({})).await;
    let url = link.json()["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with("https://hooks.aethenox.test/portal/"),
        "{url}"
    );

    // Served over plain http without --public-url: no Secure, no HSTS (as before).
    let plain = TestApp::spawn().await;
    let res = plain.client().get_exactly("/login").await;
    assert_eq!(res.header("strict-transport-security"), "");
    assert!(res.set_cookies().iter().all(|c| !c.contains("Secure")));
}

#[actix_rt::test]
async fn a_deleted_workspace_takes_its_portal_sessions_with_it() {
    let (app, api, _) = acme(|_| {}).await;
    let portal = app.portal(&api, "acme", json!({})).await;
    let res = api.call("DELETE", "/workspaces/acme", None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.body);
    let res = portal.get("/webhooks").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(res.body.contains("ask for a new link"));
}
