//! The app shell: which of the three apps this page is, and the server status line they share.

use std::rc::Rc;

use leptos::prelude::*;

use crate::backend::{self, AppRole, Backend, BackendRef};
use crate::barista::BaristaApp;
use crate::customer::CustomerApp;
use crate::display::DisplayApp;
use crate::util::query_param;

/// The three apps, chosen from the URL path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppKind {
    Home,
    Customer,
    Barista,
    Display,
}

impl AppKind {
    pub fn from_path(path: &str) -> Self {
        match path.trim_end_matches('/').rsplit('/').next().unwrap_or("") {
            "order" => Self::Customer,
            "barista" => Self::Barista,
            "display" => Self::Display,
            _ => Self::Home,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Home => "Espresso",
            Self::Customer => "Espresso",
            Self::Barista => "Espresso barista",
            Self::Display => "Espresso display",
        }
    }

    fn theme(self) -> &'static str {
        match self {
            Self::Display => "theme-display",
            Self::Barista => "theme-barista",
            Self::Home | Self::Customer => "theme-customer",
        }
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

/// What every app gets: how to reach the server, and which shop it serves (`?shop=`,
/// default `main`).
#[derive(Clone)]
pub struct Ctx {
    pub backend: BackendRef,
    pub shop: String,
}

#[component]
pub fn App() -> impl IntoView {
    let kind = AppKind::from_path(&current_path());
    let role = match kind {
        AppKind::Barista => AppRole::Barista,
        AppKind::Display => AppRole::Display,
        AppKind::Home | AppKind::Customer => AppRole::Customer,
    };
    let backend = backend::detect(role);
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(kind.title());
        if let Some(body) = document.body() {
            body.set_class_name(kind.theme());
        }
    }
    let ctx = Ctx {
        backend: BackendRef::new(Rc::clone(&backend)),
        shop: query_param("shop").unwrap_or_else(|| "main".to_owned()),
    };
    match kind {
        AppKind::Customer => view! { <CustomerApp ctx=ctx/> }.into_any(),
        AppKind::Barista => view! { <BaristaApp ctx=ctx/> }.into_any(),
        AppKind::Display => view! { <DisplayApp ctx=ctx/> }.into_any(),
        AppKind::Home => view! {
            <main class="app theme-customer">
                <header class="app-header">
                    <h1>{kind.title()}</h1>
                </header>
                <Home/>
                <ServerStatus backend=backend/>
            </main>
        }
        .into_any(),
    }
}

#[component]
fn Home() -> impl IntoView {
    view! {
        <nav class="home-links">
            <a class="card-link" href="/order?shop=main">"Order a drink"</a>
            <a class="card-link" href="/barista?shop=main">"Barista queue"</a>
            <a class="card-link" href="/display?shop=main">"Booth display"</a>
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
                    Check::Pending => "Checking the server…".to_owned(),
                    Check::Up { version } => format!("Server ok · v{version} · via {via}"),
                    Check::Down(why) => format!("Server unreachable: {why}"),
                }}
            </span>
            <button class="button-secondary" data-testid="check-server" on:click=move |_| run()>
                "Check again"
            </button>
        </footer>
    }
}

#[cfg(test)]
mod tests {
    use super::AppKind;

    #[test]
    fn the_path_picks_the_app() {
        assert_eq!(AppKind::from_path("/order"), AppKind::Customer);
        assert_eq!(AppKind::from_path("/barista/"), AppKind::Barista);
        assert_eq!(AppKind::from_path("/display"), AppKind::Display);
        assert_eq!(AppKind::from_path("/"), AppKind::Home);
        assert_eq!(AppKind::from_path("/index.html"), AppKind::Home);
    }
}
