//! The shop's queue as the barista's tablet and the display board show it.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::is_new;
use crate::{BoothCode, Event, EventType, Limits, Order, OrderId, OrderState, Shop, ShopId, Stats};

/// The open orders of one shop, its state, its booth code and its numbers, folded from its
/// events. See the [module](super) for how it is fed.
///
/// Keeps every open order (awaiting its drink, queued, in progress, ready); an order that is
/// collected, cancelled or timed out leaves the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueView {
    shop_id: ShopId,
    last_seq: u64,
    /// Open orders by id.
    orders: BTreeMap<OrderId, Order>,
    shop: Option<Shop>,
    code: Option<BoothCode>,
    stats: Option<Stats>,
}

impl QueueView {
    /// An empty view of shop `shop_id` that has seen no event yet.
    pub fn new(shop_id: impl Into<ShopId>) -> Self {
        Self {
            shop_id: shop_id.into(),
            last_seq: 0,
            orders: BTreeMap::new(),
            shop: None,
            code: None,
            stats: None,
        }
    }

    /// Replaces the orders with `orders` as REST returned them (`GET …/orders`) when the stream
    /// was at `head`: at start and after a reset. Events up to `head` are then ignored.
    ///
    /// Orders of other shops and finished orders are left out. The shop, the code and the stats
    /// are kept until [`set_shop`](Self::set_shop) and friends or an event replace them: a reset
    /// should not blank the display while those reload.
    pub fn load(&mut self, orders: Vec<Order>, head: u64) {
        self.orders = orders
            .into_iter()
            .filter(|order| order.shop == self.shop_id && order.state.is_open())
            .map(|order| (order.id.clone(), order))
            .collect();
        self.last_seq = head;
    }

    /// The shop as REST returned it (`GET /api/v1/shops/{shop}`). Call it right after
    /// [`load`](Self::load); later `shop.updated` events replace it.
    pub fn set_shop(&mut self, shop: Shop) {
        if shop.id == self.shop_id {
            self.shop = Some(shop);
        }
    }

    /// The booth code as REST returned it (`GET …/code`); later `code.*` events replace it.
    pub fn set_code(&mut self, code: BoothCode) {
        self.code = Some(code);
    }

    /// The numbers as REST returned them (`GET …/stats`); later `stats.updated` replaces them.
    pub fn set_stats(&mut self, stats: Stats) {
        self.stats = Some(stats);
    }

    /// Folds the event at `seq` into the view; returns whether what the view shows changed.
    ///
    /// Ignored (returns `false`, and `last_seq` stays): an event at or below
    /// [`last_seq`](Self::last_seq) and an event of another shop. An event without the payload
    /// its type promises changes nothing but counts as seen.
    pub fn apply(&mut self, seq: u64, event: &Event) -> bool {
        if !is_new(seq, self.last_seq) || event.shop != self.shop_id {
            return false;
        }
        self.last_seq = seq;
        match event.kind {
            kind if kind.is_order_event() => match &event.order {
                Some(order) => self.upsert(order),
                None => false,
            },
            EventType::ShopUpdated => replace(&mut self.shop, event.shop_state.as_ref()),
            EventType::CodeRotated | EventType::CodeRedeemed => {
                replace(&mut self.code, event.code.as_ref())
            }
            EventType::StatsUpdated => replace(&mut self.stats, event.stats.as_ref()),
            // Order events are matched above; listed so a new type is a compile error here.
            EventType::OrderCreated
            | EventType::OrderPlaced
            | EventType::OrderClaimed
            | EventType::OrderUnclaimed
            | EventType::OrderCompleted
            | EventType::OrderCollected
            | EventType::OrderCancelled
            | EventType::OrderTimedOut => false,
        }
    }

    /// Puts the order as it is now in place of what the view had; a finished order leaves.
    fn upsert(&mut self, order: &Order) -> bool {
        if order.shop != self.shop_id {
            return false;
        }
        if order.state.is_finished() {
            return self.orders.remove(&order.id).is_some();
        }
        if self.orders.get(&order.id) == Some(order) {
            return false;
        }
        self.orders.insert(order.id.clone(), order.clone());
        true
    }

    /// Orders waiting for a barista, by number.
    pub fn queued(&self) -> Vec<&Order> {
        self.by_number(|state| state == OrderState::Queued)
    }

    /// The first of [`queued`](Self::queued) that `wanted` takes: the next order for a barista
    /// who skips some (another's, or one they called out), without sorting the whole queue.
    /// `wanted` is asked only of an order that would come before the best one found so far.
    pub fn first_queued(&self, wanted: impl Fn(&Order) -> bool) -> Option<&Order> {
        let mut first: Option<&Order> = None;
        for order in self.orders.values() {
            if order.state == OrderState::Queued
                && first.is_none_or(|first| number_order(order, first).is_lt())
                && wanted(order)
            {
                first = Some(order);
            }
        }
        first
    }

    /// Orders being made, by number.
    pub fn in_progress(&self) -> Vec<&Order> {
        self.by_number(|state| state == OrderState::InProgress)
    }

    /// What the display shows as "preparing": queued and in progress together, by number.
    pub fn preparing(&self) -> Vec<&Order> {
        self.by_number(|state| matches!(state, OrderState::Queued | OrderState::InProgress))
    }

    /// Orders ready to collect that are still on the board at `now`, the longest ready first
    /// (by `ready_at`, then number).
    ///
    /// A ready order drops off once `now - ready_at >= ready_display_s` (the shop's limit, or
    /// [`Limits::default`]'s while no shop is known). It stays in the view until it is collected;
    /// only this list leaves it out. A ready order without `ready_at` never drops off.
    pub fn ready(&self, now: DateTime<Utc>) -> Vec<&Order> {
        let shown_for = TimeDelta::seconds(i64::from(self.limits().ready_display_s));
        let mut ready = self.ready_to_collect();
        ready.retain(|order| {
            order
                .ready_at
                .is_none_or(|ready_at| now.signed_duration_since(ready_at) < shown_for)
        });
        ready
    }

    /// Every order ready and not yet handed over, the longest ready first, however long it
    /// has waited: the barista's Ready column (the board drops old ones, the bar does not).
    pub fn ready_to_collect(&self) -> Vec<&Order> {
        let mut ready: Vec<&Order> = self
            .orders
            .values()
            .filter(|order| order.state == OrderState::Ready)
            .collect();
        ready.sort_by(|a, b| {
            (a.ready_at.is_none(), a.ready_at, a.number, &a.id).cmp(&(
                b.ready_at.is_none(),
                b.ready_at,
                b.number,
                &b.id,
            ))
        });
        ready
    }

    /// [`ready`](Self::ready) with the newest first: the order the display board lists them in.
    pub fn ready_newest_first(&self, now: DateTime<Utc>) -> Vec<&Order> {
        let mut ready = self.ready(now);
        ready.reverse();
        ready
    }

    /// The shop, once loaded or updated.
    pub fn shop(&self) -> Option<&Shop> {
        self.shop.as_ref()
    }

    /// The current booth code, once loaded, rotated or redeemed.
    pub fn code(&self) -> Option<&BoothCode> {
        self.code.as_ref()
    }

    /// The shop's numbers, once loaded or updated.
    pub fn stats(&self) -> Option<&Stats> {
        self.stats.as_ref()
    }

    /// The `seq` of the last event applied, or the `head` of the last load; 0 before either.
    /// A live stream resumes `since` this.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The id of the shop this view follows.
    pub fn shop_id(&self) -> &str {
        &self.shop_id
    }

    fn limits(&self) -> Limits {
        self.shop
            .as_ref()
            .map(|shop| shop.limits)
            .unwrap_or_default()
    }

    fn by_number(&self, wanted: impl Fn(OrderState) -> bool) -> Vec<&Order> {
        let mut orders: Vec<&Order> = self
            .orders
            .values()
            .filter(|order| wanted(order.state))
            .collect();
        orders.sort_by(|a, b| number_order(a, b));
        orders
    }
}

/// The lists' order: by number, then id; an order without a number (never the case once queued)
/// goes last.
fn number_order(a: &Order, b: &Order) -> std::cmp::Ordering {
    (a.number.is_none(), a.number, &a.id).cmp(&(b.number.is_none(), b.number, &b.id))
}

/// Keeps `new` in `slot` if there is one; returns whether the slot changed.
fn replace<T: Clone + PartialEq>(slot: &mut Option<T>, new: Option<&T>) -> bool {
    match new {
        Some(new) if slot.as_ref() != Some(new) => {
            *slot = Some(new.clone());
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::fixtures::{SHOP, at, code, event, order, ready, shop};

    /// Given these events, applied with seqs 1, 2, 3…
    fn given(events: impl IntoIterator<Item = Event>) -> QueueView {
        let mut view = QueueView::new(SHOP);
        for (seq, event) in (1..).zip(events) {
            view.apply(seq, &event);
        }
        view
    }

    /// When one more event arrives (after `view.last_seq()`): did the view change?
    fn when(view: &mut QueueView, event: Event) -> bool {
        view.apply(view.last_seq() + 1, &event)
    }

    fn ids(orders: Vec<&Order>) -> Vec<&str> {
        orders.into_iter().map(|order| order.id.as_str()).collect()
    }

    #[test]
    fn a_created_order_awaiting_its_drink_is_not_on_any_list() {
        let mut view = given([]);
        assert!(when(
            &mut view,
            event(order("o1", OrderState::AwaitingDrink, None))
        ));
        assert!(view.queued().is_empty());
        assert!(view.preparing().is_empty());
        assert!(view.ready(at(0)).is_empty());
    }

    #[test]
    fn a_placed_order_joins_the_queue() {
        let mut view = given([event(order("o1", OrderState::AwaitingDrink, None))]);
        assert!(when(
            &mut view,
            event(order("o1", OrderState::Queued, Some(1)))
        ));
        assert_eq!(ids(view.queued()), ["o1"]);
        assert_eq!(view.queued()[0].number, Some(1));
    }

    #[test]
    fn a_claimed_order_moves_from_queued_to_in_progress() {
        let mut view = given([event(order("o1", OrderState::Queued, Some(1)))]);
        assert!(when(
            &mut view,
            event(order("o1", OrderState::InProgress, Some(1)))
        ));
        assert!(view.queued().is_empty());
        assert_eq!(ids(view.in_progress()), ["o1"]);
    }

    #[test]
    fn an_unclaimed_order_goes_back_to_the_queue() {
        let mut view = given([
            event(order("o1", OrderState::Queued, Some(1))),
            event(order("o1", OrderState::InProgress, Some(1))),
        ]);
        let unclaimed = Event::order(
            EventType::OrderUnclaimed,
            order("o1", OrderState::Queued, Some(1)),
            at(10),
        );
        assert!(when(&mut view, unclaimed));
        assert_eq!(ids(view.queued()), ["o1"]);
        assert!(view.in_progress().is_empty());
    }

    #[test]
    fn a_completed_order_is_ready() {
        let mut view = given([event(order("o1", OrderState::InProgress, Some(1)))]);
        assert!(when(&mut view, event(ready("o1", 1, 0))));
        assert!(view.in_progress().is_empty());
        assert_eq!(ids(view.ready(at(1))), ["o1"]);
    }

    #[test]
    fn collected_cancelled_and_timed_out_orders_leave_the_view() {
        for finished in [
            OrderState::Collected,
            OrderState::Cancelled,
            OrderState::TimedOut,
        ] {
            let mut view = given([
                event(order("o1", OrderState::Queued, Some(1))),
                event(ready("o2", 2, 0)),
            ]);
            assert!(when(&mut view, event(order("o1", finished, Some(1)))));
            assert!(when(&mut view, event(order("o2", finished, Some(2)))));
            assert!(view.queued().is_empty(), "{finished}");
            assert!(view.ready(at(0)).is_empty(), "{finished}");
            // Finishing an order the view does not have changes nothing.
            assert!(!when(&mut view, event(order("o3", finished, Some(3)))));
        }
    }

    #[test]
    fn queues_are_sorted_by_number() {
        let view = given([
            event(order("a", OrderState::Queued, Some(3))),
            event(order("b", OrderState::InProgress, Some(2))),
            event(order("c", OrderState::Queued, Some(1))),
            event(order("d", OrderState::InProgress, Some(4))),
        ]);
        assert_eq!(ids(view.queued()), ["c", "a"]);
        assert_eq!(ids(view.in_progress()), ["b", "d"]);
        assert_eq!(ids(view.preparing()), ["c", "b", "a", "d"]);
    }

    #[test]
    fn the_first_queued_order_a_barista_takes_is_the_lowest_number_they_do_not_skip() {
        let view = given([
            event(order("a", OrderState::Queued, Some(3))),
            event(order("b", OrderState::InProgress, Some(1))),
            event(order("c", OrderState::Queued, Some(2))),
            event(order("d", OrderState::Queued, Some(5))),
        ]);
        let first = |skip: &[&str]| {
            view.first_queued(|order| !skip.contains(&order.id.as_str()))
                .map(|order| order.id.as_str())
        };
        assert_eq!(first(&[]), Some("c"), "an order being made is not next");
        assert_eq!(first(&["c"]), Some("a"));
        assert_eq!(first(&["c", "a"]), Some("d"));
        assert_eq!(first(&["c", "a", "d"]), None);
        // Number 5 comes after 2 and 3 whichever is seen first: it is never asked about.
        let asked = std::cell::RefCell::new(Vec::new());
        view.first_queued(|order| {
            asked.borrow_mut().push(order.id.to_string());
            true
        });
        assert!(!asked.borrow().contains(&"d".to_owned()), "{asked:?}");
    }

    #[test]
    fn a_ready_order_drops_off_after_the_default_ten_minutes_when_no_shop_is_known() {
        let view = given([event(ready("o1", 1, 0))]);
        assert_eq!(ids(view.ready(at(599))), ["o1"]);
        assert!(view.ready(at(600)).is_empty());
        assert!(view.ready_newest_first(at(600)).is_empty());
        // Off the board, not off the bar: the barista still has it to hand over.
        assert_eq!(ids(view.ready_to_collect()), ["o1"]);
    }

    #[test]
    fn a_ready_order_drops_off_after_the_shops_ready_display_s() {
        let view = given([
            event(ready("o1", 1, 0)),
            Event::shop_updated(shop(true, 60), at(0)),
        ]);
        assert_eq!(ids(view.ready(at(59))), ["o1"]);
        assert!(view.ready(at(60)).is_empty());
    }

    #[test]
    fn ready_lists_the_longest_ready_first_and_the_board_the_newest_first() {
        let view = given([
            event(ready("late", 1, 30)),
            event(ready("early", 2, 10)),
            event(ready("middle", 3, 20)),
        ]);
        assert_eq!(ids(view.ready(at(40))), ["early", "middle", "late"]);
        assert_eq!(
            ids(view.ready_newest_first(at(40))),
            ["late", "middle", "early"]
        );
        // Ten minutes after the first became ready it is off the board; the others stay.
        assert_eq!(ids(view.ready(at(610))), ["middle", "late"]);
    }

    #[test]
    fn shop_updated_keeps_the_shop() {
        let mut view = given([]);
        assert!(when(&mut view, Event::shop_updated(shop(true, 600), at(0))));
        assert_eq!(view.shop().map(|shop| shop.open), Some(true));
        assert!(when(
            &mut view,
            Event::shop_updated(shop(false, 600), at(5))
        ));
        assert_eq!(view.shop().map(|shop| shop.open), Some(false));
        // The same shop again is no change.
        assert!(!when(
            &mut view,
            Event::shop_updated(shop(false, 600), at(9))
        ));
    }

    #[test]
    fn code_rotated_and_code_redeemed_keep_the_current_code() {
        let mut view = given([]);
        let rotated = Event::code(EventType::CodeRotated, SHOP, code("K7QX2M", 10), at(0));
        assert!(when(&mut view, rotated));
        assert_eq!(view.code(), Some(&code("K7QX2M", 10)));
        let redeemed = Event::code(EventType::CodeRedeemed, SHOP, code("K7QX2M", 9), at(1));
        assert!(when(&mut view, redeemed));
        assert_eq!(view.code().map(|code| code.remaining), Some(9));
    }

    #[test]
    fn stats_updated_keeps_the_stats() {
        let mut view = given([]);
        let stats = Stats {
            queue_length: 3,
            served_today: 12,
            avg_wait_s: Some(95),
            ..Stats::default()
        };
        assert!(when(
            &mut view,
            Event::stats_updated(SHOP, stats.clone(), at(0))
        ));
        assert_eq!(view.stats(), Some(&stats));
    }

    #[test]
    fn events_of_another_shop_are_ignored() {
        let mut view = given([]);
        let mut elsewhere = order("o1", OrderState::Queued, Some(1));
        elsewhere.shop = "annex".into();
        assert!(!view.apply(1, &event(elsewhere)));
        assert!(!view.apply(2, &Event::stats_updated("annex", Stats::default(), at(0))));
        assert!(view.queued().is_empty());
        assert_eq!(view.stats(), None);
        // Another shop's seqs are another sequence: they do not move this view's.
        assert_eq!(view.last_seq(), 0);
    }

    #[test]
    fn an_event_at_or_below_the_last_seq_is_ignored() {
        let mut view = QueueView::new(SHOP);
        assert!(view.apply(5, &event(order("o1", OrderState::Queued, Some(1)))));
        // A replayed older event would move the order back: it must not.
        assert!(!view.apply(4, &event(order("o1", OrderState::AwaitingDrink, None))));
        assert!(!view.apply(5, &event(order("o1", OrderState::Cancelled, Some(1)))));
        assert_eq!(ids(view.queued()), ["o1"]);
        assert_eq!(view.last_seq(), 5);
    }

    #[test]
    fn the_same_order_again_is_no_change_but_is_seen() {
        let mut view = given([event(order("o1", OrderState::Queued, Some(1)))]);
        assert!(!view.apply(7, &event(order("o1", OrderState::Queued, Some(1)))));
        assert_eq!(view.last_seq(), 7);
    }

    #[test]
    fn load_replaces_the_orders_and_skips_events_up_to_head() {
        let mut view = given([
            event(order("gone", OrderState::Queued, Some(1))),
            Event::shop_updated(shop(true, 600), at(0)),
        ]);
        view.load(
            vec![
                order("o2", OrderState::InProgress, Some(2)),
                order("o3", OrderState::Queued, Some(3)),
            ],
            40,
        );
        assert_eq!(ids(view.preparing()), ["o2", "o3"]);
        assert_eq!(view.last_seq(), 40);
        // The shop survives a reload; it is replaced by the next REST read or event.
        assert_eq!(view.shop().map(|shop| shop.open), Some(true));
        // Events the load already contains are skipped; the next one applies.
        assert!(!view.apply(40, &event(order("o3", OrderState::Cancelled, Some(3)))));
        assert!(view.apply(41, &event(order("o2", OrderState::Collected, Some(2)))));
        assert_eq!(ids(view.preparing()), ["o3"]);
    }

    #[test]
    fn load_keeps_only_this_shops_open_orders() {
        let mut view = QueueView::new(SHOP);
        let mut elsewhere = order("x", OrderState::Queued, Some(1));
        elsewhere.shop = "annex".into();
        view.load(
            vec![
                elsewhere,
                order("done", OrderState::Collected, Some(2)),
                order("o3", OrderState::Queued, Some(3)),
            ],
            9,
        );
        assert_eq!(ids(view.queued()), ["o3"]);
        assert_eq!(view.orders.len(), 1);
    }

    #[test]
    fn rest_reads_seed_the_shop_code_and_stats() {
        let mut view = QueueView::new(SHOP);
        view.set_shop(shop(true, 120));
        view.set_code(code("K7QX2M", 10));
        view.set_stats(Stats::default());
        assert_eq!(
            view.shop().map(|shop| shop.limits.ready_display_s),
            Some(120)
        );
        assert_eq!(view.code().map(|code| code.code.as_str()), Some("K7QX2M"));
        assert_eq!(view.stats(), Some(&Stats::default()));
        let mut annex = shop(false, 600);
        annex.id = "annex".into();
        view.set_shop(annex);
        assert_eq!(view.shop().map(|shop| shop.open), Some(true));
    }

    #[test]
    fn an_order_event_without_its_order_changes_nothing() {
        let mut view = given([]);
        let mut bare = event(order("o1", OrderState::Queued, Some(1)));
        bare.order = None;
        assert!(!view.apply(1, &bare));
        assert!(view.queued().is_empty());
    }
}
