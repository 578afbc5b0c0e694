//! The end-to-end harness: start the real server on a free loopback port, drive headless
//! Chromium (chromedriver) or the real Tauri window (tauri-driver + WebKitWebDriver), and wait on
//! conditions with deadlines, never on fixed sleeps.
//!
//! The browser and window suites are `#[ignore]`d in a plain `cargo test`, because they need the
//! web build and the drivers; `cargo xtask test` builds those and runs them with `--ignored`.

use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use espresso_server::Server;
use espresso_server::config::ServeConfig;
use fantoccini::{Client as WebDriver, ClientBuilder, Locator};

/// How long an e2e step may take before the test fails with the last thing it saw.
pub const STEP_DEADLINE: Duration = Duration::from_secs(20);

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The web build the server serves: `ESPRESSO_WEB_DIR`, else `<workspace>/dist`.
pub fn web_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("ESPRESSO_WEB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("dist"));
    if !dir.join("index.html").is_file() {
        bail!(
            "no web build at {} (run the e2e tests through `cargo xtask test`, which builds it)",
            dir.display()
        );
    }
    Ok(dir)
}

/// A real Espresso server on a free loopback port with its own database in a temp folder.
pub struct TestServer {
    server: Option<Server>,
    _data: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_at(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Start on a given address (e.g. a port reserved earlier with [`free_port`]).
    pub async fn start_at(addr: SocketAddr) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let db = format!("sqlite://{}", data.path().join("espresso.db").display());
        let mut config = ServeConfig::for_tests(db, web_dir()?);
        config.addr = addr;
        let server = Server::start(config).await?;
        Ok(Self {
            server: Some(server),
            _data: data,
        })
    }

    pub fn url(&self) -> String {
        self.server.as_ref().map(Server::url).unwrap_or_default()
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        match self.server.take() {
            Some(server) => server.stop().await,
            None => Ok(()),
        }
    }
}

/// A port on loopback that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Poll `probe` until it yields `Some`, or fail after `deadline` with `what` and the last value seen.
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let start = Instant::now();
    let mut last_error = None;
    loop {
        match probe().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(error) => last_error = Some(error),
        }
        if start.elapsed() > deadline {
            match last_error {
                Some(error) => bail!("timed out after {deadline:?} waiting for {what}: {error:#}"),
                None => bail!("timed out after {deadline:?} waiting for {what}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait until an element matching `css` has text containing `needle`; returns its whole text.
pub async fn wait_for_text(driver: &WebDriver, css: &str, needle: &str) -> anyhow::Result<String> {
    let start = Instant::now();
    let mut seen = None;
    loop {
        if let Ok(element) = driver.find(Locator::Css(css)).await {
            let text = element.text().await?;
            if text.contains(needle) {
                return Ok(text);
            }
            seen = Some(text);
        }
        if start.elapsed() > STEP_DEADLINE {
            bail!(
                "timed out after {STEP_DEADLINE:?} waiting for {css:?} to contain {needle:?}; last text seen: {seen:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A WebDriver server process (chromedriver or tauri-driver), killed on drop.
pub struct DriverProcess {
    child: Child,
    pub port: u16,
}

impl DriverProcess {
    /// Spawn `command` (which must listen on `port`) and wait until the port accepts connections.
    pub async fn spawn(mut command: Command, port: u16) -> anyhow::Result<Self> {
        let program = format!("{:?}", command.get_program());
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {program}"))?;
        let mut driver = Self { child, port };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = &mut driver.child;
        wait_for(
            &format!("{program} to listen on {addr}"),
            STEP_DEADLINE,
            || {
                let exited = child.try_wait().ok().flatten();
                let program = program.clone();
                async move {
                    if let Some(status) = exited {
                        bail!("{program} exited early: {status}");
                    }
                    Ok(
                        TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                            .ok()
                            .map(|_| ()),
                    )
                }
            },
        )
        .await?;
        Ok(driver)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headless Chromium through chromedriver, with a fresh profile and a given window size.
pub struct Browser {
    pub driver: WebDriver,
    _chromedriver: DriverProcess,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start(width: u32, height: u32) -> anyhow::Result<Self> {
        let port = free_port()?;
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let mut command = Command::new(chromedriver);
        command.arg(format!("--port={port}"));
        let process = DriverProcess::spawn(command, port).await?;
        let profile = tempfile::tempdir()?;
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    // Never the desktop keyring: the keyring suite owns it.
                    "--password-store=basic",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let driver = connect(&process.url(), caps).await?;
        Ok(Self {
            driver,
            _chromedriver: process,
            _profile: profile,
        })
    }

    /// Save a PNG of the page (for people to look at; tests assert on the DOM).
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        save_screenshot(&self.driver, name).await
    }

    pub async fn close(self) -> anyhow::Result<()> {
        self.driver.close().await?;
        Ok(())
    }
}

/// Connect a WebDriver client with `caps`.
pub async fn connect(url: &str, caps: serde_json::Value) -> anyhow::Result<WebDriver> {
    let serde_json::Value::Object(caps) = caps else {
        bail!("capabilities must be a JSON object");
    };
    ClientBuilder::native()
        .capabilities(caps.into_iter().collect())
        .connect(url)
        .await
        .with_context(|| format!("cannot open a WebDriver session at {url}"))
}

/// Where screenshots go: `ESPRESSO_SCREENSHOT_DIR`, else `<target>/screenshots`.
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("ESPRESSO_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("espresso-screenshots"))
}

pub async fn save_screenshot(driver: &WebDriver, name: &str) -> anyhow::Result<PathBuf> {
    let png = driver.screenshot().await?;
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png)?;
    Ok(path)
}
