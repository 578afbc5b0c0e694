//! Queue statistics: counts by state, served today, and wait times (queued → ready) averaged
//! over the last 10 finished orders, overall and per drink.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::{Shop, ShopId, Stats};
use sqlx::{PgConnection, Row};

use super::super::stats::{item_stats, ms_to_s, stats_items};
use super::super::storage::prelude::*;
use super::super::{StoreError, StoreResult, business_day};
use super::PgStore;

/// How many finished orders the averages look back over (as memory's).
const WINDOW: i64 = super::super::memory::WAIT_WINDOW as i64;

/// The shop's stats, in three statements whatever the menu (every command that moves an order
/// publishes them, under the shop's lock): the open orders by state, today's not-collected
/// count and the overall average wait; today's served counters; and the average wait per drink
/// on the menu or served today. Each reads a bounded number of rows through an index (the last
/// [`WINDOW`] made orders, overall and per drink), however long the day has been.
pub(super) async fn stats_in(
    conn: &mut PgConnection,
    shop: &Shop,
    now: DateTime<Utc>,
) -> StoreResult<Stats> {
    let day = business_day(now, crate::workflow::zone_of(shop));
    let row = sqlx::query(
        "SELECT
           (SELECT COUNT(*) FROM orders WHERE shop = $1 AND state = 'queued') AS queued,
           (SELECT COUNT(*) FROM orders WHERE shop = $1 AND state = 'in_progress') AS in_progress,
           (SELECT COUNT(*) FROM orders WHERE shop = $1 AND state = 'ready') AS ready,
           (SELECT COUNT(*) FROM orders WHERE shop = $1 AND business_day = $2
              AND state = 'timed_out' AND ready_ms IS NOT NULL) AS not_collected,
           (SELECT AVG(wait)::float8 FROM (SELECT ready_ms - placed_ms AS wait FROM orders
              WHERE shop = $1 AND ready_ms IS NOT NULL ORDER BY ready_ms DESC LIMIT $3) w)
             AS avg_wait",
    )
    .bind(shop.id.as_str())
    .bind(&day)
    .bind(WINDOW)
    .fetch_one(&mut *conn)
    .await?;
    let count = |name: &str| -> Result<u32, sqlx::Error> {
        Ok(u32::try_from(row.try_get::<i64, _>(name)?).unwrap_or(u32::MAX))
    };
    let mut stats = Stats {
        queue_length: count("queued")?,
        in_progress: count("in_progress")?,
        ready: count("ready")?,
        not_collected_today: count("not_collected")?,
        avg_wait_s: row.try_get::<Option<f64>, _>("avg_wait")?.map(ms_to_s),
        ..Stats::default()
    };
    let served: Vec<(String, i64)> = sqlx::query_as(
        "SELECT item_id, served FROM served_counts WHERE shop = $1 AND business_day = $2",
    )
    .bind(shop.id.as_str())
    .bind(&day)
    .fetch_all(&mut *conn)
    .await?;
    let total: i64 = served.iter().map(|(_, n)| n).sum();
    stats.served_today = u32::try_from(total).unwrap_or(u32::MAX);
    let items = stats_items(shop, &served);
    let waits: Vec<(String, Option<f64>)> = sqlx::query_as(
        "SELECT i.item, (SELECT AVG(wait)::float8 FROM (SELECT ready_ms - placed_ms AS wait
             FROM orders WHERE shop = $1 AND item_id = i.item AND ready_ms IS NOT NULL
             ORDER BY ready_ms DESC LIMIT $3) w)
         FROM unnest($2::text[]) WITH ORDINALITY AS i(item, n) ORDER BY i.n",
    )
    .bind(shop.id.as_str())
    .bind(&items)
    .bind(WINDOW)
    .fetch_all(&mut *conn)
    .await?;
    stats.by_item = waits
        .into_iter()
        .filter_map(|(item_id, avg_wait)| item_stats(item_id, avg_wait, &served))
        .collect();
    Ok(stats)
}

#[async_trait]
impl StatsStorage for PgStore {
    /// The shop's stats from the read pool (the writer publishes the same from memory).
    async fn stats(&self, shop: &ShopId, now: DateTime<Utc>) -> StoreResult<Stats> {
        // Make sure the shop exists (404 otherwise).
        let shop = self.shop(shop).await?;
        let mut conn = self.pool.acquire().await.map_err(StoreError::from)?;
        stats_in(&mut conn, &shop, now).await
    }

    /// (shop, state, count) of every order (for `/metrics`).
    async fn order_counts(&self) -> StoreResult<Vec<super::super::OrderCount>> {
        let rows = sqlx::query(
            "SELECT shop, state, COUNT(*) AS n FROM orders
             GROUP BY shop, state ORDER BY shop, state",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                Ok(super::super::OrderCount {
                    shop: ShopId::from(row.try_get::<String, _>("shop")?),
                    state: row.try_get("state")?,
                    count: row.try_get("n")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }
}
