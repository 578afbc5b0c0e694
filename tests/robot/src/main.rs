//! `espresso-robot`: see `espresso-robot --help` and the README's "The order robot".
//!
//! Exit codes: 0 done, 1 the run failed (server unreachable, sign-in refused, …), 2 bad flags,
//! 130 a second Ctrl-C (quit without restoring the shop).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use espresso_robot::cli::Args;
use espresso_robot::{Stop, run};

/// mimalloc, as the server: the robot shares the machine with the server it measures, and with
/// the system allocator it spent a quarter of its time in `malloc` (hundreds of connections
/// decoding frames and answers on two threads).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        // --help and --version exit 0; a bad flag prints clap's message and exits 2.
        Err(error) => error.exit(),
    };
    let json = args.json.clone();
    let burst = args.burst.map(|actions| (actions, args.watchers.max(1)));
    let mut configs = match args.into_configs(std::io::stdout().is_terminal()) {
        Ok(configs) => configs,
        Err(message) => {
            eprintln!("error: {message}\n\nFor more information, try '--help'.");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let stop = Stop::new();
        tokio::spawn({
            let stop = stop.clone();
            async move {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                eprintln!(
                    "\nstopping: cleaning up and restoring the shop… (Ctrl-C again to quit at once)"
                );
                stop.stop();
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("quit without restoring the shop's limits and open state");
                    std::process::exit(130);
                }
            }
        });
        if configs.len() > 1 {
            return several_shops(configs, stop, json.as_deref()).await;
        }
        let Some(config) = configs.pop() else {
            return ExitCode::FAILURE;
        };
        if let Some((actions, displays)) = burst {
            return match espresso_robot::burst::run(config, actions, displays, stop).await {
                Ok(summary) => finish(&summary.table(), &summary.to_json(), json.as_deref()),
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::FAILURE
                }
            };
        }
        match run(config, stop).await {
            Ok(summary) => finish(&summary.table(), &summary.to_json(), json.as_deref()),
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        }
    })
}

/// One run per shop, their timed phases together; each shop's table, and the JSON summary
/// `{"shops": [summary, …]}`. The first failure stops the others.
async fn several_shops(
    configs: Vec<espresso_robot::Config>,
    stop: Stop,
    json: Option<&std::path::Path>,
) -> ExitCode {
    let mut runs = tokio::task::JoinSet::new();
    for (index, config) in configs.into_iter().enumerate() {
        let stop = stop.clone();
        runs.spawn(async move {
            let shop = config.shop.to_string();
            let outcome = run(config, stop.clone()).await;
            if outcome.is_err() {
                stop.stop();
            }
            (index, shop, outcome)
        });
    }
    let mut outcomes = Vec::new();
    while let Some(joined) = runs.join_next().await {
        match joined {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => {
                eprintln!("error: a shop's run failed: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    outcomes.sort_by_key(|(index, _, _)| *index);
    let mut summaries = Vec::new();
    let mut failed = false;
    for (_, shop, outcome) in outcomes {
        match outcome {
            Ok(summary) => {
                println!("shop {shop}:");
                print!("{}", summary.table());
                summaries.push(summary.to_json());
            }
            Err(error) => {
                eprintln!("error: shop {shop}: {error:#}");
                failed = true;
            }
        }
    }
    if failed {
        return ExitCode::FAILURE;
    }
    finish("", &serde_json::json!({ "shops": summaries }), json)
}

/// Print the table and write the JSON summary where asked.
fn finish(table: &str, summary: &serde_json::Value, json: Option<&std::path::Path>) -> ExitCode {
    print!("{table}");
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(summary).unwrap_or_default();
        if let Err(error) = std::fs::write(path, text + "\n") {
            eprintln!("error: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
