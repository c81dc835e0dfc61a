//! Isolation by construction, checked from the route table: every route of `src/web` (pages
//! and JSON alike, read from the source so a route added later is walked too) is called with
//! workspace B's ids using each kind of credential of workspace A (a member's session, an
//! admin key, a support key, a customer portal session of A), and must answer 404: never 403,
//! never 200, never B's data. A portal session answers nothing outside A's Automation pages, and
//! the operational webhooks' pages (`/operational/…`) and API (`/operational-webhooks`) answer
//! nothing to anyone of a workspace.

use crate::support::*;
use aethenox_webhooks::domain::{self, workspace::WorkspaceId};
use aethenox_webhooks::store::{self, users::Role};
use awc::http::StatusCode;
use serde_json::json;
use std::path::Path;

/// Where a file's routes are mounted.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mount {
    /// `/w/{workspace}` pages.
    Pages,
    /// `/w/{workspace}` pages that a portal session has too, under `/p/{session}`.
    Automation,
    /// `/api/v1` and `/api/v1/workspaces/{workspace}`.
    Api,
    /// `/api/v1` only (the workspaces resource itself).
    ApiTop,
    /// The site's root (instance pages, sign-in, the inbox receiver).
    Root,
    /// `/p/{session}` only: a portal session's own (its accent); under `/w/…` nothing.
    PortalOnly,
    /// `/operational`: the instance's operational webhooks, the same Automation pages again
    /// (instance admins only; to anyone of a workspace, nothing).
    Operational,
}

fn mounts_of(file: &str, path: &str) -> &'static [Mount] {
    match file {
        "portal.rs" if path == "/accent.css" => &[Mount::PortalOnly],
        "webhooks.rs" | "deliveries.rs" | "manual.rs" | "filters.rs" => {
            &[Mount::Automation, Mount::Operational]
        }
        "inboxes.rs" => &[Mount::Automation],
        "audit.rs" => &[Mount::Pages, Mount::Operational],
        "members.rs" => &[Mount::Pages],
        "api/webhooks.rs" | "api/deliveries.rs" | "api/events.rs" | "api/audit.rs"
        | "api/portal.rs" => &[Mount::Api],
        // Mounted at the top only: under a workspace's path it must not exist either.
        "api/filters.rs" => &[Mount::Api],
        "api/workspaces.rs" | "api/mod.rs" => &[Mount::ApiTop],
        // The instance's operational webhooks: instance admin keys only (tested in
        // operational.rs); to another workspace's anything they are a 404 as well.
        "api/operational.rs" => &[Mount::ApiTop],
        // The instance's keys, and each workspace's.
        "api_keys.rs" => &[Mount::Root, Mount::Pages],
        "mod.rs" | "auth.rs" | "users.rs" | "storage.rs" | "reference.rs" | "workspaces.rs"
        | "portal.rs" => &[Mount::Root],
        other => panic!("src/web/{other} has routes: say where it is mounted in isolation.rs"),
    }
}

/// (mount, method, path) of every route written with `.route("…", web::get()…)` or
/// `resource("…", "GET, POST")`.
fn route_table() -> Vec<(Mount, String, String)> {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
    let mut out = Vec::new();
    for dir in [web.clone(), web.join("api")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path
                .strip_prefix(&web)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            // One space between words, none after an opening parenthesis: a call rustfmt
            // wraps (`.route(\n    "/path",`) reads like one on a single line.
            let flat: String = text
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace("( ", "(");
            let mut found = Vec::new();
            for piece in flat.split(".route(\"").skip(1) {
                let Some((p, rest)) = piece.split_once('"') else {
                    continue;
                };
                let method = rest.trim_start_matches([',', ' ']);
                let method = method
                    .strip_prefix("web::")
                    .and_then(|m| m.split('(').next());
                if let Some(m) = method {
                    found.push((m.to_ascii_uppercase(), p.to_owned()));
                }
            }
            for piece in flat.split("resource(\"").skip(1) {
                let Some((p, rest)) = piece.split_once('"') else {
                    continue;
                };
                let Some(methods) = rest.trim_start_matches([',', ' ']).strip_prefix('"') else {
                    continue;
                };
                let methods = methods.split('"').next().unwrap_or_default();
                found.extend(methods.split(", ").map(|m| (m.to_owned(), p.to_owned())));
            }
            // Every `.route(` of the file with a path was read (a resource's `.route(web::…)`
            // takes the resource's): a way of writing one that this parser does not know would
            // otherwise leave a route out of the walk unseen.
            assert_eq!(
                flat.matches(".route(").count() - flat.matches(".route(web::").count(),
                flat.matches(".route(\"").count(),
                "src/web/{rel}: a .route( call the route table cannot read"
            );
            for (m, p) in &found {
                for mount in mounts_of(&rel, p) {
                    out.push((*mount, m.clone(), p.clone()));
                }
            }
        }
    }
    out
}

/// Routes anyone may reach, or that are about the caller rather than a workspace.
const NOT_WORKSPACE_DATA: [&str; 10] = [
    "/healthz",
    "/login",
    "/logout",
    "/setup",
    "/api/reference",
    "/inbox/{token}",
    "/account",
    "/account/password",
    "/",
    "/openapi.json",
];

#[actix_rt::test]
async fn every_route_answers_404_to_another_workspaces_credentials() {
    let app = TestApp::delivering(|_| {}).await;
    let instance = app.api(&app.api_key());
    let mut ws = Vec::new();
    for uid in ["acct_a", "acct_b"] {
        let res = instance
            .call(
                "PUT",
                &format!("/workspaces/{uid}"),
                Some(&json!({"name": uid}).to_string()),
            )
            .await;
        ws.push(res.id());
    }
    let (a, b) = (
        WorkspaceId::from_stored(&ws[0]),
        WorkspaceId::from_stored(&ws[1]),
    );
    // B's things: a webhook, a delivery of it, a test inbox, a bulk retry.
    let hook = instance
        .post(
            "/workspaces/acct_b/webhooks",
            json!({"url": "http://127.0.0.1:9/b", "events": ["call.missed"]}),
        )
        .await
        .id();
    let event = instance
        .post(
            "/workspaces/acct_b/events",
            json!({"type": "call.missed", "data": {}}),
        )
        .await
        .id();
    let delivery = store::deliveries::for_event(&mut app.conn(), &b, &event).unwrap()[0]
        .id
        .clone();
    let inbox = domain::ids::new_id("ibx");
    store::inboxes::create(
        &mut app.conn(),
        &b,
        &inbox,
        &domain::ids::random_token::<24>(),
        "b",
        0,
    )
    .unwrap();
    let bulk = domain::ids::new_id("rty");

    // A's credentials: a member (admin of A), an admin key and a support key of A.
    let now = domain::time::now_ms();
    let hash = domain::passwords::hash(PASSWORD).unwrap();
    let user = store::users::create_member(&mut app.conn(), "a@example.com", &hash, now).unwrap();
    store::workspaces::add_member(&mut app.conn(), user.id, &a, Role::Admin, now).unwrap();
    let member = app.signed_in("a@example.com").await;
    let portal = app
        .portal(&instance, "acct_a", json!({"accent": "#1d4ed8"}))
        .await;
    let keys: Vec<Api> = [Role::Admin, Role::Support]
        .into_iter()
        .map(|role| app.workspace_api_key(&a, role))
        .collect();

    let routes = route_table();
    assert!(
        routes.len() >= 60,
        "the route table reads as {} routes",
        routes.len()
    );
    // The routes of the portal, the payload filters and the custom headers are among those
    // walked, and routes whose call rustfmt wraps over several lines too.
    for (mount, path) in [
        (Mount::Api, "/portal-links"),
        (Mount::Api, "/portal-sessions"),
        (Mount::Api, "/filter-test"),
        (Mount::Automation, "/filter-test"),
        (Mount::Root, "/portal/{token}"),
        (Mount::PortalOnly, "/accent.css"),
        (Mount::Automation, "/webhooks/{id}/settings/reveal-headers"),
        (Mount::Automation, "/webhooks/{id}/retries/{bulk}"),
        (Mount::Pages, "/settings/api-keys/{id}/revoke"),
        (Mount::Operational, "/webhooks/{id}/settings"),
        (Mount::Operational, "/settings/audit"),
        (Mount::ApiTop, "/operational-webhooks/{id}"),
        (Mount::ApiTop, "/operational-webhooks/{id}/rotate-secret"),
    ] {
        assert!(
            routes.iter().any(|(m, _, p)| *m == mount && p == path),
            "{path} ({mount:?}) is not in the route table"
        );
    }
    let fill = |p: &str, file_id: &str| {
        p.replace("{id}", file_id)
            .replace("{bulk}", &bulk)
            .replace("{token}", "x")
    };
    let id_for = |p: &str| {
        if p.starts_with("/webhooks") {
            hook.clone()
        } else if p.starts_with("/deliveries") {
            delivery.clone()
        } else if p.starts_with("/inboxes") {
            inbox.clone()
        } else if p.starts_with("/workspaces") {
            ws[1].clone()
        } else {
            "1".to_owned()
        }
    };
    let mut walked = 0;
    for (mount, method, path) in &routes {
        let id = id_for(path);
        let concrete = fill(path, &id);
        // A's portal session, whatever the route: its Automation pages with B's ids, anything
        // else at all (its own accent aside).
        let in_portal = match mount {
            Mount::Automation => path.contains('{'),
            // The same paths under the portal's base are the Automation ones above.
            Mount::PortalOnly | Mount::Operational => false,
            _ => true,
        };
        if in_portal {
            let target = concrete.replace("{workspace}", "acct_b");
            let target = match mount {
                Mount::Api | Mount::ApiTop => format!("/api/v1{target}"),
                _ => target,
            };
            let res = if method == "GET" {
                portal.get(&target).await
            } else {
                portal.post(&target, &[]).await
            };
            assert_eq!(
                res.status,
                StatusCode::NOT_FOUND,
                "A's portal: {method} {}{target} answered {}",
                portal.base,
                res.status
            );
            assert!(
                !res.body.contains(&hook) && !res.body.contains("acct_b"),
                "{target}"
            );
            walked += 1;
        }
        if NOT_WORKSPACE_DATA.contains(&path.as_str()) || path.starts_with("/static") {
            continue;
        }
        // Under B's own name, and (when the route takes an id) under A's with B's ids.
        let mut targets = Vec::new();
        match mount {
            Mount::Pages | Mount::Automation | Mount::PortalOnly => {
                targets.push(format!("/w/acct_b{concrete}"));
                if path.contains('{') {
                    targets.push(format!("/w/acct_a{concrete}"));
                }
            }
            Mount::Api => {
                targets.push(format!("/api/v1/workspaces/acct_b{concrete}"));
                targets.push(format!("/api/v1/workspaces/{}{concrete}", ws[1]));
                if path.contains('{') {
                    targets.push(format!("/api/v1/workspaces/acct_a{concrete}"));
                    targets.push(format!("/api/v1{concrete}"));
                }
            }
            Mount::ApiTop => targets.push(format!(
                "/api/v1{}",
                concrete.replace("{workspace}", "acct_b")
            )),
            Mount::Root => targets.push(concrete.replace("{workspace}", "acct_b")),
            // A's member at the operational webhooks' pages, with B's ids.
            Mount::Operational => targets.push(format!("/operational{concrete}")),
        }
        for target in targets {
            let answers = if let Some(api_path) = target.strip_prefix("/api/v1") {
                let mut all = Vec::new();
                for k in &keys {
                    let body = (method != "GET" && method != "DELETE").then_some("{}");
                    all.push(("key", k.call(method, api_path, body).await));
                }
                all
            } else if method == "GET" {
                vec![("member", member.get_exactly(&target).await)]
            } else {
                vec![("member", member.post(&target, &[]).await)]
            };
            for (who, res) in answers {
                assert_eq!(
                    res.status,
                    StatusCode::NOT_FOUND,
                    "{who} of acct_a: {method} {target} answered {}: {}",
                    res.status,
                    res.body.chars().take(300).collect::<String>()
                );
                assert!(
                    !res.body.contains(&hook) && !res.body.contains("acct_b"),
                    "{target}"
                );
            }
            walked += 1;
        }
    }
    eprintln!("isolation: {walked} requests");
    assert!(walked >= 255, "walked {walked} requests");
    // The credentials were good all along: each still reaches A's own pages.
    assert_eq!(portal.get("/webhooks").await.status, StatusCode::OK);
    assert_eq!(portal.get("/accent.css").await.status, StatusCode::OK);
    assert_eq!(
        member.get_exactly("/w/acct_a/webhooks").await.status,
        StatusCode::OK
    );
    for k in &keys {
        assert_eq!(k.get("/webhooks").await.status, StatusCode::OK);
    }
    // And B's things are all still there.
    assert!(store::webhooks::get(&mut app.conn(), &b, &hook).is_ok());
}
