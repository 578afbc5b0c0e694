//! Queue statistics: counts by state, served today, and wait times (queued → ready) averaged
//! over the last 10 finished orders, overall and per drink.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::{ItemStats, Shop, ShopId, Stats};
use sqlx::{Row, SqliteConnection};

use super::storage::prelude::*;
use super::{SqliteStore, StoreError, StoreResult, business_day};

/// How many finished orders the averages look back over (as memory's).
const WINDOW: i64 = super::memory::WAIT_WINDOW as i64;

/// The shop's stats. Every command that moves an order publishes them, so each query reads a
/// bounded number of rows through an index, however long the day has been: the open orders
/// by state, today's served counters, and the last [`WINDOW`] made orders overall and per drink
/// on the menu (or served today).
async fn stats_in(
    conn: &mut SqliteConnection,
    shop: &Shop,
    now: DateTime<Utc>,
) -> StoreResult<Stats> {
    let rows = sqlx::query(
        "SELECT state, COUNT(*) AS n FROM orders
         WHERE shop = ?1 AND state IN ('queued','in_progress','ready') GROUP BY state",
    )
    .bind(shop.id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let mut stats = Stats::default();
    for row in rows {
        let state: String = row.try_get("state")?;
        let n = u32::try_from(row.try_get::<i64, _>("n")?).unwrap_or(u32::MAX);
        match state.as_str() {
            "queued" => stats.queue_length = n,
            "in_progress" => stats.in_progress = n,
            "ready" => stats.ready = n,
            _ => {}
        }
    }
    let served: Vec<(String, i64)> = sqlx::query_as(
        "SELECT item_id, served FROM served_counts WHERE shop = ?1 AND business_day = ?2",
    )
    .bind(shop.id.as_str())
    .bind(business_day(now, crate::workflow::zone_of(shop)))
    .fetch_all(&mut *conn)
    .await?;
    let total: i64 = served.iter().map(|(_, n)| n).sum();
    stats.served_today = u32::try_from(total).unwrap_or(u32::MAX);
    // Made but not collected in time: the only timed-out orders that were ever ready.
    let not_collected: i64 = sqlx::query_scalar(super::memory::NOT_COLLECTED_ON)
        .bind(shop.id.as_str())
        .bind(business_day(now, crate::workflow::zone_of(shop)))
        .fetch_one(&mut *conn)
        .await?;
    stats.not_collected_today = u32::try_from(not_collected).unwrap_or(u32::MAX);
    // Wait = ready - placed, over the last WINDOW made orders (overall and per drink).
    let overall: Vec<i64> = sqlx::query_scalar(super::memory::LAST_WAITS)
        .bind(shop.id.as_str())
        .bind(WINDOW)
        .fetch_all(&mut *conn)
        .await?;
    stats.avg_wait_s = mean_ms(&overall).map(ms_to_s);
    for item_id in stats_items(shop, &served) {
        let waits: Vec<i64> = sqlx::query_scalar(super::memory::LAST_WAITS_OF_ITEM)
            .bind(shop.id.as_str())
            .bind(item_id)
            .bind(WINDOW)
            .fetch_all(&mut *conn)
            .await?;
        stats
            .by_item
            .extend(item_stats(item_id.to_owned(), mean_ms(&waits), &served));
    }
    Ok(stats)
}

/// The mean of `waits` (ms), as SQL's `AVG`: none of none.
#[allow(clippy::cast_precision_loss)]
pub(super) fn mean_ms<'a>(waits: impl IntoIterator<Item = &'a i64>) -> Option<f64> {
    let (sum, n) = waits.into_iter().fold((0i64, 0usize), |(sum, n), wait| {
        (sum.saturating_add(*wait), n + 1)
    });
    (n > 0).then(|| sum as f64 / n as f64)
}

/// The drinks stats are kept for: those on the menu and those served today, in id order.
pub(super) fn stats_items<'a>(shop: &'a Shop, served: &'a [(String, i64)]) -> Vec<&'a str> {
    let mut items: BTreeSet<&str> = shop.menu.iter().map(|item| item.id.as_str()).collect();
    items.extend(served.iter().map(|(item, _)| item.as_str()));
    items.into_iter().collect()
}

/// One drink's line of the stats: its average wait (ms, an SQL average) and how many were
/// served today; none for a drink never made yet (it has nothing to say).
pub(super) fn item_stats(
    item_id: String,
    avg_wait_ms: Option<f64>,
    served: &[(String, i64)],
) -> Option<ItemStats> {
    let avg_wait_ms = avg_wait_ms?;
    let served_today = served
        .iter()
        .find_map(|(item, n)| (*item == item_id).then_some(*n))
        .unwrap_or(0);
    Some(ItemStats {
        item_id,
        served: u32::try_from(served_today).unwrap_or(u32::MAX),
        avg_wait_s: Some(ms_to_s(avg_wait_ms)),
    })
}

/// Milliseconds (an SQL average) to whole seconds, never negative.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(super) fn ms_to_s(ms: f64) -> u64 {
    (ms.max(0.0) / 1000.0).round() as u64
}

#[async_trait]
impl StatsStorage for SqliteStore {
    /// The shop's stats from the read pool (the writer publishes the same from memory).
    async fn stats(&self, shop: &ShopId, now: DateTime<Utc>) -> StoreResult<Stats> {
        // Make sure the shop exists (404 otherwise).
        let shop = self.shop(shop).await?;
        let mut conn = self.pool.acquire().await.map_err(StoreError::from)?;
        stats_in(&mut conn, &shop, now).await
    }

    /// (shop, state, count) of every order (for `/metrics`).
    async fn order_counts(&self) -> StoreResult<Vec<super::OrderCount>> {
        let rows = sqlx::query(
            "SELECT shop, state, COUNT(*) AS n FROM orders
             GROUP BY shop, state ORDER BY shop, state",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                Ok(super::OrderCount {
                    shop: ShopId::from(row.try_get::<String, _>("shop")?),
                    state: row.try_get("state")?,
                    count: row.try_get("n")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }
}
