//! Sign-in and sessions: one-time email codes, opaque access tokens (15 min) and rotating
//! refresh tokens (30 days; a reused refresh token revokes its whole family). Only hashes of
//! codes and tokens are stored.

use chrono::{DateTime, Duration, Utc};
use espresso_core::protocol::{Session, TokenType};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiResult;
use crate::store::{Store, UserRecord};

pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(15);
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(30);

/// SHA-256 of a secret, hex: what the database keeps of codes and tokens.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new opaque token: `prefix` + 32 random bytes (CSPRNG), hex.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

/// The signed-in user behind an access token, if it is valid now.
pub async fn authenticate(
    store: &Store,
    access_token: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<UserRecord>> {
    let Some(user_id) = store
        .access_token_user(&hash_secret(access_token), now)
        .await?
    else {
        return Ok(None);
    };
    Ok(store.user_by_id(&user_id).await?)
}

/// Start a session for `user`: a new token family with one access and one refresh token.
pub async fn open_session(
    store: &Store,
    user: &UserRecord,
    now: DateTime<Utc>,
) -> ApiResult<Session> {
    let family = crate::store::new_id("fam");
    store.create_family(&family, &user.id, now).await?;
    issue_pair(store, user, &family, now).await
}

/// A fresh access + refresh token pair in `family`.
pub async fn issue_pair(
    store: &Store,
    user: &UserRecord,
    family: &str,
    now: DateTime<Utc>,
) -> ApiResult<Session> {
    let access = new_token("at_");
    let refresh = new_token("rt_");
    store
        .insert_token(
            &hash_secret(&access),
            "access",
            family,
            &user.id,
            now + ACCESS_TOKEN_TTL,
        )
        .await?;
    store
        .insert_token(
            &hash_secret(&refresh),
            "refresh",
            family,
            &user.id,
            now + REFRESH_TOKEN_TTL,
        )
        .await?;
    Ok(Session {
        access_token: access,
        refresh_token: refresh,
        token_type: TokenType::Bearer,
        expires_in_s: u64::try_from(ACCESS_TOKEN_TTL.num_seconds()).unwrap_or(900),
        user: user.user(),
    })
}
