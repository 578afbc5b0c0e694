//! `espresso-server`: the command line. Parses flags (with `ESPRESSO_*` env fallbacks) and hands
//! over to the library; no behaviour lives here.

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use espresso_protocol::Role;
use espresso_server::auth;
use espresso_server::config::DEFAULT_DATABASE;
use espresso_server::config::ServeConfig;

/// mimalloc rather than the system allocator: a request allocates many small buffers on one
/// worker thread and frees them on another; measured in docs/BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "espresso-server",
    version,
    about = "The Espresso coffee-bar server",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API, the live stream and the three web apps.
    Serve(Box<ServeConfig>),
    /// Manage users without a running server (e.g. the first barista).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Give EMAIL the role ROLE (creating the user if unknown) and print the user as JSON.
    Grant {
        /// The user's email address.
        email: String,
        /// The role to add; `admin` may also do what a barista and a display do.
        #[arg(value_enum)]
        role: RoleArg,
        /// Database URL, as for `serve`.
        #[arg(long, env = "ESPRESSO_DATABASE", default_value = DEFAULT_DATABASE)]
        database: String,
    },
}

/// The roles as the command line spells them (the protocol's `Role` knows nothing of clap).
#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Customer,
    Barista,
    Display,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Customer => Role::Customer,
            RoleArg::Barista => Role::Barista,
            RoleArg::Display => Role::Display,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let log_mailer = matches!(&cli.command, Command::Serve(config) if config.mailer == "log");
    espresso_server::telemetry::init(log_mailer);
    match cli.command {
        Command::Serve(config) => {
            if log_mailer && !config.addr.ip().is_loopback() {
                tracing::warn!(
                    "--mailer log writes sign-in codes into this log, and this server is reachable \
                     from the network: whoever reads the log can sign in as anyone. Use \
                     --mailer smtp://… for a real café (OPERATIONS.md)"
                );
            }
            raise_open_files_limit();
            let admin = config.admin.clone();
            let server = espresso_server::Server::start(*config).await?;
            if let Some(email) = admin {
                // Through the server's own store, so it also works for an in-memory database.
                let admin = auth::grant_admin(server.store(), &email, Utc::now())
                    .await
                    .context("--admin")?;
                tracing::info!(email = %admin.email, "admin role granted");
            }
            // The first stdout line is part of the contract (API.md): tools read the port from it.
            println!("listening on http://{}", server.local_addr());
            server.run_until_signal().await
        }
        Command::Users {
            command:
                UsersCommand::Grant {
                    email,
                    role,
                    database,
                },
        } => {
            // The public URL only shapes booth-code answers; nothing here gives one.
            let store = espresso_server::store::open(&database, "http://127.0.0.1:8080").await?;
            let granted = auth::grant(&*store, &email, role.into(), Utc::now()).await;
            println!("{}", serde_json::to_string(&granted?.user())?);
            Ok(())
        }
    }
}

/// Every live screen is a socket and so an open file: lift the soft limit (often 1,024) to the
/// hard one, so a conference floor of phones and displays is not refused at the door.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open files limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open files limit"),
    }
}
