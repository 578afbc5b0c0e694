//! `cargo xtask run`: set up, build the web apps and the server, start Espresso, print the URLs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::ctx::{Ctx, Result, step};
use crate::postgres::LocalPostgres;
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
