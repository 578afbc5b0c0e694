//! Several servers on one PostgreSQL database (issue 17): whichever server a request or a live
//! socket lands on, the shop's rules hold and everyone sees everything. Always on a throwaway
//! PostgreSQL the tests start (`espresso_server::store::pg::scratch`), whatever the backend of
//! the other suites.

#![allow(
    clippy::unwrap_used,
    reason = "a test crate: its helpers fail the test the way a #[test] body would"
)]

mod common;

use std::time::Duration;

use espresso_protocol::{BoothCode, Event, EventType, Order, Role, ServerFrame};
use futures::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use common::{TestServer, sign_in_as};

const PATIENCE: Duration = Duration::from_secs(10);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// `n` servers on one new PostgreSQL database.
async fn servers(n: usize) -> Vec<TestServer> {
    let database = espresso_server::store::pg::scratch::fresh_database()
        .await
        .expect("a scratch PostgreSQL database");
    let mut servers = Vec::new();
    for _ in 0..n {
        servers.push(TestServer::start_on(database.clone()).await);
    }
    servers
}

/// Open shop `main` through `server` with these limits; the admin's token.
async fn open_shop(server: &TestServer, limits: Value) -> String {
    let admin = sign_in_as(server, "owner@cafe.test", &[Role::Admin])
        .await
        .access_token;
    let (status, body) = server
        .send(
            Method::PATCH,
            "/shops/main",
            Some(&admin),
            Some(json!({ "open": true, "limits": limits })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    admin
}

async fn booth_code(server: &TestServer, token: &str) -> BoothCode {
    let (status, body) = server.get("/shops/main/code", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

fn americano() -> Value {
    json!({ "item_id": "americano", "options": {} })
}

async fn live(server: &TestServer, token: &str) -> Ws {
    live_at(&server.server().url(), token, None).await.0
}

/// A live socket on the server at `base` (`http://…`), resuming after `since` if given; with
/// the head its welcome says.
async fn live_at(base: &str, token: &str, since: Option<u64>) -> (Ws, u64) {
    let url = format!("{}/api/v1/live", base.replacen("http", "ws", 1));
    let (mut ws, _) = timeout(PATIENCE, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect timed out")
        .unwrap();
    let hello = json!({"type": "hello", "token": token, "shop": "main", "since": since});
    ws.send(Message::text(hello.to_string())).await.unwrap();
    match next_frame(&mut ws).await {
        ServerFrame::Welcome { head, .. } => (ws, head),
        other => panic!("expected welcome, got {other:?}"),
    }
}

async fn next_frame(ws: &mut Ws) -> ServerFrame {
    loop {
        let message = timeout(PATIENCE, ws.next())
            .await
            .expect("the server said nothing")
            .expect("the connection ended")
            .expect("the connection failed");
        if let Message::Text(text) = message {
            match serde_json::from_str(&text).unwrap() {
                ServerFrame::Ping => {}
                frame => return frame,
            }
        }
    }
}

/// Read events until `kind` about `order` arrives (within [`PATIENCE`]).
async fn wait_for(ws: &mut Ws, kind: EventType, order: &str) -> Event {
    loop {
        if let ServerFrame::Event { event, .. } = next_frame(ws).await
            && event.kind == kind
            && event.order.as_ref().is_some_and(|o| o.id.as_str() == order)
        {
            return *event;
        }
    }
}

#[tokio::test]
async fn scans_of_one_code_spread_over_three_servers_start_exactly_its_uses() {
    let servers = servers(3).await;
    open_shop(
        &servers[0],
        json!({ "drinks_per_code": 4, "max_orders_per_day": 0 }),
    )
    .await;
    let display = sign_in_as(&servers[1], "display@cafe.test", &[Role::Display])
        .await
        .access_token;
    let code = booth_code(&servers[1], &display).await;
    let mut customers = Vec::new();
    for n in 0..10 {
        let server = &servers[n % 3];
        customers.push(
            sign_in_as(server, &format!("guest{n}@cafe.test"), &[])
                .await
                .access_token,
        );
    }
    let scans = customers.iter().enumerate().map(|(n, token)| {
        let server = &servers[(n + 1) % 3];
        let body = json!({ "code": code.code, "drink": americano() });
        async move { server.post("/shops/main/orders", Some(token), body).await }
    });
    let answers = futures::future::join_all(scans).await;
    let started = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .count();
    let used_up = answers
        .iter()
        .filter(|(status, body)| {
            *status == StatusCode::UNPROCESSABLE_ENTITY && body["code"] == "code_exhausted"
        })
        .count();
    let said: Vec<_> = answers
        .iter()
        .map(|(status, body)| (status.as_u16(), body["code"].clone()))
        .collect();
    assert_eq!((started, used_up), (4, 6), "{said:?}");
    let mut numbers: Vec<u64> = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .map(|(_, body)| body["number"].as_u64().unwrap())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4], "one number each, none twice");
    assert_eq!(booth_code(&servers[2], &display).await.remaining, 0);
}

#[tokio::test]
async fn a_customer_on_one_server_and_a_barista_on_another_see_each_other_live() {
    let servers = servers(2).await;
    let (a, b) = (&servers[0], &servers[1]);
    open_shop(a, json!({ "max_orders_per_day": 0 })).await;
    let barista = sign_in_as(b, "barista@cafe.test", &[Role::Barista])
        .await
        .access_token;
    let ana = sign_in_as(a, "ana@cafe.test", &[]).await.access_token;
    let mut bar = live(b, &barista).await;
    let mut phone = live(a, &ana).await;

    let code = booth_code(b, &barista).await;
    let (status, body) = a
        .post(
            "/shops/main/orders",
            Some(&ana),
            json!({ "code": code.code, "drink": americano() }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let order: Order = serde_json::from_value(body).unwrap();
    wait_for(&mut bar, EventType::OrderPlaced, &order.id).await;

    let (status, body) = b
        .send(
            Method::POST,
            &format!("/shops/main/orders/{}/claim", order.id),
            Some(&barista),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claimed = wait_for(&mut phone, EventType::OrderClaimed, &order.id).await;
    assert_eq!(claimed.order.unwrap().state.as_str(), "in_progress");
}

#[tokio::test]
async fn a_session_signed_out_on_one_server_is_refused_by_the_other() {
    let servers = servers(2).await;
    let (a, b) = (&servers[0], &servers[1]);
    let session = sign_in_as(a, "ana@cafe.test", &[]).await;
    let (status, body) = b.get("/me", Some(&session.access_token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    a.sign_out(&session.access_token).await;
    let (status, body) = b.get("/me", Some(&session.access_token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn a_live_socket_on_one_server_is_closed_when_its_session_ends_on_another() {
    let servers = servers(2).await;
    let (a, b) = (&servers[0], &servers[1]);
    let session = sign_in_as(a, "barista@cafe.test", &[Role::Barista]).await;
    let mut bar = live(b, &session.access_token).await;
    a.sign_out(&session.access_token).await;
    // The socket on B is closed with 4001 "session ended" (within PATIENCE, not at its next
    // 30 s token check).
    let frame = loop {
        let message = timeout(Duration::from_secs(5), bar.next())
            .await
            .expect("B kept the socket of an ended session open")
            .expect("the connection ended without a close frame")
            .expect("the connection failed");
        if let Message::Close(frame) = message {
            break frame.expect("a close frame with a code");
        }
    };
    assert_eq!(
        u16::from(frame.code),
        espresso_server::live::CLOSE_UNAUTHENTICATED
    );
    assert_eq!(frame.reason.as_str(), "session ended");
}

/// The `seq` of every event on `ws` until the connection ends (a killed server) or `until` is
/// seen; fails on a gap or a repeat.
async fn seqs(ws: &mut Ws, mut last: u64, until: Option<u64>) -> u64 {
    loop {
        if until.is_some_and(|until| last >= until) {
            return last;
        }
        let message = match timeout(PATIENCE, ws.next()).await {
            Ok(Some(Ok(message))) => message,
            // The server is gone.
            Ok(None | Some(Err(_))) => return last,
            Err(_) => panic!("nothing within {PATIENCE:?} after seq {last} (until {until:?})"),
        };
        let Message::Text(text) = message else {
            continue;
        };
        if let ServerFrame::Event { seq, .. } = serde_json::from_str(&text).unwrap() {
            assert_eq!(seq, last + 1, "a gap or a repeat after {last}");
            last = seq;
        }
    }
}

#[tokio::test]
async fn a_server_killed_under_load_loses_nothing_it_acknowledged_and_another_takes_over() {
    let database = espresso_server::store::pg::scratch::fresh_database()
        .await
        .expect("a scratch PostgreSQL database");
    let b = TestServer::start_on(database.clone()).await;
    let admin = open_shop(
        &b,
        json!({ "drinks_per_code": 1000, "max_orders_per_day": 0, "customer_timeout_s": 3 }),
    )
    .await;
    let barista = sign_in_as(&b, "barista@cafe.test", &[Role::Barista])
        .await
        .access_token;
    let mut customers = Vec::new();
    for n in 0..30 {
        customers.push(
            sign_in_as(&b, &format!("guest{n}@cafe.test"), &[])
                .await
                .access_token,
        );
    }
    let code = booth_code(&b, &barista).await;
    // Server A: a real process on the same database, killed with SIGKILL below.
    let mut a = common::Binary::serve(|command| {
        command.arg("--database").arg(&database);
    });
    let (mut bar, head) = live_at(&a.url, &barista, None).await;

    // Three customers leave their order waiting for a drink: their deadlines are A's to set.
    let http = reqwest::Client::new();
    let order_on_a = |token: String, body: Value| {
        let (http, url) = (http.clone(), format!("{}/api/v1/shops/main/orders", a.url));
        async move {
            let response = http.post(url).bearer_auth(token).json(&body).send().await;
            match response {
                Ok(response) if response.status() == StatusCode::CREATED => {
                    Some(response.json::<Order>().await.ok()?)
                }
                _ => None,
            }
        }
    };
    let mut waiting = Vec::new();
    for token in &customers[..3] {
        let order = order_on_a(token.clone(), json!({ "code": code.code }))
            .await
            .expect("A starts the order");
        waiting.push(order);
    }
    // The rest order at once, and A is killed as soon as it has answered one of them, while
    // the others are in flight.
    let (answered, mut first_answer) = tokio::sync::mpsc::channel::<()>(32);
    let load: Vec<_> = customers[3..]
        .iter()
        .map(|token| {
            let order = order_on_a(
                token.clone(),
                json!({ "code": code.code, "drink": americano() }),
            );
            let answered = answered.clone();
            tokio::spawn(async move {
                let order = order.await;
                let _ = answered.send(()).await;
                order
            })
        })
        .collect();
    timeout(PATIENCE, first_answer.recv())
        .await
        .expect("A answers an order");
    a.child.kill().expect("SIGKILL");
    let mut acknowledged: Vec<Order> = waiting.clone();
    for task in load {
        acknowledged.extend(task.await.unwrap());
    }
    assert!(acknowledged.len() >= 3);

    // Whatever A said yes to is there on B.
    for order in &acknowledged {
        let (status, body) = b
            .get(&format!("/shops/main/orders/{}", order.id), Some(&barista))
            .await;
        assert_eq!(status, StatusCode::OK, "{} is lost: {body}", order.id);
    }
    // The bar's socket on A ended; it resumes on B from the last event it saw, without a gap
    // or a repeat, up to B's head.
    let last_on_a = seqs(&mut bar, head, None).await;
    let (mut resumed, head_on_b) = live_at(&b.server().url(), &barista, Some(last_on_a)).await;
    assert!(head_on_b >= last_on_a);
    seqs(&mut resumed, last_on_a, Some(head_on_b)).await;

    // The waiting orders' deadlines fall due with A gone: B fires each, once.
    for order in &waiting {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let (status, body) = b
                .get(&format!("/shops/main/orders/{}", order.id), Some(&admin))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            if body["state"] == "timed_out" {
                let timeouts = body["journey"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|step| step["type"] == "order.timed_out")
                    .count();
                assert_eq!(timeouts, 1, "{body}");
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} never timed out: {body}",
                order.id
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
