//! Routes of API.md (auth): one-time-code sign-in, token refresh and sign-out, the signed-in
//! user (`/me`) and role assignment. Handlers translate only; the rules are in `crate::auth`.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post, put};
use chrono::Utc;
use espresso_core::protocol::{
    ErrorCode, Me, MePatch, OtpChallenge, OtpRequest, OtpVerify, RefreshRequest, Role, RolesUpdate,
    Session, User,
};

use super::AppState;
use super::extract::{ApiJson, Caller, bearer};
use crate::auth::{self, RateLimits};
use crate::error::{ApiError, ApiResult};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/otp", post(request_code))
        .route("/auth/otp/verify", post(verify_code))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/me", get(me).patch(patch_me))
        .route("/users/{email}/roles", put(put_roles))
}

/// Read once per process: `AppState` has no slot for them yet, and the environment does not
/// change while the server runs.
static LIMITS: LazyLock<RateLimits> = LazyLock::new(RateLimits::from_env);

/// The peer address of the connection, when the server was started with connect info; without
/// it every client counts as one (`X-Forwarded-For` is deliberately not trusted: any client can
/// write it).
struct ClientIp(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let peer = ConnectInfo::<SocketAddr>::from_request_parts(parts, state).await;
        Ok(Self(peer.ok().map(|ConnectInfo(addr)| addr.ip())))
    }
}

async fn request_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<OtpRequest>,
) -> ApiResult<(StatusCode, ApiJson<OtpChallenge>)> {
    let challenge = auth::otp::request(
        state.store(),
        state.mailer(),
        &LIMITS,
        &body.email,
        ip,
        Utc::now(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, ApiJson(challenge)))
}

async fn verify_code(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<OtpVerify>,
) -> ApiResult<ApiJson<Session>> {
    Ok(ApiJson(
        auth::otp::verify(state.store(), &body, Utc::now()).await?,
    ))
}

async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<ApiJson<Session>> {
    Ok(ApiJson(
        auth::refresh(state.store(), &body.refresh_token, Utc::now()).await?,
    ))
}

async fn logout(
    State(state): State<AppState>,
    _caller: Caller,
    parts: Parts,
) -> ApiResult<StatusCode> {
    // `Caller` has checked the token; it is read again to find its session.
    let token = bearer(&parts).ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated))?;
    auth::sign_out(state.store(), token, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(caller: Caller) -> ApiJson<Me> {
    ApiJson(caller.0.me())
}

async fn patch_me(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(patch): ApiJson<MePatch>,
) -> ApiResult<ApiJson<Me>> {
    let user = caller.0;
    let Some(display_name) = patch.display_name else {
        return Ok(ApiJson(user.me()));
    };
    let display_name = auth::profile::parse_display_name(display_name.as_deref())?;
    state
        .store()
        .set_display_name(&user.id, display_name.as_deref())
        .await?;
    Ok(ApiJson(Me {
        display_name,
        ..user.me()
    }))
}

async fn put_roles(
    State(state): State<AppState>,
    caller: Caller,
    Path(email): Path<String>,
    ApiJson(body): ApiJson<RolesUpdate>,
) -> ApiResult<ApiJson<User>> {
    caller.require(Role::Admin)?;
    let user = auth::profile::assign_roles(state.store(), &email, &body.roles, Utc::now()).await?;
    tracing::info!(by = %caller.0.email, user = %user.email, roles = ?user.roles, "roles set");
    Ok(ApiJson(user))
}
