//! The customer's past orders and a receipt for each: what was ordered and its journey, event
//! by event, with times.

use espresso_core::protocol::{EventType, Order, OrderDetail, OrderId, OrderState, ShopId};
use leptos::prelude::*;

use super::{MyFeed, Page, describe_drink};
use crate::a11y::ScreenTitle;
use crate::backend::{BackendRef, Calls};
use crate::i18n::{LangSwitch, count, date_text, error_words, t, time_text};
use crate::icons::{Icon, Symbol};
use crate::signin::{SessionState, sign_out};

/// A journey step in words.
pub fn step_words(kind: EventType) -> &'static str {
    match kind {
        EventType::OrderCreated => t("Scanned the code", "Leu o código"),
        EventType::OrderPlaced => t("Ordered", "Pediu"),
        EventType::OrderClaimed => t(
            "A barista started making it",
            "Um barista começou a preparar",
        ),
        EventType::OrderUnclaimed => t("Back in the queue", "De volta à fila"),
        EventType::OrderCompleted => t("Ready to pick up", "Pronta para retirar"),
        EventType::OrderCollected => t("Handed over", "Entregue"),
        EventType::OrderCancelled => t("Cancelled", "Cancelado"),
        EventType::OrderTimedOut => t("Timed out", "Expirado"),
        EventType::ShopUpdated
        | EventType::CodeRotated
        | EventType::CodeRedeemed
        | EventType::StatsUpdated => t("Updated", "Atualizado"),
    }
}

/// The state in words, for lists.
pub fn state_words(state: OrderState) -> &'static str {
    match state {
        OrderState::AwaitingDrink => t("Choosing", "Escolhendo"),
        OrderState::Queued => t("In the queue", "Na fila"),
        OrderState::InProgress => t("Being made", "Em preparo"),
        OrderState::Ready => t("Ready", "Pronto"),
        OrderState::Collected => t("Collected", "Retirado"),
        OrderState::Cancelled => t("Cancelled", "Cancelado"),
        OrderState::TimedOut => t("Timed out", "Expirado"),
    }
}

fn date_words(order: &Order) -> String {
    format!(
        "{}, {}",
        date_text(order.created_at),
        time_text(order.created_at)
    )
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
                <Icon symbol=Symbol::Back/>{t("Back", "Voltar")}
            </button>
            <ScreenTitle>{t("My orders", "Meus pedidos")}</ScreenTitle>
            {move || {
                let list = orders.get();
                if list.is_empty() {
                    view! { <p class="lede">{t("No orders yet. Your first one will show here.",
                        "Nenhum pedido ainda. O primeiro vai aparecer aqui.")}</p> }.into_any()
                } else {
                    let total = count(list.len() as u64, ("order", "orders"), ("pedido", "pedidos"));
                    view! {
                        <p class="hint" data-testid="history-count">{total}</p>
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
                <p class="hint">{t("Signed in as ", "Conectado como ")} <strong>{user_email}</strong></p>
                <button class="button-secondary" data-testid="sign-out"
                    on:click=move |_| if let Some(session) = session { sign_out(backend, session) }>
                    {t("Sign out", "Sair")}
                </button>
                <LangSwitch/>
            </div>
        </section>
    }
}

#[component]
pub fn Receipt(
    backend: BackendRef,
    shop: ShopId,
    order_id: OrderId,
    on_open: Callback<Page>,
) -> impl IntoView {
    let detail = RwSignal::new(None::<Result<OrderDetail, String>>);
    {
        let backend = backend.get();
        leptos::task::spawn_local(async move {
            let result = backend
                .order(shop.clone(), order_id.clone())
                .await
                .map_err(|e| error_words(&e));
            detail.try_set(Some(result));
        });
    }
    view! {
        <section class="story" data-testid="receipt">
            <button class="button-link back" data-testid="back" on:click=move |_| on_open.run(Page::History)>
                <Icon symbol=Symbol::Back/>{t("My orders", "Meus pedidos")}
            </button>
            {move || match detail.get() {
                None => view! { <p class="loading" aria-busy="true">{t("Loading the receipt…", "Carregando o recibo…")}</p> }.into_any(),
                Some(Err(why)) => view! { <p class="error" role="alert">{why}</p> }.into_any(),
                Some(Ok(detail)) => {
                    let order = detail.order.clone();
                    view! {
                        <div class="panel receipt">
                            <div class="row-between">
                                <ScreenTitle>{t("Receipt", "Recibo")}</ScreenTitle>
                                <span class="order-number-small num">
                                    {order.number.map(|n| format!("#{n}")).unwrap_or_default()}
                                </span>
                            </div>
                            <p class="drink-line"><strong>{describe_drink(&order)}</strong></p>
                            <p class="hint">{date_words(&order)} " · " {state_words(order.state)}</p>
                            {order.cancel_reason.clone().map(|reason| view! {
                                <p class="hint">{t("Reason: ", "Motivo: ")} {reason}</p>
                            })}
                            <ol class="timeline" data-testid="journey">
                                {detail.journey.iter().map(|step| view! {
                                    <li>
                                        <span class="timeline-time num">{time_text(step.at)}</span>
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
