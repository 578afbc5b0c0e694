//! `cargo xtask test`: every test, each artefact built once.
//!
//! 1. setup;
//! 2. the web build (wasm) and the core's wasm check;
//! 3. `cargo test --workspace` (unit and integration), then the server's suites again on a
//!    throwaway PostgreSQL;
//! 4. the API fuzz: schemathesis over the OpenAPI document against the debug server;
//! 5. the browser and window suites (`--ignored`) under a virtual display.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::ctx::{Ctx, Result, describe, step, which};
use crate::{setup, ui};

/// Inside the e2e run's private D-Bus session: start and unlock a throwaway gnome-keyring kept
/// in `$ESPRESSO_KEYRING_HOME` (emptied first, so no keyring of the user's is touched and the
/// password only guards this run's empty keyring), then run the rest of the command.
const UNLOCK_KEYRING_THEN_EXEC: &str = concat!(
    "rm -rf \"$ESPRESSO_KEYRING_HOME\" && mkdir -p \"$ESPRESSO_KEYRING_HOME\" && ",
    "printf espresso | XDG_DATA_HOME=\"$ESPRESSO_KEYRING_HOME\" ",
    "gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; ",
    "exec \"$0\" \"$@\"",
);

/// Every build and test uses the same features, so the tauri crate is compiled once.
const APP_FEATURES: &str = "espresso-app/custom-protocol";

/// The server's integration suites that run a second time on PostgreSQL: every one that goes
/// through the store (`crash`, `smtp` and `openapi` are about the SQLite file, mail and the
/// document, the same on both).
const POSTGRES_SUITES: &[&str] = &[
    "auth",
    "console",
    "hardening",
    "live",
    "orders",
    "passes",
    "push",
];

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
    }
}

/// Parse libtest's `test result: ok. 3 passed; 0 failed; 1 ignored; …` line.
fn parse_result(line: &str) -> Option<Tally> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let mut tally = Tally::default();
    for part in rest.split(['.', ';']) {
        let mut words = part.split_whitespace();
        let (Some(n), Some(label)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match label {
            "passed" => tally.passed = n,
            "failed" => tally.failed = n,
            "ignored" => tally.ignored = n,
            _ => {}
        }
    }
    Some(tally)
}

/// Run a `cargo test` command, echoing its output and counting its results.
fn run_tests(command: &mut Command) -> (Tally, Result) {
    let shown = describe(command);
    let mut tally = Tally::default();
    let child = command.stdin(Stdio::null()).stdout(Stdio::piped()).spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => return (tally, Err(format!("cannot start `{shown}`: {e}"))),
    };
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout)
            .lines()
            .map_while(std::result::Result::ok)
        {
            println!("{line}");
            if let Some(result) = parse_result(&line) {
                tally.add(result);
            }
        }
    }
    let result = match child.wait() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`{shown}` failed ({status})")),
        Err(e) => Err(format!("`{shown}`: {e}")),
    };
    (tally, result)
}

pub fn test(ctx: &Ctx, args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return Err(format!("`test` takes no arguments (got {arg:?})"));
    }
    let start = Instant::now();
    step("setup", || setup::setup(ctx))?;
    step("web build (wasm32)", || ui::build_ui(ctx))?;
    step("protocol and core `web` feature compile for wasm32", || {
        let mut check = ctx.cargo();
        check.args([
            "check",
            "--target",
            setup::WASM_TARGET,
            "-p",
            "espresso-protocol",
            "-p",
            "espresso-core",
        ]);
        check.args(["--no-default-features", "--features", "espresso-core/web"]);
        setup::WasmToolchain::detect().apply(&mut check);
        crate::ctx::run(&mut check)
    })?;
    step("build the server and the desktop shell", || {
        let mut build = ctx.cargo();
        build.args([
            "build",
            "-p",
            "espresso-server",
            "-p",
            "espresso-app",
            "--features",
            APP_FEATURES,
        ]);
        crate::ctx::run(&mut build)
    })?;

    let mut total = Tally::default();
    let mut failures = Vec::new();

    let unit = step("unit and integration tests", || {
        let mut cargo_test = ctx.cargo();
        cargo_test.args(["test", "--workspace", "--features", APP_FEATURES]);
        let (tally, result) = run_tests(&mut cargo_test);
        total.add(tally);
        result
    });
    if let Err(error) = unit {
        failures.push(error);
    }

    let postgres = step(
        "the server's integration suites again on PostgreSQL (a throwaway cluster)",
        || {
            let mut cargo_test = ctx.cargo();
            cargo_test.args([
                "test",
                "-p",
                "espresso-server",
                "-p",
                "espresso-app",
                "--features",
                APP_FEATURES,
            ]);
            for suite in POSTGRES_SUITES {
                cargo_test.args(["--test", suite]);
            }
            cargo_test.env("ESPRESSO_TEST_DATABASE", "postgres");
            let (tally, result) = run_tests(&mut cargo_test);
            total.add(tally);
            result
        },
    );
    if let Err(error) = postgres {
        failures.push(error);
    }

    let fuzz = step(
        "API fuzz (schemathesis, every operation as each role)",
        || {
            let (passed, failed, result) = crate::fuzz::fuzz(ctx);
            total.add(Tally {
                passed,
                failed,
                ignored: 0,
            });
            result
        },
    );
    if let Err(error) = fuzz {
        failures.push(error);
    }

    let e2e = step("end-to-end: Chromium and the Tauri window", || {
        let xvfb = which("xvfb-run").ok_or("xvfb-run not found: run `cargo xtask setup`")?;
        let dbus = which("dbus-run-session")
            .ok_or("dbus-run-session not found: run `cargo xtask setup`")?;
        let screenshots = ctx.target_dir.join("screenshots");
        // Its own session bus with an unlocked gnome-keyring (the keyring suite's Secret
        // Service), and its own virtual display (the window suite); both end with the run.
        let mut e2e = Command::new(dbus);
        e2e.args(["--", "sh", "-c", UNLOCK_KEYRING_THEN_EXEC])
            .arg(xvfb)
            .args(["-a", "-s", "-screen 0 1280x800x24"])
            .arg(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            // Same package set and features as the unit run, so nothing is rebuilt; only the
            // `#[ignore]`d tests (the e2e suites) run.
            .args([
                "test",
                "--workspace",
                "--features",
                APP_FEATURES,
                "--",
                "--ignored",
            ])
            .current_dir(&ctx.root)
            .env("CARGO_TARGET_DIR", &ctx.target_dir)
            .env("ESPRESSO_WEB_DIR", ctx.dist())
            .env(
                "ESPRESSO_APP_BIN",
                ctx.target_dir.join("debug/espresso-app"),
            )
            .env(
                "TAURI_DRIVER",
                ctx.root.join("node_modules/.bin/tauri-driver"),
            )
            .env("ESPRESSO_SCREENSHOT_DIR", &screenshots)
            .env("ESPRESSO_KEYRING_HOME", ctx.target_dir.join("e2e-keyring"));
        let (tally, result) = run_tests(&mut e2e);
        total.add(tally);
        eprintln!("screenshots: {}", screenshots.display());
        result
    });
    if let Err(error) = e2e {
        failures.push(error);
    }

    println!();
    println!(
        "espresso tests: {} passed, {} failed, {} ignored in {:.0?} (e2e suites run separately with --ignored)",
        total.passed,
        total.failed,
        total.ignored,
        start.elapsed()
    );
    // The plain closing line CI reads.
    println!("summary: {} passed, {} failed", total.passed, total.failed);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_result;

    #[test]
    fn reads_libtest_result_lines() {
        let tally = parse_result(
            "test result: FAILED. 12 passed; 1 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.50s",
        )
        .unwrap();
        assert_eq!((tally.passed, tally.failed, tally.ignored), (12, 1, 3));
    }

    #[test]
    fn ignores_other_lines() {
        assert!(parse_result("running 3 tests").is_none());
    }
}
