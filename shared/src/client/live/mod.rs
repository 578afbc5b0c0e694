//! The live stream (`GET /api/v1/live`): one WebSocket per screen that survives the network
//! and the server going away.
//!
//! [`LiveStream::connect`] starts a background task and hands back the stream's handle and the
//! [`LiveUpdates`] it delivers, in order:
//! - [`LiveUpdate::Status`]: `Connected` after each `welcome`, `Reconnecting` (with the delay and
//!   why) whenever the connection was lost, and a final `Ended`.
//! - [`LiveUpdate::Event`]: each event once, in `seq` order. A reconnect says `hello` with
//!   `since` = the last `seq` delivered, so the server replays what was missed; anything at or
//!   below that `seq` (a replay overlapping what was already seen) is dropped here.
//! - [`LiveUpdate::Reset`]: the server no longer has the history to replay (`since` too old):
//!   reload through REST; events after `head` follow.
//!
//! Reconnects back off exponentially with jitter ([`LiveConfig`]); close code 4001 refreshes the
//! session through the [`Client`] and reconnects at once, 4008 (too slow) reconnects at once.
//! A connection silent for [`LiveConfig::idle_timeout`] (the server pings every 20 s) is dropped
//! as dead and reconnected.
//!
//! The socket is tokio-tungstenite natively (feature `native`; the task runs on the current
//! tokio runtime) and the browser's WebSocket on wasm32 (feature `web`); everything else here is
//! the same code on both. This module never interprets events: views do.

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
use native as transport;
#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
use web as transport;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::future::{Either, select};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{Backoff, Client, ClientError, lock, rt};
use crate::protocol::{
    CLOSE_SLOW_CONSUMER, ClientFrame, Event, IDLE_TIMEOUT_S, Scope, ServerFrame, ShopId,
};

pub use crate::protocol::{CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED};

/// Timings of the live stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveConfig {
    /// A connection that brought nothing (no frame, no ping) for this long is dead: drop it and
    /// reconnect. The server pings every 20 s, so the default leaves room for two lost pings.
    pub idle_timeout: Duration,
    /// First reconnect delay (then doubling, jittered).
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Longest wait for the WebSocket handshake.
    pub connect_timeout: Duration,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(IDLE_TIMEOUT_S),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl LiveConfig {
    fn backoff(&self) -> Backoff {
        Backoff::new(self.backoff_min, self.backoff_max)
    }
}

/// What the stream delivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum LiveUpdate {
    /// The connection changed; show it ("live", "reconnecting…").
    Status(LiveStatus),
    /// One event of the shop's log, never twice, in `seq` order.
    Event { seq: u64, event: Box<Event> },
    /// The server could not replay what was missed: reload through REST. Events after `head`
    /// follow.
    Reset { head: u64 },
}

/// The state of the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum LiveStatus {
    /// The server said `welcome`: `head` is its newest `seq`, `scope` what this stream sees.
    /// Replayed events (if any) follow.
    Connected { head: u64, scope: Scope },
    /// The connection was lost (or never made); the next try starts after `delay`.
    /// `attempt` counts the tries since the last `Connected` (0: at once, after a refresh or a
    /// slow-consumer cut).
    Reconnecting {
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// The stream is over; nothing more will come.
    Ended(LiveEnd),
}

/// Why a stream ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum LiveEnd {
    /// [`LiveStream::close`] was called, or the handle dropped.
    Closed,
    /// The session ended and could not be refreshed: sign in again, then connect again.
    SignedOut,
    /// The server has no such shop (close code 4004).
    ShopNotFound,
    /// The stream cannot be opened at all (e.g. no WebSocket address for the server URL).
    Failed(String),
}

/// The last `seq` delivered, and the rule that nothing at or below it is delivered again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SeqTracker {
    last: Option<u64>,
}

impl SeqTracker {
    pub(crate) fn new(since: Option<u64>) -> Self {
        Self { last: since }
    }

    pub(crate) fn last(&self) -> Option<u64> {
        self.last
    }

    /// A `welcome` without `since`: live from `head` on, so a later resume starts there.
    pub(crate) fn on_welcome(&mut self, head: u64) {
        if self.last.is_none() {
            self.last = Some(head);
        }
    }

    /// Deliver `seq`? Only if it is newer than everything delivered; then it is the newest.
    pub(crate) fn accept(&mut self, seq: u64) -> bool {
        if self.last.is_some_and(|last| seq <= last) {
            return false;
        }
        self.last = Some(seq);
        true
    }

    /// After `reset` the stream continues from `head`, whatever was seen before (the log may
    /// even have been started over, with a lower `head`).
    pub(crate) fn reset_to(&mut self, head: u64) {
        self.last = Some(head);
    }
}

/// The handle of a running live stream. Dropping it closes the stream, like [`LiveStream::close`].
#[must_use = "dropping the LiveStream closes it"]
#[derive(Debug)]
pub struct LiveStream {
    stop: Mutex<Option<oneshot::Sender<()>>>,
    tracker: Arc<Mutex<SeqTracker>>,
}

/// The updates of a [`LiveStream`], in order. Also a [`Stream`]. Ends (`None`) after
/// [`LiveStatus::Ended`].
#[derive(Debug)]
pub struct LiveUpdates {
    updates: mpsc::UnboundedReceiver<LiveUpdate>,
}

impl LiveUpdates {
    /// The next update; `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<LiveUpdate> {
        self.updates.next().await
    }

    /// The next update if one is waiting, without waiting.
    pub fn try_next(&mut self) -> Option<LiveUpdate> {
        self.updates.try_recv().ok()
    }
}

impl Stream for LiveUpdates {
    type Item = LiveUpdate;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<LiveUpdate>> {
        Pin::new(&mut self.updates).poll_next(cx)
    }
}

impl LiveStream {
    /// Watch `shop` live as the client's user (or as the public when signed out), from now on.
    /// Natively, call it from within a tokio runtime (outside of one the stream ends at once
    /// with [`LiveEnd::Failed`]).
    pub fn connect(client: &Client, shop: &ShopId) -> (LiveStream, LiveUpdates) {
        Self::connect_with(client, shop, None, LiveConfig::default())
    }

    /// Like [`LiveStream::connect`], resuming after `since` (the last `seq` the app has seen,
    /// e.g. from before a restart) and with other timings.
    pub fn connect_with(
        client: &Client,
        shop: &ShopId,
        since: Option<u64>,
        config: LiveConfig,
    ) -> (LiveStream, LiveUpdates) {
        let (stop_tx, stop_rx) = oneshot::channel();
        let (updates_tx, updates_rx) = mpsc::unbounded();
        let tracker = Arc::new(Mutex::new(SeqTracker::new(since)));
        let handle = LiveStream {
            stop: Mutex::new(Some(stop_tx)),
            tracker: tracker.clone(),
        };
        let updates = LiveUpdates {
            updates: updates_rx,
        };
        let failed = match client.live_url() {
            Ok(url) => {
                let driver = Driver {
                    signed_in_at_start: client.is_signed_in(),
                    client: client.clone(),
                    shop: shop.clone(),
                    config,
                    url,
                    tracker,
                    updates: updates_tx.clone(),
                    stop: stop_rx,
                    head: 0,
                    failures: 0,
                    quick_retries: 0,
                };
                rt::spawn(driver.run()).err()
            }
            Err(error) => Some(error.to_string()),
        };
        if let Some(reason) = failed {
            let end = LiveStatus::Ended(LiveEnd::Failed(reason));
            let _ = updates_tx.unbounded_send(LiveUpdate::Status(end));
        }
        (handle, updates)
    }

    /// Close the stream: the socket is closed and the updates end with
    /// `Ended(LiveEnd::Closed)`. Closing twice does nothing.
    pub fn close(&self) {
        if let Some(stop) = lock(&self.stop).take() {
            let _ = stop.send(());
        }
    }

    /// The `seq` of the last event delivered (or the `head` the stream started from); what a
    /// later [`LiveStream::connect_with`] may resume after.
    pub fn last_seq(&self) -> Option<u64> {
        lock(&self.tracker).last()
    }
}

impl Drop for LiveStream {
    fn drop(&mut self) {
        self.close();
    }
}

/// The frames one connection can bring, whatever the socket.
#[derive(Debug)]
pub(crate) enum Incoming {
    Text(String),
    /// A frame that only shows the peer is there (WebSocket ping/pong, binary).
    Alive,
    /// The connection is over: the server's close code (none if it just went away) and why.
    Closed {
        code: Option<u16>,
        reason: String,
    },
}

/// Why one connection ended.
enum Ended {
    Closed {
        code: Option<u16>,
        reason: String,
    },
    Failed(String),
    /// The handle asked to stop.
    Stopped,
    /// Nobody reads the updates any more.
    Unheard,
}

/// Reconnect at once or after the backoff.
enum Next {
    Now(String),
    Later(String),
}

/// The background task of one live stream.
struct Driver {
    client: Client,
    signed_in_at_start: bool,
    shop: ShopId,
    config: LiveConfig,
    url: Url,
    tracker: Arc<Mutex<SeqTracker>>,
    updates: mpsc::UnboundedSender<LiveUpdate>,
    stop: oneshot::Receiver<()>,
    /// The `head` of the current connection's `welcome`.
    head: u64,
    /// Failed tries since the last `welcome` (the backoff's exponent).
    failures: u32,
    /// Reconnects without delay since the last `welcome`; one is allowed, then backoff applies,
    /// so a server that keeps refusing is never hammered.
    quick_retries: u32,
}

/// `future`'s output, or `None` if `stop` fired (or its sender is gone) first.
async fn until_stopped<F: Future>(
    stop: &mut oneshot::Receiver<()>,
    future: F,
) -> Option<F::Output> {
    let future = std::pin::pin!(future);
    match select(stop, future).await {
        Either::Left(_) => None,
        Either::Right((output, _)) => Some(output),
    }
}

impl Driver {
    async fn run(mut self) {
        loop {
            let token = self.client.access_token();
            if token.is_none() && self.signed_in_at_start {
                // The session ended elsewhere (a refused refresh): do not go on as the public.
                self.emit(LiveUpdate::Status(LiveStatus::Ended(LiveEnd::SignedOut)));
                return;
            }
            let next = match self.connection(token.clone()).await {
                Ended::Stopped => {
                    self.emit(LiveUpdate::Status(LiveStatus::Ended(LiveEnd::Closed)));
                    return;
                }
                Ended::Unheard => return,
                Ended::Closed {
                    code: Some(CLOSE_NOT_FOUND),
                    ..
                } => {
                    self.emit(LiveUpdate::Status(LiveStatus::Ended(LiveEnd::ShopNotFound)));
                    return;
                }
                Ended::Closed {
                    code: Some(CLOSE_UNAUTHENTICATED),
                    reason,
                } => match token {
                    Some(token) => match self.client.refresh_after(&token).await {
                        Ok(()) => Next::Now(format!("session refreshed ({reason})")),
                        Err(ClientError::SignedOut) => {
                            self.emit(LiveUpdate::Status(LiveStatus::Ended(LiveEnd::SignedOut)));
                            return;
                        }
                        Err(error) => Next::Later(format!("cannot refresh the session: {error}")),
                    },
                    None => Next::Later(format!("refused: {reason}")),
                },
                Ended::Closed {
                    code: Some(CLOSE_SLOW_CONSUMER),
                    ..
                } => Next::Now("the server cut off a slow connection".into()),
                Ended::Closed { code, reason } => Next::Later(match code {
                    Some(code) => format!("closed by the server ({code}): {reason}"),
                    None => format!("connection lost: {reason}"),
                }),
                Ended::Failed(reason) => Next::Later(reason),
            };
            let (delay, reason) = match next {
                Next::Now(reason) if self.quick_retries == 0 => {
                    self.quick_retries += 1;
                    (Duration::ZERO, reason)
                }
                Next::Now(reason) | Next::Later(reason) => {
                    let delay = self.config.backoff().jittered(self.failures);
                    self.failures = self.failures.saturating_add(1);
                    (delay, reason)
                }
            };
            let status = LiveStatus::Reconnecting {
                attempt: self.failures,
                delay,
                reason,
            };
            if !self.emit(LiveUpdate::Status(status)) {
                return;
            }
            if !delay.is_zero()
                && until_stopped(&mut self.stop, rt::sleep(delay))
                    .await
                    .is_none()
            {
                self.emit(LiveUpdate::Status(LiveStatus::Ended(LiveEnd::Closed)));
                return;
            }
        }
    }

    /// One connection, from the handshake to its end.
    async fn connection(&mut self, token: Option<String>) -> Ended {
        let connect = rt::timeout(self.config.connect_timeout, transport::connect(&self.url));
        let mut conn = match until_stopped(&mut self.stop, connect).await {
            None => return Ended::Stopped,
            Some(None) => return Ended::Failed("the server did not answer in time".into()),
            Some(Some(Err(error))) => return Ended::Failed(format!("cannot connect: {error}")),
            Some(Some(Ok(conn))) => conn,
        };
        let hello = ClientFrame::Hello {
            token,
            shop: self.shop.clone(),
            since: lock(&self.tracker).last(),
        };
        let hello = match serde_json::to_string(&hello) {
            Ok(hello) => hello,
            Err(error) => return Ended::Failed(error.to_string()),
        };
        if let Err(error) = conn.send_text(hello).await {
            return Ended::Failed(format!("cannot say hello: {error}"));
        }
        loop {
            let heard = rt::timeout(self.config.idle_timeout, conn.next());
            match until_stopped(&mut self.stop, heard).await {
                None => {
                    conn.close().await;
                    return Ended::Stopped;
                }
                Some(None) => {
                    conn.close().await;
                    let silent = self.config.idle_timeout.as_secs_f32();
                    return Ended::Failed(format!("nothing heard from the server for {silent} s"));
                }
                Some(Some(Incoming::Closed { code, reason })) => {
                    return Ended::Closed { code, reason };
                }
                Some(Some(Incoming::Alive)) => {}
                Some(Some(Incoming::Text(text))) => {
                    if !self.on_frame(&text) {
                        conn.close().await;
                        return Ended::Unheard;
                    }
                }
            }
        }
    }

    /// Handle one text frame; `false` if nobody listens any more.
    fn on_frame(&mut self, text: &str) -> bool {
        // A frame this build does not know (a newer server) is skipped, not fatal.
        let Ok(frame) = serde_json::from_str::<ServerFrame>(text) else {
            return true;
        };
        match frame {
            ServerFrame::Welcome { head, scope } => {
                self.head = head;
                self.failures = 0;
                self.quick_retries = 0;
                lock(&self.tracker).on_welcome(head);
                self.emit(LiveUpdate::Status(LiveStatus::Connected { head, scope }))
            }
            ServerFrame::Event { seq, event } => {
                let fresh = lock(&self.tracker).accept(seq);
                !fresh || self.emit(LiveUpdate::Event { seq, event })
            }
            ServerFrame::Reset => {
                lock(&self.tracker).reset_to(self.head);
                self.emit(LiveUpdate::Reset { head: self.head })
            }
            ServerFrame::Ping => true,
        }
    }

    /// Deliver `update`; `false` if nobody listens any more.
    fn emit(&self, update: LiveUpdate) -> bool {
        self.updates.unbounded_send(update).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_survive_a_trip_through_json() {
        let updates = [
            LiveUpdate::Status(LiveStatus::Connected {
                head: 7,
                scope: Scope::Staff,
            }),
            LiveUpdate::Status(LiveStatus::Reconnecting {
                attempt: 2,
                delay: Duration::from_millis(400),
                reason: "closed".into(),
            }),
            LiveUpdate::Status(LiveStatus::Ended(LiveEnd::Failed("no url".into()))),
            LiveUpdate::Status(LiveStatus::Ended(LiveEnd::SignedOut)),
            LiveUpdate::Reset { head: 3 },
        ];
        for update in updates {
            let json = serde_json::to_string(&update).unwrap();
            let back: LiveUpdate = serde_json::from_str(&json).unwrap();
            assert_eq!(back, update, "{json}");
        }
    }

    #[test]
    fn duplicates_and_older_events_are_dropped_and_newer_ones_kept() {
        let mut tracker = SeqTracker::new(Some(10));
        let delivered: Vec<_> = [9, 10, 11, 11, 12, 10, 14, 13, 15]
            .into_iter()
            .filter(|seq| tracker.accept(*seq))
            .collect();
        assert_eq!(delivered, [11, 12, 14, 15]);
        assert_eq!(tracker.last(), Some(15));
    }

    #[test]
    fn a_replay_after_a_reconnect_delivers_only_what_was_missed() {
        let mut tracker = SeqTracker::new(None);
        tracker.on_welcome(3);
        assert!(tracker.accept(4) && tracker.accept(5));
        // Reconnect with since = 5; the server replays from 4 (overlap) to 7.
        tracker.on_welcome(7);
        let replayed: Vec<_> = (4..=7).filter(|seq| tracker.accept(*seq)).collect();
        assert_eq!(replayed, [6, 7]);
    }

    #[test]
    fn a_first_welcome_without_since_starts_from_head() {
        let mut tracker = SeqTracker::new(None);
        tracker.on_welcome(42);
        assert_eq!(
            tracker.last(),
            Some(42),
            "a resume asks for what came after 42"
        );
        assert!(!tracker.accept(42));
        assert!(tracker.accept(43));
    }

    #[test]
    fn a_reset_continues_from_head_even_below_what_was_seen() {
        let mut tracker = SeqTracker::new(Some(500));
        tracker.on_welcome(20);
        tracker.reset_to(20);
        assert!(tracker.accept(21), "a log started over is followed again");
    }

    #[test]
    fn a_stream_started_outside_a_runtime_ends_at_once_instead_of_panicking() {
        let client = Client::new("http://127.0.0.1:9").unwrap();
        let (_stream, mut updates) = LiveStream::connect(&client, &ShopId::main());
        assert!(matches!(
            updates.try_next(),
            Some(LiveUpdate::Status(LiveStatus::Ended(LiveEnd::Failed(_))))
        ));
        assert_eq!(updates.try_next(), None);
    }

    #[test]
    fn the_default_timings_are_those_of_api_md() {
        let config = LiveConfig::default();
        assert_eq!(config.idle_timeout, Duration::from_secs(60));
        assert_eq!(config.backoff().ceiling(0), Duration::from_millis(100));
        assert_eq!(config.backoff().ceiling(10), Duration::from_secs(3));
    }
}
