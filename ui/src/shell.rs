//! What the web build's shell says about itself, on every screen of the three apps: that the
//! server cannot be reached (the page came from the service worker's cache, or the network went
//! away), and that a new version is ready (a new service worker took over; the next load runs
//! it). The service worker itself is plain JS (`ui/static/sw.js`), registered by `boot.js`.

use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;

use crate::backend::{Backend, Calls};
use crate::i18n::tr;

/// How often the server is asked again while it cannot be reached.
const RETRY: Duration = Duration::from_secs(5);

/// The offline and new-version banners (web build only: the Tauri shell has neither a service
/// worker nor this page's origin).
#[component]
pub fn ShellBanner(backend: Rc<dyn Backend>) -> impl IntoView {
    let offline = RwSignal::new(false);
    let update_ready = RwSignal::new(update_flag());
    let probing = StoredValue::new(false);
    let probe = move || {
        if probing.get_value() {
            return;
        }
        probing.set_value(true);
        let backend = Rc::clone(&backend);
        leptos::task::spawn_local(async move {
            let down = match backend.health().await {
                Ok(_) => false,
                Err(error) => error.is_transient() || error.code().is_none(),
            };
            offline.try_set(down);
            probing.try_set_value(false);
        });
    };
    let probe = StoredValue::new_local(probe);
    probe.with_value(|probe| probe());
    // While offline, ask again now and then; and as soon as the browser says it is back online.
    if let Ok(handle) = set_interval_with_handle(
        move || {
            if offline.get_untracked() {
                probe.with_value(|probe| probe());
            }
        },
        RETRY,
    ) {
        on_cleanup(move || handle.clear());
    }
    let online = window_event_listener_untyped("online", move |_| {
        probe.with_value(|probe| probe());
    });
    let gone = window_event_listener_untyped("offline", move |_| offline.set(true));
    let update = window_event_listener_untyped("espresso-update", move |_| update_ready.set(true));
    on_cleanup(move || {
        online.remove();
        gone.remove();
        update.remove();
    });
    let reload = |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.location().reload();
        }
    };
    view! {
        <div class="shell-banners" role="status" aria-live="polite">
            <Show when=move || offline.get()>
                <p class="shell-banner shell-offline">
                    <strong>{tr("You're offline.", "Você está sem conexão.")}</strong>
                    {tr(" Espresso can't reach the bar's server right now. It keeps trying and carries on by itself.",
                        " O Espresso não consegue falar com o servidor do bar agora. Ele continua tentando e segue sozinho.")}
                </p>
            </Show>
            <Show when=move || update_ready.get()>
                <p class="shell-banner shell-update">
                    <strong>{tr("A new version is ready.", "Uma nova versão está pronta.")}</strong>
                    <button class="button-secondary" on:click=reload>{tr("Reload", "Recarregar")}</button>
                </p>
            </Show>
        </div>
    }
}

/// `boot.js` sets `window.espressoUpdateReady` when a new service worker took over before the
/// app was listening.
fn update_flag() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &"espressoUpdateReady".into())
        .map(|value| value.is_truthy())
        .unwrap_or(false)
}
