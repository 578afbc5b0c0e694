//! Storage: the one place that reads and writes the database (SQLite, one file).
//!
//! Every change is one transaction that also appends its events to the log with the shop's next
//! gap-free `seq`. Writes are serialised by [`SqliteStore::write`] (SQLite has one writer anyway), so
//! events leave through [`Storage::tail`] in `seq` order right after their commit; the live hub
//! tails that. SQL stays portable (INTEGER times in ms, TEXT JSON), so a PostgreSQL store can
//! follow without touching the workflow.
//!
//! WAL mode with `synchronous=NORMAL` and group commit ([`durability`]): a command is
//! acknowledged to a client, and its events reach the live hub, only once a sync of the WAL that
//! started after its commit is done, so an acknowledged command survives kill -9 and power loss.

mod auth;
mod codes;
pub mod durability;
mod events;
mod idempotency;
mod orders;
mod shops;
pub mod sign_in;
mod stats;
mod storage;
mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeZone, Utc};
use espresso_core::protocol::Event;
use rand::Rng;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{Mutex, MutexGuard, broadcast};

pub use codes::CODE_GRACE;
pub use events::EventRow;
pub use orders::OrderCommand;
pub use storage::{DueDeadline, RateVerdict, ShopChange, Storage};
pub use users::UserRecord;

/// What the rest of the server holds: storage behind the [`Storage`] trait.
pub type Store = dyn Storage;
/// An owned handle to it.
pub type SharedStore = std::sync::Arc<dyn Storage>;

/// How many committed events the tail buffers for a slow reader before it lags.
const TAIL_CAPACITY: usize = 4096;

/// One event as committed: what the live hub fans out.
#[derive(Debug, Clone)]
pub struct Committed {
    pub shop: String,
    pub seq: u64,
    /// The customer whose order this event is about (customers see only their own).
    pub customer_id: Option<String>,
    pub event: Arc<Event>,
}

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    write: Arc<Mutex<()>>,
    durability: durability::Durability,
    public_url: Arc<str>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open (creating if needed) the database named by `url` (`sqlite://PATH` or
    /// `sqlite::memory:`), apply migrations and make sure shop `main` exists.
    /// `public_url` is where phones reach the server (booth codes' `order_url`).
    pub async fn open(url: &str, public_url: &str) -> anyhow::Result<Self> {
        let mut file = None;
        let options = if url == "sqlite::memory:" {
            SqliteConnectOptions::from_str(url)?
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .with_context(|| {
                    format!("unsupported database URL {url:?}: expected sqlite://PATH")
                })?;
            if let Some(parent) = std::path::Path::new(path).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).with_context(|| {
                    format!("cannot create the database folder {}", parent.display())
                })?;
            }
            file = Some(std::path::PathBuf::from(path));
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
        };
        let options = options
            // Commits do not wait for the disk; `Durability::wait` does, for a whole batch.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // An in-memory database exists once per connection: keep exactly one.
        let max = if url == "sqlite::memory:" { 1 } else { 8 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the database {url}"))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .context("cannot migrate the database")?;
        let (tail, _) = broadcast::channel(TAIL_CAPACITY);
        let store = Self {
            pool,
            write: Arc::new(Mutex::new(())),
            durability: durability::Durability::new(file, tail),
            public_url: public_url.trim_end_matches('/').into(),
        };
        store.ensure_main_shop().await?;
        Ok(store)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Committed events, in `seq` order per shop, from now on (each once it is durable).
    pub fn tail(&self) -> broadcast::Receiver<Committed> {
        self.durability.subscribe()
    }

    /// Return once every command committed before this call is on disk (group commit).
    pub async fn durable(&self) -> std::io::Result<()> {
        self.durability.wait().await
    }

    /// How many WAL syncs have run since the store opened (each covers a batch of commits).
    pub fn syncs(&self) -> u64 {
        self.durability.syncs()
    }

    /// Take the write lock: one writing transaction at a time, events published in order. Every
    /// write takes it, including single statements: SQLite has one writer, and a connection that
    /// finds the database locked sleeps in its busy handler (milliseconds at a time), which under
    /// load costs far more than waiting here in line.
    pub(crate) async fn write(&self) -> MutexGuard<'_, ()> {
        self.write.lock().await
    }

    /// A writing transaction. `BEGIN IMMEDIATE` takes SQLite's write lock up front (waiting
    /// under `busy_timeout`), so a transaction that reads and then writes can never be refused
    /// for a write that another connection committed in between (SQLITE_BUSY_SNAPSHOT).
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Publish committed events (call while still holding the write lock): they reach the live
    /// hub, in this order, once the sync that covers them is done.
    pub(crate) fn publish(&self, committed: Vec<Committed>) {
        self.durability.publish(committed);
    }

    /// Is the database answering? (`/readyz`)
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Milliseconds since the epoch, as stored.
pub fn to_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// The day order numbers and daily limits count in (UTC).
pub fn business_day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// A random opaque id (`prefix_` + 20 base-32 characters, ~100 bits).
pub fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let tail: String = (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}_{tail}")
}
