//! Storage of sign-in state: token families and token hashes (never the tokens themselves).

use chrono::{DateTime, Utc};

use super::{Store, to_ms};

impl Store {
    pub async fn create_family(
        &self,
        id: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
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
}
