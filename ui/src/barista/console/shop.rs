//! The shop tab: its name, its limits (with what they let through), the booth code (a new one
//! now) and the other shops (a new one for tomorrow's event).

use espresso_core::protocol::{App, NewShop, ShopPatch, ShopSummary, is_shop_id};
use leptos::prelude::*;

use super::Pending;
use super::model::{LIMIT_FIELDS, TIME_ZONES, booth_capacity, limit_texts, limits_patch, slug};
use crate::backend::Calls;
use crate::barista::desk::Desk;
use crate::i18n::{Lang, lang, t, tf};
use crate::util::{browser_time_zone, clock_text, reload_for_shop_keeping, seconds_until};

#[component]
pub fn ShopTab(desk: Desk) -> impl IntoView {
    view! {
        <div class="console-grid">
            <NamePanel desk=desk/>
            <BoothCodePanel desk=desk/>
            <LimitsPanel desk=desk/>
            <DemoPanel desk=desk/>
            <NewShopPanel desk=desk/>
        </div>
    }
}

/// Which shop the console (and the bar) serves: every shop's name; choosing one opens its
/// console.
#[component]
pub fn ShopPicker(desk: Desk) -> impl IntoView {
    let shops = RwSignal::new(Vec::<ShopSummary>::new());
    let failed = RwSignal::new(None::<String>);
    {
        let backend = desk.backend.get();
        leptos::task::spawn_local(async move {
            match backend.shops(false).await {
                Ok(list) => _ = shops.try_set(list),
                Err(error) => _ = failed.try_set(Some(super::refusal(&error))),
            }
        });
    }
    let current = desk.shop_id();
    let options = move || {
        let mut list = shops.get();
        // The shop shown is listed even when archived.
        if !list.iter().any(|s| s.id == current)
            && let Some(shop) = desk.shop()
        {
            list.push(ShopSummary {
                id: shop.id,
                name: shop.name,
                open: shop.open,
                time_zone: shop.time_zone,
                archived: shop.archived,
            });
        }
        list
    };
    let choose = move |id: String| {
        if id == desk.shop_id() {
            return;
        }
        let backend = desk.backend.get();
        leptos::task::spawn_local(async move {
            match open_shop(backend, &id).await {
                Ok(()) => {}
                Err(error) => _ = failed.try_set(Some(super::refusal(&error))),
            }
        });
    };
    view! {
        <label class="field console-picker">
            <span class="field-label">{t("Shop", "Loja")}</span>
            <select on:change=move |ev| choose(event_target_value(&ev))>
                {move || options().into_iter().map(|shop| {
                    let selected = shop.id == desk.shop_id();
                    let name = &shop.name;
                    let label = match (shop.archived, shop.open) {
                        (true, _) => tf!("{name} (archived)", "{name} (arquivada)"),
                        (false, true) => tf!("{name} · open", "{name} · aberta"),
                        (false, false) => shop.name.clone(),
                    };
                    view! { <option value=shop.id.to_string() selected=selected>{label}</option> }
                }).collect_view()}
            </select>
            <span class="error">{move || failed.get()}</span>
        </label>
    }
}

/// Serve `shop` from now on: the browser's page for it (its `?shop=`), or, in the installed app,
/// the shell's kept shop; the console stays open.
async fn open_shop(
    backend: std::rc::Rc<dyn crate::backend::Backend>,
    shop: &str,
) -> Result<(), crate::backend::BackendError> {
    if backend.via() == "app" {
        backend.set_shop(shop.to_owned()).await?;
    }
    reload_for_shop_keeping(shop, &["view", "tab"]);
    Ok(())
}

#[component]
fn NamePanel(desk: Desk) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let zone = RwSignal::new(String::new());
    // The fields follow the shop until someone types in them.
    let typed = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(shop) = desk.shop()
            && !typed.get_untracked()
        {
            name.set(shop.name);
            zone.set(shop.time_zone);
        }
    });
    let pending = Pending::new();
    let save = move || {
        let wanted = name.get_untracked().trim().to_owned();
        let wanted_zone = zone.get_untracked().trim().to_owned();
        if wanted.is_empty() {
            pending.fail(t("Give the shop a name.", "Dê um nome à loja.").into());
            return;
        }
        if wanted_zone.is_empty() {
            pending.fail(
                t(
                    "Choose the shop's time zone, e.g. Europe/Lisbon.",
                    "Escolha o fuso horário da loja, ex.: America/Sao_Paulo.",
                )
                .into(),
            );
            return;
        }
        let backend = desk.backend.get();
        let patch = ShopPatch {
            name: Some(wanted),
            time_zone: Some(wanted_zone),
            ..ShopPatch::default()
        };
        pending.run(
            async move { backend.patch_shop(desk.shop_id(), patch).await },
            move |shop| {
                typed.set(false);
                let (name, zone) = (&shop.name, &shop.time_zone);
                let said = tf!(
                    "Saved: {name}, its day starting at midnight in {zone}.",
                    "Salvo: {name}, com o dia começando à meia-noite em {zone}."
                );
                desk.keep_shop(shop);
                Some(said)
            },
        );
    };
    let open = move || desk.shop().map(|s| s.open);
    view! {
        <section class="panel console-card" aria-labelledby="shop-name-title">
            <h3 id="shop-name-title">{t("This shop", "Esta loja")}</h3>
            <form class="stack" on:submit=move |ev| { ev.prevent_default(); save(); }>
                <label class="field">
                    <span class="field-label">{t("Shop name", "Nome da loja")}</span>
                    <input type="text" maxlength="64" prop:value=move || name.get()
                        on:input=move |ev| { typed.set(true); name.set(event_target_value(&ev)); }/>
                    <span class="hint">{t("Shown on the phones, the booth screen and here.", "Aparece nos celulares, na tela do balcão e aqui.")}</span>
                </label>
                <TimeZoneField label=t("Time zone", "Fuso horário") list="shop-zones" value=zone typed=typed/>
                <div class="row">
                    <button type="submit" class="button-primary" disabled=move || pending.busy.get()>
                        {t("Save name and time zone", "Salvar nome e fuso horário")}
                    </button>
                </div>
            </form>
            {pending.line()}
            <p class="hint">
                {move || match open() {
                    Some(true) => t("Open for orders. Close it with the switch at the top.",
                        "Aberta para pedidos. Feche com o botão no alto."),
                    Some(false) => t("Closed: no new orders. Open it with the switch at the top.",
                        "Fechada: sem novos pedidos. Abra com o botão no alto."),
                    None => "",
                }}
            </p>
            <p class="hint">{t("Shop id: ", "Id da loja: ")} <code>{move || desk.shop_id().into_string()}</code></p>
            <ArchiveControl desk=desk/>
        </section>
    }
}

/// An event that is over: archive it (closed, off the lists, its numbers kept), or bring it back.
#[component]
fn ArchiveControl(desk: Desk) -> impl IntoView {
    let archived = move || desk.shop().is_some_and(|s| s.archived);
    let confirming = RwSignal::new(false);
    let pending = Pending::new();
    let set = move |on: bool| {
        confirming.set(false);
        let backend = desk.backend.get();
        let patch = ShopPatch {
            archived: Some(on),
            ..ShopPatch::default()
        };
        pending.run(
            async move { backend.patch_shop(desk.shop_id(), patch).await },
            move |shop| {
                let name = &shop.name;
                let said = if shop.archived {
                    tf!(
                        "{name} is archived: closed and off the lists; its numbers stay.",
                        "{name} foi arquivada: fechada e fora das listas; os números ficam."
                    )
                } else {
                    tf!(
                        "{name} is back. Open it with the switch at the top.",
                        "{name} voltou. Abra com o botão no alto."
                    )
                };
                desk.keep_shop(shop);
                Some(said)
            },
        );
    };
    view! {
        <div class="console-archive">
            {move || if archived() {
                view! {
                    <p class="hint"><strong>{t("Archived. ", "Arquivada. ")}</strong>{t("It takes no orders and is not offered in the lists.", "Não recebe pedidos e não aparece nas listas.")}</p>
                    <button class="button-secondary" disabled=move || pending.busy.get()
                        on:click=move |_| set(false)>{t("Bring this shop back", "Trazer esta loja de volta")}</button>
                }.into_any()
            } else if confirming.get() {
                view! {
                    <div class="console-confirm" role="group" aria-label=t("Archive this shop?", "Arquivar esta loja?")>
                        <p>{t("Archive it? It closes now and leaves the lists; its orders and numbers are kept.",
                            "Arquivar? Ela fecha agora e sai das listas; os pedidos e os números ficam guardados.")}</p>
                        <div class="row">
                            <button class="button-danger filled" on:click=move |_| set(true)>{t("Archive the shop", "Arquivar a loja")}</button>
                            <button class="button-secondary" on:click=move |_| confirming.set(false)>{t("Keep it", "Manter")}</button>
                        </div>
                    </div>
                }.into_any()
            } else {
                view! {
                    <button class="button-link" disabled=move || pending.busy.get()
                        on:click=move |_| confirming.set(true)>{t("Archive this shop (the event is over)", "Arquivar esta loja (o evento acabou)")}</button>
                }.into_any()
            }}
            {pending.line()}
        </div>
    }
}

/// A time zone: typed or picked from the common ones (any IANA name; the server checks it).
#[component]
fn TimeZoneField(
    label: &'static str,
    /// The id of its list of zones, one per field on the page.
    list: &'static str,
    value: RwSignal<String>,
    typed: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <label class="field">
            <span class="field-label">{label}</span>
            <input type="text" list=list spellcheck="false" autocapitalize="off"
                placeholder=t("e.g. Europe/Lisbon", "ex.: America/Sao_Paulo")
                prop:value=move || value.get()
                on:input=move |ev| { typed.set(true); value.set(event_target_value(&ev)); }/>
            <datalist id=list>
                {TIME_ZONES.iter().map(|zone| view! { <option value=*zone></option> }).collect_view()}
            </datalist>
            <span class="hint">{t("Order numbers and daily limits start again at midnight here.",
                "Os números dos pedidos e os limites diários recomeçam à meia-noite neste fuso.")}</span>
        </label>
    }
}

#[component]
fn BoothCodePanel(desk: Desk) -> impl IntoView {
    let code = move || desk.feed.view.with(|v| v.code().cloned());
    let confirming = RwSignal::new(false);
    let pending = Pending::new();
    let replace = move || {
        confirming.set(false);
        let backend = desk.backend.get();
        pending.run(
            async move { backend.rotate_booth_code(desk.shop_id()).await },
            |code| {
                let code = code.code;
                Some(tf!(
                    "New code {code} is on the booth screen. The old one no longer works.",
                    "O novo código {code} está na tela do balcão. O antigo não funciona mais."
                ))
            },
        );
    };
    let drinks = move || desk.shop().map(|s| s.limits.drinks_per_code);
    view! {
        <section class="panel console-card" aria-labelledby="code-title">
            <h3 id="code-title">{t("Booth code", "Código do balcão")}</h3>
            {move || match code() {
                Some(code) => {
                    let left = code.remaining;
                    let total = drinks();
                    let expires = code.expires_at;
                    let left_words = match (lang(), total) {
                        (Lang::En, Some(total)) => format!("{left} of {total} drinks left on it · "),
                        (Lang::En, None) => format!("{left} drinks left on it · "),
                        (Lang::Pt, Some(total)) => format!("restam {left} de {total} bebidas nele · "),
                        (Lang::Pt, None) => format!("restam {left} bebidas nele · "),
                    };
                    view! {
                        <p class="console-code num" aria-label=t("Current booth code", "Código do balcão atual")>{code.code.clone()}</p>
                        <p class="hint">
                            {left_words}
                            {move || {
                                let after = clock_text(seconds_until(expires, desk.clock.get()));
                                tf!("a new one in {after}", "um novo em {after}")
                            }}
                        </p>
                    }.into_any()
                }
                None => view! { <p class="hint">{t("Loading the booth code…", "Carregando o código do balcão…")}</p> }.into_any(),
            }}
            <Show when=move || !confirming.get()
                fallback=move || view! {
                    <div class="console-confirm" role="group" aria-label=t("Replace the booth code?", "Trocar o código do balcão?")>
                        <p>{t("The code on the booth screen stops working at once; people scanning it are asked to scan again.",
                            "O código na tela do balcão para de funcionar na hora; quem o escanear terá que escanear de novo.")}</p>
                        <div class="row">
                            <button class="button-danger filled" on:click=move |_| replace()>{t("Replace the code", "Trocar o código")}</button>
                            <button class="button-secondary" on:click=move |_| confirming.set(false)>{t("Keep it", "Manter")}</button>
                        </div>
                    </div>
                }>
                <p class="hint">{t("Seen a photo of the screen going round? Replace the code now.", "Viu uma foto da tela circulando? Troque o código agora.")}</p>
                <div class="row">
                    <button class="button-secondary" disabled=move || pending.busy.get()
                        on:click=move |_| confirming.set(true)>
                        {t("New booth code now", "Novo código do balcão agora")}
                    </button>
                </div>
            </Show>
            {pending.line()}
        </section>
    }
}

#[component]
fn LimitsPanel(desk: Desk) -> impl IntoView {
    let texts = RwSignal::new(Vec::<String>::new());
    let wrong = RwSignal::new(Vec::<(usize, String)>::new());
    let typed = RwSignal::new(false);
    let limits = Memo::new(move |_| desk.shop().map(|s| s.limits));
    Effect::new(move |_| {
        if let Some(limits) = limits.get()
            && !typed.get_untracked()
        {
            texts.set(limit_texts(&limits));
        }
    });
    let pending = Pending::new();
    let changed = move || {
        limits
            .get()
            .is_some_and(|l| texts.with(|t| *t != limit_texts(&l)))
    };
    let save = move || {
        let Some(current) = limits.get_untracked() else {
            return;
        };
        match limits_patch(&current, &texts.get_untracked()) {
            Err(errors) => {
                wrong.set(errors);
                pending.fail(
                    t(
                        "Not saved: check the fields marked.",
                        "Não foi salvo: confira os campos marcados.",
                    )
                    .into(),
                );
            }
            Ok(patch) => {
                wrong.set(Vec::new());
                let backend = desk.backend.get();
                let patch = ShopPatch {
                    limits: Some(patch),
                    ..ShopPatch::default()
                };
                pending.run(
                    async move { backend.patch_shop(desk.shop_id(), patch).await },
                    move |shop| {
                        typed.set(false);
                        texts.set(limit_texts(&shop.limits));
                        desk.keep_shop(shop);
                        Some(
                            t(
                                "Saved. The new limits apply from now on.",
                                "Salvo. Os novos limites valem a partir de agora.",
                            )
                            .into(),
                        )
                    },
                );
            }
        }
    };
    let undo = move || {
        typed.set(false);
        wrong.set(Vec::new());
        if let Some(limits) = limits.get_untracked() {
            texts.set(limit_texts(&limits));
        }
    };
    view! {
        <section class="panel console-card console-wide" aria-labelledby="limits-title">
            <h3 id="limits-title">{t("Limits", "Limites")}</h3>
            <p class="console-capacity" aria-live="polite">
                {move || limits.get().map(|l| booth_capacity(&l))}
            </p>
            <form class="console-fields" on:submit=move |ev| { ev.prevent_default(); save(); }>
                {LIMIT_FIELDS.iter().enumerate().map(|(index, field)| {
                    let error = move || wrong.with(|w| w.iter().find(|(i, _)| *i == index).map(|(_, m)| m.clone()));
                    let error_id = format!("limit-error-{index}");
                    view! {
                        <label class="field">
                            <span class="field-label">{field.label()}</span>
                            <input type="text" inputmode="decimal"
                                aria-invalid=move || error().is_some().to_string()
                                aria-describedby=error_id.clone()
                                prop:value=move || texts.with(|t| t.get(index).cloned().unwrap_or_default())
                                on:input=move |ev| {
                                    typed.set(true);
                                    let value = event_target_value(&ev);
                                    texts.update(|t| if let Some(slot) = t.get_mut(index) { *slot = value; });
                                }/>
                            <span class="hint">{field.hint()}</span>
                            <span class="error" id=error_id>{error}</span>
                        </label>
                    }
                }).collect_view()}
                <div class="row console-form-end">
                    <button type="submit" class="button-primary"
                        disabled=move || pending.busy.get() || !changed()>
                        {t("Save the limits", "Salvar os limites")}
                    </button>
                    <button type="button" class="button-link" disabled=move || !changed()
                        on:click=move |_| undo()>
                        {t("Undo changes", "Desfazer as mudanças")}
                    </button>
                </div>
            </form>
            {pending.line()}
        </section>
    }
}

/// The robot switch: a gentle stream of pretend orders, for a booth left alone before opening
/// (the original's demo mode).
#[component]
fn DemoPanel(desk: Desk) -> impl IntoView {
    let running = RwSignal::new(None::<bool>);
    let pending = Pending::new();
    {
        let backend = desk.backend.get();
        let shop = desk.shop_id();
        pending.run(async move { backend.demo(shop).await }, move |state| {
            running.set(Some(state.running));
            None
        });
    }
    let toggle = move || {
        let Some(now) = running.get_untracked() else {
            return;
        };
        let backend = desk.backend.get();
        let shop = desk.shop_id();
        pending.run(
            async move { backend.set_demo(shop, !now).await },
            move |state| {
                running.set(Some(state.running));
                Some(if state.running {
                    t(
                        "Demo orders are coming in. Turn them off before real customers come.",
                        "Os pedidos de demonstração estão chegando. Desligue-os antes que cheguem os clientes de verdade.",
                    )
                    .into()
                } else {
                    t("Demo orders stopped.", "Os pedidos de demonstração pararam.").into()
                })
            },
        );
    };
    view! {
        <section class="panel console-card" aria-labelledby="demo-title">
            <h3 id="demo-title">{t("Booth demo", "Demonstração no balcão")}</h3>
            <p class="hint">{t("Pretend customers order now and then, so the booth screen and the bar show life before opening.", "Clientes de mentira pedem de vez em quando, para a tela do balcão e o bar mostrarem movimento antes de abrir.")}</p>
            <button class=move || match running.get() {
                    Some(true) => "shop-switch is-open",
                    _ => "shop-switch",
                }
                role="switch" aria-label=t("Demo orders", "Pedidos de demonstração")
                aria-checked=move || (running.get() == Some(true)).to_string()
                disabled=move || pending.busy.get() || running.get().is_none()
                on:click=move |_| toggle()>
                <span class="switch-track" aria-hidden="true"><span class="switch-thumb"></span></span>
                <span class="switch-label">{move || match running.get() {
                    Some(true) => t("Demo on", "Demo ligada"),
                    Some(false) => t("Demo off", "Demo desligada"),
                    None => "…",
                }}</span>
            </button>
            {pending.line()}
        </section>
    }
}

#[component]
fn NewShopPanel(desk: Desk) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let id = RwSignal::new(String::new());
    let id_typed = RwSignal::new(false);
    let zone = RwSignal::new(browser_time_zone().unwrap_or_else(|| "UTC".into()));
    let zone_typed = RwSignal::new(false);
    let created = RwSignal::new(None::<(String, String)>);
    let pending = Pending::new();
    let create = move || {
        let wanted = name.get_untracked().trim().to_owned();
        let shop_id = id.get_untracked().trim().to_owned();
        if wanted.is_empty() {
            pending.fail(t("Give the new shop a name.", "Dê um nome à nova loja.").into());
            return;
        }
        if !is_shop_id(&shop_id) {
            pending.fail(
                t(
                    "The id is 1 to 64 letters, digits, - or _ (it goes in the links).",
                    "O id tem de 1 a 64 letras, dígitos, - ou _ (ele vai nos links).",
                )
                .into(),
            );
            return;
        }
        let backend = desk.backend.get();
        let new_shop = NewShop {
            id: shop_id.into(),
            name: wanted,
            time_zone: Some(zone.get_untracked().trim().to_owned()).filter(|z| !z.is_empty()),
        };
        pending.run(
            async move { backend.create_shop(new_shop).await },
            move |shop| {
                let shop_name = &shop.name;
                let said = tf!(
                    "{shop_name} is ready: closed, with the usual menu and limits.",
                    "{shop_name} está pronta: fechada, com o cardápio e os limites de sempre."
                );
                created.set(Some((shop.id.into_string(), shop.name)));
                name.set(String::new());
                id.set(String::new());
                id_typed.set(false);
                Some(said)
            },
        );
    };
    view! {
        <section class="panel console-card" aria-labelledby="new-shop-title">
            <h3 id="new-shop-title">{t("Another shop or event", "Outra loja ou evento")}</h3>
            <p class="hint">{t("A second counter, or tomorrow's event: its own menu, limits, booth code and queue.",
                "Um segundo balcão, ou o evento de amanhã: com cardápio, limites, código do balcão e fila próprios.")}</p>
            <form class="stack" on:submit=move |ev| { ev.prevent_default(); create(); }>
                <label class="field">
                    <span class="field-label">{t("New shop's name", "Nome da nova loja")}</span>
                    <input type="text" maxlength="64" placeholder=t("e.g. Espresso at the Expo", "ex.: Espresso na Feira")
                        prop:value=move || name.get()
                        on:input=move |ev| {
                            let value = event_target_value(&ev);
                            if !id_typed.get_untracked() {
                                id.set(slug(&value).replace('_', "-"));
                            }
                            name.set(value);
                        }/>
                </label>
                <label class="field">
                    <span class="field-label">{t("Its id in links", "Id nos links")}</span>
                    <input type="text" maxlength="64" spellcheck="false" autocapitalize="off"
                        prop:value=move || id.get()
                        on:input=move |ev| { id_typed.set(true); id.set(event_target_value(&ev)); }/>
                    <span class="hint">{t("Letters, digits, - or _. It cannot change later.", "Letras, dígitos, - ou _. Não pode mudar depois.")}</span>
                </label>
                <TimeZoneField label=t("Its time zone", "Fuso horário da nova loja") list="new-shop-zones" value=zone typed=zone_typed/>
                <div class="row">
                    <button type="submit" class="button-primary" disabled=move || pending.busy.get()>
                        {t("Create the shop", "Criar a loja")}
                    </button>
                </div>
            </form>
            {pending.line()}
            {move || created.get().map(|(id, name)| view! {
                <nav class="console-links" aria-label=tf!("Links for {name}", "Links de {name}")>
                    <a class="card-link" href=format!("/{}&view=console", App::Barista.page(&id))>
                        {tf!("Set up {name}", "Configurar {name}")}
                    </a>
                    <a class="card-link" href=format!("/{}", App::Display.page(&id))>{t("Its booth screen", "A tela do balcão")}</a>
                    <a class="card-link" href=format!("/{}", App::Barista.page(&id))>{t("Its barista queue", "A fila do barista")}</a>
                </nav>
            })}
        </section>
    }
}
