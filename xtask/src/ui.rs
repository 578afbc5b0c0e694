//! The web build of the three apps: cargo (wasm32) → wasm-bindgen → `dist/`.
//!
//! Built into a staging folder first; only files whose bytes changed are copied into `dist/`, so
//! an unchanged UI keeps its mtimes and the Tauri shell (which embeds `dist/`) is not relinked.

use std::path::Path;
use std::process::Command;

use crate::ctx::{Ctx, Result, run};
use crate::setup::{WASM_TARGET, WasmToolchain, wasm_bindgen_bin};

const UI_CRATE: &str = "espresso-ui";
const PROFILE: &str = "wasm-release";

fn wasm_cargo(ctx: &Ctx, subcommand: &str) -> Command {
    let mut command = ctx.cargo();
    command.args([subcommand, "--target", WASM_TARGET]);
    WasmToolchain::detect().apply(&mut command);
    command
}

/// `cargo xtask build-ui`.
pub fn build_ui(ctx: &Ctx) -> Result {
    let mut build = wasm_cargo(ctx, "build");
    build.args(["-p", UI_CRATE, "--profile", PROFILE]);
    run(&mut build)?;

    let wasm = ctx
        .target_dir
        .join(WASM_TARGET)
        .join(PROFILE)
        .join(format!("{UI_CRATE}.wasm"));
    let staging = ctx.target_dir.join("ui-staging");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    let bindgen =
        wasm_bindgen_bin().ok_or("wasm-bindgen CLI not found: run `cargo xtask setup`")?;
    let mut glue = Command::new(bindgen);
    glue.args([
        "--target",
        "web",
        "--no-typescript",
        "--remove-name-section",
        "--remove-producers-section",
        "--out-name",
        "app",
        "--out-dir",
    ])
    .arg(&staging)
    .arg(&wasm);
    run(&mut glue)?;
    copy_dir(&ctx.root.join("ui/static"), &staging)?;
    precompress(&staging)?;
    sync_dir(&staging, &ctx.dist())?;
    let size = std::fs::metadata(ctx.dist().join("app_bg.wasm"))
        .map(|m| m.len())
        .unwrap_or(0);
    eprintln!(
        "build-ui: {} ({} KiB of wasm)",
        ctx.dist().display(),
        size / 1024
    );
    Ok(())
}

/// `cargo xtask check-wasm`: every wasm32 build compiles (the protocol, the core alone with `web`,
/// and the UI).
pub fn check_wasm(ctx: &Ctx) -> Result {
    let mut core = wasm_cargo(ctx, "check");
    core.args([
        "-p",
        "espresso-protocol",
        "-p",
        "espresso-core",
        "--no-default-features",
        "--features",
        "espresso-core/web",
    ]);
    run(&mut core)?;
    let mut ui = wasm_cargo(ctx, "check");
    ui.args(["-p", UI_CRATE]);
    run(&mut ui)
}

/// Beside each text or wasm asset its `.gz` (gzip -9, no name or time: the same bytes each
/// build), which the server sends to browsers that accept gzip: phones on a café's Wi-Fi load
/// a third of the bytes, and nothing is compressed per request.
fn precompress(dir: &Path) -> Result {
    let mut files = Vec::new();
    for entry in
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?
    {
        let path = entry.map_err(|e| e.to_string())?.path();
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "wasm" | "js" | "css" | "svg" | "webmanifest"));
        if path.is_file() && compressible {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Ok(());
    }
    let mut gzip = Command::new("gzip");
    gzip.args(["-9", "-n", "-k", "-f"]).args(&files);
    run(&mut gzip)
}

fn copy_dir(from: &Path, to: &Path) -> Result {
    for entry in
        std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?
    {
        let entry = entry.map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| format!("cannot copy {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Make `to` hold exactly `from`'s files, touching only those whose bytes differ.
fn sync_dir(from: &Path, to: &Path) -> Result {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            sync_dir(&entry.path(), &target)?;
            continue;
        }
        let new = std::fs::read(entry.path()).map_err(|e| e.to_string())?;
        if std::fs::read(&target).ok().as_deref() != Some(new.as_slice()) {
            std::fs::write(&target, new)
                .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        }
    }
    for entry in std::fs::read_dir(to).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        if !from.join(entry.file_name()).exists() {
            let path = entry.path();
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
    }
    Ok(())
}
