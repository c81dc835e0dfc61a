//! The receivers of the README's "Verifying signatures", run against real deliveries.

use crate::receiver::*;
use crate::support::*;
use serde_json::json;
use std::process::{Child, Command, Stdio};

/// The first code block in `lang` of the README's "Verifying signatures" section.
fn readme_block(lang: &str) -> String {
    let readme = include_str!("../../README.md");
    let section = &readme[readme
        .find("## Verifying signatures")
        .expect("the section exists")..];
    let start = section
        .find(&format!("```{lang}\n"))
        .unwrap_or_else(|| panic!("no {lang} block"))
        + lang.len()
        + 4;
    let end = start + section[start..].find("\n```").unwrap();
    section[start..end].to_owned() + "\n"
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A receiver program from the README, killed when dropped.
struct Program(Child);

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_program(interpreter: &str, file: &std::path::Path, secret: &str) -> (Program, u16) {
    let port = free_port();
    let child = Command::new(interpreter)
        .arg(file)
        .env("AETHENOX_WEBHOOK_SECRET", secret)
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {interpreter}: {e}"));
    let program = Program(child);
    wait_for(20, "the receiver to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
    (program, port)
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs a README receiver twice: with the webhook's secret (expects 204) and a wrong one (401).
async fn check_receiver(interpreter: &str, lang: &str, ext: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("receiver.{ext}"));
    std::fs::write(&file, readme_block(lang)).unwrap();
    let app = TestApp::delivering(|c| c.retry_schedule = vec![]).await;
    let api = app.api(&app.api_key());

    // The good receiver needs the webhook's secret before it starts, so the webhook comes first.
    let (webhook, secret) = app.webhook("http://127.0.0.1:1/placeholder", &["message.read"]);
    let (_good, good_port) = start_program(interpreter, &file, &secret).await;
    let wrong = aethenox_webhooks::domain::secrets::generate();
    let (_bad, bad_port) = start_program(interpreter, &file, &wrong).await;
    let (bad_webhook, _) = app.webhook(&format!("http://127.0.0.1:{bad_port}/"), &["message.read"]);
    let now = aethenox_webhooks::domain::time::now_ms();
    let good_url = format!("http://127.0.0.1:{good_port}/");
    aethenox_webhooks::store::webhooks::update(
        &mut app.conn(),
        &crate::support::dws(),
        &webhook,
        &aethenox_webhooks::store::webhooks::Settings {
            url: &good_url,
            description: "",
            events: &["message.read".into()],
            filter: None,
            headers: None,
            rate_limit: None,
            ordered: false,
        },
        now,
    )
    .unwrap();

    let res = api
        .post(
            "/events",
            json!({"type": "message.read", "data": {"message_id": "msg_9", "text": "héllo ✓"}}),
        )
        .await;
    let event_id = res.id();
    wait_for(20, "both outcomes", || {
        app.deliveries_of(&event_id)
            .iter()
            .all(|d| d.status == "succeeded" || d.status == "failed")
    })
    .await;
    for d in app.deliveries_of(&event_id) {
        let expected = if d.webhook_id == bad_webhook {
            401
        } else {
            204
        };
        assert_eq!(
            d.last_status_code,
            Some(expected),
            "{lang} receiver at {}",
            d.webhook_id
        );
    }
}

#[actix_rt::test]
async fn the_python_receiver_from_the_readme_accepts_real_deliveries_and_rejects_forgeries() {
    assert!(
        have("python3"),
        "python3 is needed to run the README's Python receiver"
    );
    check_receiver("python3", "python", "py").await;
}

#[actix_rt::test]
async fn the_node_receiver_from_the_readme_accepts_real_deliveries_and_rejects_forgeries() {
    if !have("node") {
        eprintln!("SKIPPED: node is not installed; the Node.js receiver was not run");
        return;
    }
    check_receiver("node", "javascript", "js").await;
}

// README:rust-begin
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// True when `signature_hex` (the X-Aethenox-Signature header) signs `body` with `secret`.
pub fn verify(secret: &str, body: &[u8], signature_hex: &str) -> bool {
    let Ok(given) = hex::decode(signature_hex) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&given).is_ok() // constant time
}
// README:rust-end

#[actix_rt::test]
async fn the_rust_and_go_checks_from_the_readme_verify_real_deliveries() {
    let source = include_str!("receivers.rs");
    let begin = source.find("// README:rust-begin\n").unwrap() + "// README:rust-begin\n".len();
    let end = source.find("// README:rust-end").unwrap();
    assert_eq!(
        readme_block("rust"),
        source[begin..end],
        "the README's Rust function is the one tested here"
    );

    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    let (_, secret) = app.webhook(&rx.url("/"), &["call.completed"]);
    app.api(&app.api_key())
        .post(
            "/events",
            json!({"type": "call.completed", "data": {"duration_seconds": 378}}),
        )
        .await;
    wait_for(10, "the delivery", || rx.count() == 1).await;
    let r = &rx.got()[0];
    let sig = r.header("x-aethenox-signature");
    assert!(verify(&secret, &r.body, sig));
    assert!(!verify(&secret, b"{}", sig));
    assert!(!verify("whsec_wrong", &r.body, sig));
    assert!(!verify(&secret, &r.body, "not hex"));
    // The Go receiver does the same: HMAC-SHA256 of the raw body keyed with the secret's bytes,
    // compared with the hex-decoded header in constant time (hmac.Equal).
    let go = readme_block("go");
    for step in [
        "hmac.New(sha256.New, secret)",
        "mac.Write(body)",
        "hex.DecodeString(r.Header.Get(\"X-Aethenox-Signature\"))",
        "hmac.Equal(given, mac.Sum(nil))",
        "http.StatusUnauthorized",
    ] {
        assert!(go.contains(step), "the Go receiver lost `{step}`");
    }
}
