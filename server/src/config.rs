//! Server configuration: every flag has an `ESPRESSO_*` environment fallback and a safe default.

use std::net::SocketAddr;
use std::path::PathBuf;

/// The database `serve` (and `users grant`) use unless told otherwise.
pub const DEFAULT_DATABASE: &str = "sqlite://data/espresso.db";

#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on. `127.0.0.1:0` picks a free port; the bound address is printed first.
    #[arg(long, env = "ESPRESSO_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Database URL. `sqlite://PATH` keeps everything in one file (created if missing).
    #[arg(
        long,
        env = "ESPRESSO_DATABASE",
        default_value = DEFAULT_DATABASE
    )]
    pub database: String,

    /// Where sign-in codes go: `log` (print them), `dir:PATH` (one .eml per message) or `smtp://…`.
    #[arg(long, env = "ESPRESSO_MAILER", default_value = "log")]
    pub mailer: String,

    /// The URL customers' phones reach this server at; the booth QR code points there.
    #[arg(
        long,
        env = "ESPRESSO_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,

    /// Grant this email the admin role at start (first-time setup).
    #[arg(long, env = "ESPRESSO_ADMIN")]
    pub admin: Option<String>,

    /// The web build of the three apps (index.html and its wasm), served at `/`.
    #[arg(long, env = "ESPRESSO_WEB_DIR", default_value = "dist")]
    pub web_dir: PathBuf,
}

impl ServeConfig {
    /// A configuration for tests and tools: a free loopback port, the given database, log mailer.
    pub fn for_tests(database: impl Into<String>, web_dir: impl Into<PathBuf>) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: database.into(),
            mailer: "log".into(),
            public_url: "http://127.0.0.1:0".into(),
            admin: None,
            web_dir: web_dir.into(),
        }
    }
}
