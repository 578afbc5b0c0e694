//! The PostgreSQL backend: the same [`super::Storage`] seam as [`super::SqliteStore`], for
//! several `espresso-server` processes on one database (docs/SCALING.md).
//!
//! Nothing about a shop is kept in memory between commands: each command is one transaction
//! that first locks the shop's head row (`shop_heads`, `SELECT … FOR UPDATE`) — the per-shop
//! serialisation point every server shares — then reads what it decides on (the shop, the open
//! orders, the day's counters, the booth code), writes the order, its deadline, its events
//! with the next gap-free `seq`, and the `Idempotency-Key` answer, and commits. One shop's
//! commands are serial across all servers; different shops run in parallel.
//!
//! Committed events reach [`super::Storage::tail`] on every server: the committing server
//! publishes its own at once; the transaction also `NOTIFY`s the shop, and the others fetch
//! the shop's new events from the table (the truth; a missed notification is caught up from
//! it), so each server publishes each shop's events once, in `seq` order, without gaps.
//! Sign-outs, revocations and role changes are announced the same way, so a token revoked
//! through one server is refused by all of them.

pub mod installed;
pub mod scratch;

mod codes;
mod events;
mod idempotency;
mod orders;
mod push;
mod sessions;
mod shops;
mod sign_in;
mod stats;
mod users;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use espresso_protocol::{Event, Shop, ShopId, UserId};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use tokio::sync::{Mutex, broadcast};

use super::{AuthCache, Committed, StoreError, StoreResult, TAIL_CAPACITY, to_ms};

/// The channel committed events are announced on (payload: the shop id).
const EVENTS_CHANNEL: &str = "espresso_events";
/// The channel sign-outs, revocations and role changes are announced on (payload: `*` for
/// everyone, else the user id whose roles changed).
const ACCESS_CHANNEL: &str = "espresso_access";

/// A store on PostgreSQL (cheap to clone).
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    tail: broadcast::Sender<Committed>,
    publisher: Arc<Publisher>,
    auth_cache: Arc<AuthCache>,
    public_url: Arc<str>,
    commits: Arc<AtomicU64>,
    /// The task that follows other servers (stopped on close, or with the last handle).
    listener: Arc<std::sync::Mutex<Option<AbortOnDrop>>>,
}

/// Stops a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Self::database(error)
    }
}

impl PgStore {
    /// Connect to `url` (`postgres://…`), apply the migrations, make sure shop `main` exists and
    /// start listening for what other servers commit.
    pub async fn open(url: &str, public_url: &str) -> anyhow::Result<Self> {
        let options: PgConnectOptions = url
            .parse()
            .with_context(|| format!("bad PostgreSQL URL {url:?}"))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .with_context(|| format!("cannot connect to {}", redact(url)))?;
        // Several servers may start at once: one migrates, the others wait for it (sqlx takes
        // an advisory lock for the migration).
        sqlx::migrate!("./migrations-pg")
            .run(&pool)
            .await
            .context("cannot migrate the database")?;
        let (tail, _) = broadcast::channel(TAIL_CAPACITY);
        let heads: Vec<(String, i64)> = sqlx::query_as("SELECT shop, seq FROM shop_heads")
            .fetch_all(&pool)
            .await?;
        let publisher = Arc::new(Publisher {
            published: Mutex::new(
                heads
                    .into_iter()
                    .map(|(shop, seq)| (ShopId::from(shop), u64::try_from(seq).unwrap_or(0)))
                    .collect(),
            ),
            pool: pool.clone(),
            tail: tail.clone(),
        });
        let store = Self {
            pool,
            tail,
            publisher,
            auth_cache: Arc::new(AuthCache::default()),
            public_url: public_url.trim_end_matches('/').into(),
            commits: Arc::new(AtomicU64::new(0)),
            listener: Arc::default(),
        };
        store.listen(&options).await?;
        store
            .ensure_main_shop()
            .await
            .context("cannot create shop main")?;
        Ok(store)
    }

    /// The keys every server shares (see `server_keys`): the sign-in key and the VAPID key.
    pub async fn shared_keys(
        &self,
    ) -> anyhow::Result<(crate::auth::SignInKey, crate::push::Vapid)> {
        let sign_in = self
            .shared_key("sign_in", || crate::auth::SignInKey::random().to_hex())
            .await?;
        let vapid = self
            .shared_key("vapid", || {
                crate::push::crypto::b64(&crate::push::Vapid::random().secret_bytes())
            })
            .await?;
        let sign_in = crate::auth::SignInKey::from_hex(&sign_in)
            .context("the database's sign-in key is not one this server wrote")?;
        let vapid = crate::push::crypto::unb64(&vapid)
            .as_deref()
            .and_then(crate::push::Vapid::from_secret_bytes)
            .context("the database's VAPID key is not one this server wrote")?;
        Ok((sign_in, vapid))
    }

    /// The key `name`, made with `make` by the first server that asks.
    async fn shared_key(&self, name: &str, make: impl FnOnce() -> String) -> StoreResult<String> {
        sqlx::query("INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(name)
            .bind(make())
            .execute(&self.pool)
            .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM server_keys WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Follow the other servers: their committed events and access changes.
    /// Its own connection, not one of the pool's: it is held for as long as the store lives.
    async fn listen(&self, options: &PgConnectOptions) -> anyhow::Result<()> {
        let mut listener =
            PgListener::connect_with(&PgPool::connect_lazy_with(options.clone())).await?;
        listener
            .listen_all([EVENTS_CHANNEL, ACCESS_CHANNEL])
            .await?;
        let publisher = Arc::downgrade(&self.publisher);
        let auth_cache = Arc::downgrade(&self.auth_cache);
        let task = tokio::spawn(async move {
            loop {
                let notification = listener.try_recv().await;
                let (Some(publisher), Some(auth_cache)) =
                    (publisher.upgrade(), auth_cache.upgrade())
                else {
                    return; // the store is gone
                };
                match notification {
                    Ok(Some(note)) if note.channel() == EVENTS_CHANNEL => {
                        if let Err(error) = publisher.catch_up(&ShopId::from(note.payload())).await
                        {
                            tracing::warn!(%error, "cannot fetch another server's events");
                        }
                    }
                    Ok(Some(note)) => auth_cache.access_changed(match note.payload() {
                        "*" => super::AccessChange::Everyone,
                        user => super::AccessChange::User(user.into()),
                    }),
                    // The connection dropped (it reconnects on the next call): whatever was
                    // announced meanwhile is caught up from the tables.
                    Ok(None) => {
                        auth_cache.access_changed(super::AccessChange::Everyone);
                        if let Err(error) = publisher.catch_up_all().await {
                            tracing::warn!(%error, "cannot catch up with other servers' events");
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "lost the database's notifications; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        *self
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(AbortOnDrop(task.abort_handle()));
        Ok(())
    }

    /// A transaction for one command.
    async fn begin(&self) -> StoreResult<Tx> {
        Ok(Tx {
            tx: self.pool.begin().await?,
            events: Vec::new(),
            stats: BTreeMap::new(),
        })
    }

    /// Make `tx` durable, then publish its events (and tell the other servers).
    async fn commit(&self, mut tx: Tx) -> StoreResult<()> {
        let now = chrono::Utc::now();
        for (_, shop) in std::mem::take(&mut tx.stats) {
            // The command holds the shop's lock already.
            let stats = stats::stats_in(&mut tx.tx, &shop, now).await?;
            tx.append(Event::stats_updated(shop.id.clone(), stats, now), None)
                .await?;
        }
        let shops: BTreeSet<&ShopId> = tx.events.iter().map(|c| &c.shop).collect();
        for shop in shops {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(EVENTS_CHANNEL)
                .bind(shop.as_str())
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.tx.commit().await?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.publisher.committed(tx.events).await
    }

    /// Tell every server (this one included, through the notification) that access changed.
    async fn announce_access(&self, tx: &mut Tx, change: &super::AccessChange) -> StoreResult<()> {
        let payload = match change {
            super::AccessChange::Everyone => "*".to_owned(),
            super::AccessChange::User(user) => user.to_string(),
        };
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(ACCESS_CHANNEL)
            .bind(payload)
            .execute(&mut *tx.tx)
            .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl super::Storage for PgStore {
    /// Committed events, in `seq` order per shop, whichever server committed them.
    fn tail(&self) -> broadcast::Receiver<Committed> {
        self.tail.subscribe()
    }

    fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The round is this server's if the task's next run is due (or it never ran): the row
    /// moves on by `every` in the same statement, so one server per round gets it.
    async fn claim_periodic(
        &self,
        name: &str,
        now: chrono::DateTime<chrono::Utc>,
        every: Duration,
    ) -> StoreResult<bool> {
        let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
        let claimed: Option<String> = sqlx::query_scalar(
            "INSERT INTO periodic_runs (name, next_ms) VALUES ($1, $2 + $3)
             ON CONFLICT (name) DO UPDATE SET next_ms = excluded.next_ms
             WHERE periodic_runs.next_ms <= $2
             RETURNING name",
        )
        .bind(name)
        .bind(to_ms(now))
        .bind(every_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(claimed.is_some())
    }

    /// Close the database's connections (the server is stopping).
    async fn close(&self) {
        self.listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        self.pool.close().await;
    }

    /// Is the database answering? (`/readyz`)
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// How many transactions this server has committed since the store opened.
    fn syncs(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// One command's transaction and what it has appended.
pub(crate) struct Tx {
    tx: Transaction<'static, Postgres>,
    events: Vec<Committed>,
    /// Shops whose numbers moved (locked by this transaction): one `stats.updated` each, at
    /// commit.
    stats: BTreeMap<ShopId, Shop>,
}

impl Tx {
    /// Append `event` to its shop's log with the next gap-free `seq`. The shop's head row stays
    /// locked until the transaction ends, so every server appends to a shop one at a time.
    async fn append(&mut self, event: Event, customer_id: Option<&UserId>) -> StoreResult<u64> {
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO shop_heads (shop, seq) VALUES ($1, 1)
             ON CONFLICT (shop) DO UPDATE SET seq = shop_heads.seq + 1 RETURNING seq",
        )
        .bind(event.shop.as_str())
        .fetch_one(&mut *self.tx)
        .await?;
        let body = serde_json::to_string(&event)?;
        sqlx::query(
            "INSERT INTO events (shop, seq, type, at_ms, order_id, customer_id, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(event.shop.as_str())
        .bind(seq)
        .bind(event.kind.as_str())
        .bind(to_ms(event.at))
        .bind(event.order.as_ref().map(|o| o.id.as_str()))
        .bind(customer_id.map(UserId::as_str))
        .bind(&body)
        .execute(&mut *self.tx)
        .await?;
        let seq = u64::try_from(seq).unwrap_or(0);
        self.events.push(Committed {
            shop: event.shop.clone(),
            seq,
            customer_id: customer_id.cloned(),
            event: Arc::new(event),
            json: body.into(),
        });
        Ok(seq)
    }

    /// `shop` (locked by this transaction) has numbers that moved.
    fn stats_moved(&mut self, shop: &Shop) {
        self.stats.insert(shop.id.clone(), shop.clone());
    }
}

/// Lock the shop for this command (the serialisation point: its head row, made on first use)
/// and read it as it is now; `not_found` if there is no such shop.
async fn lock_shop(tx: &mut Tx, id: &ShopId) -> StoreResult<Shop> {
    sqlx::query(
        "INSERT INTO shop_heads (shop, seq) SELECT id, 0 FROM shops WHERE id = $1
         ON CONFLICT (shop) DO NOTHING",
    )
    .bind(id.as_str())
    .execute(&mut *tx.tx)
    .await?;
    let body: Option<String> = sqlx::query_scalar(
        "SELECT s.body FROM shop_heads h JOIN shops s ON s.id = h.shop
         WHERE h.shop = $1 FOR UPDATE OF h",
    )
    .bind(id.as_str())
    .fetch_optional(&mut *tx.tx)
    .await?;
    let body = body.ok_or_else(|| StoreError::not_found(format!("no shop {id:?}")))?;
    Ok(serde_json::from_str(&body)?)
}

/// Publishes each shop's committed events on this server's tail once each, in `seq` order,
/// without gaps, whichever server committed them.
struct Publisher {
    /// The last `seq` published per shop (shops not here: none yet).
    published: Mutex<HashMap<ShopId, u64>>,
    pool: PgPool,
    tail: broadcast::Sender<Committed>,
}

/// How many events one catch-up reads at a time.
const CATCH_UP_PAGE: i64 = 1_000;

impl Publisher {
    /// This server committed `events`: publish them, after any earlier ones not yet published.
    async fn committed(&self, events: Vec<Committed>) -> StoreResult<()> {
        let mut published = self.published.lock().await;
        let mut by_shop: BTreeMap<ShopId, Vec<Committed>> = BTreeMap::new();
        for event in events {
            by_shop.entry(event.shop.clone()).or_default().push(event);
        }
        for (shop, events) in by_shop {
            let first = events.first().map_or(0, |e| e.seq);
            self.fetch(&mut published, &shop, Some(first.saturating_sub(1)))
                .await?;
            let last = published.entry(shop).or_default();
            for event in events {
                if event.seq == *last + 1 {
                    *last = event.seq;
                    // No receiver is fine: nobody is watching.
                    let _ = self.tail.send(event);
                }
            }
        }
        Ok(())
    }

    /// Another server committed to `shop`: publish what is new.
    async fn catch_up(&self, shop: &ShopId) -> StoreResult<()> {
        let mut published = self.published.lock().await;
        self.fetch(&mut published, shop, None).await
    }

    /// Catch up every shop (after a lost connection).
    async fn catch_up_all(&self) -> StoreResult<()> {
        let heads: Vec<(String, i64)> = sqlx::query_as("SELECT shop, seq FROM shop_heads")
            .fetch_all(&self.pool)
            .await?;
        let mut published = self.published.lock().await;
        for (shop, head) in heads {
            let shop = ShopId::from(shop);
            if published.get(&shop).copied().unwrap_or(0) < u64::try_from(head).unwrap_or(0) {
                self.fetch(&mut published, &shop, None).await?;
            }
        }
        Ok(())
    }

    /// Publish `shop`'s events from the table, after the last published and up to `upto`
    /// (all committed ones when `None`).
    async fn fetch(
        &self,
        published: &mut HashMap<ShopId, u64>,
        shop: &ShopId,
        upto: Option<u64>,
    ) -> StoreResult<()> {
        loop {
            let last = published.get(shop).copied().unwrap_or(0);
            if upto.is_some_and(|upto| upto <= last) {
                return Ok(());
            }
            let upto_seq = upto.map_or(i64::MAX, |u| i64::try_from(u).unwrap_or(i64::MAX));
            let rows = sqlx::query(
                "SELECT seq, customer_id, body FROM events
                 WHERE shop = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
            )
            .bind(shop.as_str())
            .bind(i64::try_from(last).unwrap_or(i64::MAX))
            .bind(upto_seq)
            .bind(CATCH_UP_PAGE)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                return Ok(());
            }
            let full = rows.len() as i64 == CATCH_UP_PAGE;
            for row in rows {
                let row = super::events::read_row(&row)?;
                let entry = published.entry(shop.clone()).or_default();
                if row.seq != *entry + 1 {
                    // A gap in the table: a transaction with a lower seq has not committed
                    // yet (impossible while heads are locked to commit; kept as a guard).
                    return Ok(());
                }
                *entry = row.seq;
                let _ = self.tail.send(Committed {
                    shop: shop.clone(),
                    seq: row.seq,
                    customer_id: row.customer_id,
                    event: Arc::new(row.event),
                    json: row.json,
                });
            }
            if !full {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod auth_tests;
#[cfg(test)]
mod tests;
