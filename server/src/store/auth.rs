//! Storage of sessions: token families and token hashes (never the tokens themselves). The rules
//! (what a used or expired token means) live in `crate::auth`; this file only keeps the rows and
//! makes rotation atomic. One-time codes and rate limits are in `sign_in`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{SqliteStore, from_ms, to_ms};

/// A refresh token as stored, with the state of its family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRow {
    pub family_id: String,
    pub user_id: String,
    pub expires: DateTime<Utc>,
    /// When it was traded for a new pair; a second use is a replay.
    pub used: Option<DateTime<Utc>>,
    pub family_revoked: bool,
}

impl SqliteStore {
    pub async fn create_family(
        &self,
        id: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let _write = self.write().await;
        sqlx::query("INSERT INTO token_families (id, user_id, created_ms) VALUES (?1, ?2, ?3)")
            .bind(id)
            .bind(user_id)
            .bind(to_ms(now))
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn insert_token(
        &self,
        token_hash: &str,
        kind: &str,
        family_id: &str,
        user_id: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let _write = self.write().await;
        sqlx::query(
            "INSERT INTO tokens (token_hash, kind, family_id, user_id, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(token_hash)
        .bind(kind)
        .bind(family_id)
        .bind(user_id)
        .bind(to_ms(expires))
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// The user of a live access token: not expired, family not revoked.
    pub async fn access_token_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT t.user_id FROM tokens t JOIN token_families f ON f.id = t.family_id
             WHERE t.token_hash = ?1 AND t.kind = 'access' AND t.expires_ms > ?2 AND f.revoked_ms IS NULL",
        )
        .bind(token_hash)
        .bind(to_ms(now))
        .fetch_optional(&self.pool)
        .await
    }

    /// A refresh token by its hash, whatever its state (the caller decides what the state means).
    pub async fn refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRow>, sqlx::Error> {
        let Some(row) = sqlx::query(
            "SELECT t.family_id, t.user_id, t.expires_ms, t.used_ms, f.revoked_ms
             FROM tokens t JOIN token_families f ON f.id = t.family_id
             WHERE t.token_hash = ?1 AND t.kind = 'refresh'",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let used: Option<i64> = row.try_get("used_ms")?;
        let revoked: Option<i64> = row.try_get("revoked_ms")?;
        Ok(Some(RefreshTokenRow {
            family_id: row.try_get("family_id")?,
            user_id: row.try_get("user_id")?,
            expires: from_ms(row.try_get("expires_ms")?),
            used: used.map(from_ms),
            family_revoked: revoked.is_some(),
        }))
    }

    /// Mark a refresh token used. `false` if it already was: a concurrent replay lost the race
    /// and must be treated as reuse.
    pub async fn spend_refresh_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let _write = self.write().await;
        let done = sqlx::query(
            "UPDATE tokens SET used_ms = ?2
             WHERE token_hash = ?1 AND kind = 'refresh' AND used_ms IS NULL",
        )
        .bind(token_hash)
        .bind(to_ms(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// End a session: every token of the family stops working (access tokens included, see
    /// [`SqliteStore::access_token_user`]). Revoking twice keeps the first time.
    pub async fn revoke_family(
        &self,
        family_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let _write = self.write().await;
        sqlx::query(
            "UPDATE token_families SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL",
        )
        .bind(family_id)
        .bind(to_ms(now))
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// Revoke the family of whichever token has this hash (sign-out with an access token).
    pub async fn revoke_family_of_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let _write = self.write().await;
        sqlx::query(
            "UPDATE token_families SET revoked_ms = ?2
             WHERE revoked_ms IS NULL AND id = (SELECT family_id FROM tokens WHERE token_hash = ?1)",
        )
        .bind(token_hash)
        .bind(to_ms(now))
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// Forget tokens that expired before `before`, and sessions (older than that) left with no
    /// token. A spent
    /// refresh token is kept until it expires, so its reuse is still caught until then.
    pub async fn prune_tokens(&self, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        let _write = self.write().await;
        let mut tx = self.begin_write().await?;
        let tokens = sqlx::query("DELETE FROM tokens WHERE expires_ms < ?1")
            .bind(to_ms(before))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Only families older than the cutoff: a sign-in creates its family a moment before
        // its tokens, and must not lose it to a sweep in between.
        sqlx::query(
            "DELETE FROM token_families
             WHERE created_ms < ?1 AND id NOT IN (SELECT family_id FROM tokens)",
        )
        .bind(to_ms(before))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(tokens)
    }
}
