//! Structured logs (tracing) to stderr, so stdout stays for the machine-readable lines.

use tracing_subscriber::EnvFilter;

/// Install the global subscriber once. `RUST_LOG` overrides the default `info` level.
/// `show_codes`: the default filter also shows the `log` mailer's sign-in codes (DEBUG, their own
/// target); an explicit `RUST_LOG` decides for itself.
pub fn init(show_codes: bool) {
    let default = if show_codes {
        format!(
            "info,sqlx=warn,tower_http=info,{}=debug",
            crate::mailer::CODES_TARGET
        )
    } else {
        "info,sqlx=warn,tower_http=info".to_owned()
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
