//! Where sign-in codes go: `log` (printed), `dir:PATH` (one .eml file per message), `smtp://…`.

use std::path::PathBuf;

/// The configured mail transport.
#[derive(Debug, Clone)]
pub enum Mailer {
    /// Print the message to the log (development, a café without mail).
    Log,
    /// Write `PATH/<timestamp>-<to>.eml` (tests and tools read the code from there).
    Dir(PathBuf),
}

impl Mailer {
    /// Parse `--mailer`.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        if spec == "log" {
            Ok(Self::Log)
        } else if let Some(path) = spec.strip_prefix("dir:") {
            Ok(Self::Dir(PathBuf::from(path)))
        } else {
            anyhow::bail!("unsupported mailer {spec:?}: expected log or dir:PATH")
        }
    }
}
