//! Kiosk behaviour: the screen stays on, the cursor hides when the mouse rests, full screen on
//! request. All of it ends with the component that asked for it.

use leptos::ev;
use leptos::prelude::*;

use crate::util::keep_screen_on;

/// Ask the screen to stay on now, and again whenever the page is shown (browsers drop the wake
/// lock when a page is hidden).
pub fn keep_awake() {
    keep_screen_on();
    let handle = window_event_listener_untyped("visibilitychange", |_| {
        let visible = web_sys::window()
            .and_then(|window| window.document())
            .is_some_and(|document| {
                document.visibility_state() == web_sys::VisibilityState::Visible
            });
        if visible {
            keep_screen_on();
        }
    });
    on_cleanup(move || handle.remove());
}

/// `true` once the mouse has not moved for `after_ms` (the CSS then hides the cursor).
pub fn use_idle_cursor(after_ms: f64) -> Signal<bool> {
    let idle = RwSignal::new(false);
    let last_move = StoredValue::new(js_sys::Date::now());
    let on_move = window_event_listener(ev::mousemove, move |_| {
        last_move.set_value(js_sys::Date::now());
        if idle.get_untracked() {
            idle.set(false);
        }
    });
    let check = set_interval_with_handle(
        move || {
            let rested = js_sys::Date::now() - last_move.get_value() >= after_ms;
            if rested != idle.get_untracked() {
                idle.try_set(rested);
            }
        },
        std::time::Duration::from_millis(500),
    )
    .ok();
    on_cleanup(move || {
        on_move.remove();
        if let Some(check) = check {
            check.clear();
        }
    });
    idle.into()
}

/// Enter full screen, or leave it (browsers allow it only from a key press or a tap).
pub fn toggle_full_screen() {
    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return;
    };
    if document.fullscreen_element().is_some() {
        document.exit_fullscreen();
    } else if let Some(root) = document.document_element() {
        let _ = root.request_fullscreen();
    }
}

/// Is the keyboard busy with a form field (then letter shortcuts are typing, not commands)?
pub fn typing_in_a_field(event: &web_sys::KeyboardEvent) -> bool {
    use wasm_bindgen::JsCast;
    event
        .target()
        .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|element| {
            matches!(
                element.tag_name().to_ascii_uppercase().as_str(),
                "INPUT" | "TEXTAREA" | "SELECT"
            )
        })
}
