//! A screen fed live: a core view (`QueueView` for the barista and the display, `MyOrdersView`
//! for the customer) loaded through REST and then folded from the live stream, with the
//! connection's state for the indicator.
//!
//! The rhythm is the one `espresso_core::view` describes: on the first `Connected { head }` (and
//! on every `Reset { head }`) the snapshot is fetched and loaded at `head`; events that arrive
//! while it loads wait and are applied after it, so none is lost and none counts twice (views are
//! idempotent by `seq`). A reconnect resumes from the last `seq` and needs no reload.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use espresso_core::client::live::{LiveEnd, LiveStatus, LiveUpdate};
use espresso_core::protocol::{BoothCode, Event, Order, Shop, ShopId, Stats};
use espresso_core::view::{MyOrdersView, QueueView};
use leptos::prelude::*;

use crate::backend::{Backend, BackendError, BackendResult, Calls, LiveHandle};
use crate::i18n::{t, tf};

/// The live connection as a screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// Opening the stream or loading the first snapshot.
    Connecting,
    /// Up to date and following.
    Live,
    /// Lost; trying again (the screen keeps what it had and catches up).
    Reconnecting { reason: String },
    /// The session ended: sign in again.
    SignedOut,
    /// No such shop.
    ShopNotFound,
    /// Cannot be opened at all.
    Failed(String),
}

impl Connection {
    /// One word or two for the indicator.
    pub fn label(&self) -> String {
        match self {
            Connection::Connecting => t("Connecting…", "Conectando…").into(),
            Connection::Live => t("Live", "Ao vivo").into(),
            Connection::Reconnecting { .. } => t("Reconnecting…", "Reconectando…").into(),
            Connection::SignedOut => t("Signed out", "Desconectado").into(),
            Connection::ShopNotFound => t("No such shop", "Loja inexistente").into(),
            Connection::Failed(why) => tf!("Offline: {why}", "Sem conexão: {why}"),
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self, Connection::Live)
    }
}

type Fetch<S> = Pin<Box<dyn Future<Output = BackendResult<S>>>>;

/// A view a [`Feed`] can keep: what to fetch, how to load it, how to fold an event.
pub trait FeedView: Clone + Send + Sync + 'static {
    type Snapshot: 'static;
    fn fetch(backend: Rc<dyn Backend>, shop: ShopId) -> Fetch<Self::Snapshot>;
    fn load(&mut self, snapshot: Self::Snapshot, head: u64);
    fn apply_event(&mut self, seq: u64, event: &Event) -> bool;
}

/// Called with each live event after the view applied it (sounds, notifications).
pub type OnEvent = Rc<dyn Fn(&Event)>;

/// What a queue screen loads: the orders on the bar, the shop, and (where the role may see
/// them) the booth code and the numbers.
pub struct QueueSnapshot {
    orders: Vec<Order>,
    shop: Shop,
    code: Option<BoothCode>,
    stats: Option<Stats>,
}

impl FeedView for QueueView {
    type Snapshot = QueueSnapshot;

    fn fetch(backend: Rc<dyn Backend>, shop: ShopId) -> Fetch<QueueSnapshot> {
        Box::pin(async move {
            let orders = backend.orders(shop.clone(), Vec::new(), None).await?;
            let shop_state = backend.shop(shop.clone()).await?;
            let code = backend.booth_code(shop.clone()).await.ok();
            let stats = backend.stats(shop.clone()).await.ok();
            Ok(QueueSnapshot {
                orders,
                shop: shop_state,
                code,
                stats,
            })
        })
    }

    fn load(&mut self, snapshot: QueueSnapshot, head: u64) {
        QueueView::load(self, snapshot.orders, head);
        self.set_shop(snapshot.shop);
        if let Some(code) = snapshot.code {
            self.set_code(code);
        }
        if let Some(stats) = snapshot.stats {
            self.set_stats(stats);
        }
    }

    fn apply_event(&mut self, seq: u64, event: &Event) -> bool {
        self.apply(seq, event)
    }
}

impl FeedView for MyOrdersView {
    type Snapshot = (Vec<Order>, Shop);

    fn fetch(backend: Rc<dyn Backend>, shop: ShopId) -> Fetch<(Vec<Order>, Shop)> {
        Box::pin(async move {
            let orders = backend.my_orders().await?;
            let shop = backend.shop(shop.clone()).await?;
            Ok((orders, shop))
        })
    }

    fn load(&mut self, (orders, shop): (Vec<Order>, Shop), head: u64) {
        MyOrdersView::load(self, orders, head);
        self.set_shop(shop);
    }

    fn apply_event(&mut self, seq: u64, event: &Event) -> bool {
        self.apply(seq, event)
    }
}

/// A view kept live. Signals, so components read it reactively; cheap to copy.
pub struct Feed<V: FeedView> {
    pub view: RwSignal<V>,
    pub connection: RwSignal<Connection>,
    /// The first snapshot arrived (before that, a screen shows a placeholder).
    pub loaded: RwSignal<bool>,
    /// Why the last snapshot could not be loaded (it is tried again).
    pub load_error: RwSignal<Option<BackendError>>,
}

impl<V: FeedView> Clone for Feed<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V: FeedView> Copy for Feed<V> {}

/// Events waiting while a snapshot loads (`Some`), or none loading (`None`).
type Pending = Rc<RefCell<Option<Vec<(u64, Event)>>>>;

/// Start following `shop` into `initial`; `on_event` sees every event after it is applied
/// (sounds, notifications). The stream closes when the calling component is cleaned up.
pub fn use_feed<V: FeedView>(
    backend: Rc<dyn Backend>,
    shop: ShopId,
    initial: V,
    on_event: Option<OnEvent>,
) -> Feed<V> {
    let feed = Feed {
        view: RwSignal::new(initial),
        connection: RwSignal::new(Connection::Connecting),
        loaded: RwSignal::new(false),
        load_error: RwSignal::new(None),
    };
    let pending: Pending = Rc::new(RefCell::new(None));
    let reload = {
        let backend = Rc::clone(&backend);
        let shop = shop.clone();
        let pending = Rc::clone(&pending);
        Rc::new(move |head: u64| {
            load_snapshot(
                Rc::clone(&backend),
                shop.clone(),
                head,
                feed,
                Rc::clone(&pending),
            )
        })
    };
    let on_update = {
        let pending = Rc::clone(&pending);
        Rc::new(move |update: LiveUpdate| match update {
            LiveUpdate::Status(LiveStatus::Connected { head, .. }) => {
                if feed.loaded.get_untracked() {
                    feed.connection.try_set(Connection::Live);
                } else if pending.borrow().is_none() {
                    reload(head);
                }
            }
            LiveUpdate::Status(LiveStatus::Reconnecting { reason, .. }) => {
                feed.connection.try_set(Connection::Reconnecting { reason });
            }
            LiveUpdate::Status(LiveStatus::Ended(end)) => {
                feed.connection.try_set(match end {
                    LiveEnd::SignedOut => Connection::SignedOut,
                    LiveEnd::ShopNotFound => Connection::ShopNotFound,
                    LiveEnd::Failed(why) => Connection::Failed(why),
                    LiveEnd::Closed => Connection::Failed("closed".into()),
                });
            }
            LiveUpdate::Reset { head } => reload(head),
            LiveUpdate::Event { seq, event } => {
                if let Some(waiting) = pending.borrow_mut().as_mut() {
                    waiting.push((seq, *event));
                    return;
                }
                feed.view.try_update(|view| view.apply_event(seq, &event));
                if let Some(on_event) = &on_event {
                    on_event(&event);
                }
            }
        })
    };
    let handle: LiveHandle = backend.live(&shop, None, on_update);
    let handle = StoredValue::new_local(Some(handle));
    on_cleanup(move || {
        handle.try_update_value(|handle| handle.take());
    });
    feed
}

fn load_snapshot<V: FeedView>(
    backend: Rc<dyn Backend>,
    shop: ShopId,
    head: u64,
    feed: Feed<V>,
    pending: Pending,
) {
    *pending.borrow_mut() = Some(Vec::new());
    leptos::task::spawn_local(async move {
        match V::fetch(Rc::clone(&backend), shop.clone()).await {
            Ok(snapshot) => {
                let waiting = pending.borrow_mut().take().unwrap_or_default();
                feed.view.try_update(|view| {
                    view.load(snapshot, head);
                    for (seq, event) in &waiting {
                        view.apply_event(*seq, event);
                    }
                });
                feed.loaded.try_set(true);
                feed.load_error.try_set(None);
                feed.connection.try_set(Connection::Live);
            }
            Err(error) => {
                let signed_out = matches!(error, BackendError::SignedOut);
                feed.load_error.try_set(Some(error));
                if signed_out {
                    *pending.borrow_mut() = None;
                    feed.connection.try_set(Connection::SignedOut);
                    return;
                }
                // Try again shortly, from where the stream is now: the events that came
                // meanwhile are still waiting and apply on top.
                let retry_head = head;
                set_timeout(
                    move || load_snapshot(backend, shop, retry_head, feed, pending),
                    std::time::Duration::from_secs(2),
                );
            }
        }
    });
}

/// The small "Live / Reconnecting…" pill every screen shows.
#[component]
pub fn ConnectionBadge(connection: RwSignal<Connection>) -> impl IntoView {
    view! {
        <span
            class=move || {
                let state = match connection.get() {
                    Connection::Live => "live",
                    Connection::Connecting | Connection::Reconnecting { .. } => "reconnecting",
                    _ => "offline",
                };
                format!("connection connection-{state}")
            }
            data-testid="connection"
            role="status"
            aria-live="polite"
            title=move || match connection.get() {
                Connection::Reconnecting { reason } => reason,
                other => other.label(),
            }
        >
            <span class="connection-dot" aria-hidden="true"></span>
            {move || connection.get().label()}
        </span>
    }
}
