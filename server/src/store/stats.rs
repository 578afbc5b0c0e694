//! Queue statistics: counts by state, served today, and wait times (queued → ready) averaged
//! over the last 10 finished orders, overall and per drink.

use chrono::{DateTime, Utc};
use espresso_core::protocol::{ItemStats, Stats};
use sqlx::{Row, SqliteConnection};

use super::{SqliteStore, business_day};
use crate::error::ApiResult;

/// How many finished orders the averages look back over.
const WINDOW: i64 = 10;

impl SqliteStore {
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
    // Wait = ready - placed, over the last WINDOW made orders (overall and per drink); read
    // from indexed columns, so a command's stats cost no more with a long day behind it.
    let overall: Option<f64> = sqlx::query_scalar(
        "SELECT AVG(wait) FROM (SELECT ready_ms - placed_ms AS wait FROM orders
         WHERE shop = ?1 AND ready_ms IS NOT NULL ORDER BY ready_ms DESC LIMIT ?2)",
    )
    .bind(shop)
    .bind(WINDOW)
    .fetch_one(&mut *conn)
    .await?;
    stats.avg_wait_s = overall.map(ms_to_s);
    let rows = sqlx::query(
        "SELECT item_id,
                AVG(CASE WHEN rank <= ?2 THEN wait END) AS avg_wait,
                SUM(CASE WHEN state = 'collected' AND business_day = ?3 THEN 1 ELSE 0 END) AS served
         FROM (SELECT item_id, state, business_day, ready_ms - placed_ms AS wait,
                      ROW_NUMBER() OVER (PARTITION BY item_id ORDER BY ready_ms DESC) AS rank
               FROM orders WHERE shop = ?1 AND ready_ms IS NOT NULL)
         GROUP BY item_id ORDER BY item_id",
    )
    .bind(shop)
    .bind(WINDOW)
    .bind(business_day(now))
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        stats.by_item.push(ItemStats {
            item_id: row.try_get("item_id")?,
            served: u32::try_from(row.try_get::<i64, _>("served")?).unwrap_or(u32::MAX),
            avg_wait_s: row.try_get::<Option<f64>, _>("avg_wait")?.map(ms_to_s),
        });
    }
    Ok(stats)
}

/// Milliseconds (an SQL average) to whole seconds, never negative.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn ms_to_s(ms: f64) -> u64 {
    (ms.max(0.0) / 1000.0).round() as u64
}

impl SqliteStore {
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
