//! The booth screen's kiosk behaviour, native: its window covers the monitor it is on (with or
//! without a window manager, and after a monitor change), and the screen stays awake while it
//! runs.
//!
//! **Filling the screen.** Asking for full screen is a request to the window manager: under a
//! bare X server (`xinit` with one program, as many kiosks run) nobody grants it and the window
//! stays at its default size in the corner. So the window is also placed and sized to the
//! monitor itself (`current_monitor()`, else the primary, else the first), at start and whenever
//! its place no longer matches its monitor (a monitor or resolution change, a scale change, a
//! window manager that moved it). Under a window manager that grants full screen the two agree
//! and nothing more happens. On Wayland a compositor places windows itself (`cage` shows every
//! window full screen); there the request is all there is.
//!
//! **Staying awake.** As browsers do for a playing video: the X server's screensaver is
//! suspended for as long as this process's connection to it lives (MIT-SCREEN-SAVER `Suspend`;
//! the X server stops its screensaver and DPMS timers while any client has it suspended, and
//! forgets the request when the client goes, so even a crash cannot leave the screen awake), and
//! where the desktop runs a screensaver service (`org.freedesktop.ScreenSaver` on the session
//! bus: KDE, Xfce, LXQt…) it is asked to `Inhibit` and told to `UnInhibit` on quit (these
//! services also drop the inhibition of a client that disconnects). Both are released on quit.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tauri::{PhysicalPosition, PhysicalSize, Runtime, WebviewWindow};

/// How often the window checks that it still covers its monitor.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Where a monitor is, in physical pixels of the virtual screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

impl Area {
    fn of_monitor(monitor: &tauri::Monitor) -> Self {
        let (position, size) = (monitor.position(), monitor.size());
        Self {
            x: position.x,
            y: position.y,
            width: size.width,
            height: size.height,
        }
    }
}

/// The monitor the booth screen belongs on: the one it is on, else the primary one, else the
/// first there is (some X servers name no primary monitor).
pub fn choose_monitor(current: Option<Area>, primary: Option<Area>, all: &[Area]) -> Option<Area> {
    current.or(primary).or_else(|| all.first().copied())
}

/// The window's place, if it must move to cover `monitor`.
pub fn correction(window: Area, monitor: Area) -> Option<Area> {
    (window != monitor).then_some(monitor)
}

/// Put the window over its whole monitor if it is not already. Returns where it was put.
pub fn fill_monitor<R: Runtime>(window: &WebviewWindow<R>) -> tauri::Result<Option<Area>> {
    let all: Vec<Area> = window
        .available_monitors()?
        .iter()
        .map(Area::of_monitor)
        .collect();
    let current = window.current_monitor()?.as_ref().map(Area::of_monitor);
    let primary = window.primary_monitor()?.as_ref().map(Area::of_monitor);
    let Some(monitor) = choose_monitor(current, primary, &all) else {
        return Ok(None);
    };
    let (position, size) = (window.outer_position()?, window.outer_size()?);
    let now = Area {
        x: position.x,
        y: position.y,
        width: size.width,
        height: size.height,
    };
    let Some(target) = correction(now, monitor) else {
        return Ok(None);
    };
    // The window has no decorations: its outer and inner sizes are the same.
    window.set_position(PhysicalPosition::new(target.x, target.y))?;
    window.set_size(PhysicalSize::new(target.width, target.height))?;
    if !window.is_fullscreen()? {
        window.set_fullscreen(true)?;
    }
    Ok(Some(target))
}

/// Keep the booth window over its monitor for as long as it is open: checked now and every
/// [`CHECK_EVERY`] (Tauri has no "monitors changed" event to wait for; a check is a few small
/// calls to the window system).
pub fn keep_filling<R: Runtime>(window: WebviewWindow<R>) {
    if on_wayland() {
        tracing::info!("on Wayland the compositor places the display (full screen asked)");
        return;
    }
    // Each move and each error said once, not every second (a window manager may keep
    // overruling a move).
    let (mut last_move, mut last_error) = (None, None);
    let mut report = move |result: tauri::Result<Option<Area>>, when: &str| match result {
        Ok(Some(area)) => {
            if last_move != Some(area) {
                tracing::info!(
                    "the display covers its monitor {}x{}+{}+{} ({when})",
                    area.width,
                    area.height,
                    area.x,
                    area.y
                );
                last_move = Some(area);
            }
        }
        Ok(None) => (last_move, last_error) = (None, None),
        Err(error) => {
            let error = error.to_string();
            if last_error.as_ref() != Some(&error) {
                tracing::warn!("cannot place the display ({when}): {error}");
                last_error = Some(error);
            }
        }
    };
    report(fill_monitor(&window), "at start");
    tauri::async_runtime::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let window = window.clone();
            // The window calls wait for the main thread: not on the runtime's own workers.
            match tauri::async_runtime::spawn_blocking(move || fill_monitor(&window)).await {
                Ok(result) => report(result, "its place had changed"),
                Err(_) => break,
            }
        }
    });
}

/// Whether GTK draws this app's windows on Wayland (it prefers Wayland where a compositor
/// offers it), where a program cannot place its own window.
fn on_wayland() -> bool {
    let backend = std::env::var("GDK_BACKEND").unwrap_or_default();
    std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
        && (backend.is_empty() || backend.starts_with("wayland"))
}

/// The screen kept awake: what was asked of whom, to be undone on quit.
pub struct Awake {
    /// A connection to the X server on which the screensaver is suspended.
    x11: Option<x11rb::rust_connection::RustConnection>,
    /// The session bus connection and the cookie of an `org.freedesktop.ScreenSaver` inhibition.
    desktop: Option<(zbus::blocking::Connection, u32)>,
}

const SCREENSAVER: &str = "org.freedesktop.ScreenSaver";
const SCREENSAVER_PATH: &str = "/org/freedesktop/ScreenSaver";

/// What is holding the screen awake (none before [`keep_awake`] or after [`let_sleep`]).
static AWAKE: Mutex<Option<Awake>> = Mutex::new(None);

/// Keep the screen awake until [`let_sleep`] (or until the process ends, whichever is first),
/// asked from a thread of its own so the window does not wait for the session bus. Logs what it did; never fails the app.
pub fn keep_awake(application: &'static str) {
    let asked = std::thread::Builder::new()
        .name("keep-awake".into())
        .spawn(move || hold_awake(application));
    if let Err(error) = asked {
        tracing::warn!("cannot keep the screen awake: {error}");
    }
}

fn hold_awake(application: &str) {
    // On Wayland an X server is there for older programs only (Xwayland): its screensaver does
    // not blank the screen. A kiosk compositor (cage) blanks nothing; a desktop's session bus
    // service is asked below.
    let x11 = match suspend_x11_screensaver() {
        Ok(connection) => {
            tracing::info!("screen kept awake: X11 screensaver and DPMS suspended");
            Some(connection)
        }
        Err(why) => {
            tracing::info!("X11 screensaver not suspended: {why}");
            None
        }
    };
    let desktop = match inhibit_desktop_screensaver(application) {
        Ok(Some((connection, cookie))) => {
            tracing::info!("screen kept awake: {SCREENSAVER} inhibited (cookie {cookie})");
            Some((connection, cookie))
        }
        Ok(None) => None,
        Err(error) => {
            tracing::info!("{SCREENSAVER} not inhibited: {error}");
            None
        }
    };
    *AWAKE.lock().unwrap_or_else(PoisonError::into_inner) = Some(Awake { x11, desktop });
}

/// Let the screen sleep again (on quit).
pub fn let_sleep() {
    let Some(awake) = AWAKE.lock().unwrap_or_else(PoisonError::into_inner).take() else {
        return;
    };
    if let Some(connection) = awake.x11 {
        use x11rb::connection::Connection as _;
        use x11rb::protocol::screensaver::ConnectionExt as _;
        // Closing the connection ends the suspension too; saying so first is tidier.
        let _ = connection.screensaver_suspend(0);
        let _ = connection.flush();
    }
    if let Some((connection, cookie)) = awake.desktop {
        let _ = connection.call_method(
            Some(SCREENSAVER),
            SCREENSAVER_PATH,
            Some(SCREENSAVER),
            "UnInhibit",
            &(cookie,),
        );
    }
    tracing::info!("the screen may sleep again");
}

/// Suspend the X server's screensaver (and its DPMS timers) for as long as the returned
/// connection is open.
fn suspend_x11_screensaver() -> Result<x11rb::rust_connection::RustConnection, String> {
    use x11rb::connection::{Connection as _, RequestConnection as _};
    use x11rb::protocol::screensaver::{self, ConnectionExt as _};
    if on_wayland() {
        return Err("on Wayland the screen is not the X server's".into());
    }
    if std::env::var_os("DISPLAY").is_none() {
        return Err("no X display (DISPLAY is not set)".into());
    }
    let (connection, _screen) = x11rb::connect(None).map_err(|e| e.to_string())?;
    let present = connection
        .extension_information(screensaver::X11_EXTENSION_NAME)
        .map_err(|e| e.to_string())?;
    if present.is_none() {
        return Err("the X server has no MIT-SCREEN-SAVER extension".into());
    }
    // `Suspend` is version 1.1 of the extension.
    let version = connection
        .screensaver_query_version(1, 1)
        .map_err(|e| e.to_string())?
        .reply()
        .map_err(|e| e.to_string())?;
    if (version.server_major_version, version.server_minor_version) < (1, 1) {
        return Err(format!(
            "the X server's MIT-SCREEN-SAVER is version {}.{} (Suspend needs 1.1)",
            version.server_major_version, version.server_minor_version
        ));
    }
    connection
        .screensaver_suspend(1)
        .map_err(|e| e.to_string())?
        .check()
        .map_err(|e| e.to_string())?;
    connection.flush().map_err(|e| e.to_string())?;
    Ok(connection)
}

/// Ask the desktop's screensaver service, if one runs on the session bus, not to blank the
/// screen. `None`: there is no such service (a bare X server, a kiosk compositor).
fn inhibit_desktop_screensaver(
    application: &str,
) -> zbus::Result<Option<(zbus::blocking::Connection, u32)>> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        return Ok(None);
    }
    let connection = zbus::blocking::Connection::session()?;
    let bus = zbus::blocking::fdo::DBusProxy::new(&connection)?;
    let name = zbus::names::BusName::try_from(SCREENSAVER)?;
    if !bus.name_has_owner(name)? {
        return Ok(None);
    }
    let reply = connection.call_method(
        Some(SCREENSAVER),
        SCREENSAVER_PATH,
        Some(SCREENSAVER),
        "Inhibit",
        &(application, "The booth screen shows the orders"),
    )?;
    let cookie: u32 = reply.body().deserialize()?;
    Ok(Some((connection, cookie)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LANDSCAPE: Area = Area {
        x: 0,
        y: 0,
        width: 1920,
        height: 1080,
    };
    const PORTRAIT: Area = Area {
        x: 1920,
        y: 0,
        width: 1080,
        height: 1920,
    };

    #[test]
    fn the_booth_takes_the_monitor_it_is_on_else_the_primary_else_any() {
        assert_eq!(
            choose_monitor(Some(PORTRAIT), Some(LANDSCAPE), &[LANDSCAPE, PORTRAIT]),
            Some(PORTRAIT)
        );
        assert_eq!(
            choose_monitor(None, Some(LANDSCAPE), &[PORTRAIT, LANDSCAPE]),
            Some(LANDSCAPE)
        );
        assert_eq!(choose_monitor(None, None, &[PORTRAIT]), Some(PORTRAIT));
        assert_eq!(choose_monitor(None, None, &[]), None);
    }

    #[test]
    fn a_window_off_its_monitor_is_moved_and_one_on_it_is_left_alone() {
        let corner = Area {
            x: 0,
            y: 0,
            width: 1280,
            height: 800,
        };
        assert_eq!(correction(corner, LANDSCAPE), Some(LANDSCAPE));
        assert_eq!(correction(LANDSCAPE, PORTRAIT), Some(PORTRAIT));
        assert_eq!(correction(PORTRAIT, PORTRAIT), None);
    }
}
