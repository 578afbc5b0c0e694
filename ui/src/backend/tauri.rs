//! The Tauri backend: the shell's commands through `window.__TAURI__.core.invoke`
//! (`app.withGlobalTauri`). The shell runs the native core; this side only (de)serialises.

use async_trait::async_trait;
use espresso_core::protocol::Health;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

use super::{Backend, BackendError};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], catch)]
    async fn invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

/// True inside the Tauri shell (it injects `window.__TAURI__`).
pub fn available() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("__TAURI__")).unwrap_or(false)
}

pub struct TauriBackend;

async fn call<T: DeserializeOwned>(command: &str) -> Result<T, BackendError> {
    let value = invoke(command, js_sys::Object::new().into())
        .await
        .map_err(|e| BackendError(e.as_string().unwrap_or_else(|| format!("{e:?}"))))?;
    serde_wasm_bindgen::from_value(value).map_err(|e| BackendError(e.to_string()))
}

#[async_trait(?Send)]
impl Backend for TauriBackend {
    fn via(&self) -> &'static str {
        "app"
    }

    async fn health(&self) -> Result<Health, BackendError> {
        call("health").await
    }
}
