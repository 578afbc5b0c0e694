//! Remembered answers of requests sent with an `Idempotency-Key`.
//!
//! A command that changes an order or a shop remembers its answer in the same transaction as
//! the change ([`remember`] inside the writer's job), and a retry finds it there before running
//! again ([`replay`]): a crash can never leave a change without its answer, or the reverse.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use espresso_protocol::ErrorCode;
use rusqlite::{Connection, OptionalExtension, params};
use sqlx::Row;

use super::error::{StoreError, StoreResult};
use super::storage::prelude::*;
use super::{KeptAnswer, SqliteStore, to_ms};

/// What a request with an `Idempotency-Key` asks storage to remember with its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remember {
    /// The caller and the route.
    pub scope: String,
    pub key: String,
    /// A hash of the request's body: the same key with another body is refused.
    pub request_hash: String,
    /// The status the route answers with when the command succeeds.
    pub status: u16,
}

/// An answer given before to the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: String,
}

/// What a command with an `Idempotency-Key` answers: done now, or the first answer again.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<T> {
    Done(T),
    /// Done now, and the store had the value in JSON already (it wrote it): the answer is those
    /// bytes, not a second encoding.
    Written(T, String),
    Replayed(StoredAnswer),
}

impl<T> Answer<T> {
    /// The value of a command that ran now (`None`: a replay).
    pub fn done(self) -> Option<T> {
        match self {
            Self::Done(value) | Self::Written(value, _) => Some(value),
            Self::Replayed(_) => None,
        }
    }
}

/// Keys are kept at least this long (API.md: ≥ 24 h).
pub const KEY_TTL: Duration = Duration::hours(25);

/// Old keys the prune finds, and then deletes in one writer job, at a time.
const PRUNE_PAGE: i64 = 500;

/// Where a remembered answer's body is.
#[derive(Debug, Clone, Copy)]
pub(super) enum Answered<'a> {
    /// The answer is the order or the shop that this event of the command carries.
    Event { shop: &'a str, seq: u64 },
    /// The answer itself.
    Body(&'a str),
}

/// The answer already given to `remember`'s key, if any (inside the writer's transaction).
/// The same key with another body is refused with 422 `idempotency_key_reused`.
pub(super) fn replay(conn: &Connection, remember: &Remember) -> StoreResult<Option<StoredAnswer>> {
    let stored = conn
        .prepare_cached(
            "SELECT request_hash, status, body, shop, seq FROM idempotency_keys
             WHERE scope = ?1 AND key = ?2",
        )?
        .query_row(params![remember.scope, remember.key], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, Option<i64>>(4)?,
            ))
        })
        .optional()?;
    let Some((hash, status, body, shop, seq)) = stored else {
        return Ok(None);
    };
    if hash != remember.request_hash {
        return Err(StoreError::refused(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used for a request with another body",
        ));
    }
    let body = match (shop, seq) {
        (Some(shop), Some(seq)) => answer_in_event(conn, &shop, u64::try_from(seq).unwrap_or(0))?,
        _ => body,
    };
    Ok(Some(StoredAnswer {
        status: u16::try_from(status).unwrap_or(200),
        body,
    }))
}

/// The first answer to `remember`'s key as a command's [`Answer`], if there was one (then the
/// command does not run again); nothing without a key.
pub(super) fn replayed<T>(
    conn: &Connection,
    remember: Option<&Remember>,
) -> StoreResult<Option<Answer<T>>> {
    match remember {
        Some(remember) => Ok(replay(conn, remember)?.map(Answer::Replayed)),
        None => Ok(None),
    }
}

/// The order (or the shop) that event `seq` of `shop` carries, as the command answered it.
fn answer_in_event(conn: &Connection, shop: &str, seq: u64) -> StoreResult<String> {
    let body: String = conn
        .prepare_cached("SELECT body FROM events WHERE shop = ?1 AND seq = ?2")?
        .query_row(
            params![shop, i64::try_from(seq).unwrap_or(i64::MAX)],
            |row| row.get(0),
        )?;
    answer_of_event(&body, seq)
}

/// The answer a stored event carries (the order or the shop after the command), as JSON.
pub(super) fn answer_of_event(body: &str, seq: u64) -> StoreResult<String> {
    let event: espresso_protocol::Event = serde_json::from_str(body)?;
    if let Some(order) = &event.order {
        Ok(serde_json::to_string(order)?)
    } else if let Some(shop) = &event.shop_state {
        Ok(serde_json::to_string(shop)?)
    } else {
        Err(StoreError::corrupt(format!(
            "event {seq} carries no answer to replay"
        )))
    }
}

/// Remember the answer to `remember`'s key (inside the job that made the change).
pub(super) fn remember(
    conn: &Connection,
    remember: &Remember,
    answered: Answered<'_>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (body, shop, seq) = match answered {
        Answered::Event { shop, seq } => {
            ("", Some(shop), Some(i64::try_from(seq).unwrap_or(i64::MAX)))
        }
        Answered::Body(body) => (body, None, None),
    };
    conn.prepare_cached(
        "INSERT INTO idempotency_keys
           (scope, key, request_hash, status, body, created_ms, shop, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (scope, key) DO NOTHING",
    )?
    .execute(params![
        remember.scope,
        remember.key,
        remember.request_hash,
        i64::from(remember.status),
        body,
        to_ms(now),
        shop,
        seq
    ])?;
    Ok(())
}

#[async_trait]
impl IdempotencyStorage for SqliteStore {
    /// The remembered (request hash, status, body) of `key` in `scope`.
    async fn idempotent_answer(&self, scope: &str, key: &str) -> StoreResult<Option<KeptAnswer>> {
        let row = sqlx::query(
            "SELECT request_hash, status, body FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(KeptAnswer {
                request_hash: row.try_get("request_hash")?,
                status: u16::try_from(row.try_get::<i64, _>("status")?).unwrap_or(200),
                body: row.try_get("body")?,
            })
        })
        .transpose()
    }

    /// Remember an answer on its own (routes whose change is not a writer job of its own).
    async fn remember_answer(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        status: u16,
        body: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let record = Remember {
            scope: scope.to_owned(),
            key: key.to_owned(),
            request_hash: request_hash.to_owned(),
            status,
        };
        let body = body.to_owned();
        self.writer
            .run(move |work| remember(work.conn, &record, Answered::Body(&body), now))
            .await
    }

    /// Forget keys older than [`KEY_TTL`]. No index orders the keys by age (every command
    /// would write it, for a prune every 10 minutes): the old ones are found by walking the
    /// table on a read connection, [`PRUNE_PAGE`] at a time in key order, and each page of them
    /// is deleted by key in one writer job. The writer never scans, and commands wait at most
    /// one page's deletes.
    async fn prune_idempotency(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut forgotten = 0;
        let pruned = self
            .prune_idempotency_pages(to_ms(now - KEY_TTL), &mut forgotten)
            .await;
        if let Err(error) = &pruned
            && forgotten > 0
        {
            // The pages before the failure are gone for good: say so, not only that it failed.
            tracing::info!(
                keys = forgotten,
                %error,
                "old idempotency keys forgotten before the prune stopped"
            );
        }
        pruned.map(|()| forgotten)
    }
}

impl SqliteStore {
    /// [`prune_idempotency`](IdempotencyStorage::prune_idempotency)'s pages: keys created before `before`
    /// (ms), counted into `forgotten` page by page as their deletes commit.
    async fn prune_idempotency_pages(&self, before: i64, forgotten: &mut u64) -> StoreResult<()> {
        let mut after = (String::new(), String::new());
        loop {
            let old: Vec<(String, String)> = sqlx::query_as(
                "SELECT key, scope FROM idempotency_keys
                 WHERE (key, scope) > (?1, ?2) AND created_ms < ?3
                 ORDER BY key, scope LIMIT ?4",
            )
            .bind(&after.0)
            .bind(&after.1)
            .bind(before)
            .bind(PRUNE_PAGE)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = old.last().cloned() else {
                return Ok(());
            };
            let full = old.len() == PRUNE_PAGE as usize;
            *forgotten += self
                .writer
                .run(move |work| {
                    let mut delete = work.conn.prepare_cached(
                        "DELETE FROM idempotency_keys
                         WHERE key = ?1 AND scope = ?2 AND created_ms < ?3",
                    )?;
                    let mut n = 0;
                    for (key, scope) in &old {
                        n += delete.execute(params![key, scope, before])? as u64;
                    }
                    Ok::<_, StoreError>(n)
                })
                .await?;
            if !full {
                return Ok(());
            }
            after = last;
        }
    }
}
