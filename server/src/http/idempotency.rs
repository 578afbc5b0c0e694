//! `Idempotency-Key` on every mutating route (API.md Conventions): a retry with the same key
//! and body gets the first answer again and changes nothing; the same key with another body is
//! refused with 422 `idempotency_key_reused`. Keys are per caller and route, kept ≥ 24 h.
//!
//! Commands on shops and orders (every POST/PUT/PATCH under `/shops/`) remember their answer in
//! the same transaction as the change: this layer only hands them the key ([`Idempotency`]),
//! and the store finds a retry's first answer before running anything. Sign-in routes remember
//! nothing (their answers carry tokens, which are never stored in clear). Other routes keep the
//! answer here, after the handler.
//!
//! What is kept is bounded so nobody can fill the disk with it: only for routes that exist, only
//! for signed-in callers (every mutating route but sign-in needs one), only successful answers (a
//! refusal or a server error is not remembered; a retry is simply judged again), under a hashed
//! scope (a fixed-size row whatever the path), and at most [`crate::auth::RateLimits`]'s
//! `remembered_per_caller` new answers an hour per caller here (orders and shop commands are
//! bounded by the workflow's own limits).

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use espresso_protocol::{ErrorCode, PROBLEM_CONTENT_TYPE};
use tokio::sync::Mutex;

use super::{AppState, MAX_BODY_BYTES};
use crate::auth::{self, hash_secret};
use crate::error::ApiError;
use crate::store::{Answer, Remember};

pub const HEADER: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;
/// Answers larger than this are not remembered (none of ours come close).
const MAX_STORED_RESPONSE: usize = 1024 * 1024;

/// Striped locks: two requests with the same key never run at the same time.
#[derive(Clone)]
pub struct KeyLocks(Arc<Vec<Mutex<()>>>);

impl Default for KeyLocks {
    fn default() -> Self {
        Self(Arc::new((0..64).map(|_| Mutex::new(())).collect()))
    }
}

impl KeyLocks {
    fn stripe(&self, id: &str) -> &Mutex<()> {
        let index = id.bytes().fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        &self.0[index % self.0.len()]
    }
}

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH
    ) {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let key = match key.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= MAX_KEY_LEN => key.to_owned(),
        _ => {
            return ApiError::detail(
                ErrorCode::BadRequest,
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
            .into_response();
        }
    };
    let path = request.uri().path().to_owned();
    // No route, nothing to remember: the answer is a 404 anyway.
    if request.extensions().get::<MatchedPath>().is_none()
        || path.starts_with("/auth/")
        || path.starts_with("/api/v1/auth/")
    {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let caller = match super::extract::bearer(&parts).map(str::to_owned) {
        Some(token) => match auth::authenticate(state.store(), &token, Utc::now()).await {
            Ok(Some(user)) => {
                let id = user.id.clone();
                // The handler's `Caller` is this one: no second lookup.
                parts.extensions.insert(super::extract::Caller(user));
                id
            }
            // Not signed in: the route refuses it (401); nothing is remembered for anyone
            // anonymous, so anonymous callers cannot share or fill the table.
            Ok(None) => return next.run(Request::from_parts(parts, body)).await,
            Err(error) => return error.into_response(),
        },
        None => return next.run(Request::from_parts(parts, body)).await,
    };
    // The path first: a command on an order is keyed under that order's (time-ordered) id, so
    // the keys of the orders being worked on sit together in the index.
    let scope = format!("{path} {} {caller}", parts.method);
    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::detail(ErrorCode::PayloadTooLarge, "the body is larger than 64 KiB")
                .into_response();
        }
    };
    let request_hash = hash_secret(&String::from_utf8_lossy(&bytes));
    if path.starts_with("/shops/") || path.starts_with("/api/v1/shops/") {
        let mut request = Request::from_parts(parts, Body::from(bytes));
        request.extensions_mut().insert(Idempotency {
            scope,
            key,
            request_hash,
        });
        return next.run(request).await;
    }

    // A fixed-size row whatever the path's length.
    let scope = hash_secret(&scope);
    let _guard = state
        .key_locks()
        .stripe(&format!("{scope} {key}"))
        .lock()
        .await;
    match state.store().idempotent_answer(&scope, &key).await {
        Ok(Some(kept)) => {
            if kept.request_hash != request_hash {
                return ApiError::detail(
                    ErrorCode::IdempotencyKeyReused,
                    "this Idempotency-Key was used for a request with another body",
                )
                .into_response();
            }
            return replay(kept.status, kept.body);
        }
        Ok(None) => {}
        Err(error) => return ApiError::from(error).into_response(),
    }

    let rule = state.rate_limits().remembered_per_caller;
    let bucket = format!("idem:{caller}");
    if let Err(error) = auth::rate_limit::admit(state.store(), &[(bucket, rule)], Utc::now()).await
    {
        return error.into_response();
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status();
    if !status.is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, MAX_STORED_RESPONSE).await else {
        return ApiError::internal("answer too large to remember").into_response();
    };
    let text = String::from_utf8_lossy(&body).into_owned();
    if let Err(error) = state
        .store()
        .remember_answer(
            &scope,
            &key,
            &request_hash,
            status.as_u16(),
            &text,
            Utc::now(),
        )
        .await
    {
        tracing::warn!(%error, "cannot remember an idempotent answer");
    }
    Response::from_parts(parts, Body::from(body))
}

/// The key of a command whose store call remembers its answer in the command's transaction.
#[derive(Debug, Clone)]
pub struct Idempotency {
    scope: String,
    key: String,
    request_hash: String,
}

/// The request's [`Idempotency`], if it sent a key (an extractor; never refuses).
pub struct Idempotent(pub Option<Idempotency>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Idempotent {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<Idempotency>().cloned()))
    }
}

impl Idempotent {
    /// What the store keeps with the command's answer, which has `status` when it succeeds.
    pub fn remember(self, status: StatusCode) -> Option<Remember> {
        self.0.map(|idempotency| Remember {
            scope: idempotency.scope,
            key: idempotency.key,
            request_hash: idempotency.request_hash,
            status: status.as_u16(),
        })
    }
}

/// A command's answer: `value` with `status` if it ran now, the first answer if it is a retry.
pub fn answer<T: serde::Serialize>(answer: Answer<T>, status: StatusCode) -> Response {
    match answer {
        Answer::Done(value) => (status, axum::Json(value)).into_response(),
        Answer::Written(_, json) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response(),
        Answer::Replayed(stored) => replay(stored.status, stored.body),
    }
}

fn replay(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    let content_type = if status.is_client_error() {
        PROBLEM_CONTENT_TYPE
    } else {
        "application/json"
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
