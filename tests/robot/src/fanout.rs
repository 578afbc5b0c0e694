//! Fan-out latency: from a barista's button (the instant before the HTTP call) to each screen
//! that shows it (the instant its live stream delivered the event).
//!
//! A barista marks each action as [`Fanout::sent`] just before calling the server; every
//! receiver (each watcher socket, and the order's customer) reports [`Fanout::seen`] when the
//! event of that order and type arrives, and gets its latency back to keep in its own histogram.
//! Per action the slowest receiver is remembered: "all saw" is that maximum.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use espresso_core::protocol::EventType;

use crate::stats::Histogram;

/// The barista actions whose fan-out is measured, in lifecycle order.
pub const ACTIONS: [EventType; 3] = [
    EventType::OrderClaimed,
    EventType::OrderCompleted,
    EventType::OrderCollected,
];

fn slot(kind: EventType) -> Option<usize> {
    ACTIONS.iter().position(|action| *action == kind)
}

#[derive(Debug, Clone, Copy)]
struct Action {
    sent: Instant,
    /// The server accepted it (only those count at the end).
    confirmed: bool,
    /// Receivers that saw its event so far, and the slowest of them.
    seen: u32,
    slowest: Duration,
}

/// Lock shards, so that a thousand watchers reporting the same event do not queue on one lock.
const SHARDS: usize = 64;

/// The actions in flight and done, by order id.
#[derive(Debug)]
pub struct Fanout {
    shards: Vec<Mutex<HashMap<String, [Option<Action>; 3]>>>,
    hasher: RandomState,
}

impl Default for Fanout {
    fn default() -> Self {
        Self::new()
    }
}

/// What the receivers saw of the confirmed actions.
#[derive(Debug, Clone, Default)]
pub struct Settled {
    /// Confirmed barista actions.
    pub actions: u64,
    /// Per action, the slowest receiver's latency (actions no receiver saw are left out).
    pub all_saw: Histogram,
    /// Receptions that never happened: `actions × receivers − receptions`.
    pub missed: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Fanout {
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, order_id: &str) -> MutexGuard<'_, HashMap<String, [Option<Action>; 3]>> {
        let index = usize::try_from(self.hasher.hash_one(order_id) % SHARDS as u64).unwrap_or(0);
        // `index` < SHARDS = shards.len().
        lock(&self.shards[index])
    }

    /// A barista is about to do `kind` to the order: the clock starts now.
    pub fn sent(&self, order_id: &str, kind: EventType) {
        let Some(slot) = slot(kind) else { return };
        let mut shard = self.shard(order_id);
        let actions = shard.entry(order_id.to_owned()).or_default();
        actions[slot] = Some(Action {
            sent: Instant::now(),
            confirmed: false,
            seen: 0,
            slowest: Duration::ZERO,
        });
    }

    /// The server accepted the action.
    pub fn confirmed(&self, order_id: &str, kind: EventType) {
        let Some(slot) = slot(kind) else { return };
        if let Some(Some(action)) = self.shard(order_id).get_mut(order_id).map(|a| &mut a[slot]) {
            action.confirmed = true;
        }
    }

    /// The server refused (or never answered): the action does not count.
    pub fn failed(&self, order_id: &str, kind: EventType) {
        let Some(slot) = slot(kind) else { return };
        if let Some(actions) = self.shard(order_id).get_mut(order_id) {
            actions[slot] = None;
        }
    }

    /// A receiver got the event `kind` of the order at `at`: its latency, if a robot barista
    /// caused it.
    pub fn seen(&self, order_id: &str, kind: EventType, at: Instant) -> Option<Duration> {
        let slot = slot(kind)?;
        let mut shard = self.shard(order_id);
        let action = shard.get_mut(order_id)?[slot].as_mut()?;
        let latency = at.saturating_duration_since(action.sent);
        action.seen += 1;
        action.slowest = action.slowest.max(latency);
        Some(latency)
    }

    /// Receptions still to come if every action should reach `receivers` screens, counting
    /// actions still waiting for the server's answer (their events may not be out yet).
    pub fn pending(&self, receivers: u32) -> u64 {
        self.shards
            .iter()
            .map(|shard| {
                lock(shard)
                    .values()
                    .flatten()
                    .flatten()
                    .map(|action| {
                        let seen = if action.confirmed { action.seen } else { 0 };
                        u64::from(receivers.saturating_sub(seen))
                    })
                    .sum::<u64>()
            })
            .sum()
    }

    /// The totals so far, if every confirmed action should reach `receivers` screens.
    pub fn settle(&self, receivers: u32) -> Settled {
        let mut settled = Settled::default();
        for shard in &self.shards {
            for action in lock(shard).values().flatten().flatten() {
                if !action.confirmed {
                    continue;
                }
                settled.actions += 1;
                if action.seen > 0 {
                    settled.all_saw.record(action.slowest);
                }
                settled.missed += u64::from(receivers.saturating_sub(action.seen));
            }
        }
        settled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_receiver_gets_its_latency_and_all_saw_is_the_slowest() {
        let fanout = Fanout::new();
        fanout.sent("o1", EventType::OrderClaimed);
        let sent = Instant::now();
        fanout.confirmed("o1", EventType::OrderClaimed);
        let fast = fanout.seen(
            "o1",
            EventType::OrderClaimed,
            sent + Duration::from_millis(1),
        );
        let slow = fanout.seen(
            "o1",
            EventType::OrderClaimed,
            sent + Duration::from_millis(9),
        );
        assert!(fast.is_some_and(|l| l >= Duration::from_millis(1)));
        assert!(slow > fast);
        let settled = fanout.settle(2);
        assert_eq!((settled.actions, settled.missed), (1, 0));
        assert_eq!(settled.all_saw.count(), 1);
        assert!(settled.all_saw.summary().max_ms >= 9.0);
        assert_eq!(fanout.settle(3).missed, 1, "a third screen never saw it");
        assert_eq!(fanout.pending(2), 0);
    }

    #[test]
    fn events_no_robot_barista_caused_and_refused_actions_do_not_count() {
        let fanout = Fanout::new();
        let now = Instant::now();
        assert_eq!(fanout.seen("o1", EventType::OrderClaimed, now), None);
        assert_eq!(fanout.seen("o1", EventType::OrderPlaced, now), None);
        fanout.sent("o2", EventType::OrderClaimed);
        fanout.failed("o2", EventType::OrderClaimed);
        assert_eq!(fanout.seen("o2", EventType::OrderClaimed, now), None);
        fanout.sent("o3", EventType::OrderCompleted);
        let settled = fanout.settle(5);
        assert_eq!(settled.actions, 0, "not confirmed yet");
        assert_eq!(fanout.pending(5), 5, "but its events are still to come");
    }
}
