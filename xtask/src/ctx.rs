//! Where things are (workspace, target directory) and how xtask runs commands.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

pub type Result<T = ()> = std::result::Result<T, String>;

pub struct Ctx {
    pub root: PathBuf,
    pub target_dir: PathBuf,
}

impl Ctx {
    pub fn new() -> Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("xtask must live inside the workspace")?
            .to_path_buf();
        // A target directory outside the clone: a second clone (CI's) reuses every dependency.
        let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => match std::env::var_os("HOME") {
                Some(home) => PathBuf::from(home).join(".cache/espresso/target"),
                None => root.join("target"),
            },
        };
        Ok(Self { root, target_dir })
    }

    pub fn dist(&self) -> PathBuf {
        self.root.join("dist")
    }

    /// `cargo` with this workspace's target directory, run from the workspace root.
    pub fn cargo(&self) -> Command {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &self.target_dir);
        command
    }
}

/// Run `command` with inherited output; an error names the command and its status.
pub fn run(command: &mut Command) -> Result {
    let shown = describe(command);
    let status = command
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Run `command`, returning its stdout if it succeeded (stderr dropped).
pub fn output(command: &mut Command) -> Option<String> {
    let out = command
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Is `program` on PATH (or an existing path)?
pub fn which(program: &str) -> Option<PathBuf> {
    let candidate = Path::new(program);
    if candidate.components().count() > 1 {
        return candidate.is_file().then(|| candidate.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

pub fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// A named step whose duration is printed when it ends.
pub fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    eprintln!("\n==> {name}");
    let start = Instant::now();
    let result = f();
    eprintln!(
        "<== {name}: {} in {:.1?}",
        if result.is_ok() { "done" } else { "FAILED" },
        start.elapsed()
    );
    result
}
