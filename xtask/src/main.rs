//! `cargo xtask`: the project's own build tool. Std only, so a fresh clone compiles it in seconds.
//!
//! - `setup`   install what is missing (apt packages, wasm32 toolchain, wasm-bindgen CLI, npm tools)
//! - `doctor`  print what is present and what is missing, install nothing
//! - `run`     set up, build the web apps, start the server, print the apps' URLs
//! - `test`    set up, build everything once, run every test (unit, integration, browser, window)
//! - `build-ui`   the web build of the three apps into `dist/`
//! - `check-wasm` compile every wasm32 build (the core's `web` feature and the UI)
//! - `bundle`  an installable package (.deb) of each app flavour (customer, barista, display)
//! - `fuzz`    the API fuzz alone (schemathesis against the debug server; part of `test`)
//! - `bench`   every figure of docs/BENCHMARKS.md (release server + order robot, sizes, criterion)

mod bench;
mod bundle;
mod ctx;
mod fuzz;
mod postgres;
mod run;
mod setup;
mod test;
mod ui;

use std::process::ExitCode;

use ctx::Ctx;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  setup        install what is missing (idempotent; a few seconds when all is present)
  doctor       print what is present and what is missing, install nothing
  run          set up, build the web apps and start Espresso on 127.0.0.1:8080
                 --addr HOST:PORT   listen elsewhere (env ESPRESSO_ADDR)
                 --postgres         on a local PostgreSQL in ./data/postgres instead of SQLite
                 --release          run an optimised server build
                 -- ARGS            pass further flags to `espresso-server serve`
  test         set up, build, and run every test; a summary at the end
  fuzz         the API fuzz alone: schemathesis over /api/openapi.json against the debug
               server, as each role (part of `test`; docs/CI.md)
  build-ui     build the web apps (wasm) into dist/
  check-wasm   compile the wasm32 builds (protocol, core `web` feature, UI)
  bundle [customer|barista|display]
               a .deb of each app flavour (all three without an argument)
  bench        release server + order robot: fan-out with 1,000 sockets, lifecycles/s and
               server CPU per lifecycle, RSS with 10,000 idle sockets, start-up; the store's
               commands/s beside raw SQLite; wasm and Tauri sizes; criterion benches
                 --quick            shorter runs (a try-out, not the figures)
                 --no-tauri         skip the Tauri shell's release build
                 --only STEPS       just these, comma-separated: fanout, burst, throughput,
                                    scale (1/2/3 servers on one PostgreSQL), memory, startup,
                                    store, wasm, first-screen, tauri, criterion
                 --binaries DIR     run the espresso-server, -robot and -store-bench in DIR
                                    (e.g. a copy of an earlier build) instead of building

environment:
  CARGO_TARGET_DIR   build outputs (default ~/.cache/espresso/target, shared between clones)
";

/// `cargo xtask fuzz`: setup, build the server, run the fuzz.
fn fuzz_alone(ctx: &Ctx) -> ctx::Result {
    setup::setup(ctx)?;
    let mut build = ctx.cargo();
    build.args(["build", "-p", "espresso-server"]);
    ctx::run(&mut build)?;
    fuzz::fuzz(ctx).2
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        eprint!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let ctx = match Ctx::new() {
        Ok(ctx) => ctx,
        Err(error) => {
            eprintln!("xtask: {error}");
            return ExitCode::FAILURE;
        }
    };
    let rest = &args[1..];
    let result = match command.as_str() {
        "setup" => setup::setup(&ctx),
        "doctor" => setup::doctor(&ctx),
        "run" => run::run(&ctx, rest),
        "test" => test::test(&ctx, rest),
        "fuzz" => fuzz_alone(&ctx),
        "build-ui" => setup::setup(&ctx).and_then(|()| ui::build_ui(&ctx)),
        "bundle" => bundle::bundle(&ctx, rest),
        "bench" => bench::bench(&ctx, rest),
        "check-wasm" => setup::setup(&ctx).and_then(|()| ui::check_wasm(&ctx)),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}
