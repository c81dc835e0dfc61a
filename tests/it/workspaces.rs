//! Workspaces: the platform's upsert and the API around it, event ids per workspace, the
//! `X-Aethenox-Workspace` header, the first release's page paths, the command line, and the
//! isolation every route keeps (walked from the route table in `src/web`).

use crate::receiver::Receiver;
use crate::support::*;
use aethenox_webhooks::domain::{self, workspace::WorkspaceId};
use aethenox_webhooks::store::{self, users::Role};
use awc::http::StatusCode;
use serde_json::json;

/// A workspace made through the API: (id, uid).
async fn workspace(api: &Api, uid: &str) -> String {
    let res = api
        .call(
            "PUT",
            &format!("/workspaces/{uid}"),
            Some(&json!({"name": uid}).to_string()),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    res.id()
}

/// A user who is a member of one workspace only.
fn member(app: &TestApp, email: &str, ws: &str, role: Role) {
    let hash = domain::passwords::hash(PASSWORD).unwrap();
    let now = domain::time::now_ms();
    let user = store::users::create_member(&mut app.conn(), email, &hash, now).unwrap();
    store::workspaces::add_member(
        &mut app.conn(),
        user.id,
        &WorkspaceId::from_stored(ws),
        role,
        now,
    )
    .unwrap();
}

#[actix_rt::test]
async fn the_platform_makes_one_workspace_per_account_and_bad_input_changes_nothing() {
    let app = TestApp::spawn().await;
    let api = app.api(&app.api_key());
    let put = |name: &str| json!({"name": name}).to_string();
    let made = api
        .call("PUT", "/workspaces/acct_42", Some(&put("Acme")))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let ws = made.json();
    assert_eq!(ws["uid"], "acct_42");
    assert!(ws["id"].as_str().unwrap().starts_with("ws_"));
    assert_eq!(ws["webhooks"], 0);
    let again = api
        .call("PUT", "/workspaces/acct_42", Some(&put("Acme Corp")))
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["id"], ws["id"]);
    assert_eq!(again.json()["name"], "Acme Corp");
    // By id or uid alike.
    let by_id = api
        .get(&format!("/workspaces/{}", ws["id"].as_str().unwrap()))
        .await;
    assert_eq!(by_id.json()["uid"], "acct_42");

    for (method, path, body, status, field) in [
        ("PUT", "/workspaces/a%20b", put("x"), 422, "uid"),
        ("PUT", "/workspaces/ws_x", put("x"), 404, ""),
        ("PUT", "/workspaces/acct_43", put(""), 422, "name"),
        (
            "PUT",
            "/workspaces/acct_43",
            put(&"n".repeat(201)),
            422,
            "name",
        ),
        (
            "POST",
            "/workspaces",
            json!({"name": "Dup", "uid": "acct_42"}).to_string(),
            409,
            "",
        ),
        (
            "POST",
            "/workspaces",
            json!({"name": "x", "uid": ""}).to_string(),
            422,
            "uid",
        ),
        ("DELETE", "/workspaces/default", String::new(), 409, ""),
        (
            "PATCH",
            "/workspaces/default",
            json!({"uid": "other"}).to_string(),
            409,
            "",
        ),
        (
            "PATCH",
            "/workspaces/acct_42",
            json!({"name": " "}).to_string(),
            422,
            "name",
        ),
    ] {
        let body = (!body.is_empty()).then_some(body.as_str());
        let res = api.call(method, path, body).await;
        assert_eq!(res.status.as_u16(), status, "{method} {path}: {}", res.body);
        assert_eq!(res.error_field(), field, "{method} {path}: {}", res.body);
    }
    let list = api.get("/workspaces?q=ACME").await.json();
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["data"][0]["name"], "Acme Corp");
    let all = api.get("/workspaces").await.json();
    assert_eq!(
        all["data"].as_array().unwrap().len(),
        2,
        "default and acct_42: {all}"
    );

    // Deleting takes everything in it.
    let hooked = api
        .post(
            "/workspaces/acct_42/webhooks",
            json!({"url": PUBLIC_URL, "events": ["call.missed"]}),
        )
        .await;
    assert_eq!(hooked.status, StatusCode::CREATED, "{}", hooked.body);
    assert_eq!(api.get("/workspaces/acct_42").await.json()["webhooks"], 1);
    assert_eq!(
        api.call("DELETE", "/workspaces/acct_42", None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.get("/workspaces/acct_42").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.webhook_count(), 0, "the default workspace had none");
}

#[actix_rt::test]
async fn event_ids_are_per_workspace_and_every_delivery_names_its_workspace() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = Receiver::start().await;
    let api = app.api(&app.api_key());
    workspace(&api, "acct_a").await;
    for path in ["/webhooks", "/workspaces/acct_a/webhooks"] {
        let res = api
            .post(
                path,
                json!({"url": rx.url("/in"), "events": ["message.sent"]}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    }
    let event = json!({"type": "message.sent", "data": {"n": 1}, "id": "evt_same"});
    for path in [
        "/events",
        "/workspaces/acct_a/events",
        "/workspaces/acct_a/events",
    ] {
        let res = api.post(path, event.clone()).await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
        assert_eq!(res.json()["deliveries"], 1, "{path}: one webhook each");
    }
    wait_for(10, "both deliveries", || rx.count() == 2).await;
    let mut named: Vec<String> = rx
        .got()
        .iter()
        .map(|r| r.header("x-aethenox-workspace").to_owned())
        .collect();
    named.sort();
    assert_eq!(named, ["acct_a", "default"]);
    assert!(
        rx.got()
            .iter()
            .all(|r| r.header("webhook-id") == "evt_same")
    );
    // Support staff start from the id in a ticket: found in every workspace, with links there.
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let found = admin.get_exactly("/workspaces/search?id=evt_same").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(
        found.body.contains("/w/default/deliveries/dlv_"),
        "{}",
        found.body
    );
    assert!(found.body.contains("/w/acct_a/deliveries/dlv_"));
    let none = admin.get_exactly("/workspaces/search?id=evt_nowhere").await;
    assert!(none.body.contains("id=\"nothing-found\""));
    let odd = admin
        .get_exactly("/workspaces/search?id=%3Cscript%3E")
        .await;
    assert_eq!(odd.status, StatusCode::OK);
    assert!(!odd.body.contains("<script>"));
    // Each workspace's Delivery Log holds its own delivery of the event, and only that.
    for path in ["/deliveries", "/workspaces/acct_a/deliveries"] {
        let log = api.get(&format!("{path}?search=evt_same")).await.json();
        assert_eq!(log["data"].as_array().unwrap().len(), 1, "{path}: {log}");
    }
}

#[actix_rt::test]
async fn the_first_releases_page_paths_lead_to_the_current_workspace() {
    let app = TestApp::spawn().await;
    let api = app.api(&app.api_key());
    let ws = workspace(&api, "acct_a").await;
    member(&app, "member@example.com", &ws, Role::Admin);
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let res = admin.get_exactly("/webhooks?notice=created").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.header("location"), "/w/default/webhooks?notice=created");
    // The instance user visits acct_a: that is where the old paths lead from then on.
    assert_eq!(
        admin.get_exactly("/w/acct_a/webhooks").await.status,
        StatusCode::OK
    );
    let res = admin.get_exactly("/deliveries").await;
    assert_eq!(res.header("location"), "/w/acct_a/deliveries");

    let m = app.signed_in("member@example.com").await;
    let res = m.get_exactly("/").await;
    assert_eq!(res.header("location"), "/w/acct_a/webhooks");
    let res = m.post_raw("/inboxes", &[], &[]).await;
    assert_eq!(
        res.status,
        StatusCode::FORBIDDEN,
        "the CSRF check comes first"
    );
    let page = m.get_exactly("/w/acct_a/webhooks").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("acct_a"),
        "the workspace is named on its pages"
    );
    assert!(
        !page.body.contains("workspace-switcher"),
        "members get no switcher"
    );
    for own_only in [
        "/w/default/webhooks",
        "/workspaces",
        "/settings/users",
        "/settings/api-keys",
    ] {
        assert_eq!(
            m.get_exactly(own_only).await.status,
            StatusCode::NOT_FOUND,
            "{own_only}"
        );
    }
    let page = admin.get_exactly("/workspaces?q=acct").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("/w/acct_a/webhooks") && !page.body.contains("/w/default/webhooks\"")
    );
}

#[actix_rt::test]
async fn workspaces_are_made_renamed_and_deleted_on_the_workspaces_page() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let res = admin
        .post("/workspaces", &[("name", "Acme"), ("uid", "bad uid")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("id=\"uid-error\"") && res.body.contains("value=\"Acme\""));
    let res = admin
        .post("/workspaces", &[("name", "Acme"), ("uid", "acct_9")])
        .await;
    assert_eq!(res.header("location"), "/w/acct_9/webhooks");
    let res = admin
        .post(
            "/workspaces/rename",
            &[("workspace", "acct_9"), ("name", "Acme 2")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let ws = store::workspaces::find(&mut app.conn(), "acct_9")
        .unwrap()
        .unwrap();
    assert_eq!(ws.name, "Acme 2");
    let wrong = admin
        .post(
            &format!("/workspaces/{}/delete", ws.id),
            &[("confirm_name", "Acme")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        store::workspaces::find(&mut app.conn(), "acct_9")
            .unwrap()
            .is_some()
    );
    let done = admin
        .post(
            &format!("/workspaces/{}/delete", ws.id),
            &[("confirm_name", "Acme 2")],
        )
        .await;
    assert_eq!(done.header("location"), "/workspaces?notice=deleted");
    assert!(
        store::workspaces::find(&mut app.conn(), "acct_9")
            .unwrap()
            .is_none()
    );
    let default = store::workspaces::find(&mut app.conn(), "default")
        .unwrap()
        .unwrap();
    let res = admin
        .post(
            &format!("/workspaces/{}/delete", default.id),
            &[("confirm_name", "Default")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
}

#[actix_rt::test]
async fn the_command_line_makes_workspaces_members_and_workspace_keys() {
    let app = TestApp::spawn().await;
    let dir = app.dir.path().to_str().unwrap().to_owned();
    let url = app.database_url();
    let mut flags = vec!["--data-dir", dir.as_str()];
    if let Some(u) = &url {
        flags.extend(["--database-url", u.as_str()]);
    }
    let run = |args: &[&str], stdin: &str| {
        let all: Vec<&str> = args.iter().copied().chain(flags.iter().copied()).collect();
        run_binary(None, &[], &all, stdin)
    };
    let out = run(
        &["workspaces", "add", "--name", "Acme", "--uid", "acct_cli"],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(domain::ids::is_id("ws", &id), "{id}");
    let dup = run(
        &["workspaces", "add", "--name", "Again", "--uid", "acct_cli"],
        "",
    );
    assert_eq!(dup.status.code(), Some(2), "a duplicate uid is refused");
    let bad = run(&["workspaces", "add", "--name", "", "--uid", "x"], "");
    assert_eq!(bad.status.code(), Some(2));
    let list = String::from_utf8(run(&["workspaces", "list"], "").stdout).unwrap();
    assert!(list.contains(&format!("{id}\tacct_cli\tAcme")), "{list}");
    assert!(list.contains("default\tDefault"), "{list}");

    let key = run(
        &[
            "api-keys",
            "create",
            "--name",
            "acme",
            "--workspace",
            "acct_cli",
        ],
        "",
    );
    assert!(key.status.success());
    let key = String::from_utf8(key.stdout).unwrap().trim().to_owned();
    let api = app.api(&key);
    assert_eq!(api.get("/webhooks").await.status, StatusCode::OK);
    assert_eq!(
        api.get("/workspaces/acct_cli/webhooks").await.status,
        StatusCode::OK
    );
    assert_eq!(
        api.get("/workspaces/default/webhooks").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(api.get("/workspaces").await.status, StatusCode::NOT_FOUND);
    let nowhere = run(
        &["api-keys", "create", "--name", "x", "--workspace", "nope"],
        "",
    );
    assert_eq!(nowhere.status.code(), Some(2));

    let added = run(
        &[
            "users",
            "add",
            "--email",
            "m@example.com",
            "--role",
            "support",
            "--password-stdin",
            "--workspace",
            &id,
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let m = app.signed_in("m@example.com").await;
    assert_eq!(
        m.get_exactly("/w/acct_cli/webhooks").await.status,
        StatusCode::OK
    );
    assert_eq!(
        m.get_exactly("/w/default/webhooks").await.status,
        StatusCode::NOT_FOUND
    );
}

#[actix_rt::test]
async fn a_workspaces_admins_make_and_revoke_its_own_keys() {
    let app = TestApp::spawn().await;
    let api = app.api(&app.api_key());
    let ws = workspace(&api, "acct_keys").await;
    member(&app, "keys@example.com", &ws, Role::Admin);
    let m = app.signed_in("keys@example.com").await;
    let page = m.get_exactly("/w/acct_keys/settings/api-keys").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("reach this\nworkspace only") || page.body.contains("workspace only")
    );
    let made = m
        .post(
            "/w/acct_keys/settings/api-keys",
            &[("name", "acme publisher"), ("role", "admin")],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let start = made
        .body
        .find("id=\"new-api-key\"")
        .expect("the new key is shown once");
    let key: String = made.body[start..]
        .split('>')
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let theirs = app.api(&key);
    assert_eq!(theirs.get("/webhooks").await.status, StatusCode::OK);
    assert_eq!(
        theirs.get("/workspaces/default/webhooks").await.status,
        StatusCode::NOT_FOUND
    );
    // The instance's keys are not theirs to see: only the one just made is listed.
    let listed = m.get_exactly("/w/acct_keys/settings/api-keys").await;
    assert!(listed.body.contains("acme publisher") && !listed.body.contains(">tests<"));
    let id = store::api_keys::list_active(
        &mut app.conn(),
        store::api_keys::Owner::Workspace(&WorkspaceId::from_stored(&ws)),
    )
    .unwrap()[0]
        .id;
    let gone = m
        .post(&format!("/w/acct_keys/settings/api-keys/{id}/revoke"), &[])
        .await;
    assert_eq!(
        gone.header("location"),
        "/w/acct_keys/settings/api-keys?notice=revoked"
    );
    assert_eq!(
        theirs.get("/webhooks").await.status,
        StatusCode::UNAUTHORIZED
    );
    // The workspace's audit log says so.
    let audit = api
        .get("/workspaces/acct_keys/audit?action=api_key_revoked")
        .await
        .json();
    assert_eq!(audit["data"].as_array().unwrap().len(), 1, "{audit}");
}

#[actix_rt::test]
async fn a_workspaces_admins_add_members_give_them_a_role_and_remove_them() {
    let app = TestApp::spawn().await;
    let api = app.api(&app.api_key());
    let a = workspace(&api, "acct_m1").await;
    workspace(&api, "acct_m2").await;
    member(&app, "owner@example.com", &a, Role::Admin);
    let owner = app.signed_in("owner@example.com").await;
    let add = |email: &'static str, password: &'static str| {
        let owner = &owner;
        async move {
            owner
                .post(
                    "/w/acct_m1/settings/users",
                    &[
                        ("email", email),
                        ("role", "support"),
                        ("password", password),
                    ],
                )
                .await
        }
    };
    let weak = add("new@example.com", "short").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("id=\"password-error\""), "{}", weak.body);
    assert!(
        weak.body.contains("value=\"new@example.com\""),
        "what was typed stays"
    );
    let instance = add(ADMIN_EMAIL, "").await;
    assert!(instance.body.contains("instance user"), "{}", instance.body);
    let made = add("new@example.com", PASSWORD).await;
    assert_eq!(
        made.header("location"),
        "/w/acct_m1/settings/users?done=added"
    );
    let new = app.signed_in("new@example.com").await;
    assert_eq!(
        new.get_exactly("/w/acct_m1/webhooks").await.status,
        StatusCode::OK
    );
    assert_eq!(
        new.get_exactly("/w/acct_m2/webhooks").await.status,
        StatusCode::NOT_FOUND
    );
    // Support in acct_m1: reads, changes nothing.
    let res = new.post("/w/acct_m1/inboxes", &[("name", "x")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // A member of acct_m1 joins acct_m2 by e-mail alone (an instance admin adds them there).
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let joined = admin
        .post(
            "/w/acct_m2/settings/users",
            &[
                ("email", "new@example.com"),
                ("role", "admin"),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    assert_eq!(
        new.get_exactly("/w/acct_m2/webhooks").await.status,
        StatusCode::OK
    );
    // Roles: the last admin stays; others change and go.
    let users = |ws: &str| {
        store::workspaces::members(&mut app.conn(), &WorkspaceId::from_stored(ws)).unwrap()
    };
    let owner_id = users(&a)
        .iter()
        .find(|m| m.0.email == "owner@example.com")
        .unwrap()
        .0
        .id;
    let new_id = users(&a)
        .iter()
        .find(|m| m.0.email == "new@example.com")
        .unwrap()
        .0
        .id;
    let last = owner
        .post(
            &format!("/w/acct_m1/settings/users/{owner_id}"),
            &[("action", "role"), ("role", "support")],
        )
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT);
    let promoted = owner
        .post(
            &format!("/w/acct_m1/settings/users/{new_id}"),
            &[("action", "role"), ("role", "admin")],
        )
        .await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        new.post("/w/acct_m1/inboxes", &[("name", "x")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let removed = owner
        .post(
            &format!("/w/acct_m1/settings/users/{new_id}"),
            &[("action", "remove")],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        new.get_exactly("/w/acct_m1/webhooks").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        new.get_exactly("/w/acct_m2/webhooks").await.status,
        StatusCode::OK
    );
    let audit = api
        .get("/workspaces/acct_m1/audit?action=member_removed")
        .await
        .json();
    assert_eq!(audit["data"].as_array().unwrap().len(), 1, "{audit}");
}

#[actix_rt::test]
async fn the_workspaces_page_lists_the_failing_ones_first() {
    let app = TestApp::spawn().await;
    let api = app.api(&app.api_key());
    for uid in ["acct_fine_1", "acct_failing", "acct_fine_2"] {
        workspace(&api, uid).await;
    }
    let hook = api
        .post(
            "/workspaces/acct_failing/webhooks",
            json!({"url": PUBLIC_URL, "events": ["call.missed"], "enabled": false}),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let page = admin.get_exactly("/workspaces").await.body;
    let at = |uid: &str| page.find(&format!("/w/{uid}/webhooks")).unwrap();
    assert!(at("acct_failing") < at("default") && at("acct_failing") < at("acct_fine_1"));
    assert!(
        at("acct_fine_1") < at("acct_fine_2"),
        "the rest in the order they were made"
    );
    // The switcher's search narrows by name or uid, any case.
    let found = admin.get_exactly("/workspaces?q=FINE_2").await.body;
    assert!(
        found.contains("/w/acct_fine_2/webhooks") && !found.contains("/w/acct_fine_1/webhooks")
    );
    assert_eq!(
        api.get("/workspaces/acct_failing").await.json()["failing_webhooks"],
        1
    );
}
