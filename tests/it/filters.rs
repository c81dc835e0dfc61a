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
    let res = api.post("/filter-test", json!({"filter": {}})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.error_field(), "data");
    let res = app
        .api("not a key")
        .post("/filter-test", json!({"filter": {}, "data": {}}))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = api.call("GET", "/filter-test", None).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
}
