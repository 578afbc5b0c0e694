//! The typed client every app uses to talk to an Espresso server.
//!
//! One API on both builds: `native` (desktop shell, robot, tests) and `web` (the browser, wasm32).
//! It translates HTTP into typed results and errors, keeps the session (and refreshes it), and
//! makes calls safe to retry; it never decides business rules.
//!
//! - [`Client`]: every route of API.md as an async method (the calls are in `api.rs`).
//! - Sessions: the client holds one [`Session`], shared by its clones, persisted through a
//!   [`SessionStore`]. A call answered 401 `unauthenticated` refreshes the session once and is
//!   sent again; a refresh the server refuses ends the session ([`ClientError::SignedOut`]).
//! - Retries (`transport.rs`): a call that got no answer (refused, dropped, timed out) or
//!   502/503/504 is tried again with backoff ([`RetryPolicy`]). Every POST/PUT/PATCH carries an
//!   `Idempotency-Key`, the same on each retry, so the server does a retried command once.
//! - [`live`]: the live stream, reconnecting and resuming from the last `seq`.

mod api;
mod error;
#[cfg(any(
    all(feature = "native", not(target_arch = "wasm32")),
    all(feature = "web", target_arch = "wasm32")
))]
pub mod live;
mod retry;
pub(crate) mod rt;
mod transport;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use url::Url;

pub use error::ClientError;
pub use retry::{Backoff, RetryPolicy};

/// A barista's move of an order: the `POST …/orders/{id}/{action}` routes, as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffAction {
    /// Start making it (`queued` → `in_progress`).
    Claim,
    /// Back to the queue (`in_progress` → `queued`).
    Unclaim,
    /// Made (`in_progress` → `ready`).
    Complete,
    /// Handed over (`ready` → `collected`).
    Collect,
}

impl StaffAction {
    /// The route's last segment, e.g. `claim`.
    pub fn as_str(self) -> &'static str {
        match self {
            StaffAction::Claim => "claim",
            StaffAction::Unclaim => "unclaim",
            StaffAction::Complete => "complete",
            StaffAction::Collect => "collect",
        }
    }
}

use crate::protocol::{Session, User};
use crate::session::{MemoryStore, SessionStore, StoreError};

/// How long one HTTP request may take before it counts as failed (and is retried).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// A client bound to one Espresso server. Cheap to clone; clones share the session, so one
/// sign-in serves every task of the app.
#[derive(Clone)]
pub struct Client {
    base: Url,
    http: reqwest::Client,
    retry: RetryPolicy,
    request_timeout: Duration,
    auth: Arc<AuthState>,
}

/// The session and where it is persisted, shared by every clone of a client.
struct AuthState {
    session: Mutex<Option<Session>>,
    store: Arc<dyn SessionStore>,
    /// One refresh at a time: a refresh token works once, so two tasks refreshing together
    /// would make the server revoke the whole session (`token_reused`).
    refreshing: futures::lock::Mutex<()>,
    /// The last failure to persist the session; calls do not fail because of it.
    store_error: Mutex<Option<StoreError>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data is a plain value that a panic cannot leave half-written.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Debug for Client {
    /// Never prints the tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("signed_in", &self.is_signed_in())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:8080`), keeping its
    /// session in memory only.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        Self::with_store(base_url, Arc::new(MemoryStore::new()))
    }

    /// A client that starts with the session saved in `store` (if any) and saves every change
    /// of it there. A store that cannot be read leaves the client signed out; the reason is kept
    /// for [`Client::take_store_error`].
    pub fn with_store(base_url: &str, store: Arc<dyn SessionStore>) -> Result<Self, ClientError> {
        let mut base = Url::parse(base_url).map_err(|e| ClientError::BadUrl(e.to_string()))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::BadUrl(format!(
                "{base_url}: expected an http:// or https:// address"
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let (session, store_error) = match store.load() {
            Ok(session) => (session, None),
            Err(error) => (None, Some(error)),
        };
        Ok(Self {
            base,
            http: reqwest::Client::new(),
            retry: RetryPolicy::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            auth: Arc::new(AuthState {
                session: Mutex::new(session),
                store,
                refreshing: futures::lock::Mutex::new(()),
                store_error: Mutex::new(store_error),
            }),
        })
    }

    /// A client for the same server with a session of its own (empty, kept in memory), sharing
    /// this one's HTTP connections and TLS set-up, which are costly to build (the system's root
    /// certificates). For a tool that acts as many people at once, like the order robot.
    pub fn another_session(&self) -> Self {
        Self {
            base: self.base.clone(),
            http: self.http.clone(),
            retry: self.retry,
            request_timeout: self.request_timeout,
            auth: Arc::new(AuthState {
                session: Mutex::new(None),
                store: Arc::new(MemoryStore::new()),
                refreshing: futures::lock::Mutex::new(()),
                store_error: Mutex::new(None),
            }),
        }
    }

    /// The same client (sharing the session) with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The same client (sharing the session) with another per-request timeout.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The server this client talks to.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The current session, if signed in.
    pub fn session(&self) -> Option<Session> {
        lock(&self.auth.session).clone()
    }

    /// Who is signed in, as of the last sign-in or refresh.
    pub fn user(&self) -> Option<User> {
        lock(&self.auth.session).as_ref().map(|s| s.user.clone())
    }

    pub fn is_signed_in(&self) -> bool {
        lock(&self.auth.session).is_some()
    }

    /// Replace the session (e.g. one handed over by another process), or forget it with `None`
    /// without telling the server (see [`Client::sign_out`] for that). Persisted to the store.
    pub fn set_session(&self, session: Option<Session>) {
        *lock(&self.auth.session) = session.clone();
        let saved = match &session {
            Some(session) => self.auth.store.save(session),
            None => self.auth.store.clear(),
        };
        if let Err(error) = saved {
            *lock(&self.auth.store_error) = Some(error);
        }
    }

    /// The last failure to load or persist the session, if any (and forget it). Calls go on
    /// when the store fails: the session still works until the app ends.
    pub fn take_store_error(&self) -> Option<StoreError> {
        lock(&self.auth.store_error).take()
    }

    /// The current access token (for the live stream's `hello`).
    pub(crate) fn access_token(&self) -> Option<String> {
        lock(&self.auth.session)
            .as_ref()
            .map(|s| s.access_token.clone())
    }

    /// `path` under the base URL, as given (already encoded).
    fn url(&self, path: &str) -> Result<Url, ClientError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ClientError::BadUrl(e.to_string()))
    }

    /// `/api/v1/` followed by `segments`, each percent-encoded as one path segment (an email or
    /// an id can never reach another route).
    fn api(&self, segments: &[&str]) -> Result<Url, ClientError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| ClientError::BadUrl(format!("{} cannot be a base", self.base)))?
            .pop_if_empty()
            .extend(["api", "v1"])
            .extend(segments);
        Ok(url)
    }

    /// The live stream's WebSocket URL: `ws(s)://…/api/v1/live`.
    #[cfg_attr(
        not(any(
            all(feature = "native", not(target_arch = "wasm32")),
            all(feature = "web", target_arch = "wasm32")
        )),
        allow(dead_code)
    )]
    pub(crate) fn live_url(&self) -> Result<Url, ClientError> {
        let mut url = self.api(&["live"])?;
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .map_err(|()| ClientError::BadUrl(format!("{url} has no WebSocket form")))?;
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Role, TokenType};

    #[test]
    fn paths_join_under_the_base_url_even_behind_a_prefix() {
        let client = Client::new("http://cafe.example:8080/espresso").unwrap();
        assert_eq!(
            client.url("/healthz").unwrap().as_str(),
            "http://cafe.example:8080/espresso/healthz"
        );
        assert_eq!(
            client.api(&["shops", "main"]).unwrap().as_str(),
            "http://cafe.example:8080/espresso/api/v1/shops/main"
        );
    }

    #[test]
    fn path_segments_are_encoded_so_an_id_cannot_reach_another_route() {
        let client = Client::new("http://cafe.example").unwrap();
        assert_eq!(
            client
                .api(&["users", "ann+1@example.com", "roles"])
                .unwrap()
                .as_str(),
            "http://cafe.example/api/v1/users/ann+1@example.com/roles"
        );
        assert_eq!(
            client.api(&["shops", "../admin?x=1"]).unwrap().as_str(),
            "http://cafe.example/api/v1/shops/..%2Fadmin%3Fx=1"
        );
    }

    #[test]
    fn the_live_url_is_the_websocket_form_of_the_base() {
        let plain = Client::new("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            plain.live_url().unwrap().as_str(),
            "ws://127.0.0.1:8080/api/v1/live"
        );
        let tls = Client::new("https://cafe.example/espresso/").unwrap();
        assert_eq!(
            tls.live_url().unwrap().as_str(),
            "wss://cafe.example/espresso/api/v1/live"
        );
    }

    #[test]
    fn a_malformed_server_url_is_refused() {
        assert!(matches!(
            Client::new("not a url"),
            Err(ClientError::BadUrl(_))
        ));
        assert!(matches!(
            Client::new("mailto:ann@example.com"),
            Err(ClientError::BadUrl(_))
        ));
    }

    fn session(access: &str) -> Session {
        Session {
            access_token: access.into(),
            refresh_token: "r".into(),
            token_type: TokenType::Bearer,
            expires_in_s: 900,
            user: User {
                id: "u1".into(),
                email: "ann@example.com".into(),
                roles: vec![Role::Barista],
            },
        }
    }

    #[test]
    fn a_client_starts_with_the_saved_session_and_saves_each_change() {
        let store = Arc::new(MemoryStore::new());
        store.save(&session("a1")).unwrap();
        let client = Client::with_store("http://127.0.0.1:8080", store.clone()).unwrap();
        assert_eq!(client.access_token().as_deref(), Some("a1"));
        let clone = client.clone();
        clone.set_session(Some(session("a2")));
        assert_eq!(
            client.access_token().as_deref(),
            Some("a2"),
            "clones share it"
        );
        assert_eq!(store.load().unwrap(), Some(session("a2")));
        client.set_session(None);
        assert!(!clone.is_signed_in());
        assert_eq!(store.load().unwrap(), None);
    }

    #[test]
    fn another_session_is_someone_else_on_the_same_server() {
        let store = Arc::new(MemoryStore::new());
        store.save(&session("a1")).unwrap();
        let barista =
            Client::with_store("http://cafe.example:8080/espresso", store.clone()).unwrap();
        let customer = barista.another_session();
        assert_eq!(customer.base_url(), barista.base_url());
        assert!(!customer.is_signed_in(), "starts signed out");
        customer.set_session(Some(session("c1")));
        assert_eq!(barista.access_token().as_deref(), Some("a1"), "untouched");
        assert_eq!(
            store.load().unwrap(),
            Some(session("a1")),
            "nor its saved session"
        );
    }

    #[test]
    fn debug_output_never_shows_a_token() {
        let client = Client::new("http://127.0.0.1:8080").unwrap();
        client.set_session(Some(session("secret-access")));
        let shown = format!("{client:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("signed_in: true"), "{shown}");
    }
}
