//! Web Push for the customer in a browser: after ordering, "Tell me when it's ready" subscribes
//! this browser (the service worker's `pushManager`, with the server's VAPID key) and hands the
//! subscription to the server, which pushes "ready", "cancelled" and "timed out" even with the
//! page closed or the phone locked. The installed apps notify natively instead.

use espresso_core::protocol::{PushKeys, PushSubscription};
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::backend::{Backend, Calls};

/// Where the subscription is remembered on this device (the offer is not shown again).
pub const SUBSCRIBED_FLAG: &str = "push-subscribed";

fn get(target: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(target, &name.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn call0(target: &JsValue, name: &str) -> Result<JsValue, String> {
    let function: Function = get(target, name)
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| format!("no {name}"))?;
    function.call0(target).map_err(|e| format!("{e:?}"))
}

async fn promise(value: JsValue) -> Result<JsValue, String> {
    let promise: js_sys::Promise = value.dyn_into().map_err(|_| "not a promise".to_owned())?;
    JsFuture::from(promise).await.map_err(|e| {
        get(&e, "message")
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| format!("{e:?}"))
    })
}

/// This browser can take pushes: a service worker container and the Push API.
pub fn supported() -> bool {
    let global = js_sys::global();
    let navigator = get(&global, "navigator");
    navigator.is_some_and(|n| get(&n, "serviceWorker").is_some())
        && get(&global, "PushManager").is_some()
}

/// Subscribe this browser with the server's key and give the subscription to the server.
pub async fn subscribe(backend: &dyn Backend) -> Result<(), String> {
    let key = backend
        .push_key()
        .await
        .map_err(|e| e.to_string())?
        .public_key;
    let global = js_sys::global();
    let navigator = get(&global, "navigator").ok_or("no navigator")?;
    let container = get(&navigator, "serviceWorker").ok_or("no service worker")?;
    let registration = promise(get(&container, "ready").ok_or("no service worker")?).await?;
    let manager = get(&registration, "pushManager").ok_or("no push manager")?;
    let existing = promise(call0(&manager, "getSubscription")?).await?;
    let subscription = if existing.is_null() || existing.is_undefined() {
        let options = Object::new();
        Reflect::set(&options, &"userVisibleOnly".into(), &JsValue::TRUE)
            .map_err(|e| format!("{e:?}"))?;
        Reflect::set(&options, &"applicationServerKey".into(), &key.into())
            .map_err(|e| format!("{e:?}"))?;
        let subscribe: Function = get(&manager, "subscribe")
            .and_then(|f| f.dyn_into().ok())
            .ok_or("no subscribe")?;
        promise(
            subscribe
                .call1(&manager, &options)
                .map_err(|e| format!("{e:?}"))?,
        )
        .await?
    } else {
        existing
    };
    let json = call0(&subscription, "toJSON")?;
    let text = |value: Option<JsValue>| value.and_then(|v| v.as_string()).unwrap_or_default();
    let keys = get(&json, "keys").ok_or("no keys")?;
    let subscription = PushSubscription {
        endpoint: text(get(&json, "endpoint")),
        keys: PushKeys {
            p256dh: text(get(&keys, "p256dh")),
            auth: text(get(&keys, "auth")),
        },
    };
    backend
        .push_subscribe(subscription)
        .await
        .map_err(|e| e.to_string())
}
