//! What is in stock, option by option: oat milk runs out while the drinks that take it stay on
//! the menu. One tick box per option (ticked: customers can choose it); used by the barista's
//! menu dialog and the owner's console.

use leptos::prelude::*;

use super::desk::{Desk, option_key};
use crate::i18n::{t, tf};

/// The option groups of the drink `item_id`, each option a tick box.
#[component]
pub fn OptionStock(desk: Desk, item_id: String) -> impl IntoView {
    let item = Memo::new(move |_| desk.shop().and_then(|s| s.item(&item_id).cloned()));
    move || {
        item.get().map(|item| {
            item.modifiers
                .iter()
                .map(|group| {
                    let name = &group.name;
                    let legend = tf!("{name} in stock", "{name} em estoque");
                    let options = group
                        .options
                        .iter()
                        .map(|option| {
                            let on = group.is_available(option);
                            let key = option_key(&item.id, &group.id, option);
                            let busy = move || desk.items_busy.with(|b| b.contains(&key));
                            let shown = option.clone();
                            let (item_id, group_id, option) =
                                (item.id.clone(), group.id.clone(), option.clone());
                            let drink = &item.name;
                            let label = tf!("{option} for {drink}", "{option} para {drink}");
                            view! {
                                <label class=if on { "stock-option" } else { "stock-option out" }>
                                    <input type="checkbox" aria-label=label prop:checked=on
                                        disabled=busy
                                        on:change=move |ev| desk.set_option_available(
                                            item_id.clone(),
                                            group_id.clone(),
                                            option.clone(),
                                            event_target_checked(&ev),
                                        )/>
                                    <span>{shown}</span>
                                    {(!on).then(|| view! { <span class="stock-out">{t("out", "esgotado")}</span> })}
                                </label>
                            }
                        })
                        .collect_view();
                    view! {
                        <fieldset class="stock-group">
                            <legend>{legend}</legend>
                            {options}
                        </fieldset>
                    }
                })
                .collect_view()
        })
    }
}
