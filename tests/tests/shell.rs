//! The web apps' shell in headless Chromium against the real server: the service worker
//! (`ui/static/sw.js`) takes control of the page and keeps the app shell in a cache named after
//! the build; with the server stopped, a reload still opens the app, which says it is offline;
//! a new build replaces the old cache and the open page says a new version is ready.
//! (Web Push, with the push service stood in for: `tests/tests/push.rs` and docs/OPERATIONS.md.)

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use espresso_tests::{Browser, STEP_DEADLINE, TestServer, by, wait_for};
use fantoccini::Client as WebDriver;

const PHONE: (u32, u32) = (390, 844);

/// The page's service worker state once it controls the page (`activated`), if it does.
async fn controller_state(driver: &WebDriver) -> anyhow::Result<Option<String>> {
    let state = driver
        .execute(
            "return navigator.serviceWorker && navigator.serviceWorker.controller \
             ? navigator.serviceWorker.controller.state : null;",
            vec![],
        )
        .await?;
    Ok(state.as_str().map(str::to_owned))
}

async fn wait_for_control(driver: &WebDriver) -> anyhow::Result<()> {
    wait_for(
        "the service worker to control the page",
        STEP_DEADLINE,
        || async {
            Ok(controller_state(driver)
                .await?
                .filter(|state| state == "activated"))
        },
    )
    .await
    .map(drop)
}

/// The Espresso caches of this origin, and whether each holds the customer app's wasm.
async fn shell_caches(driver: &WebDriver) -> anyhow::Result<Vec<(String, bool)>> {
    let caches = driver
        .execute_async(
            "const done = arguments[arguments.length - 1];
             (async () => {
               const names = (await caches.keys()).filter((n) => n.startsWith('espresso-shell-'));
               const out = [];
               for (const name of names) {
                 const cache = await caches.open(name);
                 out.push([name, Boolean(await cache.match('/app-customer_bg.wasm'))]);
               }
               return out;
             })().then(done, (e) => done(String(e)));",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(caches).unwrap_or_default())
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn with_the_server_stopped_a_reload_still_opens_the_app_and_says_it_is_offline()
-> anyhow::Result<()> {
    let mut server = TestServer::start().await?;
    server.open_shop().await?;
    let browser = Browser::start(PHONE.0, PHONE.1).await?;
    let driver = &browser.driver;

    // The customer opens the app once while the bar's server is up:
    driver
        .goto(&format!("{}/order?shop=main", server.url()))
        .await?;
    by::heading(driver, "Sign in to order").await?;
    // its service worker takes control and keeps the shell, wasm included, for this build.
    wait_for_control(driver).await?;
    let caches = wait_for("the shell's cache", STEP_DEADLINE, || async {
        let caches = shell_caches(driver).await?;
        Ok((caches.len() == 1 && caches[0].1).then_some(caches))
    })
    .await?;
    assert!(caches[0].0.len() > "espresso-shell-".len(), "{caches:?}");
    // A phone keeps the customer app, not the barista and booth screens' build.
    let staff: bool = serde_json::from_value(
        driver
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 caches.open(arguments[0])
                   .then((cache) => cache.match('/app-staff_bg.wasm'))
                   .then((hit) => done(Boolean(hit)), () => done(true));",
                vec![serde_json::Value::String(caches[0].0.clone())],
            )
            .await?,
    )?;
    assert!(!staff, "the phone's cache holds the staff build");

    // The server goes away; a reload still opens the app, which says it is offline.
    server.stop_for_now().await?;
    driver.refresh().await?;
    by::heading(driver, "Sign in to order").await?;
    let said = by::status(driver, "You're offline").await?;
    assert!(said.contains("can't reach"), "{said}");
    browser.screenshot("shell-1-offline-390x844").await?;

    // Back up: the banner goes by itself.
    server.start_again().await?;
    wait_for("the offline banner to go", STEP_DEADLINE, || async {
        let text = driver
            .execute("return document.body.innerText;", vec![])
            .await?;
        Ok((!text.as_str().unwrap_or("").contains("You're offline")).then_some(()))
    })
    .await?;

    browser.close().await?;
    server.stop().await
}

/// A copy of the web build the next test may change (a new version) while its server runs.
static WEB_COPY: OnceLock<PathBuf> = OnceLock::new();

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[tokio::test]
#[ignore = "needs the web build and Chromium: run through `cargo xtask test`"]
async fn a_new_build_replaces_the_old_cache_and_the_page_says_a_new_version_is_ready()
-> anyhow::Result<()> {
    let copy = tempfile::tempdir()?;
    copy_dir(&espresso_tests::web_dir()?, copy.path())?;
    WEB_COPY
        .set(copy.path().to_path_buf())
        .map_err(|_| anyhow::anyhow!("the web copy is set once"))?;
    let server = TestServer::start_with(|config| {
        if let Some(dir) = WEB_COPY.get() {
            config.web_dir = dir.clone();
        }
    })
    .await?;
    let browser = Browser::start(PHONE.0, PHONE.1).await?;
    let driver = &browser.driver;
    driver
        .goto(&format!("{}/barista?shop=main", server.url()))
        .await?;
    wait_for_control(driver).await?;
    let first = wait_for("the first build's cache", STEP_DEADLINE, || async {
        let caches = shell_caches(driver).await?;
        Ok((caches.len() == 1 && caches[0].1).then(|| caches[0].0.clone()))
    })
    .await?;

    // A new build is deployed (its service worker names another version)…
    let worker = copy.path().join("sw.js");
    let script = std::fs::read_to_string(&worker)?;
    let stamped = script.replacen("const BUILD = '", "const BUILD = 'next-", 1);
    assert_ne!(script, stamped, "sw.js carries its build");
    std::fs::write(&worker, stamped)?;
    let _ = std::fs::remove_file(copy.path().join("sw.js.gz"));

    // …and the open page, at its next visit, says so, while the old cache is gone.
    driver.refresh().await?;
    let said = by::status(driver, "A new version is ready").await?;
    assert!(said.contains("Reload"), "{said}");
    browser.screenshot("shell-2-new-version-390x844").await?;
    let caches = wait_for("only the new build's cache", STEP_DEADLINE, || async {
        let caches = shell_caches(driver).await?;
        Ok((caches.len() == 1 && caches[0].1 && caches[0].0 != first).then_some(caches))
    })
    .await?;
    assert!(caches[0].0.contains("next-"), "{caches:?}");

    // Reload runs the new version: no banner.
    by::press_button(driver, "Reload").await?;
    wait_for_control(driver).await?;
    wait_for("the page without the banner", STEP_DEADLINE, || async {
        let text = driver
            .execute("return document.body.innerText;", vec![])
            .await?;
        let text = text.as_str().unwrap_or("");
        Ok((text.contains("Sign in") && !text.contains("A new version is ready")).then_some(()))
    })
    .await?;
    browser.close().await?;
    server.stop().await
}
