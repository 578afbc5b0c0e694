//! The booth demo (the robot switch): a gentle stream of orders so the board and the booth
//! screen look alive at an unattended booth — a new order every 20–40 s from a demo customer,
//! made by a demo barista in 20–60 s and handed over 10–30 s later, as the order robot's
//! `--demo` does. An admin starts and stops it per shop (`PUT /api/v1/shops/{shop}/demo`);
//! `serve --demo` starts it for `main`. It stops with the server.
//!
//! Its orders go through the store and the workflow like anyone's: the shop must be open, and
//! the booth code, queue size and daily limit apply (a refused start is skipped until the next
//! one). Its customers are users of their own (`demo-N@demo.espresso.invalid`, named "Demo N"
//! on the board, added as the daily limit needs them, at most [`MAX_CUSTOMERS`] per shop); its
//! barista makes only the demo's orders and holds no role in the database.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use espresso_protocol::{CustomerRef, DrinkChoice, ErrorCode, OrderId, Role, ShopId};
use rand::Rng;
use rand::seq::IndexedRandom;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::store::{SharedStore, Store};
use crate::workflow::{Actor, Command};

/// The most demo customers one shop's demo makes (a daily limit of 1 allows this many orders).
pub const MAX_CUSTOMERS: usize = 50;

/// How the demo paces itself: each a range of seconds, divided by `speed`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// Between one order's start and the next.
    pub gap: (f64, f64),
    /// From queued to made.
    pub make: (f64, f64),
    /// From made to handed over.
    pub handover: (f64, f64),
}

impl Pace {
    /// The robot's `--demo` pace, `speed` times faster (tests run it at 1000).
    pub fn demo(speed: u32) -> Self {
        let k = f64::from(speed.max(1));
        Self {
            gap: (20.0 / k, 40.0 / k),
            make: (20.0 / k, 60.0 / k),
            handover: (10.0 / k, 30.0 / k),
        }
    }
}

fn pick((low, high): (f64, f64)) -> Duration {
    let seconds = if high > low {
        rand::rng().random_range(low..high)
    } else {
        low
    };
    Duration::from_secs_f64(seconds.max(0.001))
}

struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The demo of each shop: at most one running per shop.
#[derive(Clone)]
pub struct Demos {
    store: SharedStore,
    pace: Pace,
    running: Arc<Mutex<HashMap<ShopId, Running>>>,
}

impl Demos {
    pub fn new(store: SharedStore, pace: Pace) -> Self {
        Self {
            store,
            pace,
            running: Arc::default(),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<ShopId, Running>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Is the demo running at `shop`?
    pub fn is_running(&self, shop: &ShopId) -> bool {
        self.map()
            .get(shop)
            .is_some_and(|running| !running.task.is_finished())
    }

    /// Start (`true`) or stop the demo at `shop` (which the caller has checked exists); starting
    /// a running one or stopping a stopped one changes nothing. Stopping starts no new order;
    /// the demo's orders under way are still made and handed over.
    pub fn set(&self, shop: &ShopId, running: bool) {
        let mut map = self.map();
        if running {
            if map.get(shop).is_some_and(|r| !r.task.is_finished()) {
                return;
            }
            let (stop, stopped) = watch::channel(false);
            let task = tokio::spawn(drive(
                self.store.clone(),
                shop.to_owned(),
                self.pace,
                stopped,
            ));
            tracing::info!(%shop, "booth demo started");
            map.insert(shop.to_owned(), Running { stop, task });
        } else if let Some(running) = map.remove(shop) {
            let _ = running.stop.send(true);
            tracing::info!(%shop, "booth demo stopped");
        }
    }

    /// Stop every demo at once (server shutdown): nothing of it goes on.
    pub fn abort_all(&self) {
        for (_, running) in self.map().drain() {
            running.task.abort();
        }
    }
}

/// One shop's demo until `stopped` says so; then its orders under way finish.
async fn drive(store: SharedStore, shop: ShopId, pace: Pace, mut stopped: watch::Receiver<bool>) {
    let mut customers: Vec<CustomerRef> = Vec::new();
    let mut orders = JoinSet::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(pick(pace.gap)) => {}
            _ = stopped.changed() => break,
        }
        if *stopped.borrow() {
            break;
        }
        while orders.try_join_next().is_some() {}
        match start_one(&*store, &shop, &mut customers).await {
            Ok(Some(order_id)) => {
                orders.spawn(make(store.clone(), shop.clone(), order_id, pace));
            }
            Ok(None) => {}
            Err(error) => tracing::debug!(%shop, %error, "the demo's order was not started"),
        }
    }
    while orders.join_next().await.is_some() {}
}

/// Start an order for the first demo customer the shop admits (adding one when the daily
/// limit or an open order keeps them all out). `None`: refused for now (closed, a full queue,
/// a used-up code, nothing available on the menu).
async fn start_one(
    store: &Store,
    shop: &ShopId,
    customers: &mut Vec<CustomerRef>,
) -> Result<Option<OrderId>, crate::store::StoreError> {
    let found = store.shop(shop).await?;
    if !found.open || found.archived {
        return Ok(None);
    }
    let Some(drink) = random_drink(&found) else {
        return Ok(None);
    };
    let mut index = 0;
    loop {
        if index == customers.len() {
            if customers.len() >= MAX_CUSTOMERS {
                return Ok(None);
            }
            customers.push(demo_customer(store, shop, customers.len() + 1).await?);
        }
        let now = Utc::now();
        let code = store.current_code(shop, now).await?.code;
        match store
            .start_order(
                shop,
                customers[index].clone(),
                &code,
                Some(drink.clone()),
                now,
                None,
            )
            .await
        {
            Ok(answer) => return Ok(answer.done().map(|order| order.id)),
            Err(error)
                if matches!(
                    error.code(),
                    ErrorCode::DailyLimitReached | ErrorCode::OpenOrderExists
                ) =>
            {
                index += 1;
            }
            Err(error) => {
                tracing::debug!(%shop, %error, "the demo's order was refused");
                return Ok(None);
            }
        }
    }
}

/// Demo customer `n` of `shop` (made on first use, named "Demo n" on the board).
async fn demo_customer(
    store: &Store,
    shop: &ShopId,
    n: usize,
) -> Result<CustomerRef, crate::store::StoreError> {
    let email = format!("demo-{n}.{}@demo.espresso.invalid", shop.to_lowercase());
    let user = store.ensure_user(&email, Utc::now()).await?;
    let name = format!("Demo {n}");
    store.set_display_name(&user.id, Some(&name)).await?;
    Ok(CustomerRef {
        id: user.id,
        display_name: Some(name),
    })
}

/// An available drink with an available option for every required group.
fn random_drink(shop: &espresso_protocol::Shop) -> Option<DrinkChoice> {
    let mut rng = rand::rng();
    let items: Vec<_> = shop.menu.iter().filter(|item| item.available).collect();
    let item = items.choose(&mut rng)?;
    let mut options = BTreeMap::new();
    for group in &item.modifiers {
        if !group.required {
            continue;
        }
        let available: Vec<_> = group
            .options
            .iter()
            .filter(|o| group.is_available(o))
            .collect();
        options.insert(group.id.clone(), (*available.choose(&mut rng)?).clone());
    }
    Some(DrinkChoice {
        item_id: item.id.clone(),
        options,
    })
}

/// The demo barista makes the order and hands it over; a step refused (a person at the bar
/// cancelled it, say) ends it.
async fn make(store: SharedStore, shop: ShopId, order_id: OrderId, pace: Pace) {
    let barista = Actor::new("demo-barista", vec![Role::Customer, Role::Barista]);
    let made = pick(pace.make);
    let steps = [
        (
            made / 4,
            Command::Claim {
                by: barista.clone(),
            },
        ),
        (
            made - made / 4,
            Command::Complete {
                by: barista.clone(),
            },
        ),
        (pick(pace.handover), Command::Collect { by: barista }),
    ];
    for (wait, command) in steps {
        tokio::time::sleep(wait).await;
        if let Err(error) = store
            .order_command(&shop, &order_id, command, Utc::now(), None)
            .await
        {
            tracing::debug!(%shop, %order_id, %error, "the demo left an order");
            return;
        }
    }
}
