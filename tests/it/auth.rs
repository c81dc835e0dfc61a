use crate::support::*;
use awc::http::StatusCode;

const PROTECTED_GETS: [&str; 8] = [
    "/",
    "/webhooks",
    "/webhooks/new",
    "/webhooks/wh_01jdb6d9m0v8k3x4r5t6y7z8a9",
    "/webhooks/wh_01jdb6d9m0v8k3x4r5t6y7z8a9/deliveries",
    "/webhooks/wh_01jdb6d9m0v8k3x4r5t6y7z8a9/settings",
    "/settings/api-keys",
    "/nowhere",
];

#[actix_rt::test]
async fn nothing_but_login_setup_health_and_assets_is_reachable_signed_out() {
    let app = TestApp::spawn().await;
    let b = app.client();
    for path in PROTECTED_GETS {
        let res = b.get(path).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            res.header("location").starts_with("/login?next="),
            "{path}: {}",
            res.header("location")
        );
    }
    // htmx requests are told where to go instead of getting a redirect to swap in.
    let res = b.get_with("/webhooks", &[("HX-Request", "true")]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.header("hx-redirect"), "/login");
    // State-changing requests with a valid CSRF token but no session are refused.
    for path in [
        "/webhooks",
        "/webhooks/wh_01jdb6d9m0v8k3x4r5t6y7z8a9/delete",
        "/settings/api-keys",
    ] {
        let res = b
            .post(
                path,
                &[("url", "https://example.com/"), ("events", "message.sent")],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(app.webhook_count(), 0);

    assert_eq!(b.get("/login").await.status, StatusCode::OK);
    assert_eq!(b.get("/healthz").await.status, StatusCode::OK);
    let css = b.get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(
        b.get("/api/v1/webhooks").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_rt::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_the_session() {
    let app = TestApp::spawn().await;
    let b = app.client();
    let res = b.login(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.header("location"), "/webhooks");
    let session = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("aethenox_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(
        !session.contains("Secure"),
        "plain http must not set Secure: {session}"
    );
    let token = b.cookie("aethenox_session").unwrap();

    let page = b.get("/webhooks").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(ADMIN_EMAIL));

    let res = b.post("/logout", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(b.cookie("aethenox_session").is_none());
    // The old token is dead on the server too, not only forgotten by the browser.
    b.set_cookie("aethenox_session", &token);
    assert_eq!(b.get("/webhooks").await.status, StatusCode::SEE_OTHER);
}

#[actix_rt::test]
async fn session_cookie_is_secure_behind_https() {
    let app = TestApp::spawn().await;
    let b = app.client();
    let token = b.csrf().await;
    let res = b
        .post_raw(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", ADMIN_EMAIL),
                ("password", PASSWORD),
            ],
            &[("X-Forwarded-Proto", "https")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        res.set_cookies()
            .iter()
            .any(|c| c.starts_with("aethenox_session=") && c.contains("Secure"))
    );
}

#[actix_rt::test]
async fn wrong_credentials_get_one_message_that_does_not_say_which_part_was_wrong() {
    let app = TestApp::spawn().await;
    let b = app.client();
    let wrong_password = b.login(ADMIN_EMAIL, "not the password").await;
    let unknown_user = b.login("nobody@example.com", PASSWORD).await;
    for res in [&wrong_password, &unknown_user] {
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert!(res.body.contains("Incorrect e-mail or password."));
        assert!(b.cookie("aethenox_session").is_none());
    }
    // What was typed in the e-mail field is kept.
    assert!(unknown_user.body.contains("value=\"nobody@example.com\""));
}

#[actix_rt::test]
async fn state_changing_requests_without_a_valid_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    let b = app.signed_in(ADMIN_EMAIL).await;
    let fields = [
        ("url", "https://93.184.215.14/hook"),
        ("events", "message.sent"),
    ];
    // No token at all.
    let res = b.post_raw("/webhooks", &fields, &[]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // A wrong token.
    let mut with_wrong = vec![("csrf_token", "A".repeat(43))];
    with_wrong.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let wrong: Vec<(&str, &str)> = with_wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        b.post_raw("/webhooks", &wrong, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    // The right token, from another site.
    let token = b.csrf().await;
    let mut from_elsewhere = vec![("csrf_token", token.as_str())];
    from_elsewhere.extend_from_slice(&fields);
    let res = b
        .post_raw(
            "/webhooks",
            &from_elsewhere,
            &[("Origin", "https://evil.example")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // The header form that htmx uses works; a wrong header does not.
    let res = b
        .post_raw("/webhooks", &fields, &[("X-CSRF-Token", "nope")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(app.webhook_count(), 0);
    let res = b
        .post_raw("/webhooks", &fields, &[("X-CSRF-Token", token.as_str())])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(app.webhook_count(), 1);
    // Sign-out is a state change too.
    assert_eq!(
        b.post_raw("/logout", &[], &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(b.get("/webhooks").await.status == StatusCode::OK);
}

#[actix_rt::test]
async fn the_setup_link_creates_the_first_admin_once() {
    let app = TestApp::spawn_empty().await;
    let token = app
        .state
        .setup_token
        .lock()
        .unwrap()
        .clone()
        .expect("a setup token while no admin exists");
    let b = app.client();
    assert_eq!(
        b.get("/setup?token=wrong").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(b.get("/setup").await.status, StatusCode::FORBIDDEN);
    let page = b.get(&format!("/setup?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK);

    let bad = b
        .post(
            "/setup",
            &[
                ("token", &token),
                ("email", "owner"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("Enter an e-mail address"));
    assert!(bad.body.contains("Use at least 10 characters."));
    assert!(bad.body.contains("value=\"owner\""));

    let res = b
        .post(
            "/setup",
            &[
                ("token", &token),
                ("email", "owner@example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        b.get("/webhooks").await.status,
        StatusCode::OK,
        "signed in right away"
    );

    // The link stops working once an admin exists.
    let other = app.client();
    assert_eq!(
        other.get(&format!("/setup?token={token}")).await.status,
        StatusCode::FORBIDDEN
    );
    let again = other
        .post(
            "/setup",
            &[
                ("token", &token),
                ("email", "intruder@example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
    assert_eq!(
        other.login("intruder@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_rt::test]
async fn support_staff_can_read_webhooks_but_not_change_them_or_see_secrets() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let id = admin
        .create_webhook("https://93.184.215.14/hook", &["call.missed"])
        .await;
    let support = app.signed_in(SUPPORT_EMAIL).await;
    let page = support.get(&format!("/webhooks/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Signing secret"));
    assert!(!page.body.contains("Create Webhook"));
    assert_eq!(
        support.get("/webhooks/new").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        support.get("/settings/api-keys").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        support
            .post(&format!("/webhooks/{id}/secret"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        support
            .post(&format!("/webhooks/{id}/delete"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.webhook_count(), 1);
}
