//! The keyboard and bump-bar: number keys pick a card, Enter moves it on, Backspace takes the
//! last move back, arrows move the selection. The keys are listed under "?".

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::desk::Desk;
use super::model::{Arrow, typed_number};
use crate::i18n::{t, tf};

/// Digits typed more than this long after the last one start a new number.
const TYPING_GAP_MS: f64 = 1_500.0;

/// The keys, as the help lists them.
pub fn keys() -> [(&'static str, &'static str); 8] {
    [
        (
            "0–9",
            t(
                "Pick a card by its order number (type 12 for #12)",
                "Escolhe um cartão pelo número do pedido (digite 12 para o #12)",
            ),
        ),
        (
            "Enter",
            t(
                "Next step: Make → Done → Handed over",
                "Próximo passo: Preparar → Pronto → Entregue",
            ),
        ),
        (
            "Backspace",
            t(
                "Take back the last step (where the server can)",
                "Desfaz o último passo (quando o servidor permite)",
            ),
        ),
        ("← ↑ → ↓", t("Move the selection", "Move a seleção")),
        (
            "X",
            t(
                "Cancel the selected order (asks for a reason)",
                "Cancela o pedido selecionado (pede um motivo)",
            ),
        ),
        ("M", t("Sound on or off", "Liga ou desliga o som")),
        (
            "?",
            t("Show or hide this list", "Mostra ou esconde esta lista"),
        ),
        (
            "Esc",
            t(
                "Close a dialog, or clear the selection",
                "Fecha uma janela, ou limpa a seleção",
            ),
        ),
    ]
}

/// Listen for the desk's keys on the whole window while the board is shown.
pub fn use_keys(desk: Desk) {
    let handle = window_event_listener(leptos::ev::keydown, move |ev| on_key(desk, &ev));
    on_cleanup(move || handle.remove());
}

fn on_key(desk: Desk, ev: &web_sys::KeyboardEvent) {
    if ev.ctrl_key() || ev.meta_key() || ev.alt_key() || ev.default_prevented() {
        return;
    }
    // The console's fields and buttons take every key.
    if desk.console_open.get_untracked() {
        return;
    }
    let key = ev.key();
    let target = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .map(|e| e.tag_name().to_ascii_lowercase())
        .unwrap_or_default();
    let typing = matches!(target.as_str(), "input" | "textarea" | "select");
    let on_control = matches!(target.as_str(), "button" | "a");

    // A dialog open: only Esc (close it); its own buttons and fields take the rest.
    let dialog_open = desk.cancelling.get_untracked().is_some()
        || desk.confirm_close.get_untracked()
        || desk.menu_open.get_untracked();
    if dialog_open {
        if key == "Escape" {
            desk.cancelling.set(None);
            desk.confirm_close.set(false);
            desk.menu_open.set(false);
            ev.prevent_default();
        }
        return;
    }
    if typing {
        return;
    }
    if desk.help_open.get_untracked() {
        if matches!(key.as_str(), "Escape" | "?") {
            desk.help_open.set(false);
            ev.prevent_default();
        }
        return;
    }

    let handled = match key.as_str() {
        "?" => {
            desk.help_open.set(true);
            true
        }
        "Escape" => {
            desk.selected.set(None);
            desk.typed.set(String::new());
            true
        }
        // On a focused button Enter presses that button; do not also advance the selection.
        "Enter" if on_control => false,
        "Enter" => {
            desk.advance_selected();
            true
        }
        "Backspace" => {
            desk.undo_last();
            true
        }
        "ArrowUp" | "ArrowDown" | "ArrowLeft" | "ArrowRight" => {
            let arrow = match key.as_str() {
                "ArrowUp" => Arrow::Up,
                "ArrowDown" => Arrow::Down,
                "ArrowLeft" => Arrow::Left,
                _ => Arrow::Right,
            };
            let from = desk.selected.get_untracked();
            let to = desk
                .board
                .with_untracked(|b| b.step(from.as_deref(), arrow));
            if to.is_some() {
                desk.selected.set(to);
            }
            desk.typed.set(String::new());
            true
        }
        "x" | "X" | "Delete" => {
            if let Some(id) = desk.selected.get_untracked() {
                let cancellable = desk.board.with_untracked(|b| {
                    b.find(&id).is_some_and(|card| {
                        !card.busy
                            && !card.others
                            && card.state != espresso_core::protocol::OrderState::Ready
                    })
                });
                if cancellable {
                    desk.cancelling.set(Some(id));
                } else {
                    desk.say(
                        t(
                            "That order cannot be cancelled from here.",
                            "Esse pedido não pode ser cancelado daqui.",
                        )
                        .into(),
                        false,
                    );
                }
            }
            true
        }
        "m" | "M" => {
            desk.toggle_sound();
            true
        }
        digit if digit.len() == 1 && digit.chars().all(|c| c.is_ascii_digit()) => {
            let Some(d) = digit.chars().next() else {
                return;
            };
            let now = js_sys::Date::now();
            let recent = now - desk.typed_at.get_value() < TYPING_GAP_MS;
            desk.typed_at.set_value(now);
            let so_far = if recent {
                desk.typed.get_untracked()
            } else {
                String::new()
            };
            let typed = desk.board.with_untracked(|b| typed_number(b, &so_far, d));
            if let Ok(number) = typed.parse::<u32>() {
                let found = desk
                    .board
                    .with_untracked(|b| b.by_number(number).map(|c| c.id.clone()));
                match found {
                    Some(id) => desk.selected.set(Some(id)),
                    None => desk.say(
                        tf!(
                            "No order #{number} on the board.",
                            "Nenhum pedido #{number} no quadro."
                        ),
                        false,
                    ),
                }
            }
            desk.typed.set(typed);
            // The digits shown fade once typing stops.
            set_timeout(
                move || {
                    if desk.typed_at.try_get_value() == Some(now) {
                        desk.typed.try_set(String::new());
                    }
                },
                std::time::Duration::from_millis(TYPING_GAP_MS as u64),
            );
            true
        }
        _ => false,
    };
    if handled {
        ev.prevent_default();
    }
}

/// Scroll the selected card into view (only as far as needed).
pub fn use_scroll_to_selection(desk: Desk) {
    Effect::new(move |_| {
        let Some(id) = desk.selected.get() else {
            return;
        };
        // After the card is drawn where it now is.
        request_animation_frame(move || {
            let Some(document) = web_sys::window().and_then(|w| w.document()) else {
                return;
            };
            let selector = format!("[data-order-id=\"{id}\"]");
            let Ok(Some(card)) = document.query_selector(&selector) else {
                return;
            };
            let options = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&options, &"block".into(), &"nearest".into());
            let _ = js_sys::Reflect::set(&options, &"inline".into(), &"nearest".into());
            if let Ok(scroll) = js_sys::Reflect::get(&card, &"scrollIntoView".into())
                && let Ok(scroll) = scroll.dyn_into::<js_sys::Function>()
            {
                let _ = scroll.call1(&card, &options);
            }
        });
    });
}

/// The list of keys, under "?".
#[component]
pub fn KeyHelp(desk: Desk) -> impl IntoView {
    view! {
        <Show when=move || desk.help_open.get()>
            <div class="barista-scrim" on:click=move |_| desk.help_open.set(false)>
                <section class="barista-dialog help" role="dialog" aria-modal="true"
                    aria-labelledby="help-title" data-testid="help"
                    on:click=|ev| ev.stop_propagation()>
                    <h2 id="help-title">{t("Keyboard and bump bar", "Teclado e bump bar")}</h2>
                    <dl class="keys">
                        {keys().into_iter().map(|(key, what)| view! {
                            <dt><kbd>{key}</kbd></dt>
                            <dd>{what}</dd>
                        }).collect_view()}
                    </dl>
                    <div class="dialog-actions">
                        <button class="button-primary" data-testid="help-close"
                            on:click=move |_| desk.help_open.set(false)>
                            {t("Got it", "Entendi")}
                        </button>
                    </div>
                </section>
            </div>
        </Show>
    }
}
