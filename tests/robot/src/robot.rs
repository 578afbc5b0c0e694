//! One run of the robot, from sign-in to the summary.
//!
//! 1. **Setup**: the admin (if given) grants the robot's roles, opens the shop and lifts the
//!    booth's limits (remembered, restored at the end whatever happens); then everyone signs in,
//!    a bounded number at a time.
//! 2. **Sockets**: watchers (the display account's booth screens), the bar's staff screens
//!    (a few staff streams the baristas share, each folded into a `QueueView`) and each
//!    customer's own stream connect; the run waits for their `welcome`s.
//! 3. **Timed phase**: customers start orders (paced across all of them), choose a drink,
//!    follow it live and sometimes cancel while queued; baristas claim the oldest queued order
//!    on their screen that no other robot barista took, make it, complete it and hand it over.
//!    The server's CPU time (utime + stime from `/proc`), its writer thread's and the robot's own
//!    are read at its start and end.
//! 4. **Drain**: no new orders; open ones may end. Then the receivers catch up, the sockets
//!    close, leftovers are cleaned up and the shop is restored.
//!
//! The robot only uses espresso-core's `Client` and `LiveStream`, like every app; it decides
//! nothing the server decides.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use espresso_core::protocol::{
    DrinkChoice, ErrorCode, EventType, Limits, LimitsPatch, MenuItem, NewShop, OrderId, OrderState,
    Role, Scope, ShopId, ShopPatch, UserId,
};
use espresso_core::view::QueueView;
use espresso_core::{
    Client, ClientError, LiveEnd, LiveStatus, LiveStream, LiveUpdate, LiveUpdates, StaffAction,
};
use rand::Rng;
use rand::seq::IndexedRandom;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use crate::codes::CodeBoard;
use crate::config::{Config, Pace, Stop};
use crate::fanout::Fanout;
use crate::pace::{self, Pacer};
use crate::rss::{self, RssSampler};
use crate::signin::SignIn;
use crate::stats::{CallStats, Histogram, error_key};
use crate::summary::Summary;
use crate::ui::Ui;

/// Live sockets connecting at once (the server's listen backlog is finite).
const CONNECTING_AT_ONCE: usize = 256;
/// How long receivers may take to catch up with the last actions after the drain.
const SETTLE_DEADLINE: Duration = Duration::from_secs(5);
/// Pause after a refused start before the customer tries again.
const RETRY_PAUSE: Duration = Duration::from_millis(200);
/// The name of a SQLite server's writer thread (`server/src/store/writer.rs`; docs/OPERATIONS.md,
/// "Durability and the write path"): its CPU is shown apart from the rest of the server's. Linux
/// keeps 15 bytes of a thread's name: this one is exactly 15.
const WRITER_THREAD: &str = "espresso-writer";
/// What the robot sets while it runs (restored afterwards): no booth-level refusals.
const LIFTED: LimitsPatch = LimitsPatch {
    drinks_per_code: Some(1_000_000),
    code_rotation_s: None,
    customer_timeout_s: None,
    barista_timeout_s: None,
    max_queue: Some(1_000_000),
    max_orders_per_day: Some(0),
    ready_display_s: None,
    ready_expiry_s: None,
};

/// Where the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Signing in, connecting.
    Setup,
    /// New orders start.
    Timed,
    /// No new orders; open ones may end.
    Draining,
    /// Everyone stops; sockets close.
    Closing,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Resolves when the run is closing (or its phase can no longer change).
async fn closing(phase: &mut watch::Receiver<Phase>) {
    let _ = phase.wait_for(|p| *p == Phase::Closing).await;
}

/// Resolves when the timed phase is over.
async fn timed_over(phase: &mut watch::Receiver<Phase>) {
    let _ = phase
        .wait_for(|p| matches!(p, Phase::Draining | Phase::Closing))
        .await;
}

/// Live counts, for the progress line and the summary.
#[derive(Debug, Default)]
struct Counts {
    started: AtomicU64,
    collected: AtomicU64,
    collected_timed: AtomicU64,
    cancelled: AtomicU64,
    timed_out: AtomicU64,
    errors: AtomicU64,
    queued: AtomicI64,
    making: AtomicI64,
    ready: AtomicI64,
}

impl Counts {
    fn gauge(&self, state: OrderState) -> Option<&AtomicI64> {
        match state {
            OrderState::Queued => Some(&self.queued),
            OrderState::InProgress => Some(&self.making),
            OrderState::Ready => Some(&self.ready),
            _ => None,
        }
    }

    /// The customer stopped following an order in `state`.
    fn forget(&self, state: OrderState) {
        self.moved(state, OrderState::AwaitingDrink);
    }

    /// An order moved from `from` to `to`.
    fn moved(&self, from: OrderState, to: OrderState) {
        if let Some(gauge) = self.gauge(from) {
            gauge.fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(gauge) = self.gauge(to) {
            gauge.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Counts of live sockets that said `welcome` (or gave up before).
#[derive(Debug)]
struct Welcomes {
    counts: watch::Sender<(u64, u64)>,
    last: Mutex<Option<Instant>>,
}

impl Welcomes {
    fn new() -> Self {
        Self {
            counts: watch::channel((0, 0)).0,
            last: Mutex::new(None),
        }
    }

    fn welcomed(&self) {
        *lock(&self.last) = Some(Instant::now());
        self.counts.send_modify(|(welcomed, _)| *welcomed += 1);
    }

    fn failed(&self) {
        self.counts.send_modify(|(_, failed)| *failed += 1);
    }

    fn welcomed_count(&self) -> u64 {
        self.counts.borrow().0
    }

    /// Wait until `total` sockets said `welcome` or failed, or `deadline` passed.
    async fn wait(&self, total: u64, deadline: Duration, stop: &Stop) {
        let mut counts = self.counts.subscribe();
        tokio::select! {
            _ = tokio::time::timeout(deadline, counts.wait_for(|(w, f)| w + f >= total)) => {}
            () = stop.stopped() => {}
        }
    }
}

/// What every task of the run shares.
struct Shared {
    config: Config,
    ui: Ui,
    phase: watch::Sender<Phase>,
    calls: Arc<Mutex<CallStats>>,
    counts: Counts,
    fanout: Fanout,
    pacer: Pacer,
    codes: Option<CodeBoard>,
    menu: Vec<MenuItem>,
    /// Orders started by this run's customers (only their fan-out is measured).
    ours: Mutex<HashSet<OrderId>>,
    /// Open orders of this run: id → the customer's index.
    open: Mutex<HashMap<OrderId, usize>>,
    /// Orders a robot barista has taken; the others leave them alone.
    taken: Mutex<HashSet<OrderId>>,
    /// The user ids of the robot's customers: robot baristas make only their orders (a real
    /// customer at the booth during a demo gets a real drink from a real barista).
    robot_customers: HashSet<UserId>,
    /// Still in the timed phase (lifecycles/s counts only those collected in it).
    timed: AtomicBool,
}

impl Shared {
    fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    fn record(&self, call: &'static str, took: Duration) {
        lock(&self.calls).record(call, took);
    }

    fn error(&self, key: impl Into<String>) {
        self.counts.errors.fetch_add(1, Ordering::Relaxed);
        lock(&self.calls).error(key);
    }

    fn client_error(&self, error: &ClientError) {
        self.error(error_key(error));
    }

    fn expected(&self, key: impl Into<String>) {
        lock(&self.calls).expected(key);
    }

    /// Another barista was first (a stale screen, or a person at the booth).
    fn lost_race(&self) {
        lock(&self.calls).lost_races += 1;
    }

    fn is_ours(&self, order_id: &OrderId) -> bool {
        lock(&self.ours).contains(order_id)
    }

    /// A drink from the menu, with an option for every required group (and sometimes for an
    /// optional one).
    fn random_drink(&self) -> Option<DrinkChoice> {
        let mut rng = rand::rng();
        let available: Vec<&MenuItem> = self.menu.iter().filter(|item| item.available).collect();
        let item = available.choose(&mut rng)?;
        let mut options = std::collections::BTreeMap::new();
        for group in &item.modifiers {
            if !(group.required || rng.random_bool(0.5)) {
                continue;
            }
            if let Some(option) = group.options.choose(&mut rng) {
                options.insert(group.id.clone(), option.clone());
            }
        }
        Some(DrinkChoice {
            item_id: item.id.clone(),
            options,
        })
    }

    fn status_line(&self, since: Instant) -> String {
        let c = &self.counts;
        let started = c.started.load(Ordering::Relaxed);
        let elapsed = since.elapsed();
        let pace = match self.config.pace {
            // The demo: a rate of 0.0 says nothing; how long the board has been alive does.
            Pace::Gaps(_) => format!(
                "running {}m{:02}s",
                elapsed.as_secs() / 60,
                elapsed.as_secs() % 60
            ),
            Pace::Rate(_) => format!(
                "{:.1} orders/s",
                started as f64 / elapsed.as_secs_f64().max(0.001)
            ),
        };
        format!(
            "started {started} · queued {} · making {} · ready {} · done {} · cancelled {} · \
             errors {} · {pace}",
            c.queued.load(Ordering::Relaxed).max(0),
            c.making.load(Ordering::Relaxed).max(0),
            c.ready.load(Ordering::Relaxed).max(0),
            c.collected.load(Ordering::Relaxed),
            c.cancelled.load(Ordering::Relaxed),
            c.errors.load(Ordering::Relaxed),
        )
    }
}

/// The shop as it was before the robot changed it, and who may put it back.
struct ShopGuard {
    client: Client,
    shop: ShopId,
    open: bool,
    /// `None`: the robot did not touch the limits (no admin).
    limits: Option<Limits>,
}

impl ShopGuard {
    async fn restore(&self) -> Result<(), ClientError> {
        let patch = ShopPatch {
            name: None,
            time_zone: None,
            archived: None,
            open: Some(self.open),
            limits: self.limits.map(|l| LimitsPatch {
                drinks_per_code: Some(l.drinks_per_code),
                code_rotation_s: Some(l.code_rotation_s),
                customer_timeout_s: Some(l.customer_timeout_s),
                barista_timeout_s: Some(l.barista_timeout_s),
                max_queue: Some(l.max_queue),
                max_orders_per_day: Some(l.max_orders_per_day),
                ready_display_s: Some(l.ready_display_s),
                ready_expiry_s: Some(l.ready_expiry_s),
            }),
        };
        self.client.patch_shop(&self.shop, &patch).await.map(|_| ())
    }
}

/// A refusal in plain words, for setup failures.
fn refused(error: ClientError, what: &str) -> anyhow::Error {
    match error.code() {
        Some(ErrorCode::Forbidden) => anyhow!("{what}: refused (403 forbidden): {error}"),
        _ => anyhow!(error).context(what.to_owned()),
    }
}

/// Run the robot with `config` until its duration (and drain) is over or `stop` fires; the
/// shop is restored before this returns, also after an error or a stop.
pub async fn run(config: Config, stop: Stop) -> anyhow::Result<Summary> {
    config.validate().map_err(anyhow::Error::msg)?;
    let started = Instant::now();
    let ui = Ui::new(config.progress);
    let mut notes = Vec::new();

    match rss::raise_files_limit() {
        Ok(limit) if limit.now < config.sockets_needed() => notes.push(format!(
            "this process may open {} files (its hard limit), but the run may need about {}: \
             raise it with `ulimit -Hn` before running",
            limit.now,
            config.sockets_needed()
        )),
        Ok(_) => {}
        Err(error) => notes.push(format!("could not raise the open-files limit: {error}")),
    }

    let probe = Client::new(&config.server).context("--server")?;
    let mut probes = HashMap::new();
    for server in config.all_servers() {
        let client = Client::new(&server).context("--servers")?;
        client
            .health()
            .await
            .with_context(|| format!("cannot reach the Espresso server at {server}"))?;
        probes.insert(server, client);
    }
    probe
        .health()
        .await
        .with_context(|| format!("cannot reach the Espresso server at {}", config.server))?;
    let port = probe.base_url().port_or_known_default();
    let pid = config
        .server_pid
        .or_else(|| port.and_then(rss::find_listener));
    match pid {
        None => notes.push(
            "server RSS: unknown (no process on this machine found listening on the server's \
             port; give --server-pid)"
                .into(),
        ),
        Some(pid) => {
            if let Some(limit) = rss::max_open_files(pid)
                && limit < config.sockets_needed()
            {
                notes.push(format!(
                    "the server (pid {pid}) may open only {limit} files: raise its limit \
                     (`ulimit -n`) for this many sockets"
                ));
            }
        }
    }
    for note in &notes {
        ui.note(note);
    }
    let sampler = RssSampler::start(pid);
    let calls = Arc::new(Mutex::new(CallStats::default()));

    let mut guard = None;
    let outcome = drive(&config, &stop, &ui, &calls, &sampler, &mut guard, &probes).await;
    if let Some(guard) = guard
        && let Err(error) = guard.restore().await
    {
        let note = format!("could not restore the shop's limits and open state: {error}");
        ui.note(&note);
        notes.push(note);
    }
    ui.finish();
    let mut summary = outcome?;
    summary.server_pid = pid;
    summary.server_rss_peak = sampler.peak();
    summary.elapsed = started.elapsed();
    summary.notes.splice(0..0, notes);
    Ok(summary)
}

/// Everything between the checks and the restore.
async fn drive(
    config: &Config,
    stop: &Stop,
    ui: &Ui,
    calls: &Arc<Mutex<CallStats>>,
    sampler: &RssSampler,
    guard: &mut Option<ShopGuard>,
    probes: &HashMap<String, Client>,
) -> anyhow::Result<Summary> {
    let probe = probes
        .get(&config.server)
        .context("the first server has no client")?;
    let mail_dir = config
        .mail_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let signer = SignIn::new(probe, mail_dir, stop.clone(), calls.clone(), ui.clone());
    let signer_at = |server: &str| {
        probes
            .get(server)
            .map_or_else(|| signer.clone(), |p| signer.at(p))
    };
    let shop_id = &config.shop;
    let mut admin = None;
    if let Some(email) = &config.admin {
        ui.status(format!("signing in the admin {email}"));
        let sign_in = || async {
            signer
                .sign_in(email)
                .await
                .with_context(|| format!("cannot sign in the admin {email} (--admin)"))
        };
        admin = Some(match &config.shared_admin {
            Some(shared) => shared.get_or_try_init(sign_in).await?.clone(),
            None => sign_in().await?,
        });
    }
    let mut shop = probe.shop(shop_id).await;
    if let (Some(admin), true) = (&admin, config.create_shop)
        && matches!(&shop, Err(error) if error.code() == Some(&ErrorCode::NotFound))
    {
        let new = NewShop {
            id: shop_id.clone(),
            name: format!("Robot shop {shop_id}"),
            time_zone: None,
        };
        shop = admin.create_shop(&new).await;
    }
    let shop = shop.map_err(|error| match error.code() {
        Some(ErrorCode::NotFound) => anyhow!("the server has no shop {shop_id:?} (--shop)"),
        _ => anyhow!(error).context("cannot read the shop"),
    })?;

    // --- Setup: the admin grants roles, opens the shop, lifts its limits -------------------
    if let Some(admin) = admin {
        let mut grants: Vec<(String, Role)> = (1..=config.baristas)
            .map(|i| (config.barista_email(i), Role::Barista))
            .collect();
        if config.needs_display() {
            grants.push((config.display_email(), Role::Display));
        }
        for (email, role) in grants {
            admin.set_roles(&email, &[role]).await.map_err(|e| {
                refused(
                    e,
                    &format!(
                        "cannot give {email} the {role:?} role as {}",
                        admin_name(config)
                    ),
                )
            })?;
        }
        let lifted = ShopPatch {
            name: None,
            open: Some(true),
            limits: Some(LIFTED),
            time_zone: None,
            archived: None,
        };
        admin
            .patch_shop(shop_id, &lifted)
            .await
            .map_err(|e| refused(e, "cannot open the shop and lift its limits as the admin"))?;
        *guard = Some(ShopGuard {
            client: admin,
            shop: shop_id.to_owned(),
            open: shop.open,
            limits: Some(shop.limits),
        });
    }

    // --- Everyone signs in --------------------------------------------------------------------
    let people = config.customers + config.baristas + usize::from(config.needs_display());
    ui.note(&format!(
        "signing in {} ({} at a time)…",
        if people == 1 {
            "1 simulated person".to_owned()
        } else {
            format!("{people} simulated people")
        },
        config.sign_in_concurrency
    ));
    let display = if config.needs_display() {
        let email = config.display_email();
        let display = signer_at(&config.display_server()).sign_in(&email).await?;
        require_role(&display, Role::Display, &email)?;
        Some(display)
    } else {
        None
    };
    let barista_emails: Vec<String> = (1..=config.baristas)
        .map(|i| config.barista_email(i))
        .collect();
    let baristas = signer
        .sign_in_all(
            barista_emails.clone(),
            config.sign_in_concurrency,
            "baristas",
        )
        .await?;
    for (client, email) in baristas.iter().zip(&barista_emails) {
        require_role(client, Role::Barista, email)?;
    }
    let customer_emails: Vec<String> = (1..=config.customers)
        .map(|i| config.customer_email(i))
        .collect();
    let customer_people = customer_emails
        .into_iter()
        .enumerate()
        .map(|(i, email)| (signer_at(&config.customer_server(i)), email))
        .collect();
    let customers = signer
        .sign_in_each(customer_people, config.sign_in_concurrency, "customers")
        .await?;
    // Orders left open by an earlier run that was killed would refuse this run's starts.
    let mut tidy = JoinSet::new();
    for client in &customers {
        let client = client.clone();
        let shop = shop_id.clone();
        tidy.spawn(async move { cancel_leftovers(&client, &shop).await });
    }
    while tidy.join_next().await.is_some() {}

    // Without an admin a barista may still open the shop (and closes it again at the end).
    if guard.is_none() && !shop.open {
        match baristas.first() {
            Some(barista) => {
                barista
                    .set_shop_open(shop_id, true)
                    .await
                    .map_err(|e| refused(e, "cannot open the shop as a barista"))?;
                *guard = Some(ShopGuard {
                    client: barista.clone(),
                    shop: shop_id.to_owned(),
                    open: false,
                    limits: None,
                });
            }
            None if config.customers > 0 => {
                bail!("the shop {shop_id:?} is closed: give --admin or a barista to open it")
            }
            None => {}
        }
    }
    let menu = probe
        .shop(shop_id)
        .await
        .map(|s| s.menu)
        .unwrap_or(shop.menu);
    if stop.is_stopped() {
        bail!("stopped before the run began");
    }

    let (phase, _) = watch::channel(Phase::Setup);
    let pacer = match config.pace {
        Pace::Rate(rate) => Pacer::rate(rate),
        Pace::Gaps(gap) => Pacer::gaps(gap),
    };
    let shared = Arc::new(Shared {
        config: config.clone(),
        ui: ui.clone(),
        phase,
        calls: calls.clone(),
        counts: Counts::default(),
        fanout: Fanout::new(),
        pacer,
        codes: display.as_ref().map(|d| CodeBoard::new(d.clone(), shop_id)),
        menu,
        ours: Mutex::new(HashSet::new()),
        open: Mutex::new(HashMap::new()),
        taken: Mutex::new(HashSet::new()),
        robot_customers: customers
            .iter()
            .filter_map(|c| c.user().map(|user| user.id))
            .collect(),
        timed: AtomicBool::new(false),
    });
    if config.customers > 0 && shared.random_drink().is_none() {
        bail!("the shop's menu has no drink available to order");
    }

    // --- Sockets ---------------------------------------------------------------------------
    let server_rss_before = sampler.sample();
    let mut receivers: JoinSet<Histogram> = JoinSet::new();
    let watchers = Arc::new(Welcomes::new());
    let watch_start = Instant::now();
    if let Some(display) = &display {
        let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
        for _ in 0..config.watchers {
            receivers.spawn(watcher(
                shared.clone(),
                display.clone(),
                gate.clone(),
                watchers.clone(),
            ));
        }
        receivers.spawn(code_board(shared.clone(), display.clone()));
    }
    let streams = Arc::new(Welcomes::new());
    let mut inboxes = Vec::with_capacity(customers.len());
    for client in &customers {
        let (tx, rx) = mpsc::unbounded_channel();
        receivers.spawn(customer_stream(
            shared.clone(),
            client.clone(),
            tx,
            streams.clone(),
        ));
        inboxes.push(rx);
    }
    // The bar's screens: the first few baristas' tablets, shared by all of them.
    let screens = config.screens();
    let mut views = Vec::with_capacity(screens);
    let mut feeds = JoinSet::new();
    for client in baristas.iter().take(screens) {
        let view = Arc::new(Mutex::new(QueueView::new(shop_id)));
        let (changed, changed_rx) = watch::channel(0_u64);
        feeds.spawn(barista_stream(
            shared.clone(),
            client.clone(),
            view.clone(),
            changed,
            streams.clone(),
        ));
        views.push((view, changed_rx));
    }
    if config.watchers > 0 {
        ui.note(&format!("connecting {} watcher sockets…", config.watchers));
    }
    let deadline = config.connect_deadline;
    let ticker = (config.watchers > 0).then(|| {
        let watchers = watchers.clone();
        let ui = ui.clone();
        let total = config.watchers;
        tokio::spawn(async move {
            loop {
                ui.status(format!(
                    "watchers: {}/{total} connected",
                    watchers.welcomed_count()
                ));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    });
    watchers.wait(config.watchers as u64, deadline, stop).await;
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    let watchers_connected = watchers.welcomed_count();
    let watchers_connect = lock(&watchers.last).map_or(Duration::ZERO, |last| {
        last.saturating_duration_since(watch_start)
    });
    if watchers_connected < config.watchers as u64 {
        ui.note(&format!(
            "only {watchers_connected} of {} watcher sockets said welcome within {deadline:?}",
            config.watchers
        ));
    }
    let person_streams = (config.customers + screens) as u64;
    streams.wait(person_streams, deadline, stop).await;
    if streams.welcomed_count() < person_streams && !stop.is_stopped() {
        shared.phase.send_replace(Phase::Closing);
        bail!(
            "only {} of {person_streams} customer and staff-screen live streams connected within {deadline:?}",
            streams.welcomed_count()
        );
    }

    // --- Timed phase -------------------------------------------------------------------------
    if let Some(gate) = &config.start_gate {
        // The other shops' robots of this process: start the clock together.
        tokio::select! {
            _ = gate.wait() => {}
            () = stop.stopped() => bail!("stopped before the run began"),
        }
    }
    let server_pids: Vec<u32> = sampler
        .pid()
        .into_iter()
        .chain(config.cpu_pids.iter().copied())
        .collect();
    let cpu_start = rss::cpu_time_of(&server_pids);
    let writer_start = sampler
        .pid()
        .and_then(|pid| rss::thread_cpu_times(pid, WRITER_THREAD));
    let robot_start = rss::cpu_time(std::process::id());
    let database_start = config.database_pid.and_then(rss::cpu_time_with_children);
    let timed_start = Instant::now();
    shared.timed.store(true, Ordering::Relaxed);
    shared.phase.send_replace(Phase::Timed);
    let mut shoppers = JoinSet::new();
    for (index, (client, inbox)) in customers.iter().zip(inboxes).enumerate() {
        shoppers.spawn(customer(shared.clone(), index, client.clone(), inbox));
    }
    let mut bar = JoinSet::new();
    for (index, client) in baristas.iter().enumerate() {
        if let Some((view, changed)) = views.get(index % screens.max(1)) {
            bar.spawn(barista(
                shared.clone(),
                client.clone(),
                view.clone(),
                changed.clone(),
            ));
        }
    }
    let progress = tokio::spawn(progress(shared.clone(), timed_start));
    match config.duration {
        Some(duration) => {
            tokio::select! {
                () = tokio::time::sleep(duration) => {}
                () = stop.stopped() => {}
            }
        }
        None => stop.stopped().await,
    }
    let timed_phase = timed_start.elapsed();
    shared.timed.store(false, Ordering::Relaxed);
    // The writer is read inside the server's window (after its start, before its end).
    let writer_end = sampler
        .pid()
        .and_then(|pid| rss::thread_cpu_times(pid, WRITER_THREAD));
    let cpu_end = rss::cpu_time_of(&server_pids);
    let robot_end = rss::cpu_time(std::process::id());
    let server_cpu_timed = rss::cpu_between(cpu_start, cpu_end);
    let writer_cpu_timed = writer_start
        .zip(writer_end)
        .map(|(start, end)| rss::threads_cpu_between(&start, &end));
    let robot_cpu_timed = rss::cpu_between(robot_start, robot_end);
    let database_cpu_timed = rss::cpu_between(
        database_start,
        config.database_pid.and_then(rss::cpu_time_with_children),
    );

    // --- Drain ----------------------------------------------------------------------------------
    let drain_start = Instant::now();
    if stop.is_stopped() {
        shared.phase.send_replace(Phase::Closing);
    } else {
        shared.phase.send_replace(Phase::Draining);
        let drained = async { while shoppers.join_next().await.is_some() {} };
        tokio::select! {
            _ = tokio::time::timeout(config.drain, drained) => {}
            () = stop.stopped() => {}
        }
    }
    let drain = drain_start.elapsed();
    let receivers_per_action = u32::try_from(watchers_connected + 1).unwrap_or(u32::MAX);
    if !stop.is_stopped() {
        // The customer saw the last collect; the watchers may be a moment behind.
        let settle = async {
            while shared.fanout.pending(receivers_per_action) > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let _ = tokio::time::timeout(SETTLE_DEADLINE, settle).await;
    }
    shared.phase.send_replace(Phase::Closing);
    progress.abort();
    while shoppers.join_next().await.is_some() {}
    while bar.join_next().await.is_some() {}
    let mut fanout_each = Histogram::new();
    while let Some(received) = receivers.join_next().await {
        if let Ok(histogram) = received {
            fanout_each.merge(&histogram);
        }
    }
    while feeds.join_next().await.is_some() {}

    // --- Leftovers --------------------------------------------------------------------------------
    let unfinished = clean_up(&shared, &customers, baristas.first()).await;
    let settled = shared.fanout.settle(receivers_per_action);
    let mut calls = lock(&shared.calls).clone();
    if let Some(codes) = &shared.codes {
        let fetched = codes.latencies();
        if fetched.count() > 0 {
            calls.calls.entry("booth_code").or_default().merge(&fetched);
        }
    }
    let counts = &shared.counts;
    Ok(Summary {
        server: config.server.clone(),
        shop: config.shop.to_string(),
        customers: config.customers,
        baristas: config.baristas,
        barista_screens: screens,
        setup: describe(config),
        elapsed: Duration::ZERO,
        timed_phase,
        drain,
        orders_started: counts.started.load(Ordering::Relaxed),
        lifecycles_completed: counts.collected.load(Ordering::Relaxed),
        lifecycles_in_timed_phase: counts.collected_timed.load(Ordering::Relaxed),
        cancelled: counts.cancelled.load(Ordering::Relaxed),
        timed_out: counts.timed_out.load(Ordering::Relaxed),
        unfinished,
        calls,
        fanout_each,
        fanout_all: settled.all_saw,
        fanout_actions: settled.actions,
        fanout_receivers: u64::from(receivers_per_action),
        fanout_missed: settled.missed,
        watchers_requested: config.watchers as u64,
        watchers_connected,
        watchers_connect,
        server_pid: None,
        server_rss_before,
        server_rss_peak: None,
        server_cpu_timed,
        writer_cpu_timed,
        robot_cpu_timed,
        database_cpu_timed,
        notes: Vec::new(),
    })
}

/// The pacing of a run in words, for the end table.
fn describe(config: &Config) -> String {
    if config.customers == 0 && config.baristas == 0 {
        return "idle sockets: the watchers only, no orders".to_owned();
    }
    let pace = match config.pace {
        Pace::Rate(rate) if rate > 0.0 => format!("{rate} orders/s"),
        Pace::Rate(_) => "as fast as they can".to_owned(),
        Pace::Gaps(gap) => format!("an order every {gap}"),
    };
    format!(
        "{pace}; make {}, hand over {}; {:.0}% cancel while queued",
        config.make_time,
        config.handover,
        config.cancel_rate * 100.0
    )
}

fn admin_name(config: &Config) -> String {
    config.admin.clone().unwrap_or_else(|| "the admin".into())
}

/// A signed-in account must hold `role`, or the run cannot do its part.
fn require_role(client: &Client, role: Role, email: &str) -> anyhow::Result<()> {
    if client.user().is_some_and(|user| user.can_act_as(role)) {
        return Ok(());
    }
    let name = format!("{role:?}").to_lowercase();
    bail!(
        "{email} does not have the {name} role: pass --admin EMAIL (an admin account) so the \
         robot grants it, or run `espresso-server users grant {email} {name}`"
    )
}

/// Cancel what `client`'s customer left waiting in `shop` (awaiting a drink, or queued).
pub(crate) async fn cancel_leftovers(client: &Client, shop: &ShopId) {
    let Ok(orders) = client.my_orders().await else {
        return;
    };
    for order in orders {
        if order.shop == *shop
            && matches!(order.state, OrderState::AwaitingDrink | OrderState::Queued)
        {
            let _ = client
                .cancel_order(shop, &order.id, Some("robot: cleaning up"))
                .await;
        }
    }
}

/// The booth code on the display: updated by its events.
async fn code_board(shared: Arc<Shared>, display: Client) -> Histogram {
    let mut phase = shared.phase.subscribe();
    let (_stream, mut updates) = LiveStream::connect(&display, &shared.config.shop);
    loop {
        let update = tokio::select! {
            update = updates.next() => update,
            () = closing(&mut phase) => break,
        };
        match update {
            Some(LiveUpdate::Event { event, .. }) => {
                let event = *event;
                if let (Some(code), Some(board)) = (event.code, &shared.codes) {
                    board.show(code);
                }
            }
            Some(LiveUpdate::Status(LiveStatus::Ended(_))) | None => break,
            Some(_) => {}
        }
    }
    Histogram::new()
}

/// One booth screen: a live socket of the display account that notes when each barista
/// action reaches it.
async fn watcher(
    shared: Arc<Shared>,
    display: Client,
    gate: Arc<Semaphore>,
    welcomes: Arc<Welcomes>,
) -> Histogram {
    let mut phase = shared.phase.subscribe();
    let mut latencies = Histogram::new();
    let turn = tokio::select! {
        turn = gate.acquire_owned() => turn.ok(),
        () = closing(&mut phase) => return latencies,
    };
    let mut turn = turn;
    let (_stream, updates) = LiveStream::connect(&display, &shared.config.shop);
    receive(&shared, updates, &mut phase, |update, at| match update {
        Received::Welcome => {
            turn = None;
            welcomes.welcomed();
        }
        Received::GaveUp => welcomes.failed(),
        Received::Order(id, kind, _) => {
            if let Some(latency) = shared.fanout.seen(id, kind, at) {
                latencies.record(latency);
            }
        }
    })
    .await;
    drop(turn);
    latencies
}

/// What a live stream brought, as the robot's receivers care about it.
enum Received<'a> {
    /// The first `welcome`.
    Welcome,
    /// The stream ended before any `welcome`.
    GaveUp,
    /// An order event: its id, type and the order's state after it.
    Order(&'a str, EventType, OrderState),
}

/// Read `updates` until the run closes or the stream ends, handing each one to `on` with the
/// instant it arrived. Reconnects after the first `welcome` are counted as `live_reconnect`.
async fn receive(
    shared: &Shared,
    mut updates: LiveUpdates,
    phase: &mut watch::Receiver<Phase>,
    mut on: impl FnMut(Received<'_>, Instant),
) {
    let mut welcomed = false;
    loop {
        let update = tokio::select! {
            update = updates.next() => update,
            () = closing(phase) => break,
        };
        let at = Instant::now();
        match update {
            Some(LiveUpdate::Event { event, .. }) => {
                if let Some(order) = &event.order {
                    on(Received::Order(&order.id, event.kind, order.state), at);
                }
            }
            Some(LiveUpdate::Status(LiveStatus::Connected { .. })) => {
                if !welcomed {
                    welcomed = true;
                    on(Received::Welcome, at);
                }
            }
            Some(LiveUpdate::Status(LiveStatus::Reconnecting { .. })) => {
                if welcomed {
                    shared.error("live_reconnect");
                }
            }
            // Nothing to reload: these receivers keep no state (a customer whose order's end
            // was lost is settled through REST at the end).
            Some(LiveUpdate::Reset { .. }) => {}
            Some(LiveUpdate::Status(LiveStatus::Ended(end))) => {
                if !welcomed {
                    on(Received::GaveUp, at);
                } else if end != LiveEnd::Closed {
                    shared.error("live_ended");
                }
                break;
            }
            None => break,
        }
    }
}

/// A customer's phone: their own live stream. Notes the fan-out of their orders and passes
/// each order event on to the customer.
async fn customer_stream(
    shared: Arc<Shared>,
    client: Client,
    inbox: mpsc::UnboundedSender<(String, OrderState)>,
    welcomes: Arc<Welcomes>,
) -> Histogram {
    let mut phase = shared.phase.subscribe();
    let mut latencies = Histogram::new();
    let (_stream, updates) = LiveStream::connect(&client, &shared.config.shop);
    receive(&shared, updates, &mut phase, |update, at| match update {
        Received::Welcome => welcomes.welcomed(),
        Received::GaveUp => welcomes.failed(),
        Received::Order(id, kind, state) => {
            if let Some(latency) = shared.fanout.seen(id, kind, at) {
                latencies.record(latency);
            }
            let _ = inbox.send((id.to_owned(), state));
        }
    })
    .await;
    latencies
}

/// One of the bar's tablets: a staff stream folded into a `QueueView` that the baristas
/// working from it share.
async fn barista_stream(
    shared: Arc<Shared>,
    client: Client,
    view: Arc<Mutex<QueueView>>,
    changed: watch::Sender<u64>,
    welcomes: Arc<Welcomes>,
) {
    let mut phase = shared.phase.subscribe();
    let shop = shared.config.shop.clone();
    let (_stream, mut updates) = LiveStream::connect(&client, &shop);
    let mut welcomed = false;
    let mut loaded = false;
    loop {
        let update = tokio::select! {
            update = updates.next() => update,
            () = closing(&mut phase) => break,
        };
        match update {
            Some(LiveUpdate::Status(LiveStatus::Connected { head, scope })) => {
                // A resumed stream replays what it missed; only the first welcome loads.
                if !loaded {
                    loaded = load_view(&shared, &client, &view, head).await;
                    changed.send_modify(|n| *n += 1);
                }
                if !welcomed {
                    welcomed = true;
                    if scope == Scope::Staff {
                        welcomes.welcomed();
                    } else {
                        welcomes.failed();
                    }
                }
            }
            Some(LiveUpdate::Status(LiveStatus::Reconnecting { .. })) => {
                if welcomed {
                    shared.error("live_reconnect");
                }
            }
            Some(LiveUpdate::Event { seq, event }) => {
                if lock(&view).apply(seq, &event) {
                    changed.send_modify(|n| *n += 1);
                }
            }
            Some(LiveUpdate::Reset { head }) => {
                load_view(&shared, &client, &view, head).await;
                changed.send_modify(|n| *n += 1);
            }
            Some(LiveUpdate::Status(LiveStatus::Ended(_))) | None => {
                if !welcomed {
                    welcomes.failed();
                }
                break;
            }
        }
    }
}

/// The bar's open orders through REST, as they are at `head`.
async fn load_view(shared: &Shared, client: &Client, view: &Mutex<QueueView>, head: u64) -> bool {
    let states = [
        OrderState::AwaitingDrink,
        OrderState::Queued,
        OrderState::InProgress,
        OrderState::Ready,
    ];
    match client.orders(&shared.config.shop, &states, Some(500)).await {
        Ok(orders) => {
            lock(view).load(orders, head);
            true
        }
        Err(error) => {
            shared.client_error(&error);
            false
        }
    }
}

/// How an order the customer followed ended.
enum Followed {
    Ended(OrderState),
    /// The run closed first.
    Abandoned,
}

/// A simulated customer: scan, order, choose, follow it until it ends (sometimes cancelling
/// while queued), then wait for the next slot.
async fn customer(
    shared: Arc<Shared>,
    index: usize,
    client: Client,
    mut inbox: mpsc::UnboundedReceiver<(String, OrderState)>,
) {
    let shop = shared.config.shop.clone();
    let mut phase = shared.phase.subscribe();
    loop {
        if shared.phase() != Phase::Timed {
            break;
        }
        let slot = shared.pacer.reserve();
        tokio::select! {
            () = pace::wait_until(slot) => {}
            () = timed_over(&mut phase) => break,
        }
        let Some(order_id) = start(&shared, &client).await else {
            tokio::select! {
                () = tokio::time::sleep(RETRY_PAUSE) => {}
                () = timed_over(&mut phase) => break,
            }
            continue;
        };
        shared.counts.started.fetch_add(1, Ordering::Relaxed);
        lock(&shared.ours).insert(order_id.clone());
        lock(&shared.open).insert(order_id.clone(), index);

        let Some(drink) = shared.random_drink() else {
            break;
        };
        let asked = Instant::now();
        let chosen = client.choose_drink(&shop, &order_id, &drink).await;
        shared.record("choose_drink", asked.elapsed());
        if let Err(error) = chosen {
            shared.client_error(&error);
            if client
                .cancel_order(&shop, &order_id, Some("robot: could not choose"))
                .await
                .is_ok()
            {
                shared.counts.cancelled.fetch_add(1, Ordering::Relaxed);
                lock(&shared.open).remove(&order_id);
            }
            continue;
        }
        let cancel_at = {
            let mut rng = rand::rng();
            rng.random_bool(shared.config.cancel_rate)
                .then(|| Instant::now() + shared.config.cancel_after.sample(&mut rng))
        };
        match follow(
            &shared, &client, &order_id, cancel_at, &mut inbox, &mut phase,
        )
        .await
        {
            Followed::Ended(state) => {
                lock(&shared.open).remove(&order_id);
                let counts = &shared.counts;
                match state {
                    OrderState::Collected => {
                        counts.collected.fetch_add(1, Ordering::Relaxed);
                        if shared.timed.load(Ordering::Relaxed) {
                            counts.collected_timed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    OrderState::Cancelled => {
                        counts.cancelled.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        counts.timed_out.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Followed::Abandoned => break,
        }
    }
}

/// Start an order with the booth code; a refused code is replaced and tried again.
async fn start(shared: &Shared, client: &Client) -> Option<OrderId> {
    let codes = shared.codes.as_ref()?;
    let shop = &shared.config.shop;
    for _ in 0..4 {
        let code = match codes.current().await {
            Ok(code) => code,
            Err(error) => {
                shared.client_error(&error);
                return None;
            }
        };
        let asked = Instant::now();
        let started = client.start_order(shop, &code, None).await;
        shared.record("start_order", asked.elapsed());
        match started {
            Ok(order) => return Some(order.id),
            Err(error) => match error.code() {
                Some(
                    code_error @ (ErrorCode::CodeExpired
                    | ErrorCode::CodeExhausted
                    | ErrorCode::CodeInvalid),
                ) => {
                    // The code rotated or ran out between the scan and the start: scan again.
                    shared.expected(code_error.as_str());
                    codes.refused(&code);
                }
                Some(ErrorCode::OpenOrderExists) => {
                    shared.client_error(&error);
                    cancel_leftovers(client, shop).await;
                    return None;
                }
                _ => {
                    shared.client_error(&error);
                    return None;
                }
            },
        }
    }
    None
}

/// Follow the order on the customer's own stream until it ends; cancel it at `cancel_at` if
/// it is still queued then.
async fn follow(
    shared: &Shared,
    client: &Client,
    order_id: &OrderId,
    mut cancel_at: Option<Instant>,
    inbox: &mut mpsc::UnboundedReceiver<(String, OrderState)>,
    phase: &mut watch::Receiver<Phase>,
) -> Followed {
    let counts = &shared.counts;
    let mut state = OrderState::AwaitingDrink;
    loop {
        let cancel = async {
            match cancel_at {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            update = inbox.recv() => {
                let Some((id, new_state)) = update else {
                    counts.forget(state);
                    return Followed::Abandoned;
                };
                if id != order_id.as_str() {
                    continue;
                }
                counts.moved(state, new_state);
                state = new_state;
                if state.is_finished() {
                    return Followed::Ended(state);
                }
            }
            () = cancel => {
                cancel_at = None;
                if state == OrderState::Queued {
                    let asked = Instant::now();
                    let cancelled = client
                        .cancel_order(&shared.config.shop, order_id, Some("changed my mind"))
                        .await;
                    shared.record("cancel", asked.elapsed());
                    match cancelled {
                        Ok(_) => {}
                        // A barista claimed it first: the drink is coming anyway.
                        Err(error) if error.code() == Some(&ErrorCode::InvalidTransition) => {
                            shared.expected("invalid_transition");
                        }
                        Err(error) => shared.client_error(&error),
                    }
                }
            }
            () = closing(phase) => {
                counts.forget(state);
                return Followed::Abandoned;
            }
        }
    }
}

/// A simulated barista at a shared screen: take the oldest queued order of a robot customer
/// that no robot barista took (they call out what they take), make it, mark it ready, and hand
/// it over a little later (while making the next one).
async fn barista(
    shared: Arc<Shared>,
    client: Client,
    view: Arc<Mutex<QueueView>>,
    mut changed: watch::Receiver<u64>,
) {
    let mut phase = shared.phase.subscribe();
    let mut handovers = JoinSet::new();
    loop {
        if shared.phase() == Phase::Closing {
            break;
        }
        let next = {
            let view = lock(&view);
            let mut taken = lock(&shared.taken);
            view.first_queued(|order| {
                shared.robot_customers.contains(&order.customer.id) && !taken.contains(&order.id)
            })
            .map(|order| {
                taken.insert(order.id.clone());
                order.id.clone()
            })
        };
        let Some(order_id) = next else {
            tokio::select! {
                _ = changed.changed() => {}
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
                () = closing(&mut phase) => break,
            }
            continue;
        };
        if !act(&shared, &client, &order_id, StaffAction::Claim).await {
            lock(&shared.taken).remove(&order_id);
            continue;
        }
        let make = shared.config.make_time.sample(&mut rand::rng());
        tokio::select! {
            () = pace::wait_for(make) => {}
            () = closing(&mut phase) => break,
        }
        if !act(&shared, &client, &order_id, StaffAction::Complete).await {
            lock(&shared.taken).remove(&order_id);
            continue;
        }
        let handover = shared.config.handover.sample(&mut rand::rng());
        let (shared, client) = (shared.clone(), client.clone());
        handovers.spawn(async move {
            let mut phase = shared.phase.subscribe();
            tokio::select! {
                () = pace::wait_for(handover) => {}
                () = closing(&mut phase) => return,
            }
            act(&shared, &client, &order_id, StaffAction::Collect).await;
            lock(&shared.taken).remove(&order_id);
        });
        while handovers.try_join_next().is_some() {}
    }
    while handovers.join_next().await.is_some() {}
}

/// One barista move, timed, with its fan-out clock started just before the call. `false` if
/// the server refused it.
async fn act(shared: &Shared, client: &Client, order_id: &OrderId, action: StaffAction) -> bool {
    let kind = match action {
        StaffAction::Claim => EventType::OrderClaimed,
        StaffAction::Complete => EventType::OrderCompleted,
        StaffAction::Collect => EventType::OrderCollected,
        StaffAction::Unclaim => EventType::OrderUnclaimed,
    };
    let ours = shared.is_ours(order_id);
    if ours {
        shared.fanout.sent(order_id, kind);
    }
    let asked = Instant::now();
    let answer = client.act(&shared.config.shop, order_id, action).await;
    shared.record(action.as_str(), asked.elapsed());
    match answer {
        Ok(_) => {
            if ours {
                shared.fanout.confirmed(order_id, kind);
            }
            true
        }
        Err(error) => {
            if ours {
                shared.fanout.failed(order_id, kind);
            }
            let state = error.problem().and_then(|p| p.state);
            match error.code() {
                // Another barista (a person at the booth, or a screen a moment behind) was
                // first: a lost race, not an error.
                Some(ErrorCode::AlreadyClaimed) => shared.lost_race(),
                // The customer cancelled (or it timed out) just before.
                Some(ErrorCode::InvalidTransition)
                    if matches!(state, Some(OrderState::Cancelled | OrderState::TimedOut)) =>
                {
                    shared.expected("invalid_transition");
                }
                // A claim of an order the screen still showed queued, but that another
                // barista already took further (made, or even handed over).
                Some(ErrorCode::InvalidTransition)
                    if action == StaffAction::Claim
                        && matches!(state, Some(OrderState::Ready | OrderState::Collected)) =>
                {
                    shared.lost_race();
                }
                _ => shared.client_error(&error),
            }
            false
        }
    }
}

/// The live counts on the progress line.
async fn progress(shared: Arc<Shared>, since: Instant) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let idle = shared.config.customers == 0 && shared.config.baristas == 0;
    loop {
        tick.tick().await;
        if idle {
            let left = shared
                .config
                .duration
                .map(|d| d.saturating_sub(since.elapsed()).as_secs())
                .unwrap_or_default();
            shared.ui.status(format!(
                "holding {} watcher sockets · {left} s left",
                shared.config.watchers
            ));
        } else {
            let phase = match shared.phase() {
                Phase::Draining => "draining · ",
                _ => "",
            };
            shared
                .ui
                .status(format!("{phase}{}", shared.status_line(since)));
        }
    }
}

/// Orders still open at the end: those that ended unseen are counted as they ended; the rest
/// are cancelled (or handed over) so the board is left tidy, and counted as unfinished.
async fn clean_up(shared: &Shared, customers: &[Client], barista: Option<&Client>) -> u64 {
    let open: Vec<(OrderId, usize)> = lock(&shared.open).drain().collect();
    let shop = &shared.config.shop;
    let counts = &shared.counts;
    let mut unfinished = 0;
    for (order_id, index) in open {
        let Some(client) = customers.get(index) else {
            continue;
        };
        let state = match client.order(shop, &order_id).await {
            Ok(detail) => detail.order.state,
            Err(_) => {
                unfinished += 1;
                continue;
            }
        };
        match state {
            OrderState::Collected => {
                counts.collected.fetch_add(1, Ordering::Relaxed);
            }
            OrderState::Cancelled => {
                counts.cancelled.fetch_add(1, Ordering::Relaxed);
            }
            OrderState::TimedOut => {
                counts.timed_out.fetch_add(1, Ordering::Relaxed);
            }
            OrderState::AwaitingDrink | OrderState::Queued => {
                unfinished += 1;
                let _ = client
                    .cancel_order(shop, &order_id, Some("robot stopped"))
                    .await;
            }
            OrderState::InProgress => {
                unfinished += 1;
                if let Some(barista) = barista {
                    let _ = barista
                        .cancel_order(shop, &order_id, Some("robot stopped"))
                        .await;
                }
            }
            OrderState::Ready => {
                unfinished += 1;
                if let Some(barista) = barista {
                    let _ = barista.collect(shop, &order_id).await;
                }
            }
        }
    }
    unfinished
}
