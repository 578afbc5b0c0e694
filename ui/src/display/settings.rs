//! The staff's settings panel, out of customers' sight: opened with the `S` key or three taps in
//! the top-left corner (the panel says so itself). Server, shop, chime, full screen, a new booth
//! code now (admins), sign-out.

use espresso_core::protocol::{Role, ShopId, User, is_shop_id};
use leptos::prelude::*;

use super::kiosk::toggle_full_screen;
use crate::backend::{BackendRef, Calls};
use crate::i18n::{LangSwitch, t, tf};
use crate::icons::{Icon, Symbol};
use crate::signin::{SessionState, setup_error, shop_name_hint, sign_out};
use crate::util::{reload_for_shop, save_flag};

/// The saved preference for the ready chime.
pub const CHIME_FLAG: &str = "display.chime";

#[component]
pub fn Settings(
    backend: BackendRef,
    shop: ShopId,
    user: User,
    chime_on: RwSignal<bool>,
    open: RwSignal<bool>,
    session: Option<SessionState>,
) -> impl IntoView {
    let server = RwSignal::new(None::<String>);
    {
        let backend = backend.get();
        leptos::task::spawn_local(async move {
            let url = backend
                .server_url()
                .await
                .unwrap_or_else(|error| tf!("unknown ({error})", "desconhecido ({error})"));
            server.try_set(Some(url));
        });
    }
    let shop_field = RwSignal::new(shop.to_string());
    let shop_error = RwSignal::new(None::<String>);
    let switch_shop = move || {
        let wanted = shop_field.get_untracked().trim().to_owned();
        if wanted.is_empty() {
            return;
        }
        if backend.get().via() != "app" {
            // A browser's shop is the page's `?shop=`.
            reload_for_shop(&wanted);
            return;
        }
        // The installed app keeps the shop for its next start, once the server knows it.
        if !is_shop_id(&wanted) {
            shop_error.set(Some(shop_name_hint().to_owned()));
            return;
        }
        shop_error.set(None);
        let backend = backend.get();
        leptos::task::spawn_local(async move {
            match backend.set_shop(wanted.clone()).await {
                Ok(()) => reload_for_shop(&wanted),
                Err(error) => {
                    shop_error.try_set(Some(setup_error(&error, &wanted)));
                }
            }
        });
    };
    let close = move || open.set(false);
    // An admin can replace the booth code now (a photo of the QR code passed around); the board
    // shows the new one when the server's `code.rotated` arrives.
    let is_admin = Role::any_can_act_as(&user.roles, Role::Admin);
    let rotation = RwSignal::new(None::<Result<(), String>>);
    let rotate_now = {
        let shop = shop.clone();
        move || {
            rotation.set(None);
            let backend = backend.get();
            let shop = shop.clone();
            leptos::task::spawn_local(async move {
                let done = backend
                    .rotate_booth_code(shop)
                    .await
                    .map(|_| ())
                    .map_err(|error| match error.problem() {
                        Some(problem) => problem.title.clone(),
                        None => error.to_string(),
                    });
                rotation.try_set(Some(done));
            });
        }
    };

    // Opened, the focus goes into the dialog (to its title), so a screen reader says where it is.
    let title = NodeRef::<leptos::html::H2>::new();
    crate::a11y::focus_when_shown(title);
    view! {
        <div class="settings-backdrop" on:click=move |_| close()>
            <section class="panel settings" data-testid="settings" role="dialog" aria-modal="true"
                aria-labelledby="settings-title" on:click=|ev| ev.stop_propagation()>
                <div class="row-between">
                    <h2 id="settings-title" class="screen-title" tabindex="-1" node_ref=title>
                        {t("Display settings", "Ajustes da tela")}
                    </h2>
                    <button class="button-secondary" data-testid="settings-close"
                        on:click=move |_| close()>
                        {t("Close", "Fechar")}
                    </button>
                </div>
                <p class="hint" data-testid="settings-gesture">
                    {t("Only staff see this panel. Open it with the S key, or tap the top-left corner \
                        of the screen three times. Close it with Esc. F switches full screen.",
                        "Só a equipe vê este painel. Abra com a tecla S, ou toque três vezes no canto \
                        superior esquerdo da tela. Feche com Esc. F alterna a tela cheia.")}
                </p>
                <dl class="settings-facts">
                    <dt>{t("Server", "Servidor")}</dt>
                    <dd class="settings-server" data-testid="settings-server">
                        {move || server.get().unwrap_or_else(|| "…".to_owned())}
                    </dd>
                    <dt>{t("Signed in as", "Conectado como")}</dt>
                    <dd data-testid="settings-user">{user.email.clone()}</dd>
                </dl>
                <form class="row settings-shop" on:submit=move |ev| {
                    ev.prevent_default();
                    switch_shop();
                }>
                    <label class="field">
                        <span class="field-label">{t("Shop", "Loja")}</span>
                        <input type="text" name="shop" autocomplete="off" spellcheck="false"
                            data-testid="settings-shop"
                            prop:value=move || shop_field.get()
                            on:input=move |ev| shop_field.set(event_target_value(&ev))/>
                    </label>
                    <button class="button-secondary" type="submit" data-testid="settings-switch-shop"
                        disabled=move || {
                            let wanted = shop_field.get();
                            wanted.trim().is_empty() || wanted.trim() == shop
                        }>
                        {t("Show this shop", "Mostrar esta loja")}
                    </button>
                </form>
                <p class="error" role="alert" data-testid="settings-shop-error">
                    {move || shop_error.get().unwrap_or_default()}
                </p>
                <p class="hint">{t("Changing the shop reloads the page.", "Trocar de loja recarrega a página.")}</p>
                <div class="row">
                    <button class="button-secondary settings-chime" data-testid="settings-chime"
                        aria-pressed=move || chime_on.get().to_string()
                        on:click=move |_| {
                            let on = !chime_on.get_untracked();
                            chime_on.set(on);
                            save_flag(CHIME_FLAG, on);
                            if on {
                                crate::util::chime(true);
                            }
                        }>
                        {move || if chime_on.get() {
                            view! { <Icon symbol=Symbol::Bell/> {t("Chime on", "Som ligado")} }.into_any()
                        } else {
                            view! { <Icon symbol=Symbol::BellOff/> {t("Chime off", "Som desligado")} }.into_any()
                        }}
                    </button>
                    <button class="button-secondary" data-testid="settings-full-screen"
                        on:click=move |_| toggle_full_screen()>
                        {t("Full screen", "Tela cheia")}
                    </button>
                    <LangSwitch/>
                </div>
                <p class="hint">
                    {t("The chime sounds when an order is ready. Browsers play sound only after a \
                        first tap or key press on the page.",
                        "O som toca quando um pedido fica pronto. Os navegadores só tocam som depois \
                        de um primeiro toque ou tecla na página.")}
                </p>
                {is_admin.then(|| view! {
                    <div class="row">
                        <button class="button-secondary" data-testid="settings-rotate-code"
                            on:click=move |_| rotate_now()>
                            {t("New booth code now", "Novo código do balcão agora")}
                        </button>
                    </div>
                    <p class="hint" role="status" data-testid="settings-rotate-result">
                        {move || match rotation.get() {
                            None => t("For a code seen where it should not be: the current one \
                                stops working at once.",
                                "Para um código visto onde não devia: o atual para de funcionar na hora.")
                                .to_owned(),
                            Some(Ok(())) => t("A new code is on the screen; the old one no longer \
                                works.",
                                "Um novo código está na tela; o antigo não funciona mais.")
                                .to_owned(),
                            Some(Err(why)) => tf!("The code was not replaced: {why}", "O código não foi trocado: {why}"),
                        }}
                    </p>
                })}
                <div class="row-between settings-footer">
                    <button class="button-danger" data-testid="sign-out" on:click=move |_| {
                        if let Some(session) = session {
                            open.set(false);
                            sign_out(backend, session);
                        }
                    }>
                        {t("Sign out of this display", "Sair desta tela")}
                    </button>
                    // The installed kiosk closes only from here (it ignores Alt+F4 and the like).
                    {(backend.get().via() == "app").then(|| view! {
                        <button class="button-secondary" data-testid="quit-app" on:click=move |_| {
                            let backend = backend.get();
                            leptos::task::spawn_local(async move {
                                let _ = backend.quit_app().await;
                            });
                        }>
                            {t("Quit the display app", "Fechar o app da tela")}
                        </button>
                    })}
                </div>
            </section>
        </div>
    }
}
