//! The README's curl session, run as written (only the address, the key, the receiver's URL and
//! the delivery id are put in): create a webhook, publish an event, list failed deliveries, resend.

use crate::receiver::{Receiver, Reply};
use crate::support::*;

/// The steps of the session: the shell block after `<!-- curl session -->`, split at blank lines.
fn steps() -> Vec<String> {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("<!-- curl session -->")
        .expect("the README has its curl session");
    let block = &readme[start..];
    let block = &block[block.find("```sh\n").expect("a sh block") + 6..];
    let block = &block[..block.find("```").expect("the block ends")];
    block.split("\n\n").map(|s| s.trim().to_owned()).collect()
}

/// Runs the setup step and then `step` in bash, with `replace` done; returns what it printed.
/// (On a blocking thread: the server under test answers on this test's own thread.)
async fn run(setup: &str, step: &str, replace: &[(&str, &str)]) -> serde_json::Value {
    let mut script = format!("set -euo pipefail\n{setup}\n{step}\n");
    for (from, to) in replace {
        assert!(
            script.contains(from),
            "the README session no longer has {from}"
        );
        script = script.replace(from, to);
    }
    let command = script.clone();
    let out = actix_web::rt::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .arg("-c")
            .arg(&command)
            .output()
            .expect("bash")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON from\n{script}\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[actix_rt::test]
async fn the_readme_curl_session_works_as_written() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    rx.always(Reply::status(500));
    let key = app.api_key();
    let base = format!("{}/api/v1", app.base);
    let steps = steps();
    assert_eq!(steps.len(), 5, "setup and four steps: {steps:#?}");
    let setup = steps[0]
        .replace("http://127.0.0.1:8080/api/v1", &base)
        .replace("aek_replace_with_your_key", &key);
    assert_ne!(setup, steps[0]);
    let hook = rx.url("/hook");

    let webhook = run(
        &setup,
        &steps[1],
        &[("https://example.com/webhooks/aethenox", &hook)],
    )
    .await;
    assert!(
        webhook["id"].as_str().unwrap().starts_with("wh_"),
        "{webhook}"
    );
    assert!(webhook["secret"].as_str().unwrap().starts_with("whsec_"));

    let event = run(&setup, &steps[2], &[]).await;
    assert_eq!(event["id"], "evt_order_4821");
    assert_eq!(event["deliveries"], 1);
    // The receiver answers 500: every retry is used and the delivery fails for good.
    wait_for(15, "the delivery to fail", || {
        app.deliveries_of("evt_order_4821")
            .first()
            .is_some_and(|d| d.status == "failed")
    })
    .await;
    let attempts = rx.count();

    let failed = run(&setup, &steps[3], &[]).await;
    let delivery = failed["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(failed["data"][0]["event_id"], "evt_order_4821", "{failed}");
    assert_eq!(failed["data"][0]["status"], "failed");

    let resent = run(&setup, &steps[4], &[("dlv_replace_with_its_id", &delivery)]).await;
    assert_eq!(resent["status_code"], 500, "{resent}");
    assert_eq!(rx.count(), attempts + 1, "resent once");
}
