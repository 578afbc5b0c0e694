//! How long a phone, tablet or booth screen waits for its first screen: each app opened in a
//! fresh headless Chromium (cold cache, new profile) against a running server.
//!
//! `cargo run -p espresso-tests --example first_screen -- http://127.0.0.1:8080 [loads]`
//! (`cargo xtask bench` runs it against its release server). Prints one line per app:
//! `first screen: <app> <median FCP ms> (largest paint <ms>, loads <n>)`: the browser's own
//! paint timings from the navigation's start, read once the first screen (the sign-in form) is
//! in the page. A figure, not a test: nothing fails on it.

use std::time::Duration;

use anyhow::Context;
use espresso_tests::{Browser, wait_for_element};

/// (app, path, an element of its first screen)
const APPS: [(&str, &str, &str); 3] = [
    ("customer", "/order?shop=main", "[data-testid=email]"),
    ("barista", "/barista?shop=main", "[data-testid=email]"),
    ("display", "/display?shop=main", "[data-testid=email]"),
];

/// In the page, once its first screen is there: [first contentful paint, largest contentful
/// paint] in ms since the navigation started, as the browser recorded them (so the figure does
/// not depend on when we look). The page's HTML has nothing to paint before the app renders, so
/// the first paint is the app's first screen.
const MEASURE: &str = r#"
const done = arguments[arguments.length - 1];
const fcp = performance.getEntriesByName('first-contentful-paint')[0];
const first = fcp ? fcp.startTime : null;
let answered = false;
const answer = (lcp) => { if (!answered) { answered = true; done([first, lcp]); } };
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
    for (app, path, selector) in APPS {
        let mut times = Vec::new();
        let mut paints = Vec::new();
        for _ in 0..loads {
            // A browser that fails to start or to load is tried again (twice): the figure is
            // about the app, not about a flaky WebDriver session.
            let mut tries = 0;
            let (fcp, lcp) = loop {
                match load(&server, path, selector).await {
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
            "first screen: {app} {:.0} ms (largest paint {:.0} ms, loads {loads})",
            median(&mut times),
            median(&mut paints)
        );
    }
    Ok(())
}

/// One cold load of `path`: (first contentful paint, largest contentful paint) in ms.
async fn load(server: &str, path: &str, selector: &str) -> anyhow::Result<(f64, Option<f64>)> {
    // A new browser each time: nothing cached, as on a phone that never saw the booth.
    let browser = Browser::start(390, 844).await?;
    browser.driver.goto(&format!("{server}{path}")).await?;
    // Present already or soon: the wait bounds a broken build, the script measures.
    wait_for_element(&browser.driver, selector).await?;
    let measured = tokio::time::timeout(
        Duration::from_secs(30),
        browser.driver.execute_async(MEASURE, vec![]),
    )
    .await
    .context("measuring the first screen")??;
    let [fcp, lcp]: [Option<f64>; 2] = serde_json::from_value(measured)?;
    browser.close().await?;
    Ok((fcp.context("the browser recorded no first paint")?, lcp))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
