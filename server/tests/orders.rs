//! The order workflow over HTTP against the real server on 127.0.0.1:0: the happy path, every
//! refusal code, role checks, concurrent scans, deadlines (also across a restart), idempotency.
//!
//! Sessions are opened through the server's own store (the one-time-code flow has its own suite).

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::Utc;
use espresso_protocol::{
    BoothCode, EventType, Order, OrderDetail, OrderList, OrderState, Problem, Role, Shop, ShopId,
    TimeoutStage,
};
use espresso_server::Server;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod common;

/// The real server (the shared harness) and the order steps these tests repeat.
struct Cafe {
    test: common::TestServer,
}

struct Person {
    token: String,
}

impl Cafe {
    async fn open() -> Self {
        Self {
            test: common::TestServer::start().await,
        }
    }

    fn server(&self) -> &Server {
        self.test.server()
    }

    /// A signed-in person with `roles`, whose session is opened through the store (the
    /// one-time-code flow has its own suite).
    async fn person(&self, email: &str, roles: &[Role]) -> Person {
        self.test.grant(email, roles).await;
        let now = Utc::now();
        let user = self
            .test
            .store()
            .user_by_email(email)
            .await
            .unwrap()
            .unwrap();
        let session = espresso_server::auth::open_session(self.test.store(), &user, now)
            .await
            .unwrap();
        Person {
            token: session.access_token,
        }
    }

    async fn send(
        &self,
        who: Option<&Person>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.test
            .send(method, path, who.map(|p| p.token.as_str()), body)
            .await
    }

    async fn send_with(
        &self,
        who: Option<&Person>,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: &str,
    ) -> (StatusCode, Value) {
        let mut request = self
            .test
            .request(method, path, who.map(|p| p.token.as_str()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        common::read(request.header("Idempotency-Key", key).send().await.unwrap()).await
    }

    /// Send and expect success; the body as `T`.
    async fn ok<T: serde::de::DeserializeOwned>(
        &self,
        who: &Person,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> T {
        let (status, value) = self.send(Some(who), method, path, body).await;
        assert!(status.is_success(), "{path}: {status} {value}");
        serde_json::from_value(value).unwrap()
    }

    /// Send and expect a refusal with `code`.
    async fn refused(
        &self,
        who: &Person,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: u16,
        code: &str,
    ) -> Problem {
        let (got, value) = self.send(Some(who), method, path, body).await;
        assert_eq!(got.as_u16(), status, "{path}: {value}");
        let problem: Problem = serde_json::from_value(value).unwrap();
        assert_eq!(problem.code.as_str(), code, "{problem:?}");
        problem
    }

    async fn patch_limits(&self, admin: &Person, limits: Value) {
        let _: Shop = self
            .ok(
                admin,
                Method::PATCH,
                "/shops/main",
                Some(json!({ "limits": limits })),
            )
            .await;
    }

    async fn set_open(&self, barista: &Person, open: bool) {
        let shop: Shop = self
            .ok(
                barista,
                Method::PATCH,
                "/shops/main",
                Some(json!({ "open": open })),
            )
            .await;
        assert_eq!(shop.open, open);
    }

    async fn code(&self, display: &Person) -> BoothCode {
        self.ok(display, Method::GET, "/shops/main/code", None)
            .await
    }

    async fn order_with(&self, customer: &Person, code: &str, drink: Value) -> Order {
        let (status, value) = self
            .send(
                Some(customer),
                Method::POST,
                "/shops/main/orders",
                Some(json!({ "code": code, "drink": drink })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{value}");
        serde_json::from_value(value).unwrap()
    }

    async fn act(&self, who: &Person, order: &Order, action: &str) -> Order {
        self.ok(
            who,
            Method::POST,
            &format!("/shops/main/orders/{}/{action}", order.id),
            None,
        )
        .await
    }
}

fn americano() -> Value {
    json!({ "item_id": "americano", "options": {} })
}

/// A café with its shop open and an admin, a barista and a display signed in.
async fn open_cafe() -> (Cafe, Person, Person, Person) {
    let cafe = Cafe::open().await;
    let admin = cafe.person("owner@cafe.test", &[Role::Admin]).await;
    let barista = cafe.person("barista@cafe.test", &[Role::Barista]).await;
    let display = cafe.person("display@cafe.test", &[Role::Display]).await;
    cafe.set_open(&barista, true).await;
    (cafe, admin, barista, display)
}

#[tokio::test]
async fn a_drink_goes_from_scan_to_collected_and_its_journey_says_so() {
    let (cafe, _admin, barista, display) = open_cafe().await;
    let ana = cafe.person("ana@example.com", &[]).await;
    let code = cafe.code(&display).await;
    assert_eq!(code.remaining, 10);
    assert!(
        code.order_url
            .ends_with(&format!("/order?shop=main&code={}", code.code))
    );

    // Given a scan without a drink, when the customer chooses one, then it is queued as #1.
    let (status, value) = cafe
        .send(
            Some(&ana),
            Method::POST,
            "/shops/main/orders",
            Some(json!({ "code": code.code })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    let order: Order = serde_json::from_value(value).unwrap();
    assert_eq!(order.state, OrderState::AwaitingDrink);
    assert_eq!(order.number, None, "abandoned scans use no number");
    let drink = json!({ "item_id": "flat_white", "options": { "milk": "Oat" } });
    let order: Order = cafe
        .ok(
            &ana,
            Method::PUT,
            &format!("/shops/main/orders/{}/drink", order.id),
            Some(drink),
        )
        .await;
    assert_eq!((order.state, order.number), (OrderState::Queued, Some(1)));
    assert_eq!(order.drink.as_ref().unwrap().name, "Flat White");

    let order = cafe.act(&barista, &order, "claim").await;
    assert_eq!(order.state, OrderState::InProgress);
    assert!(order.barista_id.is_some());
    let order = cafe.act(&barista, &order, "complete").await;
    assert_eq!(order.state, OrderState::Ready);
    let order = cafe.act(&barista, &order, "collect").await;
    assert_eq!(order.state, OrderState::Collected);
    assert!(order.finished_at.is_some() && order.deadline_at.is_none());

    let detail: OrderDetail = cafe
        .ok(
            &ana,
            Method::GET,
            &format!("/shops/main/orders/{}", order.id),
            None,
        )
        .await;
    let journey: Vec<&str> = detail.journey.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        journey,
        [
            "order.created",
            "order.placed",
            "order.claimed",
            "order.completed",
            "order.collected"
        ]
    );
    assert!(detail.journey.windows(2).all(|w| w[0].seq < w[1].seq));

    let mine: OrderList = cafe.ok(&ana, Method::GET, "/me/orders", None).await;
    assert_eq!(mine.orders.len(), 1);
    let (status, stats) = cafe
        .send(None, Method::GET, "/shops/main/stats", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            stats["queue_length"].as_u64(),
            stats["served_today"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(
        stats["avg_wait_s"].as_u64(),
        Some(0),
        "made within a second"
    );
    assert_eq!(
        stats["by_item"],
        json!([{ "item_id": "flat_white", "served": 1, "avg_wait_s": 0 }])
    );
    let code_after = cafe.code(&display).await;
    assert_eq!(
        code_after.remaining, 9,
        "the scan used one drink of the code"
    );
}

#[tokio::test]
async fn every_start_refusal_has_its_own_code() {
    let (cafe, admin, barista, display) = open_cafe().await;
    let ana = cafe.person("ana@example.com", &[]).await;
    let code = cafe.code(&display).await.code;
    let start = |body: Value| (Method::POST, "/shops/main/orders", Some(body));

    // Unknown code; a drink that is not on the menu; an option the drink does not offer.
    let (m, p, b) = start(json!({ "code": "NOTACODE" }));
    cafe.refused(&ana, m, p, b, 422, "code_invalid").await;
    let (m, p, b) = start(json!({ "code": code, "drink": { "item_id": "mocha", "options": {} } }));
    cafe.refused(&ana, m, p, b, 422, "drink_invalid").await;
    let goat = json!({ "item_id": "flat_white", "options": { "milk": "Goat" } });
    let (m, p, b) = start(json!({ "code": code, "drink": goat }));
    cafe.refused(&ana, m, p, b, 422, "drink_invalid").await;

    // An 86'd drink.
    let _: Shop = cafe
        .ok(
            &barista,
            Method::PATCH,
            "/shops/main/menu/cappuccino",
            Some(json!({ "available": false })),
        )
        .await;
    let cappuccino = json!({ "item_id": "cappuccino", "options": { "milk": "Regular" } });
    let (m, p, b) = start(json!({ "code": code, "drink": cappuccino }));
    cafe.refused(&ana, m, p, b, 422, "item_unavailable").await;

    // One open order at a time; then the daily limit of one.
    let first = cafe.order_with(&ana, &code, americano()).await;
    let (m, p, b) = start(json!({ "code": code }));
    cafe.refused(&ana, m, p, b, 409, "open_order_exists").await;
    let first = cafe.act(&barista, &first, "claim").await;
    let first = cafe.act(&barista, &first, "complete").await;
    cafe.act(&barista, &first, "collect").await;
    let (m, p, b) = start(json!({ "code": code }));
    cafe.refused(&ana, m, p, b, 409, "daily_limit_reached")
        .await;

    // A full queue.
    cafe.patch_limits(&admin, json!({ "max_queue": 1, "max_orders_per_day": 0 }))
        .await;
    let ben = cafe.person("ben@example.com", &[]).await;
    let cy = cafe.person("cy@example.com", &[]).await;
    cafe.order_with(&ben, &code, americano()).await;
    let (m, p, b) = start(json!({ "code": code }));
    cafe.refused(&cy, m, p, b, 409, "queue_full").await;

    // A closed shop comes first.
    cafe.set_open(&barista, false).await;
    let (m, p, b) = start(json!({ "code": code }));
    cafe.refused(&cy, m, p, b, 409, "shop_closed").await;
}

#[tokio::test]
async fn a_used_up_code_is_exhausted() {
    let (cafe, admin, _barista, display) = open_cafe().await;
    cafe.patch_limits(
        &admin,
        json!({ "drinks_per_code": 1, "max_orders_per_day": 0 }),
    )
    .await;
    let code = cafe.code(&display).await.code;
    let ana = cafe.person("ana@example.com", &[]).await;
    let ben = cafe.person("ben@example.com", &[]).await;
    cafe.order_with(&ana, &code, americano()).await;
    let refusal = cafe
        .refused(
            &ben,
            Method::POST,
            "/shops/main/orders",
            Some(json!({ "code": code })),
            422,
            "code_exhausted",
        )
        .await;
    // It says when the booth screen shows the next code: within the code's window (300 s).
    let next = refusal.retry_after_s.expect("when the next code comes");
    assert!((1..=300).contains(&next), "{next}");
}

#[tokio::test]
async fn an_admin_replaces_the_code_now_and_the_old_one_stops_at_once() {
    let (cafe, admin, barista, display) = open_cafe().await;
    let ana = cafe.person("ana@example.com", &[]).await;
    let old = cafe.code(&display).await;
    let rotate = "/shops/main/code/rotate";

    // Only an admin may; the shop must exist.
    for who in [&barista, &display, &ana] {
        cafe.refused(who, Method::POST, rotate, None, 403, "forbidden")
            .await;
    }
    let (status, _) = cafe.send(None, Method::POST, rotate, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let nowhere = "/shops/nowhere/code/rotate";
    cafe.refused(&admin, Method::POST, nowhere, None, 404, "not_found")
        .await;
    assert_eq!(cafe.code(&display).await, old);

    // A new code, good for a whole window and all its drinks, is the current one at once.
    let new: BoothCode = cafe.ok(&admin, Method::POST, rotate, None).await;
    assert_ne!(new.code, old.code);
    assert_eq!(new.remaining, 10);
    assert_eq!(
        new.expires_at - new.issued_at,
        chrono::Duration::seconds(300)
    );
    assert_eq!(cafe.code(&display).await, new);

    // The old one is refused at once, though its window had minutes left: no grace.
    let start = |code: &str| Some(json!({ "code": code, "drink": americano() }));
    let orders = "/shops/main/orders";
    cafe.refused(
        &ana,
        Method::POST,
        orders,
        start(&old.code),
        422,
        "code_expired",
    )
    .await;
    cafe.order_with(&ana, &new.code, americano()).await;

    // The booth screen hears it: the newest `code.rotated` carries the new code.
    let events = cafe
        .test
        .store()
        .events_after(&ShopId::main(), 0, 1000)
        .await
        .unwrap();
    let rotated = events
        .iter()
        .rev()
        .find(|row| row.event.kind == EventType::CodeRotated)
        .unwrap();
    assert_eq!(rotated.event.code.as_ref(), Some(&new));

    // A retry with the same Idempotency-Key answers the same code and replaces nothing.
    let first = cafe
        .send_with(Some(&admin), Method::POST, rotate, None, "rotate-now-1")
        .await;
    assert_eq!(first.0, StatusCode::OK, "{}", first.1);
    let again = cafe
        .send_with(Some(&admin), Method::POST, rotate, None, "rotate-now-1")
        .await;
    assert_eq!(again, first);
    assert_eq!(cafe.code(&display).await.code, first.1["code"]);
}

#[tokio::test]
async fn wrong_moves_are_refused_with_the_current_state() {
    let (cafe, _admin, barista, display) = open_cafe().await;
    let other_barista = cafe.person("second@cafe.test", &[Role::Barista]).await;
    let ana = cafe.person("ana@example.com", &[]).await;
    let eve = cafe.person("eve@example.com", &[]).await;
    let code = cafe.code(&display).await.code;
    let order = cafe.order_with(&ana, &code, americano()).await;
    let path = |action: &str| format!("/shops/main/orders/{}/{action}", order.id);

    let problem = cafe
        .refused(
            &barista,
            Method::POST,
            &path("collect"),
            None,
            409,
            "invalid_transition",
        )
        .await;
    assert_eq!(problem.state, Some(OrderState::Queued));
    cafe.refused(&ana, Method::POST, &path("claim"), None, 403, "forbidden")
        .await;
    cafe.refused(
        &eve,
        Method::GET,
        &format!("/shops/main/orders/{}", order.id),
        None,
        404,
        "not_found",
    )
    .await;
    cafe.refused(&eve, Method::POST, &path("cancel"), None, 404, "not_found")
        .await;

    cafe.act(&barista, &order, "claim").await;
    cafe.refused(
        &other_barista,
        Method::POST,
        &path("claim"),
        None,
        409,
        "already_claimed",
    )
    .await;
    cafe.refused(
        &ana,
        Method::POST,
        &path("cancel"),
        None,
        409,
        "invalid_transition",
    )
    .await;
    // Staff may still cancel before it is ready, with a reason.
    let reason = json!({ "reason": "out of oat milk" });
    let cancelled: Order = cafe
        .ok(&barista, Method::POST, &path("cancel"), Some(reason))
        .await;
    assert_eq!(cancelled.state, OrderState::Cancelled);
    assert_eq!(cancelled.cancel_reason.as_deref(), Some("out of oat milk"));
}

#[tokio::test]
async fn staff_routes_refuse_customers_and_strangers() {
    let (cafe, _admin, _barista, _display) = open_cafe().await;
    let ana = cafe.person("ana@example.com", &[]).await;
    for (method, path, body) in [
        (Method::GET, "/shops/main/orders", None),
        (Method::GET, "/shops/main/code", None),
        (Method::PATCH, "/shops/main", Some(json!({ "open": false }))),
        (
            Method::PATCH,
            "/shops/main/menu/americano",
            Some(json!({ "available": false })),
        ),
        (Method::PUT, "/shops/main/menu", Some(json!([]))),
        // The role is checked before the order is looked up: no such order is still 403.
        (Method::POST, "/shops/main/orders/no-such-order/claim", None),
        (
            Method::POST,
            "/shops/main/orders/no-such-order/unclaim",
            None,
        ),
        (
            Method::POST,
            "/shops/main/orders/no-such-order/complete",
            None,
        ),
        (
            Method::POST,
            "/shops/main/orders/no-such-order/collect",
            None,
        ),
    ] {
        cafe.refused(&ana, method.clone(), path, body.clone(), 403, "forbidden")
            .await;
        let (status, value) = cafe.send(None, method, path, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {value}");
        assert_eq!(value["code"], "unauthenticated");
    }
    let (status, _) = cafe.send(None, Method::GET, "/shops/main", None).await;
    assert_eq!(status, StatusCode::OK, "the shop is public");
}

#[tokio::test]
async fn fifty_simultaneous_scans_of_a_ten_drink_code_start_exactly_ten_orders() {
    let (cafe, admin, _barista, display) = open_cafe().await;
    cafe.patch_limits(&admin, json!({ "max_queue": 100 })).await;
    let code = cafe.code(&display).await.code;
    let mut people = Vec::new();
    for i in 0..50 {
        people.push(cafe.person(&format!("guest{i}@example.com"), &[]).await);
    }
    let results = futures::future::join_all(people.iter().map(|p| {
        let body = json!({ "code": code, "drink": americano() });
        cafe.send(Some(p), Method::POST, "/shops/main/orders", Some(body))
    }))
    .await;
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let exhausted = results
        .iter()
        .filter(|(_, v)| v["code"] == "code_exhausted")
        .count();
    assert_eq!((created, exhausted), (10, 40));
    let mut numbers: Vec<u64> = results
        .iter()
        .filter_map(|(_, v)| v["number"].as_u64())
        .collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=10).collect::<Vec<_>>(),
        "numbers are unique and gap-free"
    );
}

async fn wait_for_state(cafe: &Cafe, who: &Person, order: &Order, state: OrderState) -> Order {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let path = format!("/shops/main/orders/{}", order.id);
        let (status, value) = cafe.send(Some(who), Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK);
        let current: Order = serde_json::from_value(value).unwrap();
        if current.state == state {
            return current;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "order still {:?}, expected {state:?}",
            current.state
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_customer_who_never_chooses_times_out_once() {
    let (cafe, admin, _barista, display) = open_cafe().await;
    cafe.patch_limits(&admin, json!({ "customer_timeout_s": 1 }))
        .await;
    let ana = cafe.person("ana@example.com", &[]).await;
    let code = cafe.code(&display).await.code;
    let (_, value) = cafe
        .send(
            Some(&ana),
            Method::POST,
            "/shops/main/orders",
            Some(json!({ "code": code })),
        )
        .await;
    let order: Order = serde_json::from_value(value).unwrap();
    let order = wait_for_state(&cafe, &ana, &order, OrderState::TimedOut).await;
    assert_eq!(order.timeout_stage, Some(TimeoutStage::Customer));
    let detail: OrderDetail = cafe
        .ok(
            &ana,
            Method::GET,
            &format!("/shops/main/orders/{}", order.id),
            None,
        )
        .await;
    assert_eq!(
        detail
            .journey
            .iter()
            .filter(|s| s.kind.as_str() == "order.timed_out")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_deadline_that_falls_due_while_the_server_is_down_fires_on_start() {
    let (mut cafe, admin, _barista, display) = open_cafe().await;
    cafe.patch_limits(&admin, json!({ "barista_timeout_s": 1 }))
        .await;
    let ana = cafe.person("ana@example.com", &[]).await;
    let code = cafe.code(&display).await.code;
    let order = cafe.order_with(&ana, &code, americano()).await;
    let due = order.deadline_at.unwrap();

    cafe.test.stop().await;
    // Stay down until the deadline has passed (a condition on the clock, bounded by `due`).
    while Utc::now() <= due + chrono::Duration::milliseconds(100) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cafe.test.start_again().await;
    let path = format!("/shops/main/orders/{}", order.id);
    let detail: OrderDetail = cafe.ok(&ana, Method::GET, &path, None).await;
    assert_eq!(
        detail.order.state,
        OrderState::TimedOut,
        "fired during start, before serving"
    );
    assert_eq!(detail.order.timeout_stage, Some(TimeoutStage::Barista));
    cafe.test.restart().await;
    let detail: OrderDetail = cafe.ok(&ana, Method::GET, &path, None).await;
    let fired = detail
        .journey
        .iter()
        .filter(|s| s.kind.as_str() == "order.timed_out")
        .count();
    assert_eq!(fired, 1, "never twice");
}

#[tokio::test]
async fn a_retried_order_with_the_same_key_is_the_same_order() {
    let (cafe, _admin, _barista, display) = open_cafe().await;
    let ana = cafe.person("ana@example.com", &[]).await;
    let code = cafe.code(&display).await.code;
    let body = json!({ "code": code, "drink": americano() });
    let path = "/shops/main/orders";
    let (first_status, first) = cafe
        .send_with(Some(&ana), Method::POST, path, Some(body.clone()), "k-1")
        .await;
    let (again_status, again) = cafe
        .send_with(Some(&ana), Method::POST, path, Some(body), "k-1")
        .await;
    assert_eq!(
        (first_status, again_status),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert_eq!(first["id"], again["id"]);
    let mine: OrderList = cafe.ok(&ana, Method::GET, "/me/orders", None).await;
    assert_eq!(mine.orders.len(), 1, "the retry ordered nothing more");

    let other = json!({ "code": "OTHER" });
    let (status, problem) = cafe
        .send_with(Some(&ana), Method::POST, path, Some(other), "k-1")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["code"], "idempotency_key_reused");
}

#[tokio::test]
async fn bad_bodies_get_problems_not_server_errors() {
    let (cafe, _admin, barista, _display) = open_cafe().await;
    let ana = cafe.person("ana@example.com", &[]).await;
    // A malformed query is a problem too.
    let (status, problem) = cafe
        .send(
            Some(&barista),
            Method::GET,
            "/shops/main/orders?limit=lots",
            None,
        )
        .await;
    assert_eq!(
        (status.as_u16(), problem["code"].as_str()),
        (422, Some("validation_failed"))
    );
    let too_big = cafe
        .test
        .http
        .post(format!(
            "{}/api/v1/shops/main/orders/nope/cancel",
            cafe.server().url()
        ))
        .bearer_auth(&ana.token)
        .body(vec![b' '; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status().as_u16(), 413);
    assert_eq!(
        too_big.headers()["content-type"],
        "application/problem+json"
    );
    let url = format!("{}/api/v1/shops/main/orders", cafe.server().url());
    for (body, content_type, status, code) in [
        (
            b"{not json".to_vec(),
            "application/json",
            400,
            "bad_request",
        ),
        (
            br#"{"code": 5}"#.to_vec(),
            "application/json",
            422,
            "validation_failed",
        ),
        (
            br#"{"code": "A", "tip": 5}"#.to_vec(),
            "application/json",
            422,
            "validation_failed",
        ),
        (
            br#"{"code": "A"}"#.to_vec(),
            "text/plain",
            415,
            "unsupported_media_type",
        ),
        (
            vec![b' '; 70 * 1024],
            "application/json",
            413,
            "payload_too_large",
        ),
    ] {
        let response = cafe
            .test
            .http
            .post(&url)
            .bearer_auth(&ana.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{code}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Problem = response.json().await.unwrap();
        assert_eq!(problem.code.as_str(), code);
    }
}

#[tokio::test]
async fn an_admin_creates_a_second_shop_that_runs_on_its_own() {
    let cafe = Cafe::open().await;
    let admin = cafe.person("owner@cafe.test", &[Role::Admin]).await;
    let barista = cafe.person("barista@cafe.test", &[Role::Barista]).await;
    let ann = cafe.person("ann@example.com", &[]).await;
    let event = json!({ "id": "reinvent-day-2", "name": "Espresso at Re:Invent" });

    // Given only an admin may create one, with a valid id and name,
    cafe.refused(
        &barista,
        Method::POST,
        "/shops",
        Some(event.clone()),
        403,
        "forbidden",
    )
    .await;
    for bad in [
        json!({ "id": "", "name": "Empty id" }),
        json!({ "id": "has space", "name": "Space" }),
        json!({ "id": "ok", "name": "   " }),
        json!({ "id": "ok", "name": "x", "menu": [] }),
    ] {
        let (status, body) = cafe
            .send(Some(&admin), Method::POST, "/shops", Some(bad.clone()))
            .await;
        assert_eq!(status.as_u16(), 422, "{bad}: {body}");
    }
    // when the admin creates it,
    let (status, body) = cafe
        .send(Some(&admin), Method::POST, "/shops", Some(event.clone()))
        .await;
    assert_eq!(status.as_u16(), 201, "{body}");
    let shop: Shop = serde_json::from_value(body).unwrap();
    assert_eq!((shop.id.as_str(), shop.open), ("reinvent-day-2", false));
    assert_eq!(shop.name, "Espresso at Re:Invent");
    // then the id is taken,
    cafe.refused(
        &admin,
        Method::POST,
        "/shops",
        Some(event),
        409,
        "shop_exists",
    )
    .await;
    // and the new shop has its own log, its own code and its own numbers: main is untouched.
    assert_eq!(
        cafe.test
            .store()
            .head(&ShopId::new("reinvent-day-2"))
            .await
            .unwrap(),
        1
    );
    let _: Shop = cafe
        .ok(
            &barista,
            Method::PATCH,
            "/shops/reinvent-day-2",
            Some(json!({ "open": true })),
        )
        .await;
    let code: Value = cafe
        .ok(&barista, Method::GET, "/shops/reinvent-day-2/code", None)
        .await;
    let order: Value = cafe
        .ok(
            &ann,
            Method::POST,
            "/shops/reinvent-day-2/orders",
            Some(json!({ "code": code["code"], "drink": { "item_id": "espresso" } })),
        )
        .await;
    assert_eq!(order["number"], 1);
    assert_eq!(order["shop"], "reinvent-day-2");
    let main: Shop = cafe.ok(&ann, Method::GET, "/shops/main", None).await;
    assert!(!main.open, "opening the event's shop leaves main closed");
}
