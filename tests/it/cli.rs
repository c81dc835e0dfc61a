use crate::support::*;
use aethenox_webhooks::domain::signing;
use awc::http::StatusCode;
use std::process::Output;

fn run_cli(args: &[&str], stdin: &str) -> Output {
    run_cli_with(args, stdin, None)
}

/// The command run on `app`'s database (its data directory is in `args`; its PostgreSQL
/// database, when the suite runs on PostgreSQL, in the environment as a self-hoster sets it).
fn run_cli_on(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    run_cli_with(args, stdin, app.database_url())
}

fn run_cli_with(args: &[&str], stdin: &str, database_url: Option<String>) -> Output {
    let env: Vec<(&str, &str)> = database_url
        .as_deref()
        .map(|url| ("AETHENOX_DATABASE_URL", url))
        .into_iter()
        .collect();
    run_binary(None, &env, args, stdin)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[actix_rt::test]
async fn api_keys_create_prints_a_working_key_alone() {
    let app = TestApp::spawn().await;
    let dir = app.dir.path().to_str().unwrap();
    let out = run_cli_on(
        &app,
        &[
            "api-keys",
            "create",
            "--name",
            "voice service",
            "--data-dir",
            dir,
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let key = stdout.trim();
    assert!(key.starts_with("aex_"));
    assert_eq!(app.api(key).get("/webhooks").await.status, StatusCode::OK);

    let out = run_cli_on(
        &app,
        &["api-keys", "create", "--name", "", "--data-dir", dir],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--name"));
}

#[actix_rt::test]
async fn users_add_takes_the_password_from_stdin() {
    let app = TestApp::spawn().await;
    let dir = app.dir.path().to_str().unwrap();
    let args = [
        "users",
        "add",
        "--email",
        "ops@example.com",
        "--role",
        "support",
        "--password-stdin",
        "--data-dir",
        dir,
    ];
    let out = run_cli_on(&app, &args, "a long enough password\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let b = app.client();
    assert_eq!(
        b.login("ops@example.com", "a long enough password")
            .await
            .status,
        StatusCode::SEE_OTHER
    );

    let again = run_cli_on(&app, &args, "a long enough password\n");
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("already exists"));

    let short = run_cli_on(
        &app,
        &[
            "users",
            "add",
            "--email",
            "x@example.com",
            "--role",
            "admin",
            "--password-stdin",
            "--data-dir",
            dir,
        ],
        "short\n",
    );
    assert_eq!(short.status.code(), Some(2));
    let bad_role = run_cli_on(
        &app,
        &[
            "users",
            "add",
            "--email",
            "x@example.com",
            "--role",
            "root",
            "--password-stdin",
            "--data-dir",
            dir,
        ],
        "long enough password\n",
    );
    assert_eq!(bad_role.status.code(), Some(2));
    assert!(text(&bad_role.stderr).contains("--role"));
}

#[test]
fn bad_flags_get_one_line_naming_the_flag_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    for (args, flag) in [
        (
            vec!["--request-timeout", "soon", "--data-dir", data],
            "--request-timeout",
        ),
        (
            vec!["--request-timeout", "0s", "--data-dir", data],
            "--request-timeout",
        ),
        (
            vec!["--retry-schedule", "5s,later", "--data-dir", data],
            "--retry-schedule",
        ),
        (
            vec!["serve", "--bind", "not-an-address", "--data-dir", data],
            "--bind",
        ),
        (vec!["--no-such-flag", "--data-dir", data], "--no-such-flag"),
    ] {
        let out = run_cli(&args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
        assert!(
            !std::path::Path::new(data).exists(),
            "{args:?} wrote {data}"
        );
    }
}

#[test]
fn verify_checks_a_signature_against_a_body() {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    std::fs::write(&body, br#"{"id":"evt_1","type":"message.sent"}"#).unwrap();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let sig = signing::aethenox_signature(secret, br#"{"id":"evt_1","type":"message.sent"}"#);
    let path = body.to_str().unwrap();
    let ok = run_cli(
        &["verify", "--secret", secret, "--signature", &sig, path],
        "",
    );
    assert_eq!(ok.status.code(), Some(0));
    let from_stdin = run_cli(
        &["verify", "--secret", secret, "--signature", &sig],
        r#"{"id":"evt_1","type":"message.sent"}"#,
    );
    assert_eq!(from_stdin.status.code(), Some(0));
    let tampered = run_cli(
        &["verify", "--secret", secret, "--signature", &sig],
        r#"{"id":"evt_2","type":"message.sent"}"#,
    );
    assert_eq!(tampered.status.code(), Some(1));
    let wrong_secret = run_cli(
        &[
            "verify",
            "--secret",
            "whsec_other",
            "--signature",
            &sig,
            path,
        ],
        "",
    );
    assert_eq!(wrong_secret.status.code(), Some(1));
}

#[actix_rt::test]
async fn the_binary_runs_from_an_empty_folder_and_logs_a_one_time_setup_link() {
    let dir = tempfile::tempdir().unwrap();
    let (served, link) = Served::start(dir.path(), &[]);
    assert!(link.contains("/setup?token="), "{link}");
    assert!(
        dir.path().join("data/aethenox.db").exists(),
        "the default database is ./data/aethenox.db"
    );
    let client = awc::Client::default();
    let health = client
        .get(format!("{}/healthz", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let setup = client.get(&link).send().await.unwrap();
    assert_eq!(setup.status(), StatusCode::OK);
    let js = client
        .get(format!("{}/static/htmx.min.js", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), StatusCode::OK);
}

#[actix_rt::test]
async fn portal_link_prints_a_link_that_opens_the_workspaces_portal_once() {
    let app = TestApp::spawn().await;
    let dir = app.dir.path().to_str().unwrap();
    let base = app.base.clone();
    let args = |extra: &[&'static str]| {
        let mut all = vec!["portal-link", "--workspace", "default", "--data-dir", dir];
        all.extend_from_slice(extra);
        all
    };
    let out = run_cli_on(
        &app,
        &[
            args(&["--user", "ops@aethenox.test"]),
            vec!["--public-url", &base],
        ]
        .concat(),
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let url = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let path = url
        .strip_prefix(&format!("{base}/portal/"))
        .unwrap_or_else(|| panic!("{url}"));
    assert!(text(&out.stderr).contains("within 5 minutes"));
    let browser = app.client();
    let res = browser.get_exactly(&format!("/portal/{path}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        browser.get_exactly(res.header("location")).await.status,
        StatusCode::OK
    );
    let res = app.client().get_exactly(&format!("/portal/{path}")).await;
    assert_eq!(res.status, StatusCode::GONE);

    // Bad input: exit 2, one line naming the flag, nothing stored.
    for (extra, flag) in [
        (vec!["--accent", "#ffffff"], "--accent"),
        (vec!["--expires-in", "60"], "--expires-in"),
        (
            vec!["--public-url", "https://hooks.example.com/path"],
            "public URL",
        ),
    ] {
        let mut all = args(&extra);
        if flag != "public URL" {
            all.extend(["--public-url", "https://hooks.example.com"]);
        }
        let out = run_cli_on(&app, &all, "");
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(
            text(&out.stderr).contains(flag),
            "{extra:?}: {}",
            text(&out.stderr)
        );
    }
    let out = run_cli_with(&args(&[]), "", app.database_url());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--public-url"));
    let out = run_cli_on(
        &app,
        &[
            "portal-link",
            "--workspace",
            "nope",
            "--public-url",
            "https://h.test",
            "--data-dir",
            dir,
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--workspace"));
}

#[test]
fn serve_refuses_frame_ancestors_that_are_not_origins_and_a_public_url_with_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    for (flag, value, words) in [
        (
            "--portal-frame-ancestors",
            "https://app.example.com/dashboard",
            "not an origin",
        ),
        (
            "--portal-frame-ancestors",
            "https://*.example.com",
            "not an origin",
        ),
        ("--public-url", "hooks.example.com", "not a public URL"),
    ] {
        let out = run_binary(None, &[], &["--data-dir", data, flag, value], "");
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = text(&out.stderr);
        assert!(
            err.contains(flag) && err.contains(words),
            "{flag} {value}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
