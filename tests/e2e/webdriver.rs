//! A minimal W3C WebDriver client over awc, enough to drive Debian's Chromium through
//! chromedriver: no browser download, no extra dependency.

use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
pub const WAIT: Duration = Duration::from_secs(15);

/// Where chromedriver is, or None when this machine has none (see `require_chromedriver`).
pub fn chromedriver_path() -> Option<String> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .map(str::to_owned)
}

/// Set to leave the browser tests out on a machine without Chromium; without it, a missing
/// chromedriver (or axe-core) fails the tests, naming what to install, so that a run that did not
/// test the browser never reads as passed.
pub const SKIP_BROWSER_TESTS: &str = "AETHENOX_SKIP_BROWSER_TESTS";

/// chromedriver's path; None only when the skip was asked for.
pub fn require_chromedriver() -> Option<String> {
    match chromedriver_path() {
        Some(p) => Some(p),
        None if std::env::var_os(SKIP_BROWSER_TESTS).is_some() => {
            eprintln!("SKIPPED: chromedriver not found and {SKIP_BROWSER_TESTS} is set");
            None
        }
        None => panic!(
            "chromedriver not found: apt-get install chromium chromium-driver \
             (or set {SKIP_BROWSER_TESTS}=1 to leave the browser tests out)"
        ),
    }
}

pub struct Driver {
    process: Child,
    http: awc::Client,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Driver {
    pub async fn start(chromedriver: &str) -> Driver {
        Self::start_with(chromedriver, &[]).await
    }

    /// A browser started with `extra` flags too (e.g. `--host-resolver-rules=…`, so that a
    /// page of another site can be served from 127.0.0.1).
    pub async fn start_with(chromedriver: &str, extra: &[&str]) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(chromedriver);
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that Chromium goes with it even when a test panics.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let process = command.spawn().expect("start chromedriver");
        let http = awc::Client::builder()
            .timeout(Duration::from_secs(60))
            .finish();
        let base = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir().unwrap();
        let mut driver = Driver {
            process,
            http,
            base,
            session: String::new(),
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = driver
                .raw("GET", "/status", None)
                .await
                .ok()
                .and_then(|v| v["value"]["ready"].as_bool());
            if ready == Some(true) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
        let mut args = json!([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            format!("--user-data-dir={}", driver._profile.path().display()),
        ]);
        if let Some(list) = args.as_array_mut() {
            list.extend(extra.iter().map(|a| json!(a)));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}
        }}});
        let res = driver
            .raw("POST", "/session", Some(caps))
            .await
            .expect("new session");
        driver.session = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {res}"))
            .to_owned();
        driver
    }

    async fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let req = self.http.request(method, format!("{}{}", self.base, path));
        let res = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        };
        let mut res = res.map_err(|e| e.to_string())?;
        let bytes = res
            .body()
            .limit(32 * 1024 * 1024)
            .await
            .map_err(|e| e.to_string())?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        if res.status().is_success() {
            Ok(value)
        } else {
            Err(value["value"]["message"].to_string())
        }
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        self.raw(method, &format!("/session/{}{}", self.session, path), body)
            .await
            .map(|v| v["value"].clone())
    }

    pub async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })))
            .await
            .expect("navigate");
    }

    pub async fn current_url(&self) -> String {
        self.cmd("GET", "/url", None)
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn source(&self) -> String {
        self.cmd("GET", "/source", None)
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn try_find(&self, css: &str) -> Option<String> {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await
            .ok()?;
        v[ELEMENT_KEY].as_str().map(str::to_owned)
    }

    /// Waits (up to `WAIT`) for an element matching `css` and returns its id.
    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(id) = self.try_find(css).await {
                return id;
            }
            assert!(
                Instant::now() < deadline,
                "no element matches {css} on {}:\n{}",
                self.current_url().await,
                self.source().await
            );
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})))
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await
        .expect("type");
    }

    pub async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.cmd("GET", &format!("/element/{id}/text"), None)
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn property(&self, css: &str, name: &str) -> Value {
        let id = self.find(css).await;
        self.cmd("GET", &format!("/element/{id}/property/{name}"), None)
            .await
            .unwrap()
    }

    /// The text of `css` now, or None if it is missing or went stale under a navigation.
    async fn try_text(&self, css: &str) -> Option<String> {
        let id = self.try_find(css).await?;
        let v = self
            .cmd("GET", &format!("/element/{id}/text"), None)
            .await
            .ok()?;
        v.as_str().map(str::to_owned)
    }

    /// Waits (up to `WAIT`) until `check` holds for the text of `css`.
    pub async fn wait_for_text(&self, css: &str, check: impl Fn(&str) -> bool) -> String {
        let what = format!("the expected text in {css}");
        poll(
            &what,
            async || self.try_text(css).await,
            |text| text.as_deref().is_some_and(&check),
        )
        .await
        .unwrap_or_default()
    }

    pub async fn wait_for_url(&self, check: impl Fn(&str) -> bool) -> String {
        poll(
            "the expected URL",
            async || self.current_url().await,
            |url| check(url),
        )
        .await
    }

    /// Waits for the path of the page the commands act on (a frame's own, inside a frame).
    pub async fn wait_for_path(&self, check: impl Fn(&str) -> bool) -> String {
        let path = self
            .wait_until("the expected path", "return location.pathname;", |v| {
                v.as_str().is_some_and(&check)
            })
            .await;
        path.as_str().unwrap_or_default().to_owned()
    }

    /// Waits (up to `WAIT`) until `script` (a function body) returns a value `check` accepts,
    /// and returns it; `what` names the wait in the failure.
    pub async fn wait_until(
        &self,
        what: &str,
        script: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let body = json!({ "script": script, "args": [] });
        let run = async || {
            let result = self.cmd("POST", "/execute/sync", Some(body.clone())).await;
            result.unwrap_or(Value::Null)
        };
        poll(what, run, check).await
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its
    /// result; a script may return a promise, which is awaited.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    /// Presses keys on whatever has the focus (WebDriver key codes, e.g. "\u{E004}" for Tab).
    pub async fn press(&self, keys: &str) {
        let mut actions = Vec::new();
        for k in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": k.to_string()}));
            actions.push(json!({"type": "keyUp", "value": k.to_string()}));
        }
        self.cmd(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )
        .await
        .unwrap_or_else(|e| panic!("keys failed: {e}"));
    }

    /// The id of the element that has the focus ("" for none or one without an id).
    pub async fn focused(&self) -> String {
        self.execute(
            "return document.activeElement ? document.activeElement.id : '';",
            json!([]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// A Chrome DevTools command, through chromedriver.
    pub async fn devtools(&self, cmd: &str, params: Value) -> Value {
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
        )
        .await
        .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    /// Lays pages out as a screen `width` × `height` CSS pixels would (a phone is `mobile`).
    pub async fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.devtools(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
    }

    /// Emulates the system's colour scheme (`light` or `dark`).
    pub async fn color_scheme(&self, scheme: &str) {
        self.devtools(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        )
        .await;
    }

    /// Goes into the frame `css` finds: later commands act on the framed page.
    pub async fn enter_frame(&self, css: &str) {
        let id = self.find(css).await;
        self.cmd("POST", "/frame", Some(json!({"id": {ELEMENT_KEY: id}})))
            .await
            .unwrap_or_else(|e| panic!("enter frame {css}: {e}"));
    }

    /// Back to the top-level page.
    pub async fn leave_frames(&self) {
        self.cmd("POST", "/frame", Some(json!({"id": null})))
            .await
            .expect("leave frames");
    }

    /// Saves a PNG of the page to $E2E_SCREENSHOTS/NAME.png when that variable is set.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("E2E_SCREENSHOTS") else {
            return;
        };
        use base64::Engine;
        let data = self
            .cmd("GET", "/screenshot", None)
            .await
            .expect("screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }

    /// Ends the session; dropping the driver then stops chromedriver and the browser.
    pub async fn quit(self) {
        let _ = self
            .raw("DELETE", &format!("/session/{}", self.session), None)
            .await;
    }

    /// The browser's profile folder, which names its processes.
    pub fn profile(&self) -> String {
        self._profile.path().display().to_string()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the browser it started.
        let group = format!("-{}", self.process.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Reads with `read` every 50 ms until `check` holds for what it returns, for up to `WAIT`, and
/// returns that; fails naming `what` and the last value read.
async fn poll<T: std::fmt::Debug>(
    what: &str,
    mut read: impl AsyncFnMut() -> T,
    check: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        let value = read().await;
        if check(&value) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last: {value:?}"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}
