//! Routes of API.md (auth): one-time-code sign-in, token refresh and sign-out, the signed-in
//! user (`/me`) and role assignment. Handlers translate only; the rules are in `crate::auth`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post, put};
use chrono::Utc;
use espresso_protocol::{
    ErrorCode, Invitation, LinkSignIn, Me, MePatch, OtpChallenge, OtpRequest, OtpVerify,
    RefreshRequest, RolesUpdate, Session, StaffMember, User,
};

use super::AppState;
use super::doc::{
    BadKey, IdempotencyKey, JsonBody, KeyReused, NotAnAdmin, RateLimited, Unauthenticated,
    UserPath, problems, rate_limits,
};
use super::extract::{ApiJson, ApiPath, Caller, ClientIp, bearer};
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::policy::Action;

rate_limits! {
    TooManyRefreshes: "`rate_limited`: too many refreshes from this address";
    TooManyInvitations: "`rate_limited`: too many codes and invitations for this email this hour";
}

problems! {
    NotAnEmail: 422
        "`validation_failed` (not an email address, a `link_to` that is not an app on a shop id, \
         unknown field), `idempotency_key_reused`";
    WrongCode: 401 "`code_incorrect` (with `attempts_left`), `code_expired`, `code_locked`";
    Invalid: 422 "`validation_failed`, `idempotency_key_reused`";
    BadRefreshToken: 401
        "`token_reused` (family revoked), `unauthenticated` (unknown or expired token)";
    BadProfile: 422 "`validation_failed` (name too long, unknown field), `idempotency_key_reused`";
    BadRoles: 422
        "`validation_failed` (not an email address, unknown role), `idempotency_key_reused`";
    OnlyAdmin: 409 "`last_admin`: no admin would be left; nothing changed";
    BadLink: 422
        "`code_invalid` (not a link we sent), `code_expired` (used already, or over 24 hours \
         old), `validation_failed` (unknown field)";
    BadInvitation: 422
        "`validation_failed` (not an email address, no roles or a role that is not barista, \
         display or admin, unknown field), `idempotency_key_reused`";
    NoShopToInvite: 404 "`not_found`: no such shop";
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/otp", post(request_code))
        .route("/auth/otp/verify", post(verify_code))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/me", get(me).patch(patch_me))
        .route("/users/{email}/roles", put(put_roles))
        .route("/staff", get(staff))
        .route("/staff/invitations", post(invite))
        .route("/auth/link", post(sign_in_with_link))
}

/// Email me a one-time code
///
/// Sends a 6-digit code (valid 10 minutes, single use) to the address. The answer is the same
/// whether or not the email is known. With `link_to` (the app and shop it is asked from) the mail
/// also has a link to that page, `…&otp=<challenge_id>.<code>`, which the page turns into the
/// verify call only where the code was asked for (it keeps the challenge id). Too many requests
/// per address or per client are refused with 429 `rate_limited` and a `Retry-After` header.
#[utoipa::path(
    post,
    path = "/api/v1/auth/otp",
    tag = "auth",
    params(IdempotencyKey),
    request_body = OtpRequest,
    responses(
        (
            status = 202,
            description = "A code was sent (or the email is unknown: same answer)",
            body = OtpChallenge,
        ),
        JsonBody,
        NotAnEmail,
        RateLimited,
    ),
)]
async fn request_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<OtpRequest>,
) -> ApiResult<(StatusCode, ApiJson<OtpChallenge>)> {
    let challenge = auth::otp::request(
        state.store(),
        &state.options().sign_in_key,
        state.mailer(),
        state.rate_limits(),
        &body,
        ip,
        Utc::now(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, ApiJson(challenge)))
}

/// Sign in with the emailed code
///
/// Trades the challenge and its 6-digit code for a session: an access token, a refresh token
/// and the user. A wrong code answers 401 `code_incorrect` with `attempts_left`; after 5 wrong
/// tries the challenge is dead (`code_locked`); an old one is `code_expired` (401 here).
#[utoipa::path(
    post,
    path = "/api/v1/auth/otp/verify",
    tag = "auth",
    params(IdempotencyKey),
    request_body = OtpVerify,
    responses(
        (status = 200, description = "Signed in", body = Session),
        JsonBody,
        WrongCode,
        Invalid,
    ),
)]
async fn verify_code(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<OtpVerify>,
) -> ApiResult<ApiJson<Session>> {
    Ok(ApiJson(
        auth::otp::verify(
            state.store(),
            &state.options().sign_in_key,
            &body,
            Utc::now(),
        )
        .await?,
    ))
}

/// Refresh the session
///
/// Trades a refresh token for a new token pair; the old refresh token dies. Using a refresh
/// token a second time answers 401 `token_reused` and revokes its whole family.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    params(IdempotencyKey),
    request_body = RefreshRequest,
    responses(
        (
            status = 200,
            description = "A new token pair (the refresh token is rotated)",
            body = Session,
        ),
        JsonBody,
        BadRefreshToken,
        Invalid,
        TooManyRefreshes,
    ),
)]
async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<ApiJson<Session>> {
    // Each refresh stores a token pair kept 30 days: a client may not refresh without bound.
    let limit = state.rate_limits().refresh_per_ip;
    auth::rate_limit::admit(
        state.store(),
        &[(auth::rate_limit::refresh_bucket(ip), limit)],
        Utc::now(),
    )
    .await?;
    Ok(ApiJson(
        auth::refresh(state.store(), &body.refresh_token, Utc::now()).await?,
    ))
}

/// Sign out
///
/// Ends the session of the bearer token: its refresh family is revoked. No body.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    params(IdempotencyKey),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        BadKey,
        Unauthenticated,
        KeyReused,
    ),
)]
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

/// Who am I
///
/// The signed-in user: id, email, roles and the display name (null until set).
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = Me),
        Unauthenticated,
    ),
)]
async fn me(caller: Caller) -> ApiJson<Me> {
    ApiJson(caller.0.me())
}

/// Set my display name
///
/// PATCH semantics: `display_name` left out stays as it is, `null` clears it, a string sets it
/// (at most 32 characters). Answers the user as `GET /api/v1/me` does.
#[utoipa::path(
    patch,
    path = "/api/v1/me",
    tag = "auth",
    params(IdempotencyKey),
    request_body = MePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user after the change", body = Me),
        JsonBody,
        Unauthenticated,
        BadProfile,
    ),
)]
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

/// Set a user's roles (admin)
///
/// Replaces the whole role list of the user with this email; the user is created if unknown, so
/// staff can be set up before their first sign-in. `customer` is always kept.
#[utoipa::path(
    put,
    path = "/api/v1/users/{email}/roles",
    tag = "auth",
    params(UserPath, IdempotencyKey),
    request_body = RolesUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user with the new roles", body = User),
        JsonBody,
        Unauthenticated,
        NotAnAdmin,
        OnlyAdmin,
        BadRoles,
    ),
)]
async fn put_roles(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(UserPath { email }): ApiPath<UserPath>,
    ApiJson(body): ApiJson<RolesUpdate>,
) -> ApiResult<ApiJson<User>> {
    caller.require(Action::Administer)?;
    let user = auth::profile::assign_roles(state.store(), &email, &body.roles, Utc::now()).await?;
    tracing::info!(by = %caller.0.email, user = %user.email, roles = ?user.roles, "roles set");
    Ok(ApiJson(user))
}

/// The staff (admin)
///
/// Everyone holding a role beyond `customer` (barista, display, admin), with every role they
/// hold and their display name, sorted by email. A role is granted and taken away with
/// `PUT /api/v1/users/{email}/roles`.
#[utoipa::path(
    get,
    path = "/api/v1/staff",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The staff, by email", body = Vec<StaffMember>),
        Unauthenticated,
        NotAnAdmin,
    ),
)]
async fn staff(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<ApiJson<Vec<StaffMember>>> {
    caller.require(Action::Administer)?;
    let staff = state.store().staff().await?;
    Ok(ApiJson(
        staff.iter().map(|user| user.staff_member()).collect(),
    ))
}

/// Invite someone to the team (admin)
///
/// Gives `email` the `roles` (replacing any they had, as `PUT /api/v1/users/{email}/roles`,
/// the last-admin rule included; the user is created if unknown) and mails them an invitation
/// ("You're on the team at {shop name}") with a link that signs them in to `shop`'s app (the
/// booth screen's when the only role is `display`, else the barista's): `{public_url}/barista?
/// shop={shop}&signin={token}`. The link works once, for 24 hours (`POST /api/v1/auth/link`).
/// Codes and invitations to one email share its hourly limit. A refusal changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/staff/invitations",
    tag = "auth",
    params(IdempotencyKey),
    request_body = Invitation,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user with the new roles; the mail is on its way", body = User),
        JsonBody,
        Unauthenticated,
        NotAnAdmin,
        NoShopToInvite,
        OnlyAdmin,
        BadInvitation,
        TooManyInvitations,
    ),
)]
async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(invitation): ApiJson<Invitation>,
) -> ApiResult<ApiJson<User>> {
    caller.require(Action::Administer)?;
    let user = auth::link::invite(
        state.store(),
        &state.options().sign_in_key,
        state.mailer(),
        state.rate_limits(),
        &invitation,
        Utc::now(),
    )
    .await?;
    tracing::info!(by = %caller.0.email, user = %user.email, roles = ?user.roles, shop = %invitation.shop, "invited");
    Ok(ApiJson(user))
}

/// Sign in with an invitation's link
///
/// Trades the token of an invitation's link (its `signin` parameter) for a session, as
/// `POST /api/v1/auth/otp/verify` does. A token works once, within 24 hours: used or older is
/// 422 `code_expired`, one we did not send 422 `code_invalid`. Nothing of it is kept for
/// `Idempotency-Key` retries (the answer holds tokens).
#[utoipa::path(
    post,
    path = "/api/v1/auth/link",
    tag = "auth",
    params(IdempotencyKey),
    request_body = LinkSignIn,
    responses(
        (status = 200, description = "Signed in", body = Session),
        JsonBody,
        BadLink,
    ),
)]
async fn sign_in_with_link(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LinkSignIn>,
) -> ApiResult<ApiJson<Session>> {
    Ok(ApiJson(
        auth::link::sign_in(
            state.store(),
            &state.options().sign_in_key,
            &body.token,
            Utc::now(),
        )
        .await?,
    ))
}
