//! The real Tauri window under a virtual display, driven by tauri-driver + WebKitWebDriver.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;
use espresso_core::protocol::{DrinkChoice, Role};
use espresso_tests::{
    DriverProcess, STEP_DEADLINE, TestServer, click, connect, fill, free_port, save_screenshot,
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
    save_screenshot(&window, "skeleton-tauri-window").await?;

    window.close().await?;
    server.stop().await
}

/// One window at a time: they share the virtual display (and the display app takes all of it).
static ONE_WINDOW: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Start the app (through tauri-driver) with these environment variables; the driver process
/// must outlive the session.
async fn open_app(env: &[(&str, &str)]) -> anyhow::Result<(DriverProcess, WebDriver)> {
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
        "tauri:options": { "application": app }
    });
    let window = connect(&driver_process.url(), caps).await?;
    Ok((driver_process, window))
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

    // The tablet app opens on the barista's sign-in; the code comes by mail.
    let (driver_process, window) = open_app(&env).await?;
    wait_for_text(&window, "#sign-in-title", "").await?;
    sign_in_on_page(&window, &server, email).await?;
    wait_for_element(&window, "[data-testid=barista-board]").await?;
    wait_for_text(&window, "[data-testid=connection]", "Live").await?;

    // A customer orders: the card arrives live through the shell's live stream.
    let customer = server.sign_in("kim@example.com", &[]).await?;
    let code = admin.booth_code("main").await?.code;
    let drink = DrinkChoice {
        item_id: "espresso".into(),
        options: Default::default(),
    };
    let order = customer.start_order("main", &code, Some(drink)).await?;
    let number = order.number.context("a queued order has its number")?;
    wait_for_element(&window, &card_in("queue", number)).await?;
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
    save_screenshot(&window, "tauri-barista-1280x800").await?;

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

#[tokio::test]
#[ignore = "needs the app binary, tauri-driver and a display: run through `cargo xtask test`"]
async fn the_display_app_opens_full_screen_on_the_booth_screen() -> anyhow::Result<()> {
    let _one_window = ONE_WINDOW.lock().await;
    let server = TestServer::start().await?;
    server.open_shop().await?;
    let email = "booth@espresso.test";
    server.grant(email, &[Role::Display]).await?;
    let url = server.url();
    let (_driver_process, window) = open_app(&[
        ("ESPRESSO_SERVER_URL", url.as_str()),
        ("ESPRESSO_FLAVOUR", "display"),
    ])
    .await?;
    wait_for_text(&window, "#sign-in-title", "").await?;
    let size = window
        .execute(
            "return [innerWidth, innerHeight, screen.width, screen.height];",
            vec![],
        )
        .await?;
    let size: Vec<u32> = serde_json::from_value(size)?;
    assert_eq!(
        size[..2],
        size[2..],
        "the display fills the screen: {size:?}"
    );
    sign_in_on_page(&window, &server, email).await?;
    wait_for_element(&window, "[data-testid=qr] svg").await?;
    save_screenshot(&window, "tauri-display").await?;

    // The kiosk quits from its hidden settings (S), and only from there.
    window
        .find(Locator::Css("body"))
        .await?
        .send_keys("s")
        .await?;
    let quit = wait_for_element(&window, "[data-testid=quit-app]").await?;
    // The app may be gone before the click is answered; what counts is that it quits.
    let _ = quit.click().await;
    wait_for("the display app to quit", STEP_DEADLINE, || async {
        Ok(window.title().await.is_err().then_some(()))
    })
    .await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the app binary, tauri-driver and a display: run through `cargo xtask test`"]
async fn first_run_setup_points_the_customer_app_at_the_cafes_server_and_keeps_it()
-> anyhow::Result<()> {
    let _one_window = ONE_WINDOW.lock().await;
    let server = TestServer::start().await?;
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
    click(&window, "[data-testid=server-change]").await?;
    fill(&window, "[data-testid=server-url]", &url).await?;
    click(&window, "[data-testid=server-save]").await?;
    wait_for_text(&window, "[data-testid=server-line]", &url).await?;
    sign_in_on_page(&window, &server, "lou@example.com").await?;
    wait_for_element(&window, "[data-testid=shop-closed]").await?;
    save_screenshot(&window, "tauri-customer").await?;

    // Started again, the app is still on the café's server and still signed in.
    window.close().await?;
    drop(driver_process);
    let (_driver_process, window) = open_app(&env).await?;
    wait_for_element(&window, "[data-testid=shop-closed]").await?;

    window.close().await?;
    server.stop().await
}

/// The server a fresh install talks to.
fn espresso_app_default() -> &'static str {
    "http://127.0.0.1:8080"
}
