//! Every page at a desktop and a phone size: nothing scrolls sideways, the menu opens from a
//! button on a phone, and (when axe-core is installed) no serious accessibility violation.

use crate::receiver::Receiver;
use crate::sign_in;
use crate::support::*;
use crate::webdriver::{Driver, require_chromedriver};
use serde_json::{Value, json};

/// (width, height, phone)
pub const SIZES: [(u32, u32, bool); 2] = [(1280, 900, false), (390, 844, true)];

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
    let second = api
        .call(
            "PUT",
            "/workspaces/acct_with_a_long_uid_from_the_platform_0123456789",
            Some(r#"{"name": "A customer account with a rather long name, as they come"}"#),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for(10, "the outcome", || {
        app.delivery(&delivery).status == "succeeded"
    })
    .await;
    // The missing webhook first: its screenshot's name is the real one's, which replaces it.
    let pages = [
        "/webhooks/wh_does_not_exist".to_owned(),
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
        format!("/webhooks/{webhook}/delete"),
        format!("/webhooks/{webhook}/rotate-secret"),
        "/workspaces".to_owned(),
        format!("/workspaces/search?id={event}"),
        format!("/workspaces/{second}/delete"),
        "/w/acct_with_a_long_uid_from_the_platform_0123456789/webhooks".to_owned(),
        "/w/default/settings/users".to_owned(),
        "/w/default/settings/api-keys".to_owned(),
        "/operational/webhooks".to_owned(),
        "/operational/webhooks/new".to_owned(),
    ];
    (app, rx, pages.to_vec())
}

/// axe-core's source (installed by `npm ci --prefix tests/npm --ignore-scripts`); None only when
/// the browser tests' skip was asked for.
pub fn axe_source() -> Option<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/npm/node_modules/axe-core/axe.min.js"
    );
    let skip = crate::webdriver::SKIP_BROWSER_TESTS;
    match std::fs::read_to_string(path) {
        Ok(source) => Some(source),
        Err(_) if std::env::var_os(skip).is_some() => {
            eprintln!("SKIPPED the accessibility checks: axe-core is missing and {skip} is set");
            None
        }
        Err(_) => panic!(
            "axe-core is missing: npm ci --prefix tests/npm --ignore-scripts \
             (or set {skip}=1 to leave the browser tests out)"
        ),
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

/// The populated app, and a browser the size of a phone signed in on its webhooks list.
async fn signed_in_on_a_phone(chromedriver: &str) -> (TestApp, Receiver, Vec<String>, Driver) {
    let (app, rx, pages) = populated().await;
    let driver = Driver::start(chromedriver).await;
    driver.viewport(390, 844, true).await;
    sign_in(&driver, &app, "/webhooks").await;
    // `/webhooks` is the first release's path: wait for its redirect to land too, or a page
    // the test opens next can be replaced by it (seen once under CI's load).
    driver
        .wait_for_url(|u| u.ends_with("/w/default/webhooks"))
        .await;
    (app, rx, pages, driver)
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

/// The page now scrolls sideways (naming the elements that stick out), or axe-core finds a
/// serious violation on it: each goes into `problems`, labelled `what`.
pub async fn check(driver: &Driver, axe: Option<&str>, what: &str, problems: &mut Vec<String>) {
    let over = overflow(driver).await;
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
        problems.push(format!("{what}: {over} px too wide ({culprits})"));
    }
    if let Some(axe) = axe {
        for v in axe_violations(driver, axe).await {
            problems.push(format!("{what}: {v}"));
        }
    }
}

#[actix_rt::test]
async fn no_page_scrolls_sideways_on_a_desktop_or_a_phone() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let (app, _rx, pages) = populated().await;
    let driver = Driver::start(&chromedriver).await;
    let axe = axe_source();
    let mut problems = Vec::new();
    // Signed out: the sign-in page; then every page signed in.
    for (w, h, phone) in SIZES {
        driver.viewport(w, h, phone).await;
        driver.goto(&format!("{}/login", app.base)).await;
        check(
            &driver,
            axe.as_deref(),
            &format!("/login at {w} px"),
            &mut problems,
        )
        .await;
    }
    driver.viewport(1280, 900, false).await;
    sign_in(&driver, &app, "/webhooks").await;
    for (w, h, phone) in SIZES {
        driver.viewport(w, h, phone).await;
        for page in &pages {
            driver.goto(&format!("{}{page}", app.base)).await;
            driver.screenshot(&format!("{w}-{}", slug(page))).await;
            check(
                &driver,
                axe.as_deref(),
                &format!("{page} at {w} px"),
                &mut problems,
            )
            .await;
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
                problems.push(format!("{page} in dark mode: {v}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    driver.quit().await;
}

#[actix_rt::test]
async fn on_a_phone_the_menu_opens_from_a_button_and_the_documented_path_works() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let (_app, _rx, _, driver) = signed_in_on_a_phone(&chromedriver).await;
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
    // … → Save → Send Test → Delivery Log, all on the phone.
    let phone_rx = Receiver::start().await;
    driver
        .type_into("#url", &phone_rx.url("/from-a-phone"))
        .await;
    driver
        .click("input[name=events][value='message.sent']")
        .await;
    driver.click("#save-webhook").await;
    driver
        .wait_for_text("#webhook-url", |t| t.ends_with("/from-a-phone"))
        .await;
    assert_eq!(overflow(&driver).await, 0);
    driver.click("#send-test-button").await;
    driver
        .wait_for_text("#test-result", |t| t.contains("Success"))
        .await;
    driver.click("#tab-delivery-log").await;
    driver
        .wait_for_text("#delivery-log", |t| {
            t.contains("message.sent") && t.contains("succeeded")
        })
        .await;
    assert_eq!(overflow(&driver).await, 0);
    assert_eq!(phone_rx.count(), 1);
    driver.quit().await;
}

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Presses Tab until the element with `id` has the focus (at most 40 times), and checks that the
/// focus is drawn.
async fn tab_to(driver: &Driver, id: &str) {
    for _ in 0..40 {
        if driver.focused().await == id {
            let outline = driver
                .execute(
                    "return getComputedStyle(document.activeElement).outlineStyle;",
                    json!([]),
                )
                .await;
            assert_ne!(outline, "none", "#{id} shows no focus");
            return;
        }
        driver.press(TAB).await;
    }
    panic!("#{id} cannot be reached with Tab");
}

#[actix_rt::test]
async fn the_documented_path_works_with_the_keyboard_alone_at_both_sizes() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let (app, _rx, _) = populated().await;
    let driver = Driver::start(&chromedriver).await;
    sign_in(&driver, &app, "/deliveries").await;
    for (w, h, phone) in SIZES {
        driver.viewport(w, h, phone).await;
        driver.goto(&format!("{}/deliveries", app.base)).await;
        if phone {
            tab_to(&driver, "menu-button").await;
            driver.press(ENTER).await;
            assert_eq!(
                driver.property("#menu-button", "ariaExpanded").await,
                "true"
            );
        }
        tab_to(&driver, "nav-webhooks").await;
        driver.press(ENTER).await;
        driver.wait_for_url(|u| u.ends_with("/webhooks")).await;
        tab_to(&driver, "create-webhook").await;
        driver.press(ENTER).await;
        driver.wait_for_url(|u| u.ends_with("/webhooks/new")).await;
        tab_to(&driver, "url").await;
        assert_eq!(overflow(&driver).await, 0, "at {w} px");
    }
    driver.quit().await;
}

#[actix_rt::test]
async fn the_live_parts_are_announced_and_ids_can_be_copied_on_a_phone() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let (app, _rx, pages, driver) = signed_in_on_a_phone(&chromedriver).await;
    // A webhook's page: the Send Test result lands in a live region that was there before it.
    let webhook = pages
        .iter()
        .find(|p| {
            p.starts_with("/webhooks/wh_") && p.matches('/').count() == 2 && !p.ends_with("_exist")
        })
        .unwrap();
    driver.goto(&format!("{}{webhook}", app.base)).await;
    assert_eq!(
        driver.property("#test-result-region", "ariaLive").await,
        "polite"
    );
    driver.click("#send-test-button").await;
    driver
        .wait_for_text("#test-result-region #test-result", |t| {
            t.contains("Success")
        })
        .await;
    // The endpoint URL is shortened nowhere here and has its own copy button.
    let copy = driver
        .execute(
            "var b = document.getElementById('copy-url'); var r = b.getBoundingClientRect(); \
             return r.width > 0 && r.right <= document.documentElement.clientWidth \
               && b.getAttribute('data-copy') === '#webhook-url';",
            json!([]),
        )
        .await;
    assert_eq!(copy, true, "the URL's copy button is on screen");
    // The signing secret: revealed and copied on a phone too.
    driver.click("#reveal-secret").await;
    driver.wait_for_text("#copy-secret", |t| t == "Copy").await;
    let secret = driver
        .execute(
            "var b = document.getElementById('copy-secret'); if (!b) return false; \
             var r = b.getBoundingClientRect(); \
             return r.width > 0 && r.right <= document.documentElement.clientWidth;",
            json!([]),
        )
        .await;
    assert_eq!(secret, true, "the secret's copy button is on screen");
    driver.click("#copy-secret").await;
    driver
        .wait_for_text("#copy-secret", |t| t == "Copied")
        .await;
    driver
        .devtools(
            "Browser.grantPermissions",
            json!({"origin": app.base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]}),
        )
        .await;
    let copied = driver
        .execute("return navigator.clipboard.readText();", json!([]))
        .await;
    assert_eq!(copied, driver.text("#secret-value").await.as_str());
    // A live Delivery Log row that changes status is announced once, through the page's
    // polite announcer.
    let slow = Receiver::start().await;
    slow.always(crate::receiver::Reply::status(204).held());
    app.webhook(&slow.url("/slow"), &["contact.created"]);
    let res = app
        .api(&app.api_key())
        .post("/events", json!({"type": "contact.created", "data": {}}))
        .await;
    let event = res.json()["id"].as_str().unwrap().to_owned();
    wait_for(10, "the held delivery", || slow.in_flight() == 1).await;
    let delivery = app.deliveries_of(&event)[0].id.clone();
    driver.goto(&format!("{}/deliveries", app.base)).await;
    assert_eq!(driver.property("#announcer", "ariaLive").await, "polite");
    assert_eq!(driver.text("#announcer").await, "");
    slow.release();
    driver
        .wait_for_text("#announcer", |t| {
            t == format!("Delivery {delivery}: succeeded")
        })
        .await;
    driver.quit().await;
}
