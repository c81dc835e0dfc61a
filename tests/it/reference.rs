//! The API reference page and its renderer, Swagger UI, embedded from npm (the browser test
//! `tests/e2e/reference.rs` checks it renders and works).

use crate::support::*;
use awc::http::StatusCode;

const VENDORED: [&str; 4] = [
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "LICENSE",
    "NOTICE",
];

#[actix_rt::test]
async fn the_reference_is_served_signed_in_or_not_with_its_scripts_under_the_strict_csp() {
    let app = TestApp::spawn().await;
    let browser = app.client();
    let res = browser.get("/api/reference").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let csp = res.header("content-security-policy");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("style-src 'self';"), "{csp}");
    for asset in [
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
        "/static/api-reference.js",
        "/static/api-reference.css",
    ] {
        assert!(
            res.body.contains(&format!("\"{asset}\"")),
            "{asset} not linked"
        );
        let served = browser.get(asset).await;
        assert_eq!(served.status, StatusCode::OK, "{asset}");
        let kind = if asset.ends_with(".js") {
            "javascript"
        } else {
            "text/css"
        };
        assert!(served.header("content-type").contains(kind), "{asset}");
    }
    assert!(res.body.contains("data-url=\"/api/v1/openapi.json\""));
    assert!(!res.body.contains("<script>"), "no inline script");
    // Signed out there is no link to the admin pages' API keys; signed in, the page is part of
    // the admin UI and points to them.
    assert!(!res.body.contains("/settings/api-keys"));
    browser.login(ADMIN_EMAIL, PASSWORD).await;
    let res = browser.get("/api/reference").await;
    assert!(res.body.contains("id=\"sidebar\""));
    assert!(
        res.body
            .contains("href=\"/settings/api-keys\">API keys</a>")
    );
    let keys = browser.get("/settings/api-keys").await;
    assert!(keys.body.contains("href=\"/api/reference\""));
}

/// The copy the binary embeds is the npm package pinned in tests/npm (`bash tests/npm/vendor.sh`
/// refreshes it after a version change).
#[test]
fn the_embedded_renderer_is_the_pinned_npm_package() {
    let root = env!("CARGO_MANIFEST_DIR");
    let package = format!("{root}/tests/npm/node_modules/swagger-ui-dist");
    let lock = std::fs::read_to_string(format!("{root}/tests/npm/package-lock.json")).unwrap();
    let lock: serde_json::Value = serde_json::from_str(&lock).unwrap();
    let pinned = lock["packages"]["node_modules/swagger-ui-dist"]["version"]
        .as_str()
        .expect("swagger-ui-dist is in tests/npm/package-lock.json");
    if !std::path::Path::new(&package).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but tests/npm is not installed: npm ci --prefix tests/npm --ignore-scripts"
        );
        eprintln!("SKIPPED the comparison with npm: npm ci --prefix tests/npm --ignore-scripts");
        return;
    }
    let installed = std::fs::read_to_string(format!("{package}/package.json")).unwrap();
    let installed: serde_json::Value = serde_json::from_str(&installed).unwrap();
    assert_eq!(
        installed["version"], pinned,
        "run npm ci --prefix tests/npm"
    );
    for file in VENDORED {
        let embedded = std::fs::read(format!("{root}/static/vendor/swagger-ui/{file}")).unwrap();
        let from_npm = std::fs::read(format!("{package}/{file}")).unwrap();
        assert!(
            embedded == from_npm,
            "static/vendor/swagger-ui/{file} is not swagger-ui-dist {pinned}'s: bash tests/npm/vendor.sh"
        );
    }
}
