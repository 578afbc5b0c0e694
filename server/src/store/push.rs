//! Customers' Web Push subscriptions (`push_subscriptions`).

use chrono::{DateTime, Utc};
use espresso_protocol::{PushKeys, PushSubscription, UserId};
use rusqlite::params;
use sqlx::Row;

use super::storage::PushStorage;
use super::{SqliteStore, StoreResult, to_ms};

#[async_trait::async_trait]
impl PushStorage for SqliteStore {
    /// Keep `subscription` for `user_id` (an endpoint another user had moves to this one), then
    /// keep only the user's `max` newest.
    async fn add_push_subscription(
        &self,
        user_id: &UserId,
        subscription: &PushSubscription,
        now: DateTime<Utc>,
        max: usize,
    ) -> StoreResult<()> {
        let user_id = user_id.to_string();
        let subscription = subscription.clone();
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        self.writer
            .run(move |work| {
                work.conn
                    .prepare_cached(
                        "INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id,
                           p256dh = excluded.p256dh, auth = excluded.auth,
                           created_at = excluded.created_at",
                    )?
                    .execute(params![
                        subscription.endpoint,
                        user_id,
                        subscription.keys.p256dh,
                        subscription.keys.auth,
                        to_ms(now)
                    ])?;
                work.conn
                    .prepare_cached(
                        "DELETE FROM push_subscriptions WHERE user_id = ?1 AND endpoint NOT IN (
                           SELECT endpoint FROM push_subscriptions WHERE user_id = ?1
                           ORDER BY created_at DESC, endpoint LIMIT ?2)",
                    )?
                    .execute(params![user_id, max])?;
                Ok(())
            })
            .await
    }

    /// Forget the subscription at `endpoint` (only if it is `user_id`'s, when given). Whether
    /// there was one.
    async fn remove_push_subscription(
        &self,
        user_id: Option<&UserId>,
        endpoint: &str,
    ) -> StoreResult<bool> {
        let user_id = user_id.map(UserId::to_string);
        let endpoint = endpoint.to_owned();
        self.writer
            .run(move |work| {
                let removed = work
                    .conn
                    .prepare_cached(
                        "DELETE FROM push_subscriptions
                         WHERE endpoint = ?1 AND (?2 IS NULL OR user_id = ?2)",
                    )?
                    .execute(params![endpoint, user_id])?;
                Ok(removed > 0)
            })
            .await
    }

    /// The user's subscriptions, newest first.
    async fn push_subscriptions_of(&self, user_id: &UserId) -> StoreResult<Vec<PushSubscription>> {
        let rows = sqlx::query(
            "SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = ?1
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
