//! Copying the write-ahead log back into the database beside the writer, not in its way.
//!
//! SQLite's own way (`wal_autocheckpoint`) runs the checkpoint inside the commit that crosses
//! the line: the writer copies every page the log holds into the database file and syncs it,
//! and every command waiting meanwhile waits for that too. At full load that was a stall of
//! ~20–30 ms every couple of seconds (the database file's sync alone took 15 ms), the whole of
//! the calls' p99.
//!
//! Here the writer's connection has no automatic checkpoint. A hook on it notes the log's length
//! after each commit; past [`CHECKPOINT_PAGES`](super::wal::CHECKPOINT_PAGES) the writer wakes a
//! thread of its own with its own connection, which copies the log into the database and syncs
//! it (a `PASSIVE` checkpoint: it never blocks the writer, nor readers). The writer goes on
//! committing meanwhile. SQLite starts the log over only once every frame of it is in the
//! database, and under load new ones keep arriving: so when the thread is done, the writer copies
//! the few frames written since itself, between two batches (a short stall, a few hundred pages
//! against ten thousand), and its next commit starts the log from the beginning.
//!
//! A checkpoint is safe at any moment: SQLite syncs the log before copying it and the database
//! before the log may be written over, and a crash part-way leaves the log to be copied again.

use std::cell::Cell;
use std::ffi::c_int;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::error::{StoreError, StoreResult};

/// The thread's name, as `top -H` and `/proc/PID/task/*/comm` show it (Linux keeps 15 bytes of
/// a name: this one fits whole).
const THREAD: &str = "espresso-ckpt";

thread_local! {
    /// Frames in the log after the last commit on this thread's connection (the writer's): set
    /// by [`note_log_length`], SQLite's WAL hook, during each `COMMIT`.
    static LOG_FRAMES: Cell<u64> = const { Cell::new(0) };
}

/// SQLite's WAL hook for the writer's connection: called in each commit, on the writer's thread.
fn note_log_length(_: &rusqlite::hooks::Wal, frames: c_int) -> rusqlite::Result<()> {
    LOG_FRAMES.with(|log| log.set(u64::try_from(frames).unwrap_or(0)));
    Ok(())
}

/// The writer's side: when to wake the checkpoint thread, and when to finish its work.
pub struct Checkpoints {
    /// The log's length that starts a checkpoint, in frames (pages).
    start_at: u32,
    wake: SyncSender<()>,
    /// Set by the thread when it has copied what the log held when woken.
    copied: Arc<AtomicBool>,
    running: bool,
}

impl Checkpoints {
    /// Turn SQLite's own checkpoints off on the writer's connection `conn`, note its log's length
    /// after each commit instead, and start the thread that copies the log of the database at
    /// `path` once it reaches `start_at` frames. `durable`: sync as the writer does (a throwaway
    /// database does not). The thread ends with the returned value.
    pub fn start(
        conn: &Connection,
        path: PathBuf,
        durable: bool,
        start_at: u32,
    ) -> StoreResult<Self> {
        // `wal_autocheckpoint` sets a WAL hook of its own: off first, then ours.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.wal_hook(Some(note_log_length));
        let copier = Copier {
            conn: open(&path, durable)?,
            file: durable
                .then(|| std::fs::File::open(&path))
                .transpose()
                .map_err(StoreError::database)?,
        };
        let (wake, woken) = sync_channel(1);
        let copied = Arc::new(AtomicBool::new(false));
        let thread_copied = copied.clone();
        std::thread::Builder::new()
            .name(THREAD.into())
            .spawn(move || copier.copy_when_woken(&woken, &thread_copied))
            .map_err(StoreError::database)?;
        Ok(Self {
            start_at,
            wake,
            copied,
            running: false,
        })
    }

    /// After a commit: wake the thread if the log is long enough, or, once it has copied its
    /// part, copy what came since on `conn` (the writer's) so the log can start over; counted
    /// in `finished`.
    pub fn after_commit(&mut self, conn: &Connection, finished: &AtomicU64) {
        if !self.running {
            if LOG_FRAMES.with(Cell::get) >= u64::from(self.start_at) {
                match self.wake.try_send(()) {
                    Ok(()) => self.running = true,
                    // The thread ends only with this value (it catches a copy's panic); should
                    // it be gone all the same, SQLite's own way, in the writer.
                    Err(TrySendError::Disconnected(())) => {
                        tracing::warn!(
                            "the checkpoint thread has stopped: the writer copies its own log"
                        );
                        let _ = conn.pragma_update(None, "wal_autocheckpoint", self.start_at);
                        self.start_at = u32::MAX;
                    }
                    Err(TrySendError::Full(())) => self.running = true,
                }
            }
            return;
        }
        if self.copied.swap(false, Ordering::Acquire) {
            self.running = false;
            match passive(conn) {
                Ok(progress) if progress.complete() => {
                    // The log starts over at the next commit that writes; until then the hook
                    // says nothing, and its last figure would wake the thread for nothing.
                    LOG_FRAMES.with(|log| log.set(0));
                    finished.fetch_add(1, Ordering::Relaxed);
                }
                // A reader still reads from the log's end: the next commit past the line wakes
                // the thread again (readers take milliseconds).
                Ok(progress) => tracing::debug!(?progress, "a checkpoint could not finish yet"),
                Err(error) => tracing::warn!(%error, "cannot finish a checkpoint"),
            }
        }
    }
}

/// The checkpoint thread's connection: the same database, syncing as the writer does.
fn open(path: &std::path::Path, durable: bool) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "OFF" })?;
    Ok(conn)
}

/// The checkpoint thread's connection, and the database file to sync (`None`: not durable).
struct Copier {
    conn: Connection,
    file: Option<std::fs::File>,
}

impl Copier {
    /// Until the writer ends: copy when woken, then tell the writer, whatever happened (a copy
    /// that failed, or even panicked, leaves its pages to the next one; the thread goes on).
    fn copy_when_woken(&self, woken: &Receiver<()>, copied: &AtomicBool) {
        while woken.recv().is_ok() {
            match std::panic::catch_unwind(AssertUnwindSafe(|| self.copy())) {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "a checkpoint failed; the next one copies its pages");
                }
                Err(_) => {
                    tracing::error!("a checkpoint panicked; the next one copies its pages");
                }
            }
            copied.store(true, Ordering::Release);
        }
    }

    /// Copy the log and sync what it wrote. SQLite syncs the database only after a checkpoint
    /// that reached the log's end, and under load the writer has added frames by then: its
    /// finishing step would then sync every page copied here, inside the writer. Synced here,
    /// that step syncs only the pages it copies itself.
    ///
    /// Always: what the pragma reports is the log as the checkpoint found it at its start, so
    /// "complete" there does not say SQLite synced (it syncs only if no frame came since). Had
    /// it synced, this finds nothing to write. (Measured: skipping this sync on a "complete"
    /// answer put the claims' p99 back up by 1–2 ms.)
    fn copy(&self) -> StoreResult<()> {
        passive(&self.conn)?;
        if let Some(file) = &self.file {
            file.sync_data().map_err(StoreError::database)?;
        }
        Ok(())
    }
}

/// What `PRAGMA wal_checkpoint` reports, of the log as the checkpoint found it when it began.
#[derive(Debug)]
struct Progress {
    /// It could not run (another checkpoint was running).
    busy: bool,
    /// Frames in the log.
    log: i64,
    /// Of them, frames now in the database.
    copied: i64,
}

impl Progress {
    /// All of the log is in the database. On the writer's connection, where no frame can come
    /// meanwhile, SQLite has also synced it, and the next commit may start the log over.
    fn complete(&self) -> bool {
        !self.busy && self.copied == self.log
    }
}

/// Copy into the database what the log holds and no reader still needs, without waiting.
fn passive(conn: &Connection) -> StoreResult<Progress> {
    Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok(Progress {
            busy: row.get::<_, i64>(0)? != 0,
            log: row.get(1)?,
            copied: row.get(2)?,
        })
    })?)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    use tokio::sync::broadcast;

    use crate::store::error::StoreError;
    use crate::store::memory::Memory;
    use crate::store::writer::{Writer, WriterDatabase};

    /// The log's length in frames, read from its file beside `db`: a header of 32 bytes, then a
    /// frame (24-byte header and a 4 KiB page) per page written since it last started over.
    /// SQLite writes over the old frames when it starts over, so this is the highest frame
    /// ever written: the log's longest run.
    fn log_frames_ever(db: &std::path::Path) -> u64 {
        let wal = crate::store::wal::wal_path(db);
        let len = std::fs::metadata(wal).map_or(0, |meta| meta.len());
        len.saturating_sub(32) / (24 + 4096)
    }

    /// Given a writer that copies its log back every 40 pages, when 300 commits write a page or
    /// two each, then checkpoints finish beside it and the log starts over each time: it never
    /// grows far past 40 pages (without them, it would hold every frame: 300 or more; the slack
    /// is for commits made while the thread copies).
    #[test]
    fn the_thread_is_named_in_full() {
        assert!(
            super::THREAD.len() <= 15,
            "Linux would cut {:?}",
            super::THREAD
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_is_copied_back_beside_the_writer_and_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("espresso.db");
        let (tail, _) = broadcast::channel(16);
        let writer = Writer::start(
            &WriterDatabase {
                path: db.clone(),
                durable: true,
                checkpoint_pages: 40,
            },
            tail,
            Memory::default(),
        )
        .unwrap();
        writer
            .run(|work| {
                work.conn.execute_batch("CREATE TABLE notes (body BLOB)")?;
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        for _ in 0..300 {
            writer
                .run(|work| {
                    work.conn
                        .execute("INSERT INTO notes VALUES (randomblob(3000))", [])?;
                    Ok::<_, StoreError>(())
                })
                .await
                .unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while writer.stats().checkpoints.load(Ordering::Relaxed) < 3 {
            assert!(
                Instant::now() < deadline,
                "{} checkpoints finished",
                writer.stats().checkpoints.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let longest = log_frames_ever(&db);
        assert!(
            longest < 3 * 40,
            "the log ran to {longest} frames: it did not start over"
        );
        // Everything is there.
        let rows: i64 = rusqlite::Connection::open(&db)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM notes", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 300);
    }
}
