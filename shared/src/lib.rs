//! espresso-core: the client every app runs on, over the one definition of Espresso's protocol.
//!
//! - [`protocol`], [`view`], [`maildir`]: the `espresso-protocol` crate, re-exported (the wire
//!   types, the pure screen views, the mail folder's file names). The server depends on that crate
//!   alone, not on this one.
//! - [`calls`]: every call an app makes, defined once ([`calls::Call`], [`calls::Reply`]): the UI's
//!   typed methods and the shell's one command follow from it.
//! - [`client`]: the typed HTTP client the three apps use (feature `native` on desktop, `web` in the
//!   browser). It must never hold business rules: those live in the server's workflow.

pub mod calls;
pub mod client;
pub mod qr;
pub mod session;

pub use espresso_protocol as protocol;
pub use espresso_protocol::{maildir, view};

#[cfg(any(
    all(feature = "native", not(target_arch = "wasm32")),
    all(feature = "web", target_arch = "wasm32")
))]
pub use client::live::{LiveConfig, LiveEnd, LiveStatus, LiveStream, LiveUpdate, LiveUpdates};
pub use client::{Backoff, Client, ClientError, RetryPolicy, StaffAction};
pub use session::{MemoryStore, SessionStore, StoreError};
