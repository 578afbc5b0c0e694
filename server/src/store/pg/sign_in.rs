//! Sign-in attempts on PostgreSQL: one-time-code challenges and the rate limits' hits. The
//! limiter's read-judge-write is one transaction that first takes an advisory lock per bucket
//! (in one order, so two requests sharing buckets cannot deadlock): requests sharing a bucket
//! are judged one after the other on every server, and ones that share none run in parallel.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::super::sign_in::OtpChallengeRow;
use super::super::storage::SignInStorage;
use super::super::{RateVerdict, StoreResult, from_ms, to_ms};
use super::PgStore;

#[async_trait]
impl SignInStorage for PgStore {
    async fn insert_otp_challenge(&self, row: &OtpChallengeRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO otp_challenges
               (id, email, code_hash, created_ms, expires_ms, attempts, consumed_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&row.id)
        .bind(&row.email)
        .bind(&row.code_hash)
        .bind(to_ms(row.created))
        .bind(to_ms(row.expires))
        .bind(i64::from(row.attempts))
        .bind(row.consumed.map(to_ms))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn otp_challenge(&self, id: &str) -> StoreResult<Option<OtpChallengeRow>> {
        let Some(row) = sqlx::query(
            "SELECT id, email, code_hash, created_ms, expires_ms, attempts, consumed_ms
             FROM otp_challenges WHERE id = $1",
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

    /// Count one wrong code; the number of wrong codes so far, or `None` if the challenge is
    /// gone or already consumed (one statement: its row lock orders racing guesses).
    async fn count_wrong_otp(&self, id: &str) -> StoreResult<Option<u32>> {
        let attempts: Option<i64> = sqlx::query_scalar(
            "UPDATE otp_challenges SET attempts = attempts + 1
             WHERE id = $1 AND consumed_ms IS NULL RETURNING attempts",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(attempts.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    /// Forget challenges that expired before `before` (they can only answer `code_expired`).
    async fn prune_otp_challenges(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM otp_challenges WHERE expires_ms < $1")
            .bind(to_ms(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Read the hits of each `(bucket, since)` after `since` (oldest first) and, if `admit`
    /// accepts them, record one more hit in every bucket at `now`. Older hits of those buckets
    /// are dropped on the way. One transaction holding every bucket's advisory lock, so two
    /// racing requests (on any servers) cannot both slip under a limit.
    async fn admit_rate_hits(
        &self,
        buckets: &[(String, DateTime<Utc>)],
        now: DateTime<Utc>,
        admit: RateVerdict,
    ) -> StoreResult<Result<(), chrono::Duration>> {
        let mut tx = self.begin().await?;
        let names: Vec<&str> = buckets.iter().map(|(bucket, _)| bucket.as_str()).collect();
        // One lock per distinct key, taken in key order (a hash collision only serialises two
        // buckets that need not be).
        sqlx::query(
            "SELECT pg_advisory_xact_lock(k)
             FROM (SELECT DISTINCT hashtextextended(b, 0) AS k FROM unnest($1::text[]) b) keys
             ORDER BY k",
        )
        .bind(&names)
        .execute(&mut *tx.tx)
        .await?;
        let mut hits = Vec::with_capacity(buckets.len());
        for (bucket, since) in buckets {
            sqlx::query("DELETE FROM rate_hits WHERE bucket = $1 AND at_ms <= $2")
                .bind(bucket)
                .bind(to_ms(*since))
                .execute(&mut *tx.tx)
                .await?;
            let times: Vec<i64> = sqlx::query_scalar(
                "SELECT at_ms FROM rate_hits WHERE bucket = $1 AND at_ms > $2 ORDER BY at_ms",
            )
            .bind(bucket)
            .bind(to_ms(*since))
            .fetch_all(&mut *tx.tx)
            .await?;
            hits.push(times.into_iter().map(from_ms).collect::<Vec<_>>());
        }
        if let Err(refusal) = admit(&hits) {
            // The old hits dropped on the way stay dropped (as on SQLite).
            self.commit(tx).await?;
            return Ok(Err(refusal));
        }
        for (bucket, _) in buckets {
            sqlx::query("INSERT INTO rate_hits (bucket, at_ms) VALUES ($1, $2)")
                .bind(bucket)
                .bind(to_ms(now))
                .execute(&mut *tx.tx)
                .await?;
        }
        self.commit(tx).await?;
        Ok(Ok(()))
    }

    /// Drop every rate-limit hit older than `before` (buckets nobody asks about again).
    async fn prune_rate_hits(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM rate_hits WHERE at_ms < $1")
            .bind(to_ms(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
