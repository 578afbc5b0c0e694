//! Which app this shell is (its flavour) and the one window it opens for it. The flavour is an
//! [`App`]: `ESPRESSO_FLAVOUR` at run time, else the one it was built as (`ESPRESSO_FLAVOUR` at
//! build time, set by `cargo xtask bundle`), else the start page that links the three.

use espresso_core::protocol::App;

use crate::kiosk;

/// This run's flavour (see the module's documentation); an unknown name is the start page.
pub fn of_this_run() -> App {
    std::env::var("ESPRESSO_FLAVOUR")
        .ok()
        .or_else(|| option_env!("ESPRESSO_FLAVOUR").map(str::to_owned))
        .and_then(|name| App::from_name(&name))
        .unwrap_or(App::Home)
}

/// The app's identifier, as its bundle has it (`flavours/<flavour>.json`): names its
/// one-instance lock, so two flavours on one machine never take each other for a second start.
pub fn identifier(app: App) -> &'static str {
    match app {
        App::Home => "coffee.espresso.app",
        App::Customer => "coffee.espresso.order",
        App::Barista => "coffee.espresso.barista",
        App::Display => "coffee.espresso.display",
    }
}

/// The window's icon: the same cup on each flavour's own colour (`icons/<flavour>/`).
pub(crate) fn icon(app: App) -> tauri::image::Image<'static> {
    match app {
        App::Home => tauri::include_image!("icons/128x128.png"),
        App::Customer => tauri::include_image!("icons/customer/128x128.png"),
        App::Barista => tauri::include_image!("icons/barista/128x128.png"),
        App::Display => tauri::include_image!("icons/display/128x128.png"),
    }
}

pub(crate) fn title(app: App) -> &'static str {
    match app {
        App::Home | App::Customer => "Espresso",
        App::Barista => "Espresso Barista",
        App::Display => "Espresso Display",
    }
}

/// The window's inner size: a phone for the customer, a landscape tablet for the barista (the
/// display is full screen instead).
fn size(app: App) -> (f64, f64) {
    match app {
        App::Home => (1024.0, 768.0),
        App::Customer => (420.0, 860.0),
        App::Barista | App::Display => (1280.0, 800.0),
    }
}

/// Open this flavour's one window (label `main`, which the capabilities name) on `page`. The
/// booth screen opens over the primary monitor, asks for full screen, keeps covering its monitor
/// and keeps the screen awake ([`kiosk`]).
pub(crate) fn open_window(app: &tauri::App, flavour: App, page: String) -> tauri::Result<()> {
    let (width, height) = size(flavour);
    let url = tauri::WebviewUrl::App(page.into());
    let window = tauri::WebviewWindowBuilder::new(app, "main", url)
        .title(title(flavour))
        .icon(icon(flavour))?
        .inner_size(width, height)
        .min_inner_size(320.0, 480.0);
    let window = match flavour {
        App::Display => {
            let window = window
                .fullscreen(true)
                .decorations(false)
                .always_on_top(true);
            // Already the monitor's size when it first shows (the builder takes logical pixels).
            match app.primary_monitor().ok().flatten() {
                Some(monitor) => {
                    let scale = monitor.scale_factor();
                    let (position, size) = (monitor.position(), monitor.size());
                    window
                        .position(f64::from(position.x) / scale, f64::from(position.y) / scale)
                        .inner_size(
                            f64::from(size.width) / scale,
                            f64::from(size.height) / scale,
                        )
                }
                None => window,
            }
        }
        _ => window,
    };
    let window = window.build()?;
    if flavour == App::Display {
        kiosk::keep_filling(window);
        kiosk::keep_awake(title(flavour));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn each_flavour_has_its_bundle_identifier_and_icons() {
        for (flavour, overlay) in [
            (App::Customer, include_str!("../flavours/customer.json")),
            (App::Barista, include_str!("../flavours/barista.json")),
            (App::Display, include_str!("../flavours/display.json")),
        ] {
            let overlay: serde_json::Value = serde_json::from_str(overlay).unwrap();
            assert_eq!(
                overlay["identifier"].as_str(),
                Some(identifier(flavour)),
                "{flavour:?}"
            );
            // Its bundle's icons exist (paths are relative to src-tauri/).
            let icons = overlay["bundle"]["icon"].as_array().unwrap();
            assert!(!icons.is_empty(), "{flavour:?}");
            for icon in icons {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(icon.as_str().unwrap());
                assert!(path.exists(), "{}", path.display());
            }
            let window_icon = icon(flavour);
            assert_eq!((window_icon.width(), window_icon.height()), (128, 128));
        }
        // The three icons differ (each flavour its own colour).
        let rgba = |app: App| icon(app).rgba().to_vec();
        assert_ne!(rgba(App::Customer), rgba(App::Barista));
        assert_ne!(rgba(App::Barista), rgba(App::Display));
        assert_ne!(rgba(App::Customer), rgba(App::Display));
    }

    #[test]
    fn the_display_package_installs_its_autostart_and_restart() {
        let overlay: serde_json::Value =
            serde_json::from_str(include_str!("../flavours/display.json")).unwrap();
        let binary = overlay["mainBinaryName"].as_str().unwrap();
        let files = overlay["bundle"]["linux"]["deb"]["files"]
            .as_object()
            .unwrap();
        for (installed, source) in files {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(source.as_str().unwrap());
            assert!(path.is_file(), "{installed}: {} is missing", path.display());
        }
        let unit = include_str!("../flavours/display/espresso-display.service");
        assert!(files.contains_key("/usr/lib/systemd/user/espresso-display.service"));
        for line in [
            format!("ExecStart=/usr/bin/{binary}").as_str(),
            "Restart=always",
            "RestartSec=2",
            "RestartPreventExitStatus=0",
            "StartLimitIntervalSec=0",
            "WantedBy=graphical-session.target",
        ] {
            assert!(unit.lines().any(|l| l == line), "{line:?} in the unit");
        }
        let session = include_str!("../flavours/display/espresso-display-session");
        assert!(files.contains_key("/usr/bin/espresso-display-session"));
        assert!(session.contains(&format!("/usr/bin/{binary}")), "{session}");
        assert!(session.contains("espresso-display.service"), "{session}");
        let autostart = include_str!("../flavours/display/espresso-display-autostart.desktop");
        assert!(autostart.contains("Exec=/usr/bin/espresso-display-session"));
        // The session script is executable in the repository (the package copies its mode).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let script = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("flavours/display/espresso-display-session");
            let mode = std::fs::metadata(script).unwrap().permissions().mode();
            assert_eq!(mode & 0o111, 0o111, "{mode:o}");
        }
    }

    #[test]
    fn each_flavour_opens_its_app() {
        assert_eq!(App::from_name("Barista"), Some(App::Barista));
        assert_eq!(App::from_name(""), Some(App::Home));
        assert_eq!(App::from_name("kiosk"), None);
        assert_eq!(App::Display.page("main"), "display?shop=main");
        assert_eq!(App::Customer.page("pop-up"), "order?shop=pop-up");
    }
}
