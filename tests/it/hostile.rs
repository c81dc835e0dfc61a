//! Bad input tried as an attacker would: a table of hostile values against every form field,
//! query parameter and API field that takes them. Each gets a 4xx with a clear message, never a
//! 500; nothing is stored; nothing comes back unescaped.

use crate::support::*;
use awc::http::StatusCode;
use serde_json::json;

fn payloads() -> Vec<String> {
    let mut p: Vec<String> = [
        // XSS
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "javascript:alert(1)",
        "<svg/onload=alert(1)>",
        "'';!--\"<XSS>=&{()}",
        // SQL metacharacters
        "' OR '1'='1",
        "\"; DROP TABLE webhooks; --",
        "1; SELECT * FROM users",
        "%' OR 1=1 --",
        // control characters and null bytes
        "a\0b",
        "\u{7}\u{1b}[31mred",
        "line\r\nSet-Cookie: x=1",
        // look-alike and local hosts
        "https://ехаmple.com/",
        "https://ｌｏｃａｌｈｏｓｔ/",
        "https://xn--80ak6aa92e.com/",
        // SSRF in every notation
        "https://2130706433/",
        "https://0177.0.0.1/",
        "https://0x7f000001/",
        "https://0x7f.0x0.0x0.0x1/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/",
        "https://[::]/",
        "https://0.0.0.0/",
        "https://localhost./",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://example.com@127.0.0.1/",
        "https://127.0.0.1#@example.com/",
        "https://localtest.me/",
        "https://[fd00::1]/",
        "https://10.0.0.1/",
        "https://100.64.0.1/",
        "http://example.com/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:25/",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    p.push("a".repeat(5000));
    p.push(format!("https://example.com/{}", "é".repeat(3000)));
    p
}

fn check(what: &str, payload: &str, res: &Resp) {
    let shown: String = payload.chars().take(40).collect();
    assert!(
        res.status.is_client_error(),
        "{what} {shown:?}: {} {}",
        res.status,
        &res.body[..res.body.len().min(300)]
    );
    // JSON carries text as data (application/json, nosniff); HTML must escape it.
    if payload.contains('<') && res.header("content-type").starts_with("text/html") {
        assert!(
            !res.body.contains(payload),
            "{what} {shown:?}: the payload came back unescaped"
        );
    }
    if res.header("content-type").starts_with("application/json") {
        let json = res.json();
        assert!(
            json["error"]["code"].is_string() && json["error"]["message"].is_string(),
            "{what}: {json}"
        );
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[actix_rt::test]
async fn hostile_inputs_get_a_clear_4xx_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let api = app.api(&app.api_key());
    let id = admin
        .create_webhook("https://93.184.215.14/target", &["call.missed"])
        .await;
    let users_before = store_count(&app);
    let mut cases = 0;
    for p in payloads() {
        let p = p.as_str();
        let fields = [
            (
                "form url",
                admin
                    .post("/webhooks", &[("url", p), ("events", "call.missed")])
                    .await,
            ),
            (
                "form settings url",
                admin
                    .post(
                        &format!("/webhooks/{id}/settings"),
                        &[("url", p), ("events", "call.missed")],
                    )
                    .await,
            ),
            (
                "form events",
                admin
                    .post(
                        "/webhooks",
                        &[("url", "https://93.184.215.14/x"), ("events", p)],
                    )
                    .await,
            ),
            (
                "form grace",
                admin
                    .post(
                        &format!("/webhooks/{id}/rotate-secret"),
                        &[("grace_period_seconds", p)],
                    )
                    .await,
            ),
            (
                "form user email",
                admin
                    .post(
                        "/settings/users",
                        &[("email", p), ("role", "support"), ("password", PASSWORD)],
                    )
                    .await,
            ),
            (
                "form user role",
                admin
                    .post(
                        "/settings/users",
                        &[
                            ("email", "x@example.com"),
                            ("role", p),
                            ("password", PASSWORD),
                        ],
                    )
                    .await,
            ),
            (
                "login email",
                app.client().login(p, "whatever password").await,
            ),
            (
                "query log q",
                admin.get(&format!("/deliveries?q={}", enc(p))).await,
            ),
            (
                "query log status",
                admin.get(&format!("/deliveries?status={}", enc(p))).await,
            ),
            (
                "query log from",
                admin.get(&format!("/deliveries?from={}", enc(p))).await,
            ),
            (
                "query audit action",
                admin
                    .get(&format!("/settings/audit?action={}", enc(p)))
                    .await,
            ),
            (
                "api url",
                api.post("/webhooks", json!({"url": p, "events": ["call.missed"]}))
                    .await,
            ),
            (
                "api patch url",
                api.patch(&format!("/webhooks/{id}"), json!({"url": p}))
                    .await,
            ),
            (
                "api events",
                api.post(
                    "/webhooks",
                    json!({"url": "https://93.184.215.14/x", "events": [p]}),
                )
                .await,
            ),
            (
                "api event type",
                api.post("/events", json!({"type": p, "data": {}})).await,
            ),
            (
                "api event id",
                api.post(
                    "/events",
                    json!({"type": "call.missed", "data": {}, "id": p}),
                )
                .await,
            ),
            (
                "api deliveries q",
                api.get(&format!("/deliveries?q={}", enc(p))).await,
            ),
            (
                "api deliveries status",
                api.get(&format!("/deliveries?status={}", enc(p))).await,
            ),
            (
                "api webhooks cursor",
                api.get(&format!("/webhooks?cursor={}", enc(p))).await,
            ),
            (
                "api test event type",
                api.post(&format!("/webhooks/{id}/test"), json!({"event_type": p}))
                    .await,
            ),
        ];
        for (what, res) in &fields {
            check(what, p, res);
            cases += 1;
        }
    }
    assert!(cases >= 200, "{cases} cases");
    assert_eq!(app.webhook_count(), 1, "nothing new was stored");
    assert_eq!(store_count(&app), users_before);
    let w = aethenox_webhooks::store::webhooks::get(&mut app.conn(), &crate::support::dws(), &id)
        .unwrap();
    assert_eq!(w.url, "https://93.184.215.14/target", "nothing changed");
    assert!(app.deliveries_of("a").is_empty());
}

fn store_count(app: &TestApp) -> usize {
    aethenox_webhooks::store::users::list(&mut app.conn())
        .unwrap()
        .len()
}

#[actix_rt::test]
async fn invalid_utf8_and_broken_bodies_are_refused_not_crashed_on() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let token = admin.csrf().await;
    let raw = format!(
        "csrf_token={token}&url=https%3A%2F%2F93.184.215.14%2F%FF%FE&events=%C0%AF&description=%00"
    );
    let res = awc::Client::default()
        .post(format!("{}/webhooks", app.base))
        .insert_header((
            "Cookie",
            format!(
                "aethenox_csrf={token}; aethenox_session={}",
                admin.cookie("aethenox_session").unwrap()
            ),
        ))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .send_body(raw)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let api = app.api(&app.api_key());
    let bad_utf8 = unsafe {
        String::from_utf8_unchecked(b"{\"url\":\"https://x.example/\xff\",\"events\":[]}".to_vec())
    };
    let res = api.call("POST", "/webhooks", Some(&bad_utf8)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    for body in [
        "",
        "null",
        "{",
        "{\"url\":",
        "[]",
        "{\"url\":\"https://93.184.215.14/\",\"events\":\"call.missed\"}",
    ] {
        let res = api.call("POST", "/webhooks", Some(body)).await;
        assert!(res.status.is_client_error(), "{body:?}: {}", res.status);
    }
    assert_eq!(app.webhook_count(), 0);
}

#[actix_rt::test]
async fn free_text_fields_keep_hostile_text_as_text() {
    // A description or a key name may legitimately contain any printable text: it is stored
    // as typed and rendered escaped, while control characters and overlong values are refused.
    let app = TestApp::spawn().await;
    let admin = app.signed_in(ADMIN_EMAIL).await;
    for p in [
        "<script>alert(1)</script>",
        "' OR '1'='1",
        "\"><img src=x onerror=alert(1)>",
    ] {
        let res = admin
            .post("/settings/api-keys", &[("name", p), ("role", "support")])
            .await;
        assert_eq!(res.status, StatusCode::OK);
        assert!(!res.body.contains(p) || !p.contains('<'));
    }
    for p in ["a\0b", &"x".repeat(101)] {
        let res = admin.post("/settings/api-keys", &[("name", p)]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
