//! `Idempotency-Key` answers on PostgreSQL: replayed and remembered inside the command's
//! transaction, after the shop is locked (so two retries of one key on two servers run the
//! command once).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::ErrorCode;
use sqlx::Row;

use super::super::idempotency::{Answer, KEY_TTL, Remember, StoredAnswer, answer_of_event};
use super::super::storage::IdempotencyStorage;
use super::super::{KeptAnswer, StoreError, StoreResult, to_ms};
use super::{PgStore, Tx};

/// What a command's answer is: an event that carries it, or a body of its own.
#[derive(Debug, Clone, Copy)]
pub(super) enum Answered<'a> {
    Event { shop: &'a str, seq: u64 },
    Body(&'a str),
}

/// The answer kept for `remember`'s key, if the key was used (`idempotency_key_reused` if it
/// was used for another request).
pub(super) async fn replayed<T>(
    tx: &mut Tx,
    remember: Option<&Remember>,
) -> StoreResult<Option<Answer<T>>> {
    let Some(remember) = remember else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT request_hash, status, body, shop, seq FROM idempotency_keys
         WHERE scope = $1 AND key = $2",
    )
    .bind(&remember.scope)
    .bind(&remember.key)
    .fetch_optional(&mut *tx.tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let hash: String = row.try_get("request_hash")?;
    if hash != remember.request_hash {
        return Err(StoreError::refused(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used for a request with another body",
        ));
    }
    let status: i64 = row.try_get("status")?;
    let shop: Option<String> = row.try_get("shop")?;
    let seq: Option<i64> = row.try_get("seq")?;
    let body = match (shop, seq) {
        (Some(shop), Some(seq)) => {
            let body: String =
                sqlx::query_scalar("SELECT body FROM events WHERE shop = $1 AND seq = $2")
                    .bind(shop)
                    .bind(seq)
                    .fetch_one(&mut *tx.tx)
                    .await?;
            answer_of_event(&body, u64::try_from(seq).unwrap_or(0))?
        }
        _ => row.try_get("body")?,
    };
    Ok(Some(Answer::Replayed(StoredAnswer {
        status: u16::try_from(status).unwrap_or(200),
        body,
    })))
}

/// Keep the answer to `remember`'s key, in the command's transaction.
pub(super) async fn remember(
    tx: &mut Tx,
    remember: Option<&Remember>,
    answered: Answered<'_>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let Some(remember) = remember else {
        return Ok(());
    };
    let (body, shop, seq) = match answered {
        Answered::Event { shop, seq } => {
            ("", Some(shop), Some(i64::try_from(seq).unwrap_or(i64::MAX)))
        }
        Answered::Body(body) => (body, None, None),
    };
    insert(&mut tx.tx, remember, body, shop, seq, now).await
}

async fn insert(
    conn: &mut sqlx::PgConnection,
    remember: &Remember,
    body: &str,
    shop: Option<&str>,
    seq: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO idempotency_keys
           (scope, key, request_hash, status, body, created_ms, shop, seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (scope, key) DO NOTHING",
    )
    .bind(&remember.scope)
    .bind(&remember.key)
    .bind(&remember.request_hash)
    .bind(i64::from(remember.status))
    .bind(body)
    .bind(to_ms(now))
    .bind(shop)
    .bind(seq)
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl IdempotencyStorage for PgStore {
    async fn idempotent_answer(&self, scope: &str, key: &str) -> StoreResult<Option<KeptAnswer>> {
        let row = sqlx::query(
            "SELECT request_hash, status, body FROM idempotency_keys WHERE scope = $1 AND key = $2",
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
        let mut conn = self.pool.acquire().await?;
        insert(&mut conn, &record, body, None, None, now).await
    }

    async fn prune_idempotency(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_ms < $1")
            .bind(to_ms(now - KEY_TTL))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
