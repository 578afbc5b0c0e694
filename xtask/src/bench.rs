//! `cargo xtask bench`: every figure of docs/BENCHMARKS.md, from a clean checkout.
//!
//! A release-built server on SQLite (a fresh database for each run), driven by the release-built
//! order robot (`tests/robot`), for:
//! - fan-out: barista action → every display socket and the customer saw it, with 1,000 sockets;
//! - burst: 100 barista actions sent at once → until each of 10 display sockets shows all of them
//!   (claims, then completes, then collects);
//! - throughput: full order lifecycles per second (scan → choose → claim → complete → collect),
//!   300 customers and 24 baristas sharing 3 staff screens, and the server's CPU time per
//!   lifecycle (utime + stime from /proc over the timed phase ÷ lifecycles), its writer
//!   thread's part, and the robot's own;
//! - scale: the throughput workload over 3 shops, on one SQLite server, then on 1, 2 and 3
//!   servers sharing one throwaway PostgreSQL (the robot's people spread over them), with every
//!   server's CPU and PostgreSQL's per lifecycle;
//! - memory: the server's RSS holding 10,000 idle live sockets;
//! - start-up: process start → listening, and → `/healthz` answering (empty and loaded database);
//! - store: order commands/s through the server's store (durable, a file), and raw SQLite doing
//!   the same writes on this machine beside it (`tests/store-bench`, `espresso-store-bench`);
//! - sizes: the web build's wasm (as sent: brotli, and gzip) and the Tauri shell's release binary;
//! - criterion micro-benchmarks: the workflow's `decide`/`apply`, the views' reducers.
//!
//! Not part of `cargo xtask test`: figures are printed, and the goals (DESIGN.md "Quality bars")
//! beside them; nothing here passes or fails on a figure.
//!
//! `--only fanout,burst,throughput,scale,memory,startup,store,wasm,first-screen,tauri,criterion` runs just
//! those steps (e.g. `cargo xtask bench --only throughput,store` while working on the engine).
//! `--binaries DIR` runs the `espresso-server`, `espresso-robot` and `espresso-store-bench` in
//! DIR instead of building this checkout's (a copy kept from an earlier build: before and after
//! a change, run one after the other on the same machine's load).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::ctx::{Ctx, Result, describe, output, step};
use crate::postgres::LocalPostgres;
use crate::{setup, ui};

const ADMIN: &str = "robot-admin@robot.espresso.test";

/// How long each load run lasts (`--quick` shortens them for a try-out).
struct Plan {
    run_s: u64,
    /// Each of the store bench's three runs (store, raw batched, raw one by one).
    store_s: u64,
    criterion: &'static [&'static str],
}

const FULL: Plan = Plan {
    run_s: 30,
    store_s: 10,
    criterion: &["--warm-up-time", "1", "--measurement-time", "3"],
};
const QUICK: Plan = Plan {
    run_s: 8,
    store_s: 3,
    criterion: &["--warm-up-time", "0.5", "--measurement-time", "1"],
};

/// The steps `--only` may name, in the order they run.
const STEPS: &[&str] = &[
    "fanout",
    "burst",
    "throughput",
    "scale",
    "memory",
    "startup",
    "store",
    "wasm",
    "first-screen",
    "tauri",
    "criterion",
];

/// The staff screens the throughput run's 24 baristas share: a bar has a few tablets, not one
/// staff stream per barista (issue 14).
const THROUGHPUT_SCREENS: &str = "3";

/// One line of the final table.
struct Figure {
    what: String,
    value: String,
    goal: &'static str,
}

pub fn bench(ctx: &Ctx, args: &[String]) -> Result {
    let mut plan = &FULL;
    let mut tauri = true;
    let mut only: Option<Vec<String>> = None;
    let mut prebuilt: Option<PathBuf> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => plan = &QUICK,
            "--no-tauri" => tauri = false,
            "--only" => {
                let list = args.next().ok_or("--only needs a list of steps")?;
                only = Some(steps(list)?);
            }
            "--binaries" => {
                let dir = args.next().ok_or("--binaries needs a folder")?;
                prebuilt = Some(PathBuf::from(dir));
            }
            other => match other.strip_prefix("--only=") {
                Some(list) => only = Some(steps(list)?),
                None => {
                    return Err(format!("unknown option {other:?} (see `cargo xtask help`)"));
                }
            },
        }
    }
    let wants = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|s| s == name));
    let start = Instant::now();
    let mut figures = Vec::new();
    // The checkout as it is built (a commit while the runs go on does not change what is measured).
    let mut measured = String::new();
    step("setup", || setup::setup(ctx))?;
    if let Some(dir) = &prebuilt {
        step("prebuilt binaries: server, robot and store bench", || {
            measured = format!("binaries of {}", dir.display());
            keep_binaries(ctx, dir)
        })?;
    } else {
        step("release build: server, robot and store bench", || {
            measured = commit(ctx);
            let mut build = ctx.cargo();
            build.args([
                "build",
                "--release",
                "-p",
                "espresso-server",
                "-p",
                "espresso-robot",
                "-p",
                "espresso-store-bench",
            ]);
            crate::ctx::run(&mut build)?;
            // At once, before another checkout sharing the target folder (a worktree) builds its
            // own server over `release/espresso-server`: the runs below use these copies.
            keep_binaries(ctx, &ctx.target_dir.join("release"))
        })?;
    }
    let bench_dir = ctx.target_dir.join("bench");

    // Two paces: a booth's (a drink every couple of seconds), and a rush that keeps the bar
    // busy. Both with 1,000 display sockets, the robot on the same cores as the server.
    let fanout_runs = if wants("fanout") {
        &[
            ("booth pace, 2 orders/s", "fanout-booth", "20", "2", "2"),
            ("rush, 20 orders/s asked", "fanout-rush", "100", "4", "20"),
        ][..]
    } else {
        &[]
    };
    for &(pace, dir, customers, baristas, rate) in fanout_runs {
        step(&format!("fan-out: 1,000 display sockets, {pace}"), || {
            let server = BenchServer::start(ctx, &bench_dir.join(dir))?;
            let summary = server.robot(
                ctx,
                &[
                    "--customers",
                    customers,
                    "--baristas",
                    baristas,
                    "--watchers",
                    "1000",
                    "--rate",
                    rate,
                    "--make-time",
                    "0ms..500ms",
                ],
                plan.run_s,
            )?;
            figures.push(Figure {
                what: format!("fan-out ({pace}): action → each of 1,000 displays + customer"),
                value: percentiles(&summary["fanout_each"]),
                goal: "p99 ≤ 5 ms",
            });
            figures.push(Figure {
                what: "  action → the last of the 1,001 to see it".into(),
                value: percentiles(&summary["fanout_all"]),
                goal: "",
            });
            figures.push(Figure {
                what: "  the barista's claim call itself (HTTP, durable)".into(),
                value: percentiles(&summary["api"]["claim"]),
                goal: "",
            });
            server.stop()
        })?;
    }

    if wants("burst") {
        step("burst: 100 actions at once → 10 display sockets", || {
            let server = BenchServer::start(ctx, &bench_dir.join("burst"))?;
            let summary = server.robot(ctx, &["--burst", "100", "--watchers", "10"], plan.run_s)?;
            for step in summary["burst"]["steps"].as_array().into_iter().flatten() {
                let action = step["action"].as_str().unwrap_or("?");
                figures.push(Figure {
                    what: format!("burst of 100 {action}s → all shown on 10 displays"),
                    value: format!(
                        "{:.1} ms (answered in {:.1} ms; each event {})",
                        num(&step["delivered_ms"]),
                        num(&step["answered_ms"]),
                        percentiles(&step["each"])
                    ),
                    goal: "≤ 60 ms",
                });
            }
            server.stop()
        })?;
    }

    let mut loaded_db = None;
    if wants("throughput") {
        step("throughput: full lifecycles per second", || {
            let server = BenchServer::start(ctx, &bench_dir.join("throughput"))?;
            // Issue 14's run: scan → choose → claim → complete → collect as fast as they go,
            // 300 customers (each with their phone's live stream), 24 baristas at 3 shared staff
            // screens, one booth display, drinks made in no time, nobody cancels.
            let summary = server.robot(
                ctx,
                &lifecycles_flat_out("300", "24", THROUGHPUT_SCREENS),
                plan.run_s,
            )?;
            figures.push(Figure {
                what: "full order lifecycles per second (5 commands each)".into(),
                value: format!(
                    "{:.0}/s ({} in {:.0} s; {} errors, {} lost races; 300 customers, 24 baristas \
                 at {THROUGHPUT_SCREENS} screens)",
                    num(&summary["lifecycles_per_s"]),
                    num(&summary["lifecycles_completed"]),
                    num(&summary["timed_phase_s"]),
                    error_count(&summary),
                    num(&summary["lost_races"]),
                ),
                goal: "≥ 2,000/s on 2 cores",
            });
            figures.push(Figure {
                what: "  server CPU per lifecycle (ms; utime+stime ÷ lifecycles)".into(),
                value: server_cpu(&summary),
                goal: "≤ 0.5 ms",
            });
            figures.push(Figure {
                what: "  the robot's own CPU per lifecycle, on the same cores".into(),
                value: robot_cpu(&summary),
                goal: "",
            });
            for call in [
                "start_order",
                "choose_drink",
                "claim",
                "complete",
                "collect",
            ] {
                figures.push(Figure {
                    what: format!("  {call} under that load"),
                    value: percentiles(&summary["api"][call]),
                    goal: "",
                });
            }
            figures.push(Figure {
                what: "  WAL syncs (group commit) during that run".into(),
                value: server.metric("espresso_store_syncs_total").map_or_else(
                    || "unknown".into(),
                    |syncs| {
                        let commands = num(&summary["lifecycles_completed"]) * 5.0;
                        format!(
                            "{syncs:.0} ({:.1} commands per sync)",
                            commands / syncs.max(1.0)
                        )
                    },
                ),
                goal: "",
            });
            loaded_db = Some(server.database.clone());
            server.stop()
        })?;
    }

    if wants("scale") {
        step(
            "scale: 3 shops on SQLite, then on 1, 2 and 3 servers sharing one PostgreSQL",
            || scale(ctx, &bench_dir.join("scale"), plan, &mut figures),
        )?;
    }

    if wants("memory") {
        step("memory: 10,000 idle live sockets", || {
            let server = BenchServer::start(ctx, &bench_dir.join("idle"))?;
            let summary = server.robot(
                ctx,
                &["--customers", "0", "--baristas", "0", "--watchers", "10000"],
                10,
            )?;
            let before = num(&summary["server_rss_before_bytes"]);
            let peak = num(&summary["server_rss_peak_bytes"]);
            let watchers = &summary["watchers"];
            figures.push(Figure {
                what: "server RSS with 10,000 idle live sockets".into(),
                value: format!(
                    "{:.0} MB ({:.0} MB before; {} of {} connected in {:.1} s)",
                    peak / 1e6,
                    before / 1e6,
                    num(&watchers["connected"]),
                    num(&watchers["requested"]),
                    num(&watchers["connect_s"]),
                ),
                goal: "< 200 MB",
            });
            server.stop()
        })?;
    }

    if wants("startup") {
        step("start-up time", || {
            let empty = (0..5)
                .map(|i| BenchServer::time_start(ctx, &bench_dir.join(format!("start-{i}")), None))
                .collect::<Result<Vec<_>>>()?;
            figures.push(Figure {
                what: "start-up → /healthz answers, new database (median of 5)".into(),
                value: format!("{:.0} ms", median_ms(&empty)),
                goal: "",
            });
            if let Some(db) = &loaded_db {
                let loaded = (0..5)
                    .map(|i| {
                        BenchServer::time_start(
                            ctx,
                            &bench_dir.join(format!("start-l{i}")),
                            Some(db),
                        )
                    })
                    .collect::<Result<Vec<_>>>()?;
                figures.push(Figure {
                    what: "start-up → /healthz answers, database of the throughput run".into(),
                    value: format!("{:.0} ms", median_ms(&loaded)),
                    goal: "",
                });
            }
            Ok(())
        })?;
    }

    if wants("store") {
        step(
            "store: commands/s through the server's store, raw SQLite beside it",
            || store_bench(ctx, &bench_dir.join("store"), plan, &mut figures),
        )?;
    }

    if wants("wasm") {
        step("web build: wasm size", || {
            ui::build_ui(ctx)?;
            for (build, apps) in ui::BUILDS {
                let wasm = ctx.dist().join(format!("app-{build}_bg.wasm"));
                // As the server sends it: build-ui's brotli and gzip twins.
                let size = |suffix: &str| -> Result<f64> {
                    let path = PathBuf::from(format!("{}{suffix}", wasm.display()));
                    let meta =
                        std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                    Ok(meta.len() as f64 / 1e3)
                };
                figures.push(Figure {
                    what: format!(
                        "web build wasm, as sent (brotli; gzip): the {build} build ({apps})"
                    ),
                    value: format!(
                        "{:.0} KB ({:.0} KB gzip, {:.0} KB raw)",
                        size(".br")?,
                        size(".gz")?,
                        size("")?
                    ),
                    goal: if build == "customer" {
                        "≤ 400 KB"
                    } else {
                        ""
                    },
                });
            }
            Ok(())
        })?;
    }

    if wants("first-screen") {
        // On this machine's loopback, and as a phone on a crowded venue's Wi-Fi would load it
        // (Chromium's slow-3G emulation: 2 s round trips, 50 KB/s).
        for (network, loads, goal) in [("loopback", "5", "< 1 s"), ("slow-3g", "3", "≤ 5 s")] {
            step(
                &format!("first screen in a fresh browser (headless Chromium, {network})"),
                || {
                    let server = BenchServer::start(ctx, &bench_dir.join("first-screen"))?;
                    let mut example = ctx.cargo();
                    example
                        .args([
                            "run",
                            "--quiet",
                            "-p",
                            "espresso-tests",
                            "--example",
                            "first_screen",
                            "--",
                        ])
                        .arg(&server.url)
                        .args([loads, network])
                        .stdout(Stdio::piped())
                        .stderr(Stdio::inherit());
                    let shown = describe(&example);
                    let out = example
                        .stdin(Stdio::null())
                        .output()
                        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
                    let text = String::from_utf8_lossy(&out.stdout);
                    print!("{text}");
                    if !out.status.success() {
                        return Err(format!("`{shown}` failed ({})", out.status));
                    }
                    for line in text.lines() {
                        if let Some(rest) = line.strip_prefix("first screen: ") {
                            let (app, figure) = rest.split_once(' ').unwrap_or((rest, ""));
                            figures.push(Figure {
                                what: format!(
                                    "first screen of the {app} app, cold, {network} (median of \
                                     {loads})"
                                ),
                                value: figure.to_owned(),
                                goal,
                            });
                        }
                    }
                    server.stop()
                },
            )?;
        }
    }

    if tauri && wants("tauri") {
        step("Tauri shell: release binary size", || {
            let mut build = ctx.cargo();
            build.args([
                "build",
                "--release",
                "-p",
                "espresso-app",
                "--features",
                "espresso-app/custom-protocol",
            ]);
            crate::ctx::run(&mut build)?;
            let binary = ctx.target_dir.join("release/espresso-app");
            let size = file_size(&binary)?;
            let stripped = bench_dir.join("espresso-app.stripped");
            let stripped_size = output(Command::new("strip").arg("-o").arg(&stripped).arg(&binary))
                .and_then(|_| file_size(&stripped).ok());
            figures.push(Figure {
                what: "Tauri shell release binary (web build embedded)".into(),
                value: match stripped_size {
                    Some(s) => format!("{:.1} MB ({:.1} MB stripped)", mb(size), mb(s)),
                    None => format!("{:.1} MB", mb(size)),
                },
                goal: "",
            });
            Ok(())
        })?;
    }

    if wants("criterion") {
        step("criterion: workflow decide/apply and the views", || {
            for (package, bench) in [
                ("espresso-server", "workflow"),
                ("espresso-protocol", "views"),
            ] {
                let mut run = ctx.cargo();
                run.args(["bench", "-p", package, "--bench", bench, "--"])
                    .args(plan.criterion)
                    .stdout(Stdio::piped());
                for (name, time) in criterion_results(&mut run)? {
                    figures.push(Figure {
                        what: name,
                        value: time,
                        goal: "",
                    });
                }
            }
            Ok(())
        })?;
    }

    print_table(&measured, &figures, start.elapsed());
    Ok(())
}

/// `--only`'s list, each a step of [`STEPS`].
fn steps(list: &str) -> Result<Vec<String>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            STEPS
                .contains(&s)
                .then(|| s.to_owned())
                .ok_or_else(|| format!("--only: no step {s:?} (steps: {})", STEPS.join(", ")))
        })
        .collect()
}

/// The server's CPU per lifecycle from the robot's summary, with what it is made of.
fn server_cpu(summary: &Value) -> String {
    let per = num(&summary["server_cpu_per_lifecycle_ms"]);
    if per.is_nan() {
        return "unknown (the robot could not read the server's /proc/PID/stat)".into();
    }
    let mut value = format!(
        "{per:.2} ms ({:.1} s of CPU over the {:.0} s timed phase: {:.2} cores)",
        num(&summary["server_cpu_ms"]) / 1e3,
        num(&summary["timed_phase_s"]),
        num(&summary["server_cpu_cores"]),
    );
    let writer = num(&summary["writer_cpu_per_lifecycle_ms"]);
    if !writer.is_nan() {
        let _ = write!(value, "; the writer thread {writer:.2} ms of it");
    }
    value
}

/// The robot's own CPU per lifecycle: with the server on the same cores, lifecycles/s is at
/// most the cores ÷ (server + robot) per lifecycle.
fn robot_cpu(summary: &Value) -> String {
    let per = num(&summary["robot_cpu_per_lifecycle_ms"]);
    if per.is_nan() {
        return "unknown".into();
    }
    format!(
        "{per:.2} ms ({:.1} s of CPU over the timed phase)",
        num(&summary["robot_cpu_ms"]) / 1e3
    )
}

/// The store bench (`espresso-store-bench`, release): its three runs, their rows.
fn store_bench(ctx: &Ctx, dir: &Path, plan: &Plan, figures: &mut Vec<Figure>) -> Result {
    BenchServer::fresh(dir)?;
    let out = dir.join("store.json");
    let mut run = Command::new(binary(ctx, "espresso-store-bench"));
    run.args(["--seconds", &plan.store_s.to_string(), "--tasks", "64"])
        .arg("--dir")
        .arg(dir)
        .arg("--json")
        .arg(&out);
    crate::ctx::run(&mut run)?;
    let text = std::fs::read_to_string(&out)
        .map_err(|e| format!("the store bench wrote no figures ({}): {e}", out.display()))?;
    let result: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", out.display()))?;
    let store = &result["store"];
    let errors = error_count(store);
    figures.push(Figure {
        what: "store: order commands/s through SqliteStore (durable, 64 tasks)".into(),
        value: format!(
            "{:.0} commands/s ({:.0} lifecycles/s of 4 commands; {errors} errors)",
            num(&store["commands_per_s"]),
            num(&store["lifecycles_per_s"]),
        ),
        goal: "",
    });
    for (key, what) in [
        (
            "raw_batch",
            "  raw SQLite, same writes, 64 commands per transaction",
        ),
        (
            "raw_one",
            "  raw SQLite, same writes, 1 command per transaction",
        ),
    ] {
        let raw = &result[key];
        figures.push(Figure {
            what: what.into(),
            value: format!(
                "{:.0} commands/s (store ÷ raw = {:.3})",
                num(&raw["commands_per_s"]),
                num(&raw["store_ratio"]),
            ),
            goal: "",
        });
    }
    Ok(())
}

/// The scale step's shops (made by the robot as the admin): each with its own customers,
/// baristas, staff screens and booth display; the robot's timed phases run together.
const SCALE_SHOPS: &str = "bar-1,bar-2,bar-3";

/// The throughput step's workload over [`SCALE_SHOPS`] (a third of its people in each shop),
/// first on one server on SQLite, then on N = 1, 2, 3 servers on one throwaway PostgreSQL (a
/// new database for each N). With several servers the robot puts each shop's baristas on one
/// server and its customers and display on the others (`espresso-robot --servers`), so every
/// action reaches its watchers through the database (LISTEN/NOTIFY).
fn scale(ctx: &Ctx, dir: &Path, plan: &Plan, figures: &mut Vec<Figure>) -> Result {
    BenchServer::fresh(dir)?;
    // Not under the target folder: PostgreSQL runs as `nobody`, who cannot enter /root.
    let cluster_dir = std::env::temp_dir().join("espresso-bench-postgres");
    let _ = std::fs::remove_dir_all(&cluster_dir);
    let cluster = LocalPostgres::start(&cluster_dir)?;
    let outcome = (|| {
        let sqlite_dir = dir.join("sqlite");
        let sqlite = BenchServer::start(ctx, &sqlite_dir)?;
        let summary = scale_robot(ctx, &sqlite_dir, &[&sqlite], None, plan.run_s)?;
        scale_figures("SQLite, 1 server", &summary, figures);
        sqlite.stop()?;
        for n in 1..=3 {
            let url = cluster.create_database(&format!("scale{n}"))?;
            let run_dir = dir.join(format!("postgres-{n}"));
            BenchServer::fresh(&run_dir)?;
            let servers = (0..n)
                .map(|i| {
                    BenchServer::start_on(
                        ctx,
                        &run_dir,
                        &format!("server-{i}.log"),
                        &url,
                        run_dir.join("(postgres)"),
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            let refs: Vec<&BenchServer> = servers.iter().collect();
            let summary = scale_robot(ctx, &run_dir, &refs, cluster.pid(), plan.run_s)?;
            let what = if n == 1 {
                "PostgreSQL, 1 server".to_owned()
            } else {
                format!("PostgreSQL, {n} servers")
            };
            scale_figures(&what, &summary, figures);
            for server in servers {
                server.stop()?;
            }
        }
        Ok(())
    })();
    cluster.stop();
    let _ = std::fs::remove_dir_all(&cluster_dir);
    outcome
}

/// The robot's flags for full lifecycles as fast as they go (scan → choose → claim → complete →
/// collect): `customers` each with their phone's live stream, `baristas` sharing `screens` staff
/// screens, one booth display, drinks made in no time, nobody cancels.
fn lifecycles_flat_out<'a>(
    customers: &'a str,
    baristas: &'a str,
    screens: &'a str,
) -> [&'a str; 14] {
    [
        "--customers",
        customers,
        "--baristas",
        baristas,
        "--barista-screens",
        screens,
        "--watchers",
        "1",
        "--rate",
        "0",
        "--make-time",
        "0ms..0ms",
        "--cancel-rate",
        "0",
    ]
}

/// The robot over [`SCALE_SHOPS`] and `servers`; its summary with the load average beside it.
fn scale_robot(
    ctx: &Ctx,
    dir: &Path,
    servers: &[&BenchServer],
    database_pid: Option<u32>,
    seconds: u64,
) -> Result<Value> {
    let summary = dir.join("robot.json");
    let urls: Vec<&str> = servers.iter().map(|s| s.url.as_str()).collect();
    let pids: Vec<String> = servers.iter().map(|s| s.child.id().to_string()).collect();
    let mut robot = Command::new(binary(ctx, "espresso-robot"));
    robot
        .args(["--servers", &urls.join(",")])
        .args(["--shops", SCALE_SHOPS, "--create-shop"])
        .arg("--mail-dir")
        .arg(dir.join("mail"))
        .args(["--admin", ADMIN])
        .args(["--duration", &format!("{seconds}s")])
        .args(["--server-pid", &pids[0]])
        .arg("--json")
        .arg(&summary)
        .args(lifecycles_flat_out("100", "8", "2"));
    if pids.len() > 1 {
        robot.args(["--cpu-pids", &pids[1..].join(",")]);
    }
    if let Some(pid) = database_pid {
        robot.args(["--database-pid", &pid.to_string()]);
    }
    let load_before = load_average();
    crate::ctx::run(&mut robot)?;
    let text = std::fs::read_to_string(&summary)
        .map_err(|e| format!("the robot wrote no summary ({}): {e}", summary.display()))?;
    let mut value: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", summary.display()))?;
    value["load_average"] = Value::String(format!("{load_before} → {}", load_average()));
    Ok(value)
}

/// `/proc/loadavg`'s 1-minute figure.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// The figures of a multi-shop run (`{"shops": [summary, …]}`): lifecycles/s summed over the
/// shops, the worst shop's percentiles, CPU per lifecycle (every server's, the database's).
fn scale_figures(what: &str, summary: &Value, figures: &mut Vec<Figure>) {
    let shops = summary["shops"].as_array().cloned().unwrap_or_default();
    let per_s: f64 = shops.iter().map(|s| num(&s["lifecycles_per_s"])).sum();
    let lifecycles: f64 = shops.iter().map(|s| num(&s["lifecycles_completed"])).sum();
    let errors: u64 = shops.iter().map(error_count).sum();
    let worst = |key: &str, field: &str| {
        shops
            .iter()
            .map(|s| num(&s[key][field]))
            .fold(f64::NAN, f64::max)
    };
    let worst_call = |call: &str, field: &str| {
        shops
            .iter()
            .map(|s| num(&s["api"][call][field]))
            .fold(f64::NAN, f64::max)
    };
    let first = shops.first().cloned().unwrap_or(Value::Null);
    // Lifecycles of the timed phase (the CPU's window), not of the drain after it.
    let timed = per_s * num(&first["timed_phase_s"]);
    let per = |ms: f64| ms / timed.max(1.0);
    figures.push(Figure {
        what: format!("scale, {what}: lifecycles/s over {} shops", shops.len()),
        value: format!(
            "{per_s:.0}/s ({lifecycles:.0} in {:.0} s; {errors} errors; load average {})",
            num(&first["timed_phase_s"]),
            summary["load_average"].as_str().unwrap_or("?"),
        ),
        goal: "",
    });
    figures.push(Figure {
        what: "  fan-out: action → display and customer (worst shop)".into(),
        value: format!(
            "p50 {:.2} · p99 {:.2} · max {:.1} ms",
            worst("fanout_each", "p50_ms"),
            worst("fanout_each", "p99_ms"),
            worst("fanout_each", "max_ms"),
        ),
        goal: "",
    });
    figures.push(Figure {
        what: "  claim / collect call, p50 · p99 (worst shop)".into(),
        value: format!(
            "{:.2} · {:.2} / {:.2} · {:.2} ms",
            worst_call("claim", "p50_ms"),
            worst_call("claim", "p99_ms"),
            worst_call("collect", "p50_ms"),
            worst_call("collect", "p99_ms"),
        ),
        goal: "",
    });
    let database = num(&first["database_cpu_ms"]);
    figures.push(Figure {
        what: "  CPU per lifecycle: the servers (summed) / the database".into(),
        value: format!(
            "{:.2} ms / {} ({:.2} + {} cores)",
            per(num(&first["server_cpu_ms"])),
            if database.is_nan() {
                "in the server (SQLite)".to_owned()
            } else {
                format!("{:.2} ms", per(database))
            },
            num(&first["server_cpu_ms"]) / 1e3 / num(&first["timed_phase_s"]),
            if database.is_nan() {
                "0".to_owned()
            } else {
                format!("{:.2}", database / 1e3 / num(&first["timed_phase_s"]))
            },
        ),
        goal: "",
    });
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn file_size(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn percentiles(stats: &Value) -> String {
    if num(&stats["count"]) == 0.0 {
        return "no samples".into();
    }
    format!(
        "p50 {:.2} · p95 {:.2} · p99 {:.2} · max {:.1} ms (n={})",
        num(&stats["p50_ms"]),
        num(&stats["p95_ms"]),
        num(&stats["p99_ms"]),
        num(&stats["max_ms"]),
        num(&stats["count"]),
    )
}

/// The sum of an `errors` object's counts (a summary's or a store run's).
fn error_count(summary: &Value) -> u64 {
    summary["errors"]
        .as_object()
        .map_or(0, |errors| errors.values().filter_map(Value::as_u64).sum())
}

/// A figure of a summary, or NaN (which prints as such: a missing figure is never shown as 0).
fn num(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

fn median_ms(samples: &[Duration]) -> f64 {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    ms.get(ms.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Criterion's lines that are not a bench's name.
const NOT_A_NAME: &[&str] = &[
    "Found ",
    "Benchmarking ",
    "Performance ",
    "No change",
    "Change within",
    "Running ",
    "Gnuplot",
    "WARNING",
    "Warning",
];

/// Run a criterion bench, echoing it, and return `(name, "time [low est high]")` per bench.
fn criterion_results(command: &mut Command) -> Result<Vec<(String, String)>> {
    let shown = describe(command);
    let mut child = command
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut results = Vec::new();
    let mut name = String::new();
    for line in BufReader::new(stdout)
        .lines()
        .map_while(std::result::Result::ok)
    {
        println!("{line}");
        let trimmed = line.trim();
        if let Some((before, after)) = trimmed.split_once("time:") {
            // `name  time: [...]`, or the name alone on the line before (long names).
            if !before.trim().is_empty() {
                name = before.trim().to_owned();
            }
            let estimate = after
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split_whitespace()
                .collect::<Vec<_>>();
            // [low unit est unit high unit]: the middle estimate
            let value = match estimate.as_slice() {
                [_, _, est, unit, ..] => format!("{est} {unit}"),
                _ => after.trim().to_owned(),
            };
            results.push((format!("criterion: {name}"), value));
        } else if !line.starts_with(' ')
            && !trimmed.is_empty()
            && !NOT_A_NAME.iter().any(|p| trimmed.starts_with(p))
        {
            name = trimmed.to_owned();
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("`{shown}` failed ({status})"));
    }
    Ok(results)
}

/// Where the bench keeps the release binaries it built (see [`keep_binaries`]).
fn binary(ctx: &Ctx, name: &str) -> PathBuf {
    ctx.target_dir.join("bench/bin").join(name)
}

/// Copy the release binaries from `from` (`release/`, which every checkout sharing the target
/// folder writes, or `--binaries DIR`) to where the runs take them, so every run measures the
/// same build.
fn keep_binaries(ctx: &Ctx, from: &Path) -> Result {
    for name in ["espresso-server", "espresso-robot", "espresso-store-bench"] {
        let built = from.join(name);
        let kept = binary(ctx, name);
        // `--binaries` naming the kept folder itself: they are in place (copying would unlink
        // them first).
        if built.canonicalize().ok() == kept.canonicalize().ok() && kept.exists() {
            continue;
        }
        if let Some(dir) = kept.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        // Unlink first: a copy over a binary still running would be refused.
        let _ = std::fs::remove_file(&kept);
        std::fs::copy(&built, &kept)
            .map_err(|e| format!("cannot copy {} to {}: {e}", built.display(), kept.display()))?;
    }
    Ok(())
}

/// The checkout measured: `git describe --always --dirty`.
fn commit(ctx: &Ctx) -> String {
    output(
        Command::new("git")
            .arg("-C")
            .arg(&ctx.root)
            .args(["describe", "--always", "--dirty"]),
    )
    .map_or_else(|| "unknown".into(), |c| c.trim().to_owned())
}

fn print_table(commit: &str, figures: &[Figure], elapsed: Duration) {
    let machine = machine();
    let width = figures
        .iter()
        .map(|f| f.what.chars().count())
        .max()
        .unwrap_or(0);
    println!();
    println!("Espresso benchmarks — {machine}; commit {commit}");
    println!();
    for figure in figures {
        let pad = width - figure.what.chars().count();
        print!("  {}{}  {}", figure.what, " ".repeat(pad), figure.value);
        if figure.goal.is_empty() {
            println!();
        } else {
            println!("   [goal: {}]", figure.goal);
        }
    }
    println!();
    println!("cargo xtask bench: {:.0} s in all", elapsed.as_secs_f64());
}

/// "2 cores, 24 GB RAM, Linux 6.x" from /proc.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let ram_kb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "{cores} cores ({cpu}), {:.0} GB RAM",
        ram_kb as f64 / 1024.0 / 1024.0
    )
}

/// A release server on a fresh database in `dir`, mail to `dir/mail`, the robot's admin.
struct BenchServer {
    child: Child,
    url: String,
    dir: PathBuf,
    database: PathBuf,
}

impl BenchServer {
    fn command(ctx: &Ctx, dir: &Path, database: &str) -> Command {
        let mut command = Command::new(binary(ctx, "espresso-server"));
        command
            .arg("serve")
            .args(["--addr", "127.0.0.1:0"])
            .arg("--database")
            .arg(database)
            .arg("--mailer")
            .arg(format!("dir:{}", dir.join("mail").display()))
            .args(["--admin", ADMIN])
            .arg("--web-dir")
            .arg(ctx.dist())
            // The robot signs hundreds of people in from one address.
            .env("ESPRESSO_OTP_IP_LIMIT_PER_HOUR", "1000000")
            // ...and opens thousands of sockets from it (older binaries ignore these).
            .env("ESPRESSO_MAX_CONNECTIONS_PER_ADDRESS", "0")
            .env("ESPRESSO_MAX_CONNECTIONS", "100000")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        command
    }

    fn fresh(dir: &Path) -> Result<()> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
    }

    fn start(ctx: &Ctx, dir: &Path) -> Result<Self> {
        Self::fresh(dir)?;
        let database = dir.join("espresso.db");
        let url = format!("sqlite://{}", database.display());
        Self::start_on(ctx, dir, "server.log", &url, database)
    }

    /// A release server on `url` (a database that may be shared: several of them on one
    /// PostgreSQL), mail to `dir/mail`, its log in `dir/log`.
    fn start_on(ctx: &Ctx, dir: &Path, log: &str, url: &str, database: PathBuf) -> Result<Self> {
        let log = std::fs::File::create(dir.join(log)).map_err(|e| e.to_string())?;
        let mut child = Self::command(ctx, dir, url)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start the release server: {e}"))?;
        let url = listening_url(&mut child)?;
        Ok(Self {
            child,
            url,
            dir: dir.to_path_buf(),
            database,
        })
    }

    /// Spawn → `/healthz` answers 200, on a copy of `database` (or a new one).
    fn time_start(ctx: &Ctx, dir: &Path, database: Option<&Path>) -> Result<Duration> {
        Self::fresh(dir)?;
        let target = dir.join("espresso.db");
        if let Some(source) = database {
            std::fs::copy(source, &target).map_err(|e| format!("copy database: {e}"))?;
        }
        let started = Instant::now();
        let mut child = Self::command(ctx, dir, &format!("sqlite://{}", target.display()))
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the release server: {e}"))?;
        let url = listening_url(&mut child)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while !healthz(&url) {
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(format!("{url}/healthz did not answer within 30 s"));
            }
            // Listening already: each try is a connect; no sleep, so the figure stays exact.
            std::thread::yield_now();
        }
        let took = started.elapsed();
        let _ = child.kill();
        let _ = child.wait();
        Ok(took)
    }

    /// Run the release robot against this server for `seconds`; its JSON summary.
    fn robot(&self, ctx: &Ctx, args: &[&str], seconds: u64) -> Result<Value> {
        let summary = self.dir.join("robot.json");
        let mut robot = Command::new(binary(ctx, "espresso-robot"));
        robot
            .args(["--server", &self.url])
            .arg("--mail-dir")
            .arg(self.dir.join("mail"))
            .args(["--admin", ADMIN])
            .args(["--duration", &format!("{seconds}s")])
            .args(["--server-pid", &self.child.id().to_string()])
            .arg("--json")
            .arg(&summary)
            .args(args);
        crate::ctx::run(&mut robot)?;
        let text = std::fs::read_to_string(&summary)
            .map_err(|e| format!("the robot wrote no summary ({}): {e}", summary.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", summary.display()))
    }

    /// A counter from `/metrics`.
    fn metric(&self, name: &str) -> Option<f64> {
        let body = http_get(&self.url, "/metrics")?;
        body.lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
    }

    fn stop(mut self) -> Result {
        let _ = self.child.kill();
        let _ = self.child.wait();
        Ok(())
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's first stdout line is `listening on http://127.0.0.1:PORT`; the rest is drained.
fn listening_url(child: &mut Child) -> Result<String> {
    let stdout = child.stdout.take().ok_or("server stdout missing")?;
    let mut lines = BufReader::new(stdout).lines();
    let first = lines
        .next()
        .and_then(std::result::Result::ok)
        .ok_or("the server printed nothing (see its log)")?;
    let url = first
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("unexpected first line from the server: {first:?}"))?
        .trim()
        .to_owned();
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Ok(url)
}

fn healthz(url: &str) -> bool {
    http_get(url, "/healthz").is_some()
}

/// A GET to the local server: the body if the answer is 200.
fn http_get(url: &str, path: &str) -> Option<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let mut answer = agent
        .get(format!("{}{path}", url.trim_end_matches('/')))
        .call()
        .ok()?;
    answer.body_mut().read_to_string().ok()
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn reads_a_robot_summary() {
        let summary: Value = serde_json::from_str(
            r#"{"lifecycles_per_s": 512.5, "api": {"claim": {"count": 3, "p99_ms": 1.25e0}},
                "errors": {"queue_full": 2, "network": 1}, "server_rss_peak_bytes": null}"#,
        )
        .expect("valid JSON");
        assert_eq!(num(&summary["lifecycles_per_s"]), 512.5);
        assert_eq!(num(&summary["api"]["claim"]["p99_ms"]), 1.25);
        assert_eq!(error_count(&summary), 3);
        assert!(num(&summary["server_rss_peak_bytes"]).is_nan());
        assert!(num(&summary["missing"]["deeper"]).is_nan());
        assert_eq!(error_count(&summary["api"]), 0);
    }

    /// One connection answered with `status` and the body `ok`.
    fn answer_once(status: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            let _ = write!(stream, "HTTP/1.1 {status}\r\ncontent-length: 2\r\n\r\nok");
        });
        url
    }

    #[test]
    fn http_get_gives_the_body_of_a_200_only() {
        assert_eq!(
            http_get(&answer_once("200 OK"), "/metrics").as_deref(),
            Some("ok")
        );
        assert_eq!(
            http_get(&answer_once("503 Service Unavailable"), "/healthz"),
            None
        );
        assert!(!healthz("http://127.0.0.1:1"));
    }
}
