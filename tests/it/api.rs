use crate::support::*;
use awc::http::StatusCode;
use serde_json::json;

#[actix_rt::test]
async fn every_endpoint_needs_a_valid_key() {
    let app = TestApp::spawn().await;
    let bad = app.api("aex_not-a-real-key");
    for (method, path) in [
        ("GET", "/webhooks"),
        ("POST", "/webhooks"),
        ("GET", "/webhooks/wh_01jdb6d9m0v8k3x4r5t6y7z8a9"),
        ("PATCH", "/webhooks/wh_01jdb6d9m0v8k3x4r5t6y7z8a9"),
        ("DELETE", "/webhooks/wh_01jdb6d9m0v8k3x4r5t6y7z8a9"),
        (
            "POST",
            "/webhooks/wh_01jdb6d9m0v8k3x4r5t6y7z8a9/rotate-secret",
        ),
    ] {
        let res = bad.call(method, path, Some("{}")).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(res.json()["error"]["code"], "unauthorized");
        assert_eq!(res.header("www-authenticate"), "Bearer");
    }
    // A browser session is not an API key.
    let b = app.signed_in(ADMIN_EMAIL).await;
    assert_eq!(
        b.get("/api/v1/webhooks").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_rt::test]
async fn create_get_list_update_rotate_delete() {
    let app = TestApp::spawn().await;
    let api = app.api(&app.api_key());

    let res = api
        .post("/webhooks", json!({"url": PUBLIC_URL, "events": ["call.missed", "message.received"], "description": "CRM"}))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let created = res.json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["url"], PUBLIC_URL);
    assert_eq!(
        created["events"],
        json!(["message.received", "call.missed"])
    );
    assert_eq!(created["enabled"], true);
    assert_eq!(created["disabled_reason"], serde_json::Value::Null);
    assert_eq!(created["description"], "CRM");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 50,
        "{secret}"
    );
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    let got = api.get(&format!("/webhooks/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json()["secret"], secret.as_str());

    for n in 0..4 {
        let res = api
            .post(
                "/webhooks",
                json!({"url": format!("{PUBLIC_URL}/{n}"), "events": ["message.sent"]}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED);
    }
    // Keyset pagination: 5 webhooks in pages of 2, newest first, no repeats.
    let mut seen = Vec::new();
    let mut path = "/webhooks?limit=2".to_owned();
    loop {
        let page = api.get(&path).await.json();
        let data = page["data"].as_array().unwrap().clone();
        assert!(data.len() <= 2);
        seen.extend(data.iter().map(|w| w["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/webhooks?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.last().unwrap(), &id, "the first created comes last");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted);

    let res = api
        .patch(
            &format!("/webhooks/{id}"),
            json!({"events": ["contact.updated"], "enabled": false}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let updated = res.json();
    assert_eq!(updated["events"], json!(["contact.updated"]));
    assert_eq!(updated["url"], PUBLIC_URL, "absent fields keep their value");
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["disabled_reason"], "disabled through the API");
    let res = api
        .patch(&format!("/webhooks/{id}"), json!({"enabled": true}))
        .await;
    assert_eq!(res.json()["disabled_reason"], serde_json::Value::Null);

    let res = api
        .post(
            &format!("/webhooks/{id}/rotate-secret"),
            json!({"grace_period_seconds": 0}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let rotated = res.json()["secret"].as_str().unwrap().to_owned();
    assert_ne!(rotated, secret);
    let res = api
        .call("POST", &format!("/webhooks/{id}/rotate-secret"), None)
        .await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "an empty body takes the default grace period"
    );

    let res = api.call("DELETE", &format!("/webhooks/{id}"), None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = api.get(&format!("/webhooks/{id}")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.json()["error"]["code"], "not_found");
}

#[actix_rt::test]
async fn bad_requests_get_json_errors_naming_the_field() {
    let app = TestApp::spawn().await;
    let api = app.api(&app.api_key());
    let cases = [
        (
            json!({"events": ["message.sent"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "url",
        ),
        (
            json!({"url": 5, "events": ["message.sent"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "url",
        ),
        (
            json!({"url": PUBLIC_URL}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "events",
        ),
        (
            json!({"url": PUBLIC_URL, "events": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "events",
        ),
        (
            json!({"url": PUBLIC_URL, "events": ["nope.nope"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "events",
        ),
        (
            json!({"url": PUBLIC_URL, "events": [7]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "events[0]",
        ),
        (
            json!({"url": "http://93.184.215.14/", "events": ["message.sent"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "url",
        ),
        (
            json!({"url": "https://[::ffff:127.0.0.1]/", "events": ["message.sent"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "url",
        ),
        (
            json!({"url": "https://0x7f.1/", "events": ["message.sent"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "url",
        ),
        (
            json!({"url": PUBLIC_URL, "events": ["message.sent"], "enabled": "yes"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "enabled",
        ),
        (
            json!({"url": PUBLIC_URL, "events": ["message.sent"], "colour": "red"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour",
        ),
        (
            json!({"url": PUBLIC_URL, "events": ["message.sent"], "description": "x".repeat(501)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "description",
        ),
    ];
    for (body, status, field) in cases {
        let res = api.post("/webhooks", body.clone()).await;
        assert_eq!(res.status, status, "{body}: {}", res.body);
        assert_eq!(res.error_field(), field, "{body}: {}", res.body);
        assert_eq!(res.json()["error"]["code"], "validation_failed");
        assert!(!res.json()["error"]["message"].as_str().unwrap().is_empty());
    }
    for raw in ["{not json", "[1,2]", "\"text\""] {
        let res = api.call("POST", "/webhooks", Some(raw)).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{raw}");
        assert_eq!(res.json()["error"]["code"], "invalid_json");
    }
    let res = api.get("/webhooks?limit=0").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.error_field(), "limit");
    let res = api.get("/webhooks?cursor=%27%20OR%201%3D1").await;
    assert_eq!(res.error_field(), "cursor");
    let res = api
        .call(
            "POST",
            "/webhooks",
            Some(&format!("{{\"url\":\"{}\"}}", "a".repeat(300 * 1024))),
        )
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.webhook_count(), 0);

    // A bad update keeps what was stored.
    let id = api
        .post(
            "/webhooks",
            json!({"url": PUBLIC_URL, "events": ["message.sent"]}),
        )
        .await
        .id();
    let res = api
        .patch(
            &format!("/webhooks/{id}"),
            json!({"url": "https://10.1.1.1/"}),
        )
        .await;
    assert_eq!(res.error_field(), "url");
    let res = api
        .post(
            &format!("/webhooks/{id}/rotate-secret"),
            json!({"grace_period_seconds": -1}),
        )
        .await;
    assert_eq!(res.error_field(), "grace_period_seconds");
    assert_eq!(
        api.get(&format!("/webhooks/{id}")).await.json()["url"],
        PUBLIC_URL
    );
    assert_eq!(
        api.get("/webhooks/wh_nope").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(api.get("/nothing-here").await.status, StatusCode::NOT_FOUND);
}

#[actix_rt::test]
async fn openapi_describes_what_exists() {
    let app = TestApp::spawn().await;
    let spec = app.client().get("/api/v1/openapi.json").await;
    assert_eq!(spec.status, StatusCode::OK);
    let spec = spec.json();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let paths = spec["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/webhooks", &["get", "post"][..]),
        ("/api/v1/webhooks/{id}", &["get", "patch", "delete"][..]),
        ("/api/v1/webhooks/{id}/rotate-secret", &["post"][..]),
    ] {
        for m in methods {
            assert!(paths[path].get(*m).is_some(), "{m} {path} missing");
        }
    }
    let webhook = &spec["components"]["schemas"]["WebhookResource"]["properties"];
    for field in [
        "id",
        "url",
        "description",
        "events",
        "enabled",
        "disabled_reason",
        "secret",
        "created_at",
        "updated_at",
    ] {
        assert!(webhook.get(field).is_some(), "{field}");
    }
    assert_eq!(
        spec["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
}

#[actix_rt::test]
async fn a_method_a_resource_does_not_answer_is_405_with_allow_and_the_json_error() {
    let app = TestApp::spawn().await;
    let api = app.api(&app.api_key());
    let (id, _) = app.webhook(PUBLIC_URL, &["message.sent"]);
    for (method, path, allow) in [
        ("TRACE", "/webhooks".to_owned(), "GET, POST"),
        ("PUT", "/webhooks".to_owned(), "GET, POST"),
        ("PUT", format!("/webhooks/{id}"), "GET, PATCH, DELETE"),
        ("GET", format!("/webhooks/{id}/rotate-secret"), "POST"),
        ("GET", format!("/webhooks/{id}/test"), "POST"),
        ("DELETE", "/events".to_owned(), "POST"),
        ("POST", "/deliveries".to_owned(), "GET"),
        ("PATCH", "/deliveries/dlv_x".to_owned(), "GET"),
        ("GET", "/deliveries/dlv_x/resend".to_owned(), "POST"),
        ("POST", "/audit".to_owned(), "GET"),
        ("POST", "/openapi.json".to_owned(), "GET"),
    ] {
        let res = api.call(method, &path, None).await;
        assert_eq!(
            res.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(res.header("allow"), allow, "{method} {path}");
        assert_eq!(
            res.json()["error"]["code"],
            "method_not_allowed",
            "{method} {path}"
        );
        assert!(
            res.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains(allow)
        );
    }
    // A path that names no resource is still 404, in the same JSON shape.
    let res = api.call("GET", "/nothing-here", None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.json()["error"]["code"], "not_found");
}

#[actix_rt::test]
async fn openapi_declares_path_ids_ranges_and_the_event_catalogue_the_server_enforces() {
    let app = TestApp::spawn().await;
    let spec = app.client().get("/api/v1/openapi.json").await.json();
    let catalogue: Vec<&str> = aethenox_webhooks::domain::events::CATALOGUE
        .iter()
        .map(|e| e.name)
        .collect();
    let mut with_id = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            if path.contains("{id}") {
                with_id += 1;
                let id = params
                    .iter()
                    .find(|p| p["name"] == "id" && p["in"] == "path")
                    .unwrap_or_else(|| panic!("{method} {path}: no id parameter"));
                assert_eq!(id["required"], true, "{method} {path}");
                let pattern = id["schema"]["pattern"].as_str().unwrap();
                let prefix = if path.contains("/deliveries") {
                    "^dlv_"
                } else {
                    "^wh_"
                };
                assert!(pattern.starts_with(prefix), "{method} {path}: {pattern}");
            }
            if let Some(limit) = params.iter().find(|p| p["name"] == "limit") {
                assert_eq!(limit["schema"]["minimum"], 1, "{method} {path}");
                assert_eq!(limit["schema"]["maximum"], 100, "{method} {path}");
            }
            if op.get("requestBody").is_some() {
                assert!(
                    op["responses"].get("400").is_some(),
                    "{method} {path}: 400 undocumented"
                );
            }
        }
    }
    assert_eq!(
        with_id, 18,
        "7 operations with an id, each under a workspace too, and 4 of the operational webhooks"
    );
    // Every operation of workspace data also under /workspaces/{workspace}, with that parameter
    // (the filter test works on no workspace's data).
    for (path, ops) in spec["paths"].as_object().unwrap() {
        let Some(rest) = path.strip_prefix("/api/v1") else {
            continue;
        };
        if rest.starts_with("/workspaces")
            || rest.starts_with("/operational-webhooks")
            || rest == "/openapi.json"
            || rest == "/filter-test"
        {
            continue;
        }
        let nested = &spec["paths"][format!("/api/v1/workspaces/{{workspace}}{rest}")];
        for (method, op) in ops.as_object().unwrap() {
            let copy = &nested[method];
            assert_eq!(
                copy["operationId"],
                format!("workspace_{}", op["operationId"].as_str().unwrap()),
                "{method} {path}"
            );
            assert_eq!(
                copy["parameters"][0]["name"], "workspace",
                "{method} {path}"
            );
        }
    }
    let schemas = &spec["components"]["schemas"];
    // The operational webhooks subscribe from their own list, in their own schemas.
    assert_eq!(
        schemas["OperationalEventType"]["enum"],
        json!(["webhook.disabled", "delivery.exhausted"])
    );
    for schema in [
        "CreateOperationalWebhook",
        "UpdateOperationalWebhook",
        "OperationalWebhook",
    ] {
        assert_eq!(
            schemas[schema]["properties"]["events"]["items"],
            json!({"$ref": "#/components/schemas/OperationalEventType"}),
            "{schema}"
        );
    }
    // The catalogue is one named schema that every field and filter taking a type refers to
    // (a generated client gets one type), and is written out nowhere else.
    assert_eq!(schemas["EventType"]["enum"], json!(catalogue));
    let event_type = json!({"$ref": "#/components/schemas/EventType"});
    assert_eq!(schemas["PublishEvent"]["properties"]["type"], event_type);
    assert_eq!(
        schemas["CreateWebhook"]["properties"]["events"]["items"],
        event_type
    );
    assert_eq!(
        schemas["UpdateWebhook"]["properties"]["events"]["items"],
        event_type
    );
    assert_eq!(
        schemas["WebhookResource"]["properties"]["events"]["items"],
        event_type
    );
    assert_eq!(
        schemas["DeliveryResource"]["properties"]["event_type"],
        event_type
    );
    let text = spec.to_string();
    assert_eq!(
        text.matches(&json!(catalogue).to_string()).count(),
        1,
        "the catalogue is written out once"
    );
    // Five schemas, and the Delivery Log's filter at the top level and under a workspace.
    assert_eq!(text.matches("#/components/schemas/EventType").count(), 8);
    assert_eq!(
        schemas["CreateWebhook"]["properties"]["events"]["minItems"],
        1
    );
    assert_eq!(
        schemas["CreateWebhook"]["properties"]["url"]["minLength"],
        1
    );
    let grace = &schemas["RotateSecret"]["properties"]["grace_period_seconds"];
    assert_eq!(
        (grace["minimum"].as_i64(), grace["maximum"].as_i64()),
        (Some(0), Some(604_800))
    );

    let paths = &spec["paths"];
    let status = paths["/api/v1/deliveries"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "status")
        .unwrap()["schema"]["anyOf"]
        .clone();
    assert_eq!(
        status[0]["$ref"], "#/components/schemas/DeliveryStatus",
        "a status, or empty for any"
    );
    assert_eq!(status[1]["maxLength"], 0);
    assert_eq!(
        schemas["DeliveryStatus"]["enum"],
        json!(["pending", "sending", "succeeded", "failed"])
    );
    assert!(
        paths["/api/v1/webhooks"]["post"]["responses"]
            .get("403")
            .is_some()
    );
    assert!(
        paths["/api/v1/webhooks/{id}/test"]["post"]["responses"]
            .get("503")
            .is_some()
    );
    assert!(
        paths["/api/v1/events"]["post"]["responses"]
            .get("413")
            .is_some()
    );
    let links = &paths["/api/v1/webhooks"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["GetWebhook"]["operationId"], "get_webhook");
    assert_eq!(
        links["GetWebhook"]["parameters"]["id"],
        "$response.body#/id"
    );

    // A whole number written with a fraction is still an integer in JSON Schema.
    let api = app.api(&app.api_key());
    let (id, _) = app.webhook(PUBLIC_URL, &["message.sent"]);
    let res = api
        .post(
            &format!("/webhooks/{id}/rotate-secret"),
            json!({"grace_period_seconds": 60.0}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = api
        .post(
            &format!("/webhooks/{id}/rotate-secret"),
            json!({"grace_period_seconds": 60.5}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.error_field(), "grace_period_seconds");
}
