//! `espresso-server`: the command line. Parses flags (with `ESPRESSO_*` env fallbacks) and hands
//! over to the library; no behaviour lives here.

use clap::{Parser, Subcommand};
use espresso_server::config::ServeConfig;

#[derive(Debug, Parser)]
#[command(name = "espresso-server", version, about = "The Espresso coffee-bar server", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API, the live stream and the three web apps.
    Serve(ServeConfig),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    espresso_server::telemetry::init();
    match Cli::parse().command {
        Command::Serve(config) => {
            let server = espresso_server::Server::start(config).await?;
            // The first stdout line is part of the contract (API.md): tools read the port from it.
            println!("listening on http://{}", server.local_addr());
            server.run_until_signal().await
        }
    }
}
