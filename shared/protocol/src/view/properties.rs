//! Property tests of the views: folding is idempotent by `seq`, whatever the stream repeats,
//! and a REST load of the final orders shows what folding the events showed.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::Index;

use super::fixtures::{CUSTOMER, SHOP, at, order, shop};
use super::{MyOrdersView, QueueView};
use crate::{Event, EventType, Order, OrderState};

/// The orders a stream talks about: (id, customer, shop). An order never changes hands or shop.
const ORDERS: [(&str, &str, &str); 5] = [
    ("o1", CUSTOMER, SHOP),
    ("o2", CUSTOMER, SHOP),
    ("o3", "u2", SHOP),
    ("o4", "u2", SHOP),
    ("o5", CUSTOMER, "annex"),
];

/// An order as an event could carry it: one of a few orders, in any state, with a number once
/// queued and times that fit the state.
fn an_order() -> impl Strategy<Value = Order> {
    (
        prop::sample::select(&ORDERS[..]),
        prop::sample::select(&OrderState::ALL[..]),
        1..30u32,
        -600..600i64,
        0..900i64,
    )
        .prop_map(
            |((id, customer, shop), state, number, created_s, ready_after_s)| {
                let queued = state != OrderState::AwaitingDrink;
                let mut order = order(id, state, queued.then_some(number));
                order.customer.id = customer.into();
                order.shop = shop.into();
                order.created_at = at(created_s);
                order.placed_at = queued.then(|| at(created_s + 20));
                if order.ready_at.is_some() {
                    order.ready_at = Some(at(created_s + 20 + ready_after_s));
                }
                order
            },
        )
}

/// An order event (of the type its state suggests, or any order type), now and then a
/// `shop.updated` with another `ready_display_s` or open flag.
fn an_event() -> impl Strategy<Value = Event> {
    let order_kinds: Vec<EventType> = EventType::ALL
        .into_iter()
        .filter(|kind| kind.is_order_event())
        .collect();
    prop_oneof![
        9 => (an_order(), prop::sample::select(order_kinds))
            .prop_map(|(order, kind)| Event::order(kind, order, at(0))),
        1 => (any::<bool>(), 60..900u32)
            .prop_map(|(open, ready_display_s)| Event::shop_updated(shop(open, ready_display_s), at(0))),
    ]
}

/// Events with increasing seqs (gaps allowed: the view must not care).
fn a_stream() -> impl Strategy<Value = Vec<(u64, Event)>> {
    (
        1..50u64,
        prop::collection::vec((1..4u64, an_event()), 0..40),
    )
        .prop_map(|(start, events)| {
            let mut seq = start;
            events
                .into_iter()
                .map(|(gap, event)| {
                    seq += gap;
                    (seq, event)
                })
                .collect()
        })
}

/// `stream` as a flaky connection might deliver it: after each event, maybe one seen before
/// again (a duplicate or an older one replayed).
fn with_repeats(stream: &[(u64, Event)], repeats: &[Option<Index>]) -> Vec<(u64, Event)> {
    let mut delivered = Vec::new();
    for (i, item) in stream.iter().enumerate() {
        delivered.push(item.clone());
        if let Some(Some(index)) = repeats.get(i) {
            delivered.push(stream[index.index(i + 1)].clone());
        }
    }
    delivered
}

fn fold_queue(stream: &[(u64, Event)]) -> QueueView {
    let mut view = QueueView::new(SHOP);
    for (seq, event) in stream {
        view.apply(*seq, event);
    }
    view
}

fn fold_mine(stream: &[(u64, Event)]) -> MyOrdersView {
    let mut view = MyOrdersView::new(SHOP, CUSTOMER);
    for (seq, event) in stream {
        view.apply(*seq, event);
    }
    view
}

/// What `GET …/orders` would return after the stream: each order of [`SHOP`] as its last
/// event left it.
fn snapshot(stream: &[(u64, Event)]) -> Vec<Order> {
    let mut orders = BTreeMap::new();
    for (_, event) in stream {
        if let Some(order) = &event.order
            && event.shop == SHOP
        {
            orders.insert(order.id.clone(), order.clone());
        }
    }
    orders.into_values().collect()
}

fn ids(orders: Vec<&Order>) -> Vec<crate::OrderId> {
    orders.into_iter().map(|order| order.id.clone()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn applying_a_stream_twice_is_applying_it_once(stream in a_stream()) {
        let once = fold_queue(&stream);
        let mut twice = once.clone();
        for (seq, event) in &stream {
            prop_assert!(!twice.apply(*seq, event));
        }
        prop_assert_eq!(&twice, &once);

        let mine = fold_mine(&stream);
        let doubled: Vec<_> = stream.iter().chain(&stream).cloned().collect();
        prop_assert_eq!(fold_mine(&doubled), mine);
    }

    #[test]
    fn duplicates_and_replayed_older_events_change_nothing(
        stream in a_stream(),
        repeats in prop::collection::vec(prop::option::weighted(0.4, any::<Index>()), 40),
    ) {
        let delivered = with_repeats(&stream, &repeats);
        prop_assert_eq!(fold_queue(&delivered), fold_queue(&stream));
        prop_assert_eq!(fold_mine(&delivered), fold_mine(&stream));
    }

    #[test]
    fn loading_the_final_orders_shows_what_folding_the_events_showed(
        stream in a_stream(),
        now_s in -600..2400i64,
    ) {
        let folded = fold_queue(&stream);
        // The stream of one shop: another shop's events are not part of its history.
        let head = stream
            .iter()
            .filter(|(_, event)| event.shop == SHOP)
            .map(|(seq, _)| *seq)
            .max()
            .unwrap_or(0);
        let mut loaded = QueueView::new(SHOP);
        loaded.load(snapshot(&stream), head);
        if let Some(shop) = folded.shop() {
            loaded.set_shop(shop.clone());
        }
        let now = at(now_s);
        prop_assert_eq!(ids(loaded.queued()), ids(folded.queued()));
        prop_assert_eq!(ids(loaded.in_progress()), ids(folded.in_progress()));
        prop_assert_eq!(ids(loaded.preparing()), ids(folded.preparing()));
        prop_assert_eq!(ids(loaded.ready(now)), ids(folded.ready(now)));
        prop_assert_eq!(ids(loaded.ready_newest_first(now)), ids(folded.ready_newest_first(now)));
        prop_assert_eq!(loaded.last_seq(), folded.last_seq());

        let folded = fold_mine(&stream);
        let mut loaded = MyOrdersView::new(SHOP, CUSTOMER);
        loaded.load(snapshot(&stream), head);
        prop_assert_eq!(loaded.current(), folded.current());
        prop_assert_eq!(ids(loaded.history()), ids(folded.history()));
    }
}
