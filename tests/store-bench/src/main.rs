//! `espresso-store-bench`: order commands per second through the server's store, durable, on a
//! file, and beside it what raw SQLite does with the same kind of writes on the same machine.
//! The ratio of the two is the figure that matters: how much of what the disk and SQLite allow
//! the store's command path uses.
//!
//! Run it alone (a release build; it takes about 3 × `--seconds`):
//!
//! ```sh
//! cargo run --release -p espresso-store-bench -- --seconds 10 --tasks 64
//! cargo run --release -p espresso-store-bench -- --help
//! ```
//!
//! `cargo xtask bench` runs it as its "store" rows (alone: `cargo xtask bench --only store`).
//!
//! - **store**: the server's public store API only (`SqliteStore::open` and the `Storage`
//!   trait), on a new database file in `--dir`. The shop is opened and its limits lifted with
//!   `update_shop`; then `--tasks` concurrent tasks, each its own customer, run whole
//!   lifecycles: start with the current booth code and a drink (queued at once), claim,
//!   complete, collect — 4 commands, each with its `Idempotency-Key`, each answered only once its
//!   batch is committed and synced, as the HTTP layer's are. No HTTP, no live sockets, no sign-in.
//! - **raw SQLite**: rusqlite on the same SQLite build, WAL, `synchronous=FULL` (a commit is an
//!   fsync of the WAL, as durable as the store's group commit), prepared cached statements, the
//!   same tables and indexes as the server's schema. A command writes what an order command
//!   needs at least: the order row (upsert, ~500 bytes of JSON), two event rows (~700 bytes
//!   each) with the shop's next `seq` (kept in memory), and its deadline row (delete + insert).
//!   Once with 64 commands per transaction (group commit's best case), once with one.
//!
//! Every call into the server's store is in [`store_api`], so a change of its signatures is
//! one small edit.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;

/// mimalloc, as the server runs with: the store's command path is measured with the allocator
/// it has in production (with the system allocator, growing JSON buffers in `realloc` took 4% of
/// the writer's time here, a cost the server does not have).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The flags; see `--help`.
#[derive(Debug, Parser)]
#[command(
    name = "espresso-store-bench",
    about = "Order commands/s through the server's store (durable, on a file) beside raw SQLite \
             doing the same writes"
)]
struct Args {
    /// How long each of the three runs lasts (store, raw batched, raw one by one), in seconds.
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    seconds: f64,
    /// Concurrent tasks driving the store, each a customer doing whole lifecycles.
    /// (64: the store may group up to as many commands per sync as the batched raw run.)
    #[arg(long, value_name = "N", default_value_t = 64)]
    tasks: usize,
    /// Commands per transaction in the batched raw run.
    #[arg(long, value_name = "N", default_value_t = 64)]
    batch: usize,
    /// Where the database files go (a new temporary folder inside it, removed at the end);
    /// use a folder on the disk you want measured, not a tmpfs.
    #[arg(long, value_name = "PATH")]
    dir: Option<PathBuf>,
    /// Only the store run (no raw SQLite).
    #[arg(long)]
    store_only: bool,
    /// Only the raw SQLite runs.
    #[arg(long, conflicts_with = "store_only")]
    raw_only: bool,
    /// Also write the figures as JSON to this file (what `cargo xtask bench` reads).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
}

/// Commands through the store in the measured window.
#[derive(Debug, Default)]
struct StoreFigures {
    tasks: usize,
    seconds: f64,
    commands: u64,
    lifecycles: u64,
    /// Refusals and failures by code.
    errors: std::collections::BTreeMap<String, u64>,
}

impl StoreFigures {
    fn commands_per_s(&self) -> f64 {
        self.commands as f64 / self.seconds
    }

    fn lifecycles_per_s(&self) -> f64 {
        self.lifecycles as f64 / self.seconds
    }

    fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Raw SQLite commands in the measured window.
#[derive(Debug, Clone, Copy)]
struct RawFigures {
    per_transaction: usize,
    commands: u64,
    seconds: f64,
}

impl RawFigures {
    fn commands_per_s(&self) -> f64 {
        self.commands as f64 / self.seconds
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.seconds > 0.0 && args.seconds.is_finite(),
        "--seconds must be more than 0"
    );
    anyhow::ensure!(args.tasks > 0, "--tasks must be at least 1");
    anyhow::ensure!(args.batch > 0, "--batch must be at least 1");
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&base).with_context(|| format!("cannot create {}", base.display()))?;
    let dir = tempfile::Builder::new()
        .prefix("espresso-store-bench-")
        .tempdir_in(&base)
        .with_context(|| format!("cannot make a folder in {}", base.display()))?;
    let window = Duration::from_secs_f64(args.seconds);

    let store = if args.raw_only {
        None
    } else {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let figures = runtime.block_on(store_run(dir.path(), args.tasks, window))?;
        println!(
            "store: {:.0} commands/s, {:.0} lifecycles/s ({} tasks, {:.1} s, 4 commands a \
             lifecycle, each durable; {} errors{})",
            figures.commands_per_s(),
            figures.lifecycles_per_s(),
            figures.tasks,
            figures.seconds,
            figures.error_total(),
            if figures.errors.is_empty() {
                String::new()
            } else {
                format!(": {:?}", figures.errors)
            }
        );
        Some(figures)
    };

    let raw = if args.store_only {
        Vec::new()
    } else {
        let mut runs = Vec::new();
        for per_transaction in [args.batch, 1] {
            let file = dir.path().join(format!("raw-{per_transaction}.db"));
            let figures = raw::run(&file, per_transaction, window)
                .with_context(|| format!("raw SQLite on {}", file.display()))?;
            println!(
                "raw SQLite: {:.0} commands/s ({} per transaction; WAL, synchronous=FULL)",
                figures.commands_per_s(),
                per_transaction
            );
            runs.push(figures);
        }
        runs
    };

    if let Some(store) = &store {
        for run in &raw {
            let ratio = store.commands_per_s() / run.commands_per_s();
            let words = if ratio < 1.0 {
                format!(
                    "raw SQLite does {:.1}× the store",
                    1.0 / ratio.max(f64::MIN_POSITIVE)
                )
            } else {
                format!("the store does {ratio:.1}× raw SQLite")
            };
            println!(
                "store ÷ raw ({} per transaction): {ratio:.3} ({words})",
                run.per_transaction
            );
        }
    }
    if let Some(path) = &args.json {
        let json = to_json(store.as_ref(), &raw);
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// `{"store": {"tasks", "seconds", "commands", "lifecycles", "commands_per_s",
/// "lifecycles_per_s", "errors": {code: n}}, "raw_batch": R, "raw_one": R}` where `R` is
/// `{"per_transaction", "commands", "seconds", "commands_per_s", "store_ratio"}`; a run not
/// made is null.
fn to_json(store: Option<&StoreFigures>, raw: &[RawFigures]) -> serde_json::Value {
    let store_json = store.map(|s| {
        serde_json::json!({
            "tasks": s.tasks,
            "seconds": s.seconds,
            "commands": s.commands,
            "lifecycles": s.lifecycles,
            "commands_per_s": s.commands_per_s(),
            "lifecycles_per_s": s.lifecycles_per_s(),
            "errors": s.errors,
        })
    });
    let raw_json = |run: Option<&RawFigures>| {
        run.map(|r| {
            serde_json::json!({
                "per_transaction": r.per_transaction,
                "commands": r.commands,
                "seconds": r.seconds,
                "commands_per_s": r.commands_per_s(),
                "store_ratio": store.map(|s| s.commands_per_s() / r.commands_per_s()),
            })
        })
    };
    serde_json::json!({
        "store": store_json,
        "raw_batch": raw_json(raw.first()),
        "raw_one": raw_json(raw.get(1)),
    })
}

/// `tasks` customers doing whole lifecycles through the store for `window`.
async fn store_run(dir: &Path, tasks: usize, window: Duration) -> anyhow::Result<StoreFigures> {
    let bench = Arc::new(store_api::Bench::open(&dir.join("store.db"), tasks).await?);
    let commands = Arc::new(AtomicU64::new(0));
    let lifecycles = Arc::new(AtomicU64::new(0));
    let running = Arc::new(AtomicBool::new(true));
    let mut workers = tokio::task::JoinSet::new();
    let started = Instant::now();
    for customer in 0..tasks {
        let (bench, commands, lifecycles, running) = (
            bench.clone(),
            commands.clone(),
            lifecycles.clone(),
            running.clone(),
        );
        workers.spawn(async move {
            let mut errors = std::collections::BTreeMap::<String, u64>::new();
            while running.load(Ordering::Relaxed) {
                match bench.lifecycle(customer, &commands).await {
                    Ok(()) => {
                        lifecycles.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(code) => *errors.entry(code).or_default() += 1,
                }
            }
            errors
        });
    }
    tokio::time::sleep(window).await;
    // What finished within the window counts; what is in flight finishes uncounted.
    let (done, whole) = (
        commands.load(Ordering::Relaxed),
        lifecycles.load(Ordering::Relaxed),
    );
    let seconds = started.elapsed().as_secs_f64();
    running.store(false, Ordering::Relaxed);
    let mut figures = StoreFigures {
        tasks,
        seconds,
        commands: done,
        lifecycles: whole,
        errors: std::collections::BTreeMap::new(),
    };
    while let Some(joined) = workers.join_next().await {
        for (code, n) in joined.context("a store task panicked")? {
            *figures.errors.entry(code).or_default() += n;
        }
    }
    Ok(figures)
}

/// Every call into the server's store: open it, set the shop up, and one lifecycle. Nothing
/// else in this file knows the store's signatures.
mod store_api {
    use std::path::Path;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, PoisonError};

    use anyhow::Context;
    use chrono::Utc;
    use espresso_core::protocol::{CustomerRef, DrinkChoice, ErrorCode, Role, Shop, ShopId};

    use espresso_server::store::{OrderCommand, Remember, SharedStore, SqliteStore};
    use espresso_server::workflow::Actor;

    const SHOP: &str = "main";

    /// The store, the shop set up for the run, and who orders and makes.
    pub struct Bench {
        store: SharedStore,
        drink: DrinkChoice,
        customers: Vec<CustomerRef>,
        barista: Actor,
        /// The booth code customers scan (replaced when the store refuses it).
        code: Mutex<String>,
    }

    impl Bench {
        /// A new database at `path`: the shop open, its limits out of the way, `customers`
        /// customers and one barista.
        pub async fn open(path: &Path, customers: usize) -> anyhow::Result<Self> {
            let url = format!("sqlite://{}", path.display());
            let store: SharedStore = Arc::new(
                SqliteStore::open(&url, "http://127.0.0.1:8080")
                    .await
                    .with_context(|| format!("cannot open the store at {url}"))?,
            );
            let now = Utc::now();
            let shop: Shop = store
                .update_shop(
                    &ShopId::from(SHOP),
                    now,
                    Box::new(|shop: &mut Shop| {
                        shop.open = true;
                        shop.limits.drinks_per_code = 1_000_000_000;
                        shop.limits.max_queue = 1_000_000_000;
                        shop.limits.max_orders_per_day = 0;
                        Ok(())
                    }),
                    None,
                )
                .await
                .map_err(|e| anyhow::anyhow!("cannot open the shop: {:?}", e.code()))?
                .done()
                .context("a change without a key cannot be a replay")?;
            let drink = shop
                .menu
                .iter()
                .find(|item| item.available)
                .map(|item| DrinkChoice {
                    item_id: item.id.clone(),
                    options: item
                        .modifiers
                        .iter()
                        .filter(|group| group.required)
                        .filter_map(|group| {
                            Some((group.id.clone(), group.options.first()?.clone()))
                        })
                        .collect(),
                })
                .context("the shop has no drink available")?;
            let mut people = Vec::with_capacity(customers);
            for i in 0..customers {
                let user = store
                    .ensure_user(&format!("bench-customer-{i}@bench.espresso.test"), now)
                    .await?;
                people.push(CustomerRef {
                    id: user.id,
                    display_name: None,
                });
            }
            let barista = store
                .ensure_user("bench-barista@bench.espresso.test", now)
                .await?;
            let code = store
                .current_code(&ShopId::from(SHOP), now)
                .await
                .map_err(|e| anyhow::anyhow!("no booth code: {:?}", e.code()))?;
            Ok(Self {
                store,
                drink,
                customers: people,
                barista: Actor::new(barista.id, vec![Role::Barista]),
                code: Mutex::new(code.code),
            })
        }

        /// One whole lifecycle of customer `who`: start (with the booth code and the drink),
        /// claim, complete, collect, each awaited until durable and counted in `commands`.
        /// A refusal or failure is returned as its code.
        pub async fn lifecycle(&self, who: usize, commands: &AtomicU64) -> Result<(), String> {
            let store = &self.store;
            let customer = self.customers.get(who).ok_or("no such customer")?;
            let code = self
                .code
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let started = store
                .start_order(
                    &ShopId::from(SHOP),
                    customer.clone(),
                    &code,
                    Some(self.drink.clone()),
                    Utc::now(),
                    Some(key(&format!("/shops/{SHOP}/orders POST {}", customer.id))),
                )
                .await;
            let order = match started {
                Ok(answer) => answer.done().ok_or("a fresh key was replayed")?,
                Err(error) => {
                    if matches!(
                        error.code(),
                        ErrorCode::CodeExpired | ErrorCode::CodeExhausted | ErrorCode::CodeInvalid
                    ) && let Ok(fresh) =
                        store.current_code(&ShopId::from(SHOP), Utc::now()).await
                    {
                        // Scan again next time.
                        *self.code.lock().unwrap_or_else(PoisonError::into_inner) = fresh.code;
                    }
                    return Err(error.code().as_str().to_owned());
                }
            };
            commands.fetch_add(1, Ordering::Relaxed);
            let by = || self.barista.clone();
            for (step, command) in [
                ("claim", OrderCommand::Claim { by: by() }),
                ("complete", OrderCommand::Complete { by: by() }),
                ("collect", OrderCommand::Collect { by: by() }),
            ] {
                let scope = format!(
                    "/shops/{SHOP}/orders/{}/{step} POST {}",
                    order.id, self.barista.user_id
                );
                store
                    .order_command(
                        &ShopId::from(SHOP),
                        &order.id,
                        command,
                        Utc::now(),
                        Some(key(&scope)),
                    )
                    .await
                    .map_err(|e| e.code().as_str().to_owned())?;
                commands.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
    }

    /// The `Idempotency-Key` every client sends, as the HTTP layer hands it to the store: each
    /// command remembers its answer in its own transaction, as a real request's does.
    fn key(scope: &str) -> Remember {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Remember {
            scope: scope.to_owned(),
            key: format!("bench-{:016x}", NEXT.fetch_add(1, Ordering::Relaxed)),
            request_hash: "bench".to_owned(),
            status: 200,
        }
    }
}

/// The same kind of writes as an order command, straight through rusqlite.
mod raw {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use rusqlite::{Connection, params};

    use super::RawFigures;

    /// The server's tables an order command writes (migration 0001), with their indexes.
    const SCHEMA: &str = "
        CREATE TABLE orders (
            id TEXT PRIMARY KEY, shop TEXT NOT NULL, customer_id TEXT NOT NULL,
            state TEXT NOT NULL, number INTEGER, business_day TEXT NOT NULL,
            created_ms INTEGER NOT NULL, item_id TEXT, placed_ms INTEGER, ready_ms INTEGER,
            body TEXT NOT NULL);
        CREATE INDEX orders_by_shop_state ON orders (shop, state);
        CREATE INDEX orders_by_ready ON orders (shop, ready_ms);
        CREATE INDEX orders_by_item_ready ON orders (shop, item_id, ready_ms);
        CREATE INDEX orders_by_customer ON orders (customer_id, created_ms);
        CREATE TABLE events (
            shop TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, at_ms INTEGER NOT NULL,
            order_id TEXT, customer_id TEXT, body TEXT NOT NULL, PRIMARY KEY (shop, seq));
        CREATE INDEX events_by_order ON events (order_id, seq);
        CREATE TABLE deadlines (
            order_id TEXT PRIMARY KEY, shop TEXT NOT NULL, stage TEXT NOT NULL,
            due_ms INTEGER NOT NULL);
        CREATE INDEX deadlines_by_due ON deadlines (due_ms);
    ";

    const STATES: [&str; 4] = ["queued", "in_progress", "ready", "collected"];
    const EVENTS: [&str; 4] = [
        "order.placed",
        "order.claimed",
        "order.completed",
        "order.collected",
    ];

    /// Where the command stream is: the order (4 commands each) and the shop's `seq`.
    struct Cursor {
        command: u64,
        seq: i64,
        pad_order: String,
        pad_event: String,
    }

    impl Cursor {
        /// One command's writes: the order row, two events, the deadline row.
        fn write(&mut self, conn: &Connection) -> rusqlite::Result<()> {
            let order = self.command / 4;
            let step = usize::try_from(self.command % 4).unwrap_or(0);
            self.command += 1;
            let id = format!("ord_{order:012}");
            let customer = format!("usr_{:06}", order % 300);
            let now = i64::try_from(order).unwrap_or(0) * 10 + 1_800_000_000_000;
            let state = STATES[step];
            let body = format!(
                "{{\"id\":\"{id}\",\"shop\":\"main\",\"state\":\"{state}\",\"pad\":\"{}\"}}",
                self.pad_order
            );
            conn.prepare_cached(
                "INSERT INTO orders (id, shop, customer_id, state, number, business_day,
                                     created_ms, item_id, placed_ms, ready_ms, body)
                 VALUES (?1, 'main', ?2, ?3, ?4, '2026-11-21', ?5, 'flat_white', ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET state = excluded.state, number = excluded.number,
                   item_id = excluded.item_id, placed_ms = excluded.placed_ms,
                   ready_ms = excluded.ready_ms, body = excluded.body",
            )?
            .execute(params![
                id,
                customer,
                state,
                i64::try_from(order % 1000).unwrap_or(0),
                now,
                (step >= 2).then_some(now),
                body
            ])?;
            let mut event = conn.prepare_cached(
                "INSERT INTO events (shop, seq, type, at_ms, order_id, customer_id, body)
                 VALUES ('main', ?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (kind, order_id) in [(EVENTS[step], Some(&id)), ("stats.updated", None)] {
                self.seq += 1;
                let body = format!(
                    "{{\"seq\":{},\"type\":\"{kind}\",\"pad\":\"{}\"}}",
                    self.seq, self.pad_event
                );
                event.execute(params![self.seq, kind, now, order_id, customer, body])?;
            }
            conn.prepare_cached("DELETE FROM deadlines WHERE order_id = ?1")?
                .execute(params![id])?;
            conn.prepare_cached(
                "INSERT INTO deadlines (order_id, shop, stage, due_ms) VALUES (?1, 'main', 'barista', ?2)",
            )?
            .execute(params![id, now + 900_000])?;
            Ok(())
        }
    }

    /// Commands for `window`, `per_transaction` to a transaction, on a new database at `path`.
    pub fn run(
        path: &Path,
        per_transaction: usize,
        window: Duration,
    ) -> rusqlite::Result<RawFigures> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        let mut cursor = Cursor {
            command: 0,
            seq: 0,
            // About 500 bytes an order row, 700 an event (a frame the live stream sends).
            pad_order: "x".repeat(440),
            pad_event: "y".repeat(650),
        };
        let started = Instant::now();
        let mut commands = 0_u64;
        while started.elapsed() < window {
            let tx = conn.transaction()?;
            for _ in 0..per_transaction {
                cursor.write(&tx)?;
            }
            tx.commit()?;
            commands += per_transaction as u64;
        }
        Ok(RawFigures {
            per_transaction,
            commands,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}
