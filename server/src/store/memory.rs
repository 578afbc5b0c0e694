//! Each shop's state in memory, owned by the writer thread ([`super::writer`]): the shop (open,
//! menu, limits), its open orders, today's order number and per-customer counts, its booth
//! codes, its event head and what its stats are made of. A command is decided against this
//! instead of being re-read from the database; the writer writes only what changed.
//!
//! A shop is loaded from the database the first time a job needs it, and per-day counters the
//! first time a day needs them (so the day boundary needs no timer). [`Memory::clear`] forgets
//! everything: the next job reloads from the database, which is always the truth.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use espresso_protocol::{
    BoothCode, ItemStats, Order, OrderId, OrderState, Shop, Stats, TimeoutStage, UserId,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::error::{StoreError, StoreResult};
use super::{business_day, from_ms, to_ms};
use crate::workflow::CodeCheck;

/// How many finished orders the average waits look back over.
pub const WAIT_WINDOW: usize = 10;

/// A shop's head: the `seq` of its newest event (0 before any), read through the events' own
/// `(shop, seq)` key. Nothing deletes events; a prune of old ones would have to keep the head
/// somewhere first.
pub(super) const HEAD: &str = "SELECT COALESCE(MAX(seq), 0) FROM events WHERE shop = ?1";

/// Every loaded shop, and the event heads.
#[derive(Default)]
pub struct Memory {
    shops: HashMap<String, ShopState>,
    heads: HashMap<String, u64>,
}

/// One booth code as stored.
#[derive(Debug, Clone)]
pub struct CodeRow {
    pub code: String,
    pub issued_ms: i64,
    pub expires_ms: i64,
    pub remaining: i64,
}

impl CodeRow {
    /// What a code is worth at `now`, given its row (none: no such code).
    pub fn check(row: Option<&Self>, now: DateTime<Utc>) -> CodeCheck {
        let Some(row) = row else {
            return CodeCheck::Invalid;
        };
        let grace = i64::try_from(super::CODE_GRACE.as_millis()).unwrap_or(0);
        if to_ms(now) >= row.expires_ms + grace {
            CodeCheck::Expired
        } else if row.remaining <= 0 {
            let left_ms = u64::try_from(row.expires_ms - to_ms(now)).unwrap_or(0);
            CodeCheck::Exhausted {
                next_in_s: left_ms.div_ceil(1_000),
            }
        } else {
            CodeCheck::Valid
        }
    }

    pub fn booth_code(&self, public_url: &str, shop: &str) -> BoothCode {
        BoothCode {
            order_url: format!("{public_url}/order?shop={shop}&code={}", self.code),
            code: self.code.clone(),
            issued_at: from_ms(self.issued_ms),
            expires_at: from_ms(self.expires_ms),
            remaining: u32::try_from(self.remaining.max(0)).unwrap_or(0),
        }
    }
}

/// A count kept for one business day (reloaded when the day changes).
struct Daily<T> {
    day: String,
    value: T,
}

pub struct ShopState {
    pub shop: Arc<Shop>,
    /// The shop's codes, oldest first (the current one last).
    pub codes: Vec<CodeRow>,
    /// Orders not yet finished (awaiting a drink, queued, in progress, ready), by id.
    open: HashMap<OrderId, Order>,
    /// The open order of each customer who has one.
    open_by_customer: HashMap<UserId, OrderId>,
    queued: u32,
    in_progress: u32,
    ready: u32,
    /// The last order number handed out that day.
    numbers: Option<Daily<u32>>,
    /// Orders started that day per customer, cancelled and timed-out ones not counted.
    started: Option<Daily<HashMap<UserId, u32>>>,
    /// Drinks handed over per item, of orders started that day.
    served: Option<Daily<HashMap<String, u32>>>,
    /// Orders started that day that were made but not collected in time.
    not_collected: Option<Daily<u32>>,
    /// Queued → ready of the last [`WAIT_WINDOW`] made orders, newest first (ms).
    waits: VecDeque<i64>,
    /// The same per drink (loaded per drink when first needed).
    waits_by_item: HashMap<String, VecDeque<i64>>,
}

fn is_void(state: OrderState) -> bool {
    matches!(state, OrderState::Cancelled | OrderState::TimedOut)
}

fn push_wait(waits: &mut VecDeque<i64>, wait: i64) {
    waits.push_front(wait);
    waits.truncate(WAIT_WINDOW);
}

/// Queued → ready (ms) of a shop's (`?1`) last `?2` made orders, newest first: through the
/// `orders_by_ready` index, which holds made orders only (migration 0009).
pub(super) const LAST_WAITS: &str = "SELECT ready_ms - placed_ms FROM orders
     WHERE shop = ?1 AND ready_ms IS NOT NULL ORDER BY ready_ms DESC LIMIT ?2";

/// The same for one drink (`?2`), the last `?3`: through `orders_by_item_ready`.
pub(super) const LAST_WAITS_OF_ITEM: &str = "SELECT ready_ms - placed_ms FROM orders
     WHERE shop = ?1 AND item_id = ?2 AND ready_ms IS NOT NULL
     ORDER BY ready_ms DESC LIMIT ?3";

/// How many of a shop's (`?1`) orders started on a day (`?2`) were made but not collected in
/// time: through `orders_not_collected`, which holds those orders only (named: the planner
/// would take the wait-time index, which holds every made order).
pub(super) const NOT_COLLECTED_ON: &str =
    "SELECT COUNT(*) FROM orders INDEXED BY orders_not_collected
     WHERE shop = ?1 AND business_day = ?2 AND state = 'timed_out' AND ready_ms IS NOT NULL";

fn load_waits(conn: &Connection, shop: &str, item: Option<&str>) -> StoreResult<VecDeque<i64>> {
    let waits = match item {
        None => conn
            .prepare_cached(LAST_WAITS)?
            .query_map(params![shop, WAIT_WINDOW as i64], |row| row.get(0))?
            .collect::<Result<_, _>>()?,
        Some(item) => conn
            .prepare_cached(LAST_WAITS_OF_ITEM)?
            .query_map(params![shop, item, WAIT_WINDOW as i64], |row| row.get(0))?
            .collect::<Result<_, _>>()?,
    };
    Ok(waits)
}

impl Memory {
    /// Forget everything (after a failed batch): the database is the truth.
    pub fn clear(&mut self) {
        self.shops.clear();
        self.heads.clear();
    }

    /// The shop's state, loaded on first use; `None` if there is no such shop.
    pub fn shop(&mut self, conn: &Connection, id: &str) -> StoreResult<Option<&mut ShopState>> {
        if !self.shops.contains_key(id) {
            let Some(state) = ShopState::load(conn, id)? else {
                return Ok(None);
            };
            self.shops.insert(id.to_owned(), state);
        }
        Ok(self.shops.get_mut(id))
    }

    /// The shop's state; `not_found` if there is no such shop.
    pub fn existing_shop(&mut self, conn: &Connection, id: &str) -> StoreResult<&mut ShopState> {
        self.shop(conn, id)?
            .ok_or_else(|| StoreError::not_found(format!("no shop {id:?}")))
    }

    /// The shop's last committed `seq` (0 before any event).
    pub fn head(&mut self, conn: &Connection, shop: &str) -> StoreResult<u64> {
        if let Some(head) = self.heads.get(shop) {
            return Ok(*head);
        }
        let head: i64 = conn
            .prepare_cached(HEAD)?
            .query_row([shop], |row| row.get(0))?;
        let head = u64::try_from(head).unwrap_or(0);
        self.heads.insert(shop.to_owned(), head);
        Ok(head)
    }

    /// A batch committed: these are the heads now.
    pub fn commit_heads(&mut self, heads: HashMap<String, u64>) {
        self.heads.extend(heads);
    }

    /// The shop's stats as they stand (none if the shop does not exist).
    pub fn stats(
        &mut self,
        conn: &Connection,
        shop: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Stats> {
        match self.shop(conn, shop)? {
            Some(state) => state.stats(conn, now),
            None => Ok(Stats::default()),
        }
    }
}

impl ShopState {
    fn load(conn: &Connection, id: &str) -> StoreResult<Option<Self>> {
        let body: Option<String> = conn
            .prepare_cached("SELECT body FROM shops WHERE id = ?1")?
            .query_row([id], |row| row.get(0))
            .optional()?;
        let Some(body) = body else { return Ok(None) };
        let shop: Shop = serde_json::from_str(&body)?;
        let codes = conn
            .prepare_cached(
                "SELECT code, issued_ms, expires_ms, remaining FROM booth_codes
                 WHERE shop = ?1 ORDER BY issued_ms",
            )?
            .query_map([id], |row| {
                Ok(CodeRow {
                    code: row.get(0)?,
                    issued_ms: row.get(1)?,
                    expires_ms: row.get(2)?,
                    remaining: row.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let bodies = conn
            .prepare_cached(
                "SELECT body FROM orders
                 WHERE shop = ?1 AND state IN ('awaiting_drink','queued','in_progress','ready')",
            )?
            .query_map([id], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut state = Self {
            shop: Arc::new(shop),
            codes,
            open: HashMap::new(),
            open_by_customer: HashMap::new(),
            queued: 0,
            in_progress: 0,
            ready: 0,
            numbers: None,
            started: None,
            served: None,
            not_collected: None,
            waits: load_waits(conn, id, None)?,
            waits_by_item: HashMap::new(),
        };
        for body in bodies {
            let order: Order = serde_json::from_str(&body)?;
            state.count(&order, 1);
            state
                .open_by_customer
                .insert(order.customer.id.clone(), order.id.clone());
            state.open.insert(order.id.clone(), order);
        }
        Ok(Some(state))
    }

    /// An open order of this shop.
    pub fn open_order(&self, id: &str) -> Option<&Order> {
        self.open.get(id)
    }

    pub fn has_open_order(&self, customer_id: &str) -> bool {
        self.open_by_customer.contains_key(customer_id)
    }

    /// Orders queued or in progress: what `max_queue` limits.
    pub fn queue_length(&self) -> u32 {
        self.queued + self.in_progress
    }

    /// What `code` is worth now (see [`CodeCheck`]).
    pub fn check_code(&self, code: &str, now: DateTime<Utc>) -> CodeCheck {
        CodeRow::check(self.codes.iter().find(|row| row.code == code), now)
    }

    /// The newest code if its window has not ended at `now`.
    pub fn current_code(&self, now: DateTime<Utc>) -> Option<&CodeRow> {
        self.codes.last().filter(|row| row.expires_ms > to_ms(now))
    }

    /// The number the next order placed on `day` gets.
    pub fn next_number(&mut self, conn: &Connection, day: &str) -> StoreResult<u32> {
        if self.numbers.as_ref().is_none_or(|n| n.day != day) {
            let last: Option<i64> = conn
                .prepare_cached(
                    "SELECT last_number FROM order_numbers WHERE shop = ?1 AND business_day = ?2",
                )?
                .query_row(params![self.shop.id.as_str(), day], |row| row.get(0))
                .optional()?;
            self.numbers = Some(Daily {
                day: day.to_owned(),
                value: u32::try_from(last.unwrap_or(0)).unwrap_or(u32::MAX),
            });
        }
        Ok(self
            .numbers
            .as_ref()
            .map_or(1, |n| n.value.saturating_add(1)))
    }

    /// The customer's orders started on `day` that count toward the daily limit.
    pub fn orders_today(
        &mut self,
        conn: &Connection,
        day: &str,
        customer: &str,
    ) -> StoreResult<u32> {
        if self.started.as_ref().is_none_or(|s| s.day != day) {
            let counts = conn
                .prepare_cached(
                    "SELECT customer_id, COUNT(*) FROM orders
                     WHERE shop = ?1 AND business_day = ?2
                       AND state NOT IN ('cancelled','timed_out')
                     GROUP BY customer_id",
                )?
                .query_map(params![self.shop.id.as_str(), day], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })?
                .map(|row| {
                    row.map(|(c, n)| (UserId::from(c), u32::try_from(n).unwrap_or(u32::MAX)))
                })
                .collect::<Result<HashMap<_, _>, _>>()?;
            self.started = Some(Daily {
                day: day.to_owned(),
                value: counts,
            });
        }
        Ok(self
            .started
            .as_ref()
            .and_then(|s| s.value.get(customer).copied())
            .unwrap_or(0))
    }

    fn served_on(&mut self, conn: &Connection, day: &str) -> StoreResult<&HashMap<String, u32>> {
        if self.served.as_ref().is_none_or(|s| s.day != day) {
            let counts = conn
                .prepare_cached(
                    "SELECT item_id, served FROM served_counts
                     WHERE shop = ?1 AND business_day = ?2",
                )?
                .query_map(params![self.shop.id.as_str(), day], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })?
                .map(|row| row.map(|(i, n)| (i, u32::try_from(n).unwrap_or(u32::MAX))))
                .collect::<Result<HashMap<_, _>, _>>()?;
            self.served = Some(Daily {
                day: day.to_owned(),
                value: counts,
            });
        }
        Ok(self.served.as_ref().map(|s| &s.value).expect("just loaded"))
    }

    fn not_collected_on(&mut self, conn: &Connection, day: &str) -> StoreResult<u32> {
        if self.not_collected.as_ref().is_none_or(|n| n.day != day) {
            let count: i64 = conn
                .prepare_cached(NOT_COLLECTED_ON)?
                .query_row(params![self.shop.id.as_str(), day], |row| row.get(0))?;
            self.not_collected = Some(Daily {
                day: day.to_owned(),
                value: u32::try_from(count).unwrap_or(u32::MAX),
            });
        }
        Ok(self.not_collected.as_ref().map_or(0, |n| n.value))
    }

    fn count(&mut self, order: &Order, delta: i32) {
        let counter = match order.state {
            OrderState::Queued => &mut self.queued,
            OrderState::InProgress => &mut self.in_progress,
            OrderState::Ready => &mut self.ready,
            _ => return,
        };
        *counter = counter.saturating_add_signed(delta);
    }

    /// An order moved from `before` to `after` (committed with this batch).
    pub fn track(&mut self, before: Option<&Order>, after: &Order) {
        if let Some(before) = before {
            self.count(before, -1);
        }
        self.count(after, 1);
        if after.state.is_open() {
            self.open_by_customer
                .insert(after.customer.id.clone(), after.id.clone());
            self.open.insert(after.id.clone(), after.clone());
        } else {
            self.open.remove(&after.id);
            if self.open_by_customer.get(&after.customer.id) == Some(&after.id) {
                self.open_by_customer.remove(&after.customer.id);
            }
        }
        let day = business_day(after.created_at, self.zone());
        if let Some(started) = self.started.as_mut().filter(|s| s.day == day) {
            let counted_before = before.is_some_and(|b| !is_void(b.state));
            let counts_now = !is_void(after.state);
            let n = started.value.entry(after.customer.id.clone()).or_default();
            match (counted_before, counts_now) {
                (false, true) => *n += 1,
                (true, false) => *n = n.saturating_sub(1),
                _ => {}
            }
        }
        let collected = after.state == OrderState::Collected
            && before.is_none_or(|b| b.state != OrderState::Collected);
        if collected
            && let Some(drink) = &after.drink
            && let Some(served) = self.served.as_mut().filter(|s| s.day == day)
        {
            *served.value.entry(drink.item_id.clone()).or_default() += 1;
        }
        let not_collected = after.timeout_stage == Some(TimeoutStage::Collection)
            && before.is_none_or(|b| b.state != OrderState::TimedOut);
        if not_collected && let Some(count) = self.not_collected.as_mut().filter(|n| n.day == day) {
            count.value += 1;
        }
        let made = after.ready_at.is_some() && before.is_none_or(|b| b.ready_at.is_none());
        if made && let (Some(ready), Some(placed)) = (after.ready_at, after.placed_at) {
            let wait = to_ms(ready) - to_ms(placed);
            push_wait(&mut self.waits, wait);
            if let Some(drink) = &after.drink
                && let Some(waits) = self.waits_by_item.get_mut(&drink.item_id)
            {
                push_wait(waits, wait);
            }
        }
    }

    /// Order number `number` was handed out on `day`.
    pub fn numbered(&mut self, day: &str, number: u32) {
        self.numbers = Some(Daily {
            day: day.to_owned(),
            value: number,
        });
    }

    /// One use of `code` was spent; the row after.
    pub fn redeemed(&mut self, code: &str) -> Option<&CodeRow> {
        let row = self.codes.iter_mut().find(|row| row.code == code)?;
        row.remaining -= 1;
        Some(row)
    }

    /// Every code ends at `ended_ms` at the latest (an admin replaced the code now).
    pub fn end_codes(&mut self, ended_ms: i64) {
        for row in &mut self.codes {
            row.expires_ms = row.expires_ms.min(ended_ms);
        }
    }

    /// A new code replaced the old ones; codes that ended before `cutoff_ms` are gone.
    pub fn rotated(&mut self, row: CodeRow, cutoff_ms: i64) {
        self.codes.retain(|old| old.expires_ms >= cutoff_ms);
        self.codes.push(row);
    }

    pub fn set_shop(&mut self, shop: Shop) {
        self.shop = Arc::new(shop);
    }

    /// The shop's time zone: its business day follows it.
    pub fn zone(&self) -> chrono_tz::Tz {
        crate::workflow::zone_of(&self.shop)
    }

    /// The numbers the staff screens show: open orders by state, served today, and waits.
    pub fn stats(&mut self, conn: &Connection, now: DateTime<Utc>) -> StoreResult<Stats> {
        let day = business_day(now, self.zone());
        let served = self.served_on(conn, &day)?.clone();
        let not_collected_today = self.not_collected_on(conn, &day)?;
        let mut stats = Stats {
            queue_length: self.queued,
            in_progress: self.in_progress,
            ready: self.ready,
            served_today: served.values().sum(),
            not_collected_today,
            avg_wait_s: average_s(&self.waits),
            by_item: Vec::new(),
        };
        let mut items: BTreeSet<String> = self.shop.menu.iter().map(|i| i.id.clone()).collect();
        items.extend(served.keys().cloned());
        for item in items {
            if !self.waits_by_item.contains_key(&item) {
                let waits = load_waits(conn, &self.shop.id, Some(&item))?;
                self.waits_by_item.insert(item.clone(), waits);
            }
            let Some(avg_wait_s) = self.waits_by_item.get(&item).and_then(average_s) else {
                continue;
            };
            stats.by_item.push(ItemStats {
                served: served.get(&item).copied().unwrap_or(0),
                item_id: item,
                avg_wait_s: Some(avg_wait_s),
            });
        }
        Ok(stats)
    }
}

/// The mean of `waits` (ms) in whole seconds, never negative; none of an empty window.
fn average_s(waits: &VecDeque<i64>) -> Option<u64> {
    super::stats::mean_ms(waits).map(super::stats::ms_to_s)
}
