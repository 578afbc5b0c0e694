//! Storage of sign-in attempts: one-time-code challenges (only a hash of each code) and the
//! sliding-window rate-limit hits. The rules (what counts as expired, locked or over a limit)
//! live in `crate::auth`; this file only keeps the rows and makes the few read-then-write steps
//! atomic.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use sqlx::Row;

use super::storage::prelude::*;
use super::{RateVerdict, SqliteStore, StoreResult, from_ms, to_ms};

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

#[async_trait]
impl SignInStorage for SqliteStore {
    async fn insert_otp_challenge(&self, row: &OtpChallengeRow) -> StoreResult<()> {
        let row = row.clone();
        self.writer
            .run(move |work| {
                work.conn
                    .prepare_cached(
                        "INSERT INTO otp_challenges
                           (id, email, code_hash, created_ms, expires_ms, attempts, consumed_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )?
                    .execute(params![
                        row.id,
                        row.email,
                        row.code_hash,
                        to_ms(row.created),
                        to_ms(row.expires),
                        i64::from(row.attempts),
                        row.consumed.map(to_ms)
                    ])?;
                Ok(())
            })
            .await
    }

    async fn otp_challenge(&self, id: &str) -> StoreResult<Option<OtpChallengeRow>> {
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

    /// Count one wrong code; the number of wrong codes so far, or `None` if the challenge is gone
    /// or already consumed.
    async fn count_wrong_otp(&self, id: &str) -> StoreResult<Option<u32>> {
        let id = id.to_owned();
        self.writer
            .run(move |work| {
                let attempts: Option<i64> = work
                    .conn
                    .prepare_cached(
                        "UPDATE otp_challenges SET attempts = attempts + 1
                         WHERE id = ?1 AND consumed_ms IS NULL RETURNING attempts",
                    )?
                    .query_row([&id], |row| row.get(0))
                    .optional()?;
                Ok(attempts.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
            })
            .await
    }

    /// Forget challenges that expired before `before` (they can only answer `code_expired`).
    async fn prune_otp_challenges(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.writer
            .run(move |work| {
                let n = work
                    .conn
                    .prepare_cached("DELETE FROM otp_challenges WHERE expires_ms < ?1")?
                    .execute([to_ms(before)])?;
                Ok(n as u64)
            })
            .await
    }

    /// Read the hits of each `(bucket, since)` after `since` (oldest first) and, if `admit`
    /// accepts them, record one more hit in every bucket at `now`. Older hits of those buckets are
    /// dropped on the way. One writer job, so two racing requests cannot both slip under a limit.
    async fn admit_rate_hits(
        &self,
        buckets: &[(String, DateTime<Utc>)],
        now: DateTime<Utc>,
        admit: RateVerdict,
    ) -> StoreResult<Result<(), chrono::Duration>> {
        let buckets = buckets.to_vec();
        self.writer
            .run(move |work| {
                let conn = work.conn;
                let mut hits = Vec::with_capacity(buckets.len());
                for (bucket, since) in &buckets {
                    conn.prepare_cached("DELETE FROM rate_hits WHERE bucket = ?1 AND at_ms <= ?2")?
                        .execute(params![bucket, to_ms(*since)])?;
                    let times = conn
                        .prepare_cached(
                            "SELECT at_ms FROM rate_hits
                             WHERE bucket = ?1 AND at_ms > ?2 ORDER BY at_ms",
                        )?
                        .query_map(params![bucket, to_ms(*since)], |row| row.get::<_, i64>(0))?
                        .map(|at| at.map(from_ms))
                        .collect::<Result<Vec<_>, _>>()?;
                    hits.push(times);
                }
                if let Err(refusal) = admit(&hits) {
                    return Ok(Err(refusal));
                }
                for (bucket, _) in &buckets {
                    conn.prepare_cached("INSERT INTO rate_hits (bucket, at_ms) VALUES (?1, ?2)")?
                        .execute(params![bucket, to_ms(now)])?;
                }
                Ok(Ok(()))
            })
            .await
    }

    /// Drop every rate-limit hit older than `before` (buckets nobody asks about again).
    async fn prune_rate_hits(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.writer
            .run(move |work| {
                let n = work
                    .conn
                    .prepare_cached("DELETE FROM rate_hits WHERE at_ms < ?1")?
                    .execute([to_ms(before)])?;
                Ok(n as u64)
            })
            .await
    }
}
