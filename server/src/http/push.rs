//! Web Push routes (extensions to API.md, docs/OPERATIONS.md): the server's VAPID public key and
//! the signed-in customer's subscriptions. What is pushed and when: [`crate::push`].

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::Utc;
use espresso_protocol::{ErrorCode, PushKey, PushSubscription, PushUnsubscribe};

use super::AppState;
use super::doc::{IdempotencyKey, JsonBody, Unauthenticated, problems};
use super::extract::{ApiJson, Caller};
use crate::error::{ApiError, ApiResult};
use crate::push::{MAX_SUBSCRIPTIONS_PER_USER, check_subscription};

problems! {
    pub BadUnsubscribe: 422 "`validation_failed`: the body is not `{endpoint}`";
    pub BadSubscription: 422 "`validation_failed`: the endpoint is not an https:// URL of a push service on the internet, or the keys are not a P-256 key and a 16-byte secret";
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/push/key", get(push_key))
        .route("/push/subscriptions", post(subscribe).delete(unsubscribe))
}

/// The server's Web Push key
///
/// The VAPID public key (RFC 8292) a browser subscribes with (`applicationServerKey`): an
/// uncompressed P-256 point, base64url without padding. The same for every caller.
#[utoipa::path(
    get,
    path = "/api/v1/push/key",
    tag = "push",
    responses((status = 200, description = "The server's VAPID public key", body = PushKey)),
)]
async fn push_key(State(state): State<AppState>) -> ApiJson<PushKey> {
    ApiJson(PushKey {
        public_key: state.options().push.vapid.public_key(),
    })
}

/// Push my order news here
///
/// Keeps the browser's push subscription for the signed-in customer: when one of their orders
/// is ready, cancelled or times out the server pushes a short encrypted message (RFC 8291) to
/// it. The endpoint must be `https://` on the internet (never an address of the local network);
/// a customer keeps their 5 newest subscriptions. Subscribing again is harmless.
#[utoipa::path(
    post,
    path = "/api/v1/push/subscriptions",
    tag = "push",
    params(IdempotencyKey),
    request_body = PushSubscription,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Kept"),
        JsonBody,
        Unauthenticated,
        BadSubscription,
    ),
)]
async fn subscribe(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(subscription): ApiJson<PushSubscription>,
) -> ApiResult<StatusCode> {
    check_subscription(&subscription, state.options().push.allow_loopback_http)
        .map_err(|why| ApiError::detail(ErrorCode::ValidationFailed, why))?;
    state
        .store()
        .add_push_subscription(
            &caller.0.id,
            &subscription,
            Utc::now(),
            MAX_SUBSCRIPTIONS_PER_USER,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop pushing here
///
/// Forgets the signed-in customer's subscription at this endpoint (one that is not theirs, or
/// not there, changes nothing: the same answer).
#[utoipa::path(
    delete,
    path = "/api/v1/push/subscriptions",
    tag = "push",
    request_body = PushUnsubscribe,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Not pushed there any more"),
        JsonBody,
        Unauthenticated,
        BadUnsubscribe,
    ),
)]
async fn unsubscribe(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PushUnsubscribe>,
) -> ApiResult<StatusCode> {
    state
        .store()
        .remove_push_subscription(Some(&caller.0.id), &body.endpoint)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
