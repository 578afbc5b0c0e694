//! Shops: their state (open, menu, limits) and changes to it, each a `shop.updated` event.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use espresso_protocol::{Event, Shop, ShopId};
use rusqlite::params;

use super::idempotency::{self, Answer, Remember};
use super::storage::prelude::*;
use super::{SqliteStore, StoreError, StoreResult, to_ms};

/// A change to a shop, run by the writer against the shop as it is (it may refuse with
/// [`StoreError::Refused`]).
pub type ShopChange = Box<dyn FnOnce(&mut Shop) -> StoreResult<()> + Send + 'static>;

impl SqliteStore {
    /// Create shop `main` (closed, the original's menu) on a new database.
    pub(super) async fn ensure_main_shop(&self) -> StoreResult<()> {
        self.writer
            .run(|work| {
                let shop = Shop::default_main();
                work.conn
                    .prepare_cached(
                        "INSERT INTO shops (id, body, updated_ms) VALUES (?1, ?2, ?3)
                         ON CONFLICT (id) DO NOTHING",
                    )?
                    .execute(params![
                        shop.id.as_str(),
                        serde_json::to_string(&shop)?,
                        to_ms(Utc::now())
                    ])?;
                Ok(())
            })
            .await
    }

    /// Change a shop with no `Idempotency-Key` (tools, tests): the shop after.
    pub async fn change_shop(
        &self,
        id: &ShopId,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut Shop) -> StoreResult<()> + Send + 'static,
    ) -> StoreResult<Shop> {
        (self as &super::Store).change_shop(id, now, change).await
    }
}

#[async_trait]
impl ShopStorage for SqliteStore {
    /// The shop, or `not_found`.
    async fn shop(&self, id: &ShopId) -> StoreResult<Shop> {
        let body: Option<String> = sqlx::query_scalar("SELECT body FROM shops WHERE id = ?1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::from)?;
        let body = body.ok_or_else(|| StoreError::not_found(format!("no shop {id:?}")))?;
        Ok(serde_json::from_str(&body)?)
    }

    /// Every shop, archived ones included, in id order.
    async fn shops(&self) -> StoreResult<Vec<Shop>> {
        let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM shops ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        bodies
            .iter()
            .map(|body| Ok(serde_json::from_str(body)?))
            .collect()
    }

    /// Every shop id (for background tasks).
    async fn shop_ids(&self) -> StoreResult<Vec<ShopId>> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM shops ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(ids.into_iter().map(ShopId::from).collect())
    }

    /// Change a shop with `change` (which may refuse), store it and log `shop.updated`.
    async fn update_shop(
        &self,
        id: &ShopId,
        now: DateTime<Utc>,
        change: ShopChange,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Shop>> {
        let id = id.to_owned();
        self.writer
            .run(move |work| {
                if let Some(answer) = idempotency::replayed(work.conn, remember.as_ref())? {
                    return Ok(answer);
                }
                let state = work.memory.existing_shop(work.conn, &id)?;
                let mut shop = (*state.shop).clone();
                change(&mut shop)?;
                let body = serde_json::to_string(&shop)?;
                work.conn
                    .prepare_cached("UPDATE shops SET body = ?2, updated_ms = ?3 WHERE id = ?1")
                    .map_err(StoreError::from)?
                    .execute(params![id.as_str(), body, to_ms(now)])
                    .map_err(StoreError::from)?;
                let seq = work.append(Event::shop_updated(shop.clone(), now), None)?;
                if let Some(remember) = &remember {
                    let answered = idempotency::Answered::Event { shop: &id, seq };
                    idempotency::remember(work.conn, remember, answered, now)?;
                }
                if let Some(state) = work.memory.shop(work.conn, &id)? {
                    state.set_shop(shop.clone());
                }
                Ok(Answer::Done(shop))
            })
            .await
    }

    /// Create `shop` (its id must be new: `shop_exists` otherwise) and log its first
    /// `shop.updated`.
    async fn create_shop(
        &self,
        shop: Shop,
        now: DateTime<Utc>,
        remember: Option<Remember>,
    ) -> StoreResult<Answer<Shop>> {
        self.writer
            .run(move |work| {
                if let Some(answer) = idempotency::replayed(work.conn, remember.as_ref())? {
                    return Ok(answer);
                }
                let created = work
                    .conn
                    .prepare_cached(
                        "INSERT INTO shops (id, body, updated_ms) VALUES (?1, ?2, ?3)
                         ON CONFLICT (id) DO NOTHING",
                    )?
                    .execute(params![
                        shop.id.as_str(),
                        serde_json::to_string(&shop)?,
                        to_ms(now)
                    ])?;
                if created == 0 {
                    return Err(StoreError::refused(
                        espresso_protocol::ErrorCode::ShopExists,
                        format!("there is already a shop {:?}", shop.id),
                    ));
                }
                let seq = work.append(Event::shop_updated(shop.clone(), now), None)?;
                if let Some(remember) = &remember {
                    let answered = idempotency::Answered::Event {
                        shop: &shop.id,
                        seq,
                    };
                    idempotency::remember(work.conn, remember, answered, now)?;
                }
                Ok(Answer::Done(shop))
            })
            .await
    }
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
                .change_shop(&ShopId::main(), Utc::now(), move |shop| {
                    shop.name = format!("Espresso {i}");
                    Ok(())
                })
                .await
                .unwrap();
        }
        writer.await.unwrap();
        assert_eq!(
            store.shop(&ShopId::main()).await.unwrap().name,
            "Espresso 99"
        );
    }
}
