//! Structured logs (tracing) to stderr, so stdout stays for the machine-readable lines.

use tracing_subscriber::EnvFilter;

/// Install the global subscriber once. `RUST_LOG` overrides the default `info` level.
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
