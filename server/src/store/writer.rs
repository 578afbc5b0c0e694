//! The one writer: a thread that owns the database's only write connection and every shop's
//! state in memory ([`super::memory`]).
//!
//! Every change to the database is a job sent to it through a bounded queue. The writer takes
//! whatever is waiting as one batch: `BEGIN IMMEDIATE`, each job in its own savepoint (a job
//! that refuses — a closed shop, a claim lost to another barista — rolls back alone), then one
//! `COMMIT`. The connection runs in WAL mode with `synchronous=FULL`, so that commit is the
//! batch's one `fsync` of the WAL: group commit. Only then are the batch's events published to
//! the live hub, in `seq` order, and each job answered — a command is acknowledged, and shown
//! on a screen, only once it is durable. Copying the log back into the database is not the
//! writer's work but a thread's beside it ([`super::checkpoint`]); the writer only finishes each
//! copy, between two batches.
//!
//! Why rusqlite on a thread of its own rather than a sqlx connection: each sqlx statement is a
//! hop through a channel to sqlx's own worker thread and back (~15 of them per command before),
//! where rusqlite runs a prepared, cached statement in a few microseconds on the thread that
//! already holds the state; and a batch with savepoints is plain synchronous code. Reads stay
//! on the sqlx pool: they never wait for the writer (WAL readers see the last commit).
//!
//! A job changes memory only after every statement it ran succeeded (so a refused job leaves
//! memory as it found it). If a whole batch fails to commit, every job in it is answered with
//! the error and memory is dropped, to be reloaded from the database on next use.

use std::collections::{BTreeSet, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use espresso_protocol::{Event, UserId};
use rusqlite::{Connection, OpenFlags, params};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::Committed;
use super::checkpoint::Checkpoints;
use super::error::{StoreError, StoreResult};
use super::memory::Memory;

/// Commands waiting for the writer; a caller past this many waits its turn (backpressure).
const QUEUE: usize = 8192;
/// The most jobs one transaction takes.
const MAX_BATCH: usize = 1024;
/// A shop's `stats.updated` goes out at most this often: its screens show numbers (queue length,
/// wait, served today) a person reads, not every order's step. Under a rush a batch commits every
/// millisecond or two and each would carry one, a tenth of all events; the numbers that moved in
/// between go out together, at most this late.
pub const STATS_EVERY: Duration = Duration::from_millis(250);

/// A handle to the writer thread (cheap to clone).
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
    stats: Arc<WriterStats>,
}

/// When each shop's `stats.updated` last went out, and which shops owe one ([`STATS_EVERY`]).
struct StatsPacer {
    sent: HashMap<String, Instant>,
    owed: BTreeSet<String>,
    /// True while a shop owes one: the ticker then sends the writer an empty batch to pay it,
    /// and sleeps otherwise (an idle server does not wake).
    owing: watch::Sender<bool>,
}

impl StatsPacer {
    fn new() -> (Self, watch::Receiver<bool>) {
        let (owing, owes) = watch::channel(false);
        let pacer = Self {
            sent: HashMap::new(),
            owed: BTreeSet::new(),
            owing,
        };
        (pacer, owes)
    }

    /// Of the shops whose numbers moved in this batch and those owing, the ones due now.
    fn due(&self, moved: &BTreeSet<String>, now: Instant) -> BTreeSet<String> {
        moved
            .iter()
            .chain(&self.owed)
            .filter(|shop| {
                self.sent
                    .get(shop.as_str())
                    .is_none_or(|at| now.duration_since(*at) >= STATS_EVERY)
            })
            .cloned()
            .collect()
    }

    /// The batch committed: `sent` went out at `now`, the rest of `moved` is owed.
    fn committed(&mut self, moved: BTreeSet<String>, sent: &BTreeSet<String>, now: Instant) {
        for shop in sent {
            self.owed.remove(shop);
            self.sent.insert(shop.clone(), now);
        }
        self.owed
            .extend(moved.into_iter().filter(|shop| !sent.contains(shop)));
        let owes = !self.owed.is_empty();
        self.owing
            .send_if_modified(|owing| std::mem::replace(owing, owes) != owes);
    }
}

/// What the writer has done, for `/metrics` and tests.
#[derive(Default)]
pub struct WriterStats {
    /// Transactions committed (each one fsync of the WAL).
    pub commits: AtomicU64,
    /// Jobs run (accepted or refused).
    pub jobs: AtomicU64,
    /// Batches that failed as a whole (their jobs were answered with the error).
    pub failed_batches: AtomicU64,
    /// Checkpoints finished: the write-ahead log copied into the database ([`super::checkpoint`]).
    pub checkpoints: AtomicU64,
}

/// How a job is undone if it refuses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Undo {
    /// In its own savepoint: a refusal at any point rolls back what it wrote, and only that.
    Savepoint,
    /// Without one: the job refuses only before its first write (an order command decides
    /// against memory, then writes). A savepoint copies every page the job touches to the
    /// statement journal first; on the order path that was a tenth of the server's CPU. Should
    /// such a job fail after writing all the same (a database error), the whole batch is
    /// rolled back and every job in it answered with the error — never half a command.
    BeforeWriting,
}

/// One unit of work in a batch.
trait Job: Send {
    /// How a refusal is undone.
    fn undo(&self) -> Undo;
    /// Run inside the batch's transaction, in a savepoint; `false` if it refused (rolled back).
    fn run(&mut self, work: &mut Work<'_>) -> bool;
    /// Answer the caller once the batch has committed (or failed).
    fn answer(self: Box<Self>, batch: Result<(), &StoreError>);
}

struct Task<T, E, F> {
    undo: Undo,
    run: Option<F>,
    result: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<T, E, F> Job for Task<T, E, F>
where
    T: Send,
    E: Send + From<StoreError>,
    F: FnOnce(&mut Work<'_>) -> Result<T, E> + Send,
{
    fn undo(&self) -> Undo {
        self.undo
    }

    fn run(&mut self, work: &mut Work<'_>) -> bool {
        let Some(run) = self.run.take() else {
            return false;
        };
        let result = run(work);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, batch: Result<(), &StoreError>) {
        let result = match (self.result, batch) {
            // Refused: the refusal stands whatever happened to the batch.
            (Some(Err(refusal)), _) => Err(refusal),
            (Some(Ok(done)), Ok(())) => Ok(done),
            (Some(Ok(_)) | None, Err(error)) => Err(E::from(error.clone())),
            (None, Ok(())) => Err(E::from(StoreError::database("the job did not run"))),
        };
        // The caller may have gone (its request was dropped): nothing to tell.
        let _ = self.reply.send(result);
    }
}

/// What a job sees: the connection inside the batch's transaction, the shops' memory, and the
/// batch's log of events.
pub struct Work<'a> {
    pub conn: &'a Connection,
    pub memory: &'a mut Memory,
    log: &'a mut BatchLog,
}

/// What a batch has appended so far, and what the running job would undo.
#[derive(Default)]
struct BatchLog {
    events: Vec<Committed>,
    /// Each shop's head as of this batch (memory's head is moved only after the commit).
    heads: HashMap<String, u64>,
    /// Shops whose stats moved in this batch: one `stats.updated` each at the end.
    stats: BTreeSet<String>,
    /// The running job's first event and the heads it moved (to undo if it refuses).
    job_events: usize,
    job_heads: Vec<(String, u64)>,
    job_stats: Vec<String>,
}

impl BatchLog {
    fn start_job(&mut self) {
        self.job_events = self.events.len();
        self.job_heads.clear();
        self.job_stats.clear();
    }

    fn undo_job(&mut self) {
        self.events.truncate(self.job_events);
        for (shop, head) in self.job_heads.drain(..).rev() {
            self.heads.insert(shop, head);
        }
        for shop in self.job_stats.drain(..) {
            self.stats.remove(&shop);
        }
    }
}

impl Work<'_> {
    /// Append `event` to its shop's log with the next gap-free `seq`; it is published once the
    /// batch commits.
    pub fn append(&mut self, event: Event, customer_id: Option<&UserId>) -> StoreResult<u64> {
        let body = serde_json::to_string(&event)?;
        self.append_json(event, body, customer_id)
    }

    /// As [`Work::append`], with the event's JSON written already (`body` must be `event`'s).
    pub fn append_json(
        &mut self,
        event: Event,
        body: String,
        customer_id: Option<&UserId>,
    ) -> StoreResult<u64> {
        let shop = event.shop.clone();
        let head = match self.log.heads.get(shop.as_str()) {
            Some(head) => *head,
            None => self.memory.head(self.conn, &shop)?,
        };
        let seq = head + 1;
        self.conn
            .prepare_cached(
                "INSERT INTO events (shop, seq, type, at_ms, order_id, customer_id, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                shop.as_str(),
                i64::try_from(seq).unwrap_or(i64::MAX),
                event.kind.as_str(),
                super::to_ms(event.at),
                event.order.as_ref().map(|o| o.id.as_str()),
                customer_id.map(UserId::as_str),
                body,
            ])?;
        self.log.job_heads.push((shop.to_string(), head));
        self.log.heads.insert(shop.to_string(), seq);
        self.log.events.push(Committed {
            shop,
            seq,
            customer_id: customer_id.cloned(),
            event: Arc::new(event),
            json: body.into(),
        });
        Ok(seq)
    }

    /// The shop's stats moved: publish them (once per batch, at its end).
    pub fn stats_moved(&mut self, shop: &str) {
        if self.log.stats.insert(shop.to_owned()) {
            self.log.job_stats.push(shop.to_owned());
        }
    }
}

impl Writer {
    /// Open the write connection and start the writer thread. Events reach `tail` once durable.
    pub fn start(
        database: &WriterDatabase,
        tail: broadcast::Sender<Committed>,
        memory: Memory,
    ) -> StoreResult<Self> {
        let conn = database.open()?;
        // The log is copied back beside the writer, every `checkpoint_pages` (~40 MB rather than
        // SQLite's ~4 MB: a page that many commits change — the newest events, today's
        // counters, the newest orders — is copied once per checkpoint, not once per few batches).
        let checkpoints = Checkpoints::start(
            &conn,
            database.path.clone(),
            database.durable,
            database.checkpoint_pages,
        )?;
        let (queue, jobs) = mpsc::channel(QUEUE);
        let stats = Arc::new(WriterStats::default());
        let thread_stats = stats.clone();
        let (pacer, mut owes) = StatsPacer::new();
        std::thread::Builder::new()
            .name("espresso-writer".into())
            .spawn(move || {
                serve(
                    &conn,
                    jobs,
                    &tail,
                    memory,
                    &thread_stats,
                    pacer,
                    checkpoints,
                );
            })
            .map_err(StoreError::database)?;
        let writer = Self { queue, stats };
        // Stats owed after the last batch of a burst are paid by an empty batch STATS_EVERY
        // later. The ticker sleeps while nothing is owed, and ends with the writer thread.
        let (ticker, ticker_stats) = (writer.queue.downgrade(), writer.stats.clone());
        tokio::spawn(async move {
            loop {
                if owes.wait_for(|owes| *owes).await.is_err() {
                    return;
                }
                tokio::time::sleep(STATS_EVERY).await;
                let Some(queue) = ticker.upgrade() else {
                    return;
                };
                if *owes.borrow() {
                    let writer = Self {
                        queue,
                        stats: ticker_stats.clone(),
                    };
                    let _ = writer.run(|_| Ok::<_, StoreError>(())).await;
                }
            }
        });
        Ok(writer)
    }

    /// Run `job` in the writer's next batch, in a savepoint of its own (a refusal undoes what
    /// it wrote, and only that); its answer comes once the batch is durable.
    pub async fn run<T, E, F>(&self, job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: Send + From<StoreError> + 'static,
        F: FnOnce(&mut Work<'_>) -> Result<T, E> + Send + 'static,
    {
        self.submit(Undo::Savepoint, job).await
    }

    /// As [`Self::run`], for a job that refuses only before it writes anything (it decides
    /// against memory first): no savepoint. Should it fail after writing all the same (only a
    /// database error can), the whole batch is rolled back and answered with the error.
    pub async fn run_deciding_first<T, E, F>(&self, job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: Send + From<StoreError> + 'static,
        F: FnOnce(&mut Work<'_>) -> Result<T, E> + Send + 'static,
    {
        self.submit(Undo::BeforeWriting, job).await
    }

    async fn submit<T, E, F>(&self, undo: Undo, job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: Send + From<StoreError> + 'static,
        F: FnOnce(&mut Work<'_>) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let task = Box::new(Task {
            undo,
            run: Some(job),
            result: None,
            reply,
        });
        if self.queue.send(task).await.is_err() {
            return Err(E::from(StoreError::Stopped));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(E::from(StoreError::Stopped)))
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

/// Where the writer's connection goes.
pub struct WriterDatabase {
    pub path: std::path::PathBuf,
    /// Sync each commit (a real database). Off for a throwaway one (`sqlite::memory:`, tests):
    /// nothing there outlives the process anyway.
    pub durable: bool,
    /// The log's length, in pages, at which it is copied back into the database
    /// ([`super::wal::CHECKPOINT_PAGES`]; tests use fewer).
    pub checkpoint_pages: u32,
}

impl WriterDatabase {
    fn open(&self) -> StoreResult<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // WAL: readers never block the writer, nor it them. FULL: each commit syncs the WAL,
        // and there is one commit per batch.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(
            None,
            "synchronous",
            if self.durable { "FULL" } else { "OFF" },
        )?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 16 MiB of page cache: the pages commands touch stay in memory (no re-reads).
        conn.pragma_update(None, "cache_size", -16_384)?;
        // Savepoints keep the pages they may have to restore in memory, not in a temporary
        // file written for every page each command touches.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Room for every statement the writer runs (an order's update has a few shapes).
        conn.set_prepared_statement_cache_capacity(128);
        Ok(conn)
    }
}

fn serve(
    conn: &Connection,
    mut queue: mpsc::Receiver<Box<dyn Job>>,
    tail: &broadcast::Sender<Committed>,
    mut memory: Memory,
    stats: &WriterStats,
    mut pacer: StatsPacer,
    mut checkpoints: Checkpoints,
) {
    while let Some(first) = queue.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        stats.jobs.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        match run_batch(conn, &mut memory, &mut jobs, &pacer) {
            Ok(BatchDone {
                events,
                heads,
                stats_moved,
                stats_sent,
                at,
            }) => {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                pacer.committed(stats_moved, &stats_sent, at);
                memory.commit_heads(heads);
                for event in events {
                    // No receiver is fine: nobody is watching.
                    let _ = tail.send(event);
                }
                for job in jobs {
                    job.answer(Ok(()));
                }
                checkpoints.after_commit(conn, &stats.checkpoints);
            }
            Err(error) => {
                stats.failed_batches.fetch_add(1, Ordering::Relaxed);
                tracing::error!(%error, jobs = jobs.len(), "a write batch failed; memory reloads");
                // Whatever the jobs did to memory is not in the database: start over from it.
                memory.clear();
                let _ = conn.execute_batch("ROLLBACK");
                for job in jobs {
                    job.answer(Err(&error));
                }
            }
        }
    }
    tracing::debug!("the writer has stopped");
}

/// What a committed batch did.
struct BatchDone {
    events: Vec<Committed>,
    heads: HashMap<String, u64>,
    /// Shops whose numbers moved, and those that got their `stats.updated` (at `at`).
    stats_moved: BTreeSet<String>,
    stats_sent: BTreeSet<String>,
    at: Instant,
}

fn run_batch(
    conn: &Connection,
    memory: &mut Memory,
    jobs: &mut [Box<dyn Job>],
    pacer: &StatsPacer,
) -> StoreResult<BatchDone> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let mut log = BatchLog::default();
    for job in jobs.iter_mut() {
        let undo = job.undo();
        if undo == Undo::Savepoint {
            conn.prepare_cached("SAVEPOINT job")?.execute([])?;
        }
        let changes = conn.total_changes();
        log.start_job();
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| {
            job.run(&mut Work {
                conn,
                memory: &mut *memory,
                log: &mut log,
            })
        }));
        if ran.is_err() {
            // A bug in a job: it is answered as failed (its reply is dropped), and memory it may
            // have half-changed is reloaded.
            tracing::error!("a write job panicked; it was rolled back");
            memory.clear();
        }
        match (ran, undo) {
            (Ok(true), Undo::Savepoint) => {
                conn.prepare_cached("RELEASE job")?.execute([])?;
            }
            (Ok(true), Undo::BeforeWriting) => {}
            (Ok(false) | Err(_), Undo::Savepoint) => {
                log.undo_job();
                conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            }
            (Ok(false) | Err(_), Undo::BeforeWriting) => {
                if conn.total_changes() != changes {
                    // Half a command is in the transaction and nothing can take it out
                    // alone: the batch fails (the caller rolls back and answers every job).
                    return Err(StoreError::database(
                        "a command failed after it had written; its batch was rolled back",
                    ));
                }
                log.undo_job();
            }
        }
    }
    // One `stats.updated` per shop whose numbers moved (in this batch or one before) if its last
    // went out STATS_EVERY ago, after its orders' events.
    let now = Utc::now();
    let at = Instant::now();
    let stats_moved = std::mem::take(&mut log.stats);
    let stats_sent = pacer.due(&stats_moved, at);
    for shop in &stats_sent {
        let stats = memory.stats(conn, shop, now)?;
        let mut work = Work {
            conn,
            memory: &mut *memory,
            log: &mut log,
        };
        work.append(Event::stats_updated(shop, stats, now), None)?;
    }
    // The heads need no row of their own: the batch's last events are them (`memory::HEAD`).
    conn.prepare_cached("COMMIT")?.execute([])?;
    Ok(BatchDone {
        events: log.events,
        heads: log.heads,
        stats_moved,
        stats_sent,
        at,
    })
}
