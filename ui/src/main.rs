//! espresso-ui: the customer, barista and display apps, one Leptos (CSR) build.
//!
//! The page picks its app from the URL path. Components reach the server only through the
//! [`backend::Backend`] seam, so the same UI runs in a browser and inside the Tauri shell.
//! Screens are fed by espresso-core's views through [`feed`]; they hold no business rules.

mod a11y;
mod app;
mod backend;
mod barista;
mod ctx;
mod customer;
mod display;
mod drink;
mod feed;
mod icons;
mod shell;
mod signin;
mod util;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
