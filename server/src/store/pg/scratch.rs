//! A throwaway PostgreSQL for tests: one cluster per test process (`initdb` into a temporary
//! folder, listening only on a Unix socket inside it), a fresh database for each caller.
//!
//! PostgreSQL refuses to run as root, and tests here run as root: the cluster then runs as
//! `nobody`. A watchdog shell stops it once the process that started it is gone, and the
//! folders of clusters whose process is gone are removed by the next one. Needs Debian's `postgresql` package (`cargo xtask
//! setup` installs it) or `ESPRESSO_PG_BIN` naming the folder with `initdb` and `postgres`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The running cluster of this process.
pub struct Cluster {
    /// The cluster's folder (data and socket).
    dir: PathBuf,
    next: AtomicU32,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The superuser the cluster is made with (trust authentication on its socket only).
const USER: &str = "espresso";

/// A new, empty database on this process's cluster (started on first use): its URL.
pub async fn fresh_database() -> anyhow::Result<String> {
    let cluster = tokio::task::spawn_blocking(|| {
        CLUSTER
            .get_or_init(|| Cluster::start().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map(|c| (c.dir.clone(), c.next.fetch_add(1, Ordering::Relaxed)))
            .map_err(|e| anyhow::anyhow!("cannot start a scratch PostgreSQL: {e}"))
    })
    .await??;
    let (dir, n) = cluster;
    let name = format!("t{n}");
    let admin = url(&dir, "postgres");
    // The socket appears before the server takes connections ("starting up"): retry a while.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut conn = loop {
        match <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await {
            Ok(conn) => break conn,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot reach the scratch PostgreSQL at {admin}"));
            }
        }
    };
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    Ok(url(&dir, &name))
}

fn url(dir: &Path, database: &str) -> String {
    format!(
        "postgres://{USER}@localhost/{database}?host={}",
        dir.display()
    )
}

fn bin_dir() -> anyhow::Result<PathBuf> {
    super::installed::bin_dir().with_context(|| {
        format!(
            "no PostgreSQL server found in /usr/lib/postgresql (run `cargo xtask setup`, or set \
             {})",
            super::installed::BIN_VAR
        )
    })
}

/// Folders of earlier clusters whose test process has ended.
fn remove_stale(base: &Path) {
    for entry in std::fs::read_dir(base).into_iter().flatten().flatten() {
        let pid = entry
            .file_name()
            .to_str()
            .and_then(|name| name.split('-').next()?.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The user to run PostgreSQL as: ourselves, or `nobody` when we are root.
fn run_as() -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").map_or(0, |m| m.uid());
    (uid == 0).then_some((65534, 65534))
}

impl Cluster {
    fn start() -> anyhow::Result<Self> {
        let bin = bin_dir()?;
        let base = std::env::temp_dir().join("espresso-pg");
        std::fs::create_dir_all(&base)?;
        remove_stale(&base);
        let dir = base.join(format!("{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir(&dir)?;
        let user = run_as();
        if let Some((uid, gid)) = user {
            use std::os::unix::fs::PermissionsExt;
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))?;
            // `nobody` must reach the folder: the base is world-traversable.
            std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o1777))?;
        }
        let data = dir.join("data");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .args(["--no-sync", "--auth=trust", "--encoding=UTF8", "--locale=C"])
            .arg(format!("--username={USER}"))
            .arg("-D")
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        as_user(&mut initdb, user);
        let out = initdb.output().context("cannot run initdb")?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let (started, wait) = std::sync::mpsc::channel();
        let (bin2, data2, dir2) = (bin.clone(), data.clone(), dir.clone());
        std::thread::Builder::new()
            .name("scratch-postgres".into())
            .spawn(move || {
                // postgres runs under a shell that stops it (immediate shutdown) once this
                // process is gone, however it ends.
                let postgres = format!(
                    "{} -D {} -c listen_addresses= -c unix_socket_directories={} \\
                     -c fsync=off -c synchronous_commit=off -c full_page_writes=off \\
                     -c max_connections=300 -c shared_buffers=32MB",
                    bin2.join("postgres").display(),
                    data2.display(),
                    dir2.display(),
                );
                let watchdog = format!(
                    "{postgres} & while [ -d /proc/{parent} ]; do sleep 1; done; kill -QUIT $!",
                    parent = std::process::id()
                );
                let mut server = Command::new("sh");
                server
                    .args(["-c", &watchdog])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                as_user(&mut server, user);
                let child = server.spawn();
                let failed = child.as_ref().err().map(ToString::to_string);
                let _ = started.send(failed);
                if let Ok(mut child) = child {
                    let _ = child.wait();
                }
            })?;
        if let Some(error) = wait.recv().context("the scratch PostgreSQL thread died")? {
            bail!("cannot start postgres: {error}");
        }
        let socket = dir.join(".s.PGSQL.5432");
        let deadline = Instant::now() + Duration::from_secs(30);
        // A condition with a deadline, on a blocking thread (`fresh_database` runs this in
        // `spawn_blocking`).
        #[expect(
            clippy::disallowed_methods,
            reason = "polls a condition with a deadline"
        )]
        while !socket.exists() {
            if Instant::now() > deadline {
                bail!("PostgreSQL did not open {} within 30 s", socket.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self {
            dir,
            next: AtomicU32::new(0),
        })
    }
}

/// Run `command` as `user` (uid, gid) when given.
fn as_user(command: &mut Command, user: Option<(u32, u32)>) {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
}
