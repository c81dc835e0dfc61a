//! Every page at a desktop and a phone size: nothing scrolls sideways, the menu opens from a
//! button on a phone, and (when axe-core is installed) no serious accessibility violation.

use crate::receiver::Receiver;
use crate::sign_in;
use crate::support::*;
use crate::webdriver::{Driver, require_chromedriver};
use serde_json::{Value, json};

/// (width, height, phone)
const SIZES: [(u32, u32, bool); 2] = [(1280, 900, false), (390, 844, true)];

/// A webhook with a long URL, a delivery with an attempt, a second user, an inbox: every page
/// has its widest content on it.
async fn populated() -> (TestApp, Receiver, Vec<String>) {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    let long = rx.url(
        "/hooks/aethenox/production/customer-events/v2/receivers/0123456789abcdef0123456789abcdef",
    );
    let (webhook, _) = app.webhook(
        &long,
        &["message.received", "call.missed", "contact.updated"],
    );
    app.add_user(
        "support.staff.with.a.long.address@example.com",
        aethenox_webhooks::store::users::Role::Support,
    );
    let api = app.api(&app.api_key());
    let res = api
        .post(
            "/events",
            json!({"type": "message.received", "data": {"body": "Hi"}}),
        )
        .await;
    let event = res.json()["id"].as_str().unwrap().to_owned();
    wait_for(10, "the delivery", || rx.count() == 1).await;
    let delivery = app.deliveries_of(&event)[0].id.clone();
    wait_for(10, "the outcome", || {
        app.delivery(&delivery).status == "succeeded"
    })
    .await;
    let pages = [
        "/webhooks".to_owned(),
        "/webhooks/new".to_owned(),
        format!("/webhooks/{webhook}"),
        format!("/webhooks/{webhook}/deliveries"),
        format!("/webhooks/{webhook}/settings"),
        "/deliveries".to_owned(),
        format!("/deliveries/{delivery}"),
        "/inboxes".to_owned(),
        "/settings/users".to_owned(),
        "/settings/api-keys".to_owned(),
        "/settings/audit".to_owned(),
        "/settings/storage".to_owned(),
        "/account".to_owned(),
    ];
    (app, rx, pages.to_vec())
}

/// axe-core's source (installed by `npm ci --prefix tests/e2e/axe`), or None on a developer
/// machine without it; in CI it must be there.
fn axe_source() -> Option<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/e2e/axe/node_modules/axe-core/axe.min.js"
    );
    match std::fs::read_to_string(path) {
        Ok(source) => Some(source),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("CI is set but axe-core is missing: npm ci --prefix tests/e2e/axe")
        }
        Err(_) => {
            eprintln!("SKIPPED the accessibility checks: npm ci --prefix tests/e2e/axe");
            None
        }
    }
}

/// The serious and critical WCAG 2.1 A/AA violations axe-core finds on the page now, each as
/// "rule: count (first elements)".
pub async fn axe_violations(driver: &Driver, axe: &str) -> Vec<String> {
    driver
        .execute(&format!("{axe}\n;return true;"), json!([]))
        .await;
    let found = driver
        .execute(
            "return axe.run(document, {runOnly: {type: 'tag', \
               values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}}) \
             .then(function (r) { return r.violations \
               .filter(function (v) { return v.impact === 'serious' || v.impact === 'critical'; }) \
               .map(function (v) { return v.id + ': ' + v.nodes.length + ' (' + v.nodes.slice(0, 3) \
                 .map(function (n) { return n.target.join(' '); }).join(', ') + ')'; }); });",
            json!([]),
        )
        .await;
    serde_json::from_value(found).unwrap()
}

/// A file name for a page's screenshot: `/webhooks/wh_…/deliveries` → `webhooks-id-deliveries`.
fn slug(page: &str) -> String {
    page.trim_start_matches('/')
        .split('/')
        .map(|part| if part.contains('_') { "id" } else { part })
        .collect::<Vec<_>>()
        .join("-")
}

/// How far the page is wider than the window, in CSS pixels (0: no sideways scrolling).
async fn overflow(driver: &Driver) -> i64 {
    driver
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            json!([]),
        )
        .await
        .as_i64()
        .unwrap()
}

#[actix_rt::test]
async fn no_page_scrolls_sideways_on_a_desktop_or_a_phone() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let (app, _rx, pages) = populated().await;
    let driver = Driver::start(&chromedriver).await;
    sign_in(&driver, &app, "/webhooks").await;
    let axe = axe_source();
    let mut wide = Vec::new();
    let mut inaccessible = Vec::new();
    for (w, h, phone) in SIZES {
        driver.viewport(w, h, phone).await;
        for page in &pages {
            driver.goto(&format!("{}{page}", app.base)).await;
            let slug = slug(page);
            driver.screenshot(&format!("{w}-{slug}")).await;
            if let Some(axe) = &axe {
                for v in axe_violations(&driver, axe).await {
                    inaccessible.push(format!("{page} at {w} px: {v}"));
                }
            }
            let over = overflow(&driver).await;
            if over > 0 {
                let culprits = driver
                    .execute(
                        "var w = document.documentElement.clientWidth, out = []; \
                         document.querySelectorAll('body *').forEach(function (e) { \
                           var r = e.getBoundingClientRect(); \
                           if (r.right > w + 1 && out.length < 4) out.push(e.tagName.toLowerCase() \
                             + (e.id ? '#' + e.id : '') + (e.className && e.className.baseVal === undefined \
                             ? '.' + e.className.split(' ').join('.') : '') + ' ' + Math.round(r.right)); }); \
                         return out.join(', ');",
                        json!([]),
                    )
                    .await;
                wide.push(format!("{page} at {w} px: {over} px too wide ({culprits})"));
            }
        }
    }
    // The system's dark mode: the same pages, the same contrast.
    if let Some(axe) = &axe {
        driver.viewport(1280, 900, false).await;
        driver.color_scheme("dark").await;
        for page in &pages {
            driver.goto(&format!("{}{page}", app.base)).await;
            let background = driver
                .execute(
                    "return getComputedStyle(document.documentElement).backgroundColor;",
                    json!([]),
                )
                .await;
            assert_eq!(
                background, "rgb(18, 21, 28)",
                "{page} follows the dark mode"
            );
            driver.screenshot(&format!("dark-{}", slug(page))).await;
            for v in axe_violations(&driver, axe).await {
                inaccessible.push(format!("{page} in dark mode: {v}"));
            }
        }
    }
    assert!(
        wide.is_empty(),
        "pages that scroll sideways:\n{}",
        wide.join("\n")
    );
    assert!(
        inaccessible.is_empty(),
        "axe-core violations:\n{}",
        inaccessible.join("\n")
    );
    driver.quit().await;
}

#[actix_rt::test]
async fn on_a_phone_the_menu_opens_from_a_button_and_the_documented_path_works() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let (app, _rx, _) = populated().await;
    let driver = Driver::start(&chromedriver).await;
    driver.viewport(390, 844, true).await;
    sign_in(&driver, &app, "/webhooks").await;
    let visible = |css: &'static str| {
        let driver = &driver;
        async move {
            driver
                .execute(
                    "var e = document.querySelector(arguments[0]); \
                     return !!e && e.getBoundingClientRect().width > 0;",
                    json!([css]),
                )
                .await
                == Value::Bool(true)
        }
    };
    assert!(
        !visible("#nav-webhooks").await,
        "the menu starts closed on a phone"
    );
    assert_eq!(driver.text("#menu-button").await, "Menu");
    assert_eq!(
        driver.property("#menu-button", "ariaExpanded").await,
        "false"
    );
    driver.click("#menu-button").await;
    assert_eq!(
        driver.property("#menu-button", "ariaExpanded").await,
        "true"
    );
    assert!(visible("#nav-webhooks").await, "the menu opened");
    driver.click("#nav-webhooks").await;
    driver.wait_for_url(|u| u.ends_with("/webhooks")).await;
    driver.click("#create-webhook").await;
    driver.wait_for_url(|u| u.ends_with("/webhooks/new")).await;
    assert_eq!(overflow(&driver).await, 0);
    driver.quit().await;
}
