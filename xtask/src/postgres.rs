//! A local PostgreSQL cluster in a folder (Debian's `postgresql`, installed by `cargo xtask
//! setup`), for `run --postgres` and `bench`'s scale step.

use std::process::{Command, Stdio};

use crate::ctx::Result;

// The lookup the server's test clusters use (this crate depends on none of the workspace's).
#[path = "../../server/src/store/pg/installed.rs"]
mod installed;

/// A PostgreSQL cluster kept in a folder: `./data/postgres` for trying Espresso on it (`run
/// --postgres`), a throwaway one for `bench`'s scale step. Made on first use, listening on a Unix socket in its folder only, run as `nobody` when this
/// runs as root (PostgreSQL refuses root), stopped when the server stops.
pub struct LocalPostgres {
    bin: std::path::PathBuf,
    dir: std::path::PathBuf,
    user: Option<(u32, u32)>,
}

impl LocalPostgres {
    pub fn start(dir: &std::path::Path) -> Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let bin = postgres_bin()?;
        let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let cluster = Self {
            bin,
            dir: dir.to_path_buf(),
            user: root.then_some((65534, 65534)),
        };
        let data = dir.join("data");
        if !data.join("PG_VERSION").exists() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            if let Some((uid, gid)) = cluster.user {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                    .map_err(|e| format!("cannot hand {} to nobody: {e}", dir.display()))?;
            }
            let mut initdb = cluster.command("initdb");
            initdb
                .args([
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--username=espresso",
                ])
                .arg("-D")
                .arg(&data);
            crate::ctx::run(&mut initdb)?;
        }
        let mut start = cluster.command("pg_ctl");
        start
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("postgres.log"))
            .arg("-o")
            .arg(format!(
                "-c listen_addresses= -c unix_socket_directories={}",
                dir.display()
            ))
            .args(["-w", "start"]);
        crate::ctx::run(&mut start)?;
        // The database, once (an error here is "it exists").
        let mut createdb = cluster.command("createdb");
        createdb
            .arg("-h")
            .arg(dir)
            .args(["-U", "espresso", "espresso"])
            .stderr(Stdio::null());
        let _ = createdb.status();
        Ok(cluster)
    }

    /// A new database `name` in the cluster (an error if it exists); its URL.
    pub fn create_database(&self, name: &str) -> Result<String> {
        let mut createdb = self.command("createdb");
        createdb
            .arg("-h")
            .arg(&self.dir)
            .args(["-U", "espresso", name]);
        crate::ctx::run(&mut createdb)?;
        Ok(format!(
            "postgres://espresso@localhost/{name}?host={}",
            self.dir.display()
        ))
    }

    /// The postmaster's process id (the first line of `postmaster.pid`): its CPU and its
    /// backends' are PostgreSQL's.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("data/postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    fn command(&self, tool: &str) -> Command {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(self.bin.join(tool));
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid);
        }
        command
    }

    pub fn url(&self) -> String {
        format!(
            "postgres://espresso@localhost/espresso?host={}",
            self.dir.display()
        )
    }

    pub fn stop(self) {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "stop"]);
        let _ = stop.status();
    }
}

/// The newest PostgreSQL server's binaries (Debian's `postgresql`, installed by setup), found as
/// the server's own test clusters find them.
fn postgres_bin() -> Result<std::path::PathBuf> {
    installed::bin_dir().ok_or_else(|| {
        format!(
            "no PostgreSQL found in /usr/lib/postgresql: run `cargo xtask setup` (or set {})",
            installed::BIN_VAR
        )
    })
}
