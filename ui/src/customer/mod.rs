//! The customer app: scan the booth's QR code, sign in, choose a drink, follow it live.
//!
//! One column, one primary action per screen. What the screen shows is derived from the
//! customer's live view (`MyOrdersView`): a reload, a locked phone or a dropped network comes
//! back to the same place, caught up.
//!
//! Opening the booth's QR link (`?code=`) checks the code first, before sign-in: a bad or used-up
//! code is said at once, and a good one is traded for a scan pass (kept in this browser's
//! storage) that holds one of the code's orders while the customer signs in, so a slow mail
//! never loses it to the code's rotation. The pass (or, for a customer signed in already, the
//! code itself) starts an order once; the code is dropped from the address so a reload never
//! tries it again.

mod menu;
mod model;
mod push;
mod refusal;
mod status;
mod story;

use std::collections::HashSet;
use std::rc::Rc;

use espresso_core::protocol::{ErrorCode, EventType, Order, OrderId, Role, ScanPass, User};
use espresso_core::view::MyOrdersView;
use leptos::prelude::*;

use crate::a11y::ScreenTitle;
use crate::backend::{BackendError, BackendRef, Calls};
use crate::ctx::Ctx;
use crate::drink::drink_text;
use crate::feed::{Connection, ConnectionBadge, Feed, use_feed};
use crate::i18n::{t, tf};
use crate::icons::{ClosedSign, DrinkIcon, Icon, Symbol};
use crate::signin::{Gate, SessionState};
use crate::util::{
    chime, forget_pref, load_flag, load_pref, now, query_param, save_pref, set_query_param, vibrate,
};

use menu::Menu;
use model::{
    Arrival, Phase, ScanOutcome, Screen, Ticket, current_order, keeps_code, pass_is_live, phase,
    scan_outcome,
};
use refusal::Refusal;
use status::{Finished, NamePrompt, Status};
use story::{History, Receipt};

/// The customer's live orders in this shop.
pub type MyFeed = Feed<MyOrdersView>;

#[component]
pub fn CustomerApp() -> impl IntoView {
    let ctx = Ctx::get();
    let backend = ctx.backend;
    let shop = ctx.shop.clone();
    let signed_in: Rc<dyn Fn(User) -> AnyView> =
        Rc::new(move |user| view! { <Ordering ctx=ctx.clone() user=user/> }.into_any());
    let signed_in = StoredValue::new_local(signed_in);

    // Opened from the booth's QR link: check the code before anything else.
    let arrival = RwSignal::new(if query_param("code").is_some() {
        Arrival::Checking
    } else {
        Arrival::Done
    });
    let scan_refusal = RwSignal::new(None::<BackendError>);
    let check = {
        let shop = shop.clone();
        move || {
            let Some(code) = query_param("code") else {
                arrival.set(Arrival::Done);
                return;
            };
            let backend = backend.get();
            let shop = shop.clone();
            arrival.set(Arrival::Checking);
            leptos::task::spawn_local(async move {
                // Signed in already: nothing to wait for, the code itself starts the order now.
                if backend.user().await.ok().flatten().is_some() {
                    arrival.try_set(Arrival::Done);
                    return;
                }
                let result = backend.scan_pass(shop, code).await;
                match scan_outcome(result.as_ref().map(|_| ())) {
                    ScanOutcome::Hold => {
                        if let Ok(pass) = &result {
                            keep_pass(pass);
                        }
                        set_query_param("code", None);
                        arrival.try_set(Arrival::Done);
                    }
                    ScanOutcome::SignIn => {
                        arrival.try_set(Arrival::Done);
                    }
                    ScanOutcome::Say { keep_code } => {
                        if !keep_code {
                            set_query_param("code", None);
                        }
                        scan_refusal.try_set(result.err());
                        arrival.try_set(Arrival::Refused);
                    }
                }
            });
        }
    };
    let check = StoredValue::new_local(check);
    check.with_value(|check| check());
    let retry = Callback::new(move |()| check.with_value(|check| check()));
    let dismiss = Callback::new(move |()| {
        scan_refusal.set(None);
        arrival.set(Arrival::Done);
    });

    view! {
        <main class="app customer">
            <header class="customer-brand">
                <DrinkIcon icon="cappuccino"/>
                <span>"Espresso"</span>
            </header>
            {move || match arrival.get() {
                Arrival::Checking => view! {
                    <section class="panel center" data-testid="checking-code" aria-busy="true">
                        <ScreenTitle>{t("Checking the code…", "Verificando o código…")}</ScreenTitle>
                    </section>
                }
                .into_any(),
                Arrival::Refused => view! {
                    <Refusal
                        error=scan_refusal.get_untracked().unwrap_or(BackendError::Timeout)
                        can_retry=query_param("code").is_some()
                        on_retry=retry
                        on_dismiss=dismiss
                    />
                }
                .into_any(),
                Arrival::Done => {
                    let arriving = query_param("code").is_some() || kept_pass(&shop).is_some();
                    let lede = if arriving {
                        t(
                            "Your drink is one step away. We'll email you a 6-digit code: no password, no app.",
                            "Sua bebida está a um passo. Enviaremos um código de 6 dígitos por e-mail: sem senha, sem app.",
                        )
                    } else {
                        t(
                            "We'll email you a 6-digit code: no password, no app.",
                            "Enviaremos um código de 6 dígitos por e-mail: sem senha, sem app.",
                        )
                    };
                    view! {
                        <Gate backend=backend role=Role::Customer title=t("Sign in to order", "Entre para pedir")
                            lede=lede signed_in=signed_in.get_value()/>
                    }
                    .into_any()
                }
            }}
        </main>
    }
}

/// Where this browser keeps the scan pass of `shop`.
fn pass_key(shop: &str) -> String {
    format!("pass.{shop}")
}

fn keep_pass(pass: &ScanPass) {
    if let Ok(json) = serde_json::to_string(pass) {
        save_pref(&pass_key(&pass.shop), &json);
    }
}

/// The scan pass this browser keeps for `shop`, while it lasts (one past its time is dropped).
fn kept_pass(shop: &str) -> Option<String> {
    let pass: ScanPass = serde_json::from_str(&load_pref(&pass_key(shop))?).ok()?;
    if pass_is_live(&pass, now()) {
        Some(pass.pass)
    } else {
        forget_pref(&pass_key(shop));
        None
    }
}

/// Which page of the app is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    Main,
    History,
    Receipt(OrderId),
}

#[component]
fn Ordering(ctx: Ctx, user: User) -> impl IntoView {
    let backend = ctx.backend;
    let shop = ctx.shop.clone();
    let session = use_context::<SessionState>();
    let my_id = user.id.clone();
    let alerted = StoredValue::new(HashSet::<OrderId>::new());
    let on_event: Rc<dyn Fn(&espresso_core::protocol::Event)> = {
        let my_id = my_id.clone();
        Rc::new(move |event| {
            let Some(order) = &event.order else { return };
            if event.kind == EventType::OrderCompleted && order.customer.id == my_id {
                let first = alerted
                    .try_update_value(|seen| seen.insert(order.id.clone()))
                    .unwrap_or(false);
                if first {
                    ready_alert(backend, order);
                }
            }
        })
    };
    let feed: MyFeed = use_feed(
        backend.get(),
        shop.clone(),
        MyOrdersView::new(shop.clone(), user.id.clone()),
        Some(on_event),
    );
    Effect::new(move |_| {
        if feed.connection.get() == Connection::SignedOut
            && let Some(session) = session
        {
            session.signed_out();
        }
    });

    // The first name is asked once per account on this device, before the first order (an
    // order carries the name it was started with).
    let asked_key = format!("name-asked.{}", user.id);
    let name_settled = RwSignal::new(load_flag(&asked_key, false));
    if !name_settled.get_untracked() {
        let backend = backend.get();
        leptos::task::spawn_local(async move {
            if let Ok(me) = backend.me().await
                && me.display_name.is_some()
            {
                name_settled.try_set(true);
            }
        });
    }

    let page = RwSignal::new(Page::Main);
    // What starts the order: the link's code (signed in already, or the shop was closed at the
    // scan), else the pass kept for this shop.
    let ticket = RwSignal::new(
        query_param("code")
            .map(Ticket::Code)
            .or_else(|| kept_pass(&shop).map(Ticket::Pass)),
    );
    let starting = RwSignal::new(false);
    let refusal = RwSignal::new(None::<BackendError>);
    let notice = RwSignal::new(None::<String>);
    // The order this screen follows, so its end (cancelled, timed out, collected) is shown
    // until the customer is done with it.
    let followed = RwSignal::new(None::<OrderId>);
    // The order as the start call returned it, until the live view has it.
    let started = RwSignal::new(None::<Order>);

    let start = {
        let shop = shop.clone();
        move |with: Ticket| {
            let backend = backend.get();
            let shop = shop.clone();
            starting.set(true);
            refusal.set(None);
            leptos::task::spawn_local(async move {
                let result = match with {
                    Ticket::Code(code) => backend.start_order(shop.clone(), code, None).await,
                    Ticket::Pass(pass) => {
                        backend
                            .start_order_with_pass(shop.clone(), pass, None)
                            .await
                    }
                };
                starting.try_set(false);
                match result {
                    Ok(order) => {
                        forget_ticket(ticket, &shop);
                        followed.try_set(Some(order.id.clone()));
                        started.try_set(Some(order));
                    }
                    Err(error) => {
                        if !keeps_code(&error) {
                            forget_ticket(ticket, &shop);
                        }
                        if error.code() == Some(&ErrorCode::OpenOrderExists) {
                            notice.try_set(Some(already_ordered().into()));
                        } else if matches!(error, BackendError::SignedOut) {
                            if let Some(session) = session {
                                session.signed_out();
                            }
                        } else {
                            refusal.try_set(Some(error));
                        }
                    }
                }
            });
        }
    };
    let start = StoredValue::new_local(start);

    // The open order, from the live view (or from the start call until the view has it).
    let current = Memo::new(move |_| {
        started.with(|started| feed.view.with(|view| current_order(view, started.as_ref())))
    });

    // Arriving from a QR link: start the order once the view is loaded, unless one is open.
    let shop_id = shop.clone();
    Effect::new(move |_| {
        if !feed.loaded.get() || !name_settled.get() || starting.get_untracked() {
            return;
        }
        let Some(with) = ticket.get() else { return };
        if refusal.get_untracked().is_some() {
            return;
        }
        if current.get_untracked().is_some() {
            forget_ticket(ticket, &shop_id);
            notice.set(Some(already_ordered().into()));
            return;
        }
        start.with_value(|start| start(with));
    });

    Effect::new(move |_| {
        if let Some(order) = current.get()
            && followed.get_untracked().as_ref() != Some(&order.id)
        {
            followed.set(Some(order.id));
        }
    });

    let phase = Memo::new(move |_| {
        let screen = Screen {
            starting: starting.get(),
            refused: refusal.with(Option::is_some),
            loaded: feed.loaded.get(),
            name_settled: name_settled.get(),
            has_code: ticket.with(Option::is_some),
            followed: None,
        };
        followed.with(|followed| {
            let screen = Screen {
                followed: followed.as_deref(),
                ..screen
            };
            current.with(|current| feed.view.with(|view| phase(screen, current.as_ref(), view)))
        })
    });

    let shop_name = move || {
        feed.view
            .with(|view| view.shop().map(|shop| shop.name.clone()))
            .unwrap_or_else(|| "Espresso".to_owned())
    };
    let retry = Callback::new(move |()| {
        refusal.set(None);
        if let Some(with) = ticket.get_untracked() {
            start.with_value(|start| start(with));
        }
    });
    // "OK" after the daily limit shows what she had today.
    let dismiss = Callback::new(move |()| {
        let daily = refusal.with_untracked(|r| {
            r.as_ref().and_then(BackendError::code) == Some(&ErrorCode::DailyLimitReached)
        });
        refusal.set(None);
        if daily {
            page.set(Page::History);
        }
    });
    // "We're closed" moves on by itself when the shop opens (the page follows the shop live).
    Effect::new(move |previous: Option<Option<bool>>| {
        let open = feed.view.with(|view| view.shop_open());
        let closed_refusal = refusal.with_untracked(|r| {
            r.as_ref().and_then(BackendError::code) == Some(&ErrorCode::ShopClosed)
        });
        if open == Some(true) && previous.flatten() != Some(true) && closed_refusal {
            retry.run(());
        }
        open
    });
    let done = Callback::new(move |()| {
        followed.set(None);
        started.set(None);
    });
    let open_page = Callback::new(move |next: Page| page.set(next));

    view! {
        <header class="customer-bar">
            <span class="brand">{shop_name}</span>
            <ConnectionBadge connection=feed.connection/>
            <button class="button-link" data-testid="open-history"
                on:click=move |_| page.set(Page::History)>
                <Icon symbol=Symbol::Receipt/>
                <span>{t("My orders", "Meus pedidos")}</span>
            </button>
        </header>
        <p class="notice" role="status" data-testid="notice">{move || notice.get().unwrap_or_default()}</p>
        {move || match page.get() {
            Page::History => view! {
                <History feed=feed backend=backend on_open=open_page user_email=user.email.clone()/>
            }.into_any(),
            Page::Receipt(order_id) => view! {
                <Receipt backend=backend shop=shop.clone() order_id=order_id on_open=open_page/>
            }.into_any(),
            Page::Main => {
                let shop = shop.clone();
                let asked_key = asked_key.clone();
                (move || match phase.get() {
                    Phase::Loading => view! {
                        <p class="loading" aria-busy="true">{t("Loading your order…", "Carregando seu pedido…")}</p>
                    }.into_any(),
                    Phase::AskName => view! {
                        <NamePrompt backend=backend asked_key=asked_key.clone()
                            on_done=Callback::new(move |()| name_settled.set(true))/>
                    }.into_any(),
                    Phase::Starting => view! {
                        <section class="panel center" data-testid="starting">
                            <ScreenTitle>{t("Starting your order…", "Iniciando seu pedido…")}</ScreenTitle>
                        </section>
                    }.into_any(),
                    Phase::Refused => view! {
                        <Refusal
                            error=refusal.get_untracked().unwrap_or(BackendError::Timeout)
                            can_retry=ticket.get_untracked().is_some()
                            on_retry=retry
                            on_dismiss=dismiss
                        />
                    }.into_any(),
                    Phase::Menu(order_id) => view! {
                        <Menu feed=feed backend=backend shop=shop.clone() order_id=order_id/>
                    }.into_any(),
                    Phase::Status(order_id) => view! {
                        <Status feed=feed backend=backend shop=shop.clone() order_id=order_id/>
                    }.into_any(),
                    Phase::Finished(order_id) => view! {
                        <Finished feed=feed order_id=order_id on_done=done on_open=open_page/>
                    }.into_any(),
                    Phase::Idle => view! { <Idle feed=feed/> }.into_any(),
                })
                .into_any()
            }
        }}
    }
}

/// Said when a scan finds an order already open.
fn already_ordered() -> &'static str {
    t(
        "You already have an order on the way: here it is.",
        "Você já tem um pedido a caminho: aqui está ele.",
    )
}

/// Drop the booth code from the page's address and the pass from storage: they have done
/// their job (or cannot).
fn forget_ticket(ticket: RwSignal<Option<Ticket>>, shop: &str) {
    ticket.try_set(None);
    set_query_param("code", None);
    forget_pref(&pass_key(shop));
}

/// The order is ready: buzz, chime and a system notification, where the platform allows.
fn ready_alert(backend: BackendRef, order: &Order) {
    vibrate(&[200, 100, 200, 100, 400]);
    chime(true);
    let (title, body) = ready_notice(order);
    let backend = backend.get();
    leptos::task::spawn_local(async move {
        let _ = backend.notify(title, body).await;
    });
}

/// The words of the "ready" notification.
pub fn ready_notice(order: &Order) -> (String, String) {
    let number = order.number.map(|n| format!(" #{n}")).unwrap_or_default();
    (
        tf!(
            "Your drink{number} is ready",
            "Sua bebida{number} está pronta"
        ),
        t(
            "Pick it up at the bar. Look for your number on the big screen.",
            "Retire no balcão. Procure seu número na tela grande.",
        )
        .to_owned(),
    )
}

/// No open order: how to get one.
#[component]
fn Idle(feed: MyFeed) -> impl IntoView {
    let open = move || feed.view.with(|view| view.shop_open());
    move || {
        match open() {
        Some(false) => view! {
            <section class="panel center closed-sign" data-testid="shop-closed">
                <ClosedSign/>
                <ScreenTitle>{t("We're closed right now", "Estamos fechados agora")}</ScreenTitle>
                <p class="lede">{t("The bar opens again soon. When it does, scan the code on the big screen to order.",
                    "O bar abre de novo em breve. Quando abrir, escaneie o código na tela grande para pedir.")}</p>
            </section>
        }
        .into_any(),
        _ => view! {
            <section class="panel center" data-testid="scan-prompt">
                <div class="scan-art" aria-hidden="true">
                    <svg viewBox="0 0 48 48" fill="none" stroke="currentColor" stroke-width="3"
                        stroke-linecap="round" stroke-linejoin="round">
                        <path d="M6 16V8a2 2 0 0 1 2-2h8M32 6h8a2 2 0 0 1 2 2v8M42 32v8a2 2 0 0 1-2 2h-8M16 42H8a2 2 0 0 1-2-2v-8"/>
                        <path d="M14 14h8v8h-8zM26 26h8v8h-8zM26 14h8v8h-8zM14 26h8v8h-8z"/>
                    </svg>
                </div>
                <ScreenTitle>{t("Scan the code on the big screen", "Escaneie o código na tela grande")}</ScreenTitle>
                <p class="lede">{t("Point your phone's camera at the QR code by the bar to start an order.",
                    "Aponte a câmera do celular para o QR code perto do balcão para começar um pedido.")}</p>
            </section>
        }
        .into_any(),
    }
    }
}

/// The drink in words, e.g. "Flat White · Oat milk".
pub fn describe_drink(order: &Order) -> String {
    match &order.drink {
        Some(drink) => drink_text(&drink.name, &drink.options, None),
        None => t("No drink chosen yet", "Nenhuma bebida escolhida ainda").to_owned(),
    }
}
