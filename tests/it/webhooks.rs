use crate::support::*;
use aethenox_webhooks::{domain, store};
use awc::http::StatusCode;

#[actix_rt::test]
async fn empty_list_points_to_create_webhook() {
    let app = TestApp::spawn().await;
    let b = app.signed_in(ADMIN_EMAIL).await;
    let page = b.get("/webhooks").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No webhooks yet"));
    assert!(page.body.contains("href=\"/w/default/webhooks/new\""));
    assert!(page.body.contains(">Automation<"));
    let form = b.get("/webhooks/new").await;
    assert!(form.body.contains("Endpoint URL"));
    for e in domain::events::CATALOGUE {
        assert!(
            form.body.contains(&format!("value=\"{}\"", e.name)),
            "{}",
            e.name
        );
        assert!(form.body.contains(e.description), "{}", e.description);
    }
    assert!(form.body.contains("data-select-all=\"events\""));
}

#[actix_rt::test]
async fn create_shows_the_webhook_with_a_masked_secret() {
    let app = TestApp::spawn().await;
    let b = app.signed_in(ADMIN_EMAIL).await;
    let res = b
        .post(
            "/webhooks",
            &[
                ("url", PUBLIC_URL),
                ("description", "CRM sync"),
                ("events", "message.received"),
                ("events", "call.missed"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let id = res.location_webhook_id();
    assert!(domain::ids::is_id("wh", &id), "{id}");

    let page = b.get(res.header("location")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(PUBLIC_URL));
    assert!(page.body.contains("CRM sync"));
    assert!(page.body.contains("<code>message.received</code>"));
    assert!(page.body.contains("<code>call.missed</code>"));
    assert!(!page.body.contains("<code>message.sent</code>"));
    assert!(page.body.contains("Enabled"));
    assert!(page.body.contains("Delivery Log"));
    let secret = app.secret(&id);
    assert!(secret.starts_with("whsec_"));
    assert!(page.body.contains(&domain::secrets::masked()));
    assert!(
        !page.body.contains(&secret),
        "the secret is masked until revealed"
    );

    // Revealing through htmx swaps in the secret, marked not to be cached.
    let revealed = b
        .post_raw(
            &format!("/webhooks/{id}/secret"),
            &[],
            &[("HX-Request", "true"), ("X-CSRF-Token", &b.csrf().await)],
        )
        .await;
    assert_eq!(revealed.status, StatusCode::OK);
    assert!(revealed.body.contains(&secret));
    assert!(!revealed.body.contains("<html"), "a partial, not a page");
    assert_eq!(revealed.header("cache-control"), "no-store");

    let list = b.get("/webhooks").await;
    assert!(list.body.contains(PUBLIC_URL));
    assert!(list.body.contains("CRM sync"));
    assert!(list.body.contains("call.missed"));

    let log = b.get(&format!("/webhooks/{id}/deliveries")).await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(log.body.contains("No deliveries yet."));
}

#[actix_rt::test]
async fn invalid_input_is_shown_next_to_each_field_keeps_what_was_typed_and_saves_nothing() {
    let app = TestApp::spawn().await;
    let b = app.signed_in(ADMIN_EMAIL).await;
    let cases: [(&str, &str, &[&str], &str, &str); 9] = [
        (
            "http://example.com/hook",
            "d",
            &["message.sent"],
            "url-error",
            "The URL must start with https://.",
        ),
        (
            "https://127.0.0.1/hook",
            "d",
            &["message.sent"],
            "url-error",
            "only public addresses are allowed",
        ),
        (
            "https://2130706433/",
            "d",
            &["message.sent"],
            "url-error",
            "only public addresses are allowed",
        ),
        (
            "https://169.254.169.254/latest",
            "d",
            &["message.sent"],
            "url-error",
            "only public addresses",
        ),
        (
            "https://localhost./",
            "d",
            &["message.sent"],
            "url-error",
            "local or internal name",
        ),
        (
            "https://example.com@127.0.0.1/",
            "d",
            &["message.sent"],
            "url-error",
            "user name or password",
        ),
        (
            PUBLIC_URL,
            "d",
            &[],
            "events-error",
            "Choose at least one event.",
        ),
        (
            PUBLIC_URL,
            "d",
            &["message.sent", "user.deleted"],
            "events-error",
            "Unknown event type: user.deleted",
        ),
        (
            PUBLIC_URL,
            &"x".repeat(501),
            &["message.sent"],
            "description-error",
            "under 500 characters",
        ),
    ];
    for (url, description, events, error_id, message) in cases {
        let mut fields = vec![("url", url), ("description", description)];
        fields.extend(events.iter().map(|e| ("events", *e)));
        let res = b.post("/webhooks", &fields).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert!(
            res.body.contains(&format!("id=\"{error_id}\"")),
            "{url}: no {error_id}"
        );
        assert!(res.body.contains(message), "{url}: {message}");
        assert!(res.body.contains("Nothing was saved"));
        let shown_url = url.replace('&', "&#38;");
        assert!(
            res.body.contains(&format!("value=\"{shown_url}\"")),
            "{url} not kept"
        );
        for e in events.iter().filter(|e| domain::events::is_known(e)) {
            assert!(
                res.body.contains(&format!("value=\"{e}\" checked")),
                "{e} not kept ticked"
            );
        }
    }
    assert_eq!(app.webhook_count(), 0);
}

#[actix_rt::test]
async fn a_host_that_does_not_resolve_is_refused_at_save_time() {
    let app = TestApp::spawn().await;
    let b = app.signed_in(ADMIN_EMAIL).await;
    let res = b
        .post(
            "/webhooks",
            &[
                ("url", "https://no-such-host.invalid/hook"),
                ("events", "message.sent"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("could not be resolved"));
    assert_eq!(app.webhook_count(), 0);
}

#[actix_rt::test]
async fn private_targets_and_http_are_allowed_with_the_flag() {
    let app = TestApp::spawn_with(|c| c.allow_private_targets = true).await;
    let b = app.signed_in(ADMIN_EMAIL).await;
    b.create_webhook("http://127.0.0.1:9/hook", &["message.sent"])
        .await;
    b.create_webhook("https://localhost/hook", &["message.sent"])
        .await;
    assert_eq!(app.webhook_count(), 2);
}

#[actix_rt::test]
async fn edit_disable_enable_and_delete() {
    let app = TestApp::spawn().await;
    let b = app.signed_in(ADMIN_EMAIL).await;
    let id = b.create_webhook(PUBLIC_URL, &["message.sent"]).await;

    let settings = b.get(&format!("/webhooks/{id}/settings")).await;
    assert_eq!(settings.status, StatusCode::OK);
    assert!(settings.body.contains(&format!("value=\"{PUBLIC_URL}\"")));
    assert!(settings.body.contains("value=\"message.sent\" checked"));

    // A bad edit changes nothing.
    let res = b
        .post(
            &format!("/webhooks/{id}/settings"),
            &[("url", "https://10.0.0.1/"), ("events", "call.missed")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unchanged = store::webhooks::get(&mut app.conn(), &crate::support::dws(), &id).unwrap();
    assert_eq!(unchanged.url, PUBLIC_URL);
    assert_eq!(unchanged.events, ["message.sent"]);

    let res = b
        .post(
            &format!("/webhooks/{id}/settings"),
            &[
                ("url", "https://93.184.215.14/v2"),
                ("description", "v2"),
                ("events", "contact.created"),
                ("events", "call.completed"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let w = store::webhooks::get(&mut app.conn(), &crate::support::dws(), &id).unwrap();
    assert_eq!(w.url, "https://93.184.215.14/v2");
    assert_eq!(w.description, "v2");
    assert_eq!(w.events, ["call.completed", "contact.created"]);

    assert_eq!(
        b.post(&format!("/webhooks/{id}/disable"), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let page = b.get(&format!("/webhooks/{id}")).await;
    assert!(
        page.body
            .contains("This webhook is disabled: disabled by admin@example.com")
    );
    assert!(
        !store::webhooks::get(&mut app.conn(), &crate::support::dws(), &id)
            .unwrap()
            .enabled
    );
    assert_eq!(
        b.post(&format!("/webhooks/{id}/enable"), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let w = store::webhooks::get(&mut app.conn(), &crate::support::dws(), &id).unwrap();
    assert!(w.enabled);
    assert_eq!(w.disabled_reason, None);

    let confirm = b.get(&format!("/webhooks/{id}/delete")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Delete this webhook?"));
    assert_eq!(app.webhook_count(), 1, "asking is not deleting");
    let res = b.post(&format!("/webhooks/{id}/delete"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(app.webhook_count(), 0);
    assert_eq!(
        b.get(&format!("/webhooks/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.post(&format!("/webhooks/{id}/delete"), &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[actix_rt::test]
async fn rotation_keeps_the_old_secret_valid_for_the_chosen_grace_period() {
    let app = TestApp::spawn().await;
    let b = app.signed_in(ADMIN_EMAIL).await;
    let id = b.create_webhook(PUBLIC_URL, &["message.sent"]).await;
    let first = app.secret(&id);

    let confirm = b.get(&format!("/webhooks/{id}/rotate-secret")).await;
    assert!(confirm.body.contains("Rotate the signing secret?"));
    assert!(confirm.body.contains("value=\"86400\" selected"));
    assert_eq!(app.secret(&id), first, "asking is not rotating");

    let res = b
        .post(
            &format!("/webhooks/{id}/rotate-secret"),
            &[("grace_period_seconds", "3600")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let now = domain::time::now_ms();
    let second = app.secret(&id);
    assert_ne!(first, second);
    assert_eq!(app.valid_secrets(&id, now), [second.clone(), first.clone()]);
    assert_eq!(
        app.valid_secrets(&id, now + 3_601_000),
        vec![second.clone()]
    );
    let page = b.get(res.header("location")).await;
    assert!(
        page.body
            .contains("The previous secret also still verifies until")
    );

    let res = b
        .post(
            &format!("/webhooks/{id}/rotate-secret"),
            &[("grace_period_seconds", "0")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let third = app.secret(&id);
    let valid = app.valid_secrets(&id, domain::time::now_ms());
    assert_eq!(valid[0], third);
    assert!(
        !valid.contains(&second),
        "grace 0 ends the old secret at once"
    );

    let res = b
        .post(
            &format!("/webhooks/{id}/rotate-secret"),
            &[("grace_period_seconds", "99999999")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.secret(&id), third);
}

#[actix_rt::test]
async fn api_keys_page_creates_a_key_shown_once_and_revokes_it() {
    let app = TestApp::spawn().await;
    let b = app.signed_in(ADMIN_EMAIL).await;
    let empty = b.post("/settings/api-keys", &[("name", "  ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("id=\"name-error\""));

    let res = b
        .post("/settings/api-keys", &[("name", "messaging service")])
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let start = res.body.find("aex_").expect("the new key is shown");
    let key: String = res.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    assert_eq!(key.len(), 4 + 43);
    assert_eq!(app.api(&key).get("/webhooks").await.status, StatusCode::OK);

    let page = b.get("/settings/api-keys").await;
    assert!(
        page.body
            .contains("<td data-label=\"Name\">messaging service</td>")
    );
    assert!(!page.body.contains(&key), "shown only once");
    assert!(page.body.contains(&key[..12]), "its prefix tells it apart");

    let id = store::api_keys::list_active(&mut app.conn(), store::api_keys::Owner::Instance)
        .unwrap()[0]
        .id;
    assert!(
        b.get(&format!("/settings/api-keys/{id}/revoke"))
            .await
            .body
            .contains("Revoke this API key?")
    );
    assert_eq!(
        b.post(&format!("/settings/api-keys/{id}/revoke"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.api(&key).get("/webhooks").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        !b.get("/settings/api-keys")
            .await
            .body
            .contains("<td data-label=\"Name\">messaging service</td>")
    );
}
