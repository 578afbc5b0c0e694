//! Customers' Web Push subscriptions on PostgreSQL (`push_subscriptions`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::{PushKeys, PushSubscription, UserId};
use sqlx::Row;

use super::super::storage::PushStorage;
use super::super::{StoreResult, to_ms};
use super::PgStore;

#[async_trait]
impl PushStorage for PgStore {
    /// Keep `subscription` for `user_id` (an endpoint another user had moves to this one), then
    /// keep only the user's `max` newest; one transaction.
    async fn add_push_subscription(
        &self,
        user_id: &UserId,
        subscription: &PushSubscription,
        now: DateTime<Utc>,
        max: usize,
    ) -> StoreResult<()> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id,
               p256dh = excluded.p256dh, auth = excluded.auth,
               created_at = excluded.created_at",
        )
        .bind(&subscription.endpoint)
        .bind(user_id.as_str())
        .bind(&subscription.keys.p256dh)
        .bind(&subscription.keys.auth)
        .bind(to_ms(now))
        .execute(&mut *tx.tx)
        .await?;
        sqlx::query(
            "DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint NOT IN (
               SELECT endpoint FROM push_subscriptions WHERE user_id = $1
               ORDER BY created_at DESC, endpoint LIMIT $2)",
        )
        .bind(user_id.as_str())
        .bind(max)
        .execute(&mut *tx.tx)
        .await?;
        self.commit(tx).await
    }

    /// Forget the subscription at `endpoint` (only if it is `user_id`'s, when given). Whether
    /// there was one.
    async fn remove_push_subscription(
        &self,
        user_id: Option<&UserId>,
        endpoint: &str,
    ) -> StoreResult<bool> {
        let removed = sqlx::query(
            "DELETE FROM push_subscriptions
             WHERE endpoint = $1 AND ($2::text IS NULL OR user_id = $2)",
        )
        .bind(endpoint)
        .bind(user_id.map(UserId::as_str))
        .execute(&self.pool)
        .await?;
        Ok(removed.rows_affected() > 0)
    }

    /// The user's subscriptions, newest first.
    async fn push_subscriptions_of(&self, user_id: &UserId) -> StoreResult<Vec<PushSubscription>> {
        let rows = sqlx::query(
            "SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1
             ORDER BY created_at DESC, endpoint",
        )
        .bind(user_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(PushSubscription {
                    endpoint: row.try_get("endpoint")?,
                    keys: PushKeys {
                        p256dh: row.try_get("p256dh")?,
                        auth: row.try_get("auth")?,
                    },
                })
            })
            .collect()
    }
}
