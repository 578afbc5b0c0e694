//! Structured logs (tracing) to stderr, so stdout stays for the machine-readable lines.

use std::io::IsTerminal;

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
        .with_ansi(colours(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        ))
        .try_init();
}

/// Colours only for a person at a terminal who has not asked for none (`NO_COLOR`): a log
/// file or journal gets plain text, not escape codes around every field (and a server that
/// logs a line per request does not format them).
fn colours(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|value| value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::colours;

    #[test]
    fn a_log_is_coloured_only_at_a_terminal_without_no_color() {
        assert!(colours(true, None));
        assert!(colours(true, Some("".into())));
        assert!(!colours(false, None), "a file or a pipe gets plain text");
        assert!(!colours(true, Some("1".into())), "NO_COLOR is honoured");
    }
}
