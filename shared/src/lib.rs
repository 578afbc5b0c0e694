//! espresso-core: the one definition of Espresso's protocol, shared by the server and every app.
//!
//! - [`protocol`]: the wire types (JSON over HTTP and the live stream). No server-only dependencies:
//!   this module compiles for wasm32 and for native targets alike.
//! - [`client`]: the typed HTTP client the three apps use (feature `native` on desktop, `web` in the
//!   browser). It must never hold business rules: those live in the server's workflow.

pub mod client;
pub mod maildir;
pub mod protocol;
pub mod qr;
pub mod session;
pub mod view;

#[cfg(any(
    all(feature = "native", not(target_arch = "wasm32")),
    all(feature = "web", target_arch = "wasm32")
))]
pub use client::live::{LiveConfig, LiveEnd, LiveStatus, LiveStream, LiveUpdate, LiveUpdates};
pub use client::{Backoff, Client, ClientError, RetryPolicy, StaffAction};
pub use session::{MemoryStore, SessionStore, StoreError};
