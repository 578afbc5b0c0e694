//! `cargo xtask run`: set up, build the web apps and the server, start Espresso, print the URLs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::ctx::{Ctx, Result, step};
use crate::{setup, ui};

pub fn run(ctx: &Ctx, args: &[String]) -> Result {
    let mut addr = std::env::var("ESPRESSO_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let mut release = false;
    let mut postgres = false;
    let mut passthrough = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--addr" => addr = iter.next().ok_or("--addr needs HOST:PORT")?.clone(),
            "--release" => release = true,
            "--postgres" => postgres = true,
            "--" => passthrough.extend(iter.by_ref().cloned()),
            other => return Err(format!("unknown option {other:?} (see `cargo xtask help`)")),
        }
    }

    step("setup", || setup::setup(ctx))?;
    step("web build (wasm32)", || ui::build_ui(ctx))?;
    step("build the server", || {
        let mut build = ctx.cargo();
        build.args(["build", "-p", "espresso-server"]);
        if release {
            build.arg("--release");
        }
        crate::ctx::run(&mut build)
    })?;

    let profile = if release { "release" } else { "debug" };
    let binary = ctx.target_dir.join(profile).join("espresso-server");
    let data = ctx.root.join("data");
    std::fs::create_dir_all(&data).map_err(|e| format!("cannot create {}: {e}", data.display()))?;
    let (database, cluster) = if postgres {
        let cluster = step("local PostgreSQL (./data/postgres)", || {
            LocalPostgres::start(&data.join("postgres"))
        })?;
        (cluster.url(), Some(cluster))
    } else {
        (
            format!("sqlite://{}", data.join("espresso.db").display()),
            None,
        )
    };
    let mut server = Command::new(&binary);
    server
        .arg("serve")
        .args(["--addr", &addr])
        .arg("--database")
        .arg(&database)
        .arg("--web-dir")
        .arg(ctx.dist())
        .args(&passthrough)
        .current_dir(&ctx.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let mut child = server
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stdout = child.stdout.take().ok_or("server stdout missing")?;
    for line in BufReader::new(stdout)
        .lines()
        .map_while(std::result::Result::ok)
    {
        println!("{line}");
        if let Some(url) = line.strip_prefix("listening on ") {
            print_banner(url.trim(), &database);
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if let Some(cluster) = cluster {
        cluster.stop();
    }
    if status.success() {
        Ok(())
    } else {
        Err(format!("the server stopped ({status})"))
    }
}

fn print_banner(url: &str, database: &str) {
    println!();
    println!("  Espresso is running. Open:");
    println!("    customer  {url}/order?shop=main");
    println!("    barista   {url}/barista?shop=main");
    println!("    display   {url}/display?shop=main");
    if database.starts_with("postgres") {
        println!("  Data: PostgreSQL in ./data/postgres ({database}).");
        println!(
            "  More servers on it: espresso-server serve --addr 127.0.0.1:0 --database '{database}'"
        );
        println!("  Stop with Ctrl-C.");
    } else {
        println!("  Data: ./data/espresso.db. Stop with Ctrl-C.");
    }
    println!();
}

/// A PostgreSQL cluster kept in `./data/postgres` for trying Espresso on it (`run --postgres`):
/// made on first use, listening on a Unix socket in its folder only, run as `nobody` when this
/// runs as root (PostgreSQL refuses root), stopped when the server stops.
struct LocalPostgres {
    bin: std::path::PathBuf,
    dir: std::path::PathBuf,
    user: Option<(u32, u32)>,
}

impl LocalPostgres {
    fn start(dir: &std::path::Path) -> Result<Self> {
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

    fn command(&self, tool: &str) -> Command {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(self.bin.join(tool));
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid);
        }
        command
    }

    fn url(&self) -> String {
        format!(
            "postgres://espresso@localhost/espresso?host={}",
            self.dir.display()
        )
    }

    fn stop(self) {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "stop"]);
        let _ = stop.status();
    }
}

/// The newest PostgreSQL server's binaries (Debian's `postgresql`, installed by setup).
fn postgres_bin() -> Result<std::path::PathBuf> {
    if let Some(dir) = std::env::var_os("ESPRESSO_PG_BIN") {
        return Ok(dir.into());
    }
    let mut found: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no PostgreSQL found in /usr/lib/postgresql: run `cargo xtask setup`".into())
}
