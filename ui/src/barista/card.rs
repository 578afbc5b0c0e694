//! One order on the board: number, drink, options, name, age, and its big buttons.

use espresso_core::protocol::OrderState;
use espresso_core::view::Ageing;
use leptos::prelude::*;

use super::desk::Desk;
use super::model::{CardModel, Move};
use crate::i18n::tf;
use crate::icons::DrinkIcon;
use crate::util::{clock_text, seconds_since};

#[component]
pub fn Card(desk: Desk, card: CardModel) -> impl IntoView {
    let id = card.id.clone();
    let state = card.state;
    let placed_at = card.placed_at;
    let ready_at = card.ready_at;
    let clock = desk.clock;

    // Seconds waited (since queued), or since ready on the Ready column.
    let age = move || {
        let now = clock.get();
        let since = if state == OrderState::Ready {
            ready_at.or(placed_at)
        } else {
            placed_at
        };
        since.map(|at| seconds_since(at, now))
    };
    let ageing = move || {
        if state == OrderState::Ready {
            return "ready";
        }
        match age().map(Ageing::from_age_s) {
            Some(Ageing::Late) => "late",
            Some(Ageing::Warn) => "warn",
            _ => "fresh",
        }
    };
    let selected = {
        let id = id.clone();
        Memo::new(move |_| desk.selected.with(|s| s.as_ref() == Some(&id)))
    };
    let fresh = {
        let id = id.clone();
        move || desk.fresh.with(|f| f.contains(&id))
    };
    let note = {
        let id = id.clone();
        move || {
            desk.notes
                .with(|n| n.get(&id).map(|(text, _)| text.clone()))
        }
    };
    let class = move || {
        let mut class = format!("order-card age-{}", ageing());
        if card.busy {
            class.push_str(" busy");
        }
        if card.others {
            class.push_str(" others");
        }
        if selected.get() {
            class.push_str(" selected");
        }
        if fresh() {
            class.push_str(" fresh");
        }
        class
    };
    let age_title = move || match (state, age()) {
        (_, None) => String::new(),
        (OrderState::Ready, Some(s)) => {
            let s = clock_text(s);
            tf!("Ready for {s}", "Pronto há {s}")
        }
        (_, Some(s)) => {
            let s = clock_text(s);
            tf!("Waiting {s}", "Esperando há {s}")
        }
    };
    let number = card.number_text();
    let select = {
        let id = id.clone();
        move |_| desk.selected.set(Some(id.clone()))
    };

    let buttons = action_buttons(desk, &card);
    let claimed = card.others.then(|| {
        view! {
            <p class="card-claimed" data-testid="claimed-by">"Another barista is making this"</p>
        }
    });
    let customer = card.customer.clone().map(|name| {
        view! { <p class="card-customer" data-testid="customer-name">"for " <strong>{name}</strong></p> }
    });
    let options = (!card.options.is_empty()).then(|| {
        let options = card.options.clone();
        view! { <p class="card-options" data-testid="order-options">{options}</p> }
    });

    view! {
        <article
            class=class
            data-testid="order-card"
            data-order-id=id.to_string()
            data-number=card.number.map(|n| n.to_string()).unwrap_or_default()
            data-state=state.as_str()
            data-selected=move || if selected.get() { "true" } else { "false" }
            data-busy=if card.busy { "true" } else { "false" }
            aria-current=move || if selected.get() { "true" } else { "false" }
            aria-label={
                let drink = &card.drink;
                tf!("Order {number}, {drink}", "Pedido {number}, {drink}")
            }
            on:click=select
        >
            <div class="card-age-bar" aria-hidden="true"></div>
            <header class="card-head">
                <div class="card-id">
                    <span class="card-number num" data-testid="order-number">{number.clone()}</span>
                    <span class="card-age num" data-testid="order-age" title=age_title>
                        {move || age().map(clock_text).unwrap_or_default()}
                    </span>
                </div>
                <div class="card-what">
                    <p class="card-drink" data-testid="order-drink">
                        <DrinkIcon icon=card.icon.clone()/>
                        <span>{card.drink.clone()}</span>
                    </p>
                    {options}
                </div>
            </header>
            {customer}
            {claimed}
            <p class="card-note" role="alert" data-testid="card-note">
                {move || note().unwrap_or_default()}
            </p>
            {buttons}
        </article>
    }
}

fn action_buttons(desk: Desk, card: &CardModel) -> Option<impl IntoView + use<>> {
    let moves: &[Move] = match card.state {
        OrderState::Queued => &[Move::Cancel, Move::Claim],
        OrderState::InProgress if card.mine => &[Move::Cancel, Move::Unclaim, Move::Complete],
        OrderState::Ready => &[Move::Collect],
        _ => &[],
    };
    if moves.is_empty() {
        return None;
    }
    let busy = card.busy;
    let buttons = moves
        .iter()
        .map(|&mv| {
            let id = card.id.clone();
            let (class, testid) = match mv {
                Move::Claim => ("card-button primary", "make"),
                Move::Unclaim => ("card-button secondary", "unclaim"),
                Move::Complete => ("card-button primary", "done"),
                Move::Collect => ("card-button primary ready", "handed-over"),
                Move::Cancel => ("card-button cancel", "cancel"),
            };
            view! {
                <button class=class data-testid=testid disabled=busy aria-busy=busy.to_string()
                    on:click=move |ev| {
                        ev.stop_propagation();
                        desk.selected.set(Some(id.clone()));
                        if mv == Move::Cancel {
                            desk.cancelling.set(Some(id.clone()));
                        } else {
                            desk.tap(&id, mv);
                        }
                    }>
                    {mv.label()}
                </button>
            }
        })
        .collect_view();
    Some(view! { <div class="card-actions">{buttons}</div> })
}
