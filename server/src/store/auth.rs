//! Storage of sessions: token families and token hashes (never the tokens themselves). The rules
//! (what a used or expired token means) live in `crate::auth`; this file keeps the rows, makes
//! sign-in and rotation one writer job each, and keeps who each live access token belongs to in
//! a bounded cache ([`AuthCache`]) so a request does not read the database to know its caller.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::UserId;
use rusqlite::{Connection, OptionalExtension, params};
use sqlx::Row;

use super::storage::prelude::*;
use super::users::{UserRecord, load_user_tx};
use super::{SqliteStore, StoreResult, to_ms};

/// The hashes of a new access + refresh token pair, and when each expires.
#[derive(Debug, Clone)]
pub struct NewPair {
    pub access_hash: String,
    pub access_expires: DateTime<Utc>,
    pub refresh_hash: String,
    pub refresh_expires: DateTime<Utc>,
}

/// What presenting a refresh token came to (one writer job: look, judge, spend, issue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Spent; the new pair is stored in the same family.
    Rotated {
        user: UserRecord,
        family_id: String,
    },
    Unknown,
    /// Its session was signed out.
    Revoked,
    /// It was spent before: the whole family is now revoked.
    Reused {
        family_id: String,
    },
    Expired,
    /// The user is gone.
    NoUser,
}

/// Whose access may have ended or changed: what an open live socket re-checks its token on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessChange {
    /// This user's roles changed.
    User(Arc<str>),
    /// Some session ended (sign-out, revocation, a reused refresh token, expiry): every socket
    /// checks its own token.
    Everyone,
}

/// Who each live access token belongs to, by token hash (bounded; emptied on any sign-out,
/// revocation or role change, so a cached answer is never staler than the last such change).
/// Changes that may end or narrow someone's access are also announced ([`AccessChange`]), so
/// live sockets opened with a token do not outlive it.
pub struct AuthCache {
    inner: Mutex<CacheInner>,
    changes: tokio::sync::broadcast::Sender<AccessChange>,
}

impl Default for AuthCache {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            changes: tokio::sync::broadcast::channel(256).0,
        }
    }
}

#[derive(Default)]
struct CacheInner {
    /// Bumped by every invalidation: a lookup that started before one may not fill the cache.
    generation: u64,
    users: HashMap<String, (UserRecord, i64)>,
}

/// More cached tokens than this and the cache starts over (a café has far fewer).
const CACHE_CAP: usize = 100_000;

impl AuthCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn get(&self, token_hash: &str, now: DateTime<Utc>) -> Result<UserRecord, u64> {
        let inner = self.lock();
        match inner.users.get(token_hash) {
            Some((user, expires_ms)) if *expires_ms > to_ms(now) => Ok(user.clone()),
            _ => Err(inner.generation),
        }
    }

    pub(super) fn insert(
        &self,
        generation: u64,
        token_hash: String,
        user: UserRecord,
        expires_ms: i64,
    ) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.users.len() >= CACHE_CAP {
            inner.users.clear();
        }
        inner.users.insert(token_hash, (user, expires_ms));
    }

    /// Forget every cached token (after a change that may end or alter some).
    pub fn invalidate(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.users.clear();
    }

    /// Forget every cached token and tell live sockets whose access may have changed.
    pub fn access_changed(&self, change: AccessChange) {
        self.invalidate();
        // Nobody listening (no live socket) is fine.
        let _ = self.changes.send(change);
    }

    pub fn access_changes(&self) -> tokio::sync::broadcast::Receiver<AccessChange> {
        self.changes.subscribe()
    }
}

fn insert_pair(
    conn: &Connection,
    family_id: &str,
    user_id: &str,
    pair: &NewPair,
) -> StoreResult<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO tokens (token_hash, kind, family_id, user_id, expires_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    insert.execute(params![
        pair.access_hash,
        "access",
        family_id,
        user_id,
        to_ms(pair.access_expires)
    ])?;
    insert.execute(params![
        pair.refresh_hash,
        "refresh",
        family_id,
        user_id,
        to_ms(pair.refresh_expires)
    ])?;
    Ok(())
}

fn revoke(conn: &Connection, family_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE token_families SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL",
    )?
    .execute(params![family_id, to_ms(now)])?;
    Ok(())
}

#[async_trait]
impl SessionStorage for SqliteStore {
    /// Make every access token (and with `refresh_too` every refresh token) expired now: for
    /// tests of how clients recover, without writing SQL into the schema.
    async fn expire_every_token(&self, refresh_too: bool) -> StoreResult<()> {
        let done = self
            .writer
            .run(move |work| {
                let sql = if refresh_too {
                    "UPDATE tokens SET expires_ms = 0"
                } else {
                    "UPDATE tokens SET expires_ms = 0 WHERE kind = 'access'"
                };
                work.conn.execute(sql, [])?;
                Ok(())
            })
            .await;
        self.auth_cache.access_changed(AccessChange::Everyone);
        done
    }

    /// Announcements of access that may have ended or changed (see [`AccessChange`]).
    fn access_changes(&self) -> tokio::sync::broadcast::Receiver<AccessChange> {
        self.auth_cache.access_changes()
    }

    /// The signed-in user behind an access token's hash, if it is live at `now`: from the cache,
    /// or from the read pool (then cached).
    async fn authenticate(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>> {
        let generation = match self.auth_cache.get(token_hash, now) {
            Ok(user) => return Ok(Some(user)),
            Err(generation) => generation,
        };
        let row = sqlx::query(
            "SELECT t.user_id, t.expires_ms
             FROM tokens t JOIN token_families f ON f.id = t.family_id
             WHERE t.token_hash = ?1 AND t.kind = 'access' AND t.expires_ms > ?2
               AND f.revoked_ms IS NULL",
        )
        .bind(token_hash)
        .bind(to_ms(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user_id = UserId::from(row.try_get::<String, _>("user_id")?);
        let expires_ms: i64 = row.try_get("expires_ms")?;
        let Some(user) = self.user_by_id(&user_id).await? else {
            return Ok(None);
        };
        self.auth_cache
            .insert(generation, token_hash.to_owned(), user.clone(), expires_ms);
        Ok(Some(user))
    }

    /// A new session for `user_id`: its family and first token pair, one job.
    async fn open_session(
        &self,
        family_id: &str,
        user_id: &UserId,
        pair: NewPair,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let family_id = family_id.to_owned();
        let user_id = user_id.to_owned();
        self.writer
            .run(move |work| {
                work.conn
                    .prepare_cached(
                        "INSERT INTO token_families (id, user_id, created_ms) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![family_id, user_id.as_str(), to_ms(now)])?;
                insert_pair(work.conn, &family_id, &user_id, &pair)
            })
            .await
    }

    /// Sign in with a right one-time code, as one job: the challenge is consumed (if it still
    /// may be: not consumed, under `max_attempts`, not expired), the user created on first
    /// sign-in, and a session opened. `None`: another request consumed it first.
    async fn sign_in(
        &self,
        challenge_id: &str,
        max_attempts: u32,
        family_id: &str,
        pair: NewPair,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>> {
        let challenge_id = challenge_id.to_owned();
        let family_id = family_id.to_owned();
        self.writer
            .run(move |work| {
                let conn = work.conn;
                let email: Option<String> = conn
                    .prepare_cached(
                        "UPDATE otp_challenges SET consumed_ms = ?2
                         WHERE id = ?1 AND consumed_ms IS NULL AND attempts < ?3 AND expires_ms > ?2
                         RETURNING email",
                    )?
                    .query_row(
                        params![challenge_id, to_ms(now), i64::from(max_attempts)],
                        |row| row.get(0),
                    )
                    .optional()?;
                let Some(email) = email else { return Ok(None) };
                let user = super::users::ensure_user_tx(conn, &email, now)?;
                conn.prepare_cached(
                    "INSERT INTO token_families (id, user_id, created_ms) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![family_id, user.id.as_str(), to_ms(now)])?;
                insert_pair(conn, &family_id, &user.id, &pair)?;
                Ok(Some(user))
            })
            .await
    }

    /// Trade a refresh token for `pair`, as one job (see [`Rotation`]). A spent token presented
    /// again revokes its family.
    async fn rotate_refresh(
        &self,
        token_hash: &str,
        pair: NewPair,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        let token_hash = token_hash.to_owned();
        let rotation = self
            .writer
            .run(move |work| {
                let conn = work.conn;
                let row = conn
                    .prepare_cached(
                        "SELECT t.family_id, t.user_id, t.expires_ms, t.used_ms, f.revoked_ms
                         FROM tokens t JOIN token_families f ON f.id = t.family_id
                         WHERE t.token_hash = ?1 AND t.kind = 'refresh'",
                    )?
                    .query_row([&token_hash], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, Option<i64>>(3)?,
                            row.get::<_, Option<i64>>(4)?,
                        ))
                    })
                    .optional()?;
                let Some((family_id, user_id, expires_ms, used, revoked)) = row else {
                    return Ok(Rotation::Unknown);
                };
                if revoked.is_some() {
                    return Ok(Rotation::Revoked);
                }
                if used.is_some() {
                    revoke(conn, &family_id, now)?;
                    return Ok(Rotation::Reused { family_id });
                }
                if to_ms(now) >= expires_ms {
                    return Ok(Rotation::Expired);
                }
                let Some(user) = load_user_tx(conn, &user_id)? else {
                    return Ok(Rotation::NoUser);
                };
                conn.prepare_cached(
                    "UPDATE tokens SET used_ms = ?2 WHERE token_hash = ?1 AND kind = 'refresh'",
                )?
                .execute(params![token_hash, to_ms(now)])?;
                insert_pair(conn, &family_id, &user.id, &pair)?;
                Ok(Rotation::Rotated { user, family_id })
            })
            .await;
        if matches!(rotation, Ok(Rotation::Reused { .. })) {
            self.auth_cache.access_changed(AccessChange::Everyone);
        }
        rotation
    }

    /// End a session: every token of the family stops working (access tokens included).
    /// Revoking twice keeps the first time.
    async fn revoke_family(&self, family_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let family_id = family_id.to_owned();
        let done = self
            .writer
            .run(move |work| revoke(work.conn, &family_id, now))
            .await;
        self.auth_cache.access_changed(AccessChange::Everyone);
        done
    }

    /// Revoke the family of whichever token has this hash (sign-out with an access token).
    async fn revoke_family_of_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        let done = self
            .writer
            .run(move |work| {
                work.conn
                    .prepare_cached(
                        "UPDATE token_families SET revoked_ms = ?2
                         WHERE revoked_ms IS NULL
                           AND id = (SELECT family_id FROM tokens WHERE token_hash = ?1)",
                    )?
                    .execute(params![token_hash, to_ms(now)])?;
                Ok(())
            })
            .await;
        self.auth_cache.access_changed(AccessChange::Everyone);
        done
    }

    /// Forget tokens that expired before `before`, and sessions (older than that) left with no
    /// token. A spent refresh token is kept until it expires, so its reuse is still caught
    /// until then.
    async fn prune_tokens(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let pruned = self
            .writer
            .run(move |work| {
                let tokens = work
                    .conn
                    .prepare_cached("DELETE FROM tokens WHERE expires_ms < ?1")?
                    .execute([to_ms(before)])?;
                // Only families older than the cutoff: a sign-in creates its family a moment
                // before its tokens, and must not lose it to a sweep in between.
                work.conn
                    .prepare_cached(
                        "DELETE FROM token_families
                         WHERE created_ms < ?1 AND id NOT IN (SELECT family_id FROM tokens)",
                    )?
                    .execute([to_ms(before)])?;
                Ok(tokens as u64)
            })
            .await;
        self.auth_cache.invalidate();
        pruned
    }
}
