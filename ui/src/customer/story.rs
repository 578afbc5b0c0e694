//! The customer's past orders and a receipt for each: what was ordered and its journey, event
//! by event, with times.

use espresso_core::protocol::{EventType, Order, OrderDetail, OrderState};
use leptos::prelude::*;

use super::{MyFeed, Page, describe_drink};
use crate::a11y::ScreenTitle;
use crate::backend::{BackendRef, Calls};
use crate::icons::{Icon, Symbol};
use crate::signin::{SessionState, sign_out};
use crate::util::time_of_day;

/// A journey step in words.
pub fn step_words(kind: EventType) -> &'static str {
    match kind {
        EventType::OrderCreated => "Scanned the code",
        EventType::OrderPlaced => "Ordered",
        EventType::OrderClaimed => "A barista started making it",
        EventType::OrderUnclaimed => "Back in the queue",
        EventType::OrderCompleted => "Ready to pick up",
        EventType::OrderCollected => "Handed over",
        EventType::OrderCancelled => "Cancelled",
        EventType::OrderTimedOut => "Timed out",
        EventType::ShopUpdated
        | EventType::CodeRotated
        | EventType::CodeRedeemed
        | EventType::StatsUpdated => "Updated",
    }
}

/// The state in words, for lists.
pub fn state_words(state: OrderState) -> &'static str {
    match state {
        OrderState::AwaitingDrink => "Choosing",
        OrderState::Queued => "In the queue",
        OrderState::InProgress => "Being made",
        OrderState::Ready => "Ready",
        OrderState::Collected => "Collected",
        OrderState::Cancelled => "Cancelled",
        OrderState::TimedOut => "Timed out",
    }
}

fn date_words(order: &Order) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        order.created_at.timestamp_millis() as f64,
    ));
    let day = date
        .to_locale_date_string("default", &js_sys::Object::new())
        .as_string()
        .unwrap_or_default();
    format!("{day}, {}", time_of_day(order.created_at))
}

#[component]
pub fn History(
    feed: MyFeed,
    backend: BackendRef,
    on_open: Callback<Page>,
    user_email: String,
) -> impl IntoView {
    let session = use_context::<SessionState>();
    let orders = Memo::new(move |_| {
        feed.view.with(|view| {
            let mut all: Vec<Order> = view.current().into_iter().cloned().collect();
            all.extend(view.history().into_iter().cloned());
            all
        })
    });
    view! {
        <section class="story" data-testid="history">
            <button class="button-link back" data-testid="back" on:click=move |_| on_open.run(Page::Main)>
                <Icon symbol=Symbol::Back/>"Back"
            </button>
            <ScreenTitle>"My orders"</ScreenTitle>
            {move || {
                let list = orders.get();
                if list.is_empty() {
                    view! { <p class="lede">"No orders yet. Your first one will show here."</p> }.into_any()
                } else {
                    view! {
                        <ul class="order-list">
                            {list.into_iter().map(|order| {
                                let id = order.id.clone();
                                let open = order.state.is_open();
                                view! {
                                    <li>
                                        <button class="order-row" data-testid="history-row"
                                            on:click=move |_| on_open.run(if open { Page::Main } else { Page::Receipt(id.clone()) })>
                                            <span class="order-row-number num">
                                                {order.number.map(|n| format!("#{n}")).unwrap_or_else(|| "–".into())}
                                            </span>
                                            <span class="order-row-main">
                                                <strong>{describe_drink(&order)}</strong>
                                                <span class="hint">{date_words(&order)}</span>
                                            </span>
                                            <span class=format!("pill pill-{}", order.state.as_str())>{state_words(order.state)}</span>
                                        </button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
            <div class="account panel">
                <p class="hint">"Signed in as " <strong>{user_email}</strong></p>
                <button class="button-secondary" data-testid="sign-out"
                    on:click=move |_| if let Some(session) = session { sign_out(backend, session) }>
                    "Sign out"
                </button>
            </div>
        </section>
    }
}

#[component]
pub fn Receipt(
    backend: BackendRef,
    shop: String,
    order_id: String,
    on_open: Callback<Page>,
) -> impl IntoView {
    let detail = RwSignal::new(None::<Result<OrderDetail, String>>);
    {
        let backend = backend.get();
        leptos::task::spawn_local(async move {
            let result = backend
                .order(shop.clone(), order_id.clone())
                .await
                .map_err(|e| e.to_string());
            detail.try_set(Some(result));
        });
    }
    view! {
        <section class="story" data-testid="receipt">
            <button class="button-link back" data-testid="back" on:click=move |_| on_open.run(Page::History)>
                <Icon symbol=Symbol::Back/>"My orders"
            </button>
            {move || match detail.get() {
                None => view! { <p class="loading" aria-busy="true">"Loading the receipt…"</p> }.into_any(),
                Some(Err(why)) => view! { <p class="error" role="alert">{why}</p> }.into_any(),
                Some(Ok(detail)) => {
                    let order = detail.order.clone();
                    view! {
                        <div class="panel receipt">
                            <div class="row-between">
                                <ScreenTitle>"Receipt"</ScreenTitle>
                                <span class="order-number-small num">
                                    {order.number.map(|n| format!("#{n}")).unwrap_or_default()}
                                </span>
                            </div>
                            <p class="drink-line"><strong>{describe_drink(&order)}</strong></p>
                            <p class="hint">{date_words(&order)} " · " {state_words(order.state)}</p>
                            {order.cancel_reason.clone().map(|reason| view! {
                                <p class="hint">"Reason: " {reason}</p>
                            })}
                            <ol class="timeline" data-testid="journey">
                                {detail.journey.iter().map(|step| view! {
                                    <li>
                                        <span class="timeline-time num">{time_of_day(step.at)}</span>
                                        <span class="timeline-what">{step_words(step.kind)}</span>
                                    </li>
                                }).collect_view()}
                            </ol>
                        </div>
                    }.into_any()
                }
            }}
        </section>
    }
}
