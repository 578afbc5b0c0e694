//! The QR panel: the booth's current code as a large QR on a white tile, how many drinks it has
//! left, and a ring counting down to the next code. A used-up code gives way to "We are making
//! drinks!"; a closed shop to the closed sign.

use chrono::{DateTime, TimeDelta, Utc};
use espresso_core::protocol::ShopId;
use espresso_core::view::QueueView;
use leptos::prelude::*;

use super::layout::{CodeMode, code_mode, drinks_left, window_left};
use crate::backend::{BackendRef, Calls};
use crate::feed::Feed;
use crate::i18n::{also, t, tf};
use crate::icons::{DrinkIcon, Icon, Symbol};
use crate::util::{clock_text, seconds_until};

/// The circumference of the ring's circle (r = 44 in a 100 × 100 box).
const RING: f64 = 2.0 * std::f64::consts::PI * 44.0;

/// How long after a code's end the screen waits for `code.rotated` before asking itself.
const ASK_AFTER: TimeDelta = TimeDelta::seconds(2);

#[component]
pub fn QrPanel(
    backend: BackendRef,
    shop: ShopId,
    feed: Feed<QueueView>,
    clock: ReadSignal<DateTime<Utc>>,
) -> impl IntoView {
    let view = feed.view;
    let mode = Memo::new(move |_| {
        let now = clock.get();
        view.with(|view| code_mode(view.shop().map(|shop| shop.open), view.code(), now))
    });
    let url = Memo::new(move |_| view.with(|view| view.code().map(|code| code.order_url.clone())));
    let svg = Memo::new(move |_| {
        url.get()
            .and_then(|url| espresso_core::qr::order_qr_svg(&url).ok())
            .unwrap_or_default()
    });
    let remaining =
        Memo::new(move |_| view.with(|view| view.code().map_or(0, |code| code.remaining)));
    let seconds_left = move || {
        let now = clock.get();
        view.with(|view| {
            view.code()
                .map_or(0, |code| seconds_until(code.expires_at, now))
        })
    };
    let fraction = move || {
        let now = clock.get();
        view.with(|view| view.code().map_or(0.0, |code| window_left(code, now)))
    };

    ask_for_a_late_code(backend, shop, feed, clock);

    // The countdown ring; the large one has the time in its middle.
    let ring = move |large: bool| {
        view! {
            <div class=if large { "ring ring-large" } else { "ring ring-small" } aria-hidden="true">
                <svg viewBox="0 0 100 100">
                    <circle class="ring-track" cx="50" cy="50" r="44"/>
                    <circle class="ring-left" cx="50" cy="50" r="44"
                        stroke-dasharray=format!("{RING:.2}")
                        stroke-dashoffset=move || format!("{:.2}", RING * (1.0 - fraction()))/>
                </svg>
                {large.then(|| view! {
                    <span class="ring-time num">{move || clock_text(seconds_left())}</span>
                })}
            </div>
        }
    };

    view! {
        <section class="qr-panel" data-testid="qr-panel" data-mode=move || format!("{:?}", mode.get()).to_lowercase()>
            {move || match mode.get() {
                CodeMode::Loading => view! {
                    <div class="qr-message">
                        <p class="qr-lede" aria-busy="true">{t("Getting the code…", "Buscando o código…")}</p>
                    </div>
                }.into_any(),
                CodeMode::Closed => view! {
                    <div class="booth-closed" data-testid="closed" role="status">
                        <Icon symbol=Symbol::Closed/>
                        <p class="closed-title">{t("Closed", "Fechado")}{also("Closed", "Fechado")}</p>
                        <p class="qr-lede">{t("The coffee bar is not taking orders right now.", "O bar não está aceitando pedidos agora.")}</p>
                        <p class="qr-lede">{t("Drinks already ordered are still being made.", "As bebidas já pedidas continuam sendo preparadas.")}</p>
                    </div>
                }.into_any(),
                CodeMode::Renewing => view! {
                    <div class="qr-message" data-testid="code-renewing">
                        <p class="qr-title">{t("New code coming up…", "Novo código chegando…")}{also("New code coming up…", "Novo código chegando…")}</p>
                    </div>
                }.into_any(),
                CodeMode::UsedUp => view! {
                    <div class="used-up" data-testid="code-used-up" role="status">
                        <DrinkIcon icon="flat_white"/>
                        <p class="qr-title">{t("We are making drinks!", "Estamos preparando bebidas!")}{also("We are making drinks!", "Estamos preparando bebidas!")}</p>
                        {ring(true)}
                        <p class="qr-lede num">
                            {move || { let left = clock_text(seconds_left()); tf!("New code in {left}", "Novo código em {left}") }}
                        </p>
                    </div>
                }.into_any(),
                CodeMode::Scan => view! {
                    <h2 class="qr-title">{t("Scan to order", "Escaneie para pedir")}{also("Scan to order", "Escaneie para pedir")}</h2>
                    <div class="qr-tile" data-testid="qr" inner_html=move || svg.get()></div>
                    <div class="qr-info">
                        <p class="qr-left num" data-testid="drinks-left">
                            {move || drinks_left(remaining.get())}
                        </p>
                        <div class="qr-next">
                            {ring(false)}
                            <p class="qr-lede num" data-testid="next-code">
                                {move || { let left = clock_text(seconds_left()); tf!("New code in {left}", "Novo código em {left}") }}
                            </p>
                        </div>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

/// The server rotates the code on its own and says so (`code.rotated`); if the word does not
/// come shortly after the code's end while the screen is live, ask for the current code.
fn ask_for_a_late_code(
    backend: BackendRef,
    shop: ShopId,
    feed: Feed<QueueView>,
    clock: ReadSignal<DateTime<Utc>>,
) {
    let asking = StoredValue::new(false);
    let last_ask = StoredValue::new(DateTime::<Utc>::MIN_UTC);
    let shop = StoredValue::new(shop);
    Effect::new(move |_| {
        let now = clock.get();
        let late = feed.view.with_untracked(|view| {
            view.shop().is_some_and(|shop| shop.open)
                && view
                    .code()
                    .is_none_or(|code| code.expires_at + ASK_AFTER <= now)
        });
        if !late
            || !feed.connection.get_untracked().is_live()
            || asking.get_value()
            || now - last_ask.get_value() < TimeDelta::seconds(5)
        {
            return;
        }
        asking.set_value(true);
        last_ask.set_value(now);
        let backend = backend.get();
        let shop = shop.get_value();
        leptos::task::spawn_local(async move {
            if let Ok(code) = backend.booth_code(shop.clone()).await {
                feed.view.try_update(|view| {
                    if view
                        .code()
                        .is_none_or(|seen| seen.issued_at < code.issued_at)
                    {
                        view.set_code(code);
                    }
                });
            }
            asking.try_set_value(false);
        });
    });
}
