//! Pure screen views: reducers that fold the shop's events into what a screen shows.
//!
//! - [`QueueView`]: the barista's queue and the display board (queued, in progress, ready; the
//!   shop, the booth code, the numbers).
//! - [`MyOrdersView`]: the customer's phone (the open order, the history, whether the shop is
//!   open).
//!
//! Every view follows the same rhythm: `load(orders, head)` with what REST returned (at start and
//! after the client's `LiveUpdate::Reset`), then
//! `apply(seq, &event)` for each live event. `apply` is idempotent by `seq`: an event at or below
//! the last `seq` applied changes nothing, so a replay that overlaps, a duplicate or the same
//! sequence twice leaves the view as it was. Order events carry the whole order after the change,
//! so applying one is an upsert, never a computed transition.
//!
//! What this module must never do:
//! - Decide anything the server decides. A view shows the order in the state its last event says;
//!   it never moves an order, never checks whether a move is allowed, never applies a limit other
//!   than to choose what to show (`ready_display_s`, the ageing colours).
//! - Perform I/O or read a clock. The time is passed in (`now`), so the same events and the same
//!   `now` always give the same screen, in tests and in the browser alike (it compiles for
//!   wasm32).

mod my_orders;
mod queue;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod properties;

use chrono::{DateTime, Utc};

use crate::Order;

pub use my_orders::MyOrdersView;
pub use queue::QueueView;

/// From this age (seconds since the order was queued) the barista sees it as waiting a while.
pub const AGEING_WARN_S: u64 = 120;
/// From this age the barista sees it as late.
pub const AGEING_LATE_S: u64 = 300;

/// How long an order has waited, as the barista's colours show it. Presentation only: the
/// deadline that actually times an order out is the server's (`barista_timeout_s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ageing {
    /// Under [`AGEING_WARN_S`].
    Fresh,
    /// From [`AGEING_WARN_S`] to under [`AGEING_LATE_S`].
    Warn,
    /// [`AGEING_LATE_S`] or more.
    Late,
}

impl Ageing {
    /// The colour for an age in seconds.
    pub fn from_age_s(age_s: u64) -> Self {
        if age_s >= AGEING_LATE_S {
            Ageing::Late
        } else if age_s >= AGEING_WARN_S {
            Ageing::Warn
        } else {
            Ageing::Fresh
        }
    }

    /// The colour of `order` at `now`; `None` while it has not been queued (no `placed_at`).
    pub fn of(order: &Order, now: DateTime<Utc>) -> Option<Self> {
        age(order, now).map(Self::from_age_s)
    }
}

/// Whole seconds since `order` was queued (`placed_at`), at `now`; `None` while it has not been
/// queued. A `now` before `placed_at` (clocks apart) counts as 0.
pub fn age(order: &Order, now: DateTime<Utc>) -> Option<u64> {
    let placed_at = order.placed_at?;
    Some(u64::try_from(now.signed_duration_since(placed_at).num_seconds()).unwrap_or(0))
}

/// Whether `seq` is new for a view whose last applied `seq` is `last_seq`.
fn is_new(seq: u64, last_seq: u64) -> bool {
    seq > last_seq
}

#[cfg(test)]
mod tests {
    use super::fixtures::{at, order};
    use super::*;
    use crate::OrderState;

    #[test]
    fn ageing_turns_warn_at_two_minutes_and_late_at_five() {
        // Given an order queued at t=0
        let order = order("o1", OrderState::Queued, Some(1));
        // Then its colour follows its age
        assert_eq!(Ageing::of(&order, at(0)), Some(Ageing::Fresh));
        assert_eq!(Ageing::of(&order, at(119)), Some(Ageing::Fresh));
        assert_eq!(Ageing::of(&order, at(120)), Some(Ageing::Warn));
        assert_eq!(Ageing::of(&order, at(299)), Some(Ageing::Warn));
        assert_eq!(Ageing::of(&order, at(300)), Some(Ageing::Late));
        assert_eq!(age(&order, at(301)), Some(301));
    }

    #[test]
    fn an_order_not_yet_queued_has_no_age() {
        let order = order("o1", OrderState::AwaitingDrink, None);
        assert_eq!(age(&order, at(500)), None);
        assert_eq!(Ageing::of(&order, at(500)), None);
    }

    #[test]
    fn a_clock_behind_the_server_shows_age_zero() {
        let order = order("o1", OrderState::Queued, Some(1));
        assert_eq!(age(&order, at(-30)), Some(0));
        assert_eq!(Ageing::of(&order, at(-30)), Some(Ageing::Fresh));
    }
}
