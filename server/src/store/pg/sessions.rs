//! Sessions on PostgreSQL: token families and token hashes, each change one transaction. A
//! sign-out, revocation or reused refresh token is announced to every server (`NOTIFY`, sent on
//! commit): their caches forget who each token is and their live sockets re-check. The
//! committing server also forgets at once, after the commit, so a request right after a
//! sign-out on the same server is refused without waiting for the notification.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::UserId;
use sqlx::{PgConnection, Row};
use tokio::sync::broadcast;

use super::super::storage::{SessionStorage, UserStorage};
use super::super::{AccessChange, NewPair, Rotation, StoreResult, UserRecord, to_ms};
use super::{PgStore, users};

async fn insert_pair(
    conn: &mut PgConnection,
    family_id: &str,
    user_id: &str,
    pair: &NewPair,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tokens (token_hash, kind, family_id, user_id, expires_ms)
         VALUES ($1, 'access', $3, $4, $5), ($2, 'refresh', $3, $4, $6)",
    )
    .bind(&pair.access_hash)
    .bind(&pair.refresh_hash)
    .bind(family_id)
    .bind(user_id)
    .bind(to_ms(pair.access_expires))
    .bind(to_ms(pair.refresh_expires))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_family(
    conn: &mut PgConnection,
    family_id: &str,
    user_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO token_families (id, user_id, created_ms) VALUES ($1, $2, $3)")
        .bind(family_id)
        .bind(user_id)
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn revoke(conn: &mut PgConnection, family_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("UPDATE token_families SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL")
        .bind(family_id)
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl PgStore {
    /// Revoke a family (or the family of a token) in one transaction, announced to every server.
    async fn revoke_where(
        &self,
        sql: &'static str,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(sql)
            .bind(key)
            .bind(to_ms(now))
            .execute(&mut *tx.tx)
            .await?;
        self.announce_access(&mut tx, &AccessChange::Everyone)
            .await?;
        self.commit(tx).await?;
        self.auth_cache.access_changed(AccessChange::Everyone);
        Ok(())
    }
}

#[async_trait]
impl SessionStorage for PgStore {
    /// Make every access token (and with `refresh_too` every refresh token) expired now: for
    /// tests of how clients recover.
    async fn expire_every_token(&self, refresh_too: bool) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let sql = if refresh_too {
            "UPDATE tokens SET expires_ms = 0"
        } else {
            "UPDATE tokens SET expires_ms = 0 WHERE kind = 'access'"
        };
        sqlx::query(sql).execute(&mut *tx.tx).await?;
        self.announce_access(&mut tx, &AccessChange::Everyone)
            .await?;
        self.commit(tx).await?;
        self.auth_cache.access_changed(AccessChange::Everyone);
        Ok(())
    }

    /// Announcements of access that may have ended or changed, on any server.
    fn access_changes(&self) -> broadcast::Receiver<AccessChange> {
        self.auth_cache.access_changes()
    }

    /// The signed-in user behind an access token's hash, if it is live at `now`.
    async fn authenticate(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>> {
        // Read from the database on every request, not from a cache: a session revoked or a
        // role changed through another server holds here at once, not once its notification
        // arrives (the notification closes live sockets; see `PgStore::listen`).
        let row = sqlx::query(
            "SELECT t.user_id, t.expires_ms
             FROM tokens t JOIN token_families f ON f.id = t.family_id
             WHERE t.token_hash = $1 AND t.kind = 'access' AND t.expires_ms > $2
               AND f.revoked_ms IS NULL",
        )
        .bind(token_hash)
        .bind(to_ms(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user_id = UserId::from(row.try_get::<String, _>("user_id")?);
        self.user_by_id(&user_id).await
    }

    /// A new session for `user_id`: its family and first token pair, one transaction.
    async fn open_session(
        &self,
        family_id: &str,
        user_id: &UserId,
        pair: NewPair,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        insert_family(&mut tx.tx, family_id, user_id, now).await?;
        insert_pair(&mut tx.tx, family_id, user_id, &pair).await?;
        self.commit(tx).await
    }

    /// Sign in with a right one-time code, one transaction: the challenge is consumed (if it
    /// still may be), the user created on first sign-in, and a session opened. `None`: another
    /// request (on any server) consumed it first — its row lock makes the second wait and then
    /// find it consumed.
    async fn sign_in(
        &self,
        challenge_id: &str,
        max_attempts: u32,
        family_id: &str,
        pair: NewPair,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>> {
        let mut tx = self.begin().await?;
        let email: Option<String> = sqlx::query_scalar(
            "UPDATE otp_challenges SET consumed_ms = $2
             WHERE id = $1 AND consumed_ms IS NULL AND attempts < $3 AND expires_ms > $2
             RETURNING email",
        )
        .bind(challenge_id)
        .bind(to_ms(now))
        .bind(i64::from(max_attempts))
        .fetch_optional(&mut *tx.tx)
        .await?;
        let Some(email) = email else { return Ok(None) };
        let user = users::ensure_user_in(&mut tx.tx, &email, now).await?;
        insert_family(&mut tx.tx, family_id, &user.id, now).await?;
        insert_pair(&mut tx.tx, family_id, &user.id, &pair).await?;
        self.commit(tx).await?;
        Ok(Some(user))
    }

    /// Trade a refresh token for `pair`, one transaction (see [`Rotation`]). The token's row is
    /// locked first, so the same token presented on two servers at once is judged one after the
    /// other: one rotates, the other finds it spent and revokes the family (the reuse rule).
    async fn rotate_refresh(
        &self,
        token_hash: &str,
        pair: NewPair,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT family_id, user_id, expires_ms, used_ms FROM tokens
             WHERE token_hash = $1 AND kind = 'refresh' FOR UPDATE",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx.tx)
        .await?;
        let Some(row) = row else {
            return Ok(Rotation::Unknown);
        };
        let family_id: String = row.try_get("family_id")?;
        let user_id: String = row.try_get("user_id")?;
        let expires_ms: i64 = row.try_get("expires_ms")?;
        let used: Option<i64> = row.try_get("used_ms")?;
        // Read after the lock: a revocation committed meanwhile is seen.
        let revoked: Option<i64> =
            sqlx::query_scalar("SELECT revoked_ms FROM token_families WHERE id = $1")
                .bind(&family_id)
                .fetch_optional(&mut *tx.tx)
                .await?
                .flatten();
        if revoked.is_some() {
            return Ok(Rotation::Revoked);
        }
        if used.is_some() {
            revoke(&mut tx.tx, &family_id, now).await?;
            self.announce_access(&mut tx, &AccessChange::Everyone)
                .await?;
            self.commit(tx).await?;
            self.auth_cache.access_changed(AccessChange::Everyone);
            return Ok(Rotation::Reused { family_id });
        }
        if to_ms(now) >= expires_ms {
            return Ok(Rotation::Expired);
        }
        let Some(user) = users::load_user(&mut tx.tx, &user_id).await? else {
            return Ok(Rotation::NoUser);
        };
        sqlx::query("UPDATE tokens SET used_ms = $2 WHERE token_hash = $1 AND kind = 'refresh'")
            .bind(token_hash)
            .bind(to_ms(now))
            .execute(&mut *tx.tx)
            .await?;
        insert_pair(&mut tx.tx, &family_id, &user.id, &pair).await?;
        self.commit(tx).await?;
        Ok(Rotation::Rotated { user, family_id })
    }

    /// End a session: every token of the family stops working, on every server. Revoking twice
    /// keeps the first time.
    async fn revoke_family(&self, family_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.revoke_where(
            "UPDATE token_families SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL",
            family_id,
            now,
        )
        .await
    }

    /// Revoke the family of whichever token has this hash (sign-out with an access token).
    async fn revoke_family_of_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.revoke_where(
            "UPDATE token_families SET revoked_ms = $2
             WHERE revoked_ms IS NULL
               AND id = (SELECT family_id FROM tokens WHERE token_hash = $1)",
            token_hash,
            now,
        )
        .await
    }

    /// Forget tokens that expired before `before`, and sessions (older than that) left with no
    /// token. A spent refresh token is kept until it expires, so its reuse is still caught
    /// until then.
    async fn prune_tokens(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let tokens = sqlx::query("DELETE FROM tokens WHERE expires_ms < $1")
            .bind(to_ms(before))
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        // Only families older than the cutoff: a sign-in creates its family a moment before
        // its tokens, and must not lose it to a sweep in between.
        sqlx::query(
            "DELETE FROM token_families f
             WHERE f.created_ms < $1
               AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.family_id = f.id)",
        )
        .bind(to_ms(before))
        .execute(&mut *tx.tx)
        .await?;
        self.commit(tx).await?;
        self.auth_cache.invalidate();
        Ok(tokens)
    }
}
