//! The event log on PostgreSQL: the live stream's replay and an order's journey.

use async_trait::async_trait;
use espresso_protocol::{JourneyStep, OrderId, ShopId};

use super::super::events::read_row;
use super::super::storage::EventStorage;
use super::super::{EventRow, StoreResult};
use super::PgStore;

#[async_trait]
impl EventStorage for PgStore {
    async fn head(&self, shop: &ShopId) -> StoreResult<u64> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT seq FROM shop_heads WHERE shop = $1")
            .bind(shop.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
    }

    async fn oldest_seq(&self, shop: &ShopId) -> StoreResult<Option<u64>> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT MIN(seq) FROM events WHERE shop = $1")
            .bind(shop.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(seq.and_then(|s| u64::try_from(s).ok()))
    }

    async fn events_after(
        &self,
        shop: &ShopId,
        since: u64,
        limit: u32,
    ) -> StoreResult<Vec<EventRow>> {
        let rows = sqlx::query(
            "SELECT seq, customer_id, body FROM events
             WHERE shop = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(shop.as_str())
        .bind(i64::try_from(since).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(read_row).collect::<Result<_, _>>()?)
    }

    async fn journey(&self, order_id: &OrderId) -> StoreResult<Vec<JourneyStep>> {
        let rows = sqlx::query(
            "SELECT seq, customer_id, body FROM events WHERE order_id = $1 ORDER BY seq",
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
