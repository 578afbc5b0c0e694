//! `cargo xtask bundle [customer|barista|display]`: an installable package of each app flavour.
//!
//! One shell, three flavours: `src-tauri/flavours/<flavour>.json` overlays the root
//! `tauri.conf.json` (product name, identifier, binary name) and `ESPRESSO_FLAVOUR` at build
//! time bakes in which window the app opens (`espresso_app_lib::Flavour`). The Tauri CLI (npm,
//! installed by setup) builds the release binary with the web build embedded and bundles it.
//! Here (Debian) that is a `.deb`; an AppImage needs tools downloaded at build time, which this
//! offline machine cannot fetch. The overlay also carries the flavour's icons
//! (`src-tauri/icons/<flavour>/`, generated from `src-tauri/icons/source/<flavour>.svg` by
//! `tauri icon` and kept in the repository, so a build needs no image tools) and, for the
//! customer, the `espresso://` link scheme its `.desktop` file declares.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use crate::ctx::{Ctx, Result, run};
use crate::{setup, ui};

pub const FLAVOURS: [&str; 3] = ["customer", "barista", "display"];

pub fn bundle(ctx: &Ctx, args: &[String]) -> Result {
    let flavours: Vec<&str> = match args {
        [] => FLAVOURS.to_vec(),
        [one] if FLAVOURS.contains(&one.as_str()) => vec![one.as_str()],
        _ => {
            return Err(format!(
                "usage: cargo xtask bundle [{}]",
                FLAVOURS.join("|")
            ));
        }
    };
    setup::setup(ctx)?;
    ui::build_ui(ctx)?;
    let cli = ctx.root.join("node_modules/.bin/tauri");
    if !cli.exists() {
        return Err("the Tauri CLI is missing: run `cargo xtask setup`".into());
    }
    for flavour in flavours {
        let overlay = ctx
            .root
            .join("src-tauri/flavours")
            .join(format!("{flavour}.json"));
        let mut build = Command::new(&cli);
        build
            .args(["build", "--bundles", "deb", "--config"])
            .arg(&overlay)
            .current_dir(ctx.root.join("src-tauri"))
            .env("CARGO_TARGET_DIR", &ctx.target_dir)
            .env("ESPRESSO_FLAVOUR", flavour);
        let started = (Instant::now(), SystemTime::now());
        run(&mut build)?;
        let debs = ctx.target_dir.join("release/bundle/deb");
        match newest_deb(&debs, started.1) {
            Some((deb, bytes)) => eprintln!(
                "bundle: {flavour} → {} ({:.1} MB) in {:.0?}",
                deb.display(),
                bytes as f64 / 1_000_000.0,
                started.0.elapsed()
            ),
            None => eprintln!("bundle: {flavour} → {}", debs.display()),
        }
    }
    Ok(())
}

/// The `.deb` in `dir` written since `since`, and its size.
fn newest_deb(dir: &Path, since: SystemTime) -> Option<(PathBuf, u64)> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(std::result::Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "deb"))
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            let modified = meta.modified().ok()?;
            (modified >= since).then(|| (modified, entry.path(), meta.len()))
        })
        .max_by_key(|(modified, _, _)| *modified)
        .map(|(_, path, bytes)| (path, bytes))
}
