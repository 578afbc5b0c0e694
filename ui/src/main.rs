//! espresso-ui: the customer, barista and display apps, one Leptos (CSR) build.
//!
//! The page picks its app from the URL path. Components reach the server only through the
//! [`backend::Backend`] seam, so the same UI runs in a browser and inside the Tauri shell.
//! Screens are fed by espresso-core's views through [`feed`]; they hold no business rules.

// A build of one app leaves parts of the shared modules unused.
#![cfg_attr(
    not(all(feature = "customer", feature = "barista", feature = "display")),
    allow(dead_code, unused_imports)
)]

mod a11y;
mod app;
mod backend;
#[cfg(feature = "barista")]
mod barista;
mod ctx;
#[cfg(feature = "customer")]
mod customer;
#[cfg(feature = "display")]
mod display;
mod drink;
mod feed;
mod first_screen;
mod i18n;
mod icons;
mod shell;
mod signin;
mod util;

fn main() {
    console_error_panic_hook::set_once();
    // The page's own first screen gives way to the app's (keeping what was typed or pressed).
    first_screen::take_over();
    leptos::mount::mount_to_body(app::App);
}
