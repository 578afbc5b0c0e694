//! Following the order: the number as the hero, three steps (in queue → being made → ready),
//! cancel while allowed, and how it ended.

use espresso_core::protocol::{
    CancelledBy, ErrorCode, Order, OrderId, OrderState, ShopId, TimeoutStage,
};
use leptos::prelude::*;

use super::{MyFeed, Page, describe_drink};
use crate::a11y::{ScreenTitle, focus_when_shown};
use crate::backend::{BackendRef, Calls, NotifyPermission};
use crate::i18n::{Lang, error_words, lang, t, tf};
use crate::icons::{Icon, Symbol};
use crate::util::{duration_words, load_flag, save_flag};

/// The three steps and which one the order is at (0-based), `None` when it is not on them.
pub fn step_of(state: OrderState) -> Option<usize> {
    match state {
        OrderState::Queued => Some(0),
        OrderState::InProgress => Some(1),
        OrderState::Ready => Some(2),
        _ => None,
    }
}

fn steps() -> [&'static str; 3] {
    [
        t("In the queue", "Na fila"),
        t("Being made", "Em preparo"),
        t("Ready", "Pronto"),
    ]
}

fn order_in(feed: MyFeed, order_id: &str) -> Option<Order> {
    feed.view.with(|view| {
        view.current()
            .filter(|order| order.id == order_id)
            .cloned()
            .or_else(|| {
                view.history()
                    .into_iter()
                    .find(|order| order.id == order_id)
                    .cloned()
            })
    })
}

#[component]
pub fn Status(feed: MyFeed, backend: BackendRef, shop: ShopId, order_id: OrderId) -> impl IntoView {
    let order = {
        let order_id = order_id.clone();
        Memo::new(move |_| order_in(feed, &order_id))
    };
    let state = Memo::new(move |_| order.get().map(|o| o.state));
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);

    let cancel = move |_| {
        let backend = backend.get();
        let (shop, order_id) = (shop.clone(), order_id.clone());
        busy.set(true);
        leptos::task::spawn_local(async move {
            match backend
                .cancel_order(shop.clone(), order_id.clone(), None)
                .await
            {
                Ok(_) => {
                    confirming.try_set(false);
                }
                Err(e) if e.code() == Some(&ErrorCode::InvalidTransition) => {
                    confirming.try_set(false);
                    error.try_set(Some(
                        t(
                            "Too late to cancel: the barista has started on your drink.",
                            "Tarde demais para cancelar: o barista já começou sua bebida.",
                        )
                        .into(),
                    ));
                }
                Err(e) => {
                    error.try_set(Some(if e.is_transient() {
                        t(
                            "We can't reach the bar right now. Try again in a moment.",
                            "Não conseguimos falar com o bar agora. Tente de novo daqui a pouco.",
                        )
                        .into()
                    } else {
                        error_words(&e)
                    }));
                }
            }
            busy.try_set(false);
        });
    };

    let headline = move || match state.get() {
        Some(OrderState::Queued) => t("You're in the queue", "Você está na fila"),
        Some(OrderState::InProgress) => t(
            "Your drink is being made",
            "Sua bebida está sendo preparada",
        ),
        Some(OrderState::Ready) => t("Ready! Pick it up at the bar", "Pronto! Retire no balcão"),
        _ => "",
    };
    let announcement = move || {
        order.get().and_then(|order| {
            let number = order.number.map(|n| format!(" #{n}")).unwrap_or_default();
            match order.state {
                OrderState::Queued => Some(tf!(
                    "Your order{number} is in the queue.",
                    "Seu pedido{number} está na fila."
                )),
                OrderState::InProgress => Some(tf!(
                    "Your order{number} is being made.",
                    "Seu pedido{number} está sendo preparado."
                )),
                OrderState::Ready => Some(tf!(
                    "Your order{number} is ready. Pick it up at the bar.",
                    "Seu pedido{number} está pronto. Retire no balcão."
                )),
                _ => None,
            }
        })
    };
    let hint = move || match state.get() {
        Some(OrderState::Queued) => t(
            "We'll let you know the moment it's ready.",
            "Avisaremos assim que estiver pronto.",
        ),
        Some(OrderState::InProgress) => t(
            "Almost there. Keep an eye on the big screen.",
            "Quase lá. Fique de olho na tela grande.",
        ),
        Some(OrderState::Ready) => t(
            "Look for your number on the big screen.",
            "Procure seu número na tela grande.",
        ),
        _ => "",
    };

    view! {
        <section class=move || format!("status-screen state-{}", state.get().map(OrderState::as_str).unwrap_or(""))
            data-testid="status">
            <div class="hero panel center">
                <p class="hero-label">{t("Your order", "Seu pedido")}</p>
                <p class="order-number num" data-testid="order-number">
                    {move || order.get().and_then(|o| o.number).map(|n| format!("#{n}")).unwrap_or_default()}
                </p>
                <p class="drink-line" data-testid="status-drink">
                    {move || order.get().map(|o| describe_drink(&o)).unwrap_or_default()}
                </p>
                {move || order.get().and_then(|o| o.customer.display_name).map(|name| view! {
                    <p class="name-line">{t("For ", "Para ")} <strong>{name}</strong></p>
                })}
            </div>
            <ol class="steps" aria-label=t("Progress", "Andamento")>
                {steps().into_iter().enumerate().map(|(i, label)| {
                    let class = move || {
                        let at = state.get().and_then(step_of);
                        match at {
                            Some(at) if i < at => "step done",
                            Some(at) if i == at => "step current",
                            _ => "step",
                        }
                    };
                    view! {
                        <li class=class aria-current=move || {
                            (state.get().and_then(step_of) == Some(i)).then_some("step")
                        }>
                            <span class="step-dot" aria-hidden="true">
                                {move || (state.get().and_then(step_of).is_some_and(|at| i < at)).then(|| view! { <Icon symbol=Symbol::Check/> })}
                            </span>
                            <span class="step-label">{label}</span>
                        </li>
                    }
                }).collect_view()}
            </ol>
            // Said to a screen reader as it changes: "Your order #12 is ready".
            <p class="visually-hidden" role="status" data-testid="status-announcement">{announcement}</p>
            <div class="status-words">
                <ScreenTitle testid="status-headline">{headline}</ScreenTitle>
                <p class="lede">{hint}</p>
            </div>
            {move || (state.get() != Some(OrderState::Ready)).then(|| view! { <NotifyOffer backend=backend/> })}
            <p class="error" role="alert" data-testid="status-error">{move || error.get().unwrap_or_default()}</p>
            {move || (state.get() == Some(OrderState::Queued)).then(|| {
                if confirming.get() {
                    view! {
                        <div class="panel confirm" role="alertdialog" aria-labelledby="confirm-cancel"
                            data-testid="confirm-cancel">
                            <h2 id="confirm-cancel">{t("Cancel your order?", "Cancelar seu pedido?")}</h2>
                            <p class="lede">{t("Your drink hasn't been started yet. You can order again with a new scan.",
                                "Sua bebida ainda não começou a ser feita. Você pode pedir de novo com uma nova leitura.")}</p>
                            <div class="row">
                                <button class="button-danger filled" data-testid="confirm-cancel-yes"
                                    disabled=move || busy.get() on:click=cancel.clone()>
                                    {t("Yes, cancel it", "Sim, cancelar")}
                                </button>
                                <button class="button-link" data-testid="confirm-cancel-no"
                                    on:click=move |_| confirming.set(false)>
                                    {t("Keep my order", "Manter meu pedido")}
                                </button>
                            </div>
                        </div>
                    }.into_any()
                } else {
                    view! {
                        <button class="button-danger" data-testid="cancel-order"
                            on:click=move |_| { error.set(None); confirming.set(true); }>
                            {t("Cancel order", "Cancelar pedido")}
                        </button>
                    }.into_any()
                }
            })}
        </section>
    }
}

/// "Tell me when it's ready": asks for notification permission once, from a tap; in a browser
/// that can take pushes it also subscribes it (Web Push: the news arrives with the page closed
/// or the phone locked). Not shown where the question is settled (refused, or allowed and
/// subscribed; the installed desktop apps may always and notify natively).
#[component]
fn NotifyOffer(backend: BackendRef) -> impl IntoView {
    let shown = RwSignal::new(false);
    let said = RwSignal::new(None::<String>);
    let push_capable = backend.get().via() == "web" && super::push::supported();
    {
        let backend = backend.get();
        leptos::task::spawn_local(async move {
            let permission = backend
                .notification_permission()
                .await
                .unwrap_or(NotifyPermission::Denied);
            let subscribed = load_flag(super::push::SUBSCRIBED_FLAG, false);
            shown.try_set(match permission {
                NotifyPermission::Ask => true,
                NotifyPermission::Granted => push_capable && !subscribed,
                NotifyPermission::Denied => false,
            });
        });
    }
    let ask = move || {
        shown.set(false);
        let backend = backend.get();
        leptos::task::spawn_local(async move {
            let permission = backend
                .request_notification_permission()
                .await
                .unwrap_or(NotifyPermission::Denied);
            if permission != NotifyPermission::Granted {
                return;
            }
            if !push_capable {
                said.try_set(Some(
                    t(
                        "We'll tell you here when it's ready.",
                        "Avisaremos aqui quando estiver pronto.",
                    )
                    .into(),
                ));
                return;
            }
            match super::push::subscribe(&*backend).await {
                Ok(()) => {
                    save_flag(super::push::SUBSCRIBED_FLAG, true);
                    said.try_set(Some(
                        t(
                            "We'll tell you when it's ready, even with your phone locked.",
                            "Avisaremos quando estiver pronto, mesmo com o celular bloqueado.",
                        )
                        .into(),
                    ));
                }
                Err(why) => {
                    leptos::logging::warn!("push: {why}");
                    said.try_set(Some(
                        t(
                            "We'll tell you when it's ready while this page is open.",
                            "Avisaremos quando estiver pronto enquanto esta página estiver aberta.",
                        )
                        .into(),
                    ));
                }
            }
        });
    };
    view! {
        {move || shown.get().then(|| view! {
            <button class="button-secondary notify-offer" data-testid="notify-me"
                on:click=move |_| ask()>
                <Icon symbol=Symbol::Bell/>
                {t("Tell me when it's ready", "Me avise quando estiver pronto")}
            </button>
        })}
        <p class="notify-said" role="status">{move || said.get().unwrap_or_default()}</p>
    }
}

/// Asked once per account on this device, before the first order, skippable: the first name
/// shown on the board next to the number.
#[component]
pub fn NamePrompt(backend: BackendRef, asked_key: String, on_done: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let close = move || {
        save_flag(&asked_key, true);
        on_done.run(());
    };
    let close = StoredValue::new(close);
    let save = move || {
        let value = name.get_untracked().trim().to_owned();
        if value.is_empty() {
            error.set(Some(
                t("Type a name, or skip.", "Digite um nome, ou pule.").into(),
            ));
            return;
        }
        if value.chars().count() > 32 {
            error.set(Some(
                t("Please keep it to 32 letters.", "Use no máximo 32 letras.").into(),
            ));
            return;
        }
        let backend = backend.get();
        busy.set(true);
        leptos::task::spawn_local(async move {
            match backend.set_display_name(Some(value)).await {
                Ok(_) => close.with_value(|close| close()),
                Err(e) => {
                    error.try_set(Some(
                        e.problem()
                            .and_then(|p| p.detail.clone())
                            .filter(|_| lang() == Lang::En)
                            .unwrap_or_else(|| error_words(&e)),
                    ));
                }
            }
            busy.try_set(false);
        });
    };
    let save = StoredValue::new(save);
    // The screen starts at its one field.
    let name_field = NodeRef::<leptos::html::Input>::new();
    focus_when_shown(name_field);
    view! {
        <form class="panel name-prompt" data-testid="name-prompt"
            on:submit=move |ev| { ev.prevent_default(); save.with_value(|save| save()); }>
            <ScreenTitle keep_focus=true>{t("What should we call you?", "Como podemos chamar você?")}</ScreenTitle>
            <p class="lede">{t("Your first name shows next to your order number on the big screen. Optional.",
                "Seu primeiro nome aparece ao lado do número do pedido na tela grande. Opcional.")}</p>
            <label class="field">
                <span class="field-label">{t("First name", "Primeiro nome")}</span>
                <input type="text" name="name" autocomplete="given-name" maxlength="32"
                    data-testid="name-input" node_ref=name_field
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))/>
            </label>
            <p class="error" role="alert">{move || error.get().unwrap_or_default()}</p>
            <button class="button-primary wide" type="submit" data-testid="name-save"
                disabled=move || busy.get()>{t("Continue", "Continuar")}</button>
            <button class="button-link" type="button" data-testid="name-skip"
                on:click=move |_| close.with_value(|close| close())>{t("Skip", "Pular")}</button>
        </form>
    }
}

/// How the order ended, until the customer is done with it.
#[component]
pub fn Finished(
    feed: MyFeed,
    order_id: String,
    on_done: Callback<()>,
    on_open: Callback<Page>,
) -> impl IntoView {
    let Some(order) = order_in(feed, &order_id) else {
        return view! { <p class="loading">{t("Loading…", "Carregando…")}</p> }.into_any();
    };
    let number = order.number.map(|n| format!("#{n}")).unwrap_or_default();
    // The texts say the shop's own times.
    let limits = feed
        .view
        .with_untracked(|view| view.shop().map(|shop| shop.limits))
        .unwrap_or_default();
    let (kind, title, body): (&str, String, String) = match order.state {
        OrderState::Collected => (
            "collected",
            t("Enjoy your coffee!", "Aproveite seu café!").into(),
            tf!(
                "Order {number} is handed over. Thanks for stopping by.",
                "Pedido {number} entregue. Obrigado pela visita."
            ),
        ),
        OrderState::Cancelled => match order.cancelled_by {
            Some(CancelledBy::Staff) => (
                "cancelled",
                t("The bar cancelled your order", "O bar cancelou seu pedido").into(),
                match &order.cancel_reason {
                    Some(reason) => tf!(
                        "The barista said: \u{201c}{reason}\u{201d}. Sorry about that.",
                        "O barista disse: \u{201c}{reason}\u{201d}. Desculpe por isso."
                    ),
                    None => t(
                        "Sorry about that. Please ask at the bar.",
                        "Desculpe por isso. Pergunte no balcão.",
                    )
                    .into(),
                },
            ),
            _ => (
                "cancelled",
                t("Your order is cancelled", "Seu pedido foi cancelado").into(),
                t(
                    "Nothing to pay, nothing to pick up. Scan the code on the big screen to order again.",
                    "Nada a pagar, nada a retirar. Escaneie o código na tela grande para pedir de novo.",
                )
                .into(),
            ),
        },
        OrderState::TimedOut => match order.timeout_stage {
            Some(TimeoutStage::Barista) => (
                "timed-out",
                t(
                    "Sorry, we couldn't make it in time",
                    "Desculpe, não conseguimos fazer a tempo",
                )
                .into(),
                t(
                    "The bar was too busy to make your drink. Please ask a barista, or order again.",
                    "O bar estava ocupado demais para fazer sua bebida. Fale com um barista, ou peça de novo.",
                )
                .into(),
            ),
            Some(TimeoutStage::Collection) => (
                "timed-out",
                t("Your drink was not picked up", "Sua bebida não foi retirada").into(),
                {
                    let wait = duration_words(u64::from(limits.ready_expiry_s));
                    tf!(
                        "Order {number} was ready for {wait} and nobody came for it, so it left the board. \
                         Ask at the bar, or scan the code on the big screen to order again.",
                        "O pedido {number} ficou pronto por {wait} e ninguém veio buscar, então saiu do painel. \
                         Pergunte no balcão, ou escaneie o código na tela grande para pedir de novo."
                    )
                },
            ),
            _ => (
                "timed-out",
                t("Time ran out", "O tempo acabou").into(),
                {
                    let wait = duration_words(u64::from(limits.customer_timeout_s));
                    tf!(
                        "No drink was chosen within {wait}, so the order was closed. Scan the code on the \
                         big screen to start again.",
                        "Nenhuma bebida foi escolhida em {wait}, então o pedido foi encerrado. Escaneie o \
                         código na tela grande para começar de novo."
                    )
                },
            ),
        },
        _ => ("open", String::new(), String::new()),
    };
    let symbol = if kind == "collected" {
        Symbol::Check
    } else {
        Symbol::Cross
    };
    let receipt_id = order.id.clone();
    view! {
        <section class=format!("panel center finished finished-{kind}") data-testid=format!("finished-{kind}")>
            <div class="refusal-art"><Icon symbol=symbol/></div>
            <ScreenTitle>{title}</ScreenTitle>
            <p class="lede">{body}</p>
            <button class="button-primary wide" data-testid="finished-done"
                on:click=move |_| on_done.run(())>{t("Done", "Concluir")}</button>
            <button class="button-link" data-testid="open-receipt"
                on:click=move |_| on_open.run(Page::Receipt(receipt_id.clone()))>{t("See the receipt", "Ver o recibo")}</button>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steps_follow_the_order() {
        assert_eq!(step_of(OrderState::Queued), Some(0));
        assert_eq!(step_of(OrderState::InProgress), Some(1));
        assert_eq!(step_of(OrderState::Ready), Some(2));
        assert_eq!(step_of(OrderState::AwaitingDrink), None);
        assert_eq!(step_of(OrderState::Collected), None);
    }
}
