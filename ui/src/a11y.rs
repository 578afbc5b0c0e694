//! Accessibility helpers shared by the three apps (WCAG 2.2 AA): one `h1` per screen that takes
//! the keyboard focus when the screen changes, focus for a screen's first field, and arrow keys
//! in radio groups (roving tab stop).

use leptos::html::ElementType;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Move the keyboard focus to `node` once it is on the page: a new screen's heading (with
/// `tabindex="-1"`) or its first field. A screen reader then reads where the person landed.
pub fn focus_when_shown<E>(node: NodeRef<E>)
where
    E: ElementType + 'static,
    E::Output: JsCast + Clone + 'static,
{
    node.on_load(|element| {
        // After the frame, when the new screen is in the document.
        request_animation_frame(move || {
            let Some(element) = element.dyn_ref::<web_sys::HtmlElement>() else {
                return;
            };
            // Never out of a field the person is already typing in.
            let typing = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.active_element())
                .is_some_and(|active| {
                    matches!(active.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                        && active.is_connected()
                        && &active != element.as_ref()
                });
            if !typing {
                let _ = element.focus();
            }
        });
    });
}

/// The screen's one `h1`. It takes the focus when it appears (unless `keep_focus`: a screen
/// whose first field takes it instead), so moving to a new screen is announced.
#[component]
pub fn ScreenTitle(
    children: Children,
    #[prop(optional, into)] id: Option<&'static str>,
    #[prop(optional, into)] testid: Option<&'static str>,
    #[prop(optional)] keep_focus: bool,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::H1>::new();
    if !keep_focus {
        focus_when_shown(node);
    }
    view! {
        <h1 class="screen-title" tabindex="-1" id=id data-testid=testid node_ref=node>
            {children()}
        </h1>
    }
}

/// Arrow keys in a radio group (`role="radiogroup"` holding `role="radio"` elements): Right and
/// Down go to the next enabled radio, Left and Up to the previous one (round the ends), Home and
/// End to the first and last; the radio reached is focused and chosen (clicked), as the WAI-ARIA
/// radio group pattern has it. Put it on the group's `keydown`.
pub fn radio_group_keys(ev: &web_sys::KeyboardEvent) {
    let key = ev.key();
    let step: i32 = match key.as_str() {
        "ArrowRight" | "ArrowDown" => 1,
        "ArrowLeft" | "ArrowUp" => -1,
        "Home" | "End" => 0,
        _ => return,
    };
    let Some(group) = ev
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return;
    };
    let Ok(list) = group.query_selector_all("[role=radio]:not([disabled])") else {
        return;
    };
    let radios: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|node| node.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    if radios.is_empty() {
        return;
    }
    let active = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element());
    let at = radios
        .iter()
        .position(|radio| active.as_ref().is_some_and(|a| a == radio.as_ref()));
    let count = radios.len() as i32;
    let next = match (key.as_str(), at) {
        ("Home", _) => 0,
        ("End", _) => count - 1,
        (_, Some(at)) => (at as i32 + step).rem_euclid(count),
        (_, None) => 0,
    };
    ev.prevent_default();
    if let Some(radio) = radios.get(next as usize) {
        let _ = radio.focus();
        radio.click();
    }
}
