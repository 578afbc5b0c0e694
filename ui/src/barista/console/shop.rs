//! The shop tab: its name, its limits (with what they let through), the booth code (a new one
//! now) and the other shops (a new one for tomorrow's event).

use espresso_core::protocol::{App, NewShop, ShopPatch, ShopSummary, is_shop_id};
use leptos::prelude::*;

use super::Pending;
use super::model::{LIMIT_FIELDS, TIME_ZONES, booth_capacity, limit_texts, limits_patch, slug};
use crate::backend::Calls;
use crate::barista::desk::Desk;
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
            <span class="field-label">"Shop"</span>
            <select on:change=move |ev| choose(event_target_value(&ev))>
                {move || options().into_iter().map(|shop| {
                    let selected = shop.id == desk.shop_id();
                    let label = match (shop.archived, shop.open) {
                        (true, _) => format!("{} (archived)", shop.name),
                        (false, true) => format!("{} · open", shop.name),
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
            pending.fail("Give the shop a name.".into());
            return;
        }
        if wanted_zone.is_empty() {
            pending.fail("Choose the shop's time zone, e.g. Europe/Lisbon.".into());
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
                let said = format!(
                    "Saved: {}, its day starting at midnight in {}.",
                    shop.name, shop.time_zone
                );
                desk.keep_shop(shop);
                Some(said)
            },
        );
    };
    let open = move || desk.shop().map(|s| s.open);
    view! {
        <section class="panel console-card" aria-labelledby="shop-name-title">
            <h3 id="shop-name-title">"This shop"</h3>
            <form class="stack" on:submit=move |ev| { ev.prevent_default(); save(); }>
                <label class="field">
                    <span class="field-label">"Shop name"</span>
                    <input type="text" maxlength="64" prop:value=move || name.get()
                        on:input=move |ev| { typed.set(true); name.set(event_target_value(&ev)); }/>
                    <span class="hint">"Shown on the phones, the booth screen and here."</span>
                </label>
                <TimeZoneField label="Time zone" list="shop-zones" value=zone typed=typed/>
                <div class="row">
                    <button type="submit" class="button-primary" disabled=move || pending.busy.get()>
                        "Save name and time zone"
                    </button>
                </div>
            </form>
            {pending.line()}
            <p class="hint">
                {move || match open() {
                    Some(true) => "Open for orders. Close it with the switch at the top.",
                    Some(false) => "Closed: no new orders. Open it with the switch at the top.",
                    None => "",
                }}
            </p>
            <p class="hint">"Shop id: " <code>{move || desk.shop_id().into_string()}</code></p>
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
                let said = if shop.archived {
                    format!(
                        "{} is archived: closed and off the lists; its numbers stay.",
                        shop.name
                    )
                } else {
                    format!("{} is back. Open it with the switch at the top.", shop.name)
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
                    <p class="hint"><strong>"Archived. "</strong>"It takes no orders and is not offered in the lists."</p>
                    <button class="button-secondary" disabled=move || pending.busy.get()
                        on:click=move |_| set(false)>"Bring this shop back"</button>
                }.into_any()
            } else if confirming.get() {
                view! {
                    <div class="console-confirm" role="group" aria-label="Archive this shop?">
                        <p>"Archive it? It closes now and leaves the lists; its orders and numbers are kept."</p>
                        <div class="row">
                            <button class="button-danger filled" on:click=move |_| set(true)>"Archive the shop"</button>
                            <button class="button-secondary" on:click=move |_| confirming.set(false)>"Keep it"</button>
                        </div>
                    </div>
                }.into_any()
            } else {
                view! {
                    <button class="button-link" disabled=move || pending.busy.get()
                        on:click=move |_| confirming.set(true)>"Archive this shop (the event is over)"</button>
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
                placeholder="e.g. Europe/Lisbon"
                prop:value=move || value.get()
                on:input=move |ev| { typed.set(true); value.set(event_target_value(&ev)); }/>
            <datalist id=list>
                {TIME_ZONES.iter().map(|zone| view! { <option value=*zone></option> }).collect_view()}
            </datalist>
            <span class="hint">"Order numbers and daily limits start again at midnight here."</span>
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
                Some(format!(
                    "New code {} is on the booth screen. The old one no longer works.",
                    code.code
                ))
            },
        );
    };
    let drinks = move || desk.shop().map(|s| s.limits.drinks_per_code);
    view! {
        <section class="panel console-card" aria-labelledby="code-title">
            <h3 id="code-title">"Booth code"</h3>
            {move || match code() {
                Some(code) => {
                    let left = code.remaining;
                    let of = drinks().map(|d| format!(" of {d}")).unwrap_or_default();
                    let expires = code.expires_at;
                    view! {
                        <p class="console-code num" aria-label="Current booth code">{code.code.clone()}</p>
                        <p class="hint">
                            {format!("{left}{of} drinks left on it · ")}
                            {move || format!(
                                "a new one in {}",
                                clock_text(seconds_until(expires, desk.clock.get())),
                            )}
                        </p>
                    }.into_any()
                }
                None => view! { <p class="hint">"Loading the booth code…"</p> }.into_any(),
            }}
            <Show when=move || !confirming.get()
                fallback=move || view! {
                    <div class="console-confirm" role="group" aria-label="Replace the booth code?">
                        <p>"The code on the booth screen stops working at once; people scanning it are asked to scan again."</p>
                        <div class="row">
                            <button class="button-danger filled" on:click=move |_| replace()>"Replace the code"</button>
                            <button class="button-secondary" on:click=move |_| confirming.set(false)>"Keep it"</button>
                        </div>
                    </div>
                }>
                <p class="hint">"Seen a photo of the screen going round? Replace the code now."</p>
                <div class="row">
                    <button class="button-secondary" disabled=move || pending.busy.get()
                        on:click=move |_| confirming.set(true)>
                        "New booth code now"
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
                pending.fail("Not saved: check the fields marked.".into());
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
                        Some("Saved. The new limits apply from now on.".into())
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
            <h3 id="limits-title">"Limits"</h3>
            <p class="console-capacity" aria-live="polite">
                {move || limits.get().map(|l| booth_capacity(&l))}
            </p>
            <form class="console-fields" on:submit=move |ev| { ev.prevent_default(); save(); }>
                {LIMIT_FIELDS.iter().enumerate().map(|(index, field)| {
                    let error = move || wrong.with(|w| w.iter().find(|(i, _)| *i == index).map(|(_, m)| m.clone()));
                    let error_id = format!("limit-error-{index}");
                    view! {
                        <label class="field">
                            <span class="field-label">{field.label}</span>
                            <input type="text" inputmode="decimal"
                                aria-invalid=move || error().is_some().to_string()
                                aria-describedby=error_id.clone()
                                prop:value=move || texts.with(|t| t.get(index).cloned().unwrap_or_default())
                                on:input=move |ev| {
                                    typed.set(true);
                                    let value = event_target_value(&ev);
                                    texts.update(|t| if let Some(slot) = t.get_mut(index) { *slot = value; });
                                }/>
                            <span class="hint">{field.hint}</span>
                            <span class="error" id=error_id>{error}</span>
                        </label>
                    }
                }).collect_view()}
                <div class="row console-form-end">
                    <button type="submit" class="button-primary"
                        disabled=move || pending.busy.get() || !changed()>
                        "Save the limits"
                    </button>
                    <button type="button" class="button-link" disabled=move || !changed()
                        on:click=move |_| undo()>
                        "Undo changes"
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
                    "Demo orders are coming in. Turn them off before real customers come.".into()
                } else {
                    "Demo orders stopped.".into()
                })
            },
        );
    };
    view! {
        <section class="panel console-card" aria-labelledby="demo-title">
            <h3 id="demo-title">"Booth demo"</h3>
            <p class="hint">"Pretend customers order now and then, so the booth screen and the bar show life before opening."</p>
            <button class=move || match running.get() {
                    Some(true) => "shop-switch is-open",
                    _ => "shop-switch",
                }
                role="switch" aria-label="Demo orders"
                aria-checked=move || (running.get() == Some(true)).to_string()
                disabled=move || pending.busy.get() || running.get().is_none()
                on:click=move |_| toggle()>
                <span class="switch-track" aria-hidden="true"><span class="switch-thumb"></span></span>
                <span class="switch-label">{move || match running.get() {
                    Some(true) => "Demo on",
                    Some(false) => "Demo off",
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
            pending.fail("Give the new shop a name.".into());
            return;
        }
        if !is_shop_id(&shop_id) {
            pending
                .fail("The id is 1 to 64 letters, digits, - or _ (it goes in the links).".into());
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
                let said = format!(
                    "{} is ready: closed, with the usual menu and limits.",
                    shop.name
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
            <h3 id="new-shop-title">"Another shop or event"</h3>
            <p class="hint">"A second counter, or tomorrow's event: its own menu, limits, booth code and queue."</p>
            <form class="stack" on:submit=move |ev| { ev.prevent_default(); create(); }>
                <label class="field">
                    <span class="field-label">"New shop's name"</span>
                    <input type="text" maxlength="64" placeholder="e.g. Espresso at the Expo"
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
                    <span class="field-label">"Its id in links"</span>
                    <input type="text" maxlength="64" spellcheck="false" autocapitalize="off"
                        prop:value=move || id.get()
                        on:input=move |ev| { id_typed.set(true); id.set(event_target_value(&ev)); }/>
                    <span class="hint">"Letters, digits, - or _. It cannot change later."</span>
                </label>
                <TimeZoneField label="Its time zone" list="new-shop-zones" value=zone typed=zone_typed/>
                <div class="row">
                    <button type="submit" class="button-primary" disabled=move || pending.busy.get()>
                        "Create the shop"
                    </button>
                </div>
            </form>
            {pending.line()}
            {move || created.get().map(|(id, name)| view! {
                <nav class="console-links" aria-label=format!("Links for {name}")>
                    <a class="card-link" href=format!("/{}&view=console", App::Barista.page(&id))>
                        {format!("Set up {name}")}
                    </a>
                    <a class="card-link" href=format!("/{}", App::Display.page(&id))>"Its booth screen"</a>
                    <a class="card-link" href=format!("/{}", App::Barista.page(&id))>"Its barista queue"</a>
                </nav>
            })}
        </section>
    }
}
