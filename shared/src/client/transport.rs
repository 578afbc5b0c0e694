//! Sending one call: the bearer token, the `Idempotency-Key`, retries with backoff, one
//! refresh on `unauthenticated`, and turning the answer into a typed value or a [`ClientError`].
//!
//! Retries are safe because of the key: every POST/PUT/PATCH gets a fresh random key once, and
//! every retry of it (after a dropped connection, a timeout, a 502/503/504, or a refresh) sends
//! the same key and body, so the server answers a repeat with its first answer and changes
//! nothing.

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::{Client, ClientError, lock, rt};
use crate::protocol::{ErrorCode, PROBLEM_CONTENT_TYPE, Problem, RefreshRequest, Session};

/// The header of API.md's idempotent commands.
pub(crate) const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Whether a call carries the session's access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Auth {
    /// Never (sign-in, refresh).
    Anonymous,
    /// If signed in (routes anyone may call, where staff see more).
    IfSignedIn,
    /// Always; without a session the call fails with [`ClientError::SignedOut`] unsent.
    Required,
}

/// One call as the client sends it, before any retry.
pub(super) struct Call {
    pub method: Method,
    pub url: Url,
    pub body: Option<Vec<u8>>,
    pub auth: Auth,
}

impl Call {
    pub fn new(method: Method, url: Url, auth: Auth) -> Self {
        Self {
            method,
            url,
            body: None,
            auth,
        }
    }

    pub fn json(mut self, body: &impl Serialize) -> Result<Self, ClientError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ClientError::Decode(format!("cannot encode the request: {e}")))?;
        self.body = Some(bytes);
        Ok(self)
    }

    fn is_mutating(&self) -> bool {
        matches!(self.method, Method::POST | Method::PUT | Method::PATCH)
    }
}

/// What the server answered.
pub(super) struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn problem(&self) -> Option<Problem> {
        serde_json::from_slice(&self.body).ok()
    }

    /// 401 `unauthenticated`: the access token is not (or no longer) valid.
    fn is_unauthenticated(&self) -> bool {
        self.status == 401
            && self
                .problem()
                .is_some_and(|p| p.code == ErrorCode::Unauthenticated)
    }

    /// The refusal as an error: the problem body, or just the status if there is none.
    fn into_error(self) -> ClientError {
        match self.problem() {
            Some(problem) => ClientError::Api(Box::new(problem)),
            None => ClientError::Status {
                status: self.status,
            },
        }
    }

    /// A 2xx body as `T`; anything else as an error.
    pub fn json<T: DeserializeOwned>(self) -> Result<T, ClientError> {
        if !self.is_success() {
            return Err(self.into_error());
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            let kind = self.content_type.as_deref().unwrap_or("no content type");
            ClientError::Decode(format!("{e} (status {}, {kind})", self.status))
        })
    }

    /// A 2xx body as text (UTF-8; a CSV export); anything else as an error.
    pub fn text(self) -> Result<String, ClientError> {
        if !self.is_success() {
            return Err(self.into_error());
        }
        String::from_utf8(self.body)
            .map_err(|e| ClientError::Decode(format!("{e} (status {})", self.status)))
    }

    /// A 2xx answer whose body does not matter (204).
    pub fn empty(self) -> Result<(), ClientError> {
        if self.is_success() {
            Ok(())
        } else {
            Err(self.into_error())
        }
    }
}

impl Client {
    /// Send `call` with a fresh `Idempotency-Key` if it changes something.
    pub(super) async fn exchange(&self, call: Call) -> Result<Answer, ClientError> {
        let key = call.is_mutating().then(rt::idempotency_key);
        self.exchange_with_key(&call, key.as_deref()).await
    }

    /// Send `call` with `key`: retries on no answer and on 502/503/504, and refreshes the
    /// session once on 401 `unauthenticated`; every try sends the same key and body.
    pub(super) async fn exchange_with_key(
        &self,
        call: &Call,
        key: Option<&str>,
    ) -> Result<Answer, ClientError> {
        let mut refreshed = false;
        loop {
            let token = match call.auth {
                Auth::Anonymous => None,
                Auth::IfSignedIn => self.access_token(),
                Auth::Required => Some(self.access_token().ok_or(ClientError::SignedOut)?),
            };
            let answer = self.send_with_retries(call, token.as_deref(), key).await?;
            if let Some(stale) = token
                && !refreshed
                && answer.is_unauthenticated()
            {
                refreshed = true;
                match self.refresh_after(&stale).await {
                    Ok(()) => continue,
                    // A route anyone may call still works without the session.
                    Err(ClientError::SignedOut) if call.auth == Auth::IfSignedIn => continue,
                    Err(error) => return Err(error),
                }
            }
            return Ok(answer);
        }
    }

    async fn send_with_retries(
        &self,
        call: &Call,
        token: Option<&str>,
        key: Option<&str>,
    ) -> Result<Answer, ClientError> {
        let attempts = self.retry.attempts.max(1);
        let mut attempt = 0;
        loop {
            let result = self.send_once(call, token, key).await;
            let transient = match &result {
                Ok(answer) => matches!(answer.status, 502..=504),
                Err(error) => error.is_transient(),
            };
            attempt += 1;
            if !transient || attempt >= attempts {
                return result;
            }
            rt::sleep(self.retry.backoff.jittered(attempt - 1)).await;
        }
    }

    async fn send_once(
        &self,
        call: &Call,
        token: Option<&str>,
        key: Option<&str>,
    ) -> Result<Answer, ClientError> {
        let mut request = self
            .http
            .request(call.method.clone(), call.url.clone())
            .timeout(self.request_timeout)
            .header(ACCEPT, format!("application/json, {PROBLEM_CONTENT_TYPE}"));
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header(IDEMPOTENCY_KEY, key);
        }
        let response = request.send().await.map_err(ClientError::from_transport)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map_err(ClientError::from_transport)?
            .to_vec();
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }

    /// The access token `stale` was refused: refresh the session, unless another task already
    /// did (then its new token is used). Refreshes never overlap (see `AuthState::refreshing`).
    pub(crate) async fn refresh_after(&self, stale: &str) -> Result<(), ClientError> {
        let _turn = self.auth.refreshing.lock().await;
        let refresh_token = {
            let session = lock(&self.auth.session);
            match session.as_ref() {
                None => return Err(ClientError::SignedOut),
                Some(current) if current.access_token != stale => return Ok(()),
                Some(current) => current.refresh_token.clone(),
            }
        };
        self.refresh_with(refresh_token).await.map(|_| ())
    }

    /// `POST /auth/refresh`. The caller holds `refreshing`. A refusal ends the session: the
    /// refresh token is used up, expired or revoked, so only signing in again helps. No answer
    /// (network) keeps the session: the next call may refresh it.
    pub(super) async fn refresh_with(&self, refresh_token: String) -> Result<Session, ClientError> {
        let url = self.api(&["auth", "refresh"])?;
        let call = Call::new(Method::POST, url, Auth::Anonymous)
            .json(&RefreshRequest { refresh_token })?;
        // Straight to the sender (no refresh-on-401 loop: this is the refresh), with a key, so
        // a retry after a lost answer gets that answer instead of `token_reused`.
        let key = rt::idempotency_key();
        let answer = self.send_with_retries(&call, None, Some(&key)).await;
        match answer.and_then(Answer::json::<Session>) {
            Ok(session) => {
                self.set_session(Some(session.clone()));
                Ok(session)
            }
            Err(ClientError::Api(problem))
                if (400..500).contains(&problem.status)
                    && problem.code != ErrorCode::RateLimited =>
            {
                self.set_session(None);
                Err(ClientError::SignedOut)
            }
            Err(error) => Err(error),
        }
    }
}
