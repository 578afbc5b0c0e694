//! Sign-in and sessions: one-time email codes ([`otp`], limited by [`rate_limit`]), opaque
//! access tokens (15 min) and rotating refresh tokens (30 days; a reused refresh token revokes
//! its whole family), and who a user is ([`profile`]). Only hashes of codes and tokens are
//! stored. Every function takes `now` so tests can move the clock.

pub mod link;
pub mod otp;
pub mod profile;
pub mod rate_limit;

use chrono::{DateTime, Duration, Utc};
use espresso_protocol::{ErrorCode, Session, TokenType};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::store::{NewPair, Rotation, Store, UserRecord};

pub use profile::{grant, grant_admin};
pub use rate_limit::RateLimits;

pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(15);
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(30);

/// SHA-256 of a secret, hex: what the database keeps of codes and tokens.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// The server's secret for one-time codes. A 6-digit code has a million values: a bare hash of
/// it (as stored) is reversed in a second by anyone who reads the database. Keyed with this
/// secret (HMAC-SHA-256), the stored hash is worthless without the secret file, which is
/// created at first start, 0600, beside the database (`--secret-file`).
#[derive(Clone)]
pub struct SignInKey([u8; 32]);

impl std::fmt::Debug for SignInKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignInKey(…)")
    }
}

impl SignInKey {
    /// A key for this process only (a throwaway database, tests).
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(key)
    }

    /// Read the key from `path`, or create it there (0600, its folder 0700) on first start.
    pub fn load_or_create(path: &std::path::Path) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        match std::fs::read_to_string(path) {
            Ok(text) => {
                crate::private::restrict_path(path)
                    .with_context(|| format!("cannot restrict {}", path.display()))?;
                Self::from_hex(text.trim()).with_context(|| {
                    format!(
                        "{} is not a secret this server wrote (64 hex digits)",
                        path.display()
                    )
                })
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent()
                    && !parent.as_os_str().is_empty()
                {
                    crate::private::create_dir(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                let key = Self::random();
                match crate::private::write_new(path, hex(&key.0).as_bytes()) {
                    Ok(()) => Ok(key),
                    // Another process wrote it first: use theirs.
                    Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(path)
                    }
                    Err(error) => {
                        Err(error).with_context(|| format!("cannot write {}", path.display()))
                    }
                }
            }
            Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// The key as the secret file holds it (64 hex digits).
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let digit = |b: u8| char::from(b).to_digit(16);
            let value = digit(pair[0])? * 16 + digit(pair[1])?;
            key[i] = u8::try_from(value).ok()?;
        }
        Some(Self(key))
    }

    /// HMAC-SHA-256 of `message` under the key, hex.
    pub fn sign(&self, message: &str) -> String {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(message.as_bytes());
        hex(&mac.finalize().into_bytes())
    }
}

/// Lower-case hex (every request hashes its token: no `format!` per byte).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// A new opaque token: `prefix` + 32 random bytes (CSPRNG), hex.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex(&bytes))
}

/// The signed-in user behind an access token, if it is valid now.
pub async fn authenticate(
    store: &Store,
    access_token: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<UserRecord>> {
    Ok(store.authenticate(&hash_secret(access_token), now).await?)
}

/// A new token pair: the tokens to hand out, and what storage keeps of them (hashes).
pub struct IssuedPair {
    pub access: String,
    pub refresh: String,
    pub stored: NewPair,
}

impl IssuedPair {
    pub fn new(now: DateTime<Utc>) -> Self {
        let access = new_token("at_");
        let refresh = new_token("rt_");
        let stored = NewPair {
            access_hash: hash_secret(&access),
            access_expires: now + ACCESS_TOKEN_TTL,
            refresh_hash: hash_secret(&refresh),
            refresh_expires: now + REFRESH_TOKEN_TTL,
        };
        Self {
            access,
            refresh,
            stored,
        }
    }

    /// The session a client receives.
    pub fn session(self, user: &UserRecord) -> Session {
        Session {
            access_token: self.access,
            refresh_token: self.refresh,
            token_type: TokenType::Bearer,
            expires_in_s: u64::try_from(ACCESS_TOKEN_TTL.num_seconds()).unwrap_or(900),
            user: user.user(),
        }
    }
}

/// Start a session for `user`: a new token family with one access and one refresh token.
pub async fn open_session(
    store: &Store,
    user: &UserRecord,
    now: DateTime<Utc>,
) -> ApiResult<Session> {
    let family = crate::store::new_id("fam");
    let pair = IssuedPair::new(now);
    store
        .open_session(&family, &user.id, pair.stored.clone(), now)
        .await?;
    Ok(pair.session(user))
}

/// `POST /auth/refresh`: trade a refresh token for a new pair in the same family; the old one
/// is spent. Presenting a spent one again means it was copied (or a client retried blindly):
/// the whole family is revoked, so whoever holds its other tokens is signed out too. Looking,
/// spending and issuing are one transaction: a failure spends nothing, so a retry is no reuse.
pub async fn refresh(store: &Store, refresh_token: &str, now: DateTime<Utc>) -> ApiResult<Session> {
    let pair = IssuedPair::new(now);
    match store
        .rotate_refresh(&hash_secret(refresh_token), pair.stored.clone(), now)
        .await?
    {
        Rotation::Rotated { user, .. } => Ok(pair.session(&user)),
        Rotation::Unknown => Err(session_ended("unknown refresh token")),
        Rotation::Revoked => Err(session_ended("this session was signed out")),
        Rotation::Expired => Err(session_ended("the refresh token has expired")),
        Rotation::NoUser => Err(session_ended("the user no longer exists")),
        Rotation::Reused { family_id } => {
            tracing::warn!(
                family_id,
                "a spent refresh token was presented again: session revoked"
            );
            Err(ApiError::detail(
                ErrorCode::TokenReused,
                "this refresh token was already used; the session is revoked",
            ))
        }
    }
}

/// `POST /auth/logout`: end the session the access token belongs to (its refresh family).
pub async fn sign_out(store: &Store, access_token: &str, now: DateTime<Utc>) -> ApiResult<()> {
    Ok(store
        .revoke_family_of_token(&hash_secret(access_token), now)
        .await?)
}

fn session_ended(detail: &str) -> ApiError {
    ApiError::detail(ErrorCode::Unauthenticated, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::prelude::*;

    async fn signed_in() -> (crate::store::SqliteStore, Session, DateTime<Utc>) {
        let store = crate::store::SqliteStore::open("sqlite::memory:", "http://cafe.test")
            .await
            .unwrap();
        let now = Utc::now();
        let user = store.ensure_user("ann@example.com", now).await.unwrap();
        let session = open_session(&store, &user, now).await.unwrap();
        (store, session, now)
    }

    #[test]
    fn the_sign_in_secret_is_created_once_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/espresso.db.secret");
        let first = SignInKey::load_or_create(&path).unwrap();
        let again = SignInKey::load_or_create(&path).unwrap();
        assert_eq!(first.sign("otp_a:123456"), again.sign("otp_a:123456"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        std::fs::write(&path, "not a key").unwrap();
        assert!(
            SignInKey::load_or_create(&path).is_err(),
            "a damaged secret is said, not replaced"
        );
    }

    #[test]
    fn a_secret_hashes_to_the_sha256_hex_everyone_computes() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let token = new_token("at_");
        assert_eq!(token.len(), 3 + 64);
        assert!(
            token[3..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[tokio::test]
    async fn a_refresh_gives_a_new_pair_for_the_same_user() {
        let (store, first, now) = signed_in().await;
        let second = refresh(&store, &first.refresh_token, now).await.unwrap();
        assert_ne!(second.refresh_token, first.refresh_token);
        assert_ne!(second.access_token, first.access_token);
        assert_eq!(second.user, first.user);
        let user = authenticate(&store, &second.access_token, now)
            .await
            .unwrap();
        assert_eq!(user.map(|u| u.email), Some("ann@example.com".into()));
    }

    #[tokio::test]
    async fn a_refresh_token_used_twice_revokes_the_family() {
        let (store, first, now) = signed_in().await;
        let second = refresh(&store, &first.refresh_token, now).await.unwrap();
        let error = refresh(&store, &first.refresh_token, now)
            .await
            .unwrap_err();
        assert_eq!(error.0.code, ErrorCode::TokenReused);
        assert_eq!(error.0.status, 401);
        assert!(
            authenticate(&store, &second.access_token, now)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            authenticate(&store, &first.access_token, now)
                .await
                .unwrap()
                .is_none()
        );
        let error = refresh(&store, &second.refresh_token, now)
            .await
            .unwrap_err();
        assert_eq!(error.0.code, ErrorCode::Unauthenticated);
    }

    #[tokio::test]
    async fn an_expired_refresh_token_is_unauthenticated_and_kills_nothing() {
        let (store, first, now) = signed_in().await;
        let later = now + REFRESH_TOKEN_TTL;
        let error = refresh(&store, &first.refresh_token, later)
            .await
            .unwrap_err();
        assert_eq!(error.0.code, ErrorCode::Unauthenticated);
        assert!(
            authenticate(&store, &first.access_token, now)
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn an_access_token_expires_after_fifteen_minutes() {
        let (store, first, now) = signed_in().await;
        let almost = now + ACCESS_TOKEN_TTL - Duration::seconds(1);
        assert!(
            authenticate(&store, &first.access_token, almost)
                .await
                .unwrap()
                .is_some()
        );
        let after = now + ACCESS_TOKEN_TTL;
        assert!(
            authenticate(&store, &first.access_token, after)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn signing_out_ends_the_access_and_the_refresh_token() {
        let (store, first, now) = signed_in().await;
        sign_out(&store, &first.access_token, now).await.unwrap();
        assert!(
            authenticate(&store, &first.access_token, now)
                .await
                .unwrap()
                .is_none()
        );
        let error = refresh(&store, &first.refresh_token, now)
            .await
            .unwrap_err();
        assert_eq!(error.0.code, ErrorCode::Unauthenticated);
    }
}
