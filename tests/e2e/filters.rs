//! The webhook form's payload filter in the browser: Try it shows matched / not matched for the
//! chosen types' samples and pasted data, and names the path and operator of a bad filter.

use crate::support::*;
use crate::webdriver::{Driver, require_chromedriver};

#[actix_rt::test]
async fn try_it_shows_which_events_a_filter_lets_through() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let app = TestApp::spawn().await;
    let driver = Driver::start(&chromedriver).await;
    crate::sign_in(&driver, &app, "/webhooks").await;
    driver
        .goto(&format!("{}/w/default/webhooks/new", app.base))
        .await;
    driver
        .type_into("#url", "https://93.184.215.14/hooks")
        .await;
    driver
        .click("input[name=events][value='message.received']")
        .await;
    driver
        .type_into("#filter", r#"{"amount": {"$gt": true}}"#)
        .await;
    driver.click("#try-filter").await;
    driver
        .wait_for_text("#filter-result", |t| t.contains("amount.$gt"))
        .await;
    // Corrected, and tried on pasted data too.
    driver
        .execute(
            "document.getElementById('filter').value = arguments[0];",
            serde_json::json!([r#"{"amount": {"$gte": 100}}"#]),
        )
        .await;
    driver.click(".filter-try summary").await;
    driver.type_into("#filter-data", r#"{"amount": 250}"#).await;
    driver.click("#try-filter").await;
    let shown = driver
        .wait_for_text("#filter-result", |t| t.contains("the data you gave"))
        .await;
    assert!(shown.contains("matched the data you gave"), "{shown}");
    assert!(
        shown.contains("not matched the sample message.received"),
        "{shown}"
    );
    driver.click("#save-webhook").await;
    driver
        .wait_for_text("#webhook-filter", |t| t.contains("$gte"))
        .await;
    driver.quit().await;
}
