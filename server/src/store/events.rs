//! The event log, read back (replay, journeys). Events are appended by the writer
//! ([`super::writer::Work::append`]).

use async_trait::async_trait;
use espresso_protocol::{Event, JourneyStep, OrderId, ShopId, UserId};
use sqlx::Row;

use super::storage::prelude::*;
use super::{SqliteStore, StoreResult};

/// One stored event with who may see it.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub seq: u64,
    pub customer_id: Option<UserId>,
    pub event: Event,
    /// `event` as stored (JSON).
    pub json: std::sync::Arc<str>,
}

/// One stored event row (`seq`, `customer_id`, `body`), from either database.
pub(super) fn read_row<R: Row>(row: &R) -> Result<EventRow, sqlx::Error>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    &'static str: sqlx::ColumnIndex<R>,
{
    let body: String = row.try_get("body")?;
    let event: Event = serde_json::from_str(&body).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(EventRow {
        seq: u64::try_from(row.try_get::<i64, _>("seq")?).unwrap_or_default(),
        customer_id: row
            .try_get::<Option<String>, _>("customer_id")?
            .map(UserId::from),
        event,
        json: body.into(),
    })
}

#[async_trait]
impl EventStorage for SqliteStore {
    /// The newest `seq` of the shop (0 before any event).
    async fn head(&self, shop: &ShopId) -> StoreResult<u64> {
        let seq: i64 = sqlx::query_scalar(super::memory::HEAD)
            .bind(shop.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(seq).unwrap_or(0))
    }

    /// The oldest `seq` still in the log (None: the log is empty). A client whose `since` is
    /// older than this minus one missed events that are gone: it must reset.
    async fn oldest_seq(&self, shop: &ShopId) -> StoreResult<Option<u64>> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT MIN(seq) FROM events WHERE shop = ?1")
            .bind(shop.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(seq.and_then(|s| u64::try_from(s).ok()))
    }

    /// Events of `shop` after `since`, oldest first, at most `limit`.
    async fn events_after(
        &self,
        shop: &ShopId,
        since: u64,
        limit: u32,
    ) -> StoreResult<Vec<EventRow>> {
        let rows = sqlx::query(
            "SELECT seq, customer_id, body FROM events
             WHERE shop = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )
        .bind(shop.as_str())
        .bind(i64::try_from(since).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(read_row).collect::<Result<_, _>>()?)
    }

    /// The order's journey: every event about it, in order.
    async fn journey(&self, order_id: &OrderId) -> StoreResult<Vec<JourneyStep>> {
        let rows = sqlx::query(
            "SELECT seq, customer_id, body FROM events WHERE order_id = ?1 ORDER BY seq",
        )
        .bind(order_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let row = read_row(row)?;
                Ok(JourneyStep {
                    seq: row.seq,
                    kind: row.event.kind,
                    at: row.event.at,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }
}
