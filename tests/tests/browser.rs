//! The web build in headless Chromium against the real server.

use espresso_tests::{Browser, TestServer, wait_for_text};

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn the_display_page_shows_that_the_server_is_up() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let browser = Browser::start(1920, 1080).await?;

    browser
        .driver
        .goto(&format!("{}/display?shop=main", server.url()))
        .await?;

    let heading = wait_for_text(&browser.driver, "h1", "Espresso display").await?;
    assert_eq!(heading, "Espresso display");
    let status = wait_for_text(&browser.driver, "[data-testid=server-status]", "Server ok").await?;
    assert!(status.contains(env!("CARGO_PKG_VERSION")), "{status}");
    assert!(status.contains("via web"), "{status}");
    browser.screenshot("skeleton-display-1920x1080").await?;

    browser.close().await?;
    server.stop().await
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn the_home_page_links_the_three_apps() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let browser = Browser::start(390, 844).await?;

    browser.driver.goto(&server.url()).await?;
    let links = wait_for_text(&browser.driver, ".home-links", "Booth display").await?;
    for app in ["Order a drink", "Barista queue", "Booth display"] {
        assert!(links.contains(app), "{app} missing from {links:?}");
    }

    browser.close().await?;
    server.stop().await
}
