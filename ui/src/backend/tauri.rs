//! The Tauri backend: the shell's commands through `window.__TAURI__.core.invoke`
//! (`app.withGlobalTauri`). The shell runs the native core (`Client`, `LiveStream`, the session
//! in the OS keyring); this side only (de)serialises. Command names and argument names are the
//! [`Backend`] methods' own (the shell's commands use `rename_all = "snake_case"`); errors arrive
//! as the core's serialised [`ClientError`].
//!
//! Live updates come through a Tauri `Channel` handed to the `live_subscribe` command: ordered,
//! and private to that subscription. `live_close` ends it.

use std::cell::Cell;
use std::rc::Rc;

use async_trait::async_trait;
use espresso_core::ClientError;
use espresso_core::client::live::{LiveEnd, LiveStatus, LiveUpdate};
use espresso_core::protocol::{
    BoothCode, DrinkChoice, Health, Me, Order, OrderDetail, OrderState, OtpChallenge, Shop, Stats,
    User,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use wasm_bindgen::prelude::*;

use super::{
    AppRole, Backend, BackendResult, LiveHandle, NotifyPermission, OnLiveUpdate, StaffAction,
};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], catch)]
    async fn invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;

    /// `window.__TAURI__.core.Channel`: messages from a command, in order.
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"])]
    type Channel;

    #[wasm_bindgen(constructor, js_namespace = ["window", "__TAURI__", "core"])]
    fn new() -> Channel;

    #[wasm_bindgen(method, setter)]
    fn set_onmessage(this: &Channel, handler: &js_sys::Function);
}

/// True inside the Tauri shell (it injects `window.__TAURI__`).
pub fn available() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("__TAURI__")).unwrap_or(false)
}

pub struct TauriBackend {
    app: AppRole,
}

impl TauriBackend {
    pub fn new(app: AppRole) -> Self {
        Self { app }
    }
}

fn to_js(value: &impl Serialize) -> Result<JsValue, ClientError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| ClientError::Decode(e.to_string()))
}

/// The shell's answer, or its error: a serialised `ClientError`, or (for failures of Tauri
/// itself, e.g. an unknown command) a plain string.
fn from_js_error(error: JsValue) -> ClientError {
    serde_wasm_bindgen::from_value::<ClientError>(error.clone()).unwrap_or_else(|_| {
        ClientError::Network(
            error
                .as_string()
                .unwrap_or_else(|| format!("the app shell failed: {error:?}")),
        )
    })
}

async fn call<T: DeserializeOwned>(
    command: &str,
    args: serde_json::Value,
) -> Result<T, ClientError> {
    let value = invoke(command, to_js(&args)?)
        .await
        .map_err(from_js_error)?;
    serde_wasm_bindgen::from_value(value).map_err(|e| ClientError::Decode(e.to_string()))
}

#[async_trait(?Send)]
impl Backend for TauriBackend {
    fn via(&self) -> &'static str {
        "app"
    }

    async fn server_url(&self) -> BackendResult<String> {
        call("server_url", json!({})).await
    }

    async fn set_server(&self, url: &str, shop: &str) -> BackendResult<()> {
        call("set_server", json!({ "url": url, "shop": shop })).await
    }

    async fn set_shop(&self, shop: &str) -> BackendResult<()> {
        call("set_shop", json!({ "shop": shop })).await
    }

    async fn notify(&self, title: &str, body: &str) {
        // Whether it could be shown changes nothing here (the shell never fails it anyway).
        let _ = call::<()>("notify", json!({ "title": title, "body": body })).await;
    }

    async fn notification_permission(&self) -> NotifyPermission {
        call("notification_permission", json!({}))
            .await
            .unwrap_or(NotifyPermission::Denied)
    }

    async fn request_notification_permission(&self) -> NotifyPermission {
        call("request_notification_permission", json!({}))
            .await
            .unwrap_or(NotifyPermission::Denied)
    }

    async fn quit_app(&self) -> BackendResult<()> {
        call("quit_app", json!({})).await
    }

    async fn health(&self) -> BackendResult<Health> {
        call("health", json!({})).await
    }

    async fn user(&self) -> BackendResult<Option<User>> {
        call("user", json!({ "app": self.app.key() })).await
    }

    async fn request_code(&self, email: &str) -> BackendResult<OtpChallenge> {
        call("request_code", json!({ "email": email })).await
    }

    async fn verify_code(&self, challenge_id: &str, code: &str) -> BackendResult<User> {
        call(
            "verify_code",
            json!({ "challenge_id": challenge_id, "code": code }),
        )
        .await
    }

    async fn sign_out(&self) -> BackendResult<()> {
        call("sign_out", json!({})).await
    }

    async fn me(&self) -> BackendResult<Me> {
        call("me", json!({})).await
    }

    async fn set_display_name(&self, name: Option<String>) -> BackendResult<Me> {
        call("set_display_name", json!({ "name": name })).await
    }

    async fn shop(&self, shop: &str) -> BackendResult<Shop> {
        call("shop", json!({ "shop": shop })).await
    }

    async fn set_shop_open(&self, shop: &str, open: bool) -> BackendResult<Shop> {
        call("set_shop_open", json!({ "shop": shop, "open": open })).await
    }

    async fn set_item_available(
        &self,
        shop: &str,
        item_id: &str,
        available: bool,
    ) -> BackendResult<Shop> {
        call(
            "set_item_available",
            json!({ "shop": shop, "item_id": item_id, "available": available }),
        )
        .await
    }

    async fn stats(&self, shop: &str) -> BackendResult<Stats> {
        call("stats", json!({ "shop": shop })).await
    }

    async fn booth_code(&self, shop: &str) -> BackendResult<BoothCode> {
        call("booth_code", json!({ "shop": shop })).await
    }

    async fn start_order(
        &self,
        shop: &str,
        code: &str,
        drink: Option<DrinkChoice>,
    ) -> BackendResult<Order> {
        call(
            "start_order",
            json!({ "shop": shop, "code": code, "drink": drink }),
        )
        .await
    }

    async fn choose_drink(
        &self,
        shop: &str,
        order_id: &str,
        drink: DrinkChoice,
    ) -> BackendResult<Order> {
        call(
            "choose_drink",
            json!({ "shop": shop, "order_id": order_id, "drink": drink }),
        )
        .await
    }

    async fn cancel_order(
        &self,
        shop: &str,
        order_id: &str,
        reason: Option<String>,
    ) -> BackendResult<Order> {
        call(
            "cancel_order",
            json!({ "shop": shop, "order_id": order_id, "reason": reason }),
        )
        .await
    }

    async fn order_action(
        &self,
        shop: &str,
        order_id: &str,
        action: StaffAction,
    ) -> BackendResult<Order> {
        call(
            "order_action",
            json!({ "shop": shop, "order_id": order_id, "action": action }),
        )
        .await
    }

    async fn orders(
        &self,
        shop: &str,
        states: Vec<OrderState>,
        limit: Option<u32>,
    ) -> BackendResult<Vec<Order>> {
        call(
            "orders",
            json!({ "shop": shop, "states": states, "limit": limit }),
        )
        .await
    }

    async fn order(&self, shop: &str, order_id: &str) -> BackendResult<OrderDetail> {
        call("order", json!({ "shop": shop, "order_id": order_id })).await
    }

    async fn my_orders(&self) -> BackendResult<Vec<Order>> {
        call("my_orders", json!({})).await
    }

    fn live(&self, shop: &str, since: Option<u64>, on_update: OnLiveUpdate) -> LiveHandle {
        let closed = Rc::new(Cell::new(false));
        let channel = Channel::new();
        let deliver = {
            let closed = Rc::clone(&closed);
            let on_update = Rc::clone(&on_update);
            Closure::<dyn Fn(JsValue)>::new(move |message: JsValue| {
                if closed.get() {
                    return;
                }
                match serde_wasm_bindgen::from_value::<LiveUpdate>(message) {
                    Ok(update) => on_update(update),
                    Err(error) => on_update(LiveUpdate::Status(LiveStatus::Ended(
                        LiveEnd::Failed(format!("unreadable live update: {error}")),
                    ))),
                }
            })
        };
        channel.set_onmessage(deliver.as_ref().unchecked_ref());
        let args = js_sys::Object::new();
        let set = |key: &str, value: &JsValue| {
            let _ = js_sys::Reflect::set(&args, &JsValue::from_str(key), value);
        };
        set("shop", &JsValue::from_str(shop));
        set(
            "since",
            &since.map_or(JsValue::NULL, |seq| JsValue::from_f64(seq as f64)),
        );
        set("on_update", channel.as_ref());
        let id = Rc::new(Cell::new(None::<f64>));
        {
            let id = Rc::clone(&id);
            let closed = Rc::clone(&closed);
            leptos::task::spawn_local(async move {
                match invoke("live_subscribe", args.into()).await {
                    Ok(value) => {
                        let subscription = value.as_f64();
                        id.set(subscription);
                        // Closed before the shell answered: close it there too.
                        if closed.get()
                            && let Some(subscription) = subscription
                        {
                            let _ = call::<()>("live_close", json!({ "id": subscription })).await;
                        }
                    }
                    Err(error) => on_update(LiveUpdate::Status(LiveStatus::Ended(
                        LiveEnd::Failed(from_js_error(error).to_string()),
                    ))),
                }
            });
        }
        LiveHandle::new(move || {
            closed.set(true);
            channel.set_onmessage(&js_sys::Function::new_no_args(""));
            drop(deliver);
            if let Some(subscription) = id.get() {
                leptos::task::spawn_local(async move {
                    let _ = call::<()>("live_close", json!({ "id": subscription })).await;
                });
            }
        })
    }
}
