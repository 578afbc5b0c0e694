//! The web build in headless Chromium against the real server: the start page.
//! (Each app has its own suite: customer.rs, barista.rs, display.rs.)

use espresso_tests::{Browser, TestServer, wait_for_text};

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn the_home_page_links_the_three_apps_and_checks_the_server() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let browser = Browser::start(390, 844).await?;

    browser.driver.goto(&server.url()).await?;
    let links = wait_for_text(&browser.driver, ".home-links", "Booth display").await?;
    for app in ["Order a drink", "Barista queue", "Booth display"] {
        assert!(links.contains(app), "{app} missing from {links:?}");
    }
    let status = wait_for_text(&browser.driver, "[data-testid=server-status]", "Server ok").await?;
    assert!(status.contains(env!("CARGO_PKG_VERSION")), "{status}");
    assert!(status.contains("via web"), "{status}");
    browser.screenshot("home-390x844").await?;

    browser.close().await?;
    server.stop().await
}
