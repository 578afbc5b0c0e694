//! `/api/openapi.json` promises what the real server answers: findings of the API fuzz
//! (`cargo xtask fuzz`, docs/CI.md), each pinned here so it stays fixed.

mod common;

use common::{TestServer, problem, sign_in_as};
use espresso_protocol::{ErrorCode, Role};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

async fn document(server: &TestServer) -> Value {
    let url = format!("{}/api/openapi.json", server.server().url());
    let response = server
        .http
        .get(url)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("a JSON document")
}

/// Every rate limit answers with `Retry-After` (the server's `rate_limited` problems always carry
/// it): each documented 429 must say so, and the invitation's, which said nothing, now does.
#[tokio::test]
async fn every_documented_429_has_its_retry_after() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    let mut limited = Vec::new();
    let mut missing = Vec::new();
    for (path, operations) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let Some(answer) = operation["responses"].get("429") else {
                continue;
            };
            let name = format!("{} {path}", method.to_uppercase());
            if answer["headers"].get("Retry-After").is_none() {
                missing.push(name.clone());
            }
            limited.push(name);
        }
    }
    assert!(missing.is_empty(), "429 without Retry-After: {missing:?}");
    for route in [
        "POST /api/v1/auth/otp",
        "POST /api/v1/auth/refresh",
        "POST /api/v1/staff/invitations",
        "POST /api/v1/shops/{shop}/passes",
    ] {
        assert!(
            limited.iter().any(|r| r == route),
            "{route}: no 429 documented"
        );
    }
}

/// Every operation whose JSON body is required can answer 413 (over 64 KiB) and 415 (not JSON):
/// the document must list both.
#[tokio::test]
async fn every_operation_with_a_body_documents_413_and_415() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    let mut missing = Vec::new();
    for (path, operations) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            if operation["requestBody"]["required"] != json!(true) {
                continue;
            }
            for status in ["413", "415"] {
                if operation["responses"].get(status).is_none() {
                    missing.push(format!("{} {path}: {status}", method.to_uppercase()));
                }
            }
        }
    }
    assert!(missing.is_empty(), "undocumented answers: {missing:?}");

    // And the server does answer so (the fuzz's reproducer: a new shop without a body).
    let admin = sign_in_as(&server, "admin@example.com", &[Role::Admin]).await;
    let response = server
        .request(Method::POST, "/shops", Some(&admin.access_token))
        .send()
        .await
        .expect("the server answers");
    let (status, body) = common::read(response).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_eq!(problem(&body).code, ErrorCode::UnsupportedMediaType);
    let response = server
        .request(Method::POST, "/shops", Some(&admin.access_token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(vec![b' '; 70 * 1024])
        .send()
        .await
        .expect("the server answers");
    let (status, body) = common::read(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

/// The queue's `limit` is brought into 1 to 500 by the server (0 counts as 1, more as 500), so
/// the document must not declare a range the server does not refuse (the fuzz sent `limit=0`,
/// `limit=501` and `limit=2147483648`, out of the documented range and int32, and got 200).
#[tokio::test]
async fn the_queue_limit_is_documented_as_the_server_reads_it() {
    let server = TestServer::start().await;
    let barista = sign_in_as(&server, "barista@example.com", &[Role::Barista]).await;
    for limit in [0, 501, u64::from(u32::MAX)] {
        let (status, body) = server
            .get(
                &format!("/shops/main/orders?limit={limit}"),
                Some(&barista.access_token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "limit={limit}: {body}");
    }

    let doc = document(&server).await;
    let parameters = doc["paths"]["/api/v1/shops/{shop}/orders"]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    let limit = parameters
        .iter()
        .find(|p| p["name"] == "limit")
        .expect("a limit parameter");
    let schema = &limit["schema"];
    assert!(
        schema["minimum"].as_u64().unwrap_or(0) == 0,
        "the server takes limit=0, the document says {schema}"
    );
    assert!(
        schema["maximum"].as_f64().unwrap_or(f64::MAX) >= f64::from(u32::MAX)
            && schema["format"] != "int32",
        "the server takes limit=4294967295, the document says {schema}"
    );
}

/// Every operation that takes an `Idempotency-Key` answers 400 to a bad one (empty, too long):
/// the document must list it (the fuzz found the booth-code rotation without it).
#[tokio::test]
async fn every_operation_with_an_idempotency_key_documents_400() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    let mut missing = Vec::new();
    for (path, operations) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let keyed = operation["parameters"]
                .as_array()
                .is_some_and(|parameters| {
                    parameters
                        .iter()
                        .any(|parameter| parameter["name"] == "Idempotency-Key")
                });
            if keyed && operation["responses"].get("400").is_none() {
                missing.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(missing.is_empty(), "no 400 documented: {missing:?}");
}

/// The mails' language is documented where the apps send it: the sign-in code's request and the
/// invitation, each an optional string.
#[tokio::test]
async fn the_language_of_each_mail_is_documented() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    for schema in ["OtpRequest", "Invitation"] {
        let body = &doc["components"]["schemas"][schema];
        let lang = &body["properties"]["lang"];
        assert!(lang.is_object(), "{schema} has no lang: {body}");
        let description = lang["description"].as_str().unwrap_or_default();
        assert!(description.contains("Portuguese"), "{schema}: {lang}");
        let required = body["required"].as_array().cloned().unwrap_or_default();
        assert!(
            !required.contains(&json!("lang")),
            "{schema}'s lang is optional: {body}"
        );
    }
}
