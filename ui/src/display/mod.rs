//! The booth display: a kiosk screen with the rotating QR code and the Preparing / Ready board,
//! readable across a room. Signed in with the display role; fed live through the `Backend`
//! seam (`feed::use_feed`), so it follows the shop without reloads, and catches up after a
//! server restart or a network drop (a small indicator shows only while it is not live).
//!
//! - [`qr`]: the QR panel (code, drinks left, countdown ring, "We are making drinks!", closed).
//! - [`board`]: the Preparing and Ready columns.
//! - [`settings`]: the staff's panel, behind the `S` key or three taps in the top-left corner.
//! - [`kiosk`]: wake lock, hidden cursor, full screen.
//! - [`layout`]: the pure rules (what the panel shows, what fits).

mod board;
mod kiosk;
mod layout;
mod qr;
mod settings;

use std::rc::Rc;

use chrono::TimeDelta;
use espresso_core::protocol::{Event, EventType, Role, ShopId, User};
use espresso_core::view::QueueView;
use leptos::ev;
use leptos::prelude::*;

use crate::backend::BackendRef;
use crate::ctx::Ctx;
use crate::feed::{Connection, ConnectionBadge, use_feed};
use crate::i18n::{t, tf};
use crate::signin::{Gate, SessionState};
use crate::util::{chime, load_flag, now, use_clock};

use board::Board;
use qr::QrPanel;
use settings::{CHIME_FLAG, Settings};

/// The mouse rests this long before the cursor hides.
const CURSOR_IDLE_MS: f64 = 3_000.0;
/// Taps in the corner, this close together, open the settings.
const TAPS: usize = 3;
const TAP_WINDOW_MS: f64 = 1_500.0;
/// Events older than this (caught up after a reconnect) do not chime.
const CHIME_FRESH: TimeDelta = TimeDelta::seconds(30);

#[component]
pub fn DisplayApp() -> impl IntoView {
    let ctx = Ctx::get();
    kiosk::keep_awake();
    let idle = kiosk::use_idle_cursor(CURSOR_IDLE_MS);
    let backend = ctx.backend;
    let shop = ctx.shop;
    let signed_in: Rc<dyn Fn(User) -> AnyView> = Rc::new(move |user: User| {
        view! { <Booth backend=backend shop=shop.clone() user=user/> }.into_any()
    });
    view! {
        <main class="display" class:display-idle=move || idle.get()>
            <Gate
                backend=backend
                role=Role::Display
                title=t("Booth display", "Tela do balcão")
                lede=t("Staff only: sign in with an account that may run the booth screen. It then shows the QR code and the order board.",
                    "Só para a equipe: entre com uma conta que pode usar a tela do balcão. Ela mostra então o QR code e o painel de pedidos.")
                signed_in=signed_in
            />
        </main>
    }
}

/// The signed-in screen: QR panel, board, the indicator while not live, and the settings.
#[component]
fn Booth(backend: BackendRef, shop: ShopId, user: User) -> impl IntoView {
    let session = use_context::<SessionState>();
    let chime_on = RwSignal::new(load_flag(CHIME_FLAG, true));
    let on_event: Rc<dyn Fn(&Event)> = Rc::new(move |event: &Event| {
        if event.kind == EventType::OrderCompleted
            && chime_on.get_untracked()
            && now() - event.at < CHIME_FRESH
        {
            chime(true);
        }
    });
    let feed = use_feed(
        backend.get(),
        shop.clone(),
        QueueView::new(shop.clone()),
        Some(on_event),
    );
    Effect::new(move |_| {
        if feed.connection.get() == Connection::SignedOut
            && let Some(session) = session
        {
            session.signed_out();
        }
    });
    let clock = use_clock(1_000);
    let settings_open = RwSignal::new(false);

    let keys = window_event_listener(ev::keydown, move |event| {
        if event.ctrl_key() || event.meta_key() || event.alt_key() || event.repeat() {
            return;
        }
        if kiosk::typing_in_a_field(&event) {
            if event.key() == "Escape" {
                settings_open.set(false);
            }
            return;
        }
        match event.key().as_str() {
            "s" | "S" => settings_open.update(|open| *open = !*open),
            "Escape" => settings_open.set(false),
            "f" | "F" => kiosk::toggle_full_screen(),
            _ => {}
        }
    });
    on_cleanup(move || keys.remove());

    let taps = StoredValue::new(Vec::<f64>::new());
    let on_corner_tap = move |_| {
        let at = js_sys::Date::now();
        let mut count = 0;
        taps.update_value(|taps| {
            taps.retain(|tap| at - tap < TAP_WINDOW_MS);
            taps.push(at);
            count = taps.len();
            if count >= TAPS {
                taps.clear();
            }
        });
        if count >= TAPS {
            settings_open.set(true);
        }
    };

    let shop_name = move || {
        feed.view
            .with(|view| view.shop().map(|shop| shop.name.clone()))
            .unwrap_or_default()
    };
    let not_found = move || feed.connection.get() == Connection::ShopNotFound;
    let settings_shop = shop.clone();
    let not_found_text = tf!(
        "There is no shop called “{shop}”.",
        "Não existe uma loja chamada “{shop}”."
    );

    view! {
        <div class="booth" data-testid="booth">
            // The screen's h1, for screen readers (the board shows the shop's name small).
            <h1 class="visually-hidden">{move || { let name = shop_name(); tf!("{name} · order board", "{name} · painel de pedidos") }}</h1>
            <QrPanel backend=backend shop=shop.clone() feed=feed clock=clock/>
            <Board feed=feed clock=clock/>
            <p class="booth-name" aria-hidden="true">{shop_name}</p>
            <Show when=move || !feed.connection.get().is_live()>
                <div class="booth-offline" data-testid="offline">
                    <ConnectionBadge connection=feed.connection/>
                </div>
            </Show>
            <Show when=not_found>
                <div class="booth-notice" data-testid="shop-not-found" role="alert">
                    <p class="qr-title">{not_found_text.clone()}</p>
                    <p class="qr-lede">{t("Staff: press S (or tap the top-left corner three times) to choose another.",
                        "Equipe: aperte S (ou toque três vezes no canto superior esquerdo) para escolher outra.")}</p>
                </div>
            </Show>
            <button class="settings-hotspot" type="button" tabindex="-1"
                aria-label=t("Display settings (staff: tap three times)", "Ajustes da tela (equipe: toque três vezes)") data-testid="settings-hotspot"
                on:click=on_corner_tap></button>
            <Show when=move || settings_open.get()>
                <Settings backend=backend shop=settings_shop.clone() user=user.clone()
                    chime_on=chime_on open=settings_open session=session/>
            </Show>
        </div>
    }
}
