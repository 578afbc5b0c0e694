//! The barista app (being built).

use leptos::prelude::*;

use crate::app::Ctx;

#[component]
pub fn BaristaApp(ctx: Ctx) -> impl IntoView {
    let _ = ctx;
    view! { <main class="app"><p class="lede">"This screen is being set up."</p></main> }
}
