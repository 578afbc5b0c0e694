//! One live connection from `hello` to close: authenticate, register with the hub, `welcome`,
//! replay or `reset`, then live events and heartbeats until one side goes.
//!
//! A session never lets its socket hold up anyone else: it only reads its own queue, and every
//! write has a deadline ([`LiveConfig::send_timeout`]). It never panics on what a client sends.

use std::future::Future;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use chrono::Utc;
use espresso_protocol::{CLOSE_SLOW_CONSUMER, ClientFrame, ErrorCode, ServerFrame};
use tokio::time::{Instant, MissedTickBehavior, timeout, timeout_at};

use super::{
    CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED, Cut, Hub, LiveConfig, Resume, Subscription, Viewer,
};
use crate::auth;
use crate::store::Store;

/// What a session needs of a WebSocket: axum's in the server, channels in tests.
pub trait Socket: Send {
    /// The next message; None once the connection has ended.
    fn recv(&mut self) -> impl Future<Output = Option<Result<Message, axum::Error>>> + Send;
    fn send(&mut self, message: Message) -> impl Future<Output = Result<(), axum::Error>> + Send;
    /// Queue a message without writing it out yet (see [`Socket::flush`]).
    fn feed(&mut self, message: Message) -> impl Future<Output = Result<(), axum::Error>> + Send;
    /// Write out what was fed.
    fn flush(&mut self) -> impl Future<Output = Result<(), axum::Error>> + Send;
}

impl Socket for WebSocket {
    fn recv(&mut self) -> impl Future<Output = Option<Result<Message, axum::Error>>> + Send {
        WebSocket::recv(self)
    }

    fn send(&mut self, message: Message) -> impl Future<Output = Result<(), axum::Error>> + Send {
        WebSocket::send(self, message)
    }

    fn feed(&mut self, message: Message) -> impl Future<Output = Result<(), axum::Error>> + Send {
        futures::SinkExt::feed(self, message)
    }

    fn flush(&mut self) -> impl Future<Output = Result<(), axum::Error>> + Send {
        futures::SinkExt::flush(self)
    }
}

/// The most queued events one write to a socket carries.
const MAX_BURST: usize = 64;

/// `ServerFrame::Ping` as sent (checked against the type in the tests).
const PING_FRAME: &str = r#"{"type":"ping"}"#;

/// Why and how the server closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Closing {
    code: u16,
    /// At most 123 bytes (a close frame's limit).
    reason: &'static str,
}

impl Closing {
    const NO_HELLO: Self = Self {
        code: close_code::POLICY,
        reason: "no hello in time",
    };
    const NOT_HELLO: Self = Self {
        code: close_code::POLICY,
        reason: "the first frame must be a hello",
    };
    const UNAUTHENTICATED: Self = Self {
        code: CLOSE_UNAUTHENTICATED,
        reason: "unauthenticated",
    };
    /// The token the socket was opened with no longer holds (signed out, revoked, expired):
    /// the client refreshes its session and resumes with `since`.
    const SESSION_ENDED: Self = Self {
        code: CLOSE_UNAUTHENTICATED,
        reason: "session ended",
    };
    /// The user's roles changed: the client reconnects and gets its new scope.
    const ACCESS_CHANGED: Self = Self {
        code: CLOSE_UNAUTHENTICATED,
        reason: "access changed",
    };
    const NOT_FOUND: Self = Self {
        code: CLOSE_NOT_FOUND,
        reason: "not_found",
    };
    const SLOW_CONSUMER: Self = Self {
        code: CLOSE_SLOW_CONSUMER,
        reason: "slow consumer",
    };
    const IDLE: Self = Self {
        code: close_code::AWAY,
        reason: "idle timeout",
    };
    const SHUTDOWN: Self = Self {
        code: close_code::AWAY,
        reason: "server shutting down",
    };
    const INTERNAL: Self = Self {
        code: close_code::ERROR,
        reason: "internal error",
    };

    fn of(cut: Cut) -> Self {
        match cut {
            Cut::SlowConsumer => Self::SLOW_CONSUMER,
            Cut::Shutdown => Self::SHUTDOWN,
        }
    }
}

/// How a session ends.
#[derive(Debug)]
enum End {
    /// The peer went away (or closed): nothing more to say.
    Gone,
    /// The server closes the connection.
    Close(Closing),
}

/// Log a failure the client cannot fix and end with 1011.
fn internal(error: impl std::fmt::Display) -> End {
    tracing::error!(%error, "live connection failed");
    End::Close(Closing::INTERNAL)
}

pub(super) async fn run(hub: &Hub, socket: impl Socket) {
    let mut connection = Connection {
        socket,
        config: hub.config(),
    };
    if let End::Close(closing) = session(hub, &mut connection).await {
        connection.close(closing).await;
    } else {
        connection.finish().await;
    }
}

async fn session<S: Socket>(hub: &Hub, connection: &mut Connection<'_, S>) -> End {
    let ClientFrame::Hello { token, shop, since } = match connection.hello().await {
        Ok(hello) => hello,
        Err(end) => return end,
    };
    let store = hub.store();
    // Subscribed before the token is checked: a sign-out right after the check is not missed.
    let changes = token.as_ref().map(|_| store.access_changes());
    let viewer = match &token {
        None => Viewer::public(),
        Some(token) => match auth::authenticate(store, token, Utc::now()).await {
            Ok(Some(user)) => Viewer::of(&user),
            Ok(None) => return End::Close(Closing::UNAUTHENTICATED),
            // Already logged where it was turned into an ApiError.
            Err(_) => return End::Close(Closing::INTERNAL),
        },
    };
    let mut access = token.zip(changes).map(|(token, changes)| Access {
        token,
        viewer: viewer.clone(),
        changes,
        every: tokio::time::interval_at(
            Instant::now() + connection.config.access_recheck,
            connection.config.access_recheck,
        ),
    });
    match store.shop(&shop).await {
        Ok(_) => {}
        Err(error) if error.code() == ErrorCode::NotFound => {
            return End::Close(Closing::NOT_FOUND);
        }
        Err(_) => return End::Close(Closing::INTERNAL),
    }

    // Register before reading the head: whatever commits after the read is queued for us, and
    // whatever was queued and is already in the replay is dropped by `seq`.
    let mut subscription = hub.subscribe(&shop, viewer.clone());
    let head = match store.head(&shop).await {
        Ok(head) => head,
        Err(error) => return internal(error),
    };
    let welcome = ServerFrame::Welcome {
        head,
        scope: viewer.scope(),
    };
    if !connection.send_frame(&welcome).await {
        return End::Gone;
    }
    let mut last = head;
    if let Some(since) = since {
        let oldest = match store.oldest_seq(&shop).await {
            Ok(oldest) => oldest,
            Err(error) => return internal(error),
        };
        match super::resume(since, head, oldest) {
            Resume::Reset => {
                if !connection.send_frame(&ServerFrame::Reset).await {
                    return End::Gone;
                }
            }
            Resume::Replay => match connection.replay(store, &shop, &viewer, since).await {
                Ok(replayed) => last = last.max(replayed),
                Err(end) => return end,
            },
        }
    }
    connection
        .stream(&mut subscription, last, store, &mut access)
        .await
}

/// What a socket opened with a token keeps checking: that the token still holds and still
/// means the same viewer. Checked at once when access changes anywhere (sign-out, revocation,
/// role change) and every [`LiveConfig::access_recheck`] (expiry).
struct Access {
    token: String,
    viewer: Viewer,
    changes: tokio::sync::broadcast::Receiver<crate::store::AccessChange>,
    every: tokio::time::Interval,
}

impl Access {
    /// Wait until a check is due.
    async fn due(&mut self) {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            tokio::select! {
                _ = self.every.tick() => return,
                change = self.changes.recv() => match change {
                    Ok(crate::store::AccessChange::User(user))
                        if Some(&*user) != self.viewer.user_id() => {}
                    // Missed some announcements: check, to be safe.
                    Ok(_) | Err(RecvError::Lagged(_)) => return,
                    // The store is closing: the periodic check goes on.
                    Err(RecvError::Closed) => {
                        self.every.tick().await;
                        return;
                    }
                },
            }
        }
    }

    /// `None` while the token holds for the same viewer; else how to close.
    async fn check(&self, store: &Store) -> Option<Closing> {
        match auth::authenticate(store, &self.token, Utc::now()).await {
            Ok(Some(user)) if Viewer::of(&user) == self.viewer => None,
            Ok(Some(_)) => Some(Closing::ACCESS_CHANGED),
            Ok(None) => Some(Closing::SESSION_ENDED),
            // A database hiccup is not a reason to cut a screen off: check again later.
            Err(_) => None,
        }
    }
}

/// When `access` has a check due; never for a socket without a token.
async fn check_due(access: &mut Option<Access>) {
    match access {
        Some(access) => access.due().await,
        None => std::future::pending().await,
    }
}

struct Connection<'a, S> {
    socket: S,
    config: &'a LiveConfig,
}

impl<S: Socket> Connection<'_, S> {
    /// Send one message; false if the peer is gone or did not take it within the send timeout.
    async fn send(&mut self, message: Message) -> bool {
        matches!(
            timeout(self.config.send_timeout, self.socket.send(message)).await,
            Ok(Ok(()))
        )
    }

    /// Send `texts` in order with one write; false as [`Connection::send`].
    async fn send_all(&mut self, texts: Vec<Utf8Bytes>) -> bool {
        let socket = &mut self.socket;
        let sent = timeout(self.config.send_timeout, async move {
            for text in texts {
                socket.feed(Message::Text(text)).await?;
            }
            socket.flush().await
        })
        .await;
        matches!(sent, Ok(Ok(())))
    }

    async fn send_frame(&mut self, frame: &ServerFrame) -> bool {
        match serde_json::to_string(frame) {
            Ok(text) => self.send(Message::Text(text.into())).await,
            Err(error) => {
                tracing::error!(%error, "cannot encode a live frame");
                false
            }
        }
    }

    /// Send our close frame, then wait (briefly) for the peer's, so the frame is not lost to a
    /// connection reset.
    async fn close(&mut self, closing: Closing) {
        let frame = CloseFrame {
            code: closing.code,
            reason: Utf8Bytes::from_static(closing.reason),
        };
        if self.send(Message::Close(Some(frame))).await {
            self.finish().await;
        }
    }

    /// Read until the connection ends (answering a peer's close), at most the send timeout.
    async fn finish(&mut self) {
        let _ = timeout(self.config.send_timeout, async {
            while let Some(Ok(_)) = self.socket.recv().await {}
        })
        .await;
    }

    /// The client's first frame, which must be a `hello`, within the hello timeout.
    async fn hello(&mut self) -> Result<ClientFrame, End> {
        let deadline = Instant::now() + self.config.hello_timeout;
        loop {
            let message = match timeout_at(deadline, self.socket.recv()).await {
                Err(_) => return Err(End::Close(Closing::NO_HELLO)),
                Ok(None | Some(Err(_))) => return Err(End::Gone),
                Ok(Some(Ok(message))) => message,
            };
            match message {
                Message::Text(text) => {
                    return serde_json::from_str(&text).map_err(|_| End::Close(Closing::NOT_HELLO));
                }
                Message::Binary(_) => return Err(End::Close(Closing::NOT_HELLO)),
                // Heartbeats before the hello are fine.
                Message::Ping(_) | Message::Pong(_) => {}
                Message::Close(_) => return Err(End::Gone),
            }
        }
    }

    /// Send every event after `since` that `viewer` may see, page by page; returns the last
    /// `seq` read from the log.
    async fn replay(
        &mut self,
        store: &Store,
        shop: &espresso_protocol::ShopId,
        viewer: &Viewer,
        since: u64,
    ) -> Result<u64, End> {
        let page = self.config.replay_page.max(1);
        let mut last = since;
        loop {
            let rows = store
                .events_after(shop, last, page)
                .await
                .map_err(internal)?;
            let more = rows.len() >= page as usize;
            for row in rows {
                last = row.seq;
                if viewer.sees(row.event.kind, row.customer_id.as_deref()) {
                    let frame = ServerFrame::Event {
                        seq: row.seq,
                        event: Box::new(row.event),
                    };
                    if !self.send_frame(&frame).await {
                        return Err(End::Gone);
                    }
                }
            }
            if !more {
                return Ok(last);
            }
        }
    }

    /// Live events after `last`, heartbeats and the idle check, until one side ends it.
    async fn stream(
        &mut self,
        subscription: &mut Subscription,
        mut last: u64,
        store: &Store,
        access: &mut Option<Access>,
    ) -> End {
        let config = self.config;
        let mut ping =
            tokio::time::interval_at(Instant::now() + config.ping_interval, config.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let idle = tokio::time::sleep(config.idle_timeout);
        tokio::pin!(idle);
        loop {
            tokio::select! {
                // A cut-off connection stops at once, even with events still queued.
                biased;
                cut = &mut subscription.cut => {
                    // No reason: the hub is gone, so is the server.
                    return End::Close(cut.map_or(Closing::SHUTDOWN, Closing::of));
                }
                queued = subscription.queue.recv() => match queued {
                    // Already sent by the replay (or before the head we announced).
                    Some(queued) if queued.seq <= last => {}
                    Some(queued) => {
                        last = queued.seq;
                        // Whatever else is already queued goes out with it, in one write.
                        let mut burst = vec![queued.text];
                        while burst.len() < MAX_BURST {
                            match subscription.queue.try_recv() {
                                Ok(next) if next.seq <= last => {}
                                Ok(next) => {
                                    last = next.seq;
                                    burst.push(next.text);
                                }
                                Err(_) => break,
                            }
                        }
                        if !self.send_all(burst).await {
                            return End::Gone;
                        }
                    }
                    None => return End::Close(Closing::SHUTDOWN),
                },
                incoming = self.socket.recv() => match incoming {
                    None | Some(Err(_) | Ok(Message::Close(_))) => return End::Gone,
                    // Anything (a pong, a ping, a stray frame) shows the peer is there.
                    Some(Ok(_)) => idle.as_mut().reset(Instant::now() + config.idle_timeout),
                },
                _ = ping.tick() => {
                    let alive = self.send(Message::Ping(Bytes::new())).await
                        && self.send(Message::Text(Utf8Bytes::from_static(PING_FRAME))).await;
                    if !alive {
                        return End::Gone;
                    }
                }
                () = &mut idle => return End::Close(Closing::IDLE),
                () = check_due(access) => {
                    let closing = match access.as_ref() {
                        Some(access) => access.check(store).await,
                        None => None,
                    };
                    if let Some(closing) = closing {
                        return End::Close(closing);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use espresso_protocol::{Scope, ShopId};
    use tokio::sync::mpsc;

    /// A socket made of two channels; the test holds the other ends.
    struct ChannelSocket {
        incoming: mpsc::Receiver<Message>,
        outgoing: mpsc::Sender<Message>,
    }

    impl Socket for ChannelSocket {
        async fn recv(&mut self) -> Option<Result<Message, axum::Error>> {
            self.incoming.recv().await.map(Ok)
        }

        async fn send(&mut self, message: Message) -> Result<(), axum::Error> {
            self.outgoing.send(message).await.map_err(axum::Error::new)
        }

        async fn feed(&mut self, message: Message) -> Result<(), axum::Error> {
            self.send(message).await
        }

        async fn flush(&mut self) -> Result<(), axum::Error> {
            Ok(())
        }
    }

    struct Peer {
        to_server: mpsc::Sender<Message>,
        from_server: mpsc::Receiver<Message>,
    }

    /// A socket whose peer takes at most `window` unread messages before the server's sends wait.
    fn socket_pair(window: usize) -> (ChannelSocket, Peer) {
        let (to_server, incoming) = mpsc::channel(16);
        let (outgoing, from_server) = mpsc::channel(window);
        (
            ChannelSocket { incoming, outgoing },
            Peer {
                to_server,
                from_server,
            },
        )
    }

    impl Peer {
        async fn say(&self, text: &str) {
            self.to_server
                .send(Message::Text(text.into()))
                .await
                .unwrap();
        }

        async fn next(&mut self) -> Message {
            tokio::time::timeout(Duration::from_secs(5), self.from_server.recv())
                .await
                .expect("the server said nothing")
                .expect("the server hung up")
        }
    }

    fn quick(config: LiveConfig) -> LiveConfig {
        LiveConfig {
            send_timeout: Duration::from_secs(5),
            ..config
        }
    }

    async fn store() -> crate::store::SqliteStore {
        crate::store::SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap()
    }

    async fn open_shop(store: &crate::store::SqliteStore) {
        store
            .change_shop(&ShopId::main(), Utc::now(), |shop| {
                shop.open = !shop.open;
                Ok(())
            })
            .await
            .unwrap();
    }

    #[test]
    fn the_ping_frame_is_the_protocols() {
        assert_eq!(
            serde_json::to_string(&ServerFrame::Ping).unwrap(),
            PING_FRAME
        );
    }

    #[tokio::test]
    async fn a_consumer_that_stops_reading_is_closed_with_4008() {
        let store = store().await;
        let config = quick(LiveConfig {
            queue_capacity: 2,
            ..LiveConfig::default()
        });
        let hub = Hub::with_config(store.clone(), config);
        let (socket, mut peer) = socket_pair(1);
        let serving = tokio::spawn({
            let hub = hub.clone();
            async move { hub.serve(socket).await }
        });
        peer.say(r#"{"type":"hello","token":null,"shop":"main","since":null}"#)
            .await;
        let welcome = peer.next().await;
        assert_eq!(
            welcome,
            Message::Text(r#"{"type":"welcome","head":0,"scope":"public"}"#.into())
        );
        // The peer reads nothing: one message waits in its window, one burst (up to
        // MAX_BURST events taken from the queue at once) waits for room, and two events wait
        // in the queue; the event after those finds the queue full. How many the burst took
        // depends on timing, so send more than all of them can hold.
        let events = MAX_BURST + 8;
        for _ in 0..events {
            open_shop(&store).await;
        }
        let mut seen = Vec::new();
        let close = loop {
            match peer.next().await {
                Message::Text(text) => match serde_json::from_str(&text).unwrap() {
                    ServerFrame::Event { seq, .. } => seen.push(seq),
                    other => panic!("unexpected {other:?}"),
                },
                Message::Close(frame) => break frame.unwrap(),
                other => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(close.code, CLOSE_SLOW_CONSUMER);
        assert_eq!(close.reason.as_str(), "slow consumer");
        // Whatever it got before the cut is in order and without gaps, so `since` resumes it.
        assert_eq!(seen, (1..=seen.len() as u64).collect::<Vec<_>>());
        assert!(seen.len() < events);
        drop(peer);
        tokio::time::timeout(Duration::from_secs(5), serving)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(hub.connections(), 0);
    }

    #[tokio::test]
    async fn shutdown_closes_live_connections_with_going_away() {
        let hub = Hub::with_config(store().await, quick(LiveConfig::default()));
        let (socket, mut peer) = socket_pair(8);
        let serving = tokio::spawn({
            let hub = hub.clone();
            async move { hub.serve(socket).await }
        });
        peer.say(r#"{"type":"hello","token":null,"shop":"main","since":null}"#)
            .await;
        let Message::Text(welcome) = peer.next().await else {
            panic!("no welcome");
        };
        let welcome: ServerFrame = serde_json::from_str(&welcome).unwrap();
        assert_eq!(
            welcome,
            ServerFrame::Welcome {
                head: 0,
                scope: Scope::Public
            }
        );
        hub.shutdown();
        let Message::Close(Some(frame)) = peer.next().await else {
            panic!("not closed");
        };
        assert_eq!(frame.code, close_code::AWAY);
        drop(peer);
        tokio::time::timeout(Duration::from_secs(5), serving)
            .await
            .unwrap()
            .unwrap();
    }
}
