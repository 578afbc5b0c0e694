//! The browser backend: the core's `Client` (reqwest's fetch) and `LiveStream` (the browser's
//! WebSocket) against the server that served this page; the session in `localStorage`.

use std::sync::Arc;

use async_trait::async_trait;
use espresso_core::client::live::{LiveConfig, LiveEnd, LiveStatus, LiveStream, LiveUpdate};
use espresso_core::protocol::{
    BoothCode, DrinkChoice, Health, Me, Order, OrderDetail, OrderState, OtpChallenge, Shop, Stats,
    User,
};
#[cfg(target_arch = "wasm32")]
use espresso_core::session::LocalStorageStore as PageStore;
// Natively (unit tests only) there is no localStorage.
#[cfg(not(target_arch = "wasm32"))]
use espresso_core::session::MemoryStore as PageStore;
use espresso_core::{Client, ClientError};

use super::{
    AppRole, Backend, BackendResult, LiveHandle, NotifyPermission, OnLiveUpdate, StaffAction,
};

pub struct WebBackend {
    client: Result<Client, ClientError>,
}

impl WebBackend {
    /// The server is the origin this page came from; each app keeps its session under its own
    /// `localStorage` key.
    pub fn for_this_page(app: AppRole) -> Self {
        let origin = web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
        let store = Arc::new(page_store(app));
        Self {
            client: Client::with_store(&origin, store),
        }
    }

    fn client(&self) -> BackendResult<&Client> {
        self.client.as_ref().map_err(Clone::clone)
    }
}

/// The page's Notification permission (browsers without the Notification API: denied).
fn page_permission() -> NotifyPermission {
    let has_api = js_sys::Reflect::has(&js_sys::global(), &"Notification".into()).unwrap_or(false);
    if !has_api {
        return NotifyPermission::Denied;
    }
    match web_sys::Notification::permission() {
        web_sys::NotificationPermission::Granted => NotifyPermission::Granted,
        web_sys::NotificationPermission::Default => NotifyPermission::Ask,
        _ => NotifyPermission::Denied,
    }
}

#[cfg(target_arch = "wasm32")]
fn page_store(app: AppRole) -> PageStore {
    PageStore::new(format!("espresso.session.{}", app.key()))
}

#[cfg(not(target_arch = "wasm32"))]
fn page_store(_app: AppRole) -> PageStore {
    PageStore::new()
}

#[async_trait(?Send)]
impl Backend for WebBackend {
    fn via(&self) -> &'static str {
        "web"
    }

    async fn server_url(&self) -> BackendResult<String> {
        Ok(self
            .client()?
            .base_url()
            .as_str()
            .trim_end_matches('/')
            .to_owned())
    }

    async fn set_server(&self, _url: &str, _shop: &str) -> BackendResult<()> {
        Err(ClientError::BadUrl(
            "in a browser the server is the one that served this page".into(),
        ))
    }

    async fn set_shop(&self, _shop: &str) -> BackendResult<()> {
        Err(ClientError::BadUrl(
            "in a browser the shop is the page's own (?shop=)".into(),
        ))
    }

    async fn notify(&self, title: &str, body: &str) {
        if page_permission() != NotifyPermission::Granted {
            return;
        }
        let options = web_sys::NotificationOptions::new();
        options.set_body(body);
        let _ = web_sys::Notification::new_with_options(title, &options);
    }

    async fn notification_permission(&self) -> NotifyPermission {
        page_permission()
    }

    async fn request_notification_permission(&self) -> NotifyPermission {
        if page_permission() != NotifyPermission::Ask {
            return page_permission();
        }
        // Asked now, while the tap that led here still counts as the user's.
        if let Ok(asked) = web_sys::Notification::request_permission() {
            let _ = wasm_bindgen_futures::JsFuture::from(asked).await;
        }
        page_permission()
    }

    async fn quit_app(&self) -> BackendResult<()> {
        Err(ClientError::BadUrl(
            "a browser tab is closed by the browser".into(),
        ))
    }

    async fn health(&self) -> BackendResult<Health> {
        self.client()?.health().await
    }

    async fn user(&self) -> BackendResult<Option<User>> {
        Ok(self.client()?.user())
    }

    async fn request_code(&self, email: &str) -> BackendResult<OtpChallenge> {
        self.client()?.request_code(email).await
    }

    async fn verify_code(&self, challenge_id: &str, code: &str) -> BackendResult<User> {
        Ok(self.client()?.verify_code(challenge_id, code).await?.user)
    }

    async fn sign_out(&self) -> BackendResult<()> {
        self.client()?.sign_out().await
    }

    async fn me(&self) -> BackendResult<Me> {
        self.client()?.me().await
    }

    async fn set_display_name(&self, name: Option<String>) -> BackendResult<Me> {
        self.client()?.set_display_name(name.as_deref()).await
    }

    async fn shop(&self, shop: &str) -> BackendResult<Shop> {
        self.client()?.shop(shop).await
    }

    async fn set_shop_open(&self, shop: &str, open: bool) -> BackendResult<Shop> {
        self.client()?.set_shop_open(shop, open).await
    }

    async fn set_item_available(
        &self,
        shop: &str,
        item_id: &str,
        available: bool,
    ) -> BackendResult<Shop> {
        self.client()?
            .set_item_available(shop, item_id, available)
            .await
    }

    async fn stats(&self, shop: &str) -> BackendResult<Stats> {
        self.client()?.stats(shop).await
    }

    async fn booth_code(&self, shop: &str) -> BackendResult<BoothCode> {
        self.client()?.booth_code(shop).await
    }

    async fn start_order(
        &self,
        shop: &str,
        code: &str,
        drink: Option<DrinkChoice>,
    ) -> BackendResult<Order> {
        self.client()?.start_order(shop, code, drink).await
    }

    async fn choose_drink(
        &self,
        shop: &str,
        order_id: &str,
        drink: DrinkChoice,
    ) -> BackendResult<Order> {
        self.client()?.choose_drink(shop, order_id, &drink).await
    }

    async fn cancel_order(
        &self,
        shop: &str,
        order_id: &str,
        reason: Option<String>,
    ) -> BackendResult<Order> {
        self.client()?
            .cancel_order(shop, order_id, reason.as_deref())
            .await
    }

    async fn order_action(
        &self,
        shop: &str,
        order_id: &str,
        action: StaffAction,
    ) -> BackendResult<Order> {
        self.client()?.act(shop, order_id, action).await
    }

    async fn orders(
        &self,
        shop: &str,
        states: Vec<OrderState>,
        limit: Option<u32>,
    ) -> BackendResult<Vec<Order>> {
        self.client()?.orders(shop, &states, limit).await
    }

    async fn order(&self, shop: &str, order_id: &str) -> BackendResult<OrderDetail> {
        self.client()?.order(shop, order_id).await
    }

    async fn my_orders(&self) -> BackendResult<Vec<Order>> {
        self.client()?.my_orders().await
    }

    fn live(&self, shop: &str, since: Option<u64>, on_update: OnLiveUpdate) -> LiveHandle {
        let client = match self.client() {
            Ok(client) => client,
            Err(error) => {
                on_update(LiveUpdate::Status(LiveStatus::Ended(LiveEnd::Failed(
                    error.to_string(),
                ))));
                return LiveHandle::new(|| {});
            }
        };
        let (stream, mut updates) =
            LiveStream::connect_with(client, shop, since, LiveConfig::default());
        leptos::task::spawn_local(async move {
            while let Some(update) = updates.next().await {
                on_update(update);
            }
        });
        LiveHandle::new(move || stream.close())
    }
}
