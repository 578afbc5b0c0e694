//! Group commit: one `fdatasync` makes every transaction committed before it durable.
//!
//! The database runs in WAL mode with `synchronous=NORMAL`: a commit appends its frames to the
//! `-wal` file without waiting for the disk, so it survives kill -9 (the frames are in the
//! operating system's cache) but not a power cut. What makes a command durable is
//! [`Durability::wait`]: it asks for a sync of the WAL file that *starts after* the call and
//! returns when that sync is done. Every command acknowledged to a client waits for it (the HTTP
//! layer does, see `http::durable`), so an acknowledged command is on disk exactly as with
//! `synchronous=FULL` — but one sync now covers every command that committed while the previous
//! one was running. Under load the disk's sync time is shared by the whole batch instead of being
//! paid once per command: that is what lets throughput grow with concurrent clients.
//!
//! Events go through the same gate: [`Durability::publish`] holds committed events until the
//! sync that covers them is done, then hands them to the live hub in commit order. A screen never
//! shows an event that a power cut could take back (whose `seq` would then be reused).
//!
//! There is no long-lived task: the first caller that finds no sync under way spawns one, and it
//! runs syncs back to back while work keeps arriving, then ends.

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{broadcast, oneshot};

use super::Committed;

/// What a sync answers to each waiter (the error is shared by every waiter of that sync).
type SyncResult = Result<(), Arc<io::Error>>;

#[derive(Clone)]
pub struct Durability {
    inner: Arc<Inner>,
}

struct Inner {
    /// The `-wal` file to sync; `None` for an in-memory database (nothing to make durable).
    wal: Option<PathBuf>,
    tail: broadcast::Sender<Committed>,
    state: Mutex<Batch>,
}

/// What the next sync covers.
#[derive(Default)]
struct Batch {
    waiters: Vec<oneshot::Sender<SyncResult>>,
    events: Vec<Committed>,
    /// A sync task is running (it will pick this batch up when its current sync ends).
    syncing: bool,
    /// Syncs done so far (for tests and metrics).
    syncs: u64,
}

impl Durability {
    /// `database` is the SQLite file (its WAL is `database` + `-wal`), or `None` in memory.
    pub fn new(database: Option<PathBuf>, tail: broadcast::Sender<Committed>) -> Self {
        let wal = database.map(|path| {
            let mut wal = path.into_os_string();
            wal.push("-wal");
            PathBuf::from(wal)
        });
        Self {
            inner: Arc::new(Inner {
                wal,
                tail,
                state: Mutex::new(Batch::default()),
            }),
        }
    }

    /// Committed events, in `seq` order per shop, as soon as they are durable.
    pub fn subscribe(&self) -> broadcast::Receiver<Committed> {
        self.inner.tail.subscribe()
    }

    /// Hand committed events to the live hub once they are durable. Call in commit order (under
    /// the store's write lock): events leave in the order they arrive here.
    pub fn publish(&self, committed: Vec<Committed>) {
        if committed.is_empty() {
            return;
        }
        let start = {
            let mut batch = self.lock();
            batch.events.extend(committed);
            Self::claim_sync(&mut batch)
        };
        if start {
            self.spawn_syncer();
        }
    }

    /// Return once everything committed before this call is on disk.
    pub async fn wait(&self) -> io::Result<()> {
        let (done, answer) = oneshot::channel();
        let start = {
            let mut batch = self.lock();
            batch.waiters.push(done);
            Self::claim_sync(&mut batch)
        };
        if start {
            self.spawn_syncer();
        }
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(io::Error::new(error.kind(), error.to_string())),
            Err(_) => Err(io::Error::other("the sync task ended without an answer")),
        }
    }

    /// How many syncs have run (each covers a batch of commits).
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Batch> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Mark a sync as under way unless one is; true if the caller must start it.
    fn claim_sync(batch: &mut Batch) -> bool {
        !std::mem::replace(&mut batch.syncing, true)
    }

    fn spawn_syncer(&self) {
        let this = self.clone();
        tokio::spawn(async move { this.run_syncs().await });
    }

    /// Sync batch after batch until none is waiting.
    async fn run_syncs(self) {
        loop {
            let (waiters, events) = {
                let mut batch = self.lock();
                if batch.waiters.is_empty() && batch.events.is_empty() {
                    batch.syncing = false;
                    return;
                }
                (
                    std::mem::take(&mut batch.waiters),
                    std::mem::take(&mut batch.events),
                )
            };
            let result = self.sync_wal().await.map_err(Arc::new);
            if let Err(error) = &result {
                tracing::error!(%error, "cannot sync the database's write-ahead log");
            }
            self.lock().syncs += 1;
            // The events are committed whatever the sync said (a failed sync cannot take them
            // back); the waiters learn that their command may not be durable.
            for event in events {
                // No receiver is fine: nobody is watching.
                let _ = self.inner.tail.send(event);
            }
            for waiter in waiters {
                let _ = waiter.send(result.clone());
            }
        }
    }

    async fn sync_wal(&self) -> io::Result<()> {
        let Some(wal) = self.inner.wal.clone() else {
            return Ok(());
        };
        let synced = tokio::task::spawn_blocking(move || match std::fs::File::open(&wal) {
            // fdatasync works on the file, whichever descriptor asks: this flushes the frames
            // every connection of the pool has written.
            Ok(file) => file.sync_data(),
            // No WAL yet: nothing has been written.
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error),
        })
        .await;
        synced.unwrap_or_else(|join| Err(io::Error::other(join)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc as StdArc;

    use espresso_core::protocol::{Event, Shop};

    use super::*;

    fn committed(seq: u64) -> Committed {
        Committed {
            shop: "main".into(),
            seq,
            customer_id: None,
            event: StdArc::new(Event::shop_updated(
                Shop::default_main(),
                chrono::Utc::now(),
            )),
        }
    }

    #[tokio::test]
    async fn events_leave_in_commit_order_once_synced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("espresso.db");
        std::fs::write(dir.path().join("espresso.db-wal"), b"frames").expect("wal");
        let (tail, _) = broadcast::channel(64);
        let durability = Durability::new(Some(db), tail);
        let mut seen = durability.subscribe();
        for seq in 1..=20 {
            durability.publish(vec![committed(seq)]);
        }
        durability.wait().await.expect("synced");
        let mut order = Vec::new();
        while let Ok(event) = seen.try_recv() {
            order.push(event.seq);
        }
        assert_eq!(order, (1..=20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn concurrent_waiters_share_syncs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("espresso.db");
        std::fs::write(dir.path().join("espresso.db-wal"), b"frames").expect("wal");
        let (tail, _) = broadcast::channel(8);
        let durability = Durability::new(Some(db), tail);
        let waits: Vec<_> = (0..200)
            .map(|_| {
                let durability = durability.clone();
                tokio::spawn(async move { durability.wait().await })
            })
            .collect();
        for wait in waits {
            wait.await.expect("joined").expect("synced");
        }
        let syncs = durability.syncs();
        assert!(syncs >= 1, "at least one sync ran");
        assert!(
            syncs < 200,
            "200 concurrent waiters were served by {syncs} syncs: no batching"
        );
    }

    #[tokio::test]
    async fn a_wait_before_any_write_needs_no_wal() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (tail, _) = broadcast::channel(8);
        let durability = Durability::new(Some(dir.path().join("none.db")), tail);
        durability.wait().await.expect("nothing to sync is fine");
    }

    #[tokio::test]
    async fn a_failed_sync_is_reported_to_its_waiters() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A directory where the WAL file should be: opening it works, syncing a directory
        // opened read-only works too on Linux, so use a path under a file instead.
        let file = dir.path().join("plain");
        std::fs::write(&file, b"x").expect("file");
        let (tail, _) = broadcast::channel(8);
        let durability = Durability::new(Some(file.join("db")), tail);
        let error = durability
            .wait()
            .await
            .expect_err("cannot open a WAL under a file");
        assert_ne!(error.kind(), io::ErrorKind::NotFound);
    }
}
