//! The booth screen as a kiosk runs it, measured from outside the app: each test starts its own
//! X server (Xvfb) at a monitor size that is none of the app's window sizes, with or without a
//! window manager (openbox), and reads the screen the way a person would see it: the X server's
//! own record of the window (`xwininfo`), the X server's screensaver state, a screenshot of the
//! whole screen (the booth's QR code decoded from it, as a phone would), the session bus.
//!
//! Pages are driven by role, label and visible text. The restart after a crash is done by the
//! package's own `espresso-display-session` without systemd (this machine has no user manager):
//! the same 2 s restart its `espresso-display.service` unit asks of systemd.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use espresso_core::Client;
use espresso_core::protocol::{Role, ShopId};
use espresso_tests::{
    DriverProcess, STEP_DEADLINE, TestServer, connect, free_port, save_screenshot, screenshot_dir,
    wait_for, workspace_root,
};
use fantoccini::{Client as WebDriver, Locator};
use x11rb::connection::Connection as _;
use x11rb::protocol::screensaver::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{self, ConnectionExt as _};

/// The booth window's title (as the X server and window managers see it).
const TITLE: &str = "Espresso Display";

/// Monitor sizes none of the app's windows has by default (1280×800, 420×860, 1024×768).
const SCREENS: [(u32, u32); 3] = [(1920, 1080), (1080, 1920), (2560, 1440)];

/// One at a time: each test has its own X server, but the machine has two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn required_path(var: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .with_context(|| format!("{var} is not set (run through `cargo xtask test`)"))?;
    anyhow::ensure!(path.exists(), "{var}={} does not exist", path.display());
    Ok(path)
}

/// A process killed (and reaped) when dropped.
struct Owned(Child);

impl Owned {
    fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A window's place on the screen, as the X server has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    x: i32,
    y: i32,
    width: u32,
    height: u32,
    viewable: bool,
}

impl std::fmt::Display for Geometry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}+{}+{}", self.width, self.height, self.x, self.y)?;
        if !self.viewable {
            write!(f, " (not shown)")?;
        }
        Ok(())
    }
}

/// An X server of its own (Xvfb) with one monitor of a given size, and maybe a window manager.
struct Screen {
    display: String,
    width: u32,
    height: u32,
    window_manager: Option<Owned>,
    _xvfb: Owned,
}

impl Screen {
    /// Start Xvfb on a free display number (it says which once it accepts clients).
    fn start(width: u32, height: u32) -> anyhow::Result<Self> {
        let mut xvfb = Command::new("Xvfb")
            // `-noreset`: the server keeps its settings (the screensaver's) when its last
            // client goes, as a kiosk's X server lives on between the app's restarts.
            .args([
                "-displayfd",
                "1",
                "-nolisten",
                "tcp",
                "-noreset",
                "-screen",
                "0",
            ])
            .arg(format!("{width}x{height}x24"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("Xvfb (package xvfb) is needed: run `cargo xtask setup`")?;
        let stdout = xvfb.stdout.take().context("Xvfb's output")?;
        let xvfb = Owned(xvfb);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let number: u32 = line
            .trim()
            .parse()
            .with_context(|| format!("Xvfb did not say its display: {line:?}"))?;
        Ok(Self {
            display: format!(":{number}"),
            width,
            height,
            window_manager: None,
            _xvfb: xvfb,
        })
    }

    /// Start openbox on this screen and wait until it manages it.
    async fn with_window_manager(mut self) -> anyhow::Result<Self> {
        let openbox = Command::new("openbox")
            .arg("--sm-disable")
            .env("DISPLAY", &self.display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("openbox is needed: run `cargo xtask setup`")?;
        self.window_manager = Some(Owned(openbox));
        let display = self.display.clone();
        wait_for("openbox to manage the screen", STEP_DEADLINE, || async {
            window_manager_name(&display)
        })
        .await?;
        Ok(self)
    }

    fn name(&self) -> String {
        let wm = if self.window_manager.is_some() {
            "openbox"
        } else {
            "bare"
        };
        format!("{wm}-{}x{}", self.width, self.height)
    }

    /// The whole screen as a window covering it has it.
    fn whole(&self) -> (i32, i32, u32, u32) {
        (0, 0, self.width, self.height)
    }

    /// The window called `title`, as `xwininfo` reports it; `None` while there is none.
    fn window(&self, title: &str) -> anyhow::Result<Option<Geometry>> {
        let out = Command::new("xwininfo")
            .args(["-display", &self.display, "-name", title])
            .stderr(Stdio::null())
            .output()
            .context("xwininfo (package x11-utils) is needed: run `cargo xtask setup`")?;
        if !out.status.success() {
            return Ok(None);
        }
        Ok(Some(parse_xwininfo(&String::from_utf8_lossy(&out.stdout))?))
    }

    /// Wait until the booth window covers the whole screen; returns where it is.
    async fn wait_until_covered(&self, what: &str) -> anyhow::Result<Geometry> {
        self.wait_until_over(self.whole(), STEP_DEADLINE, what)
            .await
    }

    /// Wait until the booth window covers exactly `area` (x, y, width, height).
    async fn wait_until_over(
        &self,
        area: (i32, i32, u32, u32),
        deadline: Duration,
        what: &str,
    ) -> anyhow::Result<Geometry> {
        let last = Mutex::new(None::<Geometry>);
        let covered = wait_for(what, deadline, || async {
            let seen = self.window(TITLE)?;
            *last.lock().unwrap_or_else(|e| e.into_inner()) = seen;
            Ok(seen.filter(|g| g.viewable && (g.x, g.y, g.width, g.height) == area))
        })
        .await;
        covered.map_err(|error| {
            // What the screen showed instead, for people.
            let _ = self.screenshot(&format!("kiosk-{}-not-covered", self.name()));
            let seen = last.lock().unwrap_or_else(|e| e.into_inner()).take();
            let seen = seen.map_or("no window".to_owned(), |g| g.to_string());
            let (x, y, width, height) = area;
            error.context(format!(
                "on a {}x{} screen ({}) the booth window is {seen}, not {width}x{height}+{x}+{y}",
                self.width,
                self.height,
                self.name()
            ))
        })
    }

    /// A PNG of the whole screen (what a person in front of it sees).
    fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        let status = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(&path)
            .stderr(Stdio::null())
            .status()
            .context("import (package imagemagick) is needed: run `cargo xtask setup`")?;
        anyhow::ensure!(status.success(), "import failed: {status}");
        Ok(path)
    }

    /// Wait until the screen shows more than one flat colour (the page has painted), for a
    /// screenshot people can read.
    async fn wait_until_painted(&self) -> anyhow::Result<()> {
        wait_for("the page to paint", STEP_DEADLINE, || async {
            let (_, _, grey) = self.grey()?;
            let mut levels = [false; 256];
            for level in grey {
                levels[usize::from(level)] = true;
            }
            Ok((levels.iter().filter(|seen| **seen).count() > 16).then_some(()))
        })
        .await
    }

    /// What the screen shows, in grey levels (`width`, `height`, one byte a pixel).
    fn grey(&self) -> anyhow::Result<(usize, usize, Vec<u8>)> {
        let out = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .args(["-colorspace", "gray", "-depth", "8", "pgm:-"])
            .stderr(Stdio::null())
            .output()
            .context("import (package imagemagick) is needed: run `cargo xtask setup`")?;
        anyhow::ensure!(out.status.success(), "import failed: {}", out.status);
        parse_pgm(&out.stdout)
    }

    /// The booth URL in the QR code on screen, decoded as a phone camera would; `None` while
    /// no QR code can be read there.
    fn qr_on_screen(&self) -> anyhow::Result<Option<String>> {
        let (width, height, grey) = self.grey()?;
        let mut image =
            rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| grey[y * width + x]);
        Ok(image
            .detect_grids()
            .into_iter()
            .find_map(|grid| grid.decode().ok().map(|(_, text)| text)))
    }

    /// The X server's screensaver state: `ON` while the screen is blanked.
    fn saver_state(&self) -> anyhow::Result<screensaver::State> {
        let (connection, screen) = x11rb::connect(Some(&self.display))?;
        let root = connection.setup().roots[screen].root;
        let info = connection.screensaver_query_info(root)?.reply()?;
        Ok(screensaver::State::from(info.state))
    }

    /// Blank the screen after `timeout_s` without input, counting from now.
    fn blank_after(&self, timeout_s: i16) -> anyhow::Result<()> {
        let (connection, _) = x11rb::connect(Some(&self.display))?;
        connection
            .set_screen_saver(
                timeout_s,
                timeout_s,
                xproto::Blanking::PREFERRED,
                xproto::Exposures::ALLOWED,
            )?
            .check()?;
        connection
            .force_screen_saver(xproto::ScreenSaver::RESET)?
            .check()?;
        Ok(())
    }

    /// Change the monitor's resolution, as `xrandr` does on a real X server: a mode of
    /// `width`×`height` (no larger than the screen Xvfb started with; its own size goes back to
    /// its own mode), and the screen resized to it.
    fn set_resolution(&self, width: u32, height: u32) -> anyhow::Result<()> {
        let xrandr = |args: &[String]| -> anyhow::Result<()> {
            let status = Command::new("xrandr")
                .args(["-display", &self.display])
                .args(args)
                .stdout(Stdio::null())
                .status()
                .context("xrandr (package x11-xserver-utils) is needed: run `cargo xtask setup`")?;
            anyhow::ensure!(status.success(), "xrandr {args:?} failed: {status}");
            Ok(())
        };
        let mut mode = format!("{width}x{height}");
        if (width, height) != (self.width, self.height) {
            // A mode line Xvfb accepts (any consistent timings at 60 Hz).
            let (total_w, total_h) = (width + 80, height + 30);
            let clock = f64::from(total_w * total_h) * 60.0 / 1e6;
            mode.push_str("-test");
            let timings = [
                width,
                width + 8,
                width + 40,
                total_w,
                height,
                height + 3,
                height + 8,
                total_h,
            ];
            let mut new_mode = vec!["--newmode".to_owned(), mode.clone(), format!("{clock:.2}")];
            new_mode.extend(timings.iter().map(u32::to_string));
            // Made once per server; a second time it exists already.
            let _ = xrandr(&new_mode);
            let _ = xrandr(&["--addmode".into(), "screen".into(), mode.clone()]);
        }
        xrandr(&[
            "--output".into(),
            "screen".into(),
            "--mode".into(),
            mode,
            "--fb".into(),
            format!("{width}x{height}"),
        ])
    }
}

/// The name of the window manager running on `display` (`_NET_SUPPORTING_WM_CHECK`), if any.
fn window_manager_name(display: &str) -> anyhow::Result<Option<String>> {
    let (connection, screen) = x11rb::connect(Some(display))?;
    let root = connection.setup().roots[screen].root;
    let atom = |name: &str| -> anyhow::Result<u32> {
        Ok(connection
            .intern_atom(false, name.as_bytes())?
            .reply()?
            .atom)
    };
    let check = atom("_NET_SUPPORTING_WM_CHECK")?;
    let reply = connection
        .get_property(false, root, check, xproto::AtomEnum::WINDOW, 0, 1)?
        .reply()?;
    let Some(wm_window) = reply.value32().and_then(|mut v| v.next()) else {
        return Ok(None);
    };
    let name = connection
        .get_property(
            false,
            wm_window,
            atom("_NET_WM_NAME")?,
            atom("UTF8_STRING")?,
            0,
            64,
        )?
        .reply()?;
    Ok(Some(String::from_utf8_lossy(&name.value).into_owned()))
}

/// `xwininfo`'s report of one window.
fn parse_xwininfo(text: &str) -> anyhow::Result<Geometry> {
    let field = |label: &str| -> anyhow::Result<&str> {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .map(str::trim)
            .with_context(|| format!("xwininfo says no {label:?}: {text}"))
    };
    Ok(Geometry {
        x: field("Absolute upper-left X:")?.parse()?,
        y: field("Absolute upper-left Y:")?.parse()?,
        width: field("Width:")?.parse()?,
        height: field("Height:")?.parse()?,
        viewable: field("Map State:")? == "IsViewable",
    })
}

/// A binary PGM (`P5`, 8-bit) image.
fn parse_pgm(bytes: &[u8]) -> anyhow::Result<(usize, usize, Vec<u8>)> {
    // The header: magic, width, height, maximum value, each followed by white space.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if bytes.get(at) == Some(&b'#') {
            while at < bytes.len() && bytes[at] != b'\n' {
                at += 1;
            }
            continue;
        }
        let start = at;
        while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        anyhow::ensure!(at > start, "a PGM header ends early");
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    at += 1;
    anyhow::ensure!(fields[0] == "P5", "not a binary PGM: {}", fields[0]);
    let (width, height): (usize, usize) = (fields[1].parse()?, fields[2].parse()?);
    anyhow::ensure!(fields[3] == "255", "not an 8-bit PGM: {}", fields[3]);
    let pixels = bytes.get(at..at + width * height).context("a short PGM")?;
    Ok((width, height, pixels.to_vec()))
}

/// The app started directly, as a kiosk's session would start it, on `screen`.
fn start_app(screen: &Screen, env: &[(&str, &str)]) -> anyhow::Result<Owned> {
    let app = required_path("ESPRESSO_APP_BIN")?;
    let child = Command::new(app)
        .env("DISPLAY", &screen.display)
        .env("ESPRESSO_FLAVOUR", "display")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    Ok(Owned(child))
}

/// The app through tauri-driver (a page to drive), on `screen`.
async fn open_app(
    screen: &Screen,
    env: &[(&str, &str)],
) -> anyhow::Result<(DriverProcess, WebDriver)> {
    let app = required_path("ESPRESSO_APP_BIN")?;
    let tauri_driver = required_path("TAURI_DRIVER")?;
    let (port, native_port) = (free_port()?, free_port()?);
    let mut command = Command::new(tauri_driver);
    command
        .args(["--port", &port.to_string()])
        .args(["--native-port", &native_port.to_string()])
        .env("DISPLAY", &screen.display)
        .env("ESPRESSO_FLAVOUR", "display")
        .envs(env.iter().copied());
    let driver_process = DriverProcess::spawn(command, port).await?;
    let caps = serde_json::json!({
        "browserName": "wry",
        "tauri:options": { "application": app }
    });
    let window = connect(&driver_process.url(), caps).await?;
    Ok((driver_process, window))
}

/// An XPath string literal for `text` (which has no double quote).
fn literal(text: &str) -> String {
    format!("\"{text}\"")
}

/// Wait for the element at `xpath` and return it.
async fn wait_for_xpath(
    window: &WebDriver,
    what: &str,
    xpath: &str,
) -> anyhow::Result<fantoccini::elements::Element> {
    wait_for(what, STEP_DEADLINE, || async {
        Ok(window.find(Locator::XPath(xpath)).await.ok())
    })
    .await
}

/// The text field labelled `label`.
async fn field(window: &WebDriver, label: &str) -> anyhow::Result<fantoccini::elements::Element> {
    let xpath = format!(
        "//label[.//*[normalize-space()={l}]]//input | //input[@aria-label={l}]",
        l = literal(label)
    );
    wait_for_xpath(window, &format!("a field labelled {label:?}"), &xpath).await
}

/// The button that says `text`.
async fn button(window: &WebDriver, text: &str) -> anyhow::Result<fantoccini::elements::Element> {
    let xpath = format!("//button[normalize-space()={}]", literal(text));
    wait_for_xpath(window, &format!("a button {text:?}"), &xpath).await
}

/// The heading that says `text`.
async fn heading(window: &WebDriver, text: &str) -> anyhow::Result<fantoccini::elements::Element> {
    let xpath = format!(
        "//*[self::h1 or self::h2 or self::h3 or @role='heading'][normalize-space()={}]",
        literal(text)
    );
    wait_for_xpath(window, &format!("a heading {text:?}"), &xpath).await
}

/// Sign the booth in as a person would: the email, "Send me a code", the code from the mail.
async fn sign_in(window: &WebDriver, server: &TestServer, email: &str) -> anyhow::Result<()> {
    let seen = server.mails_to(email).len();
    field(window, "Email").await?.send_keys(email).await?;
    button(window, "Send me a code").await?.click().await?;
    let code = server.code_after(email, seen).await?;
    field(window, "Code from the email")
        .await?
        .send_keys(&code)
        .await?;
    Ok(())
}

/// The booth shows the board: its "Scan to order" QR code and the two columns.
async fn wait_for_board(window: &WebDriver) -> anyhow::Result<()> {
    heading(window, "Scan to order").await?;
    heading(window, "Preparing").await?;
    heading(window, "Ready").await?;
    Ok(())
}

/// Quit the booth from its hidden settings (the S key), the only way it closes; returns once
/// it is gone.
async fn quit_from_settings(window: &WebDriver) -> anyhow::Result<()> {
    window
        .find(Locator::XPath("//body"))
        .await?
        .send_keys("s")
        .await?;
    heading(window, "Display settings").await?;
    let quit = button(window, "Quit the display app").await?;
    // The app may be gone before the click is answered; what counts is that it quits.
    let _ = quit.click().await;
    wait_for("the display app to quit", STEP_DEADLINE, || async {
        Ok(window.title().await.is_err().then_some(()))
    })
    .await
}

/// Wait until the screen shows the server's current booth QR code (only a signed-in display
/// gets it); returns it.
async fn wait_for_qr_on_screen(
    screen: &Screen,
    admin: &Client,
    deadline: Duration,
) -> anyhow::Result<String> {
    let last = Mutex::new(None::<String>);
    let found = wait_for("the server's booth QR code on screen", deadline, || async {
        let shown = screen.qr_on_screen()?;
        let current = admin.booth_code(&ShopId::main()).await?.order_url;
        *last.lock().unwrap_or_else(|e| e.into_inner()) = shown.clone();
        Ok(shown.filter(|shown| *shown == current))
    })
    .await;
    found.map_err(|error| {
        let seen = last.lock().unwrap_or_else(|e| e.into_inner()).take();
        error.context(format!("the QR code read from the screen: {seen:?}"))
    })
}

#[tokio::test]
#[ignore = "needs the app binary and Xvfb: run through `cargo xtask test`"]
async fn the_booth_screen_covers_monitors_of_every_shape_without_a_window_manager()
-> anyhow::Result<()> {
    let _one = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir()?;
    let data_home = data.path().display().to_string();
    // A server nobody answers on: the sign-in page is enough to measure the window.
    let env = [
        ("XDG_DATA_HOME", data_home.as_str()),
        ("ESPRESSO_SERVER_URL", "http://127.0.0.1:9"),
    ];
    for (width, height) in SCREENS {
        let screen = Screen::start(width, height)?;
        let _app = start_app(&screen, &env)?;
        screen
            .wait_until_covered("the booth window to cover a bare X server's screen")
            .await?;
        screen.wait_until_painted().await?;
        screen.screenshot(&format!("kiosk-{}", screen.name()))?;

        if (width, height) == (2560, 1440) {
            // The monitor's resolution changes (and back): the booth follows it within seconds,
            // with no window manager to tell it.
            for (width, height) in [(1920, 1080), (2560, 1440)] {
                screen.set_resolution(width, height)?;
                screen
                    .wait_until_over(
                        (0, 0, width, height),
                        Duration::from_secs(5),
                        "the booth window to follow a change of resolution",
                    )
                    .await?;
                screen.wait_until_painted().await?;
                screen.screenshot(&format!("kiosk-{}-now-{width}x{height}", screen.name()))?;
            }
        }
    }
    Ok(())
}

#[tokio::test]
#[ignore = "needs the app binary, Xvfb and openbox: run through `cargo xtask test`"]
async fn the_booth_screen_covers_monitors_of_every_shape_under_a_window_manager()
-> anyhow::Result<()> {
    let _one = ONE_AT_A_TIME.lock().await;
    let data = tempfile::tempdir()?;
    let data_home = data.path().display().to_string();
    let env = [
        ("XDG_DATA_HOME", data_home.as_str()),
        ("ESPRESSO_SERVER_URL", "http://127.0.0.1:9"),
    ];
    for (width, height) in SCREENS {
        let screen = Screen::start(width, height)?.with_window_manager().await?;
        let _app = start_app(&screen, &env)?;
        screen
            .wait_until_covered("the booth window to cover the screen under openbox")
            .await?;
        screen.wait_until_painted().await?;
        screen.screenshot(&format!("kiosk-{}", screen.name()))?;
    }
    Ok(())
}

/// A stand-in for a desktop's screensaver service (`org.freedesktop.ScreenSaver`, as KDE or
/// Xfce run it) that writes down what it is asked.
#[derive(Clone, Default)]
struct FakeScreenSaver {
    calls: Arc<Mutex<Vec<String>>>,
    cookies: Arc<AtomicU32>,
}

#[zbus::interface(name = "org.freedesktop.ScreenSaver")]
impl FakeScreenSaver {
    async fn inhibit(&self, application_name: String, reason: String) -> u32 {
        let cookie = self.cookies.fetch_add(1, Ordering::SeqCst) + 1;
        self.note(format!(
            "Inhibit {application_name:?} {reason:?} → {cookie}"
        ));
        cookie
    }

    async fn un_inhibit(&self, cookie: u32) {
        self.note(format!("UnInhibit {cookie}"));
    }
}

impl FakeScreenSaver {
    fn note(&self, call: String) {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Serve it on the session bus; `None` where there is none (then it is not checked).
    async fn serve(&self) -> anyhow::Result<Option<zbus::Connection>> {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            eprintln!("no D-Bus session bus: the desktop screensaver inhibition is not checked");
            return Ok(None);
        }
        let connection = zbus::connection::Builder::session()?
            .name("org.freedesktop.ScreenSaver")?
            .serve_at("/org/freedesktop/ScreenSaver", self.clone())?
            .build()
            .await?;
        Ok(Some(connection))
    }

    async fn wait_for(&self, call: &str) -> anyhow::Result<()> {
        wait_for(
            &format!("{call:?} on org.freedesktop.ScreenSaver"),
            STEP_DEADLINE,
            || async {
                Ok(self
                    .calls()
                    .iter()
                    .any(|c| c.starts_with(call))
                    .then_some(()))
            },
        )
        .await
        .with_context(|| format!("calls seen: {:?}", self.calls()))
    }
}

#[tokio::test]
#[ignore = "needs the app binary, tauri-driver and Xvfb: run through `cargo xtask test`"]
async fn the_booth_screen_keeps_the_screen_awake_until_it_quits() -> anyhow::Result<()> {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start().await?;
    server.open_shop().await?;
    let email = "awake@espresso.test";
    server.grant(email, &[Role::Display]).await?;
    let url = server.url();
    let data = tempfile::tempdir()?;
    let data_home = data.path().display().to_string();
    let desktop = FakeScreenSaver::default();
    let bus = desktop.serve().await?;

    let screen = Screen::start(1920, 1080)?;
    let (_driver, window) = open_app(
        &screen,
        &[
            ("XDG_DATA_HOME", data_home.as_str()),
            ("ESPRESSO_SERVER_URL", url.as_str()),
        ],
    )
    .await?;
    sign_in(&window, &server, email).await?;
    wait_for_board(&window).await?;

    // The X server would blank the screen after 1 s without input: it must not while the
    // booth runs.
    screen.blank_after(1)?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = screen.saver_state()?;
    screen.screenshot("kiosk-awake-after-3s-with-a-1s-screensaver")?;
    assert_eq!(
        state,
        screensaver::State::OFF,
        "the screen blanked while the booth runs: {state:?}"
    );
    save_screenshot(&window, "tauri-display").await?;
    // The desktop's screensaver service, where one runs, was asked too.
    if bus.is_some() {
        desktop.wait_for("Inhibit \"Espresso Display\"").await?;
    }

    // Quit from the hidden settings: the screen may sleep again.
    quit_from_settings(&window).await?;
    if bus.is_some() {
        desktop.wait_for("UnInhibit 1").await?;
    }
    screen.blank_after(1)?;
    wait_for(
        "the screensaver to come on after the booth quit",
        Duration::from_secs(5),
        || async { Ok((screen.saver_state()? == screensaver::State::ON).then_some(())) },
    )
    .await?;
    drop(bus);
    server.stop().await
}

/// The children of process `parent` (from /proc).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let mut stat = String::new();
            std::fs::File::open(format!("/proc/{pid}/stat"))
                .and_then(|mut file| file.read_to_string(&mut stat))
                .is_ok()
                // `pid (name) state ppid …`: the name may hold spaces, so read after its ')'.
                && stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|ppid| ppid.parse::<u32>().ok())
                    == Some(parent)
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs the app binary, tauri-driver and Xvfb: run through `cargo xtask test`"]
async fn the_booth_screen_comes_back_signed_in_within_seconds_after_kill_9() -> anyhow::Result<()> {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start().await?;
    let admin = server.open_shop().await?;
    let email = "crash@espresso.test";
    server.grant(email, &[Role::Display]).await?;
    let url = server.url();
    let data = tempfile::tempdir()?;
    let data_home = data.path().display().to_string();
    let env = [
        ("XDG_DATA_HOME", data_home.as_str()),
        ("ESPRESSO_SERVER_URL", url.as_str()),
    ];
    let screen = Screen::start(1080, 1920)?;

    // Set up once by staff: signed in on the booth.
    {
        let (_driver, window) = open_app(&screen, &env).await?;
        sign_in(&window, &server, email).await?;
        wait_for_board(&window).await?;
        quit_from_settings(&window).await?;
    }

    // The machine starts: the session runs the package's espresso-display-session, which
    // starts the app and starts it again whenever it dies.
    let session_script =
        workspace_root().join("src-tauri/flavours/display/espresso-display-session");
    let app = required_path("ESPRESSO_APP_BIN")?;
    let session = Owned(
        Command::new(&session_script)
            .env("ESPRESSO_DISPLAY_BIN", &app)
            .env("ESPRESSO_NO_SYSTEMD", "1")
            .env("DISPLAY", &screen.display)
            .env("ESPRESSO_FLAVOUR", "display")
            .envs(env)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot run {}", session_script.display()))?,
    );
    screen
        .wait_until_covered("the booth window after a start")
        .await?;
    wait_for_qr_on_screen(&screen, &admin, STEP_DEADLINE).await?;
    let first = match children_of(session.id()).as_slice() {
        [one] => *one,
        other => bail!("expected the app under the session script, found {other:?}"),
    };

    // A crash: kill -9. Within 10 s the booth is back, covering the screen, signed in and
    // showing the server's current QR code.
    let killed = Instant::now();
    let status = Command::new("kill")
        .args(["-9", &first.to_string()])
        .status()?;
    anyhow::ensure!(status.success(), "kill -9 {first}: {status}");
    let deadline = Duration::from_secs(10);
    let again = wait_for("a new app process", deadline, || async {
        Ok(children_of(session.id())
            .into_iter()
            .find(|pid| *pid != first))
    })
    .await?;
    screen
        .wait_until_covered("the booth window after kill -9")
        .await?;
    let left = deadline.saturating_sub(killed.elapsed());
    wait_for_qr_on_screen(&screen, &admin, left)
        .await
        .context("the board did not come back signed in within 10 s of kill -9")?;
    let back_in = killed.elapsed();
    screen.screenshot(&format!("kiosk-back-after-kill-9-{}", screen.name()))?;
    eprintln!("kill -9 of {first}: back as {again}, showing the board, in {back_in:?}");
    assert!(back_in < deadline, "back only after {back_in:?}");

    // Stop the session first (it would start the app again), then the app.
    let running = children_of(session.id());
    drop(session);
    for pid in running {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    server.stop().await
}

#[test]
fn reads_xwininfo_and_pgm() {
    let info = "
xwininfo: Window id: 0x600003 \"Espresso Display\"

  Absolute upper-left X:  0
  Absolute upper-left Y:  0
  Relative upper-left X:  0
  Relative upper-left Y:  0
  Width: 1280
  Height: 800
  Depth: 24
  Map State: IsViewable
";
    let geometry = parse_xwininfo(info).unwrap();
    assert_eq!(
        geometry,
        Geometry {
            x: 0,
            y: 0,
            width: 1280,
            height: 800,
            viewable: true,
        }
    );
    assert_eq!(geometry.to_string(), "1280x800+0+0");
    let pgm = b"P5\n# a comment\n3 2\n255\n\x00\x01\x02\x03\x04\x05";
    assert_eq!(parse_pgm(pgm).unwrap(), (3, 2, vec![0, 1, 2, 3, 4, 5]));
}
