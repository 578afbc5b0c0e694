//! The barista app: a tablet queue for a rush. Three columns (Queue, Making, Ready) fed live;
//! every move is shown at once and snaps back with the reason when the server refuses it; a
//! keyboard or bump bar runs it as well as fingers do.
//!
//! - [`model`]: what the board shows (pure, tested natively).
//! - [`desk`]: the shared state and the calls (optimistic moves, messages, the shop).
//! - [`card`], [`toolbar`], [`keys`]: the pieces on screen.

mod card;
mod console;
mod desk;
mod keys;
mod model;
mod stock;
mod toolbar;

use std::rc::Rc;

use espresso_core::protocol::{EventType, Role, User};
use espresso_core::view::QueueView;
use leptos::prelude::*;

use crate::ctx::Ctx;
use crate::feed::{Connection, use_feed};
use crate::i18n::{t, tf};
use crate::signin::{Gate, SessionState, sign_out};
use crate::util::{query_param, use_clock};

use card::Card;
use console::Console;
use desk::Desk;
use keys::{KeyHelp, use_keys, use_scroll_to_selection};
use model::CardModel;
use toolbar::{CancelDialog, CloseShopDialog, MenuDialog, Toolbar};

#[component]
pub fn BaristaApp() -> impl IntoView {
    let ctx = Ctx::get();
    let backend = ctx.backend;
    let signed_in: Rc<dyn Fn(User) -> AnyView> =
        Rc::new(move |user| view! { <Bar ctx=ctx.clone() user=user/> }.into_any());
    view! {
        <main class="app barista">
            <Gate backend=backend role=Role::Barista title=t("Barista sign-in", "Entrada do barista")
                lede=t("Sign in with your staff email. We'll email you a 6-digit code.",
                    "Entre com seu e-mail da equipe. Enviaremos um código de 6 dígitos por e-mail.")
                signed_in=signed_in/>
        </main>
    }
}

/// The board, once a barista is signed in.
#[component]
fn Bar(ctx: Ctx, user: User) -> impl IntoView {
    let session = use_context::<SessionState>();
    let clock = use_clock(1_000);
    // The feed calls back on each event; the desk exists once the feed does, so the callback
    // reaches it through this slot.
    let desk_slot = StoredValue::new(None::<Desk>);
    let on_event: Rc<dyn Fn(&espresso_core::protocol::Event)> = Rc::new(move |event| {
        if event.kind == EventType::OrderPlaced
            && let Some(order) = &event.order
            && let Some(desk) = desk_slot.try_get_value().flatten()
        {
            desk.arrived(order);
        }
    });
    let feed = use_feed(
        ctx.backend.get(),
        ctx.shop.clone(),
        QueueView::new(ctx.shop.clone()),
        Some(on_event),
    );
    let desk = Desk::new(ctx.backend, ctx.shop.clone(), user.id.clone(), feed, clock);
    desk_slot.set_value(Some(desk));
    let admin = user.can_act_as(Role::Admin);
    desk.console_open
        .set(admin && query_param("view").as_deref() == Some("console"));

    Effect::new(move |_| {
        if feed.connection.get() == Connection::SignedOut
            && let Some(session) = session
        {
            session.signed_out();
        }
    });
    use_keys(desk);
    use_scroll_to_selection(desk);

    let backend = ctx.backend;
    let on_sign_out = Callback::new(move |()| {
        if let Some(session) = session {
            sign_out(backend, session);
        }
    });

    let loading = move || !feed.loaded.get();
    let load_error = move || {
        feed.load_error.get().map(|error| {
            tf!(
                "Could not load the queue ({error}). Trying again…",
                "Não foi possível carregar a fila ({error}). Tentando de novo…"
            )
        })
    };

    view! {
        <div class="barista-board" data-testid="barista-board">
            <Toolbar desk=desk email=user.email.clone() admin=admin on_sign_out=on_sign_out/>
            <div class="barista-flash-slot" aria-live="polite">
                {move || desk.flash.get().map(|flash| view! {
                    <p class=if flash.bad { "barista-flash bad" } else { "barista-flash" }
                        role="status" data-testid="flash">
                        <span>{flash.text.clone()}</span>
                        <button class="button-link" on:click=move |_| desk.flash.set(None)>{t("Dismiss", "Dispensar")}</button>
                    </p>
                })}
                {move || load_error().map(|text| view! {
                    <p class="barista-flash bad" role="status" data-testid="load-error">{text}</p>
                })}
            </div>
            <Show when=move || desk.shop().is_some_and(|shop| !shop.open)>
                <p class="closed-banner" data-testid="closed-banner">
                    {t("The shop is closed: no new orders come in. Finish the ones on the board.",
                        "A loja está fechada: não entram novos pedidos. Termine os que estão no quadro.")}
                </p>
            </Show>
            <Show when=move || desk.console_open.get()>
                <Console desk=desk/>
            </Show>
            <Show when=move || !desk.console_open.get()>
            <div class="b-columns" aria-busy=move || loading().to_string()>
                <Column desk=desk title=t("Queue", "Fila") testid="col-queue" empty=t("No orders waiting.", "Nenhum pedido esperando.")
                    cards=Signal::derive(move || desk.board.with(|b| b.queue.clone()))/>
                <Column desk=desk title=t("Making", "Em preparo") testid="col-making" empty=t("Nothing being made. Tap Make on a queued order.", "Nada em preparo. Toque em Preparar num pedido da fila.")
                    cards=Signal::derive(move || desk.board.with(|b| b.making.clone()))/>
                <Column desk=desk title=t("Ready", "Prontos") testid="col-ready" empty=t("Nothing waiting to be collected.", "Nada esperando retirada.")
                    cards=Signal::derive(move || desk.board.with(|b| b.ready.clone()))/>
            </div>
            <div class="typed" aria-live="polite" data-testid="typed">
                {move || {
                    let typed = desk.typed.get();
                    (!typed.is_empty() && desk.selected.get().is_some()).then(|| format!("#{typed}"))
                }}
            </div>
            </Show>
            <KeyHelp desk=desk/>
            <CloseShopDialog desk=desk/>
            <MenuDialog desk=desk/>
            <CancelDialog desk=desk/>
        </div>
    }
}

#[component]
fn Column(
    desk: Desk,
    title: &'static str,
    testid: &'static str,
    empty: &'static str,
    cards: Signal<Vec<CardModel>>,
) -> impl IntoView {
    let count = move || cards.with(Vec::len);
    view! {
        <section class="b-column" data-testid=testid aria-label=title>
            <h2 class="b-column-title">
                {title}
                <span class="b-column-count num" data-testid="column-count">{count}</span>
            </h2>
            <div class="b-column-cards">
                <For each=move || cards.get() key=|card| card.clone() children=move |card| {
                    view! { <Card desk=desk card=card/> }
                }/>
                <Show when=move || count() == 0 && desk.feed.loaded.get()>
                    <p class="b-column-empty">{empty}</p>
                </Show>
            </div>
        </section>
    }
}
