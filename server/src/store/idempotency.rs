//! Remembered answers of requests sent with an `Idempotency-Key`.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::{SqliteStore, to_ms};

/// Keys are kept at least this long (API.md: ≥ 24 h).
pub const KEY_TTL: Duration = Duration::hours(25);

impl SqliteStore {
    /// The remembered (request hash, status, body) of `key` in `scope`.
    pub async fn idempotent_answer(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<(String, u16, String)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT request_hash, status, body FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok((
                row.try_get("request_hash")?,
                u16::try_from(row.try_get::<i64, _>("status")?).unwrap_or(200),
                row.try_get("body")?,
            ))
        })
        .transpose()
    }

    pub async fn remember_answer(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        status: u16,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let _write = self.write().await;
        sqlx::query(
            "INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (scope, key) DO NOTHING",
        )
        .bind(scope)
        .bind(key)
        .bind(request_hash)
        .bind(i64::from(status))
        .bind(body)
        .bind(to_ms(now))
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// Forget keys older than [`KEY_TTL`].
    pub async fn prune_idempotency(&self, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        let _write = self.write().await;
        sqlx::query("DELETE FROM idempotency_keys WHERE created_ms < ?1")
            .bind(to_ms(now - KEY_TTL))
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
    }
}
