//! Taking over from the first screen the page drew itself.
//!
//! Each app's page (`page-<app>.html`, written by `cargo xtask build-ui` from
//! `ui/src/first_screen/`) carries the app's first screen: on a slow phone the sign-in form is
//! there, styled and usable, seconds before the wasm. When the app starts it takes that screen
//! off and draws its own in its place (the same, so nothing jumps), keeping what the person did
//! meanwhile: the email typed (and the typing, if the field had the focus), and a press of "Send
//! me a code" (the page's script held it and said "Sending…"; [`crate::signin::SignIn`] sends
//! the code at once).

use std::cell::RefCell;

use wasm_bindgen::JsCast;

/// What the person did on the page's first screen before the app came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handover {
    /// The email field's text.
    pub email: String,
    /// "Send me a code" was pressed.
    pub send: bool,
    /// The email field had the keyboard focus.
    pub typing: bool,
}

thread_local! {
    static HANDOVER: RefCell<Option<Handover>> = const { RefCell::new(None) };
}

/// Before the app mounts: read the page's first screen, if it has one, and take it off (the
/// app's own screen is drawn in the same task, before the browser paints again).
pub fn take_over() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(Some(screen)) = document.query_selector("[data-first-screen]") else {
        return;
    };
    let field = screen
        .query_selector("input[name=email]")
        .ok()
        .flatten()
        .and_then(|field| field.dyn_into::<web_sys::HtmlInputElement>().ok());
    if let Some(field) = field {
        let element: &web_sys::Element = field.as_ref();
        let typing = document
            .active_element()
            .is_some_and(|active| &active == element);
        let send = matches!(screen.query_selector("form[data-pressed]"), Ok(Some(_)));
        let handover = Handover {
            email: field.value(),
            send,
            typing,
        };
        HANDOVER.with(|kept| *kept.borrow_mut() = Some(handover));
    }
    screen.remove();
}

/// What the person did on the page's first screen (once: the first sign-in form takes it).
pub fn handover() -> Option<Handover> {
    HANDOVER.with(|kept| kept.borrow_mut().take())
}
