//! Booth codes and scan passes on PostgreSQL: issued, rotated and redeemed under the shop's
//! lock, so a code's uses hold across servers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::{BoothCode, Event, EventType, Shop, ShopId};
use sqlx::Row;

use super::super::codes::{grace_ms, new_code};
use super::super::idempotency::{Answer, Remember};
use super::super::memory::CodeRow;
use super::super::storage::{CodeStorage, PassStorage};
use super::super::{IssuedPass, StoreError, StoreResult, from_ms, to_ms};
use super::idempotency::{self, Answered};
use super::{PgStore, Tx, lock_shop};
use crate::workflow::{self, CodeCheck};

fn code_row(row: &sqlx::postgres::PgRow) -> Result<CodeRow, sqlx::Error> {
    Ok(CodeRow {
        code: row.try_get("code")?,
        issued_ms: row.try_get("issued_ms")?,
        expires_ms: row.try_get("expires_ms")?,
        remaining: row.try_get("remaining")?,
    })
}

/// The shop's newest code (whatever its window).
async fn latest(conn: &mut sqlx::PgConnection, shop: &str) -> StoreResult<Option<CodeRow>> {
    let row = sqlx::query(
        "SELECT code, issued_ms, expires_ms, remaining FROM booth_codes
         WHERE shop = $1 ORDER BY issued_ms DESC LIMIT 1",
    )
    .bind(shop)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(code_row).transpose()?)
}

/// What `code` is worth at `now` (read in the command's transaction, under the shop's lock).
pub(super) async fn check_code(
    tx: &mut Tx,
    shop: &str,
    code: &str,
    now: DateTime<Utc>,
) -> StoreResult<CodeCheck> {
    let row = sqlx::query(
        "SELECT code, issued_ms, expires_ms, remaining FROM booth_codes
         WHERE shop = $1 AND code = $2",
    )
    .bind(shop)
    .bind(code)
    .fetch_optional(&mut *tx.tx)
    .await?;
    let row = row.as_ref().map(code_row).transpose()?;
    Ok(CodeRow::check(row.as_ref(), now))
}

/// Take one use of `code` (admitted, so it has uses left) and log `code.redeemed`.
pub(super) async fn redeem_code(
    tx: &mut Tx,
    shop: &str,
    code: &str,
    public_url: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let row = sqlx::query(
        "UPDATE booth_codes SET remaining = remaining - 1 WHERE shop = $1 AND code = $2
         RETURNING code, issued_ms, expires_ms, remaining",
    )
    .bind(shop)
    .bind(code)
    .fetch_optional(&mut *tx.tx)
    .await?
    .ok_or_else(|| StoreError::database("booth code could not be redeemed"))?;
    let booth = code_row(&row)?.booth_code(public_url, shop);
    tx.append(Event::code(EventType::CodeRedeemed, shop, booth, now), None)
        .await?;
    Ok(())
}

/// Issue a new code for `shop` now and log `code.rotated`; codes past their grace are deleted.
async fn issue_code(
    tx: &mut Tx,
    shop: &Shop,
    public_url: &str,
    now: DateTime<Utc>,
) -> StoreResult<BoothCode> {
    let issued = to_ms(now);
    let row = CodeRow {
        code: new_code(),
        issued_ms: issued,
        expires_ms: issued + i64::from(shop.limits.code_rotation_s) * 1000,
        remaining: i64::from(shop.limits.drinks_per_code),
    };
    sqlx::query(
        "INSERT INTO booth_codes (shop, code, issued_ms, expires_ms, remaining)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(shop.id.as_str())
    .bind(&row.code)
    .bind(row.issued_ms)
    .bind(row.expires_ms)
    .bind(row.remaining)
    .execute(&mut *tx.tx)
    .await?;
    sqlx::query("DELETE FROM booth_codes WHERE shop = $1 AND expires_ms < $2")
        .bind(shop.id.as_str())
        .bind(issued - grace_ms())
        .execute(&mut *tx.tx)
        .await?;
    let booth = row.booth_code(public_url, &shop.id);
    tx.append(
        Event::code(EventType::CodeRotated, shop.id.as_str(), booth.clone(), now),
        None,
    )
    .await?;
    Ok(booth)
}

#[async_trait]
impl CodeStorage for PgStore {
    /// The current code; the first server to find the window ended issues the next one (under
    /// the shop's lock, so once).
    async fn current_code(&self, shop: &ShopId, now: DateTime<Utc>) -> StoreResult<BoothCode> {
        {
            let mut conn = self.pool.acquire().await?;
            if let Some(row) = latest(&mut conn, shop).await?
                && row.expires_ms > to_ms(now)
            {
                return Ok(row.booth_code(&self.public_url, shop));
            }
        }
        let mut tx = self.begin().await?;
        let locked = lock_shop(&mut tx, shop).await?;
        if let Some(row) = latest(&mut tx.tx, shop).await?
            && row.expires_ms > to_ms(now)
        {
            return Ok(row.booth_code(&self.public_url, shop));
        }
        let booth = issue_code(&mut tx, &locked, &self.public_url, now).await?;
        self.commit(tx).await?;
        Ok(booth)
    }

    async fn rotate_code(
        &self,
        shop: &ShopId,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<BoothCode>> {
        let mut tx = self.begin().await?;
        let locked = lock_shop(&mut tx, shop).await?;
        if let Some(answer) = idempotency::replayed(&mut tx, remember.as_ref()).await? {
            return Ok(answer);
        }
        sqlx::query("UPDATE booth_codes SET expires_ms = $2 WHERE shop = $1 AND expires_ms > $2")
            .bind(shop.as_str())
            .bind(to_ms(now) - grace_ms())
            .execute(&mut *tx.tx)
            .await?;
        let booth = issue_code(&mut tx, &locked, &self.public_url, now).await?;
        let body = serde_json::to_string(&booth)?;
        idempotency::remember(&mut tx, remember.as_ref(), Answered::Body(&body), now).await?;
        self.commit(tx).await?;
        Ok(Answer::Done(booth))
    }
}

/// Whether the scan pass `hash` may start an order of `shop` now.
pub(super) async fn check_pass(
    tx: &mut Tx,
    shop: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<CodeCheck> {
    let row: Option<(String, i64, Option<String>)> =
        sqlx::query_as("SELECT shop, expires_ms, order_id FROM scan_passes WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&mut *tx.tx)
            .await?;
    Ok(match row {
        None => CodeCheck::Invalid,
        Some((pass_shop, _, _)) if pass_shop != shop => CodeCheck::Invalid,
        Some((_, _, Some(_))) => CodeCheck::PassUsed,
        Some((_, expires_ms, None)) if expires_ms <= to_ms(now) => CodeCheck::PassExpired,
        Some(_) => CodeCheck::Held,
    })
}

/// The pass started `order_id`.
pub(super) async fn use_pass(tx: &mut Tx, hash: &str, order_id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE scan_passes SET order_id = $2 WHERE hash = $1")
        .bind(hash)
        .bind(order_id)
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}

#[async_trait]
impl PassStorage for PgStore {
    async fn issue_pass(
        &self,
        shop: &ShopId,
        code: &str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<IssuedPass> {
        let mut tx = self.begin().await?;
        let locked = lock_shop(&mut tx, shop).await?;
        let check = check_code(&mut tx, shop, code, now).await?;
        let expires_at = workflow::issue_pass(&locked, check, now)?;
        let issued_at = from_ms(to_ms(now));
        let expires_at = from_ms(to_ms(expires_at));
        sqlx::query(
            "INSERT INTO scan_passes (hash, shop, code, issued_ms, expires_ms)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash)
        .bind(shop.as_str())
        .bind(code)
        .bind(to_ms(issued_at))
        .bind(to_ms(expires_at))
        .execute(&mut *tx.tx)
        .await?;
        redeem_code(&mut tx, shop, code, &self.public_url, now).await?;
        self.commit(tx).await?;
        Ok(IssuedPass {
            code: code.to_owned(),
            issued_at,
            expires_at,
        })
    }

    async fn prune_scan_passes(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM scan_passes WHERE expires_ms < $1")
            .bind(to_ms(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
