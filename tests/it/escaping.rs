use crate::support::*;
use awc::http::StatusCode;
use serde_json::json;

const SCRIPT: &str = "<script>alert(1)</script>";

fn assert_escaped(page: &Resp, context: &str) {
    assert!(
        !page.body.contains(SCRIPT),
        "{context}: raw script tag on the page"
    );
    assert!(
        !page.body.contains("<img src=x"),
        "{context}: raw tag on the page"
    );
}

#[actix_rt::test]
async fn user_content_is_escaped_on_every_page() {
    let app = TestApp::spawn().await;
    let b = app.signed_in(ADMIN_EMAIL).await;
    let description = format!("{SCRIPT}\"><img src=x onerror=alert(2)>");
    let url = format!("https://93.184.215.14/{SCRIPT}?q={SCRIPT}");
    let res = b
        .post(
            "/webhooks",
            &[
                ("url", url.as_str()),
                ("description", description.as_str()),
                ("events", "message.sent"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let id = res.location_webhook_id();
    for path in [
        "/webhooks".to_owned(),
        format!("/webhooks/{id}"),
        format!("/webhooks/{id}/deliveries"),
        format!("/webhooks/{id}/settings"),
        format!("/webhooks/{id}/delete"),
        format!("/webhooks/{id}/rotate-secret"),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_escaped(&page, &path);
        assert!(
            page.body.contains("&#60;script&#62;") || page.body.contains("%3Cscript%3E"),
            "{path}"
        );
    }
    assert!(
        b.get(&format!("/webhooks/{id}"))
            .await
            .body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
    );

    // What is echoed back into a form after a validation error is escaped too.
    let res = b
        .post(
            "/webhooks",
            &[("url", SCRIPT), ("description", SCRIPT), ("events", SCRIPT)],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_escaped(&res, "create form");
    assert!(res.body.contains("Unknown event type: &#60;script&#62;"));

    // Key names, and the e-mail typed at sign-in.
    let res = b.post("/settings/api-keys", &[("name", SCRIPT)]).await;
    assert_escaped(&res, "api keys");
    assert_escaped(&b.get("/settings/api-keys").await, "api keys list");
    let other = app.client();
    assert_escaped(&other.login(SCRIPT, "x").await, "login");
    assert_escaped(
        &other
            .get(&format!(
                "/login?next={}",
                "%3Cscript%3Ealert(1)%3C%2Fscript%3E"
            ))
            .await,
        "login next",
    );
}

#[actix_rt::test]
async fn api_stores_such_content_as_data_and_the_pages_escape_it() {
    let app = TestApp::spawn().await;
    let api = app.api(&app.api_key());
    let res = api.post("/webhooks", json!({"url": "https://93.184.215.14/x", "events": ["call.missed"], "description": SCRIPT})).await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(
        res.json()["description"],
        SCRIPT,
        "JSON keeps the text as it was"
    );
    let b = app.signed_in(SUPPORT_EMAIL).await;
    assert_escaped(&b.get("/webhooks").await, "list");
}
