//! The customer portal inside another site's page, as the platform embeds it: a page served on
//! another origin (`dashboard.test`, mapped to 127.0.0.1 in the browser) puts a fresh link in
//! an iframe; inside the frame the customer creates a webhook and sends a test. Then reuse,
//! expiry, revocation and the support role, and the portal pages' layout and accessibility.

use crate::layout::{SIZES, axe_source, axe_violations, check};
use crate::receiver::Receiver;
use crate::support::*;
use crate::webdriver::{Driver, require_chromedriver};
use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The platform's dashboard: a page on another site that frames whatever link it is given.
struct Dashboard {
    origin: String,
    link: Arc<Mutex<String>>,
    handle: actix_web::dev::ServerHandle,
}

impl Dashboard {
    async fn start() -> Dashboard {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let link = Arc::new(Mutex::new(String::new()));
        let shared = link.clone();
        let server = HttpServer::new(move || {
            let link = shared.clone();
            App::new().route(
                "/",
                web::get().to(move || {
                    let src = link.lock().unwrap().clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("text/html; charset=utf-8")
                            .body(format!(
                                "<!doctype html><html lang=en><title>Acme dashboard</title>\
                             <body style='margin:0;font-family:sans-serif'>\
                             <header style='padding:12px 20px;background:#0f172a;color:#fff'>\
                             Acme dashboard · Integrations</header>\
                             <iframe id=portal title='Webhooks' src='{src}' \
                             style='border:0;width:100%;height:700px'></iframe></body></html>"
                            ))
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Dashboard {
            origin: format!("http://dashboard.test:{port}"),
            link,
            handle,
        }
    }

    /// The dashboard with a fresh link of `body` in its frame, the browser inside the frame.
    async fn show(&self, driver: &Driver, api: &Api, body: serde_json::Value) {
        let res = api.post("/workspaces/acme/portal-links", body).await;
        assert_eq!(res.status.as_u16(), 201, "{}", res.body);
        *self.link.lock().unwrap() = res.json()["url"].as_str().unwrap().to_owned();
        self.reload(driver).await;
    }

    /// The dashboard again, with the link it had (as a reload of the platform's page would).
    async fn reload(&self, driver: &Driver) {
        driver.leave_frames().await;
        driver.goto(&format!("{}/", self.origin)).await;
        driver.enter_frame("#portal").await;
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// The portal's own path inside the frame (`/p/<session>`).
async fn portal_base(driver: &Driver) -> String {
    let path = driver.execute("return location.pathname;", json!([])).await;
    let path = path.as_str().unwrap();
    let mut parts = path.splitn(4, '/');
    let (_, p, token) = (parts.next(), parts.next(), parts.next());
    assert_eq!(p, Some("p"), "{path}");
    format!("/p/{}", token.unwrap())
}

#[actix_rt::test]
async fn the_portal_works_inside_another_sites_frame() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let dashboard = Dashboard::start().await;
    let origin = dashboard.origin.clone();
    let app = TestApp::delivering(move |c| c.portal_frame_ancestors = vec![origin]).await;
    let api = app.api(&app.api_key());
    api.call("PUT", "/workspaces/acme", Some(r#"{"name": "Acme Corp"}"#))
        .await;
    let rx = Receiver::start().await;
    // Third-party cookies blocked, as Safari always does and Chrome does when asked: the
    // portal must not need them.
    let driver = Driver::start_with(
        &chromedriver,
        &[
            "--host-resolver-rules=MAP dashboard.test 127.0.0.1",
            "--test-third-party-cookie-phaseout",
        ],
    )
    .await;

    // Inside the frame: Create Webhook → Endpoint URL → an event → Save → Send Test.
    dashboard
        .show(
            &driver,
            &api,
            json!({"user": "ana@acme.test", "accent": "#1d4ed8"}),
        )
        .await;
    driver.click("#create-webhook").await;
    driver.wait_for_path(|u| u.ends_with("/webhooks/new")).await;
    let url = rx.url("/from-the-portal");
    driver.type_into("#url", &url).await;
    driver
        .click("input[name=events][value='message.received']")
        .await;
    driver.click("#save-webhook").await;
    driver.wait_for_text("#webhook-url", |t| t == url).await;
    let page = driver.execute("return location.pathname;", json!([])).await;
    let webhook = page
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert!(webhook.starts_with("wh_"), "{page}");
    driver.click("#send-test-button").await;
    driver
        .wait_for_text("#test-result", |t| t.contains("Success"))
        .await;
    assert_eq!(rx.count(), 1);
    assert_eq!(rx.got()[0].header("x-aethenox-workspace"), "acme");
    // The link's accent, on the primary buttons.
    let accent = driver
        .execute(
            "return getComputedStyle(document.getElementById('send-test-button')).backgroundColor;",
            json!([]),
        )
        .await;
    assert_eq!(accent, "rgb(29, 78, 216)");
    let base = portal_base(&driver).await;
    driver
        .execute(
            "window.scrollTo(0, document.getElementById('send-test-button').getBoundingClientRect().top - 470);",
            json!([]),
        )
        .await;
    driver.leave_frames().await;
    driver.execute("window.scrollTo(0, 0);", json!([])).await;
    driver.screenshot("portal-in-dashboard").await;

    // The same link again (the platform's page reloaded without asking for a new one).
    dashboard.reload(&driver).await;
    driver
        .wait_for_text("#portal-ended h1", |t| {
            t == "This link has been used already"
        })
        .await;
    assert!(
        driver
            .text("#portal-ended")
            .await
            .contains("ask for a new link")
    );

    // The portal's pages at both sizes, light and dark: nothing sideways, nothing axe-core
    // calls serious (top-level, as a new tab would show them).
    let pages = [
        "/webhooks".to_owned(),
        "/webhooks/new".to_owned(),
        format!("/webhooks/{webhook}"),
        format!("/webhooks/{webhook}/settings"),
        "/deliveries".to_owned(),
        "/inboxes".to_owned(),
    ];
    let axe = axe_source();
    let mut problems = Vec::new();
    for (w, h, phone) in SIZES {
        driver.viewport(w, h, phone).await;
        for page in &pages {
            driver.goto(&format!("{}{base}{page}", app.base)).await;
            check(
                &driver,
                axe.as_deref(),
                &format!("portal {page} at {w} px"),
                &mut problems,
            )
            .await;
        }
    }
    if let Some(axe) = &axe {
        driver.color_scheme("dark").await;
        for (w, h, phone) in SIZES {
            driver.viewport(w, h, phone).await;
            for page in &pages {
                driver.goto(&format!("{}{base}{page}", app.base)).await;
                for v in axe_violations(&driver, axe).await {
                    problems.push(format!("portal {page} in dark mode at {w} px: {v}"));
                }
            }
        }
        driver.color_scheme("light").await;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Revocation: the platform ends the sessions; the next click in the frame says so.
    driver.viewport(1280, 900, false).await;
    dashboard.show(&driver, &api, json!({})).await;
    driver.wait_for_text("h1", |t| t == "Webhooks").await;
    let res = api
        .call("DELETE", "/workspaces/acme/portal-sessions", None)
        .await;
    assert_eq!(res.status.as_u16(), 204);
    driver.click("#nav-deliveries").await;
    driver
        .wait_for_text("#portal-ended h1", |t| t == "This session was ended")
        .await;

    // A support link: no Create Webhook, no secret, Send Test still there.
    dashboard
        .show(&driver, &api, json!({"role": "support"}))
        .await;
    driver.wait_for_text("h1", |t| t == "Webhooks").await;
    let none = driver
        .execute(
            "return !document.getElementById('create-webhook');",
            json!([]),
        )
        .await;
    assert_eq!(none, true, "support cannot create webhooks");
    driver
        .goto(&format!(
            "{}{}/webhooks/{webhook}",
            app.base,
            portal_base(&driver).await
        ))
        .await;
    driver.find("#send-test-button").await;
    let hidden = driver
        .execute(
            "return !document.getElementById('reveal-secret') && !document.body.textContent.includes('whsec_');",
            json!([]),
        )
        .await;
    assert_eq!(hidden, true, "support sees no signing secret");

    // Expiry, with the test clock: a link not opened within 5 minutes.
    let res = api.post("/workspaces/acme/portal-links", json!({})).await;
    *dashboard.link.lock().unwrap() = res.json()["url"].as_str().unwrap().to_owned();
    app.state.clock.advance(Duration::from_secs(5 * 60 + 1));
    dashboard.reload(&driver).await;
    driver
        .wait_for_text("#portal-ended h1", |t| t == "This link has expired")
        .await;
    driver.quit().await;
}

#[actix_rt::test]
async fn the_delivery_logs_filters_fold_behind_a_button_on_a_phone() {
    let Some(chromedriver) = require_chromedriver() else {
        return;
    };
    let app = TestApp::spawn().await;
    let driver = Driver::start(&chromedriver).await;
    crate::sign_in(&driver, &app, "/webhooks").await;
    let shown = |css: &'static str| {
        let driver = &driver;
        async move {
            driver
                .execute(
                    "var e = document.querySelector(arguments[0]); \
                     return !!e && e.checkVisibility() && e.getBoundingClientRect().height > 0;",
                    json!([css]),
                )
                .await
                == serde_json::Value::Bool(true)
        }
    };
    driver.viewport(390, 844, true).await;
    driver
        .goto(&format!("{}/w/default/deliveries", app.base))
        .await;
    assert!(
        shown("#filters-toggle").await,
        "a Filters button on a phone"
    );
    let open = driver
        .execute(
            "return document.getElementById('filters-disclosure').open + ' ' + matchMedia('(max-width: 800px)').matches;",
            json!([]),
        )
        .await;
    assert!(
        !shown("#f-status").await,
        "the filters start folded: {open}"
    );
    assert_eq!(driver.text("#filters-toggle").await, "Filters");
    driver.click("#filters-toggle").await;
    assert!(shown("#f-status").await, "the button unfolds them");
    // Filters in use stay unfolded.
    driver
        .goto(&format!("{}/w/default/deliveries?status=failed", app.base))
        .await;
    assert!(shown("#f-status").await);
    assert_eq!(driver.text("#filters-toggle").await, "Filters (on)");
    // On a desktop: always shown, no button.
    driver.viewport(1280, 900, false).await;
    driver
        .goto(&format!("{}/w/default/deliveries", app.base))
        .await;
    assert!(shown("#f-status").await);
    assert!(!shown("#filters-toggle").await);
    driver.quit().await;
}
