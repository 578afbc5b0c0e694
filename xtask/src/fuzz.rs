//! The API fuzz: schemathesis (a venv that `setup` installs) against the real debug server.
//!
//! Starts `espresso-server serve --addr 127.0.0.1:0` on a fresh database in a folder of its own,
//! with the `dir:` mailer and an admin, then hands over to `xtask/fuzz/fuzz.py`, which signs in
//! as each role, seeds the shop and runs schemathesis over every operation of
//! `/api/openapi.json` (docs/CI.md). The server is stopped when the fuzz ends.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::ctx::{Ctx, Result, describe};

/// The admin the server is started with (`--admin`); the fuzz signs in as it.
const ADMIN: &str = "admin@fuzz.example.com";

/// Where `setup` keeps the fuzzer's Python environment (inside the cache, beside the builds).
pub fn venv(ctx: &Ctx) -> PathBuf {
    ctx.target_dir.join("fuzz-venv")
}

/// The pinned Python packages (schemathesis and everything it pulls in).
pub fn requirements(ctx: &Ctx) -> PathBuf {
    ctx.root.join("xtask/fuzz/requirements.txt")
}

/// The copy of the requirements a finished install leaves in the venv: equal means up to date.
pub fn installed_stamp(ctx: &Ctx) -> PathBuf {
    venv(ctx).join("espresso-requirements.txt")
}

/// Is the venv there with exactly the pinned packages?
pub fn venv_ready(ctx: &Ctx) -> bool {
    let wanted = std::fs::read(requirements(ctx)).ok();
    wanted.is_some()
        && std::fs::read(installed_stamp(ctx)).ok() == wanted
        && venv(ctx).join("bin/python").is_file()
}

/// A server for the fuzz, killed when dropped.
struct FuzzServer {
    child: Child,
}

impl Drop for FuzzServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(binary: &Path, dir: &Path) -> Result<(FuzzServer, String)> {
    let log = std::fs::File::create(dir.join("server.log"))
        .map_err(|e| format!("cannot create the server log in {}: {e}", dir.display()))?;
    let mut command = Command::new(binary);
    command
        .args(["serve", "--addr", "127.0.0.1:0"])
        .arg("--database")
        .arg(format!("sqlite://{}", dir.join("espresso.db").display()))
        .arg("--mailer")
        .arg(format!("dir:{}", dir.join("mail").display()))
        .arg("--web-dir")
        .arg(dir.join("web"))
        .args(["--admin", ADMIN])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log);
    let shown = describe(&command);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    let stdout = child.stdout.take().ok_or("server stdout missing")?;
    let server = FuzzServer { child };
    let mut lines = BufReader::new(stdout).lines();
    let first = lines
        .next()
        .and_then(std::result::Result::ok)
        .ok_or_else(|| {
            format!(
                "the server printed nothing (see {})",
                dir.join("server.log").display()
            )
        })?;
    let url = first
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("unexpected first line from the server: {first:?}"))?
        .trim()
        .to_owned();
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Ok((server, url))
}

/// `fuzz result: 112 passed; 0 failed` → (passed, failed).
fn parse_result(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("fuzz result: ")?;
    let mut passed = None;
    let mut failed = None;
    for part in rest.split(';') {
        let mut words = part.split_whitespace();
        let n = words.next()?.parse::<u64>().ok()?;
        match words.next()? {
            "passed" => passed = Some(n),
            "failed" => failed = Some(n),
            _ => {}
        }
    }
    Some((passed?, failed?))
}

/// Run the fuzz against a fresh debug server (already built). Returns (passed, failed) operation
/// runs and whether the fuzz succeeded; the output (with every failure's reproducer) is echoed.
pub fn fuzz(ctx: &Ctx) -> (u64, u64, Result) {
    match run(ctx) {
        Ok((passed, failed, result)) => (passed, failed, result),
        Err(error) => (0, 1, Err(error)),
    }
}

fn run(ctx: &Ctx) -> Result<(u64, u64, Result)> {
    if !venv_ready(ctx) {
        return Err("the fuzzer's venv is missing or outdated: run `cargo xtask setup`".into());
    }
    let binary = ctx.target_dir.join("debug/espresso-server");
    if !binary.is_file() {
        return Err(format!(
            "{} is missing: `cargo build -p espresso-server`",
            binary.display()
        ));
    }
    // A folder of its own, emptied first: the database, the mail, the server log, the reports.
    let dir = ctx.target_dir.join("fuzz");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("mail"))
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (server, url) = start_server(&binary, &dir)?;

    let mut python = Command::new(venv(ctx).join("bin/python"));
    python
        .arg(ctx.root.join("xtask/fuzz/fuzz.py"))
        .args(["--url", &url])
        .arg("--mail-dir")
        .arg(dir.join("mail"))
        .args(["--admin", ADMIN])
        .arg("--out")
        .arg(dir.join("reports"))
        .current_dir(&ctx.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let shown = describe(&python);
    let mut child = python
        .spawn()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    let mut tally = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout)
            .lines()
            .map_while(std::result::Result::ok)
        {
            println!("{line}");
            if let Some(result) = parse_result(&line) {
                tally = Some(result);
            }
        }
    }
    let status = child.wait().map_err(|e| format!("`{shown}`: {e}"))?;
    drop(server);
    eprintln!(
        "fuzz reports and server log: {} (server.log, reports/*.xml)",
        dir.display()
    );
    let (passed, failed) = tally.unwrap_or((0, 1));
    let result = if status.success() && tally.is_some() {
        Ok(())
    } else {
        Err(format!(
            "the API fuzz found {failed} failing operation runs (see its summary above)"
        ))
    };
    Ok((passed, failed, result))
}

#[cfg(test)]
mod tests {
    use super::parse_result;

    #[test]
    fn reads_the_fuzz_result_line() {
        assert_eq!(
            parse_result("fuzz result: 112 passed; 3 failed"),
            Some((112, 3))
        );
        assert_eq!(
            parse_result("=== fuzz as admin: 28 operations passed"),
            None
        );
    }
}
