//! Web Push end to end against the real server on 127.0.0.1:0 and a push service the test runs
//! (axum on 127.0.0.1:0): a customer subscribes with keys the test made, the barista marks the
//! order ready, the test's push service receives the message, checks its VAPID signature and
//! decrypts it (RFC 8291) with the subscription's private key and auth secret; a push service
//! that answers 410 gets the subscription removed. Also the routes' refusals.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use espresso_protocol::{BoothCode, Order, OrderState, PushKey, PushMessage, Role};
use p256::PublicKey;
use p256::ecdsa::signature::Verifier as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod common;
// The push service and the subscriber's decryption, shared with the browser suite.
#[path = "../../tests/src/push_service.rs"]
#[allow(dead_code)]
mod push_service;

use push_service::{PushService, Subscriber};

/// The push's `Authorization: vapid t=…, k=…` checks out against the server's public key.
fn check_vapid(headers: &HeaderMap, server_key: &str, audience: &str) {
    let value = headers["authorization"].to_str().unwrap();
    let rest = value
        .strip_prefix("vapid t=")
        .expect("a VAPID authorization");
    let (token, key) = rest.split_once(", k=").unwrap();
    assert_eq!(key, server_key);
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let public = PublicKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(key).unwrap()).unwrap();
    let signature =
        p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
    p256::ecdsa::VerifyingKey::from(&public)
        .verify(signed.as_bytes(), &signature)
        .expect("the JWT is signed with the server's VAPID key");
    let claims = URL_SAFE_NO_PAD
        .decode(signed.split('.').nth(1).unwrap())
        .unwrap();
    let claims: Value = serde_json::from_slice(&claims).unwrap();
    assert_eq!(claims["aud"], audience);
    let expires = claims["exp"].as_i64().unwrap();
    let now = Utc::now().timestamp();
    assert!(expires > now && expires <= now + 24 * 3600, "{claims}");
    assert!(claims["sub"].as_str().unwrap().starts_with("mailto:"));
}

async fn token(test: &common::TestServer, email: &str, roles: &[Role]) -> String {
    test.grant(email, roles).await;
    let user = test.store().user_by_email(email).await.unwrap().unwrap();
    espresso_server::auth::open_session(test.store(), &user, Utc::now())
        .await
        .unwrap()
        .access_token
}

async fn ok(
    test: &common::TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let (status, value) = test.send(method, path, Some(token), body).await;
    assert!(status.is_success(), "{path}: {status} {value}");
    value
}

/// A queued americano for the customer.
async fn order(test: &common::TestServer, customer: &str, staff: &str) -> Order {
    let code: BoothCode =
        serde_json::from_value(ok(test, staff, Method::GET, "/shops/main/code", None).await)
            .unwrap();
    let body = json!({ "code": code.code, "drink": { "item_id": "americano", "options": {} } });
    serde_json::from_value(
        ok(
            test,
            customer,
            Method::POST,
            "/shops/main/orders",
            Some(body),
        )
        .await,
    )
    .unwrap()
}

async fn act(
    test: &common::TestServer,
    who: &str,
    order: &Order,
    action: &str,
    body: Option<Value>,
) {
    let path = format!("/shops/main/orders/{}/{action}", order.id);
    ok(test, who, Method::POST, &path, body).await;
}

#[tokio::test]
async fn a_ready_order_is_pushed_encrypted_to_the_customers_subscription_and_a_gone_one_is_removed()
{
    let test = common::TestServer::start_with(|config| config.push_to_loopback_http = true).await;
    let mut service = PushService::start().await.unwrap();
    let admin = token(&test, "owner@cafe.test", &[Role::Admin]).await;
    let barista = token(&test, "barista@cafe.test", &[Role::Barista]).await;
    let ana = token(&test, "ana@example.com", &[]).await;
    ok(
        &test,
        &barista,
        Method::PATCH,
        "/shops/main",
        Some(json!({ "open": true })),
    )
    .await;
    let limits = json!({ "limits": { "max_orders_per_day": 5 } });
    ok(&test, &admin, Method::PATCH, "/shops/main", Some(limits)).await;

    // The server's key, for anyone.
    let (status, key) = test.get("/push/key", None).await;
    assert_eq!(status, StatusCode::OK);
    let key: PushKey = serde_json::from_value(key).unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(&key.public_key).unwrap().len(), 65);

    // Given Ana's phone subscribed with its own keys,
    let phone = Subscriber::new();
    let endpoint = format!("{}/push/ana-phone", service.url);
    let (status, value) = test
        .post(
            "/push/subscriptions",
            Some(&ana),
            phone.subscription(&endpoint),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{value}");
    let user = test
        .store()
        .user_by_email("ana@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        test.store()
            .push_subscriptions_of(&user.id)
            .await
            .unwrap()
            .len(),
        1
    );

    // when the barista makes her order and marks it ready,
    let first = order(&test, &ana, &barista).await;
    act(&test, &barista, &first, "claim", None).await;
    act(&test, &barista, &first, "complete", None).await;

    // then her push service gets one message, for her eyes only: it decrypts with the
    // subscription's keys and says which order is ready, where, and the page to open.
    let push = service.next_within(Duration::from_secs(10)).await.unwrap();
    assert_eq!(push.headers["content-encoding"], "aes128gcm");
    assert!(
        push.headers["ttl"]
            .to_str()
            .unwrap()
            .parse::<u32>()
            .unwrap()
            > 0
    );
    check_vapid(&push.headers, &key.public_key, &service.url);
    let message: PushMessage = serde_json::from_slice(&phone.decrypt(&push.body).unwrap()).unwrap();
    assert_eq!(message.number, Some(1));
    assert_eq!(message.state, OrderState::Ready);
    assert_eq!(message.order_id, first.id);
    assert_eq!(message.shop, "main");
    assert_eq!(message.title, "Your order #1 is ready");
    assert!(message.url.ends_with("/order?shop=main"), "{}", message.url);
    // Another subscriber's keys cannot read it.
    let stranger = Subscriber::new();
    assert!(
        stranger.decrypt(&push.body).is_err(),
        "only the subscription's keys decrypt it"
    );

    // Handing it over is no news; a cancelled second order is, and the push service now says
    // the subscription is gone: it is removed.
    act(&test, &barista, &first, "collect", None).await;
    service.status.store(410, Ordering::SeqCst);
    let second = order(&test, &ana, &barista).await;
    act(
        &test,
        &barista,
        &second,
        "cancel",
        Some(json!({ "reason": "Out of beans" })),
    )
    .await;
    let push = service.next_within(Duration::from_secs(10)).await.unwrap();
    let message: PushMessage = serde_json::from_slice(&phone.decrypt(&push.body).unwrap()).unwrap();
    assert_eq!(
        (message.number, message.state),
        (Some(2), OrderState::Cancelled)
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !test
        .store()
        .push_subscriptions_of(&user.id)
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the gone subscription is removed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let metrics = common::metrics(&test.http, &test.server().url()).await;
    assert!(
        metrics.contains("espresso_push_total{outcome=\"gone\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn subscriptions_are_https_on_the_internet_with_real_keys_and_for_signed_in_customers() {
    let test = common::TestServer::start().await;
    let ana = token(&test, "ana@example.com", &[]).await;
    let phone = Subscriber::new();
    let good = phone.subscription("https://push.example.net/wpush/abc");

    let (status, _) = test.post("/push/subscriptions", None, good.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for endpoint in [
        "http://push.example.net/wpush/abc",
        "https://192.168.1.10/admin",
        "https://localhost/x",
        // Loopback over http only behind the hidden test flag (off here).
        "http://127.0.0.1:9/push",
        "not a url",
    ] {
        let (status, value) = test
            .post(
                "/push/subscriptions",
                Some(&ana),
                phone.subscription(endpoint),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{endpoint}: {value}"
        );
        assert_eq!(common::problem(&value).code.as_str(), "validation_failed");
    }
    let mut bad_keys = good.clone();
    bad_keys["keys"]["auth"] = json!("c2hvcnQ");
    let (status, _) = test.post("/push/subscriptions", Some(&ana), bad_keys).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut extra = good.clone();
    extra["expirationTime"] = json!(null);
    let (status, _) = test.post("/push/subscriptions", Some(&ana), extra).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused"
    );
    let user = test
        .store()
        .user_by_email("ana@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(
        test.store()
            .push_subscriptions_of(&user.id)
            .await
            .unwrap()
            .is_empty()
    );

    // Each customer keeps their five newest; DELETE forgets one.
    for n in 0..7 {
        let endpoint = format!("https://push.example.net/wpush/{n}");
        let (status, _) = test
            .post(
                "/push/subscriptions",
                Some(&ana),
                phone.subscription(&endpoint),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let kept = test.store().push_subscriptions_of(&user.id).await.unwrap();
    assert_eq!(kept.len(), 5);
    assert!(
        kept.iter()
            .all(|s| !s.endpoint.ends_with("/0") && !s.endpoint.ends_with("/1"))
    );
    let (status, _) = test
        .send(
            Method::DELETE,
            "/push/subscriptions",
            Some(&ana),
            Some(json!({ "endpoint": "https://push.example.net/wpush/6" })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        test.store()
            .push_subscriptions_of(&user.id)
            .await
            .unwrap()
            .len(),
        4
    );
}
