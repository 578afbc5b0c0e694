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
use espresso_core::Client;
use espresso_core::protocol::{Role, ShopId};
use espresso_robot::mailbox;
use espresso_server::Server;
use espresso_server::config::ServeConfig;
use fantoccini::{Client as WebDriver, ClientBuilder, Locator};

pub mod push_service;

/// A `POST /session/{id}/…` of Chromium's own (chromedriver), sent with `WebDriver::issue_cmd`.
#[derive(Debug)]
pub struct ChromiumCommand {
    path: &'static str,
    body: serde_json::Value,
}

impl ChromiumCommand {
    /// One DevTools protocol command (its name and parameters) on the page chromedriver drives.
    pub fn cdp(command: &str, params: serde_json::Value) -> Self {
        Self {
            path: "goog/cdp/execute",
            body: serde_json::json!({ "cmd": command, "params": params }),
        }
    }

    /// Throttle the browser's network (latency, throughput, offline).
    pub fn network_conditions(conditions: serde_json::Value) -> Self {
        Self {
            path: "chromium/network_conditions",
            body: serde_json::json!({ "network_conditions": conditions }),
        }
    }
}

impl fantoccini::wd::WebDriverCompatibleCommand for ChromiumCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// The shop's order with this number, as the barista sees it (waited for).
pub async fn order_numbered(
    barista: &Client,
    number: u32,
) -> anyhow::Result<espresso_core::protocol::Order> {
    wait_for(
        &format!("order #{number} on the bar"),
        STEP_DEADLINE,
        || async {
            let orders = barista.orders(&ShopId::main(), &[], None).await?;
            Ok(orders.into_iter().find(|o| o.number == Some(number)))
        },
    )
    .await
}

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

/// A real Espresso server on a free loopback port with its own database and mail folder
/// (`dir:` mailer) in a temp folder; the booth codes' `order_url` points at it.
pub struct TestServer {
    server: Option<Server>,
    addr: SocketAddr,
    data: tempfile::TempDir,
    /// Changes the tests made to the configuration, kept for restarts.
    configure: fn(&mut ServeConfig),
}

impl TestServer {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// Start with a configuration `configure` may change (e.g. another mailer).
    pub async fn start_with(configure: fn(&mut ServeConfig)) -> anyhow::Result<Self> {
        let port = free_port()?;
        Self::start_at_with(SocketAddr::from(([127, 0, 0, 1], port)), configure).await
    }

    /// Start on a given address (e.g. a port reserved earlier with [`free_port`]).
    pub async fn start_at(addr: SocketAddr) -> anyhow::Result<Self> {
        Self::start_at_with(addr, |_| {}).await
    }

    async fn start_at_with(
        addr: SocketAddr,
        configure: fn(&mut ServeConfig),
    ) -> anyhow::Result<Self> {
        let mut test = Self {
            server: None,
            addr,
            data: tempfile::tempdir()?,
            configure,
        };
        test.start_again().await?;
        Ok(test)
    }

    fn config(&self) -> anyhow::Result<ServeConfig> {
        let db = format!(
            "sqlite://{}",
            self.data.path().join("espresso.db").display()
        );
        let mut config = ServeConfig::for_tests(db, web_dir()?);
        config.addr = self.addr;
        config.public_url = format!("http://{}", self.addr);
        config.mailer = format!("dir:{}", self.mail_dir().display());
        (self.configure)(&mut config);
        Ok(config)
    }

    /// Start a stopped server again: same address, database and mail folder (pages that were
    /// open reconnect to it).
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        let config = self.config()?;
        // The port was just released by the stopped server; give the OS a moment if needed.
        let mut tries = 0;
        loop {
            match Server::start(config.clone()).await {
                Ok(server) => {
                    self.server = Some(server);
                    return Ok(());
                }
                Err(error) if tries < 50 => {
                    tries += 1;
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Stop the server (gracefully: live sockets are closed) but keep its data for
    /// [`Self::start_again`].
    pub async fn stop_for_now(&mut self) -> anyhow::Result<()> {
        match self.server.take() {
            Some(server) => server.stop().await,
            None => Ok(()),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.data.path().join("mail")
    }

    /// The server's own store, for arranging what the API cannot (the first admin).
    pub fn store(&self) -> anyhow::Result<&espresso_server::store::Store> {
        match &self.server {
            Some(server) => Ok(server.store()),
            None => bail!("the server is stopped"),
        }
    }

    /// Give `email` these roles straight in the database (creating the user).
    pub async fn grant(&self, email: &str, roles: &[Role]) -> anyhow::Result<()> {
        let now = chrono::Utc::now();
        self.store()?.ensure_user(email, now).await?;
        for role in roles {
            self.store()?.grant(email, *role, now).await?;
        }
        Ok(())
    }

    /// The names of the mails sent to `email` so far, oldest first (the order robot's
    /// [`mailbox`](espresso_robot::mailbox), which reads codes the same way).
    pub fn mails_to(&self, email: &str) -> Vec<PathBuf> {
        mailbox::mails_to(&self.mail_dir(), email)
    }

    /// Wait for a mail to `email` beyond the first `seen` ones and return its 6-digit code.
    pub async fn code_after(&self, email: &str, seen: usize) -> anyhow::Result<String> {
        Ok(mailbox::wait_for_code(&self.mail_dir(), email, seen, STEP_DEADLINE).await?)
    }

    /// The link holding `param` (e.g. `signin=`, `otp=`) in the newest mail to `email` that has
    /// one, waiting for it with the step deadline.
    pub async fn mailed_link(&self, email: &str, param: &str) -> anyhow::Result<String> {
        wait_for(
            &format!("a mail to {email} with a {param} link"),
            STEP_DEADLINE,
            || async {
                for path in self.mails_to(email).iter().rev() {
                    let mail = std::fs::read_to_string(path)?;
                    let link = mail.lines().map(str::trim).find(|line| {
                        line.starts_with("http") && line.contains(&format!("&{param}"))
                    });
                    if let Some(link) = link {
                        return Ok(Some(link.to_owned()));
                    }
                }
                Ok(None)
            },
        )
        .await
    }

    /// A native client of this server (the same core the apps use), signed out.
    pub fn client(&self) -> anyhow::Result<Client> {
        Ok(Client::new(&self.url())?)
    }

    /// A client signed in as `email` with `roles` (granted first), through the real
    /// one-time-code flow.
    pub async fn sign_in(&self, email: &str, roles: &[Role]) -> anyhow::Result<Client> {
        if !roles.is_empty() {
            self.grant(email, roles).await?;
        }
        let client = self.client()?;
        let seen = self.mails_to(email).len();
        let challenge = client.request_code(email).await?;
        let code = self.code_after(email, seen).await?;
        client.verify_code(&challenge.challenge_id, &code).await?;
        Ok(client)
    }

    /// An admin client, with the shop `main` open.
    pub async fn open_shop(&self) -> anyhow::Result<Client> {
        let admin = self.sign_in("owner@espresso.test", &[Role::Admin]).await?;
        admin.set_shop_open(&ShopId::main(), true).await?;
        Ok(admin)
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.stop_for_now().await
    }
}

/// The 6-digit line of a mail the `dir:` mailer wrote.
pub use espresso_robot::mailbox::code_in;

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

/// Wait until an element matching `css` is on the page (and return it).
pub async fn wait_for_element(
    driver: &WebDriver,
    css: &str,
) -> anyhow::Result<fantoccini::elements::Element> {
    wait_for(&format!("{css:?} on the page"), STEP_DEADLINE, || async {
        Ok(driver.find(Locator::Css(css)).await.ok())
    })
    .await
}

/// Wait until no element matches `css`.
pub async fn wait_until_gone(driver: &WebDriver, css: &str) -> anyhow::Result<()> {
    wait_for(
        &format!("{css:?} to leave the page"),
        STEP_DEADLINE,
        || async {
            Ok(driver
                .find_all(Locator::Css(css))
                .await?
                .is_empty()
                .then_some(()))
        },
    )
    .await
}

/// Click the element matching `css` once it is there and enabled. Found and clicked in one go,
/// again if the page redrew it in between (the app taking over from the page's own first
/// screen, a live update).
pub async fn click(driver: &WebDriver, css: &str) -> anyhow::Result<()> {
    wait_for(
        &format!("{css:?} to be clickable"),
        STEP_DEADLINE,
        || async {
            match driver.find(Locator::Css(css)).await {
                Ok(element) if element.is_enabled().await.unwrap_or(false) => {
                    Ok(by::press(driver, element).await.ok())
                }
                _ => Ok(None),
            }
        },
    )
    .await
}

/// Type `text` into the field matching `css` (after clearing it); again from the start if the
/// page redrew the field meanwhile (the app taking over from the page's own first screen).
pub async fn fill(driver: &WebDriver, css: &str, text: &str) -> anyhow::Result<()> {
    wait_for(
        &format!("{css:?} to take {text:?}"),
        STEP_DEADLINE,
        || async {
            let Ok(element) = driver.find(Locator::Css(css)).await else {
                return Ok(None);
            };
            if element.clear().await.is_err() || element.send_keys(text).await.is_err() {
                return Ok(None);
            }
            Ok(Some(()))
        },
    )
    .await
}

/// Sign in on the page shown (the shared sign-in form): type `email`, ask for a code, read it
/// from the server's mail folder and type it; the form signs in at the sixth digit.
pub async fn sign_in_on_page(
    driver: &WebDriver,
    server: &TestServer,
    email: &str,
) -> anyhow::Result<()> {
    let seen = server.mails_to(email).len();
    fill(driver, "[data-testid=email]", email).await?;
    click(driver, "[data-testid=send-code]").await?;
    let code = server.code_after(email, seen).await?;
    fill(driver, "[data-testid=otp]", &code).await?;
    wait_until_gone(driver, "[data-testid=otp]").await
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
        Self::start_in(width, height, &[], None).await
    }

    /// [`Self::start`] with more of Chromium's switches, e.g. `--force-prefers-reduced-motion`
    /// for a person who asked their system for less motion.
    pub async fn start_with(width: u32, height: u32, switches: &[&str]) -> anyhow::Result<Self> {
        Self::start_in(width, height, switches, None).await
    }

    /// A browser whose person reads `language` (a BCP 47 tag such as `pt-BR`): Chromium's UI
    /// language and its Accept-Language list (`navigator.languages`) say so.
    pub async fn start_in_language(
        width: u32,
        height: u32,
        language: &str,
    ) -> anyhow::Result<Self> {
        Self::start_in(width, height, &[], Some(language)).await
    }

    async fn start_in(
        width: u32,
        height: u32,
        switches: &[&str],
        language: Option<&str>,
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let mut command = Command::new(chromedriver);
        command.arg(format!("--port={port}"));
        let process = DriverProcess::spawn(command, port).await?;
        let profile = tempfile::tempdir()?;
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Never the desktop keyring: the keyring suite owns it.
            "--password-store=basic",
        ]
        .map(str::to_owned)
        .into();
        args.push(format!("--window-size={width},{height}"));
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.extend(switches.iter().map(|switch| (*switch).to_owned()));
        let mut prefs = serde_json::json!({
            // Downloads land in the profile, where `Browser::downloads` looks.
            "download.default_directory": profile.path().join("downloads"),
            "download.prompt_for_download": false,
        });
        if let Some(language) = language {
            args.push(format!("--lang={language}"));
            let primary = language.split('-').next().unwrap_or(language);
            prefs["intl.accept_languages"] = format!("{language},{primary}").into();
        }
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
                "prefs": prefs,
            }
        });
        let driver = connect(&process.url(), caps).await?;
        // `--window-size` sizes the window, not the page: make the page itself width×height,
        // the size the screenshots are named after.
        set_viewport(&driver, width, height).await?;
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

    /// Where this browser's downloads land.
    pub fn downloads(&self) -> PathBuf {
        self._profile.path().join("downloads")
    }

    pub async fn close(self) -> anyhow::Result<()> {
        self.driver.close().await?;
        Ok(())
    }
}

/// Resize the window so that the page (the viewport) is exactly `width`×`height`.
pub async fn set_viewport(driver: &WebDriver, width: u32, height: u32) -> anyhow::Result<()> {
    let frame = driver
        .execute(
            "return [outerWidth - innerWidth, outerHeight - innerHeight];",
            vec![],
        )
        .await?;
    let frame: Vec<u32> = serde_json::from_value(frame).unwrap_or_default();
    let (dw, dh) = (
        frame.first().copied().unwrap_or(0),
        frame.get(1).copied().unwrap_or(0),
    );
    driver.set_window_size(width + dw, height + dh).await?;
    wait_for(
        &format!("a {width}×{height} viewport"),
        STEP_DEADLINE,
        || async {
            let size = driver
                .execute("return [innerWidth, innerHeight];", vec![])
                .await?;
            let size: Vec<u32> = serde_json::from_value(size)?;
            Ok((size == [width, height]).then_some(()))
        },
    )
    .await
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

/// Finding things as a person or a screen reader does: by role, accessible label and visible
/// text (XPath over the page), never by CSS class or test id. Each waits for its element with
/// the step deadline.
pub mod by {
    use fantoccini::elements::Element;

    use super::*;

    /// An XPath string literal for `text`, whatever quotes it holds.
    pub fn literal(text: &str) -> String {
        if !text.contains('"') {
            format!("\"{text}\"")
        } else if !text.contains('\'') {
            format!("'{text}'")
        } else {
            let parts: Vec<String> = text.split('"').map(|p| format!("\"{p}\"")).collect();
            format!("concat({})", parts.join(", '\"', "))
        }
    }

    /// Wait for the element at `xpath`.
    pub async fn xpath(driver: &WebDriver, what: &str, xpath: &str) -> anyhow::Result<Element> {
        wait_for(what, STEP_DEADLINE, || async {
            Ok(driver.find(Locator::XPath(xpath)).await.ok())
        })
        .await
    }

    /// The text field, select or checkbox labelled `label` (its `<label>`'s text, or
    /// `aria-label`).
    pub async fn field(driver: &WebDriver, label: &str) -> anyhow::Result<Element> {
        let l = literal(label);
        let xpath = format!(
            "//label[.//*[normalize-space()={l}] or normalize-space()={l}]//*[self::input or self::select or self::textarea] \
             | //*[self::input or self::select or self::textarea][@aria-label={l}]"
        );
        self::xpath(driver, &format!("a field labelled {label:?}"), &xpath).await
    }

    /// Whether a field labelled `label` is on the page now (no wait: call it once the screen it
    /// must not be on has shown).
    pub async fn field_shown(driver: &WebDriver, label: &str) -> anyhow::Result<bool> {
        let l = literal(label);
        let xpath = format!(
            "//label[.//*[normalize-space()={l}] or normalize-space()={l}]//*[self::input or self::select or self::textarea] \
             | //*[self::input or self::select or self::textarea][@aria-label={l}]"
        );
        Ok(!driver.find_all(Locator::XPath(&xpath)).await?.is_empty())
    }

    /// The button that says `text` (or is labelled so).
    pub async fn button(driver: &WebDriver, text: &str) -> anyhow::Result<Element> {
        let l = literal(text);
        let xpath = format!("//button[normalize-space()={l} or @aria-label={l}]");
        self::xpath(driver, &format!("a button {text:?}"), &xpath).await
    }

    /// The heading that says `text`.
    pub async fn heading(driver: &WebDriver, text: &str) -> anyhow::Result<Element> {
        let xpath = format!(
            "//*[self::h1 or self::h2 or self::h3 or self::h4 or @role='heading'][normalize-space()={}]",
            literal(text)
        );
        self::xpath(driver, &format!("a heading {text:?}"), &xpath).await
    }

    /// The tab named `name`.
    pub async fn tab(driver: &WebDriver, name: &str) -> anyhow::Result<Element> {
        let xpath = format!("//*[@role='tab'][normalize-space()={}]", literal(name));
        self::xpath(driver, &format!("a tab {name:?}"), &xpath).await
    }

    /// The link that says `text`.
    pub async fn link(driver: &WebDriver, text: &str) -> anyhow::Result<Element> {
        let xpath = format!("//a[normalize-space()={}]", literal(text));
        self::xpath(driver, &format!("a link {text:?}"), &xpath).await
    }

    /// The list item (or other element) labelled `label`, e.g. a drink on a menu.
    pub async fn labelled(driver: &WebDriver, label: &str) -> anyhow::Result<Element> {
        let xpath = format!("//*[@aria-label={}]", literal(label));
        self::xpath(driver, &format!("something labelled {label:?}"), &xpath).await
    }

    /// Wait until a status line (`role=status` or `alert`) says something containing `needle`;
    /// returns its text.
    pub async fn status(driver: &WebDriver, needle: &str) -> anyhow::Result<String> {
        let xpath = format!(
            "//*[(@role='status' or @role='alert') and contains(normalize-space(), {})]",
            literal(needle)
        );
        // Found and read in one go: the page may redraw between the two.
        wait_for(
            &format!("a status saying {needle:?}"),
            STEP_DEADLINE,
            || async {
                match driver.find(Locator::XPath(&xpath)).await {
                    Ok(element) => Ok(element.text().await.ok()),
                    Err(_) => Ok(None),
                }
            },
        )
        .await
    }

    /// Wait until the page shows `needle` somewhere in its text.
    pub async fn text(driver: &WebDriver, needle: &str) -> anyhow::Result<()> {
        let xpath = format!("//body[contains(normalize-space(), {})]", literal(needle));
        self::xpath(driver, &format!("the page to say {needle:?}"), &xpath)
            .await
            .map(drop)
    }

    /// Press the button that says `text` once it is there and enabled, as a person would. Found
    /// and pressed in one go, again if the page redrew it in between (a live update).
    pub async fn press_button(driver: &WebDriver, text: &str) -> anyhow::Result<()> {
        let l = literal(text);
        let xpath = format!("//button[normalize-space()={l} or @aria-label={l}]");
        wait_for(
            &format!("a button {text:?} to press"),
            STEP_DEADLINE,
            || async {
                let Ok(element) = driver.find(Locator::XPath(&xpath)).await else {
                    return Ok(None);
                };
                if !element.is_enabled().await.unwrap_or(false) {
                    return Ok(None);
                }
                Ok(press(driver, element).await.ok())
            },
        )
        .await
    }

    /// Scroll `element` to the top of the screen (before a screenshot of it).
    pub async fn show(driver: &WebDriver, element: &Element) -> anyhow::Result<()> {
        driver
            .execute(
                "arguments[0].scrollIntoView({block: 'start'});",
                vec![serde_json::to_value(element)?],
            )
            .await?;
        Ok(())
    }

    /// Press `element` as a person would: scrolled into the middle of the screen first (a
    /// sticky bar may cover the edges).
    pub async fn press(driver: &WebDriver, element: Element) -> anyhow::Result<()> {
        driver
            .execute(
                "arguments[0].scrollIntoView({block: 'center', inline: 'center'});",
                vec![serde_json::to_value(&element)?],
            )
            .await?;
        element.click().await?;
        Ok(())
    }

    /// The element with the keyboard focus in words: `tag|role|label|text` (its `aria-label`
    /// or `<label>`'s text, and its own text), `""` when nothing has it.
    pub async fn focused(driver: &WebDriver) -> anyhow::Result<String> {
        let described = driver
            .execute(
                r#"const e = document.activeElement;
                   if (!e || e === document.body) return '';
                   const label = e.getAttribute('aria-label')
                       || (e.labels && e.labels.length ? e.labels[0].innerText : '') || '';
                   return [e.tagName.toLowerCase(), e.getAttribute('role') || '',
                           label.replace(/\s+/g, ' ').trim(),
                           (e.innerText || '').replace(/\s+/g, ' ').trim()].join('|');"#,
                vec![],
            )
            .await?;
        Ok(described.as_str().unwrap_or_default().to_owned())
    }

    /// Wait until the keyboard focus is on something whose label or text contains `needle`
    /// (see [`focused`]); returns its description.
    pub async fn focus_on(driver: &WebDriver, needle: &str) -> anyhow::Result<String> {
        let last = std::cell::RefCell::new(String::new());
        let found = wait_for(
            &format!("the focus on {needle:?}"),
            STEP_DEADLINE,
            || async {
                let now = focused(driver).await?;
                let hit = now.split('|').skip(2).any(|part| part.contains(needle));
                last.replace(now.clone());
                Ok(hit.then_some(now))
            },
        )
        .await;
        found.with_context(|| format!("the focus was on {:?}", last.borrow()))
    }

    /// Type `keys` (text or [`fantoccini::key::Key`]s) into whatever has the focus, as a
    /// keyboard would.
    pub async fn keys(driver: &WebDriver, keys: &str) -> anyhow::Result<()> {
        driver.active_element().await?.send_keys(keys).await?;
        Ok(())
    }

    /// Clear the field labelled `label` and type `text` into it; again from the start if the
    /// page redrew the field meanwhile (the app taking over from the page's own first screen).
    pub async fn type_into(driver: &WebDriver, label: &str, text: &str) -> anyhow::Result<()> {
        let l = literal(label);
        let xpath = format!(
            "//label[.//*[normalize-space()={l}] or normalize-space()={l}]//*[self::input or self::select or self::textarea] \
             | //*[self::input or self::select or self::textarea][@aria-label={l}]"
        );
        wait_for(
            &format!("a field labelled {label:?} to take {text:?}"),
            STEP_DEADLINE,
            || async {
                let Ok(element) = driver.find(Locator::XPath(&xpath)).await else {
                    return Ok(None);
                };
                if element.clear().await.is_err() || element.send_keys(text).await.is_err() {
                    return Ok(None);
                }
                Ok(Some(()))
            },
        )
        .await
    }
}

/// Accessibility checks with axe-core (npm, pinned in package.json and installed by
/// `cargo xtask setup`): injected into the page through WebDriver and run on the whole page
/// against WCAG 2.0–2.2 A/AA and axe's best practices. Zero violations of any impact pass.
/// `ESPRESSO_AXE_SURVEY=1` lists the violations of every screen on stderr instead of failing at
/// the first (for fixing many at once; never set in `cargo xtask test`).
pub mod axe {
    use std::sync::OnceLock;

    use super::*;

    /// The rule sets run: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices.
    pub const TAGS: &[&str] = &[
        "wcag2a",
        "wcag2aa",
        "wcag21a",
        "wcag21aa",
        "wcag22a",
        "wcag22aa",
        "best-practice",
    ];

    /// How long a screen may take to settle (a transition ending, a live update landing) before
    /// its last violations are reported.
    const SETTLE: Duration = Duration::from_secs(3);

    /// `ESPRESSO_AXE_JS`, else `<workspace>/node_modules/axe-core/axe.min.js`.
    pub fn script_path() -> PathBuf {
        std::env::var_os("ESPRESSO_AXE_JS")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("node_modules/axe-core/axe.min.js"))
    }

    fn source() -> anyhow::Result<&'static str> {
        static SOURCE: OnceLock<Result<String, String>> = OnceLock::new();
        let source = SOURCE.get_or_init(|| {
            let path = script_path();
            std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "cannot read axe-core at {}: {e} (run `cargo xtask setup`, which installs the \
                     npm tools of package.json, or set ESPRESSO_AXE_JS)",
                    path.display()
                )
            })
        });
        match source {
            Ok(source) => Ok(source),
            Err(why) => bail!("{why}"),
        }
    }

    /// One failed rule with the elements that fail it.
    #[derive(Debug, Clone)]
    pub struct Violation {
        pub rule: String,
        pub impact: String,
        pub help: String,
        /// Each element: its CSS path, its HTML (shortened) and what to fix.
        pub nodes: Vec<(String, String, String)>,
    }

    impl std::fmt::Display for Violation {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            writeln!(f, "- {} ({}): {}", self.rule, self.impact, self.help)?;
            for (target, html, fix) in &self.nodes {
                writeln!(f, "    at {target}: {html}")?;
                for line in fix.lines().filter(|l| !l.trim().is_empty()) {
                    writeln!(f, "      {}", line.trim())?;
                }
            }
            Ok(())
        }
    }

    const RUN: &str = r#"
        const [tags, done] = [arguments[0], arguments[arguments.length - 1]];
        axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
            .then(result => done(result.violations.map(v => ({
                rule: v.id,
                impact: v.impact || 'unknown',
                help: v.help,
                nodes: v.nodes.map(n => [
                    n.target.map(String).join(' '),
                    n.html.length > 240 ? n.html.slice(0, 240) + '…' : n.html,
                    n.failureSummary || '',
                ]),
            }))))
            .catch(error => done({ error: String(error) }));
    "#;

    /// Each screen has exactly one `h1` (axe's own rule lets a page that looks like an open
    /// modal pass without one): its absence, or a second, is reported as a violation.
    async fn one_h1(driver: &WebDriver) -> anyhow::Result<Option<Violation>> {
        let found = driver
            .execute(
                "return [...document.querySelectorAll('h1')].map(h => h.outerHTML.slice(0, 240));",
                vec![],
            )
            .await?;
        let found: Vec<String> = serde_json::from_value(found).unwrap_or_default();
        if found.len() == 1 {
            return Ok(None);
        }
        Ok(Some(Violation {
            rule: "one-h1 (espresso)".into(),
            impact: "moderate".into(),
            help: format!(
                "A screen has one level-one heading; this one has {}",
                found.len()
            ),
            nodes: found
                .into_iter()
                .map(|html| ("h1".to_owned(), html, String::new()))
                .collect(),
        }))
    }

    /// Run axe once on the page as it is now and return its violations.
    pub async fn violations(driver: &WebDriver) -> anyhow::Result<Vec<Violation>> {
        let loaded = driver
            .execute("return typeof window.axe === 'object';", vec![])
            .await?;
        if loaded != serde_json::Value::Bool(true) {
            // The script runs in the page through WebDriver (not a <script> element), so the
            // page's Content-Security-Policy does not stand in its way.
            driver
                .execute(&format!("{}\nreturn true;", source()?), vec![])
                .await
                .context("injecting axe-core")?;
        }
        let result = driver
            .execute_async(RUN, vec![serde_json::json!(TAGS)])
            .await
            .context("running axe-core")?;
        if let Some(error) = result.get("error") {
            bail!("axe-core failed: {error}");
        }
        let list = result.as_array().cloned().unwrap_or_default();
        Ok(list
            .into_iter()
            .map(|v| Violation {
                rule: v["rule"].as_str().unwrap_or_default().to_owned(),
                impact: v["impact"].as_str().unwrap_or_default().to_owned(),
                help: v["help"].as_str().unwrap_or_default().to_owned(),
                nodes: v["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|n| {
                        let s = |i: usize| n[i].as_str().unwrap_or_default().to_owned();
                        (s(0), s(1), s(2))
                    })
                    .collect(),
            })
            .collect())
    }

    /// Check the screen shown: no axe violation of any impact. A screen still settling gets a
    /// few seconds; then the test fails with the list of violations (rule, impact, elements).
    pub async fn check(driver: &WebDriver, screen: &str) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            let mut found = violations(driver).await?;
            found.extend(one_h1(driver).await?);
            if found.is_empty() {
                if std::env::var_os("ESPRESSO_AXE_SURVEY").is_some() {
                    eprintln!("axe survey: {screen:?}: no violation");
                }
                return Ok(());
            }
            if start.elapsed() > SETTLE {
                let list: String = found.iter().map(ToString::to_string).collect();
                if std::env::var_os("ESPRESSO_AXE_SURVEY").is_some() {
                    // A survey of every screen at once (fixing many): said, not failed.
                    eprintln!("axe survey: {screen:?}:\n{list}");
                    return Ok(());
                }
                bail!(
                    "axe: {} violation(s) on the screen {screen:?} ({}):\n{list}",
                    found.len(),
                    driver
                        .current_url()
                        .await
                        .map(|u| u.to_string())
                        .unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
