//! The screens' reducers: `QueueView` (barista, display) and `MyOrdersView` (customer) folding
//! the live stream. `cargo bench -p espresso-protocol --bench views`.
//!
//! What it shows: what one event costs a screen, and so how many events per second a display or
//! tablet can follow (the wasm build runs the same code, a few times slower).

use std::hint::black_box;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use espresso_protocol::view::{MyOrdersView, QueueView};
use espresso_protocol::{CustomerRef, Drink, Event, EventType, MAIN_SHOP_ID, Order, OrderState};

fn at(s: i64) -> DateTime<Utc> {
    let t0: DateTime<Utc> = "2026-05-04T09:00:00Z".parse().expect("a valid instant");
    t0 + TimeDelta::seconds(s)
}

fn order(n: u32, customer: &str) -> Order {
    Order {
        id: format!("ord_{n}").into(),
        shop: MAIN_SHOP_ID.into(),
        number: None,
        state: OrderState::AwaitingDrink,
        drink: None,
        customer: CustomerRef {
            id: customer.into(),
            display_name: Some("Ann".into()),
        },
        barista_id: None,
        created_at: at(i64::from(n)),
        placed_at: None,
        claimed_at: None,
        ready_at: None,
        finished_at: None,
        deadline_at: None,
        cancel_reason: None,
        cancelled_by: None,
        timeout_stage: None,
    }
}

/// The events of `orders` full lifecycles, interleaved as a busy bar produces them: every order
/// is created and placed, then claimed, completed and collected a few orders later. Each order
/// event carries the whole order after the change, as the server sends it.
fn rush(orders: u32, customer_of: impl Fn(u32) -> String) -> Vec<(u64, Event)> {
    let mut events = Vec::new();
    let mut push = |kind: EventType, order: &Order, s: i64| {
        events.push(Event::order(kind, order.clone(), at(s)));
    };
    let lag = 5;
    let mut live: Vec<Order> = Vec::new();
    for n in 1..=orders + lag {
        let s = i64::from(n);
        if n <= orders {
            let mut o = order(n, &customer_of(n));
            push(EventType::OrderCreated, &o, s);
            o.state = OrderState::Queued;
            o.number = Some(n);
            o.placed_at = Some(at(s));
            o.drink = Some(Drink {
                item_id: "flat_white".into(),
                name: "Flat White".into(),
                options: [("milk".to_owned(), "Oat".to_owned())].into(),
            });
            push(EventType::OrderPlaced, &o, s);
            live.push(o);
        }
        if n > lag && !live.is_empty() {
            let mut o = live.remove(0);
            o.state = OrderState::InProgress;
            o.barista_id = Some("b1".into());
            o.claimed_at = Some(at(s));
            push(EventType::OrderClaimed, &o, s);
            o.state = OrderState::Ready;
            o.ready_at = Some(at(s));
            push(EventType::OrderCompleted, &o, s);
            o.state = OrderState::Collected;
            o.finished_at = Some(at(s));
            push(EventType::OrderCollected, &o, s);
        }
    }
    events
        .into_iter()
        .zip(1..)
        .map(|(e, seq)| (seq, e))
        .collect()
}

fn benches(c: &mut Criterion) {
    let events = rush(200, |n| format!("u{n}"));
    assert_eq!(events.len(), 1000);

    c.bench_function("QueueView: fold 1,000 events (200 lifecycles)", |b| {
        b.iter(|| {
            let mut view = QueueView::new(MAIN_SHOP_ID);
            for (seq, event) in &events {
                view.apply(*seq, black_box(event));
            }
            view
        });
    });

    let mut seen = QueueView::new(MAIN_SHOP_ID);
    for (seq, event) in &events {
        seen.apply(*seq, event);
    }
    c.bench_function(
        "QueueView: 1,000 events seen before (resume duplicates)",
        |b| {
            b.iter(|| {
                for (seq, event) in &events {
                    black_box(seen.apply(*seq, black_box(event)));
                }
            });
        },
    );

    // A busy board: 100 orders waiting, as a display renders it each second.
    let mut busy = QueueView::new(MAIN_SHOP_ID);
    for (seq, event) in rush(100, |n| format!("u{n}"))
        .into_iter()
        .filter(|(_, e)| matches!(e.kind, EventType::OrderCreated | EventType::OrderPlaced))
    {
        busy.apply(seq, &event);
    }
    c.bench_function("QueueView: queued() with 100 waiting", |b| {
        b.iter(|| black_box(busy.queued()).len());
    });

    // A customer's phone sees only its own orders: 1,000 events of which 5 are its own.
    let own = rush(200, |n| if n == 7 { "me".into() } else { format!("u{n}") });
    c.bench_function("MyOrdersView: fold 1,000 events (5 its own)", |b| {
        b.iter(|| {
            let mut view = MyOrdersView::new(MAIN_SHOP_ID, "me");
            for (seq, event) in &own {
                view.apply(*seq, black_box(event));
            }
            view
        });
    });
}

criterion_group!(view_benches, benches);
criterion_main!(view_benches);
