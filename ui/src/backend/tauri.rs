//! The Tauri backend: the shell's commands through `window.__TAURI__.core.invoke`
//! (`app.withGlobalTauri`). The shell runs the native core (`Client`, `LiveStream`, the session
//! in the OS keyring); this side only (de)serialises. Every call is the core's [`Call`], sent to
//! the shell's one command ([`command::CALL`]), answered with its [`Reply`]; errors arrive as the
//! core's serialised [`ClientError`].
//!
//! Live updates come through a Tauri `Channel` handed to [`command::LIVE_SUBSCRIBE`]: ordered,
//! and private to that subscription. [`command::LIVE_CLOSE`] ends it.

use std::cell::Cell;
use std::rc::Rc;

use espresso_core::ClientError;
use espresso_core::calls::{Call, LocalBoxFuture, Reply, Transport, command};
use espresso_core::client::live::{LiveEnd, LiveStatus, LiveUpdate};
use espresso_core::protocol::ShopId;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

use super::{Backend, BackendResult, LiveHandle, OnLiveUpdate};

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

/// The shell keeps one session for its one app, so this side needs to know nothing.
pub struct TauriBackend;

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

async fn invoke_command<T: DeserializeOwned>(
    command: &str,
    args: &impl Serialize,
) -> Result<T, ClientError> {
    let value = invoke(command, to_js(args)?).await.map_err(from_js_error)?;
    serde_wasm_bindgen::from_value(value).map_err(|e| ClientError::Decode(e.to_string()))
}

/// The arguments of [`command::LIVE_CLOSE`].
#[derive(Serialize)]
struct LiveCloseArgs {
    id: f64,
}

impl Transport for TauriBackend {
    /// The call goes to the shell's one command, which runs it on the native core.
    fn send(&self, call: Call) -> LocalBoxFuture<'_, BackendResult<Reply>> {
        Box::pin(async move { invoke_command(command::CALL, &CallArgs { call }).await })
    }
}

/// The arguments of [`command::CALL`].
#[derive(Serialize)]
struct CallArgs {
    call: Call,
}

impl Backend for TauriBackend {
    fn via(&self) -> &'static str {
        "app"
    }

    fn live(&self, shop: &ShopId, since: Option<u64>, on_update: OnLiveUpdate) -> LiveHandle {
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
                match invoke(command::LIVE_SUBSCRIBE, args.into()).await {
                    Ok(value) => {
                        let subscription = value.as_f64();
                        id.set(subscription);
                        // Closed before the shell answered: close it there too.
                        if closed.get()
                            && let Some(subscription) = subscription
                        {
                            let close = LiveCloseArgs { id: subscription };
                            let _ = invoke_command::<()>(command::LIVE_CLOSE, &close).await;
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
                    let close = LiveCloseArgs { id: subscription };
                    let _ = invoke_command::<()>(command::LIVE_CLOSE, &close).await;
                });
            }
        })
    }
}
