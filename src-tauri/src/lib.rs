//! espresso-app: the thin Tauri shell. It owns the native core's `Client` (session in the OS
//! keyring, or a private file where no Secret Service runs) and answers the UI's calls through
//! one command ([`commands::call`]: the core's `calls` list, defined once, is the whole seam);
//! live updates go to the UI through a Tauri `Channel` per subscription. It holds no business
//! rules.
//!
//! Per flavour ([`flavour`]) it adds what an installed app needs: system notifications (all,
//! [`notify`]), one instance and a remembered window (barista), one instance and the
//! `espresso://order` link (customer, [`deep_link`]), a kiosk window that covers its monitor and
//! keeps the screen awake (display, [`kiosk`]), and each flavour's own icon. [`shell`] is the
//! state the commands share; [`settings`] what the app remembers between runs.

mod commands;
pub mod deep_link;
pub mod flavour;
pub mod kiosk;
mod notify;
pub mod settings;
pub mod shell;

use espresso_core::protocol::App;
use tauri::{AppHandle, Manager, Runtime};

pub use deep_link::OrderLink;
pub use settings::{DEFAULT_SERVER_URL, DEFAULT_SHOP, Settings, server_url_for_run, shop_for_run};
pub use shell::Shell;

/// Start the shell. Panics only if the window system cannot start at all. On Android and iOS
/// this is the app's entry point (`tauri::mobile_entry_point`).
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    init_logging();
    let flavour = flavour::of_this_run();
    let mut context = tauri::generate_context!();
    let mut builder = tauri::Builder::default();
    #[cfg(desktop)]
    {
        builder = desktop_plugins(builder, flavour);
    }
    if flavour == App::Customer {
        // The customer app follows `espresso://order?…` links (see `add_link_scheme`).
        deep_link::add_link_scheme(&mut context.config_mut().plugins);
        builder = builder.plugin(tauri_plugin_deep_link::init());
    }
    #[allow(clippy::expect_used)]
    builder
        .plugin(tauri_plugin_notification::init())
        .setup(move |app| {
            let data_dir = app.path().app_data_dir().ok();
            if let Some(dir) = &data_dir {
                let _ = std::fs::create_dir_all(dir);
            }
            let saved = data_dir.as_deref().map(Settings::load).unwrap_or_default();
            let url = server_url_for_run(&saved);
            let shop = shop_for_run(&saved);
            app.manage(Shell::new(&url, data_dir, saved));
            let mut page = flavour.page(&shop);
            if flavour == App::Customer {
                // Started from a link: open its order page.
                if let Some(link) = deep_link::link_at_start(app) {
                    page = link.page();
                }
                deep_link::follow_links_opened_later(app);
            }
            flavour::open_window(app, flavour, page)?;
            Ok(())
        })
        .on_window_event(move |window, event| {
            if flavour != App::Display {
                return;
            }
            match event {
                // The booth screen is not closed by a passer-by's Alt+F4: only from its settings.
                tauri::WindowEvent::CloseRequested { api, .. }
                    if !window.state::<Shell>().may_close() =>
                {
                    api.prevent_close();
                }
                // Another monitor or another scale: cover it (a regular check catches the rest).
                tauri::WindowEvent::ScaleFactorChanged { .. } => {
                    if let Some(window) = window.app_handle().get_webview_window(window.label()) {
                        let _ = kiosk::fill_monitor(&window);
                    }
                }
                _ => {}
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::call,
            commands::live_subscribe,
            commands::live_close,
        ])
        .build(context)
        .expect("the window system could not start")
        .run(|_app, event| {
            // The booth screen lets the screen sleep again when it quits.
            if let tauri::RunEvent::Exit = event {
                kiosk::let_sleep();
            }
        });
}

/// Log to stderr, filtered by `RUST_LOG` (default: this shell's messages from `info` up).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,espresso_app_lib=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The desktop's plugins, registered before the others (one instance must be settled first).
/// Barista: one queue per tablet, its window's size and place remembered. Customer: one
/// instance too, so an `espresso://order?…` link opened while the app runs (which starts a
/// second copy with the link as its argument) is handed to the running app (single-instance's
/// `deep-link` feature) and the copy quits; the deep-link plugin then reports it here. Phones
/// run one instance anyway.
#[cfg(desktop)]
fn desktop_plugins<R: Runtime>(builder: tauri::Builder<R>, flavour: App) -> tauri::Builder<R> {
    let one_instance = || {
        tauri_plugin_single_instance::Builder::new()
            .callback(|app, _args, _cwd| bring_forward(app))
            .dbus_id(flavour::identifier(flavour))
            .build()
    };
    match flavour {
        App::Barista => builder
            .plugin(one_instance())
            .plugin(tauri_plugin_window_state::Builder::default().build()),
        App::Customer => builder.plugin(one_instance()),
        App::Home | App::Display => builder,
    }
}

/// A second start of a one-instance app: show the window that is already open.
fn bring_forward<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}
