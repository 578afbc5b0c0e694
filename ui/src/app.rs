//! The app shell: which of the three apps this page is ([`App::from_path`]), what they all get
//! ([`Ctx`], provided as context), and the server status line they share.

use std::rc::Rc;

use espresso_core::protocol::{App, MAIN_SHOP_ID, ShopId};
use leptos::prelude::*;

use crate::backend::{self, Backend, BackendRef, Calls};
#[cfg(feature = "barista")]
use crate::barista::BaristaApp;
use crate::ctx::Ctx;
#[cfg(feature = "customer")]
use crate::customer::CustomerApp;
#[cfg(feature = "display")]
use crate::display::DisplayApp;
use crate::i18n::t;
use crate::shell::ShellBanner;
use crate::util::query_param;

fn title(app: App) -> &'static str {
    match app {
        App::Home | App::Customer => "Espresso",
        App::Barista => "Espresso barista",
        App::Display => "Espresso display",
    }
}

fn theme(app: App) -> &'static str {
    match app {
        App::Display => "theme-display",
        App::Barista => "theme-barista",
        App::Home | App::Customer => "theme-customer",
    }
}

fn current_path() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Check {
    Pending,
    Up { version: String },
    Down(String),
}

#[component]
pub fn App() -> impl IntoView {
    let app = App::from_path(&current_path());
    let backend = backend::detect(app);
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(title(app));
        if let Some(body) = document.body() {
            body.set_class_name(theme(app));
        }
    }
    provide_context(Ctx {
        backend: BackendRef::new(Rc::clone(&backend)),
        app,
        shop: query_param("shop").map_or_else(ShopId::main, ShopId::from),
    });
    let banner = (backend.via() == "web").then(|| {
        let backend = Rc::clone(&backend);
        view! { <ShellBanner backend=backend/> }
    });
    // The page is drawn anew in the language chosen (a switch re-renders it whole).
    let home_backend = StoredValue::new_local(Rc::clone(&backend));
    let page = move || {
        crate::i18n::watch_lang();
        match app {
            #[cfg(feature = "customer")]
            App::Customer => view! { <CustomerApp/> }.into_any(),
            #[cfg(feature = "barista")]
            App::Barista => view! { <BaristaApp/> }.into_any(),
            #[cfg(feature = "display")]
            App::Display => view! { <DisplayApp/> }.into_any(),
            // This build carries another app (boot.js loads each page's own build).
            #[allow(unreachable_patterns)]
            App::Customer | App::Barista | App::Display => view! {
                <main class="app theme-customer">
                    <p class="notice">{t("This page belongs to another app's build: reload it.",
                        "Esta página é de outra versão do app: recarregue-a.")}</p>
                </main>
            }
            .into_any(),
            App::Home => view! {
                <main class="app theme-customer">
                    <header class="app-header">
                        <h1>{title(app)}</h1>
                    </header>
                    <Home/>
                    <ServerStatus backend=home_backend.get_value()/>
                </main>
            }
            .into_any(),
        }
    };
    view! {
        {banner}
        {page}
    }
}

#[component]
fn Home() -> impl IntoView {
    let link = |app: App| format!("/{}", app.page(MAIN_SHOP_ID));
    view! {
        <nav class="home-links">
            <a class="card-link" href=link(App::Customer)>{t("Order a drink", "Pedir uma bebida")}</a>
            <a class="card-link" href=link(App::Barista)>{t("Barista queue", "Fila do barista")}</a>
            <a class="card-link" href=link(App::Display)>{t("Booth display", "Tela do balcão")}</a>
        </nav>
    }
}

/// The server's health, checked on load and on demand.
#[component]
pub fn ServerStatus(backend: Rc<dyn Backend>) -> impl IntoView {
    let (check, set_check) = signal(Check::Pending);
    let via = backend.via();
    let run = move || {
        let backend = Rc::clone(&backend);
        set_check.set(Check::Pending);
        leptos::task::spawn_local(async move {
            set_check.set(match backend.health().await {
                Ok(health) => Check::Up {
                    version: health.version,
                },
                Err(error) => Check::Down(error.to_string()),
            });
        });
    };
    run();
    view! {
        <footer class="server-status" aria-live="polite">
            <span class="status-text" data-testid="server-status">
                {move || match check.get() {
                    Check::Pending => t("Checking the server…", "Verificando o servidor…").to_owned(),
                    Check::Up { version } => match crate::i18n::lang() {
                        crate::i18n::Lang::En => format!("Server ok · v{version} · via {via}"),
                        crate::i18n::Lang::Pt => format!("Servidor ok · v{version} · via {via}"),
                    },
                    Check::Down(why) => match crate::i18n::lang() {
                        crate::i18n::Lang::En => format!("Server unreachable: {why}"),
                        crate::i18n::Lang::Pt => format!("Servidor inacessível: {why}"),
                    },
                }}
            </span>
            <button class="button-secondary" data-testid="check-server" on:click=move |_| run()>
                {t("Check again", "Verificar de novo")}
            </button>
        </footer>
    }
}
