//! Test fixtures of the views: realistic orders and events at times relative to one instant.

use chrono::{DateTime, TimeDelta, Utc};

use crate::{
    BoothCode, CustomerRef, Drink, Event, EventType, Limits, MAIN_SHOP_ID, Order, OrderState, Shop,
};

pub(super) const SHOP: &str = MAIN_SHOP_ID;
pub(super) const CUSTOMER: &str = "u1";

/// `s` seconds after 09:00 on the fixtures' day (negative: before).
pub(super) fn at(s: i64) -> DateTime<Utc> {
    let t0: DateTime<Utc> = "2026-05-04T09:00:00Z".parse().expect("a valid instant");
    t0 + TimeDelta::seconds(s)
}

/// An order of [`CUSTOMER`] in [`SHOP`] in `state`, created at -30 s and, once it has a number,
/// queued at 0 s; ready and finished at 0 s where its state says so.
pub(super) fn order(id: &str, state: OrderState, number: Option<u32>) -> Order {
    let placed = number.is_some() && state != OrderState::AwaitingDrink;
    Order {
        id: id.into(),
        shop: SHOP.into(),
        number,
        state,
        drink: placed.then(|| Drink {
            item_id: "flat_white".into(),
            name: "Flat White".into(),
            options: [("milk".to_owned(), "Oat".to_owned())].into(),
        }),
        customer: CustomerRef {
            id: CUSTOMER.into(),
            display_name: Some("Ann".into()),
        },
        barista_id: matches!(state, OrderState::InProgress | OrderState::Ready)
            .then(|| "b1".into()),
        created_at: at(-30),
        placed_at: placed.then(|| at(0)),
        claimed_at: None,
        ready_at: matches!(state, OrderState::Ready | OrderState::Collected).then(|| at(0)),
        finished_at: state.is_finished().then(|| at(0)),
        deadline_at: None,
        cancel_reason: None,
        cancelled_by: None,
        timeout_stage: None,
    }
}

/// A ready order that became ready at `ready_at_s`.
pub(super) fn ready(id: &str, number: u32, ready_at_s: i64) -> Order {
    let mut order = order(id, OrderState::Ready, Some(number));
    order.ready_at = Some(at(ready_at_s));
    order
}

/// `order` as placed by `customer`.
pub(super) fn of_customer(mut order: Order, customer: &str) -> Order {
    order.customer.id = customer.into();
    order
}

/// `order` created at `s` seconds.
pub(super) fn created_at(mut order: Order, s: i64) -> Order {
    order.created_at = at(s);
    order
}

/// The event that leaves an order in its state.
pub(super) fn event(order: Order) -> Event {
    let kind = match order.state {
        OrderState::AwaitingDrink => EventType::OrderCreated,
        OrderState::Queued => EventType::OrderPlaced,
        OrderState::InProgress => EventType::OrderClaimed,
        OrderState::Ready => EventType::OrderCompleted,
        OrderState::Collected => EventType::OrderCollected,
        OrderState::Cancelled => EventType::OrderCancelled,
        OrderState::TimedOut => EventType::OrderTimedOut,
    };
    Event::order(kind, order, at(0))
}

/// [`SHOP`], open or not, showing ready orders for `ready_display_s`.
pub(super) fn shop(open: bool, ready_display_s: u32) -> Shop {
    Shop {
        open,
        limits: Limits {
            ready_display_s,
            ..Limits::default()
        },
        ..Shop::default_main()
    }
}

pub(super) fn code(code: &str, remaining: u32) -> BoothCode {
    BoothCode {
        code: code.into(),
        order_url: format!("http://cafe.test/order?shop={SHOP}&code={code}"),
        issued_at: at(0),
        expires_at: at(300),
        remaining,
    }
}
