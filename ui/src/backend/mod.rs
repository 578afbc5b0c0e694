//! The one seam between the UI and the outside world. Two implementations, which differ only in
//! how a call travels: [`web::WebBackend`] (the core compiled to wasm runs each call itself,
//! talking to the server over HTTP) and [`tauri::TauriBackend`] (each call goes to the Tauri
//! shell's one command, where the native core runs it). No component imports HTTP or Tauri: they
//! get an `Rc<dyn Backend>` from [`detect`] and call the core's typed [`Calls`] on it.
//!
//! The calls themselves are the core's `calls` list (defined once: a new call is one line there
//! plus its handler). Errors are the core's [`ClientError`]: match on `err.code()` for the
//! server's stable codes.

mod tauri;
mod web;

use std::rc::Rc;

use espresso_core::ClientError;
use espresso_core::calls::Transport;
pub use espresso_core::calls::{Calls, NotifyPermission};
use espresso_core::client::live::LiveUpdate;
use espresso_core::protocol::{App, ShopId};
use leptos::prelude::{GetValue, LocalStorage, StoredValue};

/// A failure as the core reports it (network, signed out, or the server's refusal with its code).
pub type BackendError = ClientError;
pub type BackendResult<T> = Result<T, BackendError>;

pub use espresso_core::StaffAction;

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

/// What the apps call: every [`Calls`] method (the core's list, defined once), carried by
/// [`Transport::send`], and the live stream.
pub trait Backend: Transport {
    /// How this UI reaches the server, shown in the footer ("web" or "app").
    fn via(&self) -> &'static str;

    /// Follow `shop` live (as the signed-in user, or the public), resuming after `since`.
    /// `on_update` gets every [`LiveUpdate`] in order until the handle is dropped.
    fn live(&self, shop: &ShopId, since: Option<u64>, on_update: OnLiveUpdate) -> LiveHandle;
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

/// The backend for where this page runs: inside the Tauri shell, or in a plain browser. Each
/// app keeps its own session ([`App::session_key`]).
pub fn detect(app: App) -> Rc<dyn Backend> {
    if tauri::available() {
        Rc::new(tauri::TauriBackend)
    } else {
        Rc::new(web::WebBackend::for_this_page(app))
    }
}
