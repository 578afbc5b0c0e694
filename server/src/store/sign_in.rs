//! Storage of sign-in attempts: one-time-code challenges (only a hash of each code) and the
//! sliding-window rate-limit hits. The rules (what counts as expired, locked or over a limit)
//! live in `crate::auth`; this file only keeps the rows and makes the few read-then-write steps
//! atomic.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{SqliteStore, from_ms, to_ms};

/// A one-time-code challenge as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpChallengeRow {
    pub id: String,
    /// Normalised (lower-cased); the user is created from it on the first right code.
    pub email: String,
    /// Hash of the code bound to this challenge (see `auth::otp::code_hash`).
    pub code_hash: String,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    /// Wrong codes tried so far.
    pub attempts: u32,
    /// When the right code was used; a consumed challenge never signs in again.
    pub consumed: Option<DateTime<Utc>>,
}

impl SqliteStore {
    pub async fn insert_otp_challenge(&self, row: &OtpChallengeRow) -> Result<(), sqlx::Error> {
        let _write = self.write().await;
        sqlx::query(
            "INSERT INTO otp_challenges (id, email, code_hash, created_ms, expires_ms, attempts, consumed_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(&row.id)
        .bind(&row.email)
        .bind(&row.code_hash)
        .bind(to_ms(row.created))
        .bind(to_ms(row.expires))
        .bind(i64::from(row.attempts))
        .bind(row.consumed.map(to_ms))
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    pub async fn otp_challenge(&self, id: &str) -> Result<Option<OtpChallengeRow>, sqlx::Error> {
        let Some(row) = sqlx::query(
            "SELECT id, email, code_hash, created_ms, expires_ms, attempts, consumed_ms
             FROM otp_challenges WHERE id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let attempts: i64 = row.try_get("attempts")?;
        let consumed: Option<i64> = row.try_get("consumed_ms")?;
        Ok(Some(OtpChallengeRow {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            code_hash: row.try_get("code_hash")?,
            created: from_ms(row.try_get("created_ms")?),
            expires: from_ms(row.try_get("expires_ms")?),
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            consumed: consumed.map(from_ms),
        }))
    }

    /// Mark the challenge used, if it still may be: not consumed, fewer than `max_attempts`
    /// wrong tries, not expired. `false` when another request got there first (a race between
    /// two verifies of the same code must sign in only once).
    pub async fn consume_otp_challenge(
        &self,
        id: &str,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let _write = self.write().await;
        let done = sqlx::query(
            "UPDATE otp_challenges SET consumed_ms = ?2
             WHERE id = ?1 AND consumed_ms IS NULL AND attempts < ?3 AND expires_ms > ?2",
        )
        .bind(id)
        .bind(to_ms(now))
        .bind(i64::from(max_attempts))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Count one wrong code; the number of wrong codes so far, or `None` if the challenge is gone
    /// or already consumed. One statement, so concurrent wrong tries each count.
    pub async fn count_wrong_otp(&self, id: &str) -> Result<Option<u32>, sqlx::Error> {
        let attempts: Option<i64> = sqlx::query_scalar(
            "UPDATE otp_challenges SET attempts = attempts + 1
             WHERE id = ?1 AND consumed_ms IS NULL RETURNING attempts",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(attempts.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    /// Forget challenges that expired before `before` (they can only answer `code_expired`).
    pub async fn prune_otp_challenges(&self, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        let _write = self.write().await;
        sqlx::query("DELETE FROM otp_challenges WHERE expires_ms < ?1")
            .bind(to_ms(before))
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
    }

    /// Read the hits of each `(bucket, since)` after `since` (oldest first) and, if `admit`
    /// accepts them, record one more hit in every bucket at `now`. Older hits of those buckets are
    /// dropped on the way. Atomic with respect to every other caller: it runs under the write
    /// lock, so two racing requests cannot both slip under a limit. (Plain statements rather than
    /// one transaction: a deferred SQLite transaction that reads and then writes can fail with
    /// "database is locked" when a writer outside the lock commits in between.)
    pub async fn admit_rate_hits<E>(
        &self,
        buckets: &[(String, DateTime<Utc>)],
        now: DateTime<Utc>,
        admit: impl FnOnce(&[Vec<DateTime<Utc>>]) -> Result<(), E>,
    ) -> Result<Result<(), E>, sqlx::Error> {
        let _write = self.write().await;
        let mut hits = Vec::with_capacity(buckets.len());
        for (bucket, since) in buckets {
            sqlx::query("DELETE FROM rate_hits WHERE bucket = ?1 AND at_ms <= ?2")
                .bind(bucket)
                .bind(to_ms(*since))
                .execute(&self.pool)
                .await?;
            let times: Vec<i64> = sqlx::query_scalar(
                "SELECT at_ms FROM rate_hits WHERE bucket = ?1 AND at_ms > ?2 ORDER BY at_ms",
            )
            .bind(bucket)
            .bind(to_ms(*since))
            .fetch_all(&self.pool)
            .await?;
            hits.push(times.into_iter().map(from_ms).collect::<Vec<_>>());
        }
        if let Err(refusal) = admit(&hits) {
            return Ok(Err(refusal));
        }
        for (bucket, _) in buckets {
            sqlx::query("INSERT INTO rate_hits (bucket, at_ms) VALUES (?1, ?2)")
                .bind(bucket)
                .bind(to_ms(now))
                .execute(&self.pool)
                .await?;
        }
        Ok(Ok(()))
    }

    /// Drop every rate-limit hit older than `before` (buckets nobody asks about again).
    pub async fn prune_rate_hits(&self, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        let _write = self.write().await;
        sqlx::query("DELETE FROM rate_hits WHERE at_ms < ?1")
            .bind(to_ms(before))
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
    }
}
