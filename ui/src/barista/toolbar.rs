//! The bar across the top: the shop's switch, the menu, the numbers, the connection, sound,
//! the keys and signing out.

use leptos::prelude::*;

use super::desk::Desk;
use super::stock::OptionStock;
use crate::feed::ConnectionBadge;
use crate::i18n::{LangSwitch, t, tf};
use crate::icons::{DrinkIcon, Icon, Symbol};
use crate::util::{duration_words, set_query_param};

#[component]
pub fn Toolbar(desk: Desk, email: String, admin: bool, on_sign_out: Callback<()>) -> impl IntoView {
    let open = move || desk.shop().map(|shop| shop.open);
    let shop_name = move || {
        desk.shop()
            .map(|shop| shop.name)
            .unwrap_or_else(|| desk.shop_id().into_string())
    };
    let off_menu = move || {
        desk.shop()
            .map(|shop| shop.menu.iter().filter(|item| !item.available).count())
            .unwrap_or(0)
    };
    let stats = move || desk.feed.view.with(|view| view.stats().cloned());
    let waiting = move || desk.board.with(|b| b.queue.len());
    let avg = move || {
        stats()
            .and_then(|s| s.avg_wait_s)
            .map_or_else(|| "–".to_owned(), short_duration)
    };
    let served = move || stats().map_or(0, |s| s.served_today);

    view! {
        <header class="barista-toolbar">
            <div class="toolbar-title">
                <h1>{t("Barista", "Barista")}</h1>
                <span class="toolbar-shop">{shop_name}</span>
            </div>
            <button
                class=move || match open() {
                    Some(true) => "shop-switch is-open",
                    Some(false) => "shop-switch is-closed",
                    None => "shop-switch",
                }
                role="switch"
                data-testid="shop-switch"
                aria-checked=move || if open() == Some(true) { "true" } else { "false" }
                aria-label=t("Shop open for orders", "Loja aberta para pedidos")
                disabled=move || desk.shop_busy.get() || open().is_none()
                on:click=move |_| match open() {
                    Some(true) => desk.confirm_close.set(true),
                    Some(false) => desk.set_open(true),
                    None => {}
                }
            >
                <span class="switch-track" aria-hidden="true"><span class="switch-thumb"></span></span>
                <span class="switch-label" data-testid="shop-state">
                    {move || match (open(), desk.shop_busy.get()) {
                        (Some(true), true) => t("Closing…", "Fechando…"),
                        (Some(false), true) => t("Opening…", "Abrindo…"),
                        (Some(true), false) => t("Open", "Aberta"),
                        (Some(false), false) => t("Closed", "Fechada"),
                        (None, _) => "…",
                    }}
                </span>
            </button>
            <button class="toolbar-button" data-testid="menu-button"
                on:click=move |_| desk.menu_open.set(true)>
                {t("Menu", "Cardápio")}
                {move || {
                    let off = off_menu();
                    (off > 0).then(|| view! {
                        <span class="b-pill late" data-testid="menu-off-count">{tf!("{off} off", "{off} fora")}</span>
                    })
                }}
            </button>
            <dl class="toolbar-stats" data-testid="stats" aria-label=t("Queue numbers", "Números da fila")
                hidden=move || desk.console_open.get()>
                <div><dt>{t("Waiting", "Esperando")}</dt><dd class="num" data-testid="stat-waiting">{waiting}</dd></div>
                <div><dt>{t("Avg wait", "Espera média")}</dt><dd class="num" data-testid="stat-avg">{avg}</dd></div>
                <div><dt>{t("Served today", "Servidos hoje")}</dt><dd class="num" data-testid="stat-served">{served}</dd></div>
            </dl>
            <div class="toolbar-end">
                <ConnectionBadge connection=desk.feed.connection/>
                {admin.then(|| view! {
                    <button class="toolbar-button" aria-pressed=move || desk.console_open.get().to_string()
                        title=t("The owner's console: shop, menu, staff, numbers", "O painel do dono: loja, cardápio, equipe, números")
                        on:click=move |_| {
                            let open = !desk.console_open.get_untracked();
                            desk.console_open.set(open);
                            set_query_param("view", open.then_some("console"));
                        }>
                        {move || if desk.console_open.get() { t("Back to the bar", "Voltar ao bar") } else { t("Console", "Painel") }}
                    </button>
                })}
                // The chime and the keys are the bar's: not shown over the console.
                <button class="toolbar-button" data-testid="sound-toggle"
                    hidden=move || desk.console_open.get()
                    aria-pressed=move || if desk.muted.get() { "false" } else { "true" }
                    title=t("New-order chime (M)", "Som de novo pedido (M)")
                    on:click=move |_| desk.toggle_sound()>
                    {move || if desk.muted.get() {
                        view! { <Icon symbol=Symbol::BellOff/> {t("Sound off", "Som desligado")} }.into_any()
                    } else {
                        view! { <Icon symbol=Symbol::Bell/> {t("Sound on", "Som ligado")} }.into_any()
                    }}
                </button>
                <button class="toolbar-button" data-testid="help-button" aria-keyshortcuts="?"
                    hidden=move || desk.console_open.get()
                    on:click=move |_| desk.help_open.set(true)>
                    <kbd>"?"</kbd>{t(" Keys", " Teclas")}
                </button>
                <button class="toolbar-button" data-testid="sign-out" title=email
                    on:click=move |_| on_sign_out.run(())>
                    {t("Sign out", "Sair")}
                </button>
                <LangSwitch/>
            </div>
        </header>
    }
}

/// "45 s", "3 min".
fn short_duration(seconds: u64) -> String {
    if seconds < 60 {
        format!("{seconds} s")
    } else {
        duration_words(seconds)
    }
}

/// "Close the shop?" — closing turns new customers away, so it is asked first.
#[component]
pub fn CloseShopDialog(desk: Desk) -> impl IntoView {
    let keep = NodeRef::<leptos::html::Button>::new();
    focus_when_shown(keep);
    view! {
        <Show when=move || desk.confirm_close.get()>
            <div class="barista-scrim" on:click=move |_| desk.confirm_close.set(false)>
                <section class="barista-dialog" role="alertdialog" aria-modal="true"
                    aria-labelledby="close-title" data-testid="confirm-close"
                    on:click=|ev| ev.stop_propagation()>
                    <h2 id="close-title">{t("Close the shop?", "Fechar a loja?")}</h2>
                    <p class="lede">
                        {t("New orders will be turned away. Orders already in the queue stay on the board to be made.",
                            "Novos pedidos serão recusados. Os pedidos já na fila continuam no quadro para serem feitos.")}
                    </p>
                    <div class="dialog-actions">
                        <button class="button-secondary" data-testid="keep-open" node_ref=keep
                            on:click=move |_| desk.confirm_close.set(false)>
                            {t("Keep open", "Manter aberta")}
                        </button>
                        <button class="button-danger filled" data-testid="confirm-close-shop"
                            on:click=move |_| {
                                desk.confirm_close.set(false);
                                desk.set_open(false);
                            }>
                            {t("Close the shop", "Fechar a loja")}
                        </button>
                    </div>
                </section>
            </div>
        </Show>
    }
}

/// The menu: 86 a drink when it runs out, bring it back when it is in again.
#[component]
pub fn MenuDialog(desk: Desk) -> impl IntoView {
    let done = NodeRef::<leptos::html::Button>::new();
    focus_when_shown(done);
    let items = move || desk.shop().map(|shop| shop.menu).unwrap_or_default();
    view! {
        <Show when=move || desk.menu_open.get()>
            <div class="barista-scrim" on:click=move |_| desk.menu_open.set(false)>
                <section class="barista-dialog menu-dialog" role="dialog" aria-modal="true"
                    aria-labelledby="menu-title" data-testid="menu"
                    on:click=|ev| ev.stop_propagation()>
                    <h2 id="menu-title">{t("Menu", "Cardápio")}</h2>
                    <p class="lede">{t("Run out of something? Switch it off and customers cannot order it.",
                        "Acabou alguma coisa? Desligue e os clientes não poderão pedir.")}</p>
                    <ul class="menu-items">
                        <For each=items key=|item| item.id.clone() children=move |item| {
                            let id = item.id.clone();
                            let available = {
                                let id = id.clone();
                                Memo::new(move |_| {
                                    desk.shop()
                                        .and_then(|shop| shop.menu.into_iter().find(|i| i.id == id))
                                        .is_none_or(|i| i.available)
                                })
                            };
                            let busy = {
                                let id = id.clone();
                                move || desk.items_busy.with(|b| b.contains(&id))
                            };
                            view! {
                                <li class=move || if available.get() { "menu-item" } else { "menu-item off" }
                                    data-testid=format!("menu-item-{id}")>
                                    <DrinkIcon icon=item.icon.clone()/>
                                    <span class="menu-name">{item.name.clone()}</span>
                                    <span class=move || if available.get() { "b-pill fresh" } else { "b-pill late" }>
                                        {move || if available.get() { t("Available", "Disponível") } else { t("Off (86'd)", "Fora (acabou)") }}
                                    </span>
                                    <button class=move || if available.get() { "button-danger" } else { "button-secondary" }
                                        data-testid=format!("toggle-{id}")
                                        disabled=busy
                                        on:click={
                                            let id = id.clone();
                                            move |_| desk.set_available(id.clone(), !available.get_untracked())
                                        }>
                                        {move || if available.get() { t("86 it", "Tirar") } else { t("Bring back", "Trazer de volta") }}
                                    </button>
                                    {(!item.modifiers.is_empty()).then(|| view! {
                                        <div class="menu-stock">
                                            <OptionStock desk=desk item_id=id.clone()/>
                                        </div>
                                    })}
                                </li>
                            }
                        }/>
                    </ul>
                    <div class="dialog-actions">
                        <button class="button-primary" data-testid="menu-close" node_ref=done
                            on:click=move |_| desk.menu_open.set(false)>
                            {t("Done", "Concluir")}
                        </button>
                    </div>
                </section>
            </div>
        </Show>
    }
}

/// The reasons a barista most often cancels for; the customer sees the one chosen.
fn reasons() -> [&'static str; 4] {
    [
        t("We ran out of an ingredient", "Acabou um ingrediente"),
        t(
            "The machine needs a break",
            "A máquina precisa de uma pausa",
        ),
        t("Customer asked to cancel", "O cliente pediu para cancelar"),
        t("Duplicate order", "Pedido duplicado"),
    ]
}

/// "Cancel #12?" with a reason (one of a few, or typed).
#[component]
pub fn CancelDialog(desk: Desk) -> impl IntoView {
    let chosen = RwSignal::new(None::<&'static str>);
    let first = NodeRef::<leptos::html::Button>::new();
    focus_when_shown(first);
    let typed = RwSignal::new(String::new());
    // A fresh dialog each time.
    Effect::new(move |_| {
        if desk.cancelling.get().is_some() {
            chosen.set(None);
            typed.set(String::new());
        }
    });
    let reason = move || {
        let typed = typed.get();
        let typed = typed.trim();
        if typed.is_empty() {
            chosen.get().map(str::to_owned)
        } else {
            Some(typed.to_owned())
        }
    };
    let card = move || {
        desk.cancelling
            .get()
            .and_then(|id| desk.board.with(|b| b.find(&id).cloned()))
    };
    let confirm = move || {
        let (Some(id), Some(reason)) = (desk.cancelling.get_untracked(), reason()) else {
            return;
        };
        desk.cancelling.set(None);
        desk.act(&id, super::model::Move::Cancel, Some(reason), false);
    };
    view! {
        <Show when=move || desk.cancelling.get().is_some()>
            <div class="barista-scrim" on:click=move |_| desk.cancelling.set(None)>
                <section class="barista-dialog" role="alertdialog" aria-modal="true"
                    aria-labelledby="cancel-title" data-testid="cancel-dialog"
                    on:click=|ev| ev.stop_propagation()>
                    <h2 id="cancel-title">
                        {move || card().map_or_else(
                            || t("Cancel this order?", "Cancelar este pedido?").to_owned(),
                            |c| {
                                let number = c.number_text();
                                tf!("Cancel #{number}?", "Cancelar #{number}?")
                            },
                        )}
                    </h2>
                    <p class="lede">
                        {move || card().map(|c| {
                            let mut what = c.drink.clone();
                            if !c.options.is_empty() {
                                what.push_str(", ");
                                what.push_str(&c.options);
                            }
                            if let Some(name) = c.customer {
                                what.push_str(t(" for ", " para "));
                                what.push_str(&name);
                            }
                            tf!("{what}. The customer is told why.", "{what}. O cliente fica sabendo o motivo.")
                        })}
                    </p>
                    <div class="reasons" role="group" aria-label=t("Reason", "Motivo")>
                        {reasons().into_iter().enumerate().map(|(i, reason)| view! {
                            <button class="reason" data-testid=format!("reason-{i}")
                                node_ref=if i == 0 { first } else { NodeRef::new() }
                                aria-pressed=move || if chosen.get() == Some(reason) && typed.with(|t| t.trim().is_empty()) { "true" } else { "false" }
                                on:click=move |_| { chosen.set(Some(reason)); typed.set(String::new()); }>
                                {reason}
                            </button>
                        }).collect_view()}
                    </div>
                    <label class="field">
                        <span class="field-label">{t("Or say why", "Ou diga o motivo")}</span>
                        <input type="text" maxlength="200" data-testid="cancel-reason"
                            placeholder=t("e.g. Oat milk is out", "ex.: acabou o leite de aveia")
                            prop:value=move || typed.get()
                            on:input=move |ev| typed.set(event_target_value(&ev))
                            on:keydown=move |ev| if ev.key() == "Enter" { confirm(); }/>
                    </label>
                    <div class="dialog-actions">
                        <button class="button-secondary" data-testid="keep-order"
                            on:click=move |_| desk.cancelling.set(None)>
                            {t("Keep the order", "Manter o pedido")}
                        </button>
                        <button class="button-danger filled" data-testid="confirm-cancel"
                            disabled=move || reason().is_none()
                            on:click=move |_| confirm()>
                            {t("Cancel the order", "Cancelar o pedido")}
                        </button>
                    </div>
                </section>
            </div>
        </Show>
    }
}

/// Move the focus into a dialog when it opens (to `button`), so keys work in it at once.
fn focus_when_shown(button: NodeRef<leptos::html::Button>) {
    Effect::new(move |_| {
        if let Some(button) = button.get() {
            let _ = button.focus();
        }
    });
}
