//! Payload filters through the API: `POST /api/v1/filter-test` matches with the parser every
//! webhook filter goes through, and names the path and operator of a bad one.

use crate::support::*;
use aethenox_webhooks::store::users::Role;
use awc::http::StatusCode;
use serde_json::json;

#[actix_rt::test]
async fn filter_test_says_whether_data_matches_and_what_is_wrong_with_a_filter() {
    let app = TestApp::spawn().await;
    let api = app.api(&app.api_key_with(Role::Support));
    let filter = json!({"amount": {"$gte": 100}, "contact.country": {"$in": ["PT", "ES"]}});
    for (data, want) in [
        (json!({"amount": 250, "contact": {"country": "PT"}}), true),
        (json!({"amount": 250, "contact": {"country": "FR"}}), false),
        (
            json!({"amount": "250", "contact": {"country": "PT"}}),
            false,
        ),
        (json!({}), false),
    ] {
        let res = api
            .post("/filter-test", json!({"filter": filter, "data": data}))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(res.json(), json!({"matches": want}), "{data}");
    }
    let res = api
        .post(
            "/filter-test",
            json!({"filter": {"$or": [{"a": 1}, {"b": {"$gt": [1]}}]}, "data": {}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.error_field(), "filter");
    let message = res.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("$or[1].b.$gt") && message.contains("$gt"),
        "{message}"
    );
    for body in [json!({"filter": {}}), json!({"filter": {}, "data": [1]})] {
        let res = api.post("/filter-test", body).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(res.error_field(), "data");
    }
    let res = app
        .api("not a key")
        .post("/filter-test", json!({"filter": {}, "data": {}}))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = api.call("GET", "/filter-test", None).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[actix_rt::test]
async fn a_webhooks_filter_decides_which_events_make_a_delivery() {
    let app = TestApp::delivering(|_| {}).await;
    let rx = crate::receiver::Receiver::start().await;
    let api = app.api(&app.api_key());
    let res = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/big"), "events": ["message.received"],
                   "filter": {"amount": {"$gte": 100}}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.id();
    assert_eq!(res.json()["filter"], json!({"amount": {"$gte": 100}}));
    // Another webhook with no filter gets everything.
    api.post(
        "/webhooks",
        json!({"url": rx.url("/all"), "events": ["message.received"]}),
    )
    .await;
    let publish = |amount: serde_json::Value| {
        let api = &api;
        async move {
            api.post(
                "/events",
                json!({"type": "message.received", "data": {"amount": amount}}),
            )
            .await
            .json()["deliveries"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(publish(json!(250)).await, 2);
    assert_eq!(publish(json!(50)).await, 1);
    assert_eq!(publish(json!("250")).await, 1, "\"250\" is not 250");
    wait_for(10, "four deliveries", || rx.count() == 4).await;
    let to_big: Vec<_> = rx.got().into_iter().filter(|r| r.path == "/big").collect();
    assert_eq!(to_big.len(), 1);
    assert_eq!(to_big[0].json()["data"]["amount"], 250);

    // Changed, then removed, through the API.
    let res = api
        .patch(
            &format!("/webhooks/{id}"),
            json!({"filter": {"amount": {"$lt": 100}}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(publish(json!(50)).await, 2);
    let res = api
        .patch(&format!("/webhooks/{id}"), json!({"description": "x"}))
        .await;
    assert_eq!(
        res.json()["filter"],
        json!({"amount": {"$lt": 100}}),
        "kept when absent"
    );
    let res = api
        .patch(&format!("/webhooks/{id}"), json!({"filter": null}))
        .await;
    assert_eq!(res.json()["filter"], json!(null));
    assert_eq!(publish(json!(500)).await, 2);

    // A bad filter is refused naming it; nothing changes.
    for bad in [
        json!({"amount": {"$gt": [1]}}),
        json!([1]),
        json!("amount > 5"),
    ] {
        let res = api
            .patch(&format!("/webhooks/{id}"), json!({"filter": bad}))
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(res.error_field(), "filter");
    }
    let res = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/x"), "events": ["message.received"], "filter": {"$nope": 1}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("$nope"), "{}", res.body);
    assert_eq!(app.webhook_count(), 2);
}

#[actix_rt::test]
async fn the_form_takes_a_filter_keeps_a_bad_one_as_typed_and_tries_it() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in(ADMIN_EMAIL).await;
    let bad = r#"{"amount": {"$gt": true}}"#;
    let res = admin
        .post(
            "/webhooks",
            &[
                ("url", PUBLIC_URL),
                ("events", "message.received"),
                ("filter", bad),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("id=\"filter-error\""), "{}", res.body);
    assert!(res.body.contains("amount.$gt"), "the error names the path");
    assert!(
        res.body
            .contains("{&quot;amount&quot;: {&quot;$gt&quot;: true}}")
            || res
                .body
                .contains("{&#34;amount&#34;: {&#34;$gt&#34;: true}}"),
        "what was typed is kept"
    );
    assert_eq!(app.webhook_count(), 0);

    let good = r#"{"contact.country": {"$in": ["PT", "ES"]}}"#;
    let id = {
        let res = admin
            .post(
                "/webhooks",
                &[
                    ("url", PUBLIC_URL),
                    ("events", "contact.created"),
                    ("filter", good),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        res.location_webhook_id()
    };
    let page = admin.get(&format!("/webhooks/{id}")).await;
    assert!(page.body.contains("id=\"webhook-filter\""));
    assert!(
        page.body.contains("contact.country"),
        "the page shows the filter"
    );
    let settings = admin.get(&format!("/webhooks/{id}/settings")).await;
    assert!(
        settings.body.contains("contact.country"),
        "the form holds it to edit"
    );

    // Try it: on the chosen types' samples and on pasted data.
    let res = admin
        .post_raw(
            "/w/default/filter-test",
            &[
                ("csrf_token", &admin.csrf().await),
                ("filter", good),
                ("events", "contact.created"),
                ("filter_data", r#"{"contact": {"country": "PT"}}"#),
            ],
            &[("HX-Request", "true")],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.body.contains("matched</span> the data you gave"),
        "{}",
        res.body
    );
    assert!(
        res.body.contains("the sample contact.created"),
        "{}",
        res.body
    );
    let res = admin
        .post("/w/default/filter-test", &[("filter", bad)])
        .await;
    assert!(res.body.contains("amount.$gt"), "{}", res.body);
}
