//! Responses to reads are gzipped when the client accepts it; static files are gzipped once;
//! answers to writes (the publish hot path) are not.

use crate::support::*;
use awc::http::StatusCode;
use std::io::Read;

/// (status, content-encoding, vary, body as received, body unpacked) of a request.
async fn fetch(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (StatusCode, String, String, usize, Vec<u8>) {
    let client = awc::Client::builder().disable_redirects().finish();
    let mut req = client.request(
        awc::http::Method::from_bytes(method.as_bytes()).unwrap(),
        url,
    );
    for h in headers {
        req = req.insert_header(*h);
    }
    let mut res = match body {
        Some(b) => req.send_body(b.to_owned()).await.unwrap(),
        None => req.send().await.unwrap(),
    };
    let raw = res.body().limit(16 * 1024 * 1024).await.unwrap().to_vec();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let encoding = header("content-encoding");
    let plain = if encoding == "gzip" {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    } else {
        raw.clone()
    };
    (res.status(), encoding, header("vary"), raw.len(), plain)
}

#[actix_rt::test]
async fn pages_documents_and_static_files_are_gzipped_for_clients_that_take_it() {
    let app = TestApp::spawn().await;
    let gzip = [("Accept-Encoding", "gzip, deflate, br")];
    let bundle = format!("{}/static/vendor/swagger-ui/swagger-ui-bundle.js", app.base);
    let (status, encoding, vary, sent, plain) = fetch("GET", &bundle, &gzip, None).await;
    assert_eq!((status, encoding.as_str()), (StatusCode::OK, "gzip"));
    assert!(
        vary.to_ascii_lowercase().contains("accept-encoding"),
        "{vary}"
    );
    assert!(plain.len() > 1_000_000, "the whole bundle: {}", plain.len());
    assert!(sent * 3 < plain.len(), "{sent} of {} bytes", plain.len());
    // The same bytes as without compression.
    let (_, encoding, _, _, unpacked) = fetch("GET", &bundle, &[], None).await;
    assert_eq!(encoding, "");
    assert_eq!(unpacked, plain);

    for path in [
        "/api/v1/openapi.json",
        "/login",
        "/api/reference",
        "/static/app.css",
    ] {
        let (status, encoding, _, sent, plain) =
            fetch("GET", &format!("{}{path}", app.base), &gzip, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(encoding, "gzip", "{path}");
        assert!(sent < plain.len(), "{path}");
        let (_, encoding, ..) = fetch("GET", &format!("{}{path}", app.base), &[], None).await;
        assert_eq!(encoding, "", "{path}: not asked, not compressed");
    }
    // Publishing: small answers, sent as they are.
    let key = app.api_key();
    let auth = format!("Bearer {key}");
    let (status, encoding, ..) = fetch(
        "POST",
        &format!("{}/api/v1/events", app.base),
        &[
            ("Accept-Encoding", "gzip"),
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(r#"{"type": "call.missed", "data": {}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(encoding, "");
}
