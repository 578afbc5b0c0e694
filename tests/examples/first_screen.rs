//! How long a phone, tablet or booth screen waits for its first screen: each app opened in a
//! fresh headless Chromium (cold cache, new profile) against a running server.
//!
//! `cargo run -p espresso-tests --example first_screen -- http://127.0.0.1:8080 [loads [network
//! [repeat]]]`
//! (`cargo xtask bench` runs it against its release server). `network`: `loopback` (default),
//! `fast-3g` or `slow-3g`, Chromium's own network emulation with DevTools' presets (slow 3G:
//! 2 s round trips, 50 KB/s down: a phone on a crowded venue's Wi-Fi). Prints one line per app:
//! `first screen: <app> <median FCP ms> (largest paint <ms>, loads <n>, <network>)`: the
//! browser's own paint timings from the navigation's start, read once the first screen (the
//! sign-in form) is in the page. With `repeat`, each browser first opens the app on loopback and
//! waits for its service worker, then the network is emulated and the app opened again: a
//! repeat visit, its shell from the worker's cache. A figure, not a test: nothing fails on it.

use std::time::Duration;

use anyhow::{Context, bail};
use espresso_tests::{Browser, ChromiumCommand};
use serde_json::json;

/// (app, path, an element of its first screen)
const APPS: [(&str, &str, &str); 3] = [
    ("customer", "/order?shop=main", "[data-testid=email]"),
    ("barista", "/barista?shop=main", "[data-testid=email]"),
    ("display", "/display?shop=main", "[data-testid=email]"),
];

/// In the page, once its first screen is there: [first contentful paint, largest contentful
/// paint] in ms since the navigation started, as the browser recorded them (so the figure does
/// not depend on when we look). An app's page carries its first screen (the sign-in form, or
/// "Loading…" for a device signed in already), so the first paint is that screen, usable before
/// the app's wasm arrives; a page without one paints first when the app renders.
const MEASURE: &str = r#"
const done = arguments[arguments.length - 1];
const fcp = performance.getEntriesByName('first-contentful-paint')[0];
const first = fcp ? fcp.startTime : null;
let answered = false;
// When the first screen was found in the page (within the 20 ms the caller polls at): the
// figure when the browser recorded no paint (seen under slow-3G emulation).
const found = performance.now();
const answer = (lcp) => { if (!answered) { answered = true; done([first, lcp, found]); } };
new PerformanceObserver((list) => {
  const entries = list.getEntries();
  answer(entries.length ? entries[entries.length - 1].startTime : null);
}).observe({ type: 'largest-contentful-paint', buffered: true });
setTimeout(() => answer(null), 2000);
"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let server = args
        .next()
        .context("usage: first_screen SERVER_URL [LOADS]")?;
    let server = server.trim_end_matches('/').to_owned();
    let loads: usize = match args.next() {
        Some(n) => n.parse().context("LOADS must be a number")?,
        None => 3,
    };
    let network = Network::named(args.next().as_deref().unwrap_or("loopback"))?;
    let repeat = match args.next().as_deref() {
        None => false,
        Some("repeat") => true,
        Some(other) => bail!("unknown mode {other:?}: the fourth argument may be `repeat`"),
    };
    for (app, path, selector) in APPS {
        let mut times = Vec::new();
        let mut paints = Vec::new();
        for _ in 0..loads {
            // A browser that fails to start or to load is tried again (twice): the figure is
            // about the app, not about a flaky WebDriver session.
            let mut tries = 0;
            let (fcp, lcp) = loop {
                match load(&server, path, selector, network, repeat).await {
                    Ok(paints) => break paints,
                    Err(error) if tries < 2 => {
                        tries += 1;
                        eprintln!("first screen: {app}: {error:#}; trying again");
                    }
                    Err(error) => return Err(error),
                }
            };
            times.push(fcp);
            if let Some(lcp) = lcp {
                paints.push(lcp);
            }
        }
        println!(
            "first screen: {app} {:.0} ms (largest paint {:.0} ms, loads {loads}, {}{})",
            median(&mut times),
            median(&mut paints),
            network.name,
            if repeat { ", repeat visit" } else { "" }
        );
    }
    Ok(())
}

/// Waits until the page's service worker is active (its install cached the app's shell).
const WORKER_READY: &str = r#"
const done = arguments[arguments.length - 1];
navigator.serviceWorker.ready.then(() => done(true), () => done(false));
"#;

/// One load of `path` (cold, or with `repeat` a repeat visit): (first contentful paint, largest
/// contentful paint) in ms.
async fn load(
    server: &str,
    path: &str,
    selector: &str,
    network: Network,
    repeat: bool,
) -> anyhow::Result<(f64, Option<f64>)> {
    // A new browser each time: nothing cached, as on a phone that never saw the booth.
    let browser = Browser::start(390, 844).await?;
    if repeat {
        browser.driver.goto(&format!("{server}{path}")).await?;
        let ready = tokio::time::timeout(
            Duration::from_secs(60),
            browser.driver.execute_async(WORKER_READY, vec![]),
        )
        .await
        .context("waiting for the service worker")??;
        if ready != json!(true) {
            bail!("the service worker did not become active");
        }
    }
    if let Some(conditions) = network.conditions() {
        browser
            .driver
            .issue_cmd(ChromiumCommand::network_conditions(conditions))
            .await
            .context("Chromium's network emulation")?;
    }
    browser.driver.goto(&format!("{server}{path}")).await?;
    // Present already or soon (a slow network takes its time): the wait bounds a broken build,
    // the script measures.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while browser
        .driver
        .find_all(fantoccini::Locator::Css(selector))
        .await?
        .is_empty()
    {
        if std::time::Instant::now() > deadline {
            bail!("{selector} did not appear within 90 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let measured = tokio::time::timeout(
        Duration::from_secs(30),
        browser.driver.execute_async(MEASURE, vec![]),
    )
    .await
    .context("measuring the first screen")??;
    let [fcp, lcp, found]: [Option<f64>; 3] = serde_json::from_value(measured)?;
    browser.close().await?;
    let first = fcp
        .or(found)
        .context("the browser recorded no first paint")?;
    Ok((first, lcp))
}

/// A network as Chromium's DevTools presets define it.
#[derive(Debug, Clone, Copy)]
struct Network {
    name: &'static str,
    /// Round trip added, ms; throughput down and up, bytes/s (`None`: no emulation).
    profile: Option<(u32, u32, u32)>,
}

impl Network {
    fn named(name: &str) -> anyhow::Result<Self> {
        let profile = match name {
            "loopback" => None,
            // DevTools' "Fast 3G": 562.5 ms, 1.6 Mbit/s × 0.9 down, 750 kbit/s × 0.9 up.
            "fast-3g" => Some((563, 180_000, 84_375)),
            // DevTools' "Slow 3G": 2,000 ms, 500 kbit/s × 0.8 down and up.
            "slow-3g" => Some((2_000, 50_000, 50_000)),
            _ => bail!("unknown network {name:?}: loopback, fast-3g or slow-3g"),
        };
        let name = match name {
            "fast-3g" => "fast 3G",
            "slow-3g" => "slow 3G",
            _ => "loopback",
        };
        Ok(Self { name, profile })
    }

    fn conditions(self) -> Option<serde_json::Value> {
        let (latency, down, up) = self.profile?;
        Some(json!({
            "offline": false,
            "latency": latency,
            "download_throughput": down,
            "upload_throughput": up,
        }))
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
