//! The real Tauri window under a virtual display, driven by tauri-driver + WebKitWebDriver.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;
use espresso_tests::{
    DriverProcess, TestServer, connect, free_port, save_screenshot, wait_for_text,
};
use fantoccini::Locator;

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
