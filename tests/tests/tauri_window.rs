//! The real Tauri window under a virtual display, driven by tauri-driver + WebKitWebDriver.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use espresso_core::StaffAction;
use espresso_core::calls::{Call, NotifyPermission, Reply, command};
use espresso_core::protocol::{DrinkChoice, NewShop, OrderState, Role, ShopId};
use espresso_tests::{
    DriverProcess, STEP_DEADLINE, TestServer, by, click, connect, fill, free_port, save_screenshot,
    sign_in_on_page, wait_for, wait_for_element, wait_for_text,
};
use fantoccini::{Client as WebDriver, Locator};

fn required_path(var: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .with_context(|| format!("{var} is not set (run through `cargo xtask test`)"))?;
    anyhow::ensure!(path.exists(), "{var}={} does not exist", path.display());
    Ok(path)
}

#[tokio::test]
#[ignore = "needs the app binary, tauri-driver and a display: run through `cargo xtask test`"]
async fn the_window_checks_the_server_through_the_native_core_on_click() -> anyhow::Result<()> {
    let _one_window = ONE_WINDOW.lock().await;
    let app = required_path("ESPRESSO_APP_BIN")?;
    let tauri_driver = required_path("TAURI_DRIVER")?;

    // The app starts while its server is still down, so the first check must fail visibly.
    let server_port = free_port()?;
    let server_url = format!("http://127.0.0.1:{server_port}");
    let (port, native_port) = (free_port()?, free_port()?);
    let mut command = Command::new(tauri_driver);
    command
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .env("ESPRESSO_SERVER_URL", &server_url);
    let driver_process = DriverProcess::spawn(command, port).await?;
    let caps = serde_json::json!({
        "browserName": "wry",
        "tauri:options": { "application": app }
    });
    let window = connect(&driver_process.url(), caps).await?;

    let down = wait_for_text(&window, "[data-testid=server-status]", "Server unreachable").await?;
    assert!(down.contains("cannot reach"), "{down}");

    let server = TestServer::start_at(SocketAddr::from(([127, 0, 0, 1], server_port))).await?;
    window
        .find(Locator::Css("[data-testid=check-server]"))
        .await?
        .click()
        .await?;
    let up = wait_for_text(&window, "[data-testid=server-status]", "Server ok").await?;
    assert!(
        up.contains("via app"),
        "the window must use the native core: {up}"
    );
    assert!(up.contains(env!("CARGO_PKG_VERSION")), "{up}");
    screenshot(&window, "skeleton-tauri-window").await?;

    window.close().await?;
    server.stop().await
}

/// A screenshot of the window once it has painted what the DOM already says (WebKit's capture
/// can lag a frame behind: the assertions are on the DOM, the picture is for people).
async fn screenshot(window: &WebDriver, name: &str) -> anyhow::Result<()> {
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    save_screenshot(window, name).await?;
    Ok(())
}

/// One window at a time: they share the virtual display (and the display app takes all of it).
static ONE_WINDOW: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Start the app (through tauri-driver) with these environment variables; the driver process
/// must outlive the session.
async fn open_app(env: &[(&str, &str)]) -> anyhow::Result<(DriverProcess, WebDriver)> {
    open_app_with(env, &[]).await
}

/// Start the app with these environment variables and command-line arguments.
async fn open_app_with(
    env: &[(&str, &str)],
    args: &[&str],
) -> anyhow::Result<(DriverProcess, WebDriver)> {
    let app = required_path("ESPRESSO_APP_BIN")?;
    let tauri_driver = required_path("TAURI_DRIVER")?;
    let (port, native_port) = (free_port()?, free_port()?);
    let mut command = Command::new(tauri_driver);
    command.args([
        "--port",
        &port.to_string(),
        "--native-port",
        &native_port.to_string(),
    ]);
    for (key, value) in env {
        command.env(key, value);
    }
    let driver_process = DriverProcess::spawn(command, port).await?;
    let caps = serde_json::json!({
        "browserName": "wry",
        "tauri:options": { "application": app, "args": args }
    });
    let window = connect(&driver_process.url(), caps).await?;
    Ok((driver_process, window))
}

/// The system notifications the apps send, as seen on the session bus (`dbus-monitor`): the
/// test machine runs no notification daemon, but the `Notify` calls still cross the bus.
/// `None` where there is no session bus to watch (then notifications cannot be checked).
struct NotificationWatch {
    monitor: std::process::Child,
    seen: Arc<Mutex<String>>,
}

impl NotificationWatch {
    async fn start() -> anyhow::Result<Option<Self>> {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            eprintln!("no D-Bus session bus: system notifications are not checked");
            return Ok(None);
        }
        let mut monitor = Command::new("dbus-monitor")
            .args([
                "--session",
                "type=method_call,interface=org.freedesktop.Notifications,member=Notify",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("dbus-monitor (package dbus-bin) is needed to watch notifications")?;
        let seen = Arc::new(Mutex::new(String::new()));
        let stdout = monitor.stdout.take().context("dbus-monitor's output")?;
        let sink = Arc::clone(&seen);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(mut seen) = sink.lock() {
                    seen.push_str(&line);
                    seen.push('\n');
                }
            }
        });
        // Give the monitor a moment to be registered with the bus.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        Ok(Some(Self { monitor, seen }))
    }

    /// Wait until a notification with this text went out.
    async fn wait_for(&self, text: &str) -> anyhow::Result<()> {
        let needle = format!("string \"{text}\"");
        wait_for(
            &format!("a system notification {text:?}"),
            STEP_DEADLINE,
            || async {
                let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
                Ok(seen.contains(&needle).then_some(()))
            },
        )
        .await
    }
}

impl Drop for NotificationWatch {
    fn drop(&mut self) {
        let _ = self.monitor.kill();
        let _ = self.monitor.wait();
    }
}

/// Run a command of the shell from the page, as the UI does; its answer or its error.
async fn invoke(
    window: &WebDriver,
    command: &str,
    args: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let answer = window
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI__.core.invoke(arguments[0], arguments[1])
               .then(value => done({ ok: value === undefined ? null : value }),
                     error => done({ error: String(JSON.stringify(error)) }));",
            vec![serde_json::json!(command), args],
        )
        .await?;
    match answer.get("error") {
        Some(error) => anyhow::bail!("{command} failed: {error}"),
        None => Ok(answer.get("ok").cloned().unwrap_or_default()),
    }
}

/// Answer one app call through the shell's one command, as the UI does.
async fn call(window: &WebDriver, call: Call) -> anyhow::Result<Reply> {
    let name = call.name();
    let answer = invoke(window, command::CALL, serde_json::json!({ "call": call })).await?;
    serde_json::from_value(answer).with_context(|| format!("the answer to {name}"))
}

/// The card of order `number` in a barista column.
fn card_in(column: &str, number: u32) -> String {
    format!("[data-testid=col-{column}] [data-testid=order-card][data-number=\"{number}\"]")
}

#[tokio::test]
#[ignore = "needs the app binary, tauri-driver and a display: run through `cargo xtask test`"]
async fn the_barista_app_signs_in_works_an_order_live_and_comes_back_signed_in()
-> anyhow::Result<()> {
    let _one_window = ONE_WINDOW.lock().await;
    let server = TestServer::start().await?;
    let admin = server.open_shop().await?;
    let email = "tablet@espresso.test";
    server.grant(email, &[Role::Barista]).await?;
    let url = server.url();
    let env = [
        ("ESPRESSO_SERVER_URL", url.as_str()),
        ("ESPRESSO_FLAVOUR", "barista"),
    ];

    let notifications = NotificationWatch::start().await?;

    // The tablet app opens on the barista's sign-in; the code comes by mail.
    let (driver_process, window) = open_app(&env).await?;
    wait_for_text(&window, "#sign-in-title", "").await?;
    sign_in_on_page(&window, &server, email).await?;
    wait_for_element(&window, "[data-testid=barista-board]").await?;
    wait_for_text(&window, "[data-testid=connection]", "Live").await?;

    // The notification plugin is loaded and the shell's command answers, even where no
    // notification service runs (as here): it logs and goes on.
    assert_eq!(
        call(&window, Call::NotificationPermission {}).await?,
        Reply::NotificationPermission(NotifyPermission::Granted)
    );
    let notify = Call::Notify {
        title: "Espresso window test".into(),
        body: "The plugin is loaded".into(),
    };
    assert_eq!(call(&window, notify).await?, Reply::Notify(()));
    if let Some(watch) = &notifications {
        watch.wait_for("Espresso window test").await?;
    }
    // A new order notifies the barista when the board is not in front (another app has the
    // focus); here the window is made to look that way.
    window
        .execute(
            "Object.defineProperty(document, 'hasFocus', { value: () => false });",
            vec![],
        )
        .await?;

    // A customer orders: the card arrives live through the shell's live stream.
    let customer = server.sign_in("kim@example.com", &[]).await?;
    let code = admin.booth_code(&ShopId::main()).await?.code;
    let drink = DrinkChoice {
        item_id: "espresso".into(),
        options: Default::default(),
    };
    let order = customer
        .start_order(&ShopId::main(), &code, Some(drink))
        .await?;
    let number = order.number.context("a queued order has its number")?;
    wait_for_element(&window, &card_in("queue", number)).await?;
    if let Some(watch) = &notifications {
        watch.wait_for(&format!("New order #{number}")).await?;
    }
    click(
        &window,
        &format!("{} [data-testid=make]", card_in("queue", number)),
    )
    .await?;
    wait_for_element(&window, &card_in("making", number)).await?;
    click(
        &window,
        &format!("{} [data-testid=done]", card_in("making", number)),
    )
    .await?;
    wait_for_element(&window, &card_in("ready", number)).await?;
    let ready = wait_for(
        "the order to be ready on the server",
        STEP_DEADLINE,
        || async {
            let mine = customer.my_orders().await?;
            Ok(mine.into_iter().find(|o| {
                o.id == order.id && o.state == espresso_core::protocol::OrderState::Ready
            }))
        },
    )
    .await?;
    assert_eq!(ready.number, Some(number));
    screenshot(&window, "tauri-barista-1280x800").await?;

    // The tablet restarts: the app comes back signed in (the session is in the OS keyring).
    window.close().await?;
    drop(driver_process);
    let (_driver_process, window) = open_app(&env).await?;
    wait_for_element(&window, &card_in("ready", number)).await?;
    let signed_in = window
        .find_all(Locator::Css("[data-testid=email]"))
        .await?
        .is_empty();
    assert!(signed_in, "the restarted app must not ask to sign in again");

    window.close().await?;
    server.stop().await
}

// The display app (the booth screen) has its own suite, `kiosk.rs`: each test on an X server
// of its own at a monitor size none of the windows has by default, measured from outside the
// app (this suite's shared 1280×800 screen is the display's old default size, where "fills the
// screen" could not fail). It also signs in, shows the board and quits from the hidden settings.

#[tokio::test]
#[ignore = "needs the app binary, tauri-driver and a display: run through `cargo xtask test`"]
async fn first_run_setup_points_the_customer_app_at_the_cafes_server_and_shop_and_keeps_them()
-> anyhow::Result<()> {
    let _one_window = ONE_WINDOW.lock().await;
    let server = TestServer::start().await?;
    add_shop(&server, "pop-up", "Pop-Up Bar").await?;
    let url = server.url();
    // A fresh install: its own data folder, no server configured (the default has no server).
    let data = tempfile::tempdir()?;
    let data_home = data.path().display().to_string();
    let env = [
        ("XDG_DATA_HOME", data_home.as_str()),
        ("ESPRESSO_FLAVOUR", "customer"),
    ];

    let (driver_process, window) = open_app(&env).await?;
    wait_for_text(&window, "[data-testid=server-line]", espresso_app_default()).await?;
    wait_for_text(&window, "[data-testid=server-line-shop]", "main").await?;
    click(&window, "[data-testid=server-change]").await?;
    fill(&window, "[data-testid=server-url]", &url).await?;
    // A shop the server does not have is refused in plain words, and nothing is kept.
    fill(&window, "[data-testid=server-shop]", "nowhere").await?;
    click(&window, "[data-testid=server-save]").await?;
    wait_for_text(
        &window,
        "[data-testid=server-error]",
        "no shop called “nowhere”",
    )
    .await?;
    screenshot(&window, "tauri-customer-setup-unknown-shop").await?;
    fill(&window, "[data-testid=server-shop]", "pop-up").await?;
    click(&window, "[data-testid=server-save]").await?;
    wait_for_text(&window, "[data-testid=server-line]", &url).await?;
    wait_for_text(&window, "[data-testid=server-line-shop]", "pop-up").await?;
    sign_in_on_page(&window, &server, "lou@example.com").await?;
    // The app is on that shop: its name in the bar, and it is closed (`main` is too, but is
    // called "Espresso").
    wait_for_element(&window, "[data-testid=shop-closed]").await?;
    shop_in_the_bar(&window, "Pop-Up Bar").await?;
    screenshot(&window, "tauri-customer").await?;

    // Started again, the app is still on the café's server and shop, and still signed in.
    window.close().await?;
    drop(driver_process);
    let (driver_process, window) = open_app(&env).await?;
    wait_for_element(&window, "[data-testid=shop-closed]").await?;
    shop_in_the_bar(&window, "Pop-Up Bar").await?;
    window.close().await?;
    drop(driver_process);

    // ESPRESSO_SHOP overrides the saved shop for a run.
    let mut env_main = env.to_vec();
    env_main.push(("ESPRESSO_SHOP", "main"));
    let (_driver_process, window) = open_app(&env_main).await?;
    shop_in_the_bar(&window, "Espresso").await?;

    window.close().await?;
    server.stop().await
}

/// A second shop on the test server, closed, with `main`'s menu: created by an admin through
/// the API, as an owner would.
async fn add_shop(server: &TestServer, id: &str, name: &str) -> anyhow::Result<()> {
    let owner = server.sign_in("owner@example.com", &[Role::Admin]).await?;
    let shop = owner
        .create_shop(&NewShop {
            id: id.into(),
            name: name.into(),
            time_zone: None,
        })
        .await?;
    anyhow::ensure!(
        shop.id == id && !shop.open,
        "a new shop starts closed: {shop:?}"
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs the app binary, tauri-driver and a display: run through `cargo xtask test`"]
async fn an_espresso_link_opens_the_customer_app_on_that_order_and_a_second_one_reaches_it()
-> anyhow::Result<()> {
    let _one_window = ONE_WINDOW.lock().await;
    let server = TestServer::start().await?;
    // The shop is open; its booth shows a code (read here through a staff client).
    let admin = server.open_shop().await?;
    let code = admin.booth_code(&ShopId::main()).await?.code;
    let link = format!("espresso://order?shop=main&code={code}");
    let url = server.url();
    let data = tempfile::tempdir()?;
    let data_home = data.path().display().to_string();
    let env = [
        ("XDG_DATA_HOME", data_home.as_str()),
        ("ESPRESSO_SERVER_URL", url.as_str()),
        ("ESPRESSO_FLAVOUR", "customer"),
    ];
    let notifications = NotificationWatch::start().await?;

    // Opened from the link: the order flow for that code, starting with its sign-in.
    let (_driver_process, window) = open_app_with(&env, &[&link]).await?;
    wait_for_text(&window, "#sign-in-title", "Sign in to order").await?;
    wait_for_text(&window, ".sign-in .lede", "one step away").await?;
    let page = window
        .execute("return location.pathname + location.search;", vec![])
        .await?;
    // The link's booth code was checked and is held as a scan pass before sign-in: the page
    // drops it from its address (a reload does not scan it again).
    assert_eq!(
        page.as_str(),
        Some("/order?shop=main"),
        "the app's own order page for the link, its code held"
    );
    screenshot(&window, "tauri-customer-link-sign-in").await?;

    // Signed in with the code from the mail, the order starts with that booth code.
    let email = "noa@example.com";
    sign_in_on_page(&window, &server, email).await?;
    click(&window, "[data-testid=name-skip]").await?;
    wait_for_element(&window, "[data-testid=menu]").await?;
    screenshot(&window, "tauri-customer-link-menu").await?;
    click(&window, "[data-testid=drink-espresso]").await?;
    click(&window, "[data-testid=order-now]").await?;
    wait_for_text(&window, "[data-testid=status-headline]", "in the queue").await?;
    let order = admin
        .orders(&ShopId::main(), &[OrderState::Queued], None)
        .await?
        .into_iter()
        .next()
        .context("the app's order is in the queue")?;
    let number = order.number.context("a queued order has its number")?;
    wait_for_text(&window, "[data-testid=order-number]", &format!("#{number}")).await?;

    // Made and ready: the customer gets a system notification.
    admin
        .act(&ShopId::main(), &order.id, StaffAction::Claim)
        .await?;
    admin
        .act(&ShopId::main(), &order.id, StaffAction::Complete)
        .await?;
    wait_for_text(&window, "[data-testid=status-headline]", "Ready").await?;
    if let Some(watch) = &notifications {
        watch
            .wait_for(&format!("Your drink #{number} is ready"))
            .await?;
    }
    screenshot(&window, "tauri-customer-link-ready").await?;

    // Another link while the app runs (scanned again): the system starts a second copy with
    // it; that copy hands it to the running app and quits. The app opens it, and says the
    // order it has is the one on the way.
    let app = required_path("ESPRESSO_APP_BIN")?;
    let again = admin.booth_code(&ShopId::main()).await?.code;
    let second = Command::new(app)
        .arg(format!("espresso://order?shop=main&code={again}"))
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    assert!(
        second.success(),
        "the second copy hands over and quits: {second}"
    );
    wait_for_text(&window, "[data-testid=notice]", "already have an order").await?;
    wait_for_text(&window, "[data-testid=order-number]", &format!("#{number}")).await?;
    screenshot(&window, "tauri-customer-link-again").await?;

    // A link that is not an order link is ignored: the app stays where it is.
    let ignored = Command::new(required_path("ESPRESSO_APP_BIN")?)
        .arg("espresso://barista?shop=main")
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    assert!(ignored.success(), "{ignored}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    wait_for_text(&window, "[data-testid=order-number]", &format!("#{number}")).await?;

    window.close().await?;
    server.stop().await
}

/// The server a fresh install talks to.
fn espresso_app_default() -> &'static str {
    "http://127.0.0.1:8080"
}

/// The shop's name in the app's top bar (its banner), as a person reads it. (WebKit's WebDriver
/// reads no text from a box that may cut its text short with an ellipsis, as the name's does.)
async fn shop_in_the_bar(window: &WebDriver, name: &str) -> anyhow::Result<()> {
    let xpath = format!("//header[contains(normalize-space(), '{name}')]");
    by::xpath(window, &format!("{name:?} in the top bar"), &xpath).await?;
    Ok(())
}
