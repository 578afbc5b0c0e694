//! Scan passes against the real server on 127.0.0.1:0: a booth code checked when the QR link
//! opens, before sign-in, holds one of the code's orders for the device (OPERATIONS.md
//! "Extensions to API.md"), and the order that pass starts later, even after the code rotated
//! or ran out.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

use chrono::{Duration, Utc};
use espresso_protocol::{BoothCode, EventType, Order, OrderState, Problem, Role, ScanPass, ShopId};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod common;

use common::TestServer;

/// A café that is open: an admin's and a display's tokens, and the test server.
struct Cafe {
    test: TestServer,
    admin: String,
    display: String,
}

async fn token(test: &TestServer, email: &str, roles: &[Role]) -> String {
    test.grant(email, roles).await;
    let user = test.store().user_by_email(email).await.unwrap().unwrap();
    espresso_server::auth::open_session(test.store(), &user, Utc::now())
        .await
        .unwrap()
        .access_token
}

impl Cafe {
    async fn open() -> Self {
        let test = TestServer::start().await;
        let admin = token(&test, "owner@cafe.test", &[Role::Admin]).await;
        let display = token(&test, "display@cafe.test", &[Role::Display]).await;
        let (status, body) = test
            .send(
                Method::PATCH,
                "/shops/main",
                Some(&admin),
                Some(json!({ "open": true, "limits": { "max_orders_per_day": 0 } })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        Self {
            test,
            admin,
            display,
        }
    }

    async fn customer(&self, email: &str) -> String {
        token(&self.test, email, &[]).await
    }

    async fn code(&self) -> BoothCode {
        let (status, body) = self.test.get("/shops/main/code", Some(&self.display)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).unwrap()
    }

    /// Anonymous, as a phone that just opened the QR link.
    async fn scan(&self, code: &str) -> (StatusCode, Value) {
        self.test
            .post("/shops/main/passes", None, json!({ "code": code }))
            .await
    }

    async fn pass(&self, code: &str) -> ScanPass {
        let (status, body) = self.scan(code).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        serde_json::from_value(body).unwrap()
    }

    async fn order(&self, customer: &str, body: Value) -> (StatusCode, Value) {
        self.test
            .post("/shops/main/orders", Some(customer), body)
            .await
    }

    async fn redeemed_events(&self) -> usize {
        let events = self
            .test
            .store()
            .events_after(&ShopId::main(), 0, 1000)
            .await
            .unwrap();
        events
            .iter()
            .filter(|e| e.event.kind == EventType::CodeRedeemed)
            .count()
    }
}

fn refusal(status: StatusCode, body: &Value, expected: (u16, &str)) -> Problem {
    assert_eq!(status.as_u16(), expected.0, "{body}");
    let problem: Problem = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(problem.code.as_str(), expected.1, "{problem:?}");
    problem
}

fn americano() -> Value {
    json!({ "item_id": "americano", "options": {} })
}

#[tokio::test]
async fn a_good_code_scanned_before_sign_in_holds_one_of_its_orders_for_the_pass() {
    let cafe = Cafe::open().await;
    let code = cafe.code().await;
    assert_eq!(code.remaining, 10);

    // Anonymous: no token. The answer carries a secret, so no cache keeps it.
    let response = cafe
        .test
        .request(Method::POST, "/shops/main/passes", None)
        .json(&json!({ "code": code.code }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, body) = common::read(response).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let pass: ScanPass = serde_json::from_value(body).unwrap();
    assert_eq!(
        (pass.shop.as_str(), pass.code.as_str()),
        ("main", code.code.as_str())
    );
    assert_eq!(pass.expires_at - pass.issued_at, Duration::minutes(10));
    assert!(pass.pass.len() >= 32, "{}", pass.pass);

    // The pass took one of the code's orders: the booth's count says so at once.
    assert_eq!(cafe.code().await.remaining, 9);
    assert_eq!(cafe.redeemed_events().await, 1);

    // Signed in, the pass starts the order, and the code is not charged a second time.
    let ana = cafe.customer("ana@example.com").await;
    let (status, body) = cafe
        .order(&ana, json!({ "pass": pass.pass, "drink": americano() }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let order: Order = serde_json::from_value(body).unwrap();
    assert_eq!(order.state, OrderState::Queued);
    assert_eq!(order.number, Some(1));
    assert_eq!(cafe.code().await.remaining, 9);
    assert_eq!(cafe.redeemed_events().await, 1);

    // A pass starts one order only.
    let ben = cafe.customer("ben@example.com").await;
    let (status, body) = cafe.order(&ben, json!({ "pass": pass.pass })).await;
    refusal(status, &body, (422, "pass_expired"));
    assert_eq!(cafe.code().await.remaining, 9);

    // The code itself still orders as API.md says.
    let (status, body) = cafe
        .order(&ben, json!({ "code": code.code, "drink": americano() }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(cafe.code().await.remaining, 8);
}

#[tokio::test]
async fn a_pass_still_orders_after_its_code_ran_out_and_was_rotated() {
    let cafe = Cafe::open().await;
    let (status, body) = cafe
        .test
        .send(
            Method::PATCH,
            "/shops/main",
            Some(&cafe.admin),
            Some(json!({ "limits": { "drinks_per_code": 1 } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let code = cafe.code().await;
    let pass = cafe.pass(&code.code).await;

    // The pass took the code's only order: the next scan is told at once, with when the next
    // code comes.
    let (status, body) = cafe.scan(&code.code).await;
    let used_up = refusal(status, &body, (422, "code_exhausted"));
    let next = used_up.retry_after_s.expect("when the next code comes");
    assert!((1..=300).contains(&next), "{next}");

    // Meanwhile the owner replaces the code: the old one stops at once...
    let (status, body) = cafe
        .test
        .post("/shops/main/code/rotate", Some(&cafe.admin), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ana = cafe.customer("ana@example.com").await;
    let (status, body) = cafe.order(&ana, json!({ "code": code.code })).await;
    refusal(status, &body, (422, "code_expired"));
    let (status, body) = cafe.scan(&code.code).await;
    refusal(status, &body, (422, "code_expired"));

    // ...but the customer who scanned it in time still orders with the pass.
    let (status, body) = cafe
        .order(&ana, json!({ "pass": pass.pass, "drink": americano() }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let order: Order = serde_json::from_value(body).unwrap();
    assert_eq!(order.state, OrderState::Queued);
}

#[tokio::test]
async fn bad_scans_are_refused_before_sign_in_and_change_nothing() {
    let cafe = Cafe::open().await;
    let code = cafe.code().await;

    let (status, body) = cafe.scan("NOSUCHCD").await;
    refusal(status, &body, (422, "code_invalid"));
    let (status, body) = cafe.scan("   ").await;
    refusal(status, &body, (422, "code_invalid"));
    let (status, body) = cafe.scan(&"X".repeat(65)).await;
    refusal(status, &body, (422, "code_invalid"));
    let (status, body) = cafe
        .test
        .post(
            "/shops/main/passes",
            None,
            json!({ "code": code.code, "device": "d" }),
        )
        .await;
    refusal(status, &body, (422, "validation_failed"));
    let (status, body) = cafe
        .test
        .post("/shops/nowhere/passes", None, json!({ "code": code.code }))
        .await;
    refusal(status, &body, (404, "not_found"));

    // A closed shop gives no pass, however good the code.
    let (status, body) = cafe
        .test
        .send(
            Method::PATCH,
            "/shops/main",
            Some(&cafe.admin),
            Some(json!({ "open": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = cafe.scan(&code.code).await;
    refusal(status, &body, (409, "shop_closed"));

    assert_eq!(cafe.code().await.remaining, 10);
    assert_eq!(cafe.redeemed_events().await, 0);
    assert_eq!(cafe.test.count_rows("scan_passes").await, 0);
}

#[tokio::test]
async fn an_expired_a_strange_or_another_shop_s_pass_does_not_order() {
    let cafe = Cafe::open().await;
    let code = cafe.code().await;
    let ana = cafe.customer("ana@example.com").await;

    // A pass issued eleven minutes ago (through the store: the server's clock is real).
    let old = "pass_from_eleven_minutes_ago";
    let hash = espresso_server::auth::hash_secret(old);
    cafe.test
        .store()
        .issue_pass(
            &ShopId::main(),
            &code.code,
            &hash,
            Utc::now() - Duration::minutes(11),
        )
        .await
        .unwrap();
    let (status, body) = cafe.order(&ana, json!({ "pass": old })).await;
    refusal(status, &body, (422, "pass_expired"));

    let (status, body) = cafe
        .order(&ana, json!({ "pass": "pass_nobody_issued" }))
        .await;
    refusal(status, &body, (422, "code_invalid"));
    let (status, body) = cafe.order(&ana, json!({ "pass": "" })).await;
    refusal(status, &body, (422, "code_invalid"));

    // Both a code and a pass: which one? Neither is used.
    let pass = cafe.pass(&code.code).await;
    let (status, body) = cafe
        .order(&ana, json!({ "code": code.code, "pass": pass.pass }))
        .await;
    refusal(status, &body, (422, "validation_failed"));

    // Another shop's pass is not this shop's.
    let (status, body) = cafe
        .test
        .post(
            "/shops",
            Some(&cafe.admin),
            json!({ "id": "annex", "name": "Annex" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = cafe
        .test
        .send(
            Method::PATCH,
            "/shops/annex",
            Some(&cafe.admin),
            Some(json!({ "open": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = cafe
        .test
        .post(
            "/shops/annex/orders",
            Some(&ana),
            json!({ "pass": pass.pass }),
        )
        .await;
    refusal(status, &body, (422, "code_invalid"));

    // Nothing of those refusals used the pass: it still orders here.
    let (status, body) = cafe.order(&ana, json!({ "pass": pass.pass })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn no_pass_is_in_the_database_files_only_its_hash() {
    let cafe = Cafe::open().await;
    let code = cafe.code().await;
    let pass = cafe.pass(&code.code).await;
    let ana = cafe.customer("ana@example.com").await;
    let (status, body) = cafe.order(&ana, json!({ "pass": pass.pass })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let at_rest = cafe.test.at_rest().await;
    assert!(
        !at_rest.contains(&pass.pass),
        "the pass itself is in the database"
    );
    let hash = espresso_server::auth::hash_secret(&pass.pass);
    assert!(at_rest.contains(&hash));
}
