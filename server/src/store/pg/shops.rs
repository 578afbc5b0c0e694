//! Shops on PostgreSQL: each change locks the shop, writes it and logs `shop.updated`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::{ErrorCode, Event, Shop, ShopId};

use super::super::idempotency::{Answer, Remember};
use super::super::storage::ShopStorage;
use super::super::{ShopChange, StoreError, StoreResult, to_ms};
use super::idempotency::{self, Answered};
use super::{PgStore, lock_shop};

impl PgStore {
    /// Create shop `main` (closed, the original's menu) on a new database.
    pub(super) async fn ensure_main_shop(&self) -> StoreResult<()> {
        let shop = Shop::default_main();
        sqlx::query(
            "INSERT INTO shops (id, body, updated_ms) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(shop.id.as_str())
        .bind(serde_json::to_string(&shop)?)
        .bind(to_ms(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl ShopStorage for PgStore {
    async fn shop(&self, id: &ShopId) -> StoreResult<Shop> {
        let body: Option<String> = sqlx::query_scalar("SELECT body FROM shops WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let body = body.ok_or_else(|| StoreError::not_found(format!("no shop {id:?}")))?;
        Ok(serde_json::from_str(&body)?)
    }

    async fn shops(&self) -> StoreResult<Vec<Shop>> {
        let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM shops ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        bodies
            .iter()
            .map(|body| Ok(serde_json::from_str(body)?))
            .collect()
    }

    async fn shop_ids(&self) -> StoreResult<Vec<ShopId>> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM shops ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(ids.into_iter().map(ShopId::from).collect())
    }

    async fn update_shop(
        &self,
        id: &ShopId,
        now: DateTime<Utc>,
        change: ShopChange,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Shop>> {
        let mut tx = self.begin().await?;
        let mut shop = lock_shop(&mut tx, id).await?;
        if let Some(answer) = idempotency::replayed(&mut tx, remember.as_ref()).await? {
            return Ok(answer);
        }
        change(&mut shop)?;
        sqlx::query("UPDATE shops SET body = $2, updated_ms = $3 WHERE id = $1")
            .bind(id.as_str())
            .bind(serde_json::to_string(&shop)?)
            .bind(to_ms(now))
            .execute(&mut *tx.tx)
            .await?;
        let seq = tx
            .append(Event::shop_updated(shop.clone(), now), None)
            .await?;
        let answered = Answered::Event { shop: id, seq };
        idempotency::remember(&mut tx, remember.as_ref(), answered, now).await?;
        self.commit(tx).await?;
        Ok(Answer::Done(shop))
    }

    async fn create_shop(
        &self,
        shop: Shop,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Shop>> {
        let mut tx = self.begin().await?;
        // Keys of creations are serialised on the key itself (there is no shop to lock yet).
        if let Some(remember) = &remember {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1 || ' ' || $2))")
                .bind(&remember.scope)
                .bind(&remember.key)
                .execute(&mut *tx.tx)
                .await?;
        }
        if let Some(answer) = idempotency::replayed(&mut tx, remember.as_ref()).await? {
            return Ok(answer);
        }
        let created = sqlx::query(
            "INSERT INTO shops (id, body, updated_ms) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(shop.id.as_str())
        .bind(serde_json::to_string(&shop)?)
        .bind(to_ms(now))
        .execute(&mut *tx.tx)
        .await?;
        if created.rows_affected() == 0 {
            return Err(StoreError::refused(
                ErrorCode::ShopExists,
                format!("there is already a shop {:?}", shop.id),
            ));
        }
        lock_shop(&mut tx, &shop.id).await?;
        let seq = tx
            .append(Event::shop_updated(shop.clone(), now), None)
            .await?;
        let answered = Answered::Event {
            shop: &shop.id,
            seq,
        };
        idempotency::remember(&mut tx, remember.as_ref(), answered, now).await?;
        self.commit(tx).await?;
        Ok(Answer::Done(shop))
    }
}
