//! The owner's console, for admins, beside the bar: the shop (name, limits, booth code, more
//! shops), the menu (drinks, option groups, what is out), the staff and today's numbers — every
//! change live on every screen, nothing that needs curl or a shell.
//!
//! - [`model`]: the forms and how they become calls (pure, tested natively).
//! - [`shop`], [`menu`], [`staff`], [`numbers`]: one tab each.

mod charts;
mod menu;
mod model;
mod numbers;
mod shop;
mod staff;

use std::future::Future;

use leptos::prelude::*;

use super::desk::Desk;
use crate::backend::BackendError;
use crate::i18n::t;
use crate::util::set_query_param;

/// The console's tabs, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Shop,
    Menu,
    Staff,
    Numbers,
}

impl Tab {
    const ALL: [Tab; 4] = [Tab::Shop, Tab::Menu, Tab::Staff, Tab::Numbers];

    fn label(self) -> &'static str {
        match self {
            Tab::Shop => t("Shop", "Loja"),
            Tab::Menu => t("Menu", "Cardápio"),
            Tab::Staff => t("Staff", "Equipe"),
            Tab::Numbers => t("Numbers", "Números"),
        }
    }

    fn id(self) -> &'static str {
        match self {
            Tab::Shop => "shop",
            Tab::Menu => "menu",
            Tab::Staff => "staff",
            Tab::Numbers => "numbers",
        }
    }
}

/// The console in place of the board (the toolbar stays above it).
#[component]
pub fn Console(desk: Desk) -> impl IntoView {
    let tab = RwSignal::new(
        crate::util::query_param("tab")
            .and_then(|id| Tab::ALL.into_iter().find(|t| t.id() == id))
            .unwrap_or(Tab::Shop),
    );
    let choose = move |t: Tab| {
        tab.set(t);
        set_query_param("tab", Some(t.id()));
    };
    let shop_name = move || {
        desk.shop()
            .map(|s| s.name)
            .unwrap_or_else(|| desk.shop_id().into_string())
    };
    view! {
        <div class="console">
            <nav class="console-nav" aria-label=t("Console", "Painel")>
                <p class="console-title">{t("Owner's console", "Painel do dono")}</p>
                <shop::ShopPicker desk=desk/>
                <div class="console-tabs" role="tablist" aria-label=t("Console sections", "Seções do painel")>
                    {Tab::ALL.into_iter().map(|t| view! {
                        <button role="tab" class="console-tab"
                            id=format!("tab-{}", t.id())
                            aria-controls="console-panel"
                            aria-selected=move || (tab.get() == t).to_string()
                            tabindex=move || if tab.get() == t { "0" } else { "-1" }
                            on:click=move |_| choose(t)>
                            {t.label()}
                        </button>
                    }).collect_view()}
                </div>
            </nav>
            <section class="console-panel" id="console-panel" role="tabpanel"
                aria-labelledby=move || format!("tab-{}", tab.get().id())>
                <header class="console-head">
                    <h2>{move || tab.get().label()}</h2>
                    <span class="console-shop">{shop_name}</span>
                </header>
                {move || match tab.get() {
                    Tab::Shop => view! { <shop::ShopTab desk=desk/> }.into_any(),
                    Tab::Menu => view! { <menu::MenuTab desk=desk/> }.into_any(),
                    Tab::Staff => view! { <staff::StaffTab desk=desk/> }.into_any(),
                    Tab::Numbers => view! { <numbers::NumbersTab desk=desk/> }.into_any(),
                }}
            </section>
        </div>
    }
}

/// A change on its way and what came of it: a form's button is off while `busy`, and `said`
/// is the line under it (good news or the refusal in words).
#[derive(Clone, Copy)]
struct Pending {
    busy: RwSignal<bool>,
    said: RwSignal<Option<(String, bool)>>,
}

impl Pending {
    fn new() -> Self {
        Self {
            busy: RwSignal::new(false),
            said: RwSignal::new(None),
        }
    }

    /// Run `call`; on success `done` gets its answer and says what it returns (if anything).
    fn run<T: 'static>(
        self,
        call: impl Future<Output = Result<T, BackendError>> + 'static,
        done: impl FnOnce(T) -> Option<String> + 'static,
    ) {
        if self.busy.get_untracked() {
            return;
        }
        self.busy.set(true);
        self.said.set(None);
        leptos::task::spawn_local(async move {
            let said = match call.await {
                Ok(answer) => done(answer).map(|text| (text, false)),
                Err(error) => Some((refusal(&error), true)),
            };
            self.said.try_set(said);
            self.busy.try_set(false);
        });
    }

    fn fail(self, text: String) {
        self.said.set(Some((text, true)));
    }

    /// The line under the form: `role=status` so a screen reader hears it.
    fn line(self) -> impl IntoView {
        view! {
            <p class=move || match self.said.get() {
                    Some((_, true)) => "console-said bad",
                    _ => "console-said",
                }
                role="status">
                {move || self.said.get().map(|(text, _)| text)}
            </p>
        }
    }
}

/// The server's refusal in words an owner reads: its detail where it gave one.
fn refusal(error: &BackendError) -> String {
    if error.is_transient() {
        return t(
            "Could not reach the server. Nothing changed: try again.",
            "Não foi possível falar com o servidor. Nada mudou: tente de novo.",
        )
        .into();
    }
    // The server writes its titles and details in English: in Portuguese the refusal is said
    // from its stable code, with the detail of a value refused (which field, and why).
    if crate::i18n::lang() == crate::i18n::Lang::Pt {
        let why = crate::i18n::error_words(error);
        let detail = error
            .problem()
            .filter(|p| p.code == espresso_core::protocol::ErrorCode::ValidationFailed)
            .and_then(|p| p.detail.as_deref())
            .map(|d| d.trim().trim_end_matches('.'))
            .filter(|d| !d.is_empty());
        return match detail {
            Some(detail) => format!("Não foi salvo: {why} ({detail})."),
            None => format!("Não foi salvo: {why}."),
        };
    }
    match error.problem() {
        Some(problem) => match &problem.detail {
            Some(detail) if !detail.trim().is_empty() => {
                format!("Not saved: {}", detail.trim_end_matches('.')) + "."
            }
            _ => format!("Not saved: {}.", problem.title.trim_end_matches('.')),
        },
        None => format!("Not saved: {error}"),
    }
}
