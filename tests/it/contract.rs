//! The edges where the API document and the server must say the same thing (found by
//! schemathesis, which `tests/schemathesis/run.sh` runs against the whole document).

use crate::support::*;
use awc::http::StatusCode;
use serde_json::json;

#[actix_rt::test]
async fn the_document_states_each_rule_the_server_applies() {
    let app = TestApp::spawn().await;
    let spec = app.client().get("/api/v1/openapi.json").await.json();
    let schemas = &spec["components"]["schemas"];
    for schema in ["CreateWebhook", "UpdateWebhook"] {
        let url = &schemas[schema]["properties"]["url"];
        assert_eq!(
            url["pattern"],
            aethenox_webhooks::domain::url_policy::schema_pattern()
        );
        assert_eq!(
            (url["minLength"].clone(), url["maxLength"].clone()),
            (json!(1), json!(2048))
        );
        let description = &schemas[schema]["properties"]["description"];
        assert_eq!(description["maxLength"], 500);
        assert!(
            description["pattern"]
                .as_str()
                .unwrap()
                .contains(r"\x7f-\x9f")
        );
    }
    assert_eq!(
        schemas["PublishEvent"]["properties"]["id"]["pattern"],
        "^[A-Za-z0-9._:-]{1,100}$"
    );
    let paths = &spec["paths"];
    // Every JSON body the API takes or gives in success has an example.
    let mut examples = 0;
    for (path, ops) in paths.as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let mut bodies = vec![&op["requestBody"]];
            for (status, answer) in op["responses"].as_object().unwrap() {
                if status.starts_with('2') {
                    bodies.push(answer);
                }
            }
            for body in bodies {
                let json = &body["content"]["application/json"];
                if !json.is_null() && !path.ends_with("openapi.json") {
                    assert!(json.get("example").is_some(), "{method} {path}: no example");
                    examples += 1;
                }
            }
        }
    }
    assert_eq!(
        examples, 53,
        "29, the 16 of workspace data again under a workspace, and the 8 of the operational webhooks"
    );
    for (path, method) in [
        ("/api/v1/webhooks/{id}", "patch"),
        ("/api/v1/webhooks/{id}/rotate-secret", "post"),
        ("/api/v1/webhooks/{id}/test", "post"),
    ] {
        assert_eq!(
            paths[path][method]["requestBody"]["required"], false,
            "{method} {path}"
        );
    }
    assert_ne!(
        paths["/api/v1/webhooks"]["post"]["requestBody"]["required"],
        false
    );
    for path in ["/api/v1/deliveries", "/api/v1/audit"] {
        for name in ["from", "to"] {
            let param = paths[path]["get"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("{path}: no {name}"));
            let formats: Vec<_> = param["schema"]["anyOf"]
                .as_array()
                .unwrap_or_else(|| panic!("{path} {name}: {param}"))
                .iter()
                .map(|s| s.get("format").cloned().unwrap_or(s["maxLength"].clone()))
                .collect();
            assert_eq!(
                formats,
                [json!("date-time"), json!("date"), json!(0)],
                "{path} {name}"
            );
        }
    }
}

#[actix_rt::test]
async fn bodies_the_document_calls_optional_may_be_left_out() {
    let app = TestApp::spawn().await;
    let api = app.api(&app.api_key());
    let (id, _) = app.webhook(PUBLIC_URL, &["message.sent"]);
    let before = api.get(&format!("/webhooks/{id}")).await.json();

    let res = api.call("PATCH", &format!("/webhooks/{id}"), None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["url"], before["url"]);
    assert_eq!(res.json()["events"], before["events"]);

    let res = api
        .call("POST", &format!("/webhooks/{id}/rotate-secret"), None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_ne!(res.json()["secret"], before["secret"]);

    // Not an object, or not JSON (white space alone): refused, as the document's 400 says.
    for body in ["null", "\t", " "] {
        let res = api
            .call("PATCH", &format!("/webhooks/{id}"), Some(body))
            .await;
        assert_eq!(
            res.status,
            StatusCode::BAD_REQUEST,
            "{body:?}: {}",
            res.body
        );
    }
}

#[actix_rt::test]
async fn limits_times_and_text_are_read_exactly_as_documented() {
    let app = TestApp::spawn().await;
    let api = app.api(&app.api_key());
    let (id, _) = app.webhook(PUBLIC_URL, &["message.sent"]);

    // `limit`: absent is the default; sent, it must be digits for 1 to 100, even when empty.
    for list in ["/webhooks", "/deliveries", "/audit"] {
        assert_eq!(api.get(list).await.status, StatusCode::OK, "{list}");
        assert_eq!(
            api.get(&format!("{list}?limit=5")).await.status,
            StatusCode::OK
        );
        for bad in ["", "%2B5", "0", "101", "5.0"] {
            let res = api.get(&format!("{list}?limit={bad}")).await;
            assert_eq!(
                res.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{list}?limit={bad}"
            );
            assert_eq!(res.error_field(), "limit");
        }
    }

    // Time bounds: RFC 3339 with an offset and a fraction, a date alone, the form's shape, and
    // years before 1970 all filter; a malformed one names its parameter.
    let res = api
        .post("/events", json!({"type": "message.sent", "data": {}}))
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    let count = |res: Resp| res.json()["data"].as_array().map_or(usize::MAX, Vec::len);
    let q = format!("/deliveries?webhook_id={id}");
    assert_eq!(
        count(api.get(&format!("{q}&from=0000-01-01T00:00:00Z")).await),
        1
    );
    assert_eq!(count(api.get(&format!("{q}&from=2000-01-01")).await), 1);
    assert_eq!(count(api.get(&format!("{q}&to=2000-01-01T00:00")).await), 0);
    assert_eq!(
        count(
            api.get(&format!("{q}&from=9999-12-31T23:59:59.999%2B01:00"))
                .await
        ),
        0
    );
    assert_eq!(count(api.get(&format!("{q}&from=&to=")).await), 1);
    for bad in [
        "2026-11-27T20:00:00.",
        "2026-02-30",
        "2026-11-27T20:00:00%2B24:00",
    ] {
        let res = api.get(&format!("{q}&to={bad}")).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "to={bad}");
        assert_eq!(res.error_field(), "to");
    }
    let res = api.get("/audit?from=1969-12-31T23:00:00-01:00").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // The API reads values as sent (the page trims what people type): white space around a
    // value is not the value, nor an absent one.
    for (path, name) in [
        (q.as_str(), "from"),
        (q.as_str(), "status"),
        ("/audit?", "to"),
        ("/audit?", "actor"),
        ("/audit?", "cursor"),
    ] {
        let res = api.get(&format!("{path}&{name}=%0D")).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {name}"
        );
        assert_eq!(res.error_field(), name);
    }
    let res = api.get("/audit?cursor=%2B5").await;
    assert_eq!(res.error_field(), "cursor");

    // Text: control characters are refused wherever they are (trimming spaces keeps nothing
    // the document forbids); the audit log's actor counts characters, not bytes.
    let res = api
        .patch(
            &format!("/webhooks/{id}"),
            json!({"description": "Orders\n"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.error_field(), "description");
    let res = api
        .patch(
            &format!("/webhooks/{id}"),
            json!({"description": "  Orders  "}),
        )
        .await;
    assert_eq!(res.json()["description"], "Orders");
    let res = api.get("/audit?actor=a%C2%85b").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.error_field(), "actor");
    let wide = "é".repeat(254);
    let res = api
        .get(&format!("/audit?actor={}", "%C3%A9".repeat(254)))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{wide}: {}", res.body);
}

/// Each operation a support key is refused lists 403, with the error schema.
#[actix_rt::test]
async fn every_operation_a_support_key_is_refused_documents_403() {
    let app = TestApp::spawn().await;
    let spec = app.client().get("/api/v1/openapi.json").await.json();
    let support = app.api(&app.api_key_with(aethenox_webhooks::store::users::Role::Support));
    let (webhook, _) = app.webhook(PUBLIC_URL, &["message.sent"]);
    let mut refused = Vec::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let url = path.trim_start_matches("/api/v1").replace(
                "{id}",
                if path.contains("deliveries") {
                    "dlv_01jdb6dk4q9r8s7t6v5w4x3y2z"
                } else {
                    &webhook
                },
            );
            let body = op
                .pointer("/requestBody/content/application~1json/example")
                .map(|e| e.to_string());
            let res = support
                .call(&method.to_uppercase(), &url, body.as_deref())
                .await;
            if res.status == StatusCode::FORBIDDEN {
                refused.push(format!("{method} {path}"));
                let documented = &op["responses"]["403"]["content"]["application/json"]["schema"];
                assert_eq!(
                    documented["$ref"], "#/components/schemas/ErrorBody",
                    "{method} {path}: 403 undocumented"
                );
            }
        }
    }
    refused.sort();
    assert_eq!(
        refused,
        [
            // The operational webhooks are instance admins' only, reading them included.
            "delete /api/v1/operational-webhooks/{id}",
            "delete /api/v1/webhooks/{id}",
            "delete /api/v1/workspaces/{workspace}",
            "get /api/v1/audit",
            "get /api/v1/operational-webhooks",
            "get /api/v1/operational-webhooks/{id}",
            "patch /api/v1/operational-webhooks/{id}",
            "patch /api/v1/webhooks/{id}",
            "patch /api/v1/workspaces/{workspace}",
            "post /api/v1/events",
            "post /api/v1/operational-webhooks",
            "post /api/v1/operational-webhooks/{id}/rotate-secret",
            "post /api/v1/webhooks",
            "post /api/v1/webhooks/{id}/rotate-secret",
            "post /api/v1/workspaces",
            "put /api/v1/workspaces/{workspace}",
        ]
    );
}

/// HEAD is answered wherever GET is: the same status and headers, no body (monitors use it).
#[actix_rt::test]
async fn head_answers_as_get_does_without_the_body() {
    let app = TestApp::spawn().await;
    let client = awc::Client::default();
    for path in [
        "/healthz",
        "/static/app.css",
        "/login",
        "/api/reference",
        "/api/v1/openapi.json",
    ] {
        let get = app.client().get(path).await;
        let mut head = client
            .head(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), get.status, "HEAD {path}");
        let length = head
            .headers()
            .get("content-length")
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(length, get.body.len().to_string(), "HEAD {path}");
        assert!(head.body().await.unwrap().is_empty(), "HEAD {path}");
    }
    let res = app
        .api(&app.api_key())
        .call("HEAD", "/webhooks", None)
        .await;
    assert_eq!((res.status, res.body.as_str()), (StatusCode::OK, ""));
}
