//! The live hub: fans every committed event out to the WebSocket connections of its shop
//! (`GET /api/v1/live`, API.md "Live stream").
//!
//! One task per server tails [`Store::tail`] and hands each event, serialised once, to the
//! bounded queue of every connection of that shop whose [`Viewer`] may see it. Each connection
//! runs its own session ([`session`]): `hello`, `welcome`, replay from the log, then live events
//! and heartbeats.
//!
//! What the hub must never do: wait on a socket or on a slow connection. Commands publish into
//! the store's broadcast without blocking, the fan-out only `try_send`s, and a connection whose
//! queue is full is cut off with close code 4008 (it resumes with `since`) instead of growing
//! the server's memory. If the hub itself falls behind the store's broadcast, every connection
//! is cut off the same way: each then resumes from the last `seq` it saw, so nothing is lost.
//!
//! Close codes (besides 4008): 4001 `unauthenticated` (the `hello` token is invalid or expired:
//! refresh it and reconnect), 4004 `not_found` (no such shop), 1008 (the first frame was not a
//! valid `hello`, or none came in time), 1001 (idle for too long, or the server is stopping),
//! 1011 (an internal error; reconnect with `since`).

mod session;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use espresso_protocol::{EventType, IDLE_TIMEOUT_S, PING_INTERVAL_S, Scope, ShopId, UserId};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, oneshot};

pub use session::Socket;

use crate::policy;
use crate::store::{Committed, SharedStore, Store, UserRecord};

pub use espresso_protocol::{CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED};

/// Timings and sizes of the live stream; the defaults are API.md's.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// How often the server pings (a WebSocket ping and a `{"type": "ping"}` frame).
    pub ping_interval: Duration,
    /// A connection the server has heard nothing from (no pong, no message) this long is closed.
    pub idle_timeout: Duration,
    /// How long a new connection may take to send its `hello`.
    pub hello_timeout: Duration,
    /// How long one write to a socket may take before the peer counts as gone.
    pub send_timeout: Duration,
    /// Events waiting for one connection; one more and it is cut off (4008).
    pub queue_capacity: usize,
    /// Events read from the log per query when replaying `since`.
    pub replay_page: u32,
    /// How often a socket opened with a token checks it is still good, besides at once on a
    /// sign-out, revocation or role change (so an expired token does not keep a socket open).
    pub access_recheck: Duration,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(PING_INTERVAL_S),
            idle_timeout: Duration::from_secs(IDLE_TIMEOUT_S),
            hello_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(10),
            queue_capacity: 1024,
            replay_page: 500,
            access_recheck: Duration::from_secs(30),
        }
    }
}

/// Who is watching: decides which events a connection receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    scope: Scope,
    /// The signed-in user (customers see only their own orders).
    user_id: Option<UserId>,
}

impl Viewer {
    /// No token: `shop.updated` and `stats.updated` only.
    pub fn public() -> Self {
        Self {
            scope: policy::live_scope(None),
            user_id: None,
        }
    }

    /// A signed-in user: staff if any of their roles is a staff role, else a customer.
    pub fn of(user: &UserRecord) -> Self {
        Self {
            scope: policy::live_scope(Some(&user.roles)),
            user_id: Some(user.id.clone()),
        }
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// May this viewer see an event of `kind` about `customer_id`'s order (of their shop)?
    pub fn sees(&self, kind: EventType, customer_id: Option<&str>) -> bool {
        policy::live_sees(self.scope, self.user_id.as_deref(), kind, customer_id)
    }
}

/// Where a connection that said `since` picks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Replay every event after `since` from the log, then go live.
    Replay,
    /// `since` is ahead of the log or older than what it retains: send `reset`, go live from head.
    Reset,
}

/// The most events a resume replays; a client further behind (`since: 0` on a long day) gets
/// `reset` and reloads through REST, so no hello can make the server read the whole log.
pub const MAX_REPLAY: u64 = 5_000;

/// Where a client that saw everything up to `since` resumes, given the shop's `head` and the
/// oldest `seq` the log still holds (None: it holds none).
pub fn resume(since: u64, head: u64, oldest: Option<u64>) -> Resume {
    // Everything up to `retained_from - 1` is gone from the log (nothing is gone before a trim).
    let retained_from = oldest.unwrap_or(head.saturating_add(1));
    if since > head || since.saturating_add(1) < retained_from || head - since > MAX_REPLAY {
        Resume::Reset
    } else {
        Resume::Replay
    }
}

/// Why the hub cut a connection off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Its queue was full, or the hub itself fell behind: close 4008, the client resumes.
    SlowConsumer,
    /// The server is stopping.
    Shutdown,
}

/// One event on its way to a connection: its `seq` (to drop what the replay already sent) and
/// its frame, encoded once for every connection.
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    pub seq: u64,
    pub text: Utf8Bytes,
}

/// The live hub of one server. Cheap to clone; every clone is the same hub.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    store: SharedStore,
    config: LiveConfig,
    registry: Arc<Registry>,
    /// The fan-out task, started by the first connection (so building a hub needs no runtime).
    fan_out: OnceLock<()>,
    /// Open WebSocket connections (the `/metrics` gauge).
    connections: AtomicUsize,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// The hub of `store` with API.md's timings.
    pub fn new(store: impl Into<SharedStore>) -> Self {
        Self::with_config(store, LiveConfig::default())
    }

    pub fn with_config(store: impl Into<SharedStore>, config: LiveConfig) -> Self {
        let store: SharedStore = store.into();
        Self {
            inner: Arc::new(Inner {
                store,
                config,
                registry: Arc::new(Registry::default()),
                fan_out: OnceLock::new(),
                connections: AtomicUsize::new(0),
            }),
        }
    }

    pub fn config(&self) -> &LiveConfig {
        &self.inner.config
    }

    /// Open live connections right now.
    pub fn connections(&self) -> usize {
        self.inner.connections.load(Ordering::Relaxed)
    }

    /// Run one live connection to its end: `hello`, `welcome`, replay, live events, heartbeats.
    pub async fn serve(&self, socket: impl Socket) {
        let _open = OpenConnection::count(&self.inner.connections);
        session::run(self, socket).await;
    }

    /// Close every connection (1001) and refuse new ones: the server is stopping.
    pub fn shutdown(&self) {
        self.inner.registry.shutdown();
    }

    pub(crate) fn store(&self) -> &Store {
        &*self.inner.store
    }

    /// Register a connection to `shop`: from now on every committed event of the shop that
    /// `viewer` may see is queued for it. Register before reading the head, so nothing committed
    /// after that read can be missed.
    pub(crate) fn subscribe(&self, shop: &str, viewer: Viewer) -> Subscription {
        self.inner.fan_out.get_or_init(|| {
            let tail = self.inner.store.tail();
            tokio::spawn(fan_out(Arc::clone(&self.inner.registry), tail));
        });
        self.inner
            .registry
            .subscribe(shop, viewer, self.inner.config.queue_capacity)
    }
}

/// Counts a connection while it is open.
struct OpenConnection<'a>(&'a AtomicUsize);

impl<'a> OpenConnection<'a> {
    fn count(gauge: &'a AtomicUsize) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Self(gauge)
    }
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One connection as the hub sees it.
struct Subscriber {
    id: u64,
    viewer: Viewer,
    queue: mpsc::Sender<Queued>,
    cut: Option<oneshot::Sender<Cut>>,
}

impl Subscriber {
    fn cut(&mut self, why: Cut) {
        if let Some(cut) = self.cut.take() {
            // The connection may be gone already: nothing to tell.
            let _ = cut.send(why);
        }
    }
}

/// The connections of one shop, split so that an order's event costs its shop's staff and public
/// screens plus its own customer's connections, not a look at every phone in the shop.
#[derive(Default)]
struct ShopConnections {
    /// Staff and public connections (and any without a user): each event is checked against
    /// each.
    watchers: Vec<Subscriber>,
    /// Customers' connections by user. By [`policy::live_sees`] a customer sees an order event
    /// only of their own order, so one goes to its customer's connections alone; any other
    /// event (`shop.updated`, ...) is checked against every customer.
    customers: HashMap<UserId, Vec<Subscriber>>,
}

impl ShopConnections {
    #[cfg(test)]
    fn len(&self) -> usize {
        self.watchers.len() + self.customers.values().map(Vec::len).sum::<usize>()
    }

    fn is_empty(&self) -> bool {
        self.watchers.is_empty() && self.customers.is_empty()
    }

    fn all_mut(&mut self) -> impl Iterator<Item = &mut Subscriber> {
        self.watchers
            .iter_mut()
            .chain(self.customers.values_mut().flatten())
    }
}

/// Where a subscriber is kept in its shop: under its user if it is a customer's.
fn customer_key(viewer: &Viewer) -> Option<UserId> {
    match viewer.scope {
        Scope::Customer => viewer.user_id.clone(),
        Scope::Staff | Scope::Public => None,
    }
}

/// The connections of every shop. The lock is held only for `try_send`s, never across an await.
#[derive(Default)]
struct Registry {
    shops: Mutex<HashMap<ShopId, ShopConnections>>,
    next_id: AtomicU64,
    stopped: AtomicBool,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<ShopId, ShopConnections>> {
        // A panic elsewhere while holding the lock leaves the map consistent (we never hold it
        // across a partial update), so keep going.
        self.shops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn subscribe(self: &Arc<Self>, shop: &str, viewer: Viewer, capacity: usize) -> Subscription {
        let (queue_tx, queue) = mpsc::channel(capacity.max(1));
        let (cut_tx, cut) = oneshot::channel();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let customer = customer_key(&viewer);
        let mut subscriber = Subscriber {
            id,
            viewer,
            queue: queue_tx,
            cut: Some(cut_tx),
        };
        {
            let mut shops = self.lock();
            // Checked under the lock, so a concurrent shutdown cannot miss this one.
            if self.stopped.load(Ordering::Relaxed) {
                subscriber.cut(Cut::Shutdown);
            } else {
                let connections = shops.entry(ShopId::from(shop)).or_default();
                match &customer {
                    Some(user) => connections
                        .customers
                        .entry(user.clone())
                        .or_default()
                        .push(subscriber),
                    None => connections.watchers.push(subscriber),
                }
            }
        }
        Subscription {
            queue,
            cut,
            registry: Arc::clone(self),
            shop: ShopId::from(shop),
            customer,
            id,
        }
    }

    fn unsubscribe(&self, shop: &str, customer: Option<&UserId>, id: u64) {
        let mut shops = self.lock();
        let Some(connections) = shops.get_mut(shop) else {
            return;
        };
        match customer {
            Some(user) => {
                if let Some(subscribers) = connections.customers.get_mut(user) {
                    subscribers.retain(|s| s.id != id);
                    if subscribers.is_empty() {
                        connections.customers.remove(user);
                    }
                }
            }
            None => connections.watchers.retain(|s| s.id != id),
        }
        if connections.is_empty() {
            shops.remove(shop);
        }
    }

    /// Queue `committed` for every connection of its shop that may see it; cut off those whose
    /// queue is full. Never waits.
    fn publish(&self, committed: &Committed) {
        let mut shops = self.lock();
        let Some(connections) = shops.get_mut(&committed.shop) else {
            return;
        };
        let mut delivery = Delivery {
            committed,
            frame: None,
        };
        connections
            .watchers
            .retain_mut(|subscriber| delivery.offer(subscriber));
        if committed.event.kind.is_order_event() {
            if let Some(customer) = committed.customer_id.as_ref()
                && let Some(subscribers) = connections.customers.get_mut(customer)
            {
                subscribers.retain_mut(|subscriber| delivery.offer(subscriber));
                if subscribers.is_empty() {
                    connections.customers.remove(customer);
                }
            }
        } else {
            connections.customers.retain(|_, subscribers| {
                subscribers.retain_mut(|subscriber| delivery.offer(subscriber));
                !subscribers.is_empty()
            });
        }
        if connections.is_empty() {
            shops.remove(&committed.shop);
        }
    }

    /// Cut every connection off (they all resume with `since`).
    fn cut_all(&self, why: Cut) {
        let mut shops = self.lock();
        for subscriber in shops.values_mut().flat_map(ShopConnections::all_mut) {
            subscriber.cut(why);
        }
        shops.clear();
    }

    fn shutdown(&self) {
        let mut shops = self.lock();
        self.stopped.store(true, Ordering::Relaxed);
        for subscriber in shops.values_mut().flat_map(ShopConnections::all_mut) {
            subscriber.cut(Cut::Shutdown);
        }
        shops.clear();
    }
}

/// One event on its way to a shop's connections; its frame is built at the first that sees it.
struct Delivery<'a> {
    committed: &'a Committed,
    frame: Option<Utf8Bytes>,
}

impl Delivery<'_> {
    /// Queue the event for `subscriber` if it may see it; `false` if the connection is to be
    /// forgotten (ended, or cut off because its queue is full).
    fn offer(&mut self, subscriber: &mut Subscriber) -> bool {
        let committed = self.committed;
        if !subscriber
            .viewer
            .sees(committed.event.kind, committed.customer_id.as_deref())
        {
            return true;
        }
        let text = self
            .frame
            .get_or_insert_with(|| Utf8Bytes::from(event_frame(committed.seq, &committed.json)));
        let queued = Queued {
            seq: committed.seq,
            text: text.clone(),
        };
        match subscriber.queue.try_send(queued) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::info!(shop = %committed.shop, "live connection too slow: cut off");
                subscriber.cut(Cut::SlowConsumer);
                false
            }
            // The connection has ended; its drop will find nothing to remove.
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// The `event` frame ([`espresso_protocol::ServerFrame::Event`]) of a committed event, as every
/// connection receives it: built around the event's JSON as the store wrote it, so an event is
/// encoded once, whatever the number of screens.
pub(crate) fn event_frame(seq: u64, event_json: &str) -> String {
    let mut frame = String::with_capacity(event_json.len() + 40);
    frame.push_str(r#"{"type":"event","seq":"#);
    frame.push_str(&seq.to_string());
    frame.push_str(r#","event":"#);
    frame.push_str(event_json);
    frame.push('}');
    frame
}

/// The one fan-out task: tail the store, hand each event to its shop's connections.
async fn fan_out(registry: Arc<Registry>, mut tail: broadcast::Receiver<Committed>) {
    loop {
        match tail.recv().await {
            Ok(committed) => registry.publish(&committed),
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "live hub fell behind: every connection resumes");
                registry.cut_all(Cut::SlowConsumer);
            }
            // Every store handle is gone: the server is stopping.
            Err(RecvError::Closed) => {
                registry.cut_all(Cut::Shutdown);
                return;
            }
        }
    }
}

/// A connection's registration with the hub; dropping it unregisters.
pub(crate) struct Subscription {
    pub queue: mpsc::Receiver<Queued>,
    /// Fires when the hub cuts this connection off; closed (an error) if the hub is gone.
    pub cut: oneshot::Receiver<Cut>,
    registry: Arc<Registry>,
    shop: ShopId,
    /// The customer it is kept under, if it is a customer's.
    customer: Option<UserId>,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.registry
            .unsubscribe(&self.shop, self.customer.as_ref(), self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use espresso_protocol::{BoothCode, Event, Role, ServerFrame, Shop, ShopId};

    fn viewer(scope: Scope, user: Option<&str>) -> Viewer {
        Viewer {
            scope,
            user_id: user.map(UserId::from),
        }
    }

    fn committed(shop: &str, seq: u64, event: Event, customer: Option<&str>) -> Committed {
        Committed {
            shop: shop.into(),
            seq,
            customer_id: customer.map(UserId::from),
            json: serde_json::to_string(&event).unwrap().into(),
            event: Arc::new(event),
        }
    }

    fn shop_updated(shop: &str, seq: u64) -> Committed {
        let mut state = Shop::default_main();
        state.id = shop.into();
        committed(shop, seq, Event::shop_updated(state, Utc::now()), None)
    }

    /// Event `seq` of `kind` about Ana's order at the main shop.
    fn anas_order(seq: u64, kind: EventType) -> Committed {
        let order = crate::policy::tests::order("ana", Some("s"));
        committed(
            "main",
            seq,
            Event::order(kind, order, Utc::now()),
            Some("ana"),
        )
    }

    fn frame_seq(queued: &Queued) -> u64 {
        match serde_json::from_str::<ServerFrame>(&queued.text).unwrap() {
            ServerFrame::Event { seq, .. } => seq,
            other => panic!("not an event frame: {other:?}"),
        }
    }

    async fn store() -> crate::store::SqliteStore {
        crate::store::SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap()
    }

    #[test]
    fn an_event_frame_built_around_the_stored_json_is_the_protocol_frame() {
        // Screens get the event's stored JSON inside the frame: byte for byte what encoding
        // the frame would give, and what a client reads back.
        let committed = shop_updated("main", 4_294_967_301);
        let frame = event_frame(committed.seq, &committed.json);
        let encoded = serde_json::to_string(&ServerFrame::Event {
            seq: committed.seq,
            event: Box::new((*committed.event).clone()),
        })
        .unwrap();
        assert_eq!(frame, encoded);
        assert_eq!(
            serde_json::from_str::<ServerFrame>(&frame).unwrap(),
            ServerFrame::Event {
                seq: 4_294_967_301,
                event: Box::new((*committed.event).clone()),
            }
        );
    }

    #[test]
    fn staff_see_every_event() {
        let staff = viewer(Scope::Staff, Some("u1"));
        for kind in EventType::ALL {
            assert!(staff.sees(kind, None), "{kind}");
            assert!(staff.sees(kind, Some("someone")), "{kind}");
        }
    }

    #[test]
    fn customers_see_their_own_orders_and_shop_changes() {
        let customer = viewer(Scope::Customer, Some("u1"));
        for kind in EventType::ALL {
            let expected = kind.is_order_event() || kind == EventType::ShopUpdated;
            assert_eq!(customer.sees(kind, Some("u1")), expected, "{kind}");
        }
        assert!(!customer.sees(EventType::OrderCreated, Some("u2")));
        assert!(!customer.sees(EventType::OrderCreated, None));
        assert!(customer.sees(EventType::ShopUpdated, None));
        assert!(!customer.sees(EventType::CodeRotated, None));
        assert!(!customer.sees(EventType::StatsUpdated, None));
    }

    #[test]
    fn the_public_sees_shop_and_stats_updates_only() {
        let public = Viewer::public();
        for kind in EventType::ALL {
            let expected = matches!(kind, EventType::ShopUpdated | EventType::StatsUpdated);
            assert_eq!(public.sees(kind, None), expected, "{kind}");
        }
        assert!(!public.sees(EventType::OrderCreated, Some("u1")));
    }

    #[test]
    fn a_viewers_scope_follows_their_roles() {
        let mut user = UserRecord {
            id: "u1".into(),
            email: "a@cafe.test".into(),
            display_name: None,
            roles: vec![Role::Customer],
        };
        assert_eq!(Viewer::of(&user), viewer(Scope::Customer, Some("u1")));
        for staff in [Role::Barista, Role::Display, Role::Admin] {
            user.roles = vec![Role::Customer, staff];
            assert_eq!(Viewer::of(&user).scope(), Scope::Staff, "{staff:?}");
        }
    }

    #[test]
    fn resume_replays_what_the_log_still_holds() {
        assert_eq!(resume(0, 0, None), Resume::Replay);
        assert_eq!(resume(0, 8, Some(1)), Resume::Replay);
        assert_eq!(resume(2, 8, Some(1)), Resume::Replay);
        assert_eq!(resume(8, 8, Some(1)), Resume::Replay);
        // Trimmed up to 4: a client that saw 4 (or more) missed nothing that is gone.
        assert_eq!(resume(4, 8, Some(5)), Resume::Replay);
    }

    #[test]
    fn resume_resets_when_since_is_ahead_or_trimmed_away() {
        assert_eq!(resume(9, 8, Some(1)), Resume::Reset);
        assert_eq!(resume(1, 0, None), Resume::Reset);
        assert_eq!(resume(3, 8, Some(5)), Resume::Reset);
        // Everything trimmed: only a client that saw the head is still whole.
        assert_eq!(resume(7, 8, None), Resume::Reset);
        assert_eq!(resume(8, 8, None), Resume::Replay);
    }

    #[test]
    fn resume_resets_a_client_too_far_behind_instead_of_reading_the_whole_log() {
        let head = 3 * MAX_REPLAY;
        assert_eq!(resume(0, head, Some(1)), Resume::Reset);
        assert_eq!(resume(head - MAX_REPLAY, head, Some(1)), Resume::Replay);
        assert_eq!(resume(head - MAX_REPLAY - 1, head, Some(1)), Resume::Reset);
    }

    #[test]
    fn events_reach_only_the_connections_of_their_shop_that_may_see_them() {
        let registry = Arc::new(Registry::default());
        let mut staff = registry.subscribe("main", viewer(Scope::Staff, Some("s")), 8);
        let mut public = registry.subscribe("main", Viewer::public(), 8);
        let mut elsewhere = registry.subscribe("other", viewer(Scope::Staff, Some("s")), 8);
        let now = Utc::now();
        let code = BoothCode {
            code: "123456".into(),
            order_url: "http://cafe.test/order?shop=main&code=123456".into(),
            issued_at: now,
            expires_at: now,
            remaining: 10,
        };
        let rotated = Event::code(EventType::CodeRotated, "main", code, now);
        registry.publish(&committed("main", 1, rotated, None));
        registry.publish(&shop_updated("main", 2));

        assert_eq!(frame_seq(&staff.queue.try_recv().unwrap()), 1);
        assert_eq!(frame_seq(&staff.queue.try_recv().unwrap()), 2);
        assert_eq!(frame_seq(&public.queue.try_recv().unwrap()), 2);
        assert!(public.queue.try_recv().is_err());
        assert!(elsewhere.queue.try_recv().is_err());
    }

    #[test]
    fn an_order_event_reaches_staff_and_its_own_customer_only() {
        let registry = Arc::new(Registry::default());
        let mut staff = registry.subscribe("main", viewer(Scope::Staff, Some("s")), 8);
        let mut public = registry.subscribe("main", Viewer::public(), 8);
        let mut ana_phone = registry.subscribe("main", viewer(Scope::Customer, Some("ana")), 8);
        let mut ana_laptop = registry.subscribe("main", viewer(Scope::Customer, Some("ana")), 8);
        let mut ben = registry.subscribe("main", viewer(Scope::Customer, Some("ben")), 8);
        registry.publish(&anas_order(1, EventType::OrderClaimed));
        registry.publish(&shop_updated("main", 2));

        for connection in [&mut staff, &mut ana_phone, &mut ana_laptop] {
            assert_eq!(frame_seq(&connection.queue.try_recv().unwrap()), 1);
            assert_eq!(frame_seq(&connection.queue.try_recv().unwrap()), 2);
        }
        // Ben's phone and the public screen get the shop's change, not Ana's order.
        for connection in [&mut ben, &mut public] {
            assert_eq!(frame_seq(&connection.queue.try_recv().unwrap()), 2);
            assert!(connection.queue.try_recv().is_err());
        }

        // Ana closes one tab: the other still gets her orders, and the shop forgets the first.
        drop(ana_phone);
        assert_eq!(registry.lock()["main"].len(), 4);
        registry.publish(&anas_order(3, EventType::OrderCompleted));
        assert_eq!(frame_seq(&ana_laptop.queue.try_recv().unwrap()), 3);
        drop((ana_laptop, ben, staff, public));
        assert!(registry.lock().is_empty());
    }

    #[test]
    fn a_full_queue_cuts_that_connection_off_and_no_other() {
        let registry = Arc::new(Registry::default());
        let mut slow = registry.subscribe("main", Viewer::public(), 2);
        let mut keeping_up = registry.subscribe("main", Viewer::public(), 2);
        for seq in 1..=3 {
            registry.publish(&shop_updated("main", seq));
            if let Ok(queued) = keeping_up.queue.try_recv() {
                assert_eq!(frame_seq(&queued), seq);
            }
        }
        assert_eq!(slow.cut.try_recv(), Ok(Cut::SlowConsumer));
        assert!(keeping_up.cut.try_recv().is_err());
        // What was queued before the cut is still there; nothing after it.
        assert_eq!(frame_seq(&slow.queue.try_recv().unwrap()), 1);
        assert_eq!(frame_seq(&slow.queue.try_recv().unwrap()), 2);
        registry.publish(&shop_updated("main", 4));
        assert!(slow.queue.try_recv().is_err());
        assert_eq!(frame_seq(&keeping_up.queue.try_recv().unwrap()), 4);
    }

    #[test]
    fn dropping_a_subscription_unregisters_it() {
        let registry = Arc::new(Registry::default());
        let first = registry.subscribe("main", Viewer::public(), 2);
        let _second = registry.subscribe("main", Viewer::public(), 2);
        assert_eq!(registry.lock()["main"].len(), 2);
        drop(first);
        assert_eq!(registry.lock()["main"].len(), 1);
    }

    #[tokio::test]
    async fn a_hub_that_falls_behind_cuts_every_connection_off() {
        let registry = Arc::new(Registry::default());
        let mut main = registry.subscribe("main", Viewer::public(), 64);
        let mut other = registry.subscribe("other", Viewer::public(), 64);
        let (publisher, tail) = broadcast::channel(2);
        // Five events into a tail of two before the fan-out runs: it lags.
        for seq in 1..=5 {
            publisher.send(shop_updated("main", seq)).unwrap();
        }
        let task = tokio::spawn(fan_out(Arc::clone(&registry), tail));
        let cut = tokio::time::timeout(Duration::from_secs(5), &mut main.cut)
            .await
            .unwrap();
        assert_eq!(cut, Ok(Cut::SlowConsumer));
        assert_eq!(other.cut.try_recv(), Ok(Cut::SlowConsumer));
        drop(publisher);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn shutdown_cuts_every_connection_and_refuses_new_ones() {
        let hub = Hub::new(store().await);
        let mut before = hub.subscribe("main", Viewer::public());
        hub.shutdown();
        assert_eq!(before.cut.try_recv(), Ok(Cut::Shutdown));
        let mut after = hub.subscribe("main", Viewer::public());
        assert_eq!(after.cut.try_recv(), Ok(Cut::Shutdown));
    }

    #[tokio::test]
    async fn the_hub_fans_out_what_the_store_commits() {
        let store = store().await;
        let hub = Hub::new(store.clone());
        let mut subscription = hub.subscribe("main", Viewer::public());
        store
            .change_shop(&ShopId::main(), Utc::now(), |shop| {
                shop.open = true;
                Ok(())
            })
            .await
            .unwrap();
        let queued = tokio::time::timeout(Duration::from_secs(5), subscription.queue.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(queued.seq, 1);
        let frame: ServerFrame = serde_json::from_str(&queued.text).unwrap();
        let ServerFrame::Event { seq, event } = frame else {
            panic!("not an event: {frame:?}");
        };
        assert_eq!(seq, 1);
        assert_eq!(event.kind, EventType::ShopUpdated);
        assert!(event.shop_state.unwrap().open);
    }
}
