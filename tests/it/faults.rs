//! When the database goes away or fills up: 503 with Retry-After and a code that says which,
//! never 500; `/healthz`, the metric and the banner say so until it is back; and every event
//! that was accepted is delivered after it is back. SQLite on a small file system made here
//! (a tmpfs); PostgreSQL behind a TCP proxy this test cuts and restores.

use crate::receiver::*;
use crate::support::*;
use awc::http::StatusCode;
use serde_json::json;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Set to run without the full-disk test on a machine where a file system cannot be made
/// (mounting a tmpfs needs root); otherwise its absence is a failure that says why.
const SKIP_FULL_DISK: &str = "AETHENOX_SKIP_FULL_DISK_TEST";

/// A tmpfs of `size` mounted on a new directory; unmounted on drop.
struct SmallFs {
    dir: PathBuf,
}

impl SmallFs {
    fn mount(size: &str) -> Option<SmallFs> {
        let dir = std::env::temp_dir().join(format!(
            "aethenox-full-{}",
            aethenox_webhooks::domain::ids::random_token::<8>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(SmallFs { dir }),
            Ok(out) => {
                let why = String::from_utf8_lossy(&out.stderr).trim().to_owned();
                let _ = std::fs::remove_dir(&dir);
                assert!(
                    std::env::var_os(SKIP_FULL_DISK).is_some(),
                    "cannot mount a tmpfs for the full-disk test ({why}); run as root, or set \
                     {SKIP_FULL_DISK}=1 to leave it out"
                );
                eprintln!("SKIPPED the full-disk test: {why}");
                None
            }
            Err(e) => panic!("mount: {e}"),
        }
    }

    /// Fills what is left with one file (removed by `free`).
    fn fill(&self) {
        let mut f = std::fs::File::create(self.filler()).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.flush();
    }

    fn free(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }

    fn filler(&self) -> PathBuf {
        self.dir.join("filler")
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Publishes until the server says no; every answer is a 202 or a 503 (never a 500), the
/// accepted ids are returned with the first refusal.
async fn publish_until_refused(
    api: &Api,
    prefix: &str,
    data: &serde_json::Value,
) -> (Vec<String>, Resp) {
    let mut accepted = Vec::new();
    for n in 0..2000 {
        let id = format!("{prefix}_{n}");
        let res = api
            .post(
                "/events",
                json!({"type": "message.sent", "id": id, "data": data}),
            )
            .await;
        match res.status {
            StatusCode::ACCEPTED => accepted.push(id),
            StatusCode::SERVICE_UNAVAILABLE => return (accepted, res),
            other => panic!("publish {n}: {other} {}", res.body),
        }
    }
    panic!("the server never refused")
}

async fn health(app: &TestApp) -> Resp {
    app.client().get("/healthz").await
}

/// Once the database is back: health passes, a new event is accepted, and every accepted event
/// (that one too) arrives.
async fn back_and_all_delivered(
    app: &TestApp,
    api: &Api,
    rx: &Receiver,
    accepted: &mut Vec<String>,
) {
    assert_eq!(health(app).await.status, StatusCode::OK);
    let res = api
        .post(
            "/events",
            json!({"type": "message.sent", "id": "after", "data": {}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    accepted.push("after".into());
    all_arrive(rx, accepted).await;
}

/// A refusal that says `code` and when to retry, and `/healthz` saying the same.
async fn refused_and_reported(app: &TestApp, refused: &Resp, code: &str) {
    assert_eq!(refused.json()["error"]["code"], code, "{}", refused.body);
    assert!(refused.header("retry-after").parse::<u64>().unwrap() > 0);
    let h = health(app).await;
    assert_eq!(h.status, StatusCode::SERVICE_UNAVAILABLE, "{}", h.body);
    assert_eq!(h.json()["reason"], code);
    assert!(h.header("retry-after").parse::<u64>().unwrap() > 0);
}

/// Waits for every one of `ids` to have arrived at `rx` at least once.
async fn all_arrive(rx: &Receiver, ids: &[String]) {
    wait_for(30, "every accepted event to arrive", || {
        let got: std::collections::HashSet<String> = rx
            .got()
            .iter()
            .map(|r| r.header("webhook-id").to_owned())
            .collect();
        ids.iter().all(|id| got.contains(id))
    })
    .await;
}

#[actix_rt::test]
async fn sqlite_on_a_full_disk_answers_503_says_so_and_loses_nothing_accepted() {
    if on_postgres() {
        return;
    }
    let Some(fs) = SmallFs::mount("8m") else {
        return;
    };
    let data_dir = fs.dir.join("data");
    let app = TestApp::delivering(|c| c.data_dir = data_dir.clone()).await;
    let rx = Receiver::start().await;
    let key = app.api_key();
    let api = app.api(&key);
    let res = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/hook"), "events": ["message.sent"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let big = json!({"text": "x".repeat(16 * 1024)});
    let mut accepted = Vec::new();
    let res = api
        .post(
            "/events",
            json!({"type": "message.sent", "id": "before", "data": big}),
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    accepted.push("before".into());

    fs.fill();
    let (more, refused) = publish_until_refused(&api, "full", &big).await;
    accepted.extend(more);
    // Saying so: the refusal, health, the metric, the pages (read as ever, with a banner), the
    // API's writes.
    refused_and_reported(&app, &refused, "storage_full").await;
    let metrics = app
        .client()
        .get_with("/metrics", &[("Authorization", &format!("Bearer {key}"))])
        .await;
    assert!(
        metrics.body.contains("\naethenox_database_up 0\n"),
        "{}",
        metrics.body
    );
    let page = admin.get("/webhooks").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("id=\"database-banner\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("storage is full"));
    let res = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/other"), "events": ["call.missed"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "storage_full");
    let form = admin
        .post(
            "/webhooks",
            &[("url", &rx.url("/form")), ("events", "call.missed")],
        )
        .await;
    assert_eq!(form.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(form.body.contains("Storage full"), "{}", form.body);

    // Space again: health comes back by itself, and everything accepted is delivered.
    fs.free();
    wait_for(10, "/healthz to pass again", || {
        app.state.health.current().is_none() && !app.state.file_system_full()
    })
    .await;
    back_and_all_delivered(&app, &api, &rx, &mut accepted).await;
    let page = admin.get("/webhooks").await;
    assert!(!page.body.contains("database-banner"));
    drop(app);
}

/// A TCP proxy to PostgreSQL that can cut every connection and refuse new ones, and restore.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(to: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let live: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let (flag, conns, to) = (cut.clone(), live.clone(), to.to_owned());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                if flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&to) else {
                    continue;
                };
                let mut kept = conns.lock().unwrap();
                kept.push(client.try_clone().unwrap());
                kept.push(server.try_clone().unwrap());
                for (mut from, mut into) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut into);
                        let _ = into.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Proxy { port, cut, live }
    }

    /// Every connection reset, new ones refused (as a server that went away).
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.live.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

fn pg_admin_url() -> String {
    std::env::var(PG_ENV)
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://root@127.0.0.1:5432/postgres".to_owned())
}

#[actix_rt::test]
async fn postgresql_going_away_answers_503_and_everything_accepted_arrives_after() {
    let db = PgDatabase::create(&pg_admin_url());
    let target = url::Url::parse(&db.url).unwrap();
    let proxy = Proxy::start(&format!(
        "{}:{}",
        target.host_str().unwrap(),
        target.port().unwrap_or(5432)
    ));
    let mut through = target.clone();
    through.set_port(Some(proxy.port)).unwrap();
    through.set_host(Some("127.0.0.1")).unwrap();
    let url = through.to_string();
    let app = TestApp::delivering(move |c| c.database_url = Some(url)).await;
    let rx = Receiver::start().await;
    let api = app.api(&app.api_key());
    let res = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/hook"), "events": ["message.sent"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let mut accepted = Vec::new();
    for n in 0..5 {
        let id = format!("before_{n}");
        let res = api
            .post(
                "/events",
                json!({"type": "message.sent", "id": id, "data": {}}),
            )
            .await;
        assert_eq!(res.status, StatusCode::ACCEPTED);
        accepted.push(id);
    }
    all_arrive(&rx, &accepted).await;
    let admin = app.signed_in(ADMIN_EMAIL).await;

    proxy.cut();
    let (more, refused) = publish_until_refused(&api, "during", &json!({})).await;
    accepted.extend(more);
    refused_and_reported(&app, &refused, "database_unavailable").await;
    // Pages: the error page that says so.
    let page = admin.get("/webhooks").await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert!(page.body.contains("Database unavailable"), "{}", page.body);
    assert!(!page.header("retry-after").is_empty());

    proxy.restore();
    wait_for(15, "/healthz to pass again", || {
        app.state.health.current().is_none()
    })
    .await;
    back_and_all_delivered(&app, &api, &rx, &mut accepted).await;
    drop(app);
    drop(db);
}
