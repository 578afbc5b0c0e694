//! One customer's orders in one shop, as their phone shows them.

use std::collections::BTreeMap;

use super::is_new;
use crate::{Event, EventType, Order, OrderId, Shop, ShopId, UserId};

/// The orders of one customer in one shop, open and finished, and the shop's state, folded from
/// the events the customer's stream carries. See the [module](super) for how it is fed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyOrdersView {
    shop_id: ShopId,
    customer_id: UserId,
    last_seq: u64,
    /// This customer's orders in this shop by id, finished ones included (the history).
    orders: BTreeMap<OrderId, Order>,
    shop: Option<Shop>,
}

impl MyOrdersView {
    /// An empty view of `customer_id`'s orders in shop `shop_id`.
    pub fn new(shop_id: impl Into<ShopId>, customer_id: impl Into<UserId>) -> Self {
        Self {
            shop_id: shop_id.into(),
            customer_id: customer_id.into(),
            last_seq: 0,
            orders: BTreeMap::new(),
            shop: None,
        }
    }

    /// Replaces the orders with `orders` as REST returned them (`GET /api/v1/me/orders`) when
    /// the stream was at `head`. Orders of other shops or other customers are left out. The shop
    /// is kept until [`set_shop`](Self::set_shop) or a `shop.updated` replaces it.
    pub fn load(&mut self, orders: Vec<Order>, head: u64) {
        self.orders = orders
            .into_iter()
            .filter(|order| self.is_mine(order))
            .map(|order| (order.id.clone(), order))
            .collect();
        self.last_seq = head;
    }

    /// The shop as REST returned it (`GET /api/v1/shops/{shop}`); later `shop.updated` events
    /// replace it.
    pub fn set_shop(&mut self, shop: Shop) {
        if shop.id == self.shop_id {
            self.shop = Some(shop);
        }
    }

    /// Folds the event at `seq` into the view; returns whether what the view shows changed.
    ///
    /// Ignored (returns `false`, and `last_seq` stays): an event at or below
    /// [`last_seq`](Self::last_seq) and an event of another shop. Another customer's order
    /// event (which a customer's stream does not carry) and the staff-only types count as seen
    /// and change nothing.
    pub fn apply(&mut self, seq: u64, event: &Event) -> bool {
        if !is_new(seq, self.last_seq) || event.shop != self.shop_id {
            return false;
        }
        self.last_seq = seq;
        match event.kind {
            kind if kind.is_order_event() => match &event.order {
                Some(order) if self.is_mine(order) => {
                    if self.orders.get(&order.id) == Some(order) {
                        false
                    } else {
                        self.orders.insert(order.id.clone(), order.clone());
                        true
                    }
                }
                _ => false,
            },
            EventType::ShopUpdated => match &event.shop_state {
                Some(shop) if self.shop.as_ref() != Some(shop) => {
                    self.shop = Some(shop.clone());
                    true
                }
                _ => false,
            },
            // Order events are matched above; the rest are not the customer's business.
            EventType::OrderCreated
            | EventType::OrderPlaced
            | EventType::OrderClaimed
            | EventType::OrderUnclaimed
            | EventType::OrderCompleted
            | EventType::OrderCollected
            | EventType::OrderCancelled
            | EventType::OrderTimedOut
            | EventType::CodeRotated
            | EventType::CodeRedeemed
            | EventType::StatsUpdated => false,
        }
    }

    /// The order the customer is following: the newest open one (awaiting its drink, queued, in
    /// progress or ready). The server allows one open order at a time; should two ever show,
    /// the newest wins.
    pub fn current(&self) -> Option<&Order> {
        self.newest_first(|order| order.state.is_open())
            .into_iter()
            .next()
    }

    /// Finished orders (collected, cancelled, timed out), newest first (by `created_at`, as
    /// `GET /api/v1/me/orders` lists them).
    pub fn history(&self) -> Vec<&Order> {
        self.newest_first(|order| order.state.is_finished())
    }

    /// Whether the shop takes orders; `None` until the shop is known.
    pub fn shop_open(&self) -> Option<bool> {
        self.shop.as_ref().map(|shop| shop.open)
    }

    /// The shop, once loaded or updated.
    pub fn shop(&self) -> Option<&Shop> {
        self.shop.as_ref()
    }

    /// The `seq` of the last event applied, or the `head` of the last load; 0 before either.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    fn is_mine(&self, order: &Order) -> bool {
        order.shop == self.shop_id && order.customer.id == self.customer_id
    }

    fn newest_first(&self, wanted: impl Fn(&Order) -> bool) -> Vec<&Order> {
        let mut orders: Vec<&Order> = self.orders.values().filter(|order| wanted(order)).collect();
        orders.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        orders
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::fixtures::{
        CUSTOMER, SHOP, at, code, created_at, event, of_customer, order, ready, shop,
    };
    use crate::{OrderState, Stats};

    /// Given these events, applied with seqs 1, 2, 3…
    fn given(events: impl IntoIterator<Item = Event>) -> MyOrdersView {
        let mut view = MyOrdersView::new(SHOP, CUSTOMER);
        for (seq, event) in (1..).zip(events) {
            view.apply(seq, &event);
        }
        view
    }

    /// When one more event arrives (after `view.last_seq()`): did the view change?
    fn when(view: &mut MyOrdersView, event: Event) -> bool {
        view.apply(view.last_seq() + 1, &event)
    }

    fn ids(orders: Vec<&Order>) -> Vec<&str> {
        orders.into_iter().map(|order| order.id.as_str()).collect()
    }

    fn current_state(view: &MyOrdersView) -> Option<OrderState> {
        view.current().map(|order| order.state)
    }

    #[test]
    fn my_order_is_followed_through_every_open_state() {
        let mut view = given([]);
        assert_eq!(view.current(), None);
        for now in [
            order("o1", OrderState::AwaitingDrink, None),
            order("o1", OrderState::Queued, Some(4)),
            order("o1", OrderState::InProgress, Some(4)),
            ready("o1", 4, 0),
        ] {
            let state = now.state;
            assert!(when(&mut view, event(now)));
            assert_eq!(current_state(&view), Some(state));
        }
        assert!(view.history().is_empty());
    }

    #[test]
    fn a_finished_order_moves_from_current_to_history() {
        for finished in [
            OrderState::Collected,
            OrderState::Cancelled,
            OrderState::TimedOut,
        ] {
            let mut view = given([event(order("o1", OrderState::Queued, Some(1)))]);
            assert!(when(&mut view, event(order("o1", finished, Some(1)))));
            assert_eq!(view.current(), None, "{finished}");
            assert_eq!(ids(view.history()), ["o1"], "{finished}");
        }
    }

    #[test]
    fn history_lists_the_newest_first_and_current_is_the_newest_open_order() {
        let view = given([
            event(created_at(
                order("monday", OrderState::Collected, Some(1)),
                -900,
            )),
            event(created_at(
                order("tuesday", OrderState::Cancelled, Some(1)),
                -600,
            )),
            event(created_at(
                order("older", OrderState::Queued, Some(2)),
                -300,
            )),
            event(created_at(
                order("newer", OrderState::AwaitingDrink, None),
                -10,
            )),
        ]);
        assert_eq!(ids(view.history()), ["tuesday", "monday"]);
        assert_eq!(view.current().map(|order| order.id.as_str()), Some("newer"));
    }

    #[test]
    fn another_customers_orders_are_ignored() {
        let mut view = given([]);
        let theirs = of_customer(order("o9", OrderState::Queued, Some(9)), "u2");
        assert!(!when(&mut view, event(theirs)));
        assert_eq!(view.current(), None);
        assert!(view.history().is_empty());
    }

    #[test]
    fn events_of_another_shop_are_ignored() {
        let mut view = given([]);
        let mut elsewhere = order("o1", OrderState::Queued, Some(1));
        elsewhere.shop = "annex".into();
        assert!(!view.apply(1, &event(elsewhere)));
        let mut annex = shop(true, 600);
        annex.id = "annex".into();
        assert!(!view.apply(2, &Event::shop_updated(annex, at(0))));
        assert_eq!(view.current(), None);
        assert_eq!(view.shop_open(), None);
        assert_eq!(view.last_seq(), 0);
    }

    #[test]
    fn an_event_at_or_below_the_last_seq_is_ignored() {
        let mut view = MyOrdersView::new(SHOP, CUSTOMER);
        assert!(view.apply(3, &event(order("o1", OrderState::InProgress, Some(1)))));
        assert!(!view.apply(2, &event(order("o1", OrderState::Queued, Some(1)))));
        assert!(!view.apply(3, &event(order("o1", OrderState::Cancelled, Some(1)))));
        assert_eq!(current_state(&view), Some(OrderState::InProgress));
        assert_eq!(view.last_seq(), 3);
    }

    #[test]
    fn shop_open_follows_shop_updated() {
        let mut view = given([]);
        assert_eq!(view.shop_open(), None);
        assert!(when(&mut view, Event::shop_updated(shop(true, 600), at(0))));
        assert_eq!(view.shop_open(), Some(true));
        assert!(when(
            &mut view,
            Event::shop_updated(shop(false, 600), at(1))
        ));
        assert_eq!(view.shop_open(), Some(false));
        view.set_shop(shop(true, 600));
        assert_eq!(view.shop_open(), Some(true));
    }

    #[test]
    fn code_and_stats_events_are_not_the_customers_business() {
        let mut view = given([]);
        let rotated = Event::code(EventType::CodeRotated, SHOP, code("K7QX2M", 10), at(0));
        assert!(!when(&mut view, rotated));
        assert!(!when(
            &mut view,
            Event::stats_updated(SHOP, Stats::default(), at(0))
        ));
        assert_eq!(view.last_seq(), 2);
    }

    #[test]
    fn load_keeps_only_my_orders_of_this_shop_and_skips_events_up_to_head() {
        let mut view = given([event(order("stale", OrderState::Queued, Some(1)))]);
        let mut elsewhere = order("x", OrderState::Queued, Some(1));
        elsewhere.shop = "annex".into();
        view.load(
            vec![
                created_at(order("o2", OrderState::Queued, Some(2)), 0),
                created_at(order("o1", OrderState::Collected, Some(1)), -600),
                of_customer(order("o3", OrderState::Queued, Some(3)), "u2"),
                elsewhere,
            ],
            20,
        );
        assert_eq!(view.current().map(|order| order.id.as_str()), Some("o2"));
        assert_eq!(ids(view.history()), ["o1"]);
        assert_eq!(view.orders.len(), 2);
        assert!(!view.apply(20, &event(order("o2", OrderState::Cancelled, Some(2)))));
        assert!(view.apply(21, &event(order("o2", OrderState::InProgress, Some(2)))));
        assert_eq!(current_state(&view), Some(OrderState::InProgress));
    }
}
