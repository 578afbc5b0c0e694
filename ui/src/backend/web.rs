//! The browser backend: the core's `Client` (reqwest's fetch) against the server that served
//! this page.

use async_trait::async_trait;
use espresso_core::Client;
use espresso_core::protocol::Health;

use super::{Backend, BackendError};

pub struct WebBackend {
    client: Result<Client, BackendError>,
}

impl WebBackend {
    /// The server is the origin this page came from.
    pub fn for_this_page() -> Self {
        let origin = web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
        Self {
            client: Client::new(&origin).map_err(|e| BackendError(e.to_string())),
        }
    }

    fn client(&self) -> Result<&Client, BackendError> {
        self.client.as_ref().map_err(Clone::clone)
    }
}

#[async_trait(?Send)]
impl Backend for WebBackend {
    fn via(&self) -> &'static str {
        "web"
    }

    async fn health(&self) -> Result<Health, BackendError> {
        self.client()?
            .health()
            .await
            .map_err(|e| BackendError(e.to_string()))
    }
}
