//! The one seam between the UI and the outside world. Two implementations:
//! [`web::WebBackend`] (the core compiled to wasm, talking to the server over HTTP) and
//! [`tauri::TauriBackend`] (commands of the native core in the Tauri shell). No component
//! imports HTTP or Tauri: they get an `Rc<dyn Backend>` from [`detect`].

mod tauri;
mod web;

use std::rc::Rc;

use async_trait::async_trait;
use espresso_core::protocol::Health;

/// A failure as the UI shows it: a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError(pub String);

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[async_trait(?Send)]
pub trait Backend {
    /// How this UI reaches the server, shown in the footer ("web" or "app").
    fn via(&self) -> &'static str;

    /// Is the server up, and which version is it.
    async fn health(&self) -> Result<Health, BackendError>;
}

/// The backend for where this page runs: inside the Tauri shell, or in a plain browser.
pub fn detect() -> Rc<dyn Backend> {
    if tauri::available() {
        Rc::new(tauri::TauriBackend)
    } else {
        Rc::new(web::WebBackend::for_this_page())
    }
}
