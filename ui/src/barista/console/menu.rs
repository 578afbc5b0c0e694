//! The menu tab: the drinks in menu order, each with its option groups; 86 a drink and bring it
//! back, edit it, move it, take it off; add a drink with its option groups. Every change is the
//! whole menu sent at once (`PUT …/menu`), so what the phones show is always one menu.

use espresso_core::protocol::MenuItem;
use leptos::prelude::*;

use super::Pending;
use super::model::{DrinkDraft, GroupDraft, ICONS, groups_text, icon_words, moved};
use crate::backend::Calls;
use crate::barista::desk::Desk;
use crate::barista::stock::OptionStock;
use crate::i18n::{t, tf};
use crate::icons::DrinkIcon;

/// What the editor is editing: nothing, a new drink, or the drink with this id.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Editing {
    None,
    New,
    Item(String),
}

#[component]
pub fn MenuTab(desk: Desk) -> impl IntoView {
    let menu = Memo::new(move |_| desk.shop().map(|s| s.menu).unwrap_or_default());
    let editing = RwSignal::new(Editing::None);
    let removing = RwSignal::new(None::<String>);
    let pending = Pending::new();
    // Every structural change: the whole menu, as it should be.
    let send = move |menu: Vec<MenuItem>, said: String| {
        let backend = desk.backend.get();
        pending.run(
            async move { backend.put_menu(desk.shop_id(), menu).await },
            move |shop| {
                desk.keep_shop(shop);
                Some(said)
            },
        );
    };
    let move_item = move |index: usize, up: bool| {
        let now = menu.get_untracked();
        let name = now.get(index).map(|i| i.name.clone()).unwrap_or_default();
        let to = moved(&now, index, up);
        if to != now {
            let said = if up {
                tf!("{name} moved up.", "{name} subiu.")
            } else {
                tf!("{name} moved down.", "{name} desceu.")
            };
            send(to, said);
        }
    };
    let remove = move |id: String| {
        removing.set(None);
        let now = menu.get_untracked();
        let name = now
            .iter()
            .find(|i| i.id == id)
            .map(|i| i.name.clone())
            .unwrap_or_default();
        let rest: Vec<MenuItem> = now.into_iter().filter(|i| i.id != id).collect();
        send(
            rest,
            tf!("{name} is off the menu.", "{name} saiu do cardápio."),
        );
    };
    view! {
        <div class="stack">
            <div class="row-between">
                <p class="hint">{t("Run out of something? “86 it” greys it out on every phone at once. Changes here reach the phones live.",
                    "Acabou alguma coisa? “Tirar” a deixa indisponível em todos os celulares na hora. As mudanças aqui chegam aos celulares ao vivo.")}</p>
                <button class="button-primary" disabled=move || editing.get() != Editing::None
                    on:click=move |_| editing.set(Editing::New)>
                    {t("Add a drink", "Adicionar uma bebida")}
                </button>
            </div>
            {pending.line()}
            <Show when=move || editing.get() == Editing::New>
                <DrinkEditor desk=desk editing=editing item=None pending=pending/>
            </Show>
            <ol class="console-menu" aria-label=t("Drinks on the menu", "Bebidas no cardápio")>
                <For each=move || menu.get().into_iter().enumerate()
                    key=|(index, item)| format!("{index}:{item:?}")
                    children=move |(index, item)| {
                        let id = item.id.clone();
                        let name = item.name.clone();
                        let is_editing = {
                            let id = id.clone();
                            move || editing.get() == Editing::Item(id.clone())
                        };
                        let asking = {
                            let id = id.clone();
                            move || removing.get().as_deref() == Some(id.as_str())
                        };
                        let available = item.available;
                        let toggle_id = id.clone();
                        let edit_id = id.clone();
                        let remove_id = id.clone();
                        let ask_id = id.clone();
                        let editor_item = item.clone();
                        let last = move || index + 1 == menu.with(Vec::len);
                        let asked_name = name.clone();
                        view! {
                            <li class=if available { "console-drink" } else { "console-drink off" }
                                aria-label=name.clone()>
                                <div class="console-drink-main">
                                    <DrinkIcon icon=item.icon.clone()/>
                                    <div class="console-drink-text">
                                        <h3>{name.clone()}</h3>
                                        <p class="hint">{
                                            let groups = groups_text(&item);
                                            if groups.is_empty() { t("No options", "Sem opções").to_owned() } else { groups }
                                        }</p>
                                    </div>
                                    <span class=if available { "b-pill fresh" } else { "b-pill late" }>
                                        {if available { t("On the menu", "No cardápio") } else { t("Out (86'd)", "Fora (acabou)") }}
                                    </span>
                                </div>
                                {(!item.modifiers.is_empty()).then(|| view! {
                                    <div class="console-stock">
                                        <OptionStock desk=desk item_id=id.clone()/>
                                    </div>
                                })}
                                <div class="console-drink-actions">
                                    <button class=if available { "button-danger" } else { "button-secondary" }
                                        disabled=move || desk.items_busy.with(|b| b.contains(&toggle_id))
                                        on:click={
                                            let id = id.clone();
                                            move |_| desk.set_available(id.clone(), !available)
                                        }>
                                        {if available { tf!("86 {name}", "Tirar {name}") } else { tf!("Bring back {name}", "Trazer de volta {name}") }}
                                    </button>
                                    <button class="button-secondary" disabled=move || editing.get() != Editing::None
                                        on:click=move |_| editing.set(Editing::Item(edit_id.clone()))>
                                        {t("Edit", "Editar")}
                                    </button>
                                    <button class="button-secondary console-icon-button"
                                        aria-label=tf!("Move {name} up", "Subir {name}")
                                        disabled=move || index == 0 || pending.busy.get()
                                        on:click=move |_| move_item(index, true)>"↑"</button>
                                    <button class="button-secondary console-icon-button"
                                        aria-label=tf!("Move {name} down", "Descer {name}")
                                        disabled=move || last() || pending.busy.get()
                                        on:click=move |_| move_item(index, false)>"↓"</button>
                                    <button class="button-link" on:click=move |_| removing.set(Some(ask_id.clone()))>
                                        {t("Remove", "Remover")}
                                    </button>
                                </div>
                                <Show when=asking.clone()>
                                    <div class="console-confirm" role="group" aria-label=tf!("Remove {asked_name}?", "Remover {asked_name}?")>
                                        <p>{tf!("Take {asked_name} off the menu? Orders already placed are still made.", "Remover {asked_name} do cardápio? Os pedidos já feitos continuam sendo preparados.")}</p>
                                        <div class="row">
                                            <button class="button-danger filled"
                                                on:click={
                                                    let id = remove_id.clone();
                                                    move |_| remove(id.clone())
                                                }>
                                                {tf!("Remove {asked_name}", "Remover {asked_name}")}
                                            </button>
                                            <button class="button-secondary" on:click=move |_| removing.set(None)>{t("Keep it", "Manter")}</button>
                                        </div>
                                    </div>
                                </Show>
                                <Show when=is_editing.clone()>
                                    <DrinkEditor desk=desk editing=editing item=Some(editor_item.clone()) pending=pending/>
                                </Show>
                            </li>
                        }
                    }/>
            </ol>
        </div>
    }
}

/// The form for a new drink (`item: None`) or for changing one.
#[component]
fn DrinkEditor(
    desk: Desk,
    editing: RwSignal<Editing>,
    item: Option<MenuItem>,
    pending: Pending,
) -> impl IntoView {
    let draft = RwSignal::new(item.as_ref().map_or_else(DrinkDraft::new, DrinkDraft::of));
    let problem = RwSignal::new(None::<String>);
    let title = match &item {
        Some(item) => {
            let name = &item.name;
            tf!("Edit {name}", "Editar {name}")
        }
        None => t("A new drink", "Uma nova bebida").to_owned(),
    };
    let is_new = item.is_none();
    let save = move || {
        let menu = desk.shop().map(|s| s.menu).unwrap_or_default();
        let before = item
            .as_ref()
            .and_then(|old| menu.iter().find(|i| i.id == old.id).cloned());
        let others: Vec<MenuItem> = menu
            .iter()
            .filter(|i| Some(&i.id) != before.as_ref().map(|b| &b.id))
            .cloned()
            .collect();
        match draft.get_untracked().item(before.as_ref(), &others) {
            Err(text) => problem.set(Some(text)),
            Ok(new_item) => {
                problem.set(None);
                let name = new_item.name.clone();
                let next: Vec<MenuItem> = match &before {
                    Some(old) => menu
                        .into_iter()
                        .map(|i| if i.id == old.id { new_item.clone() } else { i })
                        .collect(),
                    None => menu.into_iter().chain([new_item]).collect(),
                };
                let backend = desk.backend.get();
                pending.run(
                    async move { backend.put_menu(desk.shop_id(), next).await },
                    move |shop| {
                        desk.keep_shop(shop);
                        editing.set(Editing::None);
                        Some(if is_new {
                            tf!("{name} is on the menu.", "{name} está no cardápio.")
                        } else {
                            tf!("{name} saved.", "Bebida salva: {name}.")
                        })
                    },
                );
            }
        }
    };
    let group_rows = Memo::new(move |_| draft.with(|d| d.groups.len()));
    view! {
        <form class="panel console-editor" aria-label=title.clone()
            on:submit=move |ev| { ev.prevent_default(); save(); }>
            <h3>{title.clone()}</h3>
            <div class="console-editor-top">
                <label class="field">
                    <span class="field-label">{t("Drink name", "Nome da bebida")}</span>
                    <input type="text" maxlength="64" placeholder=t("e.g. Chai Latte", "ex.: Chai Latte")
                        prop:value=move || draft.with(|d| d.name.clone())
                        on:input=move |ev| draft.update(|d| d.name = event_target_value(&ev))/>
                </label>
                <label class="field">
                    <span class="field-label">{t("Picture", "Imagem")}</span>
                    <select on:change=move |ev| draft.update(|d| d.icon = event_target_value(&ev))
                        prop:value=move || draft.with(|d| d.icon.clone())>
                        {ICONS.iter().map(|icon| view! {
                            <option value=icon.0>{icon_words(icon)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <span class="console-editor-icon" aria-hidden="true">
                    {move || view! { <DrinkIcon icon=draft.with(|d| d.icon.clone())/> }}
                </span>
            </div>
            <fieldset class="console-groups">
                <legend>{t("Options", "Opções")}</legend>
                <p class="hint">{t("A group the customer chooses from, e.g. Milk: Regular, Oat. “Must choose” makes them pick one.",
                    "Um grupo em que o cliente escolhe, ex.: Leite: Integral, Aveia. “Escolha obrigatória” faz o cliente escolher uma.")}</p>
                {move || (0..group_rows.get()).map(|index| {
                    let group = move || draft.with(|d| d.groups.get(index).cloned().unwrap_or_default());
                    let set = move |change: &dyn Fn(&mut GroupDraft)| {
                        draft.update(|d| if let Some(g) = d.groups.get_mut(index) { change(g); });
                    };
                    view! {
                        <div class="console-group" role="group" aria-label={ let n = index + 1; tf!("Option group {n}", "Grupo de opções {n}") }>
                            <label class="field">
                                <span class="field-label">{t("Group name", "Nome do grupo")}</span>
                                <input type="text" maxlength="64" placeholder=t("Milk", "Leite")
                                    prop:value=move || group().name
                                    on:input=move |ev| { let v = event_target_value(&ev); set(&|g| g.name = v.clone()); }/>
                            </label>
                            <label class="field console-group-options">
                                <span class="field-label">{t("Its options, with commas", "Opções, separadas por vírgulas")}</span>
                                <input type="text" placeholder=t("Regular, Oat", "Integral, Aveia")
                                    prop:value=move || group().options
                                    on:input=move |ev| { let v = event_target_value(&ev); set(&|g| g.options = v.clone()); }/>
                            </label>
                            <label class="console-check">
                                <input type="checkbox" prop:checked=move || group().required
                                    on:change=move |ev| { let on = event_target_checked(&ev); set(&|g| g.required = on); }/>
                                {t("Must choose", "Escolha obrigatória")}
                            </label>
                            <button type="button" class="button-link"
                                on:click=move |_| draft.update(|d| { if index < d.groups.len() { d.groups.remove(index); } })>
                                {t("Remove group", "Remover grupo")}
                            </button>
                        </div>
                    }
                }).collect_view()}
                <button type="button" class="button-secondary"
                    on:click=move |_| draft.update(|d| d.groups.push(GroupDraft::default()))>
                    {t("Add an option group", "Adicionar um grupo de opções")}
                </button>
            </fieldset>
            <p class="error" role="alert">{move || problem.get()}</p>
            <div class="row">
                <button type="submit" class="button-primary" disabled=move || pending.busy.get()>
                    {if is_new { t("Add to the menu", "Adicionar ao cardápio") } else { t("Save the drink", "Salvar a bebida") }}
                </button>
                <button type="button" class="button-secondary" on:click=move |_| editing.set(Editing::None)>
                    {t("Cancel", "Cancelar")}
                </button>
            </div>
        </form>
    }
}
