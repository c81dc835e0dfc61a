//! Browser tests: headless Debian Chromium driven through chromedriver against the real app.

#[path = "../it/support.rs"]
#[allow(dead_code)]
mod support;
mod webdriver;

use aethenox_webhooks::{domain, store};
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
    let secret = store::webhooks::current_secret(&mut app.conn(), &id).unwrap();
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
