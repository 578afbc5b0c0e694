//! Storage: the one place that reads and writes the database (SQLite, one file).
//!
//! Writes go through the one writer ([`writer`]): a thread that owns the write connection and
//! each shop's state in memory ([`memory`]), runs whatever commands are waiting as one
//! transaction (a savepoint each) and makes them durable with the batch's one commit (WAL,
//! `synchronous=FULL`). Every change also appends its events to the shop's log with the next
//! gap-free `seq`; they leave through [`Storage::tail`] in `seq` order once durable, and a
//! command is answered only then. Reads go to a pool of read connections and never wait for the
//! writer. SQL stays portable (INTEGER times in ms, TEXT JSON), so a PostgreSQL store can
//! implement the same [`Storage`] seam.

mod auth;
mod checkpoint;
mod codes;
mod error;
mod events;
pub mod idempotency;
pub mod memory;
mod orders;
mod passes;
pub mod pg;
mod push;
mod shops;
pub mod sign_in;
mod stats;
mod storage;
#[cfg(test)]
mod tests;
mod users;
pub mod wal;
pub mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use espresso_protocol::{Event, ShopId, UserId};
use rand::Rng;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::broadcast;

pub use auth::{AccessChange, AuthCache, NewPair, Rotation};
pub use codes::CODE_GRACE;
pub use error::{StoreError, StoreResult};
pub use events::EventRow;
pub use idempotency::{Answer, Remember, StoredAnswer};
pub use orders::OrderCommand;
pub use passes::{IssuedPass, Ticket};
pub use pg::PgStore;
pub use shops::ShopChange;
pub use storage::{
    CodeStorage, DatedOrder, DueDeadline, EventStorage, IdempotencyStorage, KeptAnswer, OrderCount,
    OrderStorage, PassStorage, PushStorage, RateVerdict, SessionStorage, ShopStorage,
    SignInStorage, StatsStorage, Storage, UserStorage, prelude,
};
pub use users::UserRecord;

/// What the rest of the server holds: storage behind the [`Storage`] trait.
pub type Store = dyn Storage;
/// An owned handle to it.
pub type SharedStore = std::sync::Arc<dyn Storage>;

/// Does `url` name a PostgreSQL database (`postgres://…` or `postgresql://…`)?
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Open the database `url` names: `sqlite://PATH`, `sqlite::memory:` or `postgres://…`.
pub async fn open(url: &str, public_url: &str) -> anyhow::Result<SharedStore> {
    Ok(if is_postgres(url) {
        PgStore::open(url, public_url).await?.into()
    } else {
        SqliteStore::open(url, public_url).await?.into()
    })
}

/// How many committed events the tail buffers for a slow reader before it lags.
const TAIL_CAPACITY: usize = 16384;

/// One event as committed: what the live hub fans out.
#[derive(Debug, Clone)]
pub struct Committed {
    pub shop: ShopId,
    pub seq: u64,
    /// The customer whose order this event is about (customers see only their own).
    pub customer_id: Option<UserId>,
    pub event: Arc<Event>,
    /// The event as JSON, as it was stored: screens are sent these bytes, not a new encoding.
    pub json: Arc<str>,
}

#[derive(Clone)]
pub struct SqliteStore {
    /// Read connections (WAL readers see every committed batch).
    pool: SqlitePool,
    writer: writer::Writer,
    tail: broadcast::Sender<Committed>,
    auth_cache: Arc<AuthCache>,
    /// Who may have a Web Push subscription (a superset: see [`push`]).
    push_users: Arc<std::sync::Mutex<std::collections::HashSet<espresso_protocol::UserId>>>,
    public_url: Arc<str>,
    /// A throwaway database's folder (`sqlite::memory:`), removed with the last handle.
    _scratch: Option<Arc<tempfile::TempDir>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open (creating if needed) the database named by `url` (`sqlite://PATH`, or
    /// `sqlite::memory:` for a throwaway one in a temporary folder), apply migrations, start the
    /// writer and make sure shop `main` exists. `public_url` is where phones reach the server
    /// (booth codes' `order_url`).
    pub async fn open(url: &str, public_url: &str) -> anyhow::Result<Self> {
        Self::open_checkpointing(url, public_url, wal::CHECKPOINT_PAGES).await
    }

    /// [`Self::open`], copying the write-ahead log back into the database whenever it holds
    /// `checkpoint_pages` pages ([`checkpoint`]).
    pub async fn open_checkpointing(
        url: &str,
        public_url: &str,
        checkpoint_pages: u32,
    ) -> anyhow::Result<Self> {
        let (path, durable, scratch) = if url == "sqlite::memory:" {
            let dir = tempfile::Builder::new()
                .prefix("espresso-db-")
                .tempdir()
                .context("cannot create a folder for a throwaway database")?;
            (dir.path().join("espresso.db"), false, Some(Arc::new(dir)))
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
                crate::private::create_dir(parent).with_context(|| {
                    format!("cannot create the database folder {}", parent.display())
                })?;
            }
            // Readable by this user only: it holds emails, names and token hashes. SQLite gives
            // the WAL and its index the database file's permissions; narrowing them covers
            // files left by an older build.
            crate::private::ensure_file(std::path::Path::new(path))
                .with_context(|| format!("cannot create the database {path}"))?;
            for suffix in ["-wal", "-shm"] {
                crate::private::restrict_path(std::path::Path::new(&format!("{path}{suffix}")))
                    .with_context(|| format!("cannot restrict {path}{suffix}"))?;
            }
            (std::path::PathBuf::from(path), true, None)
        };
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // These connections only read (and migrate, before the writer starts).
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the database {url}"))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .context("cannot migrate the database")?;
        let (tail, _) = broadcast::channel(TAIL_CAPACITY);
        let writer = writer::Writer::start(
            &writer::WriterDatabase {
                path,
                durable,
                checkpoint_pages,
            },
            tail.clone(),
            memory::Memory::default(),
        )
        .context("cannot start the database writer")?;
        let store = Self {
            pool,
            writer,
            tail,
            auth_cache: Arc::new(AuthCache::default()),
            push_users: Arc::default(),
            public_url: public_url.trim_end_matches('/').into(),
            _scratch: scratch,
        };
        store
            .load_push_users()
            .await
            .context("cannot read the push subscriptions")?;
        store
            .ensure_main_shop()
            .await
            .context("cannot create shop main")?;
        Ok(store)
    }

    /// Hold the database for one serving process: a second `espresso-server serve` on the same
    /// SQLite file would keep its own shop state in memory and break the shop's invariants (order
    /// numbers, booth-code uses, queue and daily limits). The lock is the OS's (released when the
    /// process ends, also by kill -9); `None` for a throwaway database. Tools such as `users grant`
    /// do not take it: they change no shop.
    pub fn lock_for_serving(url: &str) -> anyhow::Result<Option<std::fs::File>> {
        let Some(path) = database_file(url) else {
            return Ok(None);
        };
        let lock_path = format!("{path}.serving");
        if let Some(parent) = std::path::Path::new(&lock_path).parent()
            && !parent.as_os_str().is_empty()
        {
            crate::private::create_dir(parent).with_context(|| {
                format!("cannot create the database folder {}", parent.display())
            })?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot open {lock_path}"))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another espresso-server is already serving {path}: one server per SQLite \
                 database (several servers need PostgreSQL)"
            ),
            Err(std::fs::TryLockError::Error(error)) => {
                Err(error).with_context(|| format!("cannot lock {lock_path}"))
            }
        }
    }

    /// Write the WAL of the database at `url` out to its working size, a cycle of
    /// `checkpoint_pages`, if it has none ([`wal`]), before it is opened. Call it holding
    /// [`Self::lock_for_serving`]'s lock. A failure is logged, not fatal: SQLite grows the WAL
    /// itself, only its syncs are slower.
    pub fn write_out_wal(url: &str, checkpoint_pages: u32) {
        let Some(path) = database_file(url) else {
            return;
        };
        match wal::write_out(std::path::Path::new(path), checkpoint_pages) {
            Ok(made) => tracing::debug!(made, "write-ahead log ready"),
            Err(error) => tracing::warn!(%error, "cannot write out the write-ahead log"),
        }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// What the writer has done (commits, jobs, failed batches).
    pub fn writer_stats(&self) -> &writer::WriterStats {
        self.writer.stats()
    }
}

/// The file of a SQLite database URL (`sqlite://PATH`); `None` for a throwaway database or
/// another kind of URL.
fn database_file(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .filter(|_| url != "sqlite::memory:")
}

#[async_trait]
impl Storage for SqliteStore {
    fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Committed events, in `seq` order per shop, from now on (each once it is durable).
    fn tail(&self) -> broadcast::Receiver<Committed> {
        self.tail.subscribe()
    }

    /// How many commits (each one sync of the WAL, covering a batch) since the store opened.
    fn syncs(&self) -> u64 {
        self.writer
            .stats()
            .commits
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many times the WAL was copied back into the database and started over.
    fn checkpoints(&self) -> Option<u64> {
        Some(
            self.writer
                .stats()
                .checkpoints
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// One server owns a SQLite database: every round is its own.
    async fn claim_periodic(
        &self,
        _name: &str,
        _now: DateTime<Utc>,
        _every: Duration,
    ) -> StoreResult<bool> {
        Ok(true)
    }

    /// Close the database's connections (the server is stopping).
    async fn close(&self) {
        self.pool.close().await;
    }

    /// Is the database answering? (`/readyz`)
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Milliseconds since the epoch, as stored.
pub fn to_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// The day order numbers, daily limits and served counts go by: the calendar date at `at` in
/// the shop's time zone (see [`crate::workflow::zone_of`]).
pub fn business_day(at: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    use chrono::Datelike;
    // Every command asks (a few times): written by hand, not through `format`'s parser.
    let local = at.with_timezone(&zone).date_naive();
    match u32::try_from(local.year()) {
        Ok(year) if year <= 9999 => {
            let mut day = String::with_capacity(10);
            for (value, width) in [(year, 4), (local.month(), 2), (local.day(), 2)] {
                if !day.is_empty() {
                    day.push('-');
                }
                for place in (0..width).rev() {
                    let digit = value / 10u32.pow(place) % 10;
                    day.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
                }
            }
            day
        }
        _ => local.format("%Y-%m-%d").to_string(),
    }
}

/// A new opaque id: `prefix_`, 9 characters of the time (ms) then 16 random ones (80 bits), in an
/// alphabet in ASCII order. Ids made later sort later, so the rows and index entries of recent
/// orders, sessions and users sit together in a few database pages (a command dirties those, not
/// a random page per index), and nobody can guess one.
pub fn new_id(prefix: &str) -> String {
    new_id_at(
        prefix,
        u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0),
    )
}

fn new_id_at(prefix: &str, ms: u64) -> String {
    const ALPHABET: &[u8] = b"23456789abcdefghijkmnpqrstuvwxyz";
    let mut id = String::with_capacity(prefix.len() + 26);
    id.push_str(prefix);
    id.push('_');
    for shift in (0..9).rev() {
        id.push(ALPHABET[((ms >> (shift * 5)) & 31) as usize] as char);
    }
    let mut rng = rand::rng();
    id.extend((0..16).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char));
    id
}

#[cfg(test)]
mod id_tests {
    #[test]
    fn ids_made_later_sort_later_and_do_not_repeat() {
        let now = 1_795_000_000_000;
        for later in [now + 1, now + 31, now + 1_000, now + 86_400_000] {
            let (first, second) = (super::new_id_at("ord", now), super::new_id_at("ord", later));
            assert!(first < second, "{first} then {second}");
        }
        let first = super::new_id("ord");
        assert_eq!(first.len(), "ord_".len() + 25);
        let many: std::collections::HashSet<String> =
            (0..10_000).map(|_| super::new_id("ord")).collect();
        assert_eq!(many.len(), 10_000);
    }
}
