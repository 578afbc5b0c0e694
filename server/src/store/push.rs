//! Customers' Web Push subscriptions (`push_subscriptions`).
//!
//! Every completed order asks for its customer's subscriptions, and most customers have none.
//! The store keeps who may have one in memory (loaded at start, added to with each
//! subscription, never shrunk: a superset), so that question costs a database read only for
//! them. Only this server writes its SQLite file, so the set misses nobody.

use chrono::{DateTime, Utc};
use espresso_protocol::{PushKeys, PushSubscription, UserId};
use rusqlite::params;
use sqlx::Row;

use super::storage::PushStorage;
use super::{SqliteStore, StoreResult, to_ms};

impl SqliteStore {
    /// Who has a subscription now (at start).
    pub(super) async fn load_push_users(&self) -> StoreResult<()> {
        let users: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT user_id FROM push_subscriptions")
                .fetch_all(&self.pool)
                .await?;
        self.push_users_mut()
            .extend(users.into_iter().map(UserId::from));
        Ok(())
    }

    fn push_users_mut(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<UserId>> {
        // A panic while holding it left a set that is still a superset: go on with it.
        self.push_users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

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
        // Before the write: a push that follows the subscription at once must find it.
        self.push_users_mut().insert(user_id.clone());
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

    fn may_have_push_subscriptions(&self, user_id: &UserId) -> bool {
        self.push_users_mut().contains(user_id)
    }

    /// The user's subscriptions, newest first.
    async fn push_subscriptions_of(&self, user_id: &UserId) -> StoreResult<Vec<PushSubscription>> {
        if !self.push_users_mut().contains(user_id) {
            return Ok(Vec::new());
        }
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
