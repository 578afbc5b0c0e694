//! Shops: their state (open, menu, limits) and changes to it, each a `shop.updated` event.

use chrono::{DateTime, Utc};
use espresso_core::protocol::{ErrorCode, Event, Shop};
use sqlx::SqliteConnection;

use super::{SqliteStore, events, to_ms};
use crate::error::{ApiError, ApiResult};

impl SqliteStore {
    /// Create shop `main` (closed, the original's menu) on a new database.
    pub(super) async fn ensure_main_shop(&self) -> anyhow::Result<()> {
        let shop = Shop::default_main();
        sqlx::query("INSERT INTO shops (id, body, updated_ms) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING")
            .bind(&shop.id)
            .bind(serde_json::to_string(&shop)?)
            .bind(to_ms(Utc::now()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The shop, or `not_found`.
    pub async fn shop(&self, id: &str) -> ApiResult<Shop> {
        let mut conn = self.pool.acquire().await?;
        load_shop(&mut conn, id).await
    }

    /// Every shop id (for background tasks).
    pub async fn shop_ids(&self) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM shops ORDER BY id")
            .fetch_all(&self.pool)
            .await
    }

    /// Change a shop with `change` (which may refuse), store it and log `shop.updated`.
    pub async fn update_shop(
        &self,
        id: &str,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut Shop) -> ApiResult<()>,
    ) -> ApiResult<Shop> {
        let _write = self.write().await;
        let mut tx = self.begin_write().await?;
        let mut shop = load_shop(&mut tx, id).await?;
        change(&mut shop)?;
        sqlx::query("UPDATE shops SET body = ?2, updated_ms = ?3 WHERE id = ?1")
            .bind(id)
            .bind(serde_json::to_string(&shop)?)
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
        let committed =
            events::append(&mut tx, Event::shop_updated(shop.clone(), now), None).await?;
        tx.commit().await?;
        self.publish(vec![committed]);
        Ok(shop)
    }
}

pub(super) async fn load_shop(conn: &mut SqliteConnection, id: &str) -> ApiResult<Shop> {
    let body: Option<String> = sqlx::query_scalar("SELECT body FROM shops WHERE id = ?1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let body =
        body.ok_or_else(|| ApiError::detail(ErrorCode::NotFound, format!("no shop {id:?}")))?;
    Ok(serde_json::from_str(&body)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    /// Shop changes (read, then write) while sign-ins write on other connections: none may be
    /// refused because another connection committed first (the transaction takes the write
    /// lock up front).
    #[tokio::test]
    async fn a_shop_change_is_never_refused_for_a_write_on_another_connection() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("espresso.db").display());
        let store = SqliteStore::open(&url, "http://cafe.test").await.unwrap();
        let user = store
            .ensure_user("ana@example.com", Utc::now())
            .await
            .unwrap();
        let writer = {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..100 {
                    crate::auth::open_session(&store, &user, Utc::now())
                        .await
                        .unwrap();
                }
            })
        };
        for i in 0..100 {
            store
                .update_shop("main", Utc::now(), |shop| {
                    shop.name = format!("Espresso {i}");
                    Ok(())
                })
                .await
                .unwrap();
        }
        writer.await.unwrap();
        assert_eq!(store.shop("main").await.unwrap().name, "Espresso 99");
    }
}
