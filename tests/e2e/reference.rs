//! The API reference page (`/api/reference`): Swagger UI, embedded from npm, renders every
//! operation of the served document under the strict Content-Security-Policy, fits a desktop
//! and a phone, passes axe-core in light and dark mode, and "Try it out" with an API key
//! reaches the API.

use crate::layout::{SIZES, axe_source, check};
use crate::sign_in;
use crate::support::*;
use crate::webdriver::{Driver, require_chromedriver};
use serde_json::{Value, json};

/// Records every Content-Security-Policy violation of a page from its first script on.
const RECORD_CSP_VIOLATIONS: &str = "window.cspViolations = []; \
    document.addEventListener('securitypolicyviolation', function (e) { \
      window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI); });";

/// Opens the reference and waits for Swagger UI to show `operations` operations.
async fn open(driver: &Driver, app: &TestApp, operations: usize) {
    driver.goto(&format!("{}/api/reference", app.base)).await;
    driver
        .wait_until(
            "every operation to be shown",
            "return document.querySelectorAll('#api-reference .opblock').length;",
            |v| v.as_u64() == Some(operations as u64),
        )
        .await;
}

/// Opens the operation `op` (its element's selector) and chooses Try it out.
async fn try_out(driver: &Driver, op: &str) {
    driver
        .click(&format!("{op} .opblock-summary-control"))
        .await;
    driver.click(&format!("{op} .try-out__btn")).await;
}

async fn csp_violations(driver: &Driver) -> Value {
    driver
        .execute("return window.cspViolations;", json!([]))
        .await
}

#[actix_rt::test]
async fn the_api_reference_shows_every_operation_and_tries_one_with_a_key() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let app = TestApp::spawn().await;
    let key = app.api_key();
    let (webhook, _) = app.webhook("https://93.184.215.14/hooks", &["message.sent"]);
    let spec = app.client().get("/api/v1/openapi.json").await.json();
    let operations: usize = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|ops| ops.as_object().unwrap().len())
        .sum();
    assert!(operations >= 12, "{operations}");

    let driver = Driver::start(&chromedriver).await;
    driver
        .devtools(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": RECORD_CSP_VIOLATIONS }),
        )
        .await;
    let axe = axe_source();
    let mut problems = Vec::new();
    // Signed out (integrators with only a key read it too), at both sizes and in dark mode.
    for (w, h, phone) in SIZES {
        driver.viewport(w, h, phone).await;
        open(&driver, &app, operations).await;
        driver.screenshot(&format!("{w}-api-reference")).await;
        check(
            &driver,
            axe.as_deref(),
            &format!("/api/reference at {w} px"),
            &mut problems,
        )
        .await;
        assert_eq!(csp_violations(&driver).await, json!([]), "at {w} px");
    }
    driver.viewport(1280, 900, false).await;
    if let Some(axe) = &axe {
        driver.color_scheme("dark").await;
        open(&driver, &app, operations).await;
        check(
            &driver,
            Some(axe),
            "/api/reference in dark mode",
            &mut problems,
        )
        .await;
        driver.color_scheme("light").await;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Signed in, it is part of the admin UI: the API keys page links to it.
    sign_in(&driver, &app, "/settings/api-keys").await;
    driver.click("#api-reference-link").await;
    driver.wait_for_url(|u| u.ends_with("/api/reference")).await;
    open(&driver, &app, operations).await;
    assert!(driver.text("#sidebar").await.contains("API keys"));

    // Authorize with the key, then Try it out on "list webhooks": the real answer shows.
    driver.click("#api-reference .btn.authorize").await;
    driver.type_into(".auth-container input", &key).await;
    driver.click(".auth-container .btn.authorize").await;
    driver.click(".auth-container .btn-done").await;
    let op = "#operations-webhooks-list_webhooks";
    try_out(&driver, op).await;
    driver.click(&format!("{op} .btn.execute")).await;
    driver
        .wait_for_text(
            &format!("{op} .live-responses-table tbody .response-col_status"),
            |t| t.trim() == "200",
        )
        .await;
    let body = driver
        .text(&format!(
            "{op} .live-responses-table tbody .response-col_description"
        ))
        .await;
    assert!(body.contains(&webhook), "{body}");
    assert_eq!(csp_violations(&driver).await, json!([]));

    // Open as someone trying it out: parameters, body editor and answer still pass axe-core.
    let op = "#operations-webhooks-create_webhook";
    try_out(&driver, op).await;
    driver.find(&format!("{op} textarea")).await;
    let mut problems = Vec::new();
    check(
        &driver,
        axe.as_deref(),
        "/api/reference trying operations out",
        &mut problems,
    )
    .await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    driver.quit().await;
}
