//! Choosing the drink: cards with icons, options one per group (required groups enforced), a
//! summary and "Order now", within the order's time to choose.

use std::collections::BTreeMap;

use espresso_core::protocol::{DrinkChoice, ErrorCode, MenuItem, OrderId, ShopId};
use leptos::prelude::*;

use super::MyFeed;
use crate::a11y::{ScreenTitle, radio_group_keys};
use crate::backend::{BackendError, BackendRef, Calls};
use crate::drink::drink_text;
use crate::i18n::{Lang, error_words, lang, t, tf};
use crate::icons::DrinkIcon;
use crate::util::{clock_text, seconds_until, use_clock};

/// What is missing before this choice can be ordered, in words (`None`: ready to order).
pub fn missing_choice(item: &MenuItem, options: &BTreeMap<String, String>) -> Option<String> {
    item.modifiers
        .iter()
        .find(|group| group.required && !options.contains_key(&group.id))
        .map(|group| match lang() {
            Lang::En => format!("Choose your {}", group.name.to_lowercase()),
            Lang::Pt => format!("Falta escolher: {}", group.name),
        })
}

/// The words for a refusal of the chosen drink.
fn choice_error(error: &BackendError) -> String {
    match error.code() {
        Some(ErrorCode::ItemUnavailable) => ran_out().into(),
        Some(ErrorCode::DrinkInvalid) => t(
            "That choice is not on the menu any more.",
            "Essa escolha não está mais no cardápio.",
        )
        .into(),
        Some(ErrorCode::InvalidTransition) => t(
            "This order can no longer be changed.",
            "Este pedido não pode mais ser alterado.",
        )
        .into(),
        _ if error.is_transient() => t(
            "We cannot reach the bar right now. Check your connection and try again.",
            "Não conseguimos falar com o bar agora. Verifique sua conexão e tente de novo.",
        )
        .into(),
        _ => error_words(error),
    }
}

/// Said when the chosen drink runs out.
fn ran_out() -> &'static str {
    t(
        "Sorry, that drink just ran out. Please choose another one.",
        "Desculpe, essa bebida acabou. Escolha outra.",
    )
}

#[component]
pub fn Menu(feed: MyFeed, backend: BackendRef, shop: ShopId, order_id: OrderId) -> impl IntoView {
    let clock = use_clock(1_000);
    let chosen = RwSignal::new(None::<String>);
    let options = RwSignal::new(BTreeMap::<String, String>::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let menu = Memo::new(move |_| {
        feed.view
            .with(|view| view.shop().map(|shop| shop.menu.clone()))
            .unwrap_or_default()
    });
    let deadline = {
        let order_id = order_id.clone();
        Memo::new(move |_| {
            feed.view.with(|view| {
                view.current()
                    .filter(|order| order.id == order_id)
                    .and_then(|order| order.deadline_at)
            })
        })
    };
    let tab_stop = Memo::new(move |_| {
        chosen.get().or_else(|| {
            menu.with(|menu| {
                menu.iter()
                    .find(|item| item.available)
                    .map(|item| item.id.clone())
            })
        })
    });
    let item = move || {
        let id = chosen.get()?;
        menu.with(|menu| menu.iter().find(|item| item.id == id).cloned())
    };
    // A drink that goes off the menu while chosen is unchosen.
    Effect::new(move |_| {
        if let Some(id) = chosen.get() {
            let available =
                menu.with(|menu| menu.iter().any(|item| item.id == id && item.available));
            if !available {
                chosen.set(None);
                options.set(BTreeMap::new());
                error.set(Some(ran_out().into()));
            }
        }
    });
    // An option that runs out while chosen (oat milk, 86'd) is unchosen, and the customer told.
    Effect::new(move |_| {
        let Some(item) = item() else {
            return;
        };
        let gone: Vec<String> = options.with(|chosen| {
            chosen
                .iter()
                .filter(|(group, option)| {
                    item.modifier(group)
                        .is_some_and(|m| !m.is_available(option))
                })
                .map(|(_, option)| option.clone())
                .collect()
        });
        if let Some(option) = gone.first() {
            options.update(|chosen| chosen.retain(|_, o| !gone.contains(o)));
            error.set(Some(tf!(
                "Sorry, {option} just ran out. Please choose another.",
                "Desculpe, {option} acabou. Escolha outra opção."
            )));
        }
    });

    let order_now = {
        let shop = shop.clone();
        let order_id = order_id.clone();
        move || {
            let Some(item_id) = chosen.get_untracked() else {
                return;
            };
            if busy.get_untracked() {
                return;
            }
            let drink = DrinkChoice {
                item_id,
                options: options.get_untracked(),
            };
            let backend = backend.get();
            let (shop, order_id) = (shop.clone(), order_id.clone());
            busy.set(true);
            error.set(None);
            leptos::task::spawn_local(async move {
                if let Err(e) = backend
                    .choose_drink(shop.clone(), order_id.clone(), drink)
                    .await
                {
                    error.try_set(Some(choice_error(&e)));
                }
                busy.try_set(false);
            });
        }
    };
    let order_now = StoredValue::new_local(order_now);
    let cancel = move |_| {
        let backend = backend.get();
        let (shop, order_id) = (shop.clone(), order_id.clone());
        busy.set(true);
        leptos::task::spawn_local(async move {
            if let Err(e) = backend
                .cancel_order(
                    shop.clone(),
                    order_id.clone(),
                    Some("changed my mind".into()),
                )
                .await
            {
                error.try_set(Some(choice_error(&e)));
            }
            busy.try_set(false);
        });
    };

    view! {
        <section class="menu" data-testid="menu" aria-labelledby="menu-title">
            <div class="menu-head">
                <ScreenTitle id="menu-title">{t("Choose your drink", "Escolha sua bebida")}</ScreenTitle>
                {move || deadline.get().map(|at| {
                    let left = seconds_until(at, clock.get());
                    view! {
                        <p class=move || if left < 60 { "countdown urgent" } else { "countdown" }
                            data-testid="choose-countdown" role="timer">
                            <span class="num">{clock_text(left)}</span>
                            {t(" left to choose", " para escolher")}
                        </p>
                    }
                })}
            </div>
            <div class="drink-grid" role="radiogroup" aria-label=t("Drinks", "Bebidas")
                on:keydown=move |ev| radio_group_keys(&ev)>
                <For each=move || menu.get() key=|item| (item.id.clone(), item.available) let:item>
                    {
                        let id = item.id.clone();
                        let id_for_click = item.id.clone();
                        let available = item.available;
                        let tab_id = item.id.clone();
                        let selected = move || chosen.get().as_deref() == Some(id.as_str());
                        // One tab stop for the group: the chosen drink, else the first one.
                        let tab_index = move || {
                            if tab_stop.get().as_deref() == Some(tab_id.as_str()) { "0" } else { "-1" }
                        };
                        view! {
                            <button
                                class="drink-card"
                                class:selected=selected.clone()
                                role="radio"
                                aria-checked=move || if selected() { "true" } else { "false" }
                                disabled=!available
                                tabindex=tab_index
                                data-testid=format!("drink-{}", item.id)
                                on:click=move |_| {
                                    if chosen.get_untracked().as_deref() != Some(id_for_click.as_str()) {
                                        chosen.set(Some(id_for_click.clone()));
                                        options.set(BTreeMap::new());
                                        error.set(None);
                                    }
                                }
                            >
                                <DrinkIcon icon=item.icon.clone()/>
                                <span class="drink-name">{item.name.clone()}</span>
                                {(!available).then(|| view! {
                                    <span class="drink-note">{t("Not available right now", "Indisponível no momento")}</span>
                                })}
                            </button>
                        }
                    }
                </For>
            </div>
            {move || item().map(|item| {
                let groups = item.modifiers.clone();
                view! {
                    <div class="modifiers">
                        {groups.into_iter().map(|group| {
                            let group_id = group.id.clone();
                            let required = group.required;
                            // A choice of one (milk: Regular or Oat) is a radio group: one tab
                            // stop (the chosen option, else the first that is there) and the
                            // arrows move and choose. An optional one is a row of toggles (press
                            // the chosen one again for none).
                            let first_there =
                                group.options.iter().find(|o| group.is_available(o)).cloned();
                            let group_name = group.name.clone();
                            view! {
                                <fieldset class="modifier" data-testid=format!("modifier-{}", group.id)>
                                    <legend>
                                        {group.name.clone()}
                                        <span class="hint">{if required { t(" (choose one)", " (escolha uma)") } else { t(" (optional)", " (opcional)") }}</span>
                                    </legend>
                                    <div class="option-row"
                                        role=required.then_some("radiogroup")
                                        aria-label=required.then_some(group_name)
                                        on:keydown=move |ev| if required { radio_group_keys(&ev) }>
                                        {group.options.iter().map(|option| {
                                            let option = option.clone();
                                            let group_id = group_id.clone();
                                            let is_on = {
                                                let (group_id, option) = (group_id.clone(), option.clone());
                                                move || options.with(|o| o.get(&group_id) == Some(&option))
                                            };
                                            let out = !group.is_available(&option);
                                            let tab_index = {
                                                let (group_id, option) = (group_id.clone(), option.clone());
                                                let first_there = first_there.clone();
                                                move || {
                                                    let stop = options.with(|o| o.get(&group_id).cloned())
                                                        .or_else(|| first_there.clone());
                                                    if stop.as_ref() == Some(&option) { "0" } else { "-1" }
                                                }
                                            };
                                            let pressed = {
                                                let is_on = is_on.clone();
                                                move || (!required).then(|| if is_on() { "true" } else { "false" })
                                            };
                                            let checked = {
                                                let is_on = is_on.clone();
                                                move || required.then(|| if is_on() { "true" } else { "false" })
                                            };
                                            view! {
                                                <button class="option" class:selected=is_on.clone()
                                                    class:out=out
                                                    disabled=out
                                                    role=required.then_some("radio")
                                                    aria-checked=checked
                                                    aria-pressed=pressed
                                                    tabindex=move || required.then(&tab_index)
                                                    data-testid=format!("option-{}-{}", group_id, option.to_lowercase())
                                                    on:click={
                                                        let (group_id, option) = (group_id.clone(), option.clone());
                                                        move |_| options.update(|o| {
                                                            if o.get(&group_id) == Some(&option) && !required {
                                                                o.remove(&group_id);
                                                            } else {
                                                                o.insert(group_id.clone(), option.clone());
                                                            }
                                                        })
                                                    }>
                                                    {option.clone()}
                                                    {out.then(|| view! { <span class="option-note">{t(" · out", " · esgotado")}</span> })}
                                                </button>
                                            }
                                        }).collect_view()}
                                    </div>
                                </fieldset>
                            }
                        }).collect_view()}
                    </div>
                }
            })}
            <p class="hint missing" data-testid="missing">
                {move || item().and_then(|item| options.with(|o| missing_choice(&item, o)))}
            </p>
            <p class="error" role="alert" data-testid="menu-error">{move || error.get().unwrap_or_default()}</p>
            <div class="order-bar">
                <p class="summary" data-testid="summary">
                    {move || match item() {
                        None => t("Tap a drink to choose it.", "Toque numa bebida para escolher.").to_owned(),
                        Some(item) => options.with(|o| drink_text(&item.name, o, Some(&item))),
                    }}
                </p>
                <button class="button-primary wide" data-testid="order-now"
                    disabled=move || {
                        busy.get()
                            || item().is_none_or(|item| options.with(|o| missing_choice(&item, o).is_some()))
                    }
                    on:click=move |_| order_now.with_value(|go| go())>
                    {move || if busy.get() { t("Ordering…", "Pedindo…") } else { t("Order now", "Pedir agora") }}
                </button>
            </div>
            <button class="button-link cancel-start" data-testid="cancel-start" disabled=move || busy.get()
                on:click=cancel>
                {t("Not now, cancel", "Agora não, cancelar")}
            </button>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use espresso_core::protocol::Shop;

    #[test]
    fn a_required_group_must_be_chosen_before_ordering() {
        let shop = Shop::default_main();
        let flat_white = shop.item("flat_white").unwrap();
        let mut options = BTreeMap::new();
        assert_eq!(
            missing_choice(flat_white, &options).as_deref(),
            Some("Choose your milk")
        );
        options.insert("milk".to_owned(), "Oat".to_owned());
        assert_eq!(missing_choice(flat_white, &options), None);
        let americano = shop.item("americano").unwrap();
        assert_eq!(missing_choice(americano, &BTreeMap::new()), None);
    }
}
