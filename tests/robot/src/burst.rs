//! A burst: many barista actions sent at once, and how long until every booth screen shows all
//! of them (issue 14's "a burst of 100 actions delivered to 10 displays in ≤ 60 ms").
//!
//! 1. The admin opens the shop and lifts its limits (restored at the end), grants the robot's
//!    barista and display roles; everyone signs in with an emailed code, as people do.
//! 2. `displays` booth-screen sockets connect; `actions` customers each order a drink, and the
//!    run waits until every screen shows every order queued.
//! 3. For each step (claim, complete, collect), the barista's screen sends all `actions`
//!    requests at once. The figure: from the first request sent until the last screen has the
//!    last event, beside each event's own latency (its request sent → each screen).
//!
//! Unlike a load run this measures a rush's worst moment, not a steady pace: the server takes
//! the whole burst as a few batches and the screens read them as a few socket writes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use espresso_core::protocol::{DrinkChoice, EventType, LimitsPatch, OrderId, Role, ShopPatch};
use espresso_core::{Client, LiveStatus, LiveStream, LiveUpdate, StaffAction};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::config::{Config, Stop};
use crate::robot::cancel_leftovers;
use crate::signin::SignIn;
use crate::stats::{CallStats, Histogram, Percentiles};
use crate::ui::Ui;

/// Longest wait for the screens to show a step (or the queued orders).
const DELIVERY_DEADLINE: Duration = Duration::from_secs(60);

/// One step of the burst, measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub action: StaffAction,
    /// First request sent → the last answer received.
    pub answered: Duration,
    /// First request sent → every screen has every event.
    pub delivered: Duration,
    /// Each event on each screen: its own request sent → arrival.
    pub each: Percentiles,
}

/// What a burst run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BurstSummary {
    pub actions: usize,
    pub displays: usize,
    pub steps: Vec<Step>,
    pub elapsed: Duration,
}

impl BurstSummary {
    /// The figures as a plain table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "burst: {} actions at once, {} booth screens (a step is delivered when every screen \
             has every event)\n",
            self.actions, self.displays
        );
        out.push_str("step      answered   delivered   each p50 / p99 / max\n");
        for step in &self.steps {
            out.push_str(&format!(
                "{:<9} {:>7.1} ms {:>8.1} ms   {:.1} / {:.1} / {:.1} ms\n",
                step.action.as_str(),
                ms(step.answered),
                ms(step.delivered),
                step.each.p50_ms,
                step.each.p99_ms,
                step.each.max_ms
            ));
        }
        out.push_str(&format!("run took {:.1} s\n", self.elapsed.as_secs_f64()));
        out
    }

    /// The figures for `cargo xtask bench`.
    pub fn to_json(&self) -> Value {
        json!({
            "burst": {
                "actions": self.actions,
                "displays": self.displays,
                "steps": self.steps.iter().map(|step| json!({
                    "action": step.action.as_str(),
                    "answered_ms": ms(step.answered),
                    "delivered_ms": ms(step.delivered),
                    "each": step.each,
                })).collect::<Vec<_>>(),
                "elapsed_s": self.elapsed.as_secs_f64(),
            }
        })
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// An order event as a screen received it.
struct Seen {
    screen: usize,
    order: OrderId,
    kind: EventType,
    at: Instant,
}

/// Run one burst of `actions` actions to `displays` screens; the shop is restored before this
/// returns, also after an error.
pub async fn run(
    config: Config,
    actions: usize,
    displays: usize,
    stop: Stop,
) -> anyhow::Result<BurstSummary> {
    if actions == 0 || displays == 0 {
        bail!("a burst needs at least one action and one screen");
    }
    let admin_email = config
        .admin
        .clone()
        .ok_or_else(|| anyhow!("a burst needs --admin (it opens the shop and grants roles)"))?;
    let mail_dir = config
        .mail_dir
        .clone()
        .ok_or_else(|| anyhow!("a burst needs --mail-dir"))?;
    let started = Instant::now();
    let ui = Ui::new(config.progress);
    let probe = Client::new(&config.server).context("--server")?;
    probe
        .health()
        .await
        .with_context(|| format!("cannot reach the Espresso server at {}", config.server))?;
    let calls = Arc::new(Mutex::new(CallStats::default()));
    let signer = SignIn::new(&probe, mail_dir, stop, calls, ui.clone());
    let shop = config.shop.clone();
    let admin = signer.sign_in(&admin_email).await?;
    let before = admin.shop(&shop).await.context("cannot read the shop")?;
    admin
        .set_roles(&config.barista_email(1), &[Role::Barista])
        .await?;
    admin
        .set_roles(&config.display_email(), &[Role::Display])
        .await?;
    let lifted = ShopPatch {
        open: Some(true),
        limits: Some(LimitsPatch {
            drinks_per_code: Some(1_000_000),
            max_queue: Some(1_000_000),
            max_orders_per_day: Some(0),
            ..LimitsPatch::default()
        }),
        ..ShopPatch::default()
    };
    admin.patch_shop(&shop, &lifted).await?;

    let outcome = measure(&config, &signer, &ui, actions, displays).await;

    let limits = before.limits;
    let restore = ShopPatch {
        open: Some(before.open),
        limits: Some(LimitsPatch {
            drinks_per_code: Some(limits.drinks_per_code),
            max_queue: Some(limits.max_queue),
            max_orders_per_day: Some(limits.max_orders_per_day),
            ..LimitsPatch::default()
        }),
        ..ShopPatch::default()
    };
    let restored = admin.patch_shop(&shop, &restore).await;
    ui.finish();
    let steps = outcome?;
    restored.context("could not restore the shop's limits and open state")?;
    Ok(BurstSummary {
        actions,
        displays,
        steps,
        elapsed: started.elapsed(),
    })
}

async fn measure(
    config: &Config,
    signer: &SignIn,
    ui: &Ui,
    actions: usize,
    displays: usize,
) -> anyhow::Result<Vec<Step>> {
    let shop = &config.shop;
    ui.status(format!(
        "signing in {actions} customers, a barista and a screen"
    ));
    let display = signer.sign_in(&config.display_email()).await?;
    let barista = signer.sign_in(&config.barista_email(1)).await?;
    let emails = (1..=actions).map(|i| config.customer_email(i)).collect();
    let customers = signer
        .sign_in_all(emails, config.sign_in_concurrency, "customers")
        .await?;
    for customer in &customers {
        // An order left open by an earlier run would refuse this one.
        cancel_leftovers(customer, shop).await;
    }
    let menu = display.shop(shop).await?.menu;
    let item = menu
        .iter()
        .find(|item| item.available && item.modifiers.iter().all(|g| !g.required))
        .ok_or_else(|| anyhow!("the menu has no drink without a required option"))?;
    let drink = DrinkChoice {
        item_id: item.id.clone(),
        options: Default::default(),
    };

    // The screens: each socket's order events with the instant they arrived.
    ui.status(format!("connecting {displays} booth screens"));
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<Seen>();
    let (welcome_tx, mut welcomes) = mpsc::unbounded_channel::<usize>();
    let mut streams = Vec::new();
    let mut screens = JoinSet::new();
    for screen in 0..displays {
        let (stream, mut updates) = LiveStream::connect(&display, shop);
        streams.push(stream);
        let seen_tx = seen_tx.clone();
        let welcome_tx = welcome_tx.clone();
        screens.spawn(async move {
            while let Some(update) = updates.next().await {
                let at = Instant::now();
                match update {
                    LiveUpdate::Event { event, .. } => {
                        if let Some(order) = event.order {
                            let seen = Seen {
                                screen,
                                order: order.id,
                                kind: event.kind,
                                at,
                            };
                            if seen_tx.send(seen).is_err() {
                                return;
                            }
                        }
                    }
                    LiveUpdate::Status(LiveStatus::Connected { .. }) => {
                        welcome_tx.send(screen).ok();
                    }
                    LiveUpdate::Status(LiveStatus::Ended(_)) => return,
                    _ => {}
                }
            }
        });
    }
    let mut welcomed = vec![false; displays];
    while welcomed.iter().any(|w| !w) {
        let screen = tokio::time::timeout(config.connect_deadline, welcomes.recv())
            .await
            .map_err(|_| anyhow!("not every booth screen said welcome"))?
            .ok_or_else(|| anyhow!("the screens' sockets ended"))?;
        welcomed[screen] = true;
    }

    // Every customer orders; the run waits until every screen shows every order.
    ui.status(format!("{actions} customers order"));
    let code = display.booth_code(shop).await?.code;
    let mut orders = JoinSet::new();
    for customer in customers {
        let (shop, code, drink) = (shop.clone(), code.clone(), drink.clone());
        orders.spawn(async move { customer.start_order(&shop, &code, Some(drink)).await });
    }
    let mut ids = Vec::new();
    while let Some(order) = orders.join_next().await {
        ids.push(order?.context("a customer's order was refused")?.id);
    }
    wait_for(
        &mut seen,
        &ids,
        displays,
        EventType::OrderPlaced,
        &HashMap::new(),
    )
    .await?;

    let mut steps = Vec::new();
    for action in [
        StaffAction::Claim,
        StaffAction::Complete,
        StaffAction::Collect,
    ] {
        ui.status(format!("burst: {actions} × {}", action.as_str()));
        let kind = match action {
            StaffAction::Claim => EventType::OrderClaimed,
            StaffAction::Complete => EventType::OrderCompleted,
            _ => EventType::OrderCollected,
        };
        let sent = Arc::new(Mutex::new(HashMap::new()));
        let first = Instant::now();
        let mut requests = JoinSet::new();
        for id in &ids {
            let (barista, shop, id, sent) =
                (barista.clone(), shop.clone(), id.clone(), sent.clone());
            requests.spawn(async move {
                sent.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(id.clone(), Instant::now());
                barista.act(&shop, &id, action).await
            });
        }
        let mut answered = Duration::ZERO;
        while let Some(answer) = requests.join_next().await {
            answer?.with_context(|| format!("a {} was refused", action.as_str()))?;
            answered = first.elapsed();
        }
        let sent = std::mem::take(&mut *sent.lock().unwrap_or_else(PoisonError::into_inner));
        let (last, each) = wait_for(&mut seen, &ids, displays, kind, &sent).await?;
        steps.push(Step {
            action,
            answered,
            delivered: last.duration_since(first),
            each: each.summary(),
        });
    }
    drop(streams);
    screens.abort_all();
    Ok(steps)
}

/// Wait until each of `displays` screens has seen a `kind` event for every order in `ids`;
/// the instant the last arrived, and each arrival's latency after its request in `sent`.
async fn wait_for(
    seen: &mut mpsc::UnboundedReceiver<Seen>,
    ids: &[OrderId],
    displays: usize,
    kind: EventType,
    sent: &HashMap<OrderId, Instant>,
) -> anyhow::Result<(Instant, Histogram)> {
    let wanted: HashMap<&str, usize> = ids.iter().map(OrderId::as_str).zip(0..).collect();
    let mut have = vec![vec![false; ids.len()]; displays];
    let mut missing = ids.len() * displays;
    let mut last: Option<Instant> = None;
    let mut each = Histogram::new();
    let deadline = tokio::time::Instant::now() + DELIVERY_DEADLINE;
    while missing > 0 {
        let event = tokio::time::timeout_at(deadline, seen.recv())
            .await
            .map_err(|_| {
                anyhow!("{missing} {kind:?} events had not reached the screens within {DELIVERY_DEADLINE:?}")
            })?
            .ok_or_else(|| anyhow!("the screens' sockets ended"))?;
        if event.kind != kind {
            continue;
        }
        let Some(&index) = wanted.get(event.order.as_str()) else {
            continue;
        };
        let slot = &mut have[event.screen][index];
        if !*slot {
            *slot = true;
            missing -= 1;
            last = Some(last.map_or(event.at, |last| last.max(event.at)));
            if let Some(at) = sent.get(&event.order) {
                each.record(event.at.saturating_duration_since(*at));
            }
        }
    }
    Ok((last.unwrap_or_else(Instant::now), each))
}
