//! What goes on the wire, read as bytes (an HTTP server would fold the names' case away):
//! header names as DESIGN.md writes them, custom ones as typed, on every request of a kept-alive
//! connection; and https targets reached over TLS by this server's own connector.

use crate::support::*;
use aethenox_webhooks::store;
use awc::http::StatusCode;
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// (connection number, head as sent, body) of each request.
type Heads = Arc<Mutex<Vec<(usize, String, Vec<u8>)>>>;
/// The server name and ALPN protocols a client offered.
type Offered = Arc<Mutex<Option<(Option<String>, Vec<Vec<u8>>)>>>;

/// A receiver that keeps each request's head exactly as sent, and answers 204 on one
/// connection after another (kept alive).
struct RawReceiver {
    port: u16,
    heads: Heads,
}

impl RawReceiver {
    fn start() -> RawReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads: Heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        std::thread::spawn(move || {
            for (n, conn) in listener.incoming().enumerate() {
                let Ok(conn) = conn else { return };
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut writer = conn;
                    loop {
                        let mut head = String::new();
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            head.push_str(&line);
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse().ok())?
                            })
                            .unwrap_or(0);
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        seen.lock().unwrap().push((n, head, body));
                        let reply = b"HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n";
                        if writer.write_all(reply).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        RawReceiver { port, heads }
    }

    fn heads(&self) -> Vec<(usize, String, Vec<u8>)> {
        self.heads.lock().unwrap().clone()
    }
}

#[actix_rt::test]
async fn header_names_go_on_the_wire_as_documented_on_every_request_of_a_connection() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = RawReceiver::start();
    let api = app.api(&app.api_key());
    let url = format!("http://127.0.0.1:{}/hook", rx.port);
    let res = api
        .post(
            "/webhooks",
            json!({"url": url, "events": ["message.sent"], "headers": {"X-API-Key": "k_1", "x-tenant": "acme"}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let secret = res.json()["secret"].as_str().unwrap().to_owned();
    // Five in turn: with at most four sender threads, one of them sends two over its kept-alive
    // connection.
    for n in 0..5 {
        let res = api
            .post(
                "/events",
                json!({"type": "message.sent", "data": {"n": n, "text": "x-aethenox-signature: no"}}),
            )
            .await;
        assert_eq!(res.status, StatusCode::ACCEPTED);
        let want = n + 1;
        wait_for(10, "the delivery", || rx.heads().len() == want).await;
    }
    let heads = rx.heads();
    for (_, head, body) in &heads {
        for line in [
            format!("Host: 127.0.0.1:{}", rx.port),
            "Content-Type: application/json".to_owned(),
            format!("Content-Length: {}", body.len()),
            "User-Agent: AethenoxAI-Webhooks/".to_owned(),
            "X-Aethenox-Signature: ".to_owned(),
            "X-Aethenox-Event: message.sent".to_owned(),
            "X-Aethenox-Delivery: dlv_".to_owned(),
            "X-Aethenox-Timestamp: ".to_owned(),
            "X-Aethenox-Workspace: default".to_owned(),
            "webhook-id: evt_".to_owned(),
            "webhook-timestamp: ".to_owned(),
            "webhook-signature: v1,".to_owned(),
            // Custom headers as typed.
            "X-API-Key: k_1".to_owned(),
            "x-tenant: acme".to_owned(),
        ] {
            assert!(head.contains(&format!("\r\n{line}")), "{line:?} in {head}");
        }
        assert!(!head.contains("x-aethenox-"), "{head}");
        assert!(head.starts_with("POST /hook HTTP/1.1\r\n"), "{head}");
        // The body is the bytes signed, unchanged (a name in it stays as it is).
        let r = crate::receiver::Received {
            path: "/hook".into(),
            headers: head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(": "))
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
                .collect(),
            body: body.clone(),
            at: std::time::Instant::now(),
        };
        assert!(
            crate::receiver::aethenox_signature_ok(&r, &secret),
            "{head}"
        );
        assert!(String::from_utf8_lossy(body).contains("x-aethenox-signature: no"));
    }
    let mut per_connection = std::collections::HashMap::new();
    for (conn, ..) in &heads {
        *per_connection.entry(*conn).or_insert(0) += 1;
    }
    assert!(
        per_connection.values().any(|n| *n >= 2),
        "a kept-alive connection carried several, each head after a body recased: {per_connection:?}"
    );
}

/// A TLS server with a certificate no public root signed: what the handshake offered.
fn tls_server() -> (u16, Offered) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/tls");
    let certs = vec![CertificateDer::from_pem_file(format!("{dir}/localhost.crt")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/localhost.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let offered = Arc::new(Mutex::new(None));
    let seen = offered.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut acceptor = rustls::server::Acceptor::default();
            let accepted = loop {
                if acceptor.read_tls(&mut conn).unwrap_or(0) == 0 {
                    break None;
                }
                match acceptor.accept() {
                    Ok(Some(a)) => break Some(a),
                    Ok(None) => continue,
                    Err(_) => break None,
                }
            };
            let Some(accepted) = accepted else { continue };
            let hello = accepted.client_hello();
            let alpn = hello
                .alpn()
                .map(|a| a.map(<[u8]>::to_vec).collect())
                .unwrap_or_default();
            *seen.lock().unwrap() = Some((hello.server_name().map(str::to_owned), alpn));
            if let Ok(mut tls) = accepted.into_connection(config.clone()) {
                let _ = tls.complete_io(&mut conn);
            }
        }
    });
    (port, offered)
}

#[actix_rt::test]
async fn https_targets_are_reached_over_tls_for_their_host_name_over_http_1_1() {
    let app = TestApp::delivering(|_| {}).await;
    let (port, offered) = tls_server();
    let (webhook_id, _) = app.webhook(&format!("https://localhost:{port}/hook"), &["call.missed"]);
    let api = app.api(&app.api_key());
    let res = api
        .post("/events", json!({"type": "call.missed", "data": {}}))
        .await;
    let event_id = res.id();
    let id = app.deliveries_of(&event_id)[0].id.clone();
    wait_for(10, "the attempt", || app.delivery(&id).attempt_count >= 1).await;
    let attempt = app.attempts(&id).remove(0);
    // The certificate is the test's own: refused, as TLS must refuse it, and said so.
    assert_eq!(attempt.error_class.as_deref(), Some("tls"), "{attempt:?}");
    assert!(
        attempt.error.as_deref().unwrap().contains("certificate"),
        "{attempt:?}"
    );
    let (sni, alpn) = offered.lock().unwrap().clone().expect("a TLS handshake");
    assert_eq!(sni.as_deref(), Some("localhost"));
    assert_eq!(alpn, [b"http/1.1".to_vec()]);
    let w = store::webhooks::get(&mut app.conn(), &dws(), &webhook_id).unwrap();
    assert!(w.enabled);
}
