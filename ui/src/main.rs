//! espresso-ui: the customer, barista and display apps, one Leptos (CSR) build.
//!
//! The page picks its app from the URL path. Components reach the server only through the
//! [`backend::Backend`] seam, so the same UI runs in a browser and inside the Tauri shell.

mod app;
mod backend;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
