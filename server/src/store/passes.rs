//! Scan passes: a booth code checked when it is scanned, before sign-in, holds one of the
//! code's orders for the device that scanned it ([`crate::workflow::issue_pass`]). Issuing one
//! takes the code's use (`code.redeemed`, as an order would) in the writer's job that stores
//! the pass; the order it later starts ([`SqliteStore::start_order_with`]) marks it used in the
//! order's own job. Only the pass's SHA-256 is stored.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::{Event, EventType, ShopId};
use rusqlite::{OptionalExtension, params};

use super::storage::PassStorage;
use super::writer::Work;
use super::{SqliteStore, StoreError, StoreResult, from_ms, to_ms};
use crate::workflow::{self, CodeCheck};

/// What a start presents: the booth code (API.md) or a scan pass in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ticket {
    Code(String),
    /// The SHA-256 (hex) of the pass the customer holds.
    Pass(String),
}

/// A pass as issued (its secret is the caller's: only its hash went in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedPass {
    pub code: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Take one use of `code` (the workflow admitted it, so it has one): stored, logged as
/// `code.redeemed` with what is left, and memory follows.
pub(super) fn redeem_code(
    work: &mut Work<'_>,
    shop: &str,
    code: &str,
    public_url: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut row = work
        .memory
        .shop(work.conn, shop)?
        .and_then(|s| s.codes.iter().find(|r| r.code == code).cloned())
        .ok_or_else(|| StoreError::database("booth code could not be redeemed"))?;
    row.remaining -= 1;
    work.conn
        .prepare_cached("UPDATE booth_codes SET remaining = ?3 WHERE shop = ?1 AND code = ?2")?
        .execute(params![shop, code, row.remaining])?;
    let booth = row.booth_code(public_url, shop);
    work.append(Event::code(EventType::CodeRedeemed, shop, booth, now), None)?;
    Ok(())
}

/// What the pass with this hash is worth in `shop` at `now` (inside the writer's job).
pub(super) fn check_pass(
    work: &Work<'_>,
    shop: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<CodeCheck> {
    let row: Option<(String, i64, Option<String>)> = work
        .conn
        .prepare_cached("SELECT shop, expires_ms, order_id FROM scan_passes WHERE hash = ?1")?
        .query_row([hash], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    Ok(match row {
        // Not ours, or another shop's: as good as a code nobody issued.
        None => CodeCheck::Invalid,
        Some((pass_shop, _, _)) if pass_shop != shop => CodeCheck::Invalid,
        Some((_, _, Some(_))) => CodeCheck::PassUsed,
        Some((_, expires_ms, None)) if expires_ms <= to_ms(now) => CodeCheck::PassExpired,
        Some(_) => CodeCheck::Held,
    })
}

/// The pass started `order_id`: it is used (in the order's job).
pub(super) fn use_pass(work: &Work<'_>, hash: &str, order_id: &str) -> StoreResult<()> {
    work.conn
        .prepare_cached("UPDATE scan_passes SET order_id = ?2 WHERE hash = ?1")?
        .execute(params![hash, order_id])?;
    Ok(())
}

#[async_trait]
impl PassStorage for SqliteStore {
    /// Someone scanned `code` of `shop`: if the workflow gives it a pass, store the pass (its
    /// `hash`) and take one of the code's orders for it, in one job of the writer (concurrent
    /// scans never hold more orders than the code has).
    async fn issue_pass(
        &self,
        shop: &ShopId,
        code: &str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<IssuedPass> {
        let shop = shop.to_string();
        let code = code.to_owned();
        let hash = hash.to_owned();
        let public_url = self.public_url.clone();
        self.writer
            .run(move |work| {
                let state = work.memory.existing_shop(work.conn, &shop)?;
                let check = state.check_code(&code, now);
                let expires_at = workflow::issue_pass(&state.shop, check, now)?;
                // Whole milliseconds, as stored.
                let issued_at = from_ms(to_ms(now));
                let expires_at = from_ms(to_ms(expires_at));
                work.conn
                    .prepare_cached(
                        "INSERT INTO scan_passes (hash, shop, code, issued_ms, expires_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![
                        hash,
                        shop,
                        code,
                        to_ms(issued_at),
                        to_ms(expires_at)
                    ])?;
                redeem_code(work, &shop, &code, &public_url, now)?;
                if let Some(state) = work.memory.shop(work.conn, &shop)? {
                    state.redeemed(&code);
                }
                Ok(IssuedPass {
                    code,
                    issued_at,
                    expires_at,
                })
            })
            .await
    }

    /// Forget passes that ended before `before` (used or not): nothing can use them any more.
    async fn prune_scan_passes(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let before = to_ms(before);
        self.writer
            .run(move |work| {
                let gone = work
                    .conn
                    .prepare_cached("DELETE FROM scan_passes WHERE expires_ms < ?1")?
                    .execute([before])?;
                Ok(u64::try_from(gone).unwrap_or(0))
            })
            .await
    }
}
