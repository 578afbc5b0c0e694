//! The app shell: which of the three apps this page is, and the server status line they share.

use std::rc::Rc;

use leptos::prelude::*;

use crate::backend::{self, Backend};

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

#[component]
pub fn App() -> impl IntoView {
    let kind = AppKind::from_path(&current_path());
    let backend = backend::detect();
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(kind.title());
    }
    view! {
        <main class=format!("app {}", kind.theme())>
            <header class="app-header">
                <h1>{kind.title()}</h1>
            </header>
            {match kind {
                AppKind::Home => view! { <Home/> }.into_any(),
                _ => view! { <p class="lede">"This screen is being set up."</p> }.into_any(),
            }}
            <ServerStatus backend=backend/>
        </main>
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
fn ServerStatus(backend: Rc<dyn Backend>) -> impl IntoView {
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
