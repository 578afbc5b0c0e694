//! Extractors that answer bad input with a problem (never a bare 4xx text, never a 500):
//! [`ApiJson`] for bodies and [`Caller`] / [`MaybeCaller`] for the bearer token.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use espresso_protocol::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::auth;
use crate::error::ApiError;
use crate::policy::{self, Action};
use crate::store::UserRecord;
use crate::workflow::Actor;

/// A JSON object body (request) or answer (response); rejections become problems. A body that
/// is not a JSON object (an array, a number) is refused, although serde would read an array
/// as a struct's fields in order: the contract says object.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, state, b'{', "a JSON object").await.map(Self)
    }
}

/// A JSON array body (`PUT …/menu`); rejections become problems, anything but an array is refused.
pub struct ApiJsonList<T>(pub Vec<T>);

impl<T, S> FromRequest<S> for ApiJsonList<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, state, b'[', "a JSON array").await.map(Self)
    }
}

/// Read a JSON body whose first character must be `opens` (after white space).
async fn read_json<T: DeserializeOwned, S: Send + Sync>(
    req: Request,
    state: &S,
    opens: u8,
    what: &str,
) -> Result<T, ApiError> {
    let json_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim)
        .is_some_and(|mime| {
            mime.eq_ignore_ascii_case("application/json")
                || (mime.len() > 5 && mime[mime.len() - 5..].eq_ignore_ascii_case("+json"))
        });
    if !json_type {
        return Err(ApiError::detail(
            ErrorCode::UnsupportedMediaType,
            "Expected request with `Content-Type: application/json`",
        ));
    }
    let bytes = ApiBytes::from_request(req, state).await?.0;
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != opens) {
        return Err(ApiError::detail(
            ErrorCode::ValidationFailed,
            format!("the body must be {what}"),
        ));
    }
    // Strictly: an array is not read as a struct's fields at any depth (see `strict`).
    super::strict::from_slice::<T>(&bytes).map_err(|error| {
        let code = if error.is_data() {
            ErrorCode::ValidationFailed
        } else {
            ErrorCode::BadRequest
        };
        ApiError::detail(code, format!("the body cannot be read: {error}"))
    })
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The signed-in user making the request (401 `unauthenticated` without a valid token).
#[derive(Debug, Clone)]
pub struct Caller(pub UserRecord);

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor::new(self.0.id.clone(), self.0.roles.clone())
    }

    /// The caller as the actor of `action`, checked before anything is looked up: a wrong
    /// role is 403 whether or not the order exists.
    pub fn actor_for(&self, action: Action) -> Result<Actor, ApiError> {
        self.require(action)?;
        Ok(self.actor())
    }

    /// 403 `forbidden` unless the caller's roles allow `action` ([`crate::policy`]).
    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        if policy::may(&self.0.roles, action) {
            Ok(())
        } else {
            Err(ApiError::detail(ErrorCode::Forbidden, action.refusal()))
        }
    }
}

/// The bearer token of a request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // The idempotency layer may have looked the caller up already.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let token = bearer(parts).ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated))?;
        match auth::authenticate(state.store(), token, Utc::now()).await? {
            Some(user) => Ok(Self(user)),
            None => Err(ApiError::detail(
                ErrorCode::Unauthenticated,
                "the access token is not valid (expired or signed out)",
            )),
        }
    }
}

/// The caller if a valid token was sent; anonymous otherwise (public routes).
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if bearer(parts).is_none() {
            return Ok(Self(None));
        }
        Caller::from_request_parts(parts, state)
            .await
            .map(|c| Self(Some(c)))
    }
}

/// Query parameters; a malformed query becomes a 422 problem.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| {
                ApiError::detail(ErrorCode::ValidationFailed, rejection.body_text())
            })
    }
}

/// Path parameters; one that cannot be read (not UTF-8, not the expected type) is a 400 problem
/// like every other refusal, not axum's plain-text answer.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|rejection| ApiError::detail(ErrorCode::BadRequest, rejection.body_text()))
    }
}

/// A raw body (for routes whose body is optional); too large becomes a 413 problem.
pub struct ApiBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Self(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(
                ApiError::detail(ErrorCode::PayloadTooLarge, "the body is larger than 64 KiB"),
            ),
            Err(rejection) => Err(ApiError::detail(
                ErrorCode::BadRequest,
                rejection.body_text(),
            )),
        }
    }
}

/// The client's address: the connection's peer, or — only when the peer is a trusted proxy
/// (`--trusted-proxy`) — the address that proxy put in `X-Forwarded-For` (any client can write
/// that header, so it is not believed from anyone else). Without connect info (router tests)
/// every client counts as one.
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer =
            axum::extract::ConnectInfo::<std::net::SocketAddr>::from_request_parts(parts, state)
                .await;
        let Ok(axum::extract::ConnectInfo(peer)) = peer else {
            return Ok(Self(None));
        };
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok());
        Ok(Self(Some(
            state.options().trusted_proxies.client(peer.ip(), forwarded),
        )))
    }
}
