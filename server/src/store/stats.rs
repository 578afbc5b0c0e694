//! Queue statistics: counts by state, served today, and wait times (queued → ready) averaged
//! over the last 10 finished orders, overall and per drink.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use espresso_core::protocol::{ItemStats, Order, Stats};
use sqlx::{Row, SqliteConnection};

use super::{Store, business_day};
use crate::error::ApiResult;

/// How many finished orders the averages look back over.
const WINDOW: usize = 10;
/// How many recent finished orders are read to fill every drink's window.
const LOOKBACK: i64 = 500;

impl Store {
    pub async fn stats(&self, shop: &str, now: DateTime<Utc>) -> ApiResult<Stats> {
        let mut conn = self.pool.acquire().await?;
        // Make sure the shop exists (404 otherwise).
        super::shops::load_shop(&mut conn, shop).await?;
        stats_in(&mut conn, shop, now).await
    }
}

pub(super) async fn stats_in(
    conn: &mut SqliteConnection,
    shop: &str,
    now: DateTime<Utc>,
) -> ApiResult<Stats> {
    let rows = sqlx::query(
        "SELECT state, COUNT(*) AS n, SUM(CASE WHEN business_day = ?2 THEN 1 ELSE 0 END) AS today
         FROM orders WHERE shop = ?1 AND state IN ('queued','in_progress','ready','collected') GROUP BY state",
    )
    .bind(shop)
    .bind(business_day(now))
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
            "collected" => {
                stats.served_today =
                    u32::try_from(row.try_get::<i64, _>("today")?).unwrap_or(u32::MAX);
            }
            _ => {}
        }
    }
    let bodies: Vec<String> = sqlx::query_scalar(
        "SELECT body FROM orders WHERE shop = ?1 AND state IN ('ready','collected')
         ORDER BY created_ms DESC LIMIT ?2",
    )
    .bind(shop)
    .bind(LOOKBACK)
    .fetch_all(&mut *conn)
    .await?;
    let mut finished: Vec<(DateTime<Utc>, String, i64)> = Vec::new();
    for body in bodies {
        let order: Order = serde_json::from_str(&body)?;
        if let (Some(placed), Some(ready), Some(drink)) =
            (order.placed_at, order.ready_at, order.drink)
        {
            finished.push((ready, drink.item_id, (ready - placed).num_seconds().max(0)));
        }
    }
    finished.sort_by_key(|f| std::cmp::Reverse(f.0));
    stats.avg_wait_s = mean(finished.iter().take(WINDOW).map(|f| f.2));
    let mut by_item: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (_, item, wait) in &finished {
        by_item.entry(item.clone()).or_default().push(*wait);
    }
    stats.by_item = by_item
        .into_iter()
        .map(|(item_id, waits)| ItemStats {
            served: u32::try_from(waits.len()).unwrap_or(u32::MAX),
            avg_wait_s: mean(waits.iter().take(WINDOW).copied()),
            item_id,
        })
        .collect();
    Ok(stats)
}

fn mean(values: impl Iterator<Item = i64>) -> Option<u64> {
    let (sum, n) = values.fold((0i64, 0i64), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| u64::try_from(sum / n).unwrap_or(0))
}

impl Store {
    /// (shop, state, count) of every order (for `/metrics`).
    pub async fn order_counts(&self) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        let rows = sqlx::query("SELECT shop, state, COUNT(*) AS n FROM orders GROUP BY shop, state ORDER BY shop, state")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok((
                    row.try_get("shop")?,
                    row.try_get("state")?,
                    row.try_get("n")?,
                ))
            })
            .collect()
    }
}
