//! The test harness: the real app on a temp-file database, bound to 127.0.0.1:0, and a
//! small browser-like client that keeps cookies and knows the CSRF token.

use actix_web::web::Data;
use aethenox_webhooks::delivery::DeliveryWorker;
use aethenox_webhooks::store::users::Role;
use aethenox_webhooks::{AppState, Config, build_state, db, domain, run, store};
use awc::http::StatusCode;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::Duration;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const SUPPORT_EMAIL: &str = "support@example.com";
pub const PASSWORD: &str = "correct horse battery";
/// A webhook URL the strict policy accepts without DNS (a public address, never contacted).
pub const PUBLIC_URL: &str = "https://93.184.215.14/aethenox";

/// The default workspace, where everything of a single-workspace installation lives.
pub fn dws() -> domain::workspace::WorkspaceId {
    domain::workspace::WorkspaceId::default_workspace()
}

pub struct TestApp {
    pub base: String,
    pub state: Data<AppState>,
    handle: actix_web::dev::ServerHandle,
    delivery: Option<DeliveryWorker>,
    _pruner: aethenox_webhooks::retention::Pruner,
    pub dir: tempfile::TempDir,
    /// Dropped last: the PostgreSQL database of this test, when the suite runs on PostgreSQL.
    pub pg: Option<PgDatabase>,
}

/// The environment variable that runs the suite on PostgreSQL: a URL of a database to connect
/// to for creating and dropping one fresh database per test (e.g.
/// `postgres://root@127.0.0.1:5432/postgres`). Unset: every test has its own SQLite file.
pub const PG_ENV: &str = "AETHENOX_TEST_DATABASE_URL";

/// A fresh PostgreSQL database made for one test, dropped (its connections closed) on drop.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    /// A new empty database when the suite runs on PostgreSQL.
    pub fn for_this_run() -> Option<PgDatabase> {
        let admin_url = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty())?;
        Some(PgDatabase::create(&admin_url))
    }

    /// A new empty database on the server of `admin_url`.
    pub fn create(admin_url: &str) -> PgDatabase {
        use diesel::{Connection, RunQueryDsl};
        let name = format!(
            "aethenox_test_{}",
            aethenox_webhooks::domain::ids::random_token::<8>().to_ascii_lowercase()
        )
        .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
        // As the app does before its first connection: this test binary's threads may still be
        // closing connections when it exits.
        aethenox_webhooks::db::init_tls();
        let mut conn = diesel::PgConnection::establish(admin_url)
            .unwrap_or_else(|e| panic!("{PG_ENV}={admin_url}: cannot connect: {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .expect("create the test database");
        let mut url = url::Url::parse(admin_url).expect("a PostgreSQL URL");
        url.set_path(&name);
        PgDatabase {
            admin_url: admin_url.to_owned(),
            url: url.to_string(),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use diesel::{Connection, RunQueryDsl};
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

/// True when this run is on PostgreSQL (for the few tests about the SQLite file itself).
pub fn on_postgres() -> bool {
    std::env::var(PG_ENV).is_ok_and(|u| !u.is_empty())
}

impl TestApp {
    /// The app with its defaults (the strict URL policy included) and one admin and one support user.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(change: impl FnOnce(&mut Config)) -> TestApp {
        let app = Self::start(change);
        app.add_user(ADMIN_EMAIL, Role::Admin);
        app.add_user(SUPPORT_EMAIL, Role::Support);
        app
    }

    /// An app with no user at all, as a fresh install is.
    pub async fn spawn_empty() -> TestApp {
        Self::start(|_| {})
    }

    fn start(change: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = PgDatabase::for_this_run();
        let mut config = Config::with_data_dir(dir.path());
        config.bind = "127.0.0.1:0".into();
        config.database_url = pg.as_ref().map(|d| d.url.clone());
        change(&mut config);
        let state = build_state(config).expect("app state");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = run(state.clone(), listener).expect("server");
        let handle = server.handle();
        actix_rt::spawn(server);
        let delivery = Some(DeliveryWorker::start(state.clone()).expect("delivery actor"));
        let _pruner = aethenox_webhooks::retention::Pruner::start(state.clone()).expect("pruner");
        TestApp {
            base,
            state,
            handle,
            delivery,
            _pruner,
            dir,
            pg,
        }
    }

    /// Pending deliveries leased to the delivery actor (in flight, or claimed and waiting).
    pub fn leased(&self) -> i64 {
        use aethenox_webhooks::db::schema::deliveries::dsl::*;
        use diesel::prelude::*;
        let q = deliveries
            .filter(status.eq("pending"))
            .filter(lease_until.is_not_null())
            .count();
        q.get_result::<i64>(&mut *self.conn()).unwrap()
    }

    /// `aethenox_deliveries_held` in /metrics (read with `api_key`): deliveries claimed and
    /// waiting in memory.
    pub async fn held(&self, api_key: &str) -> i64 {
        let text = metrics_text(&self.base, api_key).await;
        let line = text
            .lines()
            .find(|l| l.starts_with("aethenox_deliveries_held "))
            .expect("aethenox_deliveries_held in /metrics");
        line.rsplit(' ').next().unwrap().parse().unwrap()
    }

    /// Waits until some deliveries wait in memory and every leased one but the `in_flight`
    /// ones does (no claim half done: its rows leased and not yet in the waiting line).
    pub async fn wait_until_held(&self, in_flight: i64) {
        let key = self.api_key();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (held, leased) = (self.held(&key).await, self.leased());
            if held > 0 && held == leased - in_flight {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for every leased delivery but {in_flight} in memory: {held} of {leased}"
            );
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the delivery actor as the server's shutdown does (attempts in flight get their
    /// grace period; everything else leased is given back).
    pub fn stop_delivering(&mut self) {
        if let Some(worker) = self.delivery.take() {
            worker.stop();
        }
    }

    /// The PostgreSQL URL of this test's database, when the suite runs on PostgreSQL.
    pub fn database_url(&self) -> Option<String> {
        self.pg.as_ref().map(|d| d.url.clone())
    }

    /// The defaults, on this app's data directory and database.
    pub fn same_database_config(&self) -> Config {
        Config {
            database_url: self.database_url(),
            ..Config::with_data_dir(self.dir.path())
        }
    }

    pub fn conn(&self) -> db::PooledConn {
        self.state.pool.get().expect("db connection")
    }

    pub fn add_user(&self, email: &str, role: Role) {
        let hash = domain::passwords::hash(PASSWORD).unwrap();
        store::users::create(&mut self.conn(), email, role, &hash, domain::time::now_ms()).unwrap();
    }

    /// An admin API key named "tests".
    pub fn api_key(&self) -> String {
        self.api_key_with(Role::Admin)
    }

    pub fn api_key_with(&self, role: Role) -> String {
        let key = domain::ids::new_api_key();
        let name = if role == Role::Admin {
            "tests"
        } else {
            "support tests"
        };
        store::api_keys::create_for_key(
            &mut self.conn(),
            name,
            &key,
            role,
            store::api_keys::Owner::Instance,
            domain::time::now_ms(),
        )
        .unwrap();
        key
    }

    /// An API key of the workspace `ws` (reaching it only), with `role`.
    pub fn workspace_api_key(&self, ws: &domain::workspace::WorkspaceId, role: Role) -> Api {
        let key = domain::ids::new_api_key();
        store::api_keys::create_for_key(
            &mut self.conn(),
            "workspace tests",
            &key,
            role,
            store::api_keys::Owner::Workspace(ws),
            domain::time::now_ms(),
        )
        .unwrap();
        self.api(&key)
    }

    pub fn webhook_count(&self) -> usize {
        store::webhooks::list(&mut self.conn(), &dws(), None, 1000)
            .unwrap()
            .len()
    }

    /// An app that may deliver to 127.0.0.1, with a fast retry schedule for tests.
    pub async fn delivering(change: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_with(|c| {
            c.allow_private_targets = true;
            c.retry_schedule = vec![Duration::from_millis(100); 3];
            c.request_timeout = Duration::from_secs(5);
            change(c)
        })
        .await
    }

    /// Creates a webhook straight in the store (no URL check): returns (id, secret).
    pub fn webhook(&self, url: &str, events: &[&str]) -> (String, String) {
        let id = domain::ids::new_id("wh");
        let secret = domain::secrets::generate();
        let sealed = self.state.secrets.seal(&secret);
        let events: Vec<String> = events.iter().map(|e| e.to_string()).collect();
        store::webhooks::create(
            &mut self.conn(),
            &store::webhooks::NewWebhook {
                workspace: &dws(),
                id: &id,
                url,
                description: "",
                enabled: true,
                events: &events,
                secret: &sealed,
                filter: None,
                headers: None,
                rate_limit: None,
                ordered: false,
            },
            domain::time::now_ms(),
        )
        .unwrap();
        (id, secret)
    }

    /// The webhook's current signing secret, opened.
    pub fn secret(&self, webhook_id: &str) -> String {
        let sealed = store::webhooks::current_secret(&mut self.conn(), &dws(), webhook_id).unwrap();
        self.state.secrets.open(&sealed).unwrap()
    }

    /// Every secret that verifies at `now`, current first, opened.
    pub fn valid_secrets(&self, webhook_id: &str, now: i64) -> Vec<String> {
        let sealed = store::webhooks::valid_secrets(&mut self.conn(), webhook_id, now).unwrap();
        self.state.secrets.open_all(&sealed).unwrap()
    }

    pub fn delivery(&self, id: &str) -> store::deliveries::Delivery {
        store::deliveries::get(&mut self.conn(), &dws(), id).unwrap()
    }

    pub fn deliveries_of(&self, event_id: &str) -> Vec<store::deliveries::Delivery> {
        store::deliveries::for_event(&mut self.conn(), &dws(), event_id).unwrap()
    }

    pub fn attempts(&self, delivery_id: &str) -> Vec<store::deliveries::Attempt> {
        store::deliveries::attempts_of(&mut self.conn(), &dws(), delivery_id).unwrap()
    }

    pub fn client(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// A browser whose connections come from `ip` (any 127.x.y.z reaches a server on
    /// 127.0.0.1), so the server sees another client address.
    pub fn client_from(&self, ip: &str) -> Browser {
        Browser::from_address(&self.base, ip)
    }

    pub async fn signed_in(&self, email: &str) -> Browser {
        let b = self.client();
        let res = b.login(email, PASSWORD).await;
        assert_eq!(
            res.status,
            StatusCode::SEE_OTHER,
            "sign-in failed: {}",
            res.body
        );
        b
    }

    pub fn api(&self, key: &str) -> Api {
        Api {
            client: client(),
            base: self.base.clone(),
            key: key.to_owned(),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stopping is requested at once; the returned future only waits for it.
        drop(self.handle.stop(false));
        if let Some(worker) = self.delivery.take() {
            worker.stop();
        }
    }
}

fn client() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(30))
        .finish()
}

/// The `/metrics` text of the server at `base`, read with `api_key`.
pub async fn metrics_text(base: &str, api_key: &str) -> String {
    let mut res = awc::Client::default()
        .get(format!("{base}/metrics"))
        .bearer_auth(api_key)
        .send()
        .await
        .unwrap();
    String::from_utf8(res.body().await.unwrap().to_vec()).unwrap()
}

/// Waits for `check` to hold, polling, failing after `secs` seconds with `what`.
pub async fn wait_for(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: awc::http::header::HeaderMap,
    pub body: String,
}

impl Resp {
    /// The field a JSON API error names ("" when it names none).
    pub fn error_field(&self) -> String {
        self.json()["error"]["field"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    /// The `id` of the JSON object answered: a created webhook or workspace, a published event.
    pub fn id(&self) -> String {
        let id = self.json()["id"].as_str().map(str::to_owned);
        id.unwrap_or_else(|| panic!("no id in {}", self.body))
    }
    /// The id in a `Location: /w/{workspace}/webhooks/{id}...` header.
    pub fn location_webhook_id(&self) -> String {
        let loc = self.header("location");
        let loc = loc.split_once("/webhooks/").map_or(loc, |(_, rest)| rest);
        loc.split(['?', '/']).next().unwrap_or_default().to_owned()
    }
}

async fn into_resp(mut res: awc::ClientResponse) -> Resp {
    let body = res
        .body()
        .limit(8 * 1024 * 1024)
        .await
        .expect("response body");
    Resp {
        status: res.status(),
        headers: res.headers().clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// The pages of a workspace, as the first release addressed them.
const WORKSPACE_PAGES: [&str; 4] = ["/webhooks", "/deliveries", "/inboxes", "/settings/audit"];

/// Tests written against a single-workspace installation name pages by the first release's
/// paths; the browser asks for the default workspace's page they lead to (`legacy.rs` checks
/// the redirects themselves with `get_exactly`).
pub fn in_default_workspace(path: &str) -> String {
    let is_page = WORKSPACE_PAGES.iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
    });
    if is_page {
        format!("/w/default{path}")
    } else {
        path.to_owned()
    }
}

/// Keeps cookies like a browser and sends the CSRF token with forms.
pub struct Browser {
    client: awc::Client,
    base: String,
    cookies: RefCell<BTreeMap<String, String>>,
}

impl Browser {
    pub fn from_address(base: &str, ip: &str) -> Browser {
        let connector = awc::Connector::new().local_address(ip.parse().expect("an IP address"));
        Browser {
            client: awc::Client::builder()
                .connector(connector)
                .disable_redirects()
                .timeout(Duration::from_secs(30))
                .finish(),
            base: base.to_owned(),
            cookies: RefCell::default(),
        }
    }

    /// A browser of the app at `base` (one started another way).
    pub fn at(base: &str) -> Browser {
        Browser::new(base)
    }

    fn new(base: &str) -> Browser {
        Browser {
            client: client(),
            base: base.to_owned(),
            cookies: RefCell::default(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .borrow()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&self, res: &Resp) {
        for c in res.set_cookies() {
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                let removal = c.to_ascii_lowercase().contains("max-age=0");
                if removal || v.is_empty() {
                    self.cookies.borrow_mut().remove(k.trim());
                } else {
                    self.cookies
                        .borrow_mut()
                        .insert(k.trim().to_owned(), v.trim().to_owned());
                }
            }
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.borrow().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .borrow_mut()
            .insert(name.to_owned(), value.to_owned());
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.get_with(path, &[]).await
    }

    /// A GET of exactly `path` (no page path mapped to the default workspace).
    pub async fn get_exactly(&self, path: &str) -> Resp {
        let req = self
            .client
            .get(format!("{}{}", self.base, path))
            .insert_header(("Cookie", self.cookie_header()));
        let res = into_resp(req.send().await.expect("GET")).await;
        self.remember(&res);
        res
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self
            .client
            .get(format!("{}{}", self.base, in_default_workspace(path)))
            .insert_header(("Cookie", self.cookie_header()));
        for h in headers {
            req = req.insert_header(*h);
        }
        let res = into_resp(req.send().await.expect("GET")).await;
        self.remember(&res);
        res
    }

    /// A GET first if no CSRF cookie is known yet, as a browser loads a form before posting it.
    pub async fn csrf(&self) -> String {
        if self.cookie("aethenox_csrf").is_none() {
            self.get("/login").await;
        }
        self.cookie("aethenox_csrf")
            .expect("the server sets a CSRF cookie")
    }

    /// Posts a form with the CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, &[]).await
    }

    /// Posts exactly these fields and headers.
    pub async fn post_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut req = self
            .client
            .post(format!("{}{}", self.base, in_default_workspace(path)))
            .insert_header(("Cookie", self.cookie_header()))
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"));
        for h in headers {
            req = req.insert_header(*h);
        }
        let res = into_resp(req.send_body(body).await.expect("POST")).await;
        self.remember(&res);
        res
    }

    pub async fn login(&self, email: &str, password: &str) -> Resp {
        self.post(
            "/login",
            &[
                ("email", email),
                ("password", password),
                ("next", "/webhooks"),
            ],
        )
        .await
    }

    /// Creates a webhook through the form and returns its id.
    pub async fn create_webhook(&self, url: &str, events: &[&str]) -> String {
        let mut fields = vec![("url", url), ("description", "")];
        fields.extend(events.iter().map(|e| ("events", *e)));
        let res = self.post("/webhooks", &fields).await;
        assert_eq!(
            res.status,
            StatusCode::SEE_OTHER,
            "create failed: {}",
            res.body
        );
        res.location_webhook_id()
    }
}

/// A JSON API client with a Bearer key.
pub struct Api {
    client: awc::Client,
    base: String,
    key: String,
}

impl Api {
    /// A client of the API at `base` (an app started another way, such as the real binary).
    pub fn new(base: &str, key: &str) -> Api {
        Api {
            client: client(),
            base: base.to_owned(),
            key: key.to_owned(),
        }
    }
}

impl Api {
    pub async fn call(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let req = self
            .client
            .request(method, format!("{}/api/v1{}", self.base, path))
            .insert_header(("Authorization", format!("Bearer {}", self.key)))
            .insert_header(("Content-Type", "application/json"));
        let res = match body {
            Some(b) => req.send_body(b.to_owned()).await,
            None => req.send().await,
        };
        into_resp(res.expect("API request")).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> Resp {
        self.call("POST", path, Some(&body.to_string())).await
    }

    pub async fn patch(&self, path: &str, body: serde_json::Value) -> Resp {
        self.call("PATCH", path, Some(&body.to_string())).await
    }
}

/// The real binary, started in `dir` with `--bind 127.0.0.1:0`; killed when dropped.
pub struct Served {
    pub child: std::process::Child,
    pub base: String,
}

impl Served {
    /// Starts the binary and waits for the URL it logs; returns it and that URL.
    pub fn start(dir: &std::path::Path, args: &[&str]) -> (Served, String) {
        Self::start_env(dir, args, &[])
    }

    /// The same, with these environment variables set.
    pub fn start_env(
        dir: &std::path::Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (Served, String) {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let mut child = Command::new(env!("CARGO_BIN_EXE_aethenox-webhooks"))
            .args(["--bind", "127.0.0.1:0"])
            .args(args)
            .current_dir(dir)
            .env_remove("AETHENOX_DATA_DIR")
            .env_remove("AETHENOX_DATABASE_URL")
            .env_remove("AETHENOX_SECRET_KEY")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the binary");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let url = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = rx
                .recv_timeout(left)
                .expect("the server logs the URL to open in time");
            if let Some(start) = line.find("open http://") {
                break line[start + 5..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_owned();
            }
        };
        let base = url.split('/').take(3).collect::<Vec<_>>().join("/");
        (Served { child, base }, url)
    }

    /// SIGTERM, as a service manager stops it; waits up to `secs` for it to exit.
    pub fn terminate(&mut self, secs: u64) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(ok.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not stop within {secs} s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the real binary with `args`, in `dir` if given, with only the `AETHENOX_*` settings of
/// `env` (none inherited from the developer's shell), `stdin` written to it; waits for it.
pub fn run_binary(
    dir: Option<&std::path::Path>,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: &str,
) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut command = Command::new(env!("CARGO_BIN_EXE_aethenox-webhooks"));
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command
        .args(args)
        .env_remove("AETHENOX_DATA_DIR")
        .env_remove("AETHENOX_DATABASE_URL")
        .env_remove("AETHENOX_SECRET_KEY")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    // The program may exit before reading (a bad flag): a closed pipe is not the test's failure.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

/// A customer portal session opened from a fresh link, in a browser of its own: the base of
/// its pages (`/p/<token>`) and the CSRF token its forms carry (derived from the token).
pub struct Portal {
    pub base: String,
    pub csrf: String,
    pub browser: Browser,
}

impl Portal {
    /// A page of the portal: `get("/webhooks")`.
    pub async fn get(&self, path: &str) -> Resp {
        self.browser
            .get_exactly(&format!("{}{path}", self.base))
            .await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.browser
            .get_with(&format!("{}{path}", self.base), headers)
            .await
    }

    /// Posts a form of the portal with its CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        self.post_with(path, fields, &[]).await
    }

    pub async fn post_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.browser
            .post_raw(&format!("{}{path}", self.base), &all, headers)
            .await
    }
}

impl TestApp {
    /// Asks for a portal link to `workspace` with `body` (as the platform does) and opens it.
    pub async fn portal(&self, api: &Api, workspace: &str, body: serde_json::Value) -> Portal {
        let res = api
            .post(&format!("/workspaces/{workspace}/portal-links"), body)
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let url = res.json()["url"].as_str().unwrap().to_owned();
        let path = url.strip_prefix(&self.base).expect("a link to this server");
        let browser = self.client();
        let opened = browser.get_exactly(path).await;
        assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
        let base = opened
            .header("location")
            .strip_suffix("/webhooks")
            .expect("the portal opens on the webhooks")
            .to_owned();
        let token = base.strip_prefix("/p/").unwrap().to_owned();
        Portal {
            csrf: domain::portal::csrf_token(&token),
            base,
            browser,
        }
    }
}
