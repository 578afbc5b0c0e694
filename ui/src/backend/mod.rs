//! The one seam between the UI and the outside world. Two implementations:
//! [`web::WebBackend`] (the core compiled to wasm, talking to the server over HTTP) and
//! [`tauri::TauriBackend`] (commands of the native core in the Tauri shell). No component
//! imports HTTP or Tauri: they get an `Rc<dyn Backend>` from [`detect`].
//!
//! Every method is one call of espresso-core's `Client` (or its `LiveStream`), so the Tauri
//! shell exposes them one to one as commands. Errors are the core's [`ClientError`]: match on
//! `err.code()` for the server's stable codes.

mod tauri;
mod web;

use std::rc::Rc;

use async_trait::async_trait;
use espresso_core::ClientError;
use espresso_core::client::live::LiveUpdate;
use espresso_core::protocol::{
    BoothCode, DrinkChoice, Health, Me, Order, OrderDetail, OrderState, OtpChallenge, Shop, Stats,
    User,
};
use leptos::prelude::{GetValue, LocalStorage, StoredValue};

/// A failure as the core reports it (network, signed out, or the server's refusal with its code).
pub type BackendError = ClientError;
pub type BackendResult<T> = Result<T, BackendError>;

pub use espresso_core::StaffAction;

/// Which of the three apps is asking: each keeps its own session, so one browser (or one test)
/// can be a customer on `/order` and a barista on `/barista` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppRole {
    Customer,
    Barista,
    Display,
}

impl AppRole {
    pub fn key(self) -> &'static str {
        match self {
            AppRole::Customer => "customer",
            AppRole::Barista => "barista",
            AppRole::Display => "display",
        }
    }
}

/// Whether this app may show system notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyPermission {
    Granted,
    Denied,
    /// Not decided yet: ask (from a tap; browsers ignore it otherwise).
    Ask,
}

/// Where live updates go. Called on the UI thread, in order.
pub type OnLiveUpdate = Rc<dyn Fn(LiveUpdate)>;

/// A running live subscription; dropping it (or [`LiveHandle::close`]) closes the stream.
#[must_use = "dropping the LiveHandle closes the stream"]
pub struct LiveHandle {
    close: Option<Box<dyn FnOnce()>>,
}

impl LiveHandle {
    pub fn new(close: impl FnOnce() + 'static) -> Self {
        Self {
            close: Some(Box::new(close)),
        }
    }

    pub fn close(&mut self) {
        if let Some(close) = self.close.take() {
            close();
        }
    }
}

impl Drop for LiveHandle {
    fn drop(&mut self) {
        self.close();
    }
}

#[async_trait(?Send)]
pub trait Backend {
    /// How this UI reaches the server, shown in the footer ("web" or "app").
    fn via(&self) -> &'static str;

    /// The server this app talks to.
    async fn server_url(&self) -> BackendResult<String>;

    /// Talk to another server about `shop` (the installed apps' first-run setup): the server
    /// must answer and know the shop first (else its `not_found`); both are kept for the next
    /// start. In a browser the server is the page's own and the shop its `?shop=`: refused.
    async fn set_server(&self, url: &str, shop: &str) -> BackendResult<()>;

    /// Serve another shop of the same server from now on (checked, then kept for the next
    /// start). In a browser the shop is the page's `?shop=`: refused.
    async fn set_shop(&self, shop: &str) -> BackendResult<()>;

    // --- System notifications -------------------------------------------------------------

    /// Show a system notification if this app may (it never asks by itself). Where none can be
    /// shown (no permission, no notification service) nothing happens: it never fails the UI.
    async fn notify(&self, title: &str, body: &str);

    async fn notification_permission(&self) -> NotifyPermission;

    /// Ask the user (call from a tap); answers what they chose.
    async fn request_notification_permission(&self) -> NotifyPermission;

    /// Close the installed app (the display's hidden settings; the kiosk window refuses other
    /// ways to close). A browser tab cannot close itself: refused.
    async fn quit_app(&self) -> BackendResult<()>;

    /// Is the server up, and which version is it.
    async fn health(&self) -> BackendResult<Health>;

    // --- Sign-in ------------------------------------------------------------------------

    /// The signed-in user from the saved session, if any (no network).
    async fn user(&self) -> BackendResult<Option<User>>;

    /// Mail a one-time code to `email`.
    async fn request_code(&self, email: &str) -> BackendResult<OtpChallenge>;

    /// Sign in with the code from the mail; the session is saved.
    async fn verify_code(&self, challenge_id: &str, code: &str) -> BackendResult<User>;

    /// Sign out here (the server revokes the session) and forget it.
    async fn sign_out(&self) -> BackendResult<()>;

    async fn me(&self) -> BackendResult<Me>;

    /// The first name shown on the board (`None`: none).
    async fn set_display_name(&self, name: Option<String>) -> BackendResult<Me>;

    // --- The shop -----------------------------------------------------------------------

    async fn shop(&self, shop: &str) -> BackendResult<Shop>;

    async fn set_shop_open(&self, shop: &str, open: bool) -> BackendResult<Shop>;

    /// 86 a drink (`available: false`) or bring it back.
    async fn set_item_available(
        &self,
        shop: &str,
        item_id: &str,
        available: bool,
    ) -> BackendResult<Shop>;

    async fn stats(&self, shop: &str) -> BackendResult<Stats>;

    /// The booth's current QR code (display, staff).
    async fn booth_code(&self, shop: &str) -> BackendResult<BoothCode>;

    // --- Orders -------------------------------------------------------------------------

    async fn start_order(
        &self,
        shop: &str,
        code: &str,
        drink: Option<DrinkChoice>,
    ) -> BackendResult<Order>;

    async fn choose_drink(
        &self,
        shop: &str,
        order_id: &str,
        drink: DrinkChoice,
    ) -> BackendResult<Order>;

    async fn cancel_order(
        &self,
        shop: &str,
        order_id: &str,
        reason: Option<String>,
    ) -> BackendResult<Order>;

    async fn order_action(
        &self,
        shop: &str,
        order_id: &str,
        action: StaffAction,
    ) -> BackendResult<Order>;

    /// The shop's orders in `states` (empty: the ones on the bar).
    async fn orders(
        &self,
        shop: &str,
        states: Vec<OrderState>,
        limit: Option<u32>,
    ) -> BackendResult<Vec<Order>>;

    /// One order and its journey.
    async fn order(&self, shop: &str, order_id: &str) -> BackendResult<OrderDetail>;

    /// The signed-in customer's orders, newest first.
    async fn my_orders(&self) -> BackendResult<Vec<Order>>;

    // --- Live ---------------------------------------------------------------------------

    /// Follow `shop` live (as the signed-in user, or the public), resuming after `since`.
    /// `on_update` gets every [`LiveUpdate`] in order until the handle is dropped.
    fn live(&self, shop: &str, since: Option<u64>, on_update: OnLiveUpdate) -> LiveHandle;
}

/// A handle on the app's backend that views can capture: `Copy` and `Send` (Leptos views must
/// be), while the backend itself stays on the UI thread. Create it in the root component.
#[derive(Clone, Copy)]
pub struct BackendRef(StoredValue<Rc<dyn Backend>, LocalStorage>);

impl BackendRef {
    pub fn new(backend: Rc<dyn Backend>) -> Self {
        Self(StoredValue::new_local(backend))
    }

    pub fn get(&self) -> Rc<dyn Backend> {
        self.0.get_value()
    }
}

/// The backend for where this page runs: inside the Tauri shell, or in a plain browser.
pub fn detect(app: AppRole) -> Rc<dyn Backend> {
    if tauri::available() {
        Rc::new(tauri::TauriBackend::new(app))
    } else {
        Rc::new(web::WebBackend::for_this_page(app))
    }
}
