//! The live stream (`GET /api/v1/live`) over real WebSockets: scopes, resuming with `since`
//! without gap or duplicate, `reset`, refusals by close code, heartbeats and the idle timeout.
//! (Slow consumers, 4008, are cut off in the hub's unit tests, where a socket can stop reading.)
//!
//! Most tests run the real server on 127.0.0.1:0 and make events through its store. Timing tests
//! serve a hub with short intervals on its own listener, so they take milliseconds, not minutes.

#![allow(
    clippy::unwrap_used,
    reason = "a test crate: its helpers fail the test the way a #[test] body would"
)]

mod common;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::routing::get;
use chrono::Utc;
use espresso_protocol::{CustomerRef, Event, EventType, Role, Scope, ServerFrame, ShopId};
use espresso_server::Server;
use espresso_server::config::ServeConfig;
use espresso_server::live::{CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED, Hub, LiveConfig};
use espresso_server::store::{SqliteStore, Store, UserRecord};
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Long enough for anything that should happen, short enough to fail fast.
const PATIENCE: Duration = Duration::from_secs(10);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The real server, with its store at hand to make events.
struct Cafe {
    server: Server,
    _dir: tempfile::TempDir,
}

impl Cafe {
    async fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = common::fresh_database(dir.path()).await;
        let server = Server::start(ServeConfig::for_tests(db, "/nonexistent"))
            .await
            .unwrap();
        Self { server, _dir: dir }
    }

    fn store(&self) -> &Store {
        self.server.store()
    }

    fn live_url(&self) -> String {
        format!("ws://{}/api/v1/live", self.server.local_addr())
    }

    async fn connect(&self) -> Ws {
        connect(&self.live_url()).await
    }

    /// A signed-in user with `roles` and their access token.
    async fn person(&self, email: &str, roles: &[Role]) -> (UserRecord, String) {
        let store = self.store();
        let now = Utc::now();
        let mut user = store.ensure_user(email, now).await.unwrap();
        for role in roles {
            user = store.grant(email, *role, now).await.unwrap();
        }
        let session = espresso_server::auth::open_session(store, &user, now)
            .await
            .unwrap();
        (user, session.access_token)
    }

    /// A `shop.updated` that leaves the shop closed (so no booth code rotates in between).
    async fn rename(&self, name: &str) -> u64 {
        self.store()
            .change_shop(&ShopId::main(), Utc::now(), {
                let name = name.to_owned();
                move |shop| {
                    shop.name = name;
                    Ok(())
                }
            })
            .await
            .unwrap();
        self.store().head(&ShopId::main()).await.unwrap()
    }

    async fn open_shop(&self) {
        self.store()
            .change_shop(&ShopId::main(), Utc::now(), |shop| {
                shop.open = true;
                Ok(())
            })
            .await
            .unwrap();
    }

    /// `user` scans the booth code: `order.created` (theirs) and `code.redeemed`.
    async fn start_order(&self, user: &UserRecord) {
        let now = Utc::now();
        let code = self
            .store()
            .current_code(&ShopId::main(), now)
            .await
            .unwrap()
            .code;
        let customer = CustomerRef {
            id: user.id.clone(),
            display_name: None,
        };
        self.store()
            .start_order(&ShopId::main(), customer, &code, None, now, None)
            .await
            .unwrap();
    }
}

/// A hub with its own (short) timings on its own listener, serving `/live`.
struct QuickHub {
    hub: Hub,
    url: String,
}

impl QuickHub {
    async fn open(config: LiveConfig) -> Self {
        let store = SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap();
        let hub = Hub::with_config(store, config);
        let app = Router::new().route(
            "/live",
            get({
                let hub = hub.clone();
                move |upgrade: WebSocketUpgrade| async move {
                    upgrade.on_upgrade(move |socket| async move { hub.serve(socket).await })
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/live", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { hub, url }
    }
}

fn quick_config() -> LiveConfig {
    LiveConfig {
        ping_interval: Duration::from_millis(100),
        idle_timeout: Duration::from_millis(800),
        hello_timeout: Duration::from_millis(300),
        send_timeout: Duration::from_secs(2),
        ..LiveConfig::default()
    }
}

async fn connect(url: &str) -> Ws {
    let (ws, _) = timeout(PATIENCE, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect timed out")
        .unwrap();
    ws
}

async fn hello(ws: &mut Ws, token: Option<&str>, shop: &str, since: Option<u64>) {
    let hello = json!({"type": "hello", "token": token, "shop": shop, "since": since});
    ws.send(Message::text(hello.to_string())).await.unwrap();
}

/// The next message, whatever it is (the client answers pings by itself while reading).
async fn next_message(ws: &mut Ws) -> Message {
    timeout(PATIENCE, ws.next())
        .await
        .expect("the server said nothing")
        .expect("the connection ended")
        .expect("the connection failed")
}

/// The next frame that is not a heartbeat.
async fn next_frame(ws: &mut Ws) -> ServerFrame {
    loop {
        match next_message(ws).await {
            Message::Text(text) => match serde_json::from_str(&text).unwrap() {
                ServerFrame::Ping => {}
                frame => return frame,
            },
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}

async fn welcome(ws: &mut Ws) -> (u64, Scope) {
    match next_frame(ws).await {
        ServerFrame::Welcome { head, scope } => (head, scope),
        other => panic!("expected welcome, got {other:?}"),
    }
}

async fn next_event(ws: &mut Ws) -> (u64, Event) {
    match next_frame(ws).await {
        ServerFrame::Event { seq, event } => (seq, *event),
        other => panic!("expected an event, got {other:?}"),
    }
}

/// Read until the server's close frame; skips heartbeats, fails on anything else.
async fn close_frame(ws: &mut Ws) -> CloseFrame {
    loop {
        match next_message(ws).await {
            Message::Close(Some(frame)) => return frame,
            Message::Close(None) => panic!("closed without a code"),
            Message::Text(text) if text.as_str() == r#"{"type":"ping"}"# => {}
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a close, got {other:?}"),
        }
    }
}

fn code_of(frame: &CloseFrame) -> u16 {
    u16::from(frame.code)
}

#[tokio::test]
async fn the_public_sees_shop_updates_but_not_booth_codes() {
    let cafe = Cafe::open().await;
    let mut ws = cafe.connect().await;
    hello(&mut ws, None, "main", None).await;
    assert_eq!(welcome(&mut ws).await, (0, Scope::Public));

    cafe.open_shop().await;
    cafe.store()
        .current_code(&ShopId::main(), Utc::now())
        .await
        .unwrap();
    let renamed = cafe.rename("Espresso Corner").await;

    let (seq, event) = next_event(&mut ws).await;
    assert_eq!((seq, event.kind), (1, EventType::ShopUpdated));
    assert!(event.shop_state.unwrap().open);
    // Seq 2 is the booth code: the public never sees it.
    let (seq, event) = next_event(&mut ws).await;
    assert_eq!((seq, event.kind), (renamed, EventType::ShopUpdated));
    assert_eq!(renamed, 3);
    assert_eq!(event.shop_state.unwrap().name, "Espresso Corner");
}

#[tokio::test]
async fn staff_see_every_event_of_their_shop() {
    let cafe = Cafe::open().await;
    let (_, barista) = cafe.person("barista@cafe.test", &[Role::Barista]).await;
    let (customer, _) = cafe.person("ann@cafe.test", &[]).await;
    let mut ws = cafe.connect().await;
    hello(&mut ws, Some(&barista), "main", None).await;
    assert_eq!(welcome(&mut ws).await, (0, Scope::Staff));

    cafe.open_shop().await;
    cafe.start_order(&customer).await;
    let head = cafe.rename("Espresso Corner").await;

    let mut kinds = Vec::new();
    for expected in 1..=head {
        let (seq, event) = next_event(&mut ws).await;
        assert_eq!(seq, expected, "staff see every seq, in order");
        kinds.push(event.kind);
    }
    for kind in [
        EventType::ShopUpdated,
        EventType::CodeRotated,
        EventType::OrderCreated,
        EventType::CodeRedeemed,
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
}

#[tokio::test]
async fn a_customer_sees_their_own_orders_and_shop_updates_only() {
    let cafe = Cafe::open().await;
    let (ann, ann_token) = cafe.person("ann@cafe.test", &[]).await;
    let (bob, bob_token) = cafe.person("bob@cafe.test", &[]).await;
    cafe.open_shop().await;
    let mut ann_ws = cafe.connect().await;
    hello(&mut ann_ws, Some(&ann_token), "main", None).await;
    let (_, scope) = welcome(&mut ann_ws).await;
    assert_eq!(scope, Scope::Customer);
    let mut bob_ws = cafe.connect().await;
    hello(&mut bob_ws, Some(&bob_token), "main", None).await;
    assert_eq!(welcome(&mut bob_ws).await.1, Scope::Customer);

    cafe.start_order(&ann).await;
    cafe.start_order(&bob).await;
    let renamed = cafe.rename("Espresso Corner").await;

    for (ws, me) in [(&mut ann_ws, &ann), (&mut bob_ws, &bob)] {
        let (_, event) = next_event(ws).await;
        assert_eq!(event.kind, EventType::OrderCreated);
        assert_eq!(
            event.order.unwrap().customer.id,
            me.id,
            "only their own order"
        );
        // Not the other's order, no codes, no stats: the next thing is the shop change.
        let (seq, event) = next_event(ws).await;
        assert_eq!((seq, event.kind), (renamed, EventType::ShopUpdated));
    }
}

#[tokio::test]
async fn resuming_with_since_replays_exactly_what_was_missed_then_goes_live() {
    let cafe = Cafe::open().await;
    let mut ws = cafe.connect().await;
    hello(&mut ws, None, "main", None).await;
    welcome(&mut ws).await;
    for n in 1..=5 {
        cafe.rename(&format!("Café {n}")).await;
    }
    for expected in 1..=2 {
        assert_eq!(next_event(&mut ws).await.0, expected);
    }
    drop(ws);
    for n in 6..=8 {
        cafe.rename(&format!("Café {n}")).await;
    }

    let mut ws = cafe.connect().await;
    hello(&mut ws, None, "main", Some(2)).await;
    assert_eq!(welcome(&mut ws).await, (8, Scope::Public));
    for expected in 3..=8 {
        let (seq, event) = next_event(&mut ws).await;
        assert_eq!(seq, expected);
        assert_eq!(event.shop_state.unwrap().name, format!("Café {seq}"));
    }
    cafe.rename("Café 9").await;
    assert_eq!(next_event(&mut ws).await.0, 9, "live after the replay");
}

#[tokio::test]
async fn resuming_while_events_keep_coming_has_no_gap_and_no_duplicate() {
    let cafe = Cafe::open().await;
    let (_, barista) = cafe.person("barista@cafe.test", &[Role::Barista]).await;
    for n in 1..=20 {
        cafe.rename(&format!("Café {n}")).await;
    }
    let store = cafe.server.shared_store();
    let writer = tokio::spawn(async move {
        for n in 21..=120 {
            store
                .change_shop(&ShopId::main(), Utc::now(), move |shop| {
                    shop.name = format!("Café {n}");
                    Ok(())
                })
                .await
                .unwrap();
        }
    });
    let mut resuming = cafe.connect().await;
    hello(&mut resuming, Some(&barista), "main", Some(5)).await;
    let mut joining = cafe.connect().await;
    hello(&mut joining, Some(&barista), "main", None).await;
    welcome(&mut resuming).await;
    let (joined_at, _) = welcome(&mut joining).await;
    writer.await.unwrap();
    let head = cafe.store().head(&ShopId::main()).await.unwrap();
    for (ws, after) in [(&mut resuming, 5), (&mut joining, joined_at)] {
        let mut seen = Vec::new();
        while seen.last() != Some(&head) && after < head {
            seen.push(next_event(ws).await.0);
        }
        assert_eq!(seen, (after + 1..=head).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn since_ahead_of_the_log_gets_reset_then_live_events_from_head() {
    let cafe = Cafe::open().await;
    cafe.rename("Café 1").await;
    let mut ws = cafe.connect().await;
    hello(&mut ws, None, "main", Some(50)).await;
    assert_eq!(welcome(&mut ws).await, (1, Scope::Public));
    assert_eq!(next_frame(&mut ws).await, ServerFrame::Reset);
    cafe.rename("Café 2").await;
    assert_eq!(next_event(&mut ws).await.0, 2);
}

#[tokio::test]
async fn since_equal_to_head_replays_nothing_and_goes_live() {
    let cafe = Cafe::open().await;
    cafe.rename("Café 1").await;
    let mut ws = cafe.connect().await;
    hello(&mut ws, None, "main", Some(1)).await;
    assert_eq!(welcome(&mut ws).await.0, 1);
    cafe.rename("Café 2").await;
    assert_eq!(next_event(&mut ws).await.0, 2);
}

#[tokio::test]
async fn an_invalid_token_is_closed_with_4001() {
    let cafe = Cafe::open().await;
    let mut ws = cafe.connect().await;
    hello(&mut ws, Some("at_not-a-token"), "main", None).await;
    let frame = close_frame(&mut ws).await;
    assert_eq!(code_of(&frame), CLOSE_UNAUTHENTICATED);
    assert_eq!(frame.reason.as_str(), "unauthenticated");
}

#[tokio::test]
async fn an_unknown_shop_is_closed_with_4004() {
    let cafe = Cafe::open().await;
    let mut ws = cafe.connect().await;
    hello(&mut ws, None, "nowhere", None).await;
    let frame = close_frame(&mut ws).await;
    assert_eq!(code_of(&frame), CLOSE_NOT_FOUND);
    assert_eq!(frame.reason.as_str(), "not_found");
}

#[tokio::test]
async fn a_first_frame_that_is_not_a_hello_is_closed_and_others_are_still_served() {
    let cafe = Cafe::open().await;
    let firsts = [
        Message::text("not json"),
        Message::text(r#"{"type":"subscribe","shop":"main"}"#),
        Message::text(r#"{"type":"hello","token":null,"shop":"main","since":-1}"#),
        Message::text(r#"{"type":"hello","token":null,"shop":"main","since":null,"extra":true}"#),
        Message::binary(vec![0xff, 0x00]),
    ];
    for first in firsts {
        let mut ws = cafe.connect().await;
        ws.send(first.clone()).await.unwrap();
        let frame = close_frame(&mut ws).await;
        assert_eq!(code_of(&frame), 1008, "{first:?}");
    }
    let mut ws = cafe.connect().await;
    hello(&mut ws, None, "main", None).await;
    assert_eq!(welcome(&mut ws).await, (0, Scope::Public));
}

#[tokio::test]
async fn a_connection_without_hello_is_closed_after_the_hello_timeout() {
    let quick = QuickHub::open(quick_config()).await;
    let mut ws = connect(&quick.url).await;
    let frame = close_frame(&mut ws).await;
    assert_eq!(code_of(&frame), 1008);
}

#[tokio::test]
async fn pings_arrive_within_the_ping_interval() {
    let quick = QuickHub::open(quick_config()).await;
    let mut ws = connect(&quick.url).await;
    hello(&mut ws, None, "main", None).await;
    welcome(&mut ws).await;
    let started = Instant::now();
    let (mut ws_ping, mut frame_ping) = (false, false);
    while !(ws_ping && frame_ping) {
        match next_message(&mut ws).await {
            Message::Ping(_) => ws_ping = true,
            Message::Text(text) => {
                assert_eq!(
                    serde_json::from_str::<ServerFrame>(&text).unwrap(),
                    ServerFrame::Ping
                );
                frame_ping = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // Both come with the first tick. The bound is loose for busy machines, yet far below the
    // default 20 s: the configured interval is the one in use.
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let config = quick_config();
    let quick = QuickHub::open(config.clone()).await;
    let muted = Arc::new(AtomicBool::new(false));
    let tcp = TcpStream::connect(
        quick
            .url
            .trim_start_matches("ws://")
            .trim_end_matches("/live"),
    )
    .await
    .unwrap();
    let stream = Mutable {
        tcp,
        muted: Arc::clone(&muted),
    };
    let (mut ws, _) = tokio_tungstenite::client_async(quick.url.as_str(), stream)
        .await
        .unwrap();
    let hello_frame = json!({"type": "hello", "token": null, "shop": "main", "since": null});
    ws.send(Message::text(hello_frame.to_string()))
        .await
        .unwrap();
    // From here on the client hears but never answers: its pongs go nowhere.
    muted.store(true, Ordering::SeqCst);
    let silent_since = Instant::now();
    let mut pings = 0;
    let frame = loop {
        let message = timeout(PATIENCE, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match message {
            Message::Close(frame) => break frame.unwrap(),
            Message::Ping(_) => pings += 1,
            Message::Text(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(u16::from(frame.code), 1001);
    assert_eq!(frame.reason.as_str(), "idle timeout");
    assert!(silent_since.elapsed() >= config.idle_timeout - Duration::from_millis(50));
    assert!(pings >= 1, "it was pinged before being given up");
}

#[tokio::test]
async fn a_connection_that_answers_pings_stays_open() {
    let config = quick_config();
    let quick = QuickHub::open(config.clone()).await;
    let mut ws = connect(&quick.url).await;
    hello(&mut ws, None, "main", None).await;
    welcome(&mut ws).await;
    // Reading answers every ping; two idle timeouts pass without a close.
    let until = Instant::now() + config.idle_timeout * 2;
    while Instant::now() < until {
        match tokio::time::timeout_at(until, ws.next()).await {
            Err(_) => break,
            Ok(Some(Ok(Message::Ping(_) | Message::Text(_)))) => {}
            Ok(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(quick.hub.connections(), 1);
}

#[tokio::test]
async fn the_gauge_counts_open_connections() {
    let quick = QuickHub::open(quick_config()).await;
    let mut first = connect(&quick.url).await;
    hello(&mut first, None, "main", None).await;
    welcome(&mut first).await;
    let mut second = connect(&quick.url).await;
    hello(&mut second, None, "main", None).await;
    welcome(&mut second).await;
    assert_eq!(quick.hub.connections(), 2);

    first.close(None).await.unwrap();
    timeout(PATIENCE, async {
        while quick.hub.connections() != 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the gauge did not count the closed connection out");
}

/// A TCP stream whose writes can be silently dropped: a peer that hears but never answers.
struct Mutable {
    tcp: TcpStream,
    muted: Arc<AtomicBool>,
}

impl AsyncRead for Mutable {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Mutable {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.muted.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// The close frame, which must come within a second (the stale-access bound of SECURITY.md).
async fn closed_within_a_second(ws: &mut Ws) -> CloseFrame {
    timeout(Duration::from_secs(1), close_frame(ws))
        .await
        .expect("the socket was not closed within a second")
}

#[tokio::test]
async fn a_staff_socket_is_closed_within_a_second_of_signing_out() {
    let cafe = Cafe::open().await;
    let (_, barista) = cafe.person("barista@cafe.test", &[Role::Barista]).await;
    let mut ws = cafe.connect().await;
    hello(&mut ws, Some(&barista), "main", None).await;
    assert_eq!(welcome(&mut ws).await.1, Scope::Staff);
    let status = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/logout", cafe.server.url()))
        .bearer_auth(&barista)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, reqwest::StatusCode::NO_CONTENT);
    let frame = closed_within_a_second(&mut ws).await;
    assert_eq!(code_of(&frame), CLOSE_UNAUTHENTICATED);
    assert_eq!(frame.reason.as_str(), "session ended");
}

#[tokio::test]
async fn a_staff_socket_is_closed_within_a_second_of_losing_the_role_and_others_stay() {
    let cafe = Cafe::open().await;
    let (user, barista) = cafe.person("barista@cafe.test", &[Role::Barista]).await;
    let (_, display) = cafe.person("booth@cafe.test", &[Role::Display]).await;
    let mut ws = cafe.connect().await;
    hello(&mut ws, Some(&barista), "main", None).await;
    assert_eq!(welcome(&mut ws).await.1, Scope::Staff);
    let mut other = cafe.connect().await;
    hello(&mut other, Some(&display), "main", None).await;
    assert_eq!(welcome(&mut other).await.1, Scope::Staff);

    cafe.store().set_roles(&user.id, &[]).await.unwrap();
    let frame = closed_within_a_second(&mut ws).await;
    assert_eq!(code_of(&frame), CLOSE_UNAUTHENTICATED);
    assert_eq!(frame.reason.as_str(), "access changed");
    // Someone else's role change does not touch the booth screen: it still gets events.
    let renamed = cafe.rename("Still here").await;
    assert_eq!(next_event(&mut other).await.0, renamed);
    // With the same token the former barista is a customer now.
    let mut again = cafe.connect().await;
    hello(&mut again, Some(&barista), "main", None).await;
    assert_eq!(welcome(&mut again).await.1, Scope::Customer);
}

#[tokio::test]
async fn a_socket_is_closed_when_its_access_token_expires() {
    let cafe = Cafe::open().await;
    let (_, barista) = cafe.person("barista@cafe.test", &[Role::Barista]).await;
    let mut ws = cafe.connect().await;
    hello(&mut ws, Some(&barista), "main", None).await;
    welcome(&mut ws).await;
    cafe.store().expire_every_token(false).await.unwrap();
    let frame = closed_within_a_second(&mut ws).await;
    assert_eq!(code_of(&frame), CLOSE_UNAUTHENTICATED);
    assert_eq!(frame.reason.as_str(), "session ended");
}
