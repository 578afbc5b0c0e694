//! The owner's console (issue 19) over HTTP against the real server on 127.0.0.1:0: the staff
//! list and the last-admin guard, option-level 86, the shop's time zone, the Ready expiry and
//! the orders CSV. Each refusal changes nothing.

mod common;

use chrono::Utc;
use common::{TestServer, problem, sign_in, sign_in_as};
use espresso_protocol::{
    BoothCode, DemoState, ErrorCode, ItemCount, Order, OrderDetail, OrderList, OrderState, Role,
    Shop, ShopId, ShopSummary, StaffMember, Stats, StatsReport, TimeoutStage,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An access token for `email` holding `roles`, opened through the server's store (the
/// one-time-code flow has its own suite).
async fn token(server: &TestServer, email: &str, roles: &[Role]) -> String {
    server.grant(email, roles).await;
    let user = server
        .store()
        .user_by_email(email)
        .await
        .expect("the store answers")
        .expect("the user was just made");
    espresso_server::auth::open_session(server.store(), &user, Utc::now())
        .await
        .expect("a session")
        .access_token
}

/// Send and expect success; the body as `T`.
async fn ok<T: serde::de::DeserializeOwned>(
    server: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> T {
    let (status, value) = server.send(method, path, Some(token), body).await;
    assert!(status.is_success(), "{path}: {status} {value}");
    serde_json::from_value(value).expect("the documented answer")
}

/// A shop `main` open, and its admin, barista and display.
struct Bar {
    admin: String,
    barista: String,
    display: String,
}

async fn open_bar(server: &TestServer) -> Bar {
    let bar = Bar {
        admin: token(server, "owner@cafe.test", &[Role::Admin]).await,
        barista: token(server, "barista@cafe.test", &[Role::Barista]).await,
        display: token(server, "display@cafe.test", &[Role::Display]).await,
    };
    let shop: Shop = ok(
        server,
        &bar.barista,
        Method::PATCH,
        "/shops/main",
        Some(json!({"open": true})),
    )
    .await;
    assert!(shop.open);
    bar
}

async fn booth_code(server: &TestServer, bar: &Bar) -> String {
    let code: BoothCode = ok(server, &bar.display, Method::GET, "/shops/main/code", None).await;
    code.code
}

/// Start an order with `drink` (or none); the status and the answer.
async fn start(
    server: &TestServer,
    bar: &Bar,
    customer: &str,
    drink: Option<Value>,
) -> (StatusCode, Value) {
    let code = booth_code(server, bar).await;
    let mut body = json!({ "code": code });
    if let Some(drink) = drink {
        body["drink"] = drink;
    }
    server
        .post("/shops/main/orders", Some(customer), body)
        .await
}

fn flat_white(milk: &str) -> Value {
    json!({"item_id": "flat_white", "options": {"milk": milk}})
}

fn assert_problem(status: StatusCode, body: &Value, expected: StatusCode, code: ErrorCode) {
    assert_eq!(status, expected, "{body}");
    let problem = problem(body);
    assert_eq!(problem.code, code, "{body}");
    assert_eq!(problem.status, expected.as_u16(), "{body}");
}

async fn put_roles(
    server: &TestServer,
    token: &str,
    email: &str,
    roles: Value,
) -> (StatusCode, Value) {
    server
        .send(
            Method::PUT,
            &format!("/users/{email}/roles"),
            Some(token),
            Some(json!({ "roles": roles })),
        )
        .await
}

async fn staff(server: &TestServer, token: &str) -> Vec<StaffMember> {
    let (status, body) = server.get("/staff", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).expect("a staff list")
}

// --- Staff ----------------------------------------------------------------------------------

#[tokio::test]
async fn the_staff_list_has_everyone_with_a_role_by_email_and_no_plain_customers() {
    let server = TestServer::start().await;
    let admin = sign_in_as(&server, "owner@example.com", &[Role::Admin]).await;
    let token = admin.access_token.as_str();
    // A customer who has signed in, and staff set up before their first sign-in.
    let customer = sign_in(&server, "ann@example.com").await;
    let (status, body) = put_roles(&server, token, "zoe@example.com", json!(["barista"])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = put_roles(
        &server,
        token,
        "booth@example.com",
        json!(["display", "barista"]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server
        .send(
            Method::PATCH,
            "/me",
            Some(token),
            Some(json!({"display_name": "Olga"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let list = staff(&server, token).await;
    let emails: Vec<&str> = list.iter().map(|m| m.email.as_str()).collect();
    assert_eq!(
        emails,
        ["booth@example.com", "owner@example.com", "zoe@example.com"]
    );
    assert_eq!(
        list[0].roles,
        [Role::Customer, Role::Barista, Role::Display]
    );
    assert_eq!(list[0].display_name, None);
    assert_eq!(list[1].roles, [Role::Customer, Role::Admin]);
    assert_eq!(list[1].display_name.as_deref(), Some("Olga"));
    assert_eq!(list[1].id, admin.user.id);
    assert!(!emails.contains(&"ann@example.com"));

    // Taking every role away takes them off the list.
    let (status, body) = put_roles(&server, token, "zoe@example.com", json!([])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list = staff(&server, token).await;
    assert!(list.iter().all(|m| m.email != "zoe@example.com"));

    // The answer's shape, as the console reads it.
    let (_, body) = server.get("/staff", Some(token)).await;
    assert_eq!(
        body[0],
        json!({
            "id": list[0].id,
            "email": "booth@example.com",
            "display_name": null,
            "roles": ["customer", "barista", "display"]
        })
    );
    drop(customer);
}

#[tokio::test]
async fn the_staff_list_is_for_admins_only() {
    let server = TestServer::start().await;
    let (status, body) = server.get("/staff", None).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
    for (email, roles) in [
        ("ann@example.com", vec![]),
        ("bob@example.com", vec![Role::Barista]),
        ("dee@example.com", vec![Role::Display]),
    ] {
        let session = sign_in_as(&server, email, &roles).await;
        let (status, body) = server.get("/staff", Some(&session.access_token)).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, ErrorCode::Forbidden);
    }
}

#[tokio::test]
async fn the_last_admin_cannot_lose_the_admin_role_and_nothing_changes() {
    let server = TestServer::start().await;
    let owner = sign_in_as(&server, "owner@example.com", &[Role::Admin]).await;
    let token = owner.access_token.as_str();

    // Alone, the owner cannot step down — not even to barista.
    for roles in [json!([]), json!(["barista", "display"])] {
        let (status, body) = put_roles(&server, token, "owner@example.com", roles).await;
        assert_problem(status, &body, StatusCode::CONFLICT, ErrorCode::LastAdmin);
        assert_eq!(
            problem(&body).detail.as_deref(),
            Some("The last admin cannot lose the admin role: make someone else an admin first")
        );
    }
    let (_, me) = server.get("/me", Some(token)).await;
    assert_eq!(me["roles"], json!(["customer", "admin"]));
    let list = staff(&server, token).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].roles, [Role::Customer, Role::Admin]);

    // Keeping admin while changing the rest is fine.
    let (status, body) = put_roles(
        &server,
        token,
        "owner@example.com",
        json!(["admin", "barista"]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // With a second admin, the first may step down; then the second is the last.
    let (status, body) = put_roles(&server, token, "partner@example.com", json!(["admin"])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = put_roles(&server, token, "owner@example.com", json!(["barista"])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["roles"], json!(["customer", "barista"]));
    let partner = sign_in(&server, "partner@example.com").await;
    let (status, body) = put_roles(
        &server,
        &partner.access_token,
        "partner@example.com",
        json!([]),
    )
    .await;
    assert_problem(status, &body, StatusCode::CONFLICT, ErrorCode::LastAdmin);
    let (_, me) = server.get("/me", Some(&partner.access_token)).await;
    assert_eq!(me["roles"], json!(["customer", "admin"]));
}

// --- Option-level 86 ------------------------------------------------------------------------

const OAT_ON_FLAT_WHITE: &str = "/shops/main/menu/flat_white/modifiers/milk";

async fn set_option(
    server: &TestServer,
    token: &str,
    path: &str,
    option: &str,
    available: bool,
) -> (StatusCode, Value) {
    server
        .send(
            Method::PATCH,
            path,
            Some(token),
            Some(json!({"option": option, "available": available})),
        )
        .await
}

#[tokio::test]
async fn a_barista_marks_oat_milk_out_and_an_order_with_it_is_refused_naming_it() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let (status, body) = set_option(&server, &bar.barista, OAT_ON_FLAT_WHITE, "Oat", false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shop: Shop = serde_json::from_value(body.clone()).unwrap();
    let milk = shop.item("flat_white").unwrap().modifier("milk").unwrap();
    assert_eq!(milk.unavailable, ["Oat"]);
    assert!(!milk.is_available("Oat"));
    assert!(milk.is_available("Regular"));
    // Only that drink's group; the others read as before (no `unavailable` member).
    assert!(
        body["menu"][0]["modifiers"][0].get("unavailable").is_none(),
        "{body}"
    );
    assert_eq!(
        body["menu"][1]["modifiers"][0]["unavailable"],
        json!(["Oat"])
    );

    // Starting with it, or choosing it later, is refused and names the option.
    let ann = token(&server, "ann@example.com", &[]).await;
    let (status, body) = start(&server, &bar, &ann, Some(flat_white("Oat"))).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ItemUnavailable,
    );
    assert_eq!(problem(&body).detail.as_deref(), Some("Oat is out"));
    let (status, body) = start(&server, &bar, &ann, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let order: Order = serde_json::from_value(body).unwrap();
    let drink_path = format!("/shops/main/orders/{}/drink", order.id);
    let (status, body) = server
        .send(
            Method::PUT,
            &drink_path,
            Some(&ann),
            Some(flat_white("Oat")),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ItemUnavailable,
    );
    assert_eq!(problem(&body).detail.as_deref(), Some("Oat is out"));
    // Regular milk still goes through.
    let order: Order = ok(
        &server,
        &ann,
        Method::PUT,
        &drink_path,
        Some(flat_white("Regular")),
    )
    .await;
    assert_eq!(order.state, OrderState::Queued);

    // Back on: oat orders go through again.
    let (status, body) = set_option(&server, &bar.barista, OAT_ON_FLAT_WHITE, "Oat", true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["menu"][1]["modifiers"][0].get("unavailable").is_none(),
        "{body}"
    );
    let bo = token(&server, "bo@example.com", &[]).await;
    let (status, body) = start(&server, &bar, &bo, Some(flat_white("Oat"))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn marking_an_option_out_needs_a_barista_and_refusals_change_nothing() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let customer = token(&server, "ann@example.com", &[]).await;
    let (status, body) = server
        .send(
            Method::PATCH,
            OAT_ON_FLAT_WHITE,
            None,
            Some(json!({"option": "Oat", "available": false})),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
    for who in [&customer, &bar.display] {
        let (status, body) = set_option(&server, who, OAT_ON_FLAT_WHITE, "Oat", false).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, ErrorCode::Forbidden);
    }
    for path in [
        "/shops/main/menu/tea/modifiers/milk",
        "/shops/main/menu/espresso/modifiers/milk",
        "/shops/main/menu/flat_white/modifiers/syrup",
        "/shops/nowhere/menu/flat_white/modifiers/milk",
    ] {
        let (status, body) = set_option(&server, &bar.barista, path, "Oat", false).await;
        assert_problem(status, &body, StatusCode::NOT_FOUND, ErrorCode::NotFound);
    }
    let (status, body) = set_option(&server, &bar.barista, OAT_ON_FLAT_WHITE, "Soy", false).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
    );
    assert!(problem(&body).detail.unwrap().contains("Soy"));
    let (status, body) = server
        .send(
            Method::PATCH,
            OAT_ON_FLAT_WHITE,
            Some(&bar.barista),
            Some(json!({"option": "Oat", "available": false, "price": 1})),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
    );
    let (_, shop) = server.get("/shops/main", None).await;
    assert_eq!(
        shop["menu"],
        serde_json::to_value(Shop::default_main().menu).unwrap()
    );

    // An admin may, as a barista may.
    let (status, body) = set_option(&server, &bar.admin, OAT_ON_FLAT_WHITE, "Oat", false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn marking_an_option_out_with_a_key_twice_is_answered_once() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let send = || {
        server
            .request(Method::PATCH, OAT_ON_FLAT_WHITE, Some(&bar.barista))
            .header("Idempotency-Key", "oat-out-1")
            .json(&json!({"option": "Oat", "available": false}))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let other = server
        .request(Method::PATCH, OAT_ON_FLAT_WHITE, Some(&bar.barista))
        .header("Idempotency-Key", "oat-out-1")
        .json(&json!({"option": "Oat", "available": true}))
        .send()
        .await
        .unwrap();
    let (status, body) = common::read(other).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::IdempotencyKeyReused,
    );
}

#[tokio::test]
async fn a_menu_put_keeps_options_out_and_refuses_one_the_group_does_not_offer() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let mut menu = serde_json::to_value(Shop::default_main().menu).unwrap();
    menu[1]["modifiers"][0]["unavailable"] = json!(["Soy"]);
    let (status, body) = server
        .send(
            Method::PUT,
            "/shops/main/menu",
            Some(&bar.admin),
            Some(menu.clone()),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
    );
    assert!(problem(&body).detail.unwrap().contains("Soy"));
    let (_, shop) = server.get("/shops/main", None).await;
    assert!(shop["menu"][1]["modifiers"][0].get("unavailable").is_none());

    menu[1]["modifiers"][0]["unavailable"] = json!(["Oat"]);
    let shop: Shop = ok(
        &server,
        &bar.admin,
        Method::PUT,
        "/shops/main/menu",
        Some(menu),
    )
    .await;
    assert_eq!(
        shop.item("flat_white")
            .unwrap()
            .modifier("milk")
            .unwrap()
            .unavailable,
        ["Oat"]
    );
}

// --- Time zone -------------------------------------------------------------------------------

/// Seconds from now to the next midnight in `zone`, computed here on its own.
fn to_next_midnight_in(zone: chrono_tz::Tz) -> i64 {
    use chrono::TimeZone as _;
    let now = Utc::now();
    let tomorrow = now
        .with_timezone(&zone)
        .date_naive()
        .succ_opt()
        .expect("a tomorrow");
    let midnight = zone
        .from_local_datetime(&tomorrow.and_hms_opt(0, 0, 0).expect("a midnight"))
        .earliest()
        .expect("midnight exists there");
    (midnight.with_timezone(&Utc) - now).num_seconds()
}

#[tokio::test]
async fn an_admin_sets_the_shops_time_zone_and_the_daily_limit_resets_at_its_midnight() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let (_, shop) = server.get("/shops/main", None).await;
    assert_eq!(shop["time_zone"], "UTC", "{shop}");

    let shop: Shop = ok(
        &server,
        &bar.admin,
        Method::PATCH,
        "/shops/main",
        Some(json!({"time_zone": "Pacific/Kiritimati", "limits": {"max_orders_per_day": 1}})),
    )
    .await;
    assert_eq!(shop.time_zone, "Pacific/Kiritimati");

    // Ann's second order of the day is refused until midnight at the shop (UTC+14 there).
    let ann = token(&server, "ann@example.com", &[]).await;
    let (status, body) = start(
        &server,
        &bar,
        &ann,
        Some(json!({"item_id": "espresso", "options": {}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let order: Order = serde_json::from_value(body).unwrap();
    let path = format!("/shops/main/orders/{}/cancel", order.id);
    let (status, body) = server.post(&path, Some(&bar.barista), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A cancelled order does not count; a second one does.
    let (status, body) = start(
        &server,
        &bar,
        &ann,
        Some(json!({"item_id": "espresso", "options": {}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let order: Order = serde_json::from_value(body).unwrap();
    for action in ["claim", "complete", "collect"] {
        let path = format!("/shops/main/orders/{}/{action}", order.id);
        let (status, body) = server.post(&path, Some(&bar.barista), json!(null)).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }
    let (status, body) = start(&server, &bar, &ann, None).await;
    assert_problem(
        status,
        &body,
        StatusCode::CONFLICT,
        ErrorCode::DailyLimitReached,
    );
    let retry = i64::try_from(problem(&body).retry_after_s.unwrap()).unwrap();
    let expected = to_next_midnight_in(chrono_tz::Pacific::Kiritimati);
    assert!(
        (retry - expected).abs() <= 5,
        "{retry} s, expected {expected} s"
    );
}

#[tokio::test]
async fn a_time_zone_is_an_admins_and_an_unknown_one_changes_nothing() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let patch = json!({"time_zone": "Europe/Paris"});
    let (status, body) = server
        .send(
            Method::PATCH,
            "/shops/main",
            Some(&bar.barista),
            Some(patch),
        )
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, ErrorCode::Forbidden);
    for bad in ["Mars/Olympus_Mons", "", "PST8PDT/x", "+01:00"] {
        let (status, body) = server
            .send(
                Method::PATCH,
                "/shops/main",
                Some(&bar.admin),
                Some(json!({"time_zone": bad, "name": "Renamed"})),
            )
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
        );
        assert!(
            problem(&body).detail.unwrap().contains("unknown time zone"),
            "{body}"
        );
    }
    let (_, shop) = server.get("/shops/main", None).await;
    assert_eq!(shop["time_zone"], "UTC");
    assert_eq!(shop["name"], "Espresso");

    // A new shop: its own zone, or UTC when none is given; an unknown one makes no shop.
    let (status, body) = server
        .post(
            "/shops",
            Some(&bar.admin),
            json!({"id": "vegas", "name": "Vegas pop-up", "time_zone": "America/Los_Angeles"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["time_zone"], "America/Los_Angeles");
    let (status, body) = server
        .post(
            "/shops",
            Some(&bar.admin),
            json!({"id": "leeds", "name": "Leeds"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["time_zone"], "UTC");
    let (status, body) = server
        .post(
            "/shops",
            Some(&bar.admin),
            json!({"id": "moon", "name": "Moon", "time_zone": "Moon/Base"}),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
    );
    let (status, _) = server.get("/shops/moon", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// --- Ready expiry ----------------------------------------------------------------------------

/// Poll the order until it is in `state` (10 s at most).
async fn wait_for_state(
    server: &TestServer,
    token: &str,
    id: &str,
    state: OrderState,
) -> OrderDetail {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let detail: OrderDetail = ok(
            server,
            token,
            Method::GET,
            &format!("/shops/main/orders/{id}"),
            None,
        )
        .await;
        if detail.order.state == state {
            return detail;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "order still {:?}, expected {state:?}",
            detail.order.state
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_ready_order_not_collected_in_time_leaves_the_bar_frees_its_customer_and_counts() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let shop: Shop = ok(
        &server,
        &bar.admin,
        Method::PATCH,
        "/shops/main",
        Some(json!({"limits": {"ready_expiry_s": 1}})),
    )
    .await;
    assert_eq!(shop.limits.ready_expiry_s, 1);
    let ann = token(&server, "ann@example.com", &[]).await;
    let espresso = json!({"item_id": "espresso", "options": {}});
    let (status, body) = start(&server, &bar, &ann, Some(espresso.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let order: Order = serde_json::from_value(body).unwrap();
    for action in ["claim", "complete"] {
        let path = format!("/shops/main/orders/{}/{action}", order.id);
        let _: Order = ok(&server, &bar.barista, Method::POST, &path, None).await;
    }

    let detail = wait_for_state(&server, &ann, &order.id, OrderState::TimedOut).await;
    assert_eq!(detail.order.timeout_stage, Some(TimeoutStage::Collection));
    assert!(detail.order.ready_at.is_some(), "it was made");
    assert_eq!(detail.order.deadline_at, None);
    let fired = detail
        .journey
        .iter()
        .filter(|step| step.kind.as_str() == "order.timed_out")
        .count();
    assert_eq!(fired, 1);
    // It leaves the boards and the counts; it counts as not collected.
    let ready: OrderList = ok(
        &server,
        &bar.display,
        Method::GET,
        "/shops/main/orders?state=ready",
        None,
    )
    .await;
    assert!(ready.orders.is_empty());
    let (_, stats) = server.get("/shops/main/stats", None).await;
    let stats: Stats = serde_json::from_value(stats).unwrap();
    assert_eq!(stats.ready, 0);
    assert_eq!(stats.served_today, 0);
    assert_eq!(stats.not_collected_today, 1);
    // It was too late to hand it over now.
    let path = format!("/shops/main/orders/{}/collect", order.id);
    let (status, body) = server.post(&path, Some(&bar.barista), json!(null)).await;
    assert_problem(
        status,
        &body,
        StatusCode::CONFLICT,
        ErrorCode::InvalidTransition,
    );
    // Ann (one order a day) may order again.
    let (status, body) = start(&server, &bar, &ann, Some(espresso)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_ready_expiry_of_zero_keeps_a_ready_order_and_limits_check_it() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let (_, shop) = server.get("/shops/main", None).await;
    assert_eq!(shop["limits"]["ready_expiry_s"], 1800);
    let patch = json!({"limits": {"ready_expiry_s": 0}});
    let (status, body) = server
        .send(
            Method::PATCH,
            "/shops/main",
            Some(&bar.barista),
            Some(patch.clone()),
        )
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, ErrorCode::Forbidden);
    for bad in [json!(-1), json!("soon"), json!(1.5)] {
        let (status, body) = server
            .send(
                Method::PATCH,
                "/shops/main",
                Some(&bar.admin),
                Some(json!({"limits": {"ready_expiry_s": bad}})),
            )
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
        );
    }
    let shop: Shop = ok(
        &server,
        &bar.admin,
        Method::PATCH,
        "/shops/main",
        Some(patch),
    )
    .await;
    assert_eq!(shop.limits.ready_expiry_s, 0);
    let ann = token(&server, "ann@example.com", &[]).await;
    let (status, body) = start(
        &server,
        &bar,
        &ann,
        Some(json!({"item_id": "espresso", "options": {}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let order: Order = serde_json::from_value(body).unwrap();
    for action in ["claim", "complete"] {
        let path = format!("/shops/main/orders/{}/{action}", order.id);
        let _: Order = ok(&server, &bar.barista, Method::POST, &path, None).await;
    }
    let detail: OrderDetail = ok(
        &server,
        &ann,
        Method::GET,
        &format!("/shops/main/orders/{}", order.id),
        None,
    )
    .await;
    assert_eq!(detail.order.state, OrderState::Ready);
    assert_eq!(detail.order.deadline_at, None, "never expires");
}

// --- Orders CSV ------------------------------------------------------------------------------

/// `GET …/orders.csv` with `query`: the status, the content type and the body as text.
async fn csv(
    server: &TestServer,
    token: Option<&str>,
    query: &str,
) -> (StatusCode, String, String) {
    let response = server
        .request(
            Method::GET,
            &format!("/shops/main/orders.csv{query}"),
            token,
        )
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.expect("a body"))
}

#[tokio::test]
async fn an_admin_exports_todays_orders_as_csv_one_row_each_with_its_times() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let shop: Shop = ok(
        &server,
        &bar.admin,
        Method::PATCH,
        "/shops/main",
        Some(json!({"limits": {"max_orders_per_day": 0}})),
    )
    .await;
    assert_eq!(shop.limits.max_orders_per_day, 0);
    let ann = token(&server, "ann@example.com", &[]).await;
    let (status, body) = server
        .send(
            Method::PATCH,
            "/me",
            Some(&ann),
            Some(json!({"display_name": "=Ann, \"the\" first"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // One handed over, one cancelled with a reason, one still awaiting its drink.
    let (_, body) = start(&server, &bar, &ann, Some(flat_white("Oat"))).await;
    let served: Order = serde_json::from_value(body).unwrap();
    for action in ["claim", "complete", "collect"] {
        let path = format!("/shops/main/orders/{}/{action}", served.id);
        let _: Order = ok(&server, &bar.barista, Method::POST, &path, None).await;
    }
    let (_, body) = start(
        &server,
        &bar,
        &ann,
        Some(json!({"item_id": "espresso", "options": {}})),
    )
    .await;
    let cancelled: Order = serde_json::from_value(body).unwrap();
    let path = format!("/shops/main/orders/{}/cancel", cancelled.id);
    let _: Order = ok(
        &server,
        &bar.barista,
        Method::POST,
        &path,
        Some(json!({"reason": "out of beans, sorry"})),
    )
    .await;
    let bo = token(&server, "bo@example.com", &[]).await;
    let (_, body) = start(&server, &bar, &bo, None).await;
    let waiting: Order = serde_json::from_value(body).unwrap();

    let (status, content_type, text) = csv(&server, Some(&bar.admin), "").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "id,number,customer,drink,item_id,options,state,created_at,queued_at,claimed_at,\
         ready_at,collected_at,ended_at,cancelled_by,cancel_reason,timeout_stage"
    );
    assert_eq!(
        lines.len(),
        5,
        "a header, three rows and the last line end: {text}"
    );
    assert_eq!(lines[4], "");
    let time = |at: Option<chrono::DateTime<Utc>>| {
        at.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    };
    let detail = |id: &str| {
        let path = format!("/shops/main/orders/{id}");
        let admin = bar.admin.clone();
        let server = &server;
        async move {
            let detail: OrderDetail = ok(server, &admin, Method::GET, &path, None).await;
            detail.order
        }
    };
    let served = detail(&served.id).await;
    assert_eq!(
        lines[1],
        format!(
            "{},1,\"'=Ann, \"\"the\"\" first\",Flat White,flat_white,milk=Oat,collected,{},{},{},{},{},{},,,",
            served.id,
            time(Some(served.created_at)),
            time(served.placed_at),
            time(served.claimed_at),
            time(served.ready_at),
            time(served.finished_at),
            time(served.finished_at),
        )
    );
    let cancelled = detail(&cancelled.id).await;
    assert_eq!(
        lines[2],
        format!(
            "{},2,\"'=Ann, \"\"the\"\" first\",Espresso,espresso,,cancelled,{},{},,,,{},staff,\"out of beans, sorry\",",
            cancelled.id,
            time(Some(cancelled.created_at)),
            time(cancelled.placed_at),
            time(cancelled.finished_at),
        )
    );
    assert_eq!(
        lines[3],
        format!(
            "{},,,,,,awaiting_drink,{},,,,,,,,",
            waiting.id,
            time(Some(waiting.created_at)),
        )
    );

    // A range of days: today is in it; days before it have no orders.
    let today = Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    let (status, _, text) = csv(
        &server,
        Some(&bar.admin),
        &format!("?from={yesterday}&to={today}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text.split("\r\n").count(), 5);
    let (status, _, text) = csv(
        &server,
        Some(&bar.admin),
        &format!("?from={yesterday}&to={yesterday}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text.split("\r\n").count(), 2, "the header alone: {text}");
}

#[tokio::test]
async fn the_csv_is_for_admins_and_a_bad_range_is_refused() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let (status, _, text) = csv(&server, None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    for who in [&bar.barista, &bar.display] {
        let (status, content_type, text) = csv(&server, Some(who), "").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
        assert_eq!(content_type, espresso_protocol::PROBLEM_CONTENT_TYPE);
    }
    for query in [
        "?from=yesterday",
        "?to=2026-13-01",
        "?from=2026-11-29&to=2026-11-28",
        "?from=2025-01-01&to=2026-11-28",
        "?from=2026-1-1",
    ] {
        let (status, _, text) = csv(&server, Some(&bar.admin), query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(problem(&body).code, ErrorCode::ValidationFailed, "{query}");
    }
    let response = server
        .request(Method::GET, "/shops/nowhere/orders.csv", Some(&bar.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

// --- Shop list and archive -------------------------------------------------------------------

async fn shop_list(server: &TestServer, token: &str, query: &str) -> Vec<ShopSummary> {
    ok(server, token, Method::GET, &format!("/shops{query}"), None).await
}

#[tokio::test]
async fn staff_list_the_shops_by_name_and_customers_may_not() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    for (id, name, zone) in [
        ("vegas", "At Re:Invent", "America/Los_Angeles"),
        ("zurich", "Bar Zürich", "Europe/Zurich"),
    ] {
        let _: Shop = ok(
            &server,
            &bar.admin,
            Method::POST,
            "/shops",
            Some(json!({"id": id, "name": name, "time_zone": zone})),
        )
        .await;
    }
    for who in [&bar.admin, &bar.barista, &bar.display] {
        let shops = shop_list(&server, who, "").await;
        assert_eq!(
            shops,
            [
                ShopSummary {
                    id: "vegas".into(),
                    name: "At Re:Invent".into(),
                    open: false,
                    time_zone: "America/Los_Angeles".into(),
                    archived: false,
                },
                ShopSummary {
                    id: "zurich".into(),
                    name: "Bar Zürich".into(),
                    open: false,
                    time_zone: "Europe/Zurich".into(),
                    archived: false,
                },
                ShopSummary {
                    id: "main".into(),
                    name: "Espresso".into(),
                    open: true,
                    time_zone: "UTC".into(),
                    archived: false,
                },
            ]
        );
    }
    let (status, body) = server.get("/shops", None).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
    let ann = token(&server, "ann@example.com", &[]).await;
    let (status, body) = server.get("/shops", Some(&ann)).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, ErrorCode::Forbidden);
    let (status, body) = server.get("/shops?archived=maybe", Some(&bar.admin)).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
    );
}

#[tokio::test]
async fn an_archived_shop_is_closed_refuses_orders_cannot_open_and_keeps_its_orders() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let ann = token(&server, "ann@example.com", &[]).await;
    let (status, body) = start(&server, &bar, &ann, Some(flat_white("Oat"))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let order: Order = serde_json::from_value(body).unwrap();

    // Only an admin archives; the barista's try changes nothing.
    let (status, body) = server
        .send(
            Method::PATCH,
            "/shops/main",
            Some(&bar.barista),
            Some(json!({"archived": true})),
        )
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, ErrorCode::Forbidden);
    let shop: Shop = ok(&server, &bar.admin, Method::GET, "/shops/main", None).await;
    assert!(shop.open && !shop.archived);

    let shop: Shop = ok(
        &server,
        &bar.admin,
        Method::PATCH,
        "/shops/main",
        Some(json!({"archived": true})),
    )
    .await;
    assert!(shop.archived, "archived");
    assert!(!shop.open, "archiving closes the shop");

    // Left out of the list unless asked for.
    assert!(shop_list(&server, &bar.barista, "").await.is_empty());
    let all = shop_list(&server, &bar.barista, "?archived=true").await;
    assert_eq!(all.len(), 1);
    assert!(all[0].archived && !all[0].open);

    // It cannot be opened while archived, by a barista or an admin, and nothing changes.
    for (who, patch) in [
        (&bar.barista, json!({"open": true})),
        (&bar.admin, json!({"open": true})),
        (&bar.admin, json!({"open": true, "archived": true})),
    ] {
        let (status, body) = server
            .send(Method::PATCH, "/shops/main", Some(who), Some(patch.clone()))
            .await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
        );
        assert!(
            problem(&body)
                .detail
                .unwrap()
                .contains("unarchive it first"),
            "{patch}: {body}"
        );
        let now: Shop = ok(&server, &bar.admin, Method::GET, "/shops/main", None).await;
        assert_eq!(now, shop, "{patch}: nothing changed");
    }

    // New orders are refused; the orders it had stay.
    let bo = token(&server, "bo@example.com", &[]).await;
    let (status, body) = start(&server, &bar, &bo, Some(flat_white("Regular"))).await;
    assert_problem(status, &body, StatusCode::CONFLICT, ErrorCode::ShopClosed);
    let detail: OrderDetail = ok(
        &server,
        &bar.admin,
        Method::GET,
        &format!("/shops/main/orders/{}", order.id),
        None,
    )
    .await;
    assert_eq!(detail.order.id, order.id);

    // Unarchived and opened in one patch, it takes orders again.
    let shop: Shop = ok(
        &server,
        &bar.admin,
        Method::PATCH,
        "/shops/main",
        Some(json!({"archived": false, "open": true})),
    )
    .await;
    assert!(shop.open && !shop.archived);
    let (status, body) = start(&server, &bar, &bo, Some(flat_white("Regular"))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

// --- Stats for a range of days ---------------------------------------------------------------

/// `GET …{path}` as text: the status, the content type and the body.
async fn text(
    server: &TestServer,
    token: Option<&str>,
    path: &str,
) -> (StatusCode, String, String) {
    let response = server
        .request(Method::GET, path, token)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.expect("a body"))
}

#[tokio::test]
async fn an_admin_reads_the_numbers_of_a_range_of_days_and_their_csv() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let _: Shop = ok(
        &server,
        &bar.admin,
        Method::PATCH,
        "/shops/main",
        Some(json!({"limits": {"max_orders_per_day": 0}})),
    )
    .await;
    let ann = token(&server, "ann@example.com", &[]).await;
    // One handed over, one cancelled by the bar with a reason, one never chosen.
    let (_, body) = start(&server, &bar, &ann, Some(flat_white("Oat"))).await;
    let served: Order = serde_json::from_value(body).unwrap();
    for action in ["claim", "complete", "collect"] {
        let path = format!("/shops/main/orders/{}/{action}", served.id);
        let _: Order = ok(&server, &bar.barista, Method::POST, &path, None).await;
    }
    let (_, body) = start(&server, &bar, &ann, Some(flat_white("Regular"))).await;
    let cancelled: Order = serde_json::from_value(body).unwrap();
    let _: Order = ok(
        &server,
        &bar.barista,
        Method::POST,
        &format!("/shops/main/orders/{}/cancel", cancelled.id),
        Some(json!({"reason": "out of milk"})),
    )
    .await;
    let bo = token(&server, "bo@example.com", &[]).await;
    let (status, _) = start(&server, &bar, &bo, None).await;
    assert_eq!(status, StatusCode::CREATED);

    let today = Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    let (status, body) = server
        .get(
            &format!("/shops/main/stats/days?from={yesterday}&to={today}"),
            Some(&bar.admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A day's numbers sit beside its date (flattened).
    assert_eq!(body["days"][1]["date"], today.to_string());
    assert_eq!(body["days"][1]["orders"], 2);
    let report: StatsReport = serde_json::from_value(body).unwrap();
    assert_eq!(report.from, yesterday.to_string());
    assert_eq!(report.to, today.to_string());
    assert_eq!(report.time_zone, "UTC");
    assert_eq!(report.days.len(), 2);
    assert_eq!(report.days[0].stats.orders, 0, "yesterday had none");
    assert_eq!(report.days[0].stats.by_hour, vec![0; 24]);
    let day = &report.days[1].stats;
    assert_eq!(report.total, *day);
    assert_eq!((day.orders, day.served, day.cancelled_by_staff), (2, 1, 1));
    assert_eq!(day.by_hour.iter().sum::<u32>(), 2);
    assert_eq!(
        day.by_item,
        [ItemCount {
            item_id: "flat_white".into(),
            name: "Flat White".into(),
            orders: 2,
            served: 1,
        }]
    );
    assert!(day.wait_p50_s.is_some() && day.pickup_p90_s.is_some());
    assert_eq!(day.cancel_reasons[0].reason, "out of milk");

    // Today by default.
    let only_today: StatsReport = ok(
        &server,
        &bar.admin,
        Method::GET,
        "/shops/main/stats/days",
        None,
    )
    .await;
    assert_eq!(only_today.days.len(), 1);
    assert_eq!(only_today.days[0], report.days[1]);

    // The daily summary as CSV.
    let (status, content_type, csv) = text(
        &server,
        Some(&bar.admin),
        &format!("/shops/main/stats/days.csv?from={yesterday}&to={today}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "date,orders,served,cancelled_by_customer,cancelled_by_staff,timed_out_choosing,\
         timed_out_making,not_collected,wait_p50_s,wait_p90_s,pickup_p50_s,pickup_p90_s"
    );
    assert_eq!(lines[1], format!("{yesterday},0,0,0,0,0,0,0,,,,"));
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    assert_eq!(
        lines[2],
        format!(
            "{today},2,1,0,1,0,0,0,{},{},{},{}",
            opt(day.wait_p50_s),
            opt(day.wait_p90_s),
            opt(day.pickup_p50_s),
            opt(day.pickup_p90_s)
        )
    );
    assert_eq!(lines.len(), 4, "{csv}");
}

#[tokio::test]
async fn the_numbers_of_a_range_are_for_admins_and_a_bad_range_is_refused() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    for path in ["/shops/main/stats/days", "/shops/main/stats/days.csv"] {
        let (status, _, body) = text(&server, None, path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        for who in [&bar.barista, &bar.display] {
            let (status, content_type, body) = text(&server, Some(who), path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
            assert_eq!(content_type, espresso_protocol::PROBLEM_CONTENT_TYPE);
        }
        for query in [
            "?from=yesterday",
            "?to=2026-13-01",
            "?from=2026-11-29&to=2026-11-28",
            "?from=2025-01-01&to=2026-11-28",
        ] {
            let (status, _, body) =
                text(&server, Some(&bar.admin), &format!("{path}{query}")).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path}{query}: {body}"
            );
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(problem(&body).code, ErrorCode::ValidationFailed);
        }
        let nowhere = path.replace("/main/", "/nowhere/");
        let (status, _, body) = text(&server, Some(&bar.admin), &nowhere).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{nowhere}: {body}");
    }
    // A full year is allowed.
    let (status, _, body) = text(
        &server,
        Some(&bar.admin),
        "/shops/main/stats/days?from=2025-11-29&to=2026-11-28",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report: StatsReport = serde_json::from_str(&body).unwrap();
    assert_eq!(report.days.len(), 365);
}

// --- Invitations with a sign-in link ---------------------------------------------------------

/// Wait for the `n`th mail to `email` (1-based); its text.
async fn nth_mail(server: &TestServer, email: &str, n: usize) -> String {
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    loop {
        if let Some(path) = server.mails_to(email).get(n - 1) {
            return std::fs::read_to_string(path).expect("a readable message");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no mail {n} to {email}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The link in an invitation and its token.
fn link_in(mail: &str) -> (String, String) {
    let link = mail
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("http"))
        .unwrap_or_else(|| panic!("no link in {mail}"))
        .to_owned();
    let (_, token) = link.split_once("&signin=").expect("a signin parameter");
    let token = token.to_owned();
    (link, token)
}

async fn invite(server: &TestServer, token: &str, body: Value) -> (StatusCode, Value) {
    server.post("/staff/invitations", Some(token), body).await
}

async fn link_sign_in(server: &TestServer, token: &str) -> (StatusCode, Value) {
    server
        .post("/auth/link", None, json!({ "token": token }))
        .await
}

#[tokio::test]
async fn an_invited_barista_gets_a_mail_whose_link_signs_in_once_and_only_once() {
    let mut server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let _: Shop = ok(
        &server,
        &bar.admin,
        Method::PATCH,
        "/shops/main",
        Some(json!({"name": "Café <Zoë>"})),
    )
    .await;
    let (status, body) = invite(
        &server,
        &bar.admin,
        json!({"email": "Bea@Example.com", "roles": ["barista"], "shop": "main"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user: espresso_protocol::User = serde_json::from_value(body).unwrap();
    assert_eq!(user.email, "bea@example.com");
    assert!(user.roles.contains(&Role::Barista), "the role is granted");
    assert!(
        staff(&server, &bar.admin)
            .await
            .iter()
            .any(|m| m.email == "bea@example.com")
    );

    let mail = nth_mail(&server, "bea@example.com", 1).await;
    assert!(
        mail.contains("\r\nSubject: You're on the team at Café <Zoë>\r\n"),
        "{mail}"
    );
    let (link, token) = link_in(&mail);
    assert!(
        link.starts_with("http://127.0.0.1:0/barista?shop=main&signin="),
        "{link}"
    );

    // The token is for /auth/link only, not a code's challenge.
    let (id, secret) = token.split_once('.').unwrap();
    let (status, body) = common::verify(&server, id, secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let (status, body) = link_sign_in(&server, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let session: espresso_protocol::Session = serde_json::from_value(body).unwrap();
    assert_eq!(session.user.email, "bea@example.com");
    assert!(session.user.roles.contains(&Role::Barista));
    let me: espresso_protocol::Me =
        ok(&server, &session.access_token, Method::GET, "/me", None).await;
    assert_eq!(me.email, "bea@example.com");

    // Once only; a made-up one is not ours.
    let (status, body) = link_sign_in(&server, &token).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::CodeExpired,
    );
    for bad in [
        format!("{id}.not-the-secret"),
        "inv_made_up.x".to_owned(),
        "nonsense".to_owned(),
    ] {
        let (status, body) = link_sign_in(&server, &bad).await;
        assert_problem(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::CodeInvalid,
        );
    }
    let (status, body) = server
        .post("/auth/link", None, json!({"token": token, "extra": 1}))
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
    );

    // Neither the token nor its secret is in the database files.
    server.stop().await;
    let at_rest = server.at_rest().await;
    assert!(!at_rest.contains(&token), "the token is in the database");
    assert!(!at_rest.contains(secret), "its secret is in the database");
    assert!(
        !at_rest.contains(&espresso_server::auth::hash_secret(secret)),
        "a bare hash of its secret is in the database"
    );
}

#[tokio::test]
async fn a_display_is_invited_to_the_booth_screen_and_a_key_sends_one_mail() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let body = json!({"email": "kiosk@example.com", "roles": ["display"], "shop": "main"});
    for _ in 0..2 {
        let response = server
            .request(Method::POST, "/staff/invitations", Some(&bar.admin))
            .header("Idempotency-Key", "invite-kiosk")
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, body) = common::read(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let mail = nth_mail(&server, "kiosk@example.com", 1).await;
    let (link, token) = link_in(&mail);
    assert!(
        link.starts_with("http://127.0.0.1:0/display?shop=main&signin="),
        "{link}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        server.mails_to("kiosk@example.com").len(),
        1,
        "a retry with the same key sends no second mail"
    );
    let (status, body) = link_sign_in(&server, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_invitation_is_in_the_language_of_the_admin_who_sends_it_and_any_other_is_english() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    // The console in Portuguese sends its language with the invitation.
    let (status, body) = invite(
        &server,
        &bar.admin,
        json!({"email": "ana@example.com", "roles": ["barista"], "shop": "main", "lang": "pt-BR"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mail = nth_mail(&server, "ana@example.com", 1).await;
    assert!(
        mail.contains("\r\nSubject: Você faz parte da equipe de Espresso\r\n"),
        "{mail}"
    );
    assert!(mail.contains("Abra este link para entrar:"), "{mail}");
    assert!(
        mail.contains("Ele funciona uma vez, por 24 horas."),
        "{mail}"
    );
    assert!(!mail.contains("You're on the team"), "{mail}");
    let (_, token) = link_in(&mail);
    let (status, body) = link_sign_in(&server, &token).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the link works as in English: {body}"
    );

    // A language the apps do not speak, a long one, null or none: English, never an error.
    for (email, lang) in [
        ("bob@example.com", Some(json!("tlh"))),
        ("cy@example.com", Some(json!("x".repeat(500)))),
        ("di@example.com", Some(json!(null))),
        ("ed@example.com", None),
    ] {
        let mut body = json!({"email": email, "roles": ["barista"], "shop": "main"});
        if let Some(lang) = lang {
            body["lang"] = lang;
        }
        let (status, answer) = invite(&server, &bar.admin, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}: {answer}");
        let mail = nth_mail(&server, email, 1).await;
        assert!(
            mail.contains("\r\nSubject: You're on the team at Espresso\r\n"),
            "{body}: {mail}"
        );
    }
    // Not a string: the request is malformed, and nothing changes.
    let (status, body) = invite(
        &server,
        &bar.admin,
        json!({"email": "fi@example.com", "roles": ["barista"], "shop": "main", "lang": 7}),
    )
    .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
    );
    assert!(
        !staff(&server, &bar.admin)
            .await
            .iter()
            .any(|m| m.email == "fi@example.com")
    );
}

#[tokio::test]
async fn invitations_are_an_admins_and_a_refused_one_changes_nothing() {
    let server = TestServer::start().await;
    let bar = open_bar(&server).await;
    let good = json!({"email": "cy@example.com", "roles": ["barista"], "shop": "main"});
    let (status, body) = server.post("/staff/invitations", None, good.clone()).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
    for who in [&bar.barista, &bar.display] {
        let (status, body) = invite(&server, who, good.clone()).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, ErrorCode::Forbidden);
    }
    for (bad, expected, code) in [
        (
            json!({"email": "cy@example.com", "roles": [], "shop": "main"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
        ),
        (
            json!({"email": "cy@example.com", "roles": ["customer"], "shop": "main"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
        ),
        (
            json!({"email": "cy@example.com", "roles": ["barista", "customer"], "shop": "main"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
        ),
        (
            json!({"email": "not an email", "roles": ["barista"], "shop": "main"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
        ),
        (
            json!({"email": "cy@example.com", "roles": ["barista"], "shop": "main", "x": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
        ),
        (
            json!({"email": "cy@example.com", "roles": ["barista"], "shop": "nowhere"}),
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
        ),
    ] {
        let (status, body) = invite(&server, &bar.admin, bad.clone()).await;
        assert_eq!(status, expected, "{bad}: {body}");
        assert_eq!(problem(&body).code, code, "{bad}");
    }
    // The last admin cannot invite themselves out of the role.
    let (status, body) = invite(
        &server,
        &bar.admin,
        json!({"email": "owner@cafe.test", "roles": ["barista"], "shop": "main"}),
    )
    .await;
    assert_problem(status, &body, StatusCode::CONFLICT, ErrorCode::LastAdmin);
    // Nothing changed: no new staff, no mail.
    let emails: Vec<String> = staff(&server, &bar.admin)
        .await
        .into_iter()
        .map(|m| m.email)
        .collect();
    assert_eq!(
        emails,
        ["barista@cafe.test", "display@cafe.test", "owner@cafe.test"]
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(server.mails_to("cy@example.com").is_empty());
    assert!(server.mails_to("owner@cafe.test").is_empty());
}

// --- The robot switch (booth demo) -----------------------------------------------------------

/// A server whose booth demo runs 1000 times faster (an order every 20–40 ms).
async fn fast_demo_server(demo_at_start: bool) -> TestServer {
    TestServer::start_with(|config| {
        config.demo_speed = 1000;
        config.demo = demo_at_start;
    })
    .await
}

/// Every order the shop has today (UTC: the test shop's zone).
async fn orders_today(server: &TestServer) -> Vec<Order> {
    let today = Utc::now().date_naive().to_string();
    server
        .store()
        .orders_between(&ShopId::main(), &today, &today, 10_000)
        .await
        .expect("the store answers")
}

async fn set_demo(server: &TestServer, token: &str, running: bool) -> (StatusCode, Value) {
    server
        .send(
            Method::PUT,
            "/shops/main/demo",
            Some(token),
            Some(json!({ "running": running })),
        )
        .await
}

#[tokio::test]
async fn the_robot_switch_starts_a_stream_of_demo_orders_and_stops_it() {
    let server = fast_demo_server(false).await;
    let bar = open_bar(&server).await;
    let state: DemoState = ok(&server, &bar.admin, Method::GET, "/shops/main/demo", None).await;
    assert!(!state.running, "off unless started");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(orders_today(&server).await.is_empty());

    let (status, body) = set_demo(&server, &bar.admin, true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"running": true}));
    let state: DemoState = ok(&server, &bar.admin, Method::GET, "/shops/main/demo", None).await;
    assert!(state.running);

    // Orders come, from demo customers, and the demo barista hands them over.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let orders = orders_today(&server).await;
        let collected = orders
            .iter()
            .filter(|o| o.state == OrderState::Collected)
            .count();
        if orders.len() >= 3 && collected >= 1 {
            let names: Vec<_> = orders
                .iter()
                .filter_map(|o| o.customer.display_name.as_deref())
                .collect();
            assert!(names.iter().all(|n| n.starts_with("Demo ")), "{names:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the demo made {} orders, {collected} handed over",
            orders.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Stopped: the orders under way finish, and no new one starts.
    let (status, body) = set_demo(&server, &bar.admin, false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"running": false}));
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let after_stop = orders_today(&server).await.len();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        orders_today(&server).await.len(),
        after_stop,
        "no new order"
    );
    let state: DemoState = ok(&server, &bar.admin, Method::GET, "/shops/main/demo", None).await;
    assert!(!state.running);
}

#[tokio::test]
async fn the_robot_switch_is_an_admins_and_a_refusal_starts_nothing() {
    let server = fast_demo_server(false).await;
    let bar = open_bar(&server).await;
    let (status, body) = server.get("/shops/main/demo", None).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
    );
    for who in [&bar.barista, &bar.display] {
        let (status, body) = server.get("/shops/main/demo", Some(who)).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, ErrorCode::Forbidden);
        let (status, body) = set_demo(&server, who, true).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, ErrorCode::Forbidden);
    }
    let (status, body) = server
        .send(
            Method::PUT,
            "/shops/main/demo",
            Some(&bar.admin),
            Some(json!({"running": true, "fast": true})),
        )
        .await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ValidationFailed,
    );
    let (status, body) = server
        .send(
            Method::PUT,
            "/shops/nowhere/demo",
            Some(&bar.admin),
            Some(json!({"running": true})),
        )
        .await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, ErrorCode::NotFound);
    let state: DemoState = ok(&server, &bar.admin, Method::GET, "/shops/main/demo", None).await;
    assert!(!state.running, "nothing started");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(orders_today(&server).await.is_empty());

    // A key: the same answer again; another body with it is refused.
    for _ in 0..2 {
        let response = server
            .request(Method::PUT, "/shops/main/demo", Some(&bar.admin))
            .header("Idempotency-Key", "demo-on")
            .json(&json!({"running": true}))
            .send()
            .await
            .unwrap();
        let (status, body) = common::read(response).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"running": true})));
    }
    let response = server
        .request(Method::PUT, "/shops/main/demo", Some(&bar.admin))
        .header("Idempotency-Key", "demo-on")
        .json(&json!({"running": false}))
        .send()
        .await
        .unwrap();
    let (status, body) = common::read(response).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::IdempotencyKeyReused,
    );
}

#[tokio::test]
async fn serve_with_demo_runs_it_for_main_from_the_start() {
    let server = fast_demo_server(true).await;
    let admin = token(&server, "owner@cafe.test", &[Role::Admin]).await;
    let state: DemoState = ok(&server, &admin, Method::GET, "/shops/main/demo", None).await;
    assert!(state.running);
    // A closed shop takes no demo order; opened, it does.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(orders_today(&server).await.is_empty(), "closed: none");
    let _: Shop = ok(
        &server,
        &admin,
        Method::PATCH,
        "/shops/main",
        Some(json!({"open": true})),
    )
    .await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while orders_today(&server).await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no demo order");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
