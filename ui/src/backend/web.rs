//! The browser backend: the core's `Client` (reqwest's fetch) and `LiveStream` (the browser's
//! WebSocket) against the server that served this page; the session in `localStorage`.

use std::sync::Arc;

use espresso_core::calls::{Call, Host, LocalBoxFuture, Reply, Transport};
use espresso_core::client::live::{LiveConfig, LiveEnd, LiveStatus, LiveStream, LiveUpdate};
use espresso_core::protocol::{App, ShopId};
#[cfg(target_arch = "wasm32")]
use espresso_core::session::LocalStorageStore as PageStore;
// Natively (unit tests only) there is no localStorage.
#[cfg(not(target_arch = "wasm32"))]
use espresso_core::session::MemoryStore as PageStore;
use espresso_core::{Client, ClientError};

use super::{Backend, BackendResult, LiveHandle, NotifyPermission, OnLiveUpdate};

pub struct WebBackend {
    client: Result<Client, ClientError>,
}

impl WebBackend {
    /// The server is the origin this page came from; each app keeps its session under its own
    /// `localStorage` key.
    pub fn for_this_page(app: App) -> Self {
        let origin = web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
        let store = Arc::new(page_store(app));
        Self {
            client: Client::with_store(&origin, store),
        }
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
fn page_store(app: App) -> PageStore {
    PageStore::new(format!("espresso.session.{}", app.session_key()))
}

#[cfg(not(target_arch = "wasm32"))]
fn page_store(_app: App) -> PageStore {
    PageStore::new()
}

impl Transport for WebBackend {
    /// The call runs here, in the page: the core's client for the server's calls, this page
    /// for its own.
    fn send(&self, call: Call) -> LocalBoxFuture<'_, BackendResult<Reply>> {
        Box::pin(call.run(self))
    }
}

/// A browser tab's answers to the host's calls.
impl Host for WebBackend {
    fn client(&self) -> BackendResult<Client> {
        self.client.clone()
    }

    async fn server_url(&self) -> BackendResult<String> {
        Ok(self
            .client()?
            .base_url()
            .as_str()
            .trim_end_matches('/')
            .to_owned())
    }

    async fn set_server(&self, _url: String, _shop: String) -> BackendResult<()> {
        Err(ClientError::BadUrl(
            "in a browser the server is the one that served this page".into(),
        ))
    }

    async fn set_shop(&self, _shop: String) -> BackendResult<()> {
        Err(ClientError::BadUrl(
            "in a browser the shop is the page's own (?shop=)".into(),
        ))
    }

    async fn notify(&self, title: String, body: String) -> BackendResult<()> {
        if page_permission() == NotifyPermission::Granted {
            let options = web_sys::NotificationOptions::new();
            options.set_body(&body);
            let _ = web_sys::Notification::new_with_options(&title, &options);
        }
        Ok(())
    }

    async fn notification_permission(&self) -> BackendResult<NotifyPermission> {
        Ok(page_permission())
    }

    async fn request_notification_permission(&self) -> BackendResult<NotifyPermission> {
        if page_permission() != NotifyPermission::Ask {
            return Ok(page_permission());
        }
        // Asked now, while the tap that led here still counts as the user's.
        if let Ok(asked) = web_sys::Notification::request_permission() {
            let _ = wasm_bindgen_futures::JsFuture::from(asked).await;
        }
        Ok(page_permission())
    }

    async fn quit_app(&self) -> BackendResult<()> {
        Err(ClientError::BadUrl(
            "a browser tab is closed by the browser".into(),
        ))
    }
}

impl Backend for WebBackend {
    fn via(&self) -> &'static str {
        "web"
    }

    fn live(&self, shop: &ShopId, since: Option<u64>, on_update: OnLiveUpdate) -> LiveHandle {
        let client = match &self.client {
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
