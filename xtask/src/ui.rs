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

/// The web builds and the apps (the UI crate's features) each carries: a phone downloads the
/// customer app only; the barista app and the booth screen, on the café's own screens, share a
/// build (a third build would add minutes to every CI run for no phone's benefit).
pub const BUILDS: [(&str, &str); 2] = [("customer", "customer"), ("staff", "barista,display")];

/// `cargo xtask build-ui`: each build's wasm (`app-<build>_bg.wasm` and its `app-<build>.js`),
/// the static files, and their gzipped copies, into `dist/`.
pub fn build_ui(ctx: &Ctx) -> Result {
    // One staging folder per worktree: worktrees share the target folder, and two builds
    // staging into one folder mix their files (a wasm from one, its `.gz` cut short by the other).
    let staging = ctx.target_dir.join(format!(
        "ui-staging-{:016x}",
        fnv1a(ctx.root.to_string_lossy().as_bytes())
    ));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    let bindgen =
        wasm_bindgen_bin().ok_or("wasm-bindgen CLI not found: run `cargo xtask setup`")?;
    let built = ctx
        .target_dir
        .join(WASM_TARGET)
        .join(PROFILE)
        .join(format!("{UI_CRATE}.wasm"));
    // Worktrees share `built`: a build from another worktree finishing between this one's
    // build and its copy would hand this one the other's wasm. One build-and-copy at a time.
    let lock_path = ctx.target_dir.join("ui-build.lock");
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    for (app, features) in BUILDS {
        // Each feature set keeps its own compiled crate in the target dir; cargo only copies
        // the one asked for to `built`, so take it before the next build.
        lock.lock()
            .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
        let mut build = wasm_cargo(ctx, "build");
        build.args([
            "-p",
            UI_CRATE,
            "--profile",
            PROFILE,
            "--no-default-features",
        ]);
        build.args(["--features", features]);
        run(&mut build)?;
        let wasm = staging.join(format!("{app}.wasm"));
        std::fs::copy(&built, &wasm)
            .map_err(|e| format!("cannot copy {}: {e}", built.display()))?;
        lock.unlock()
            .map_err(|e| format!("cannot unlock {}: {e}", lock_path.display()))?;
        let mut glue = Command::new(&bindgen);
        glue.args([
            "--target",
            "web",
            "--no-typescript",
            "--remove-name-section",
            "--remove-producers-section",
            "--out-name",
            &format!("app-{app}"),
            "--out-dir",
        ])
        .arg(&staging)
        .arg(&wasm);
        run(&mut glue)?;
        std::fs::remove_file(&wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
    }
    copy_dir(&ctx.root.join("ui/static"), &staging)?;
    write_app_pages(&ctx.root, &staging)?;
    stamp_service_worker(&staging)?;
    precompress(&staging)?;
    sync_dir(&staging, &ctx.dist())?;
    let sizes: Vec<String> = BUILDS
        .iter()
        .map(|(app, _)| {
            let size = std::fs::metadata(ctx.dist().join(format!("app-{app}_bg.wasm")))
                .map_or(0, |m| m.len());
            format!("{app} {} KiB", size / 1024)
        })
        .collect();
    eprintln!(
        "build-ui: {} (wasm: {})",
        ctx.dist().display(),
        sizes.join(", ")
    );
    Ok(())
}

/// Each app's page (its path's, as the server serves it), the build it loads and the styles it
/// uses: the customer's own, the barista's (with the owner's console), the booth screen's.
const APP_PAGES: [(&str, &str, &str, &[&str]); 3] = [
    (
        "customer",
        "Espresso",
        "customer",
        &["app.css", "customer.css"],
    ),
    (
        "barista",
        "Espresso barista",
        "staff",
        &["app.css", "barista.css", "console.css"],
    ),
    (
        "display",
        "Espresso display",
        "staff",
        &["app.css", "display.css"],
    ),
];

/// `page-<app>.html` for each app: `ui/src/first_screen/page.html` with the app's first screen
/// in it (`ui/src/first_screen/<app>.html`, both languages, picked before the first paint by the
/// inline `first-screen.js`), its styles inline and its script and wasm preloaded, so a phone on
/// a slow network shows a real, usable first screen after the page's own round trip instead of
/// after the page, its scripts and the wasm one after the other. `index.html` stays the start
/// page's (and the Tauri shell's, which has no network to wait for).
fn write_app_pages(root: &Path, dir: &Path) -> Result {
    let sources = root.join("ui/src/first_screen");
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let page = read(&sources.join("page.html"))?;
    let script = read(&sources.join("first-screen.js"))?;
    for (app, title, build, styles) in APP_PAGES {
        let mut style = String::new();
        for sheet in styles {
            style.push_str(&read(&root.join("ui/static").join(sheet))?);
        }
        let screens = read(&sources.join(format!("{app}.html")))?;
        let html = page
            .replace("{{title}}", title)
            .replace("{{app}}", app)
            .replace("{{build}}", build)
            .replace("{{style}}", style.trim_end())
            .replace("{{screens}}", screens.trim_end())
            .replace("{{script}}", script.trim_end());
        if html.contains("{{") {
            return Err(format!(
                "page-{app}.html: a {{{{placeholder}}}} left unfilled"
            ));
        }
        let target = dir.join(format!("page-{app}.html"));
        std::fs::write(&target, html)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    }
    Ok(())
}

/// `cargo xtask check-wasm`: every wasm32 build compiles (the protocol, the core alone with `web`,
/// and the UI with its three apps; `build-ui` compiles each build's own feature set).
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

/// The service worker (`sw.js`) learns the build: its version (a hash of every file's name and
/// bytes, so any change to the apps is a new worker and a new cache) and the files it keeps for
/// offline use (everything but the `.br` and `.gz` twins, the pages' HTML, which the worker keeps
/// under the pages' paths, and itself).
fn stamp_service_worker(dir: &Path) -> Result {
    let worker = dir.join("sw.js");
    let script = std::fs::read_to_string(&worker)
        .map_err(|e| format!("cannot read {}: {e}", worker.display()))?;
    let mut files = Vec::new();
    list_files(dir, dir, &mut files)?;
    files.sort();
    let mut hash = FNV_OFFSET;
    let mut assets = Vec::new();
    for name in &files {
        if name == "sw.js" || name.ends_with(".gz") || name.ends_with(".br") {
            continue;
        }
        let bytes =
            std::fs::read(dir.join(name)).map_err(|e| format!("cannot read {name}: {e}"))?;
        hash = fnv1a_more(hash, name.as_bytes());
        hash = fnv1a_more(hash, &[0]);
        hash = fnv1a_more(hash, &bytes);
        // The staff build is not in a phone's install: the worker adds it on a staff screen.
        if !name.ends_with(".html") && !name.starts_with("app-staff") {
            assets.push(serde_json::Value::String(format!("/{name}")));
        }
    }
    let build = format!("const BUILD = '{hash:016x}';");
    let list = format!("const ASSETS = {};", serde_json::Value::Array(assets));
    let stamped =
        script
            .replacen("const BUILD = 'dev';", &build, 1)
            .replacen("const ASSETS = [];", &list, 1);
    if !stamped.contains(&build) || !stamped.contains(&list) {
        return Err(
            "ui/static/sw.js has no `const BUILD = 'dev';` / `const ASSETS = [];` to stamp".into(),
        );
    }
    std::fs::write(&worker, stamped)
        .map_err(|e| format!("cannot write {}: {e}", worker.display()))?;
    eprintln!(
        "build-ui: service worker for build {hash:016x}, {} files",
        files.len()
    );
    Ok(())
}

/// FNV-1a (64 bit): stable across builds and toolchains, no dependency.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv1a_more(mut hash: u64, bytes: &[u8]) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_more(FNV_OFFSET, bytes)
}

/// Every file under `dir`, as a `/`-separated path relative to `root`.
fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result {
    for entry in
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?
    {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            list_files(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let parts: Vec<_> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

/// Beside each text or wasm asset its `.br` (brotli at its best, 11) and its `.gz` (gzip -9, no
/// name or time: the same bytes each build), which the server sends to browsers that accept
/// them: phones on a café's Wi-Fi load a third of the bytes with gzip and a fifth less again
/// with brotli (the customer's wasm: 1,370 KiB, 496 KiB gzipped, 386 KiB brotli), and nothing
/// is compressed per request.
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
    let mut brotli = Command::new("brotli");
    brotli
        .args(["-q", "11", "-w", "24", "-k", "-f"])
        .args(&files);
    run(&mut brotli)?;
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
