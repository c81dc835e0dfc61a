//! Browser tests: headless Debian Chromium driven through chromedriver against the real app.

mod filters;
mod layout;
mod portal;
#[path = "../it/receiver.rs"]
#[allow(dead_code)]
mod receiver;
mod reference;
#[path = "../it/support.rs"]
#[allow(dead_code)]
mod support;
mod webdriver;

use aethenox_webhooks::domain;
use support::*;
use webdriver::{Driver, require_chromedriver};

const URL: &str = "https://93.184.215.14/hooks/aethenox";

async fn sign_in(driver: &Driver, app: &TestApp, next: &str) {
    driver
        .goto(&format!("{}/login?next={next}", app.base))
        .await;
    driver.type_into("#email", ADMIN_EMAIL).await;
    driver.type_into("#password", PASSWORD).await;
    driver.click("button[type=submit]").await;
    driver.wait_for_url(|u| u.ends_with(next)).await;
}

#[actix_rt::test]
async fn admin_creates_a_webhook_and_reveals_its_secret() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let app = TestApp::spawn().await;
    let driver = Driver::start(&chromedriver).await;
    sign_in(&driver, &app, "/settings/api-keys").await;

    // Automation → Webhooks → Create Webhook, as the product documentation says.
    driver.click("#nav-automation").await;
    driver.click("#nav-webhooks").await;
    driver.wait_for_url(|u| u.ends_with("/webhooks")).await;
    driver.click("#create-webhook").await;
    driver.wait_for_url(|u| u.ends_with("/webhooks/new")).await;

    driver.screenshot("1-create-form").await;
    driver.type_into("#url", URL).await;
    driver
        .click("input[name=events][value='message.received']")
        .await;
    driver
        .click("input[name=events][value='call.missed']")
        .await;
    driver.click("#save-webhook").await;

    driver.wait_for_text("#webhook-url", |t| t == URL).await;
    let events = driver.text("#webhook-events").await;
    assert!(
        events.contains("message.received") && events.contains("call.missed"),
        "{events}"
    );
    assert!(!events.contains("message.sent"), "{events}");
    let masked = driver.text("#secret-value").await;
    assert_eq!(masked, domain::secrets::masked());

    let id = driver
        .current_url()
        .await
        .split("/webhooks/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let secret = app.secret(&id);
    driver.click("#reveal-secret").await;
    let shown = driver
        .wait_for_text("#secret-value", |t| {
            t.starts_with("whsec_") && !t.contains('•')
        })
        .await;
    assert_eq!(shown, secret);
    driver.screenshot("2-webhook-revealed").await;
    driver.find("#copy-secret").await;

    driver.quit().await;
}

#[actix_rt::test]
async fn select_all_and_validation_errors_in_the_browser() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let app = TestApp::spawn().await;
    let driver = Driver::start(&chromedriver).await;
    sign_in(&driver, &app, "/webhooks/new").await;

    driver.click("#select-all-events").await;
    for e in domain::events::CATALOGUE {
        let checked = driver
            .property(
                &format!("input[name=events][value='{}']", e.name),
                "checked",
            )
            .await;
        assert_eq!(checked, serde_json::Value::Bool(true), "{}", e.name);
    }
    driver.click("#select-all-events").await;
    let checked = driver
        .property("input[name=events][value='message.sent']", "checked")
        .await;
    assert_eq!(checked, serde_json::Value::Bool(false));

    // A private address, no event: both errors shown next to their fields, the URL kept.
    driver.type_into("#url", "https://192.168.1.10/hook").await;
    driver.click("#save-webhook").await;
    let error = driver.wait_for_text("#url-error", |t| !t.is_empty()).await;
    assert!(
        error.contains("only public addresses are allowed"),
        "{error}"
    );
    assert!(
        driver
            .text("#events-error")
            .await
            .contains("Choose at least one event.")
    );
    assert_eq!(
        driver.property("#url", "value").await,
        "https://192.168.1.10/hook"
    );
    assert_eq!(app.webhook_count(), 0);
    driver.screenshot("3-validation-errors").await;

    driver.quit().await;
}

#[actix_rt::test]
async fn send_test_the_delivery_log_detail_and_resend() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let app = TestApp::delivering(|_| {}).await;
    let rx = receiver::Receiver::start().await;
    let (id, _) = app.webhook(&rx.url("/b"), &["message.sent"]);
    let driver = Driver::start(&chromedriver).await;
    sign_in(&driver, &app, &format!("/webhooks/{id}")).await;

    driver.click("#send-test-button").await;
    let result = driver
        .wait_for_text("#test-result", |t| t.contains("Success"))
        .await;
    assert!(
        result.contains("HTTP 204") && result.contains("message.sent"),
        "{result}"
    );
    assert_eq!(rx.count(), 1);
    driver.screenshot("4-send-test").await;

    driver.click("#tab-delivery-log").await;
    driver.wait_for_url(|u| u.ends_with("/deliveries")).await;
    let row = driver
        .wait_for_text("#delivery-log tbody tr", |t| t.contains("succeeded"))
        .await;
    assert!(
        row.contains("message.sent") && row.contains("test") && row.contains("204"),
        "{row}"
    );
    driver.click("#delivery-log tbody tr a").await;
    driver
        .wait_for_url(|u| u.contains("/deliveries/dlv_"))
        .await;
    driver.click("#attempt-1 details summary").await;
    let attempt = driver
        .wait_for_text("#attempt-1", |t| t.contains("X-Aethenox-Signature"))
        .await;
    assert!(
        attempt.contains("HTTP 204") && attempt.contains("webhook-signature"),
        "{attempt}"
    );
    driver.screenshot("5-delivery-detail").await;

    driver.click("#resend").await;
    driver.click("#confirm").await;
    driver
        .wait_for_text("#notice", |t| t.contains("Resent"))
        .await;
    let second = driver.text("#attempt-2").await;
    assert!(second.contains("resend by admin@example.com"), "{second}");
    assert_eq!(rx.count(), 2);
    driver.quit().await;
}

#[actix_rt::test]
async fn send_test_against_a_receiver_that_answers_401_shows_the_signature_hint() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let app = TestApp::delivering(|_| {}).await;
    let rx = receiver::Receiver::start().await;
    rx.always(receiver::Reply::status(401));
    let (id, _) = app.webhook(&rx.url("/b"), &["call.missed"]);
    let driver = Driver::start(&chromedriver).await;
    sign_in(&driver, &app, &format!("/webhooks/{id}")).await;
    driver.click("#send-test-button").await;
    let hint = driver.wait_for_text("#test-hint", |t| !t.is_empty()).await;
    assert_eq!(
        hint,
        "401: your server rejected the signature: check the signing secret"
    );
    assert!(driver.text("#test-result").await.contains("Failed"));
    driver.quit().await;
}

#[actix_rt::test]
async fn a_test_inbox_shows_a_delivery_with_a_valid_signature() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let app = TestApp::spawn().await;
    let driver = Driver::start(&chromedriver).await;
    sign_in(&driver, &app, "/inboxes").await;
    driver.type_into("#name", "my receiver").await;
    driver.click("#create-inbox").await;
    driver.wait_for_url(|u| u.contains("/inboxes/ibx_")).await;
    let inbox = driver.current_url().await;
    driver.click("#inbox-create-webhook").await;
    driver.wait_for_url(|u| u.contains("/webhooks/wh_")).await;
    driver.click("#send-test-button").await;
    driver
        .wait_for_text("#test-result", |t| t.contains("Success"))
        .await;
    driver.goto(&inbox).await;
    let request = driver
        .wait_for_text(".inbox-request", |t| t.contains("signature valid"))
        .await;
    assert!(!request.contains("not valid"), "{request}");
    driver.screenshot("6-inbox").await;
    driver.quit().await;
}

#[actix_rt::test]
async fn a_dropped_driver_leaves_no_browser_behind() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let driver = Driver::start(&chromedriver).await;
    let profile = driver.profile();
    let running = || {
        std::process::Command::new("pgrep")
            .args(["-f", &format!("user-data-dir={profile}")])
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    assert!(running(), "the browser runs");
    drop(driver); // as when a test panics: no quit
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while running() {
        assert!(
            std::time::Instant::now() < deadline,
            "Chromium outlived its driver"
        );
        actix_rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[actix_rt::test]
async fn settings_storage_shows_the_database_and_the_retention_in_force() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let app = TestApp::spawn().await;
    let driver = Driver::start(&chromedriver).await;
    sign_in(&driver, &app, "/webhooks").await;
    // Settings → Storage, from the sidebar.
    driver.click("#nav-settings").await;
    driver.click("#nav-storage").await;
    driver
        .wait_for_url(|u| u.ends_with("/settings/storage"))
        .await;
    driver.wait_for_text("#db-size", |t| t.ends_with("B")).await;
    let retention = driver.text("#retention-settings").await;
    assert!(
        retention.contains("30 days") && retention.contains("400 days"),
        "{retention}"
    );
    driver.screenshot("storage").await;
}
