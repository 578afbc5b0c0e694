//! `setup` and `doctor`: what Espresso needs on a machine, found or installed.
//!
//! Installs only what is missing; when everything is present it takes a few seconds. Where it
//! cannot install (not Debian, not root) it prints what to install and fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ctx::{Ctx, Result, output, run, which};

/// Debian packages and why each is needed.
const APT: &[(&str, &str)] = &[
    (
        "build-essential",
        "C compiler for crates that build C (SQLite)",
    ),
    ("pkg-config", "finds system libraries for -sys crates"),
    ("file", "used by Tauri's bundler"),
    ("libssl-dev", "TLS for the native client"),
    ("libxdo-dev", "Tauri (keyboard shortcuts on X11)"),
    ("libwebkit2gtk-4.1-dev", "Tauri's web view"),
    ("libgtk-3-dev", "Tauri's windows"),
    ("libayatana-appindicator3-dev", "Tauri's tray"),
    ("librsvg2-dev", "Tauri's icons"),
    ("xvfb", "virtual display for the window tests"),
    ("xauth", "used by xvfb-run"),
    (
        "webkit2gtk-driver",
        "WebKitWebDriver, drives the Tauri window",
    ),
    ("imagemagick", "screenshots of the virtual display"),
    (
        "x11-utils",
        "xwininfo: the window tests measure windows from outside the app",
    ),
    (
        "x11-xserver-utils",
        "xrandr: the window tests change the virtual monitor",
    ),
    (
        "openbox",
        "a light window manager: the booth screen is tested with and without one",
    ),
    (
        "brotli",
        "compresses the web build (a fifth smaller than gzip)",
    ),
    ("chromium", "browser end-to-end tests"),
    ("chromium-driver", "chromedriver, drives Chromium"),
    ("gnome-keyring", "a Secret Service for keyring tests"),
    ("dbus-x11", "a session bus for keyring tests"),
    ("keyutils", "the kernel keyring backend"),
    ("libdbus-1-dev", "keyring's Secret Service client"),
    ("postgresql", "PostgreSQL server binaries for storage tests"),
    (
        "python3-venv",
        "a Python venv for schemathesis, the API fuzz (packages from PyPI)",
    ),
];

/// Extra packages when rustup has no wasm32 target: Debian's wasm-capable rustc and std sources.
const APT_WASM: &[(&str, &str)] = &[
    ("rustc-web", "a rustc with the wasm32 code generator"),
    (
        "rust-web-src",
        "std's sources, built for wasm32 with build-std",
    ),
    ("lld-16", "wasm-ld, the wasm32 linker"),
];

const APT_NODE: &[(&str, &str)] = &[
    ("nodejs", "runs the npm tools"),
    ("npm", "installs the npm tools"),
];

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// How this machine builds wasm32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmToolchain {
    /// `rustup target add wasm32-unknown-unknown` is installed: build normally.
    Rustup,
    /// No rustup target: Debian's rustc-web with build-std (TOOLCHAIN.md).
    DebianBuildStd,
}

impl WasmToolchain {
    pub fn detect() -> Self {
        let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
            .unwrap_or_default();
        if installed.lines().any(|line| line.trim() == WASM_TARGET) {
            Self::Rustup
        } else {
            Self::DebianBuildStd
        }
    }

    /// Environment for a wasm32 cargo command (never set globally: the host build stays on rustup).
    pub fn apply(self, command: &mut Command) {
        if self == Self::DebianBuildStd {
            command
                .env("RUSTC", "/usr/bin/rustc")
                .env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort")
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", "wasm-ld-16");
        }
    }
}

/// One thing the machine needs, found or not.
struct Check {
    what: String,
    why: &'static str,
    present: bool,
}

fn apt_wanted(wasm: WasmToolchain) -> Vec<(&'static str, &'static str)> {
    let mut wanted: Vec<_> = APT.to_vec();
    if wasm == WasmToolchain::DebianBuildStd {
        wanted.extend_from_slice(APT_WASM);
    }
    if which("npm").is_none() || which("node").is_none() {
        wanted.extend_from_slice(APT_NODE);
    }
    wanted
}

/// Installed Debian packages among `names` (one dpkg-query call).
fn dpkg_installed(names: &[&str]) -> Vec<String> {
    let mut command = Command::new("dpkg-query");
    command
        .args(["-W", "-f=${Package} ${db:Status-Abbrev}\n"])
        .args(names);
    // dpkg-query exits 1 when some are unknown but still prints the known ones.
    let out = command
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    out.unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let (name, status) = line.split_once(' ')?;
            status
                .starts_with("ii")
                .then(|| name.split(':').next().unwrap_or(name).to_owned())
        })
        .collect()
}

fn is_debian() -> bool {
    Path::new("/etc/debian_version").exists()
        && which("dpkg-query").is_some()
        && which("apt-get").is_some()
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

/// The `wasm-bindgen` version pinned in Cargo.lock (the CLI must match it exactly).
pub fn locked_wasm_bindgen(ctx: &Ctx) -> Result<String> {
    let lock = std::fs::read_to_string(ctx.root.join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
        {
            return Ok(version.trim_matches('"').to_owned());
        }
    }
    Err("Cargo.lock has no wasm-bindgen entry".into())
}

/// The wasm-bindgen CLI: on PATH or in cargo's bin folder.
pub fn wasm_bindgen_bin() -> Option<PathBuf> {
    which("wasm-bindgen").or_else(|| {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        let bin = home.join("bin/wasm-bindgen");
        bin.is_file().then_some(bin)
    })
}

fn wasm_bindgen_version(bin: &Path) -> Option<String> {
    let out = output(Command::new(bin).arg("--version"))?;
    out.split_whitespace().nth(1).map(str::to_owned)
}

/// `(name, version)` of package.json's devDependencies.
fn npm_wanted(ctx: &Ctx) -> Result<Vec<(String, String)>> {
    let package = read_json(&ctx.root.join("package.json"))?;
    let wanted = package["devDependencies"]
        .as_object()
        .ok_or("package.json: devDependencies is not an object")?;
    Ok(wanted
        .iter()
        .filter_map(|(name, version)| Some((name.clone(), version.as_str()?.to_owned())))
        .collect())
}

fn npm_installed_version(ctx: &Ctx, name: &str) -> Option<String> {
    let package = read_json(
        &ctx.root
            .join("node_modules")
            .join(name)
            .join("package.json"),
    )
    .ok()?;
    package["version"].as_str().map(str::to_owned)
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn checks(ctx: &Ctx) -> Result<Vec<Check>> {
    let wasm = WasmToolchain::detect();
    let mut checks = Vec::new();
    if is_debian() {
        let wanted = apt_wanted(wasm);
        let names: Vec<&str> = wanted.iter().map(|(name, _)| *name).collect();
        let installed = dpkg_installed(&names);
        for (name, why) in wanted {
            checks.push(Check {
                what: format!("apt {name}"),
                why,
                present: installed.iter().any(|i| i == name),
            });
        }
    }
    checks.push(Check {
        what: format!("wasm32 toolchain ({wasm:?})"),
        why: "builds the web apps",
        present: match wasm {
            WasmToolchain::Rustup => true,
            WasmToolchain::DebianBuildStd => {
                Path::new("/usr/bin/rustc").is_file()
                    && Path::new("/usr/lib/rustlib/src/rust/library").is_dir()
                    && which("wasm-ld-16").is_some()
            }
        },
    });
    let wb = locked_wasm_bindgen(ctx)?;
    checks.push(Check {
        what: format!("wasm-bindgen CLI {wb}"),
        why: "generates the web apps' JS glue (must equal Cargo.lock's version)",
        present: wasm_bindgen_bin()
            .and_then(|b| wasm_bindgen_version(&b))
            .as_deref()
            == Some(wb.as_str()),
    });
    checks.push(Check {
        what: "schemathesis venv (xtask/fuzz/requirements.txt)".into(),
        why: "the API fuzz of `cargo xtask test`",
        present: crate::fuzz::venv_ready(ctx),
    });
    for (name, version) in npm_wanted(ctx)? {
        let present = npm_installed_version(ctx, &name).as_deref() == Some(version.as_str());
        checks.push(Check {
            what: format!("npm {name}@{version}"),
            why: "prebuilt developer tool (package.json)",
            present,
        });
    }
    Ok(checks)
}

/// `cargo xtask doctor`: report only.
pub fn doctor(ctx: &Ctx) -> Result {
    if !is_debian() {
        println!("! not a Debian machine: system packages are not checked (see README.md)");
    }
    let checks = checks(ctx)?;
    for check in &checks {
        let mark = if check.present { "ok     " } else { "MISSING" };
        println!("{mark} {:<44} {}", check.what, check.why);
    }
    println!("target dir: {}", ctx.target_dir.display());
    let missing = checks.iter().filter(|c| !c.present).count();
    if missing == 0 {
        println!("everything is present");
        Ok(())
    } else {
        Err(format!(
            "{missing} missing: `cargo xtask setup` installs them"
        ))
    }
}

/// `cargo xtask setup`: install what is missing.
pub fn setup(ctx: &Ctx) -> Result {
    let wasm = WasmToolchain::detect();
    if !is_debian() {
        let names: Vec<&str> = apt_wanted(wasm).iter().map(|(n, _)| *n).collect();
        return Err(format!(
            "this is not a Debian machine, so setup cannot install the system packages.\n\
             Install the equivalents of: {}\n\
             and the wasm32 target (`rustup target add {WASM_TARGET}`), then `cargo xtask test`.",
            names.join(" ")
        ));
    }
    let wanted = apt_wanted(wasm);
    let names: Vec<&str> = wanted.iter().map(|(n, _)| *n).collect();
    let installed = dpkg_installed(&names);
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !installed.iter().any(|i| i == n))
        .collect();
    if !missing.is_empty() {
        if !is_root() {
            return Err(format!(
                "missing system packages and not root; run:\n  sudo apt-get update && sudo apt-get install -y --no-install-recommends {}",
                missing.join(" ")
            ));
        }
        eprintln!(
            "setup: installing {} system packages: {}",
            missing.len(),
            missing.join(" ")
        );
        let mut update = Command::new("apt-get");
        update
            .args(["update", "-q"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut update)?;
        let mut install = Command::new("apt-get");
        install
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut install)?;
    }

    let wb = locked_wasm_bindgen(ctx)?;
    let have = wasm_bindgen_bin().and_then(|b| wasm_bindgen_version(&b));
    if have.as_deref() != Some(wb.as_str()) {
        eprintln!("setup: installing wasm-bindgen-cli {wb} (have {have:?}); a few minutes, once");
        let mut locked = Command::new("cargo");
        locked.args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &wb,
            "--locked",
            "--force",
        ]);
        // `--locked` can fail on a registry mirror that lacks a locked version: retry unlocked.
        if run(&mut locked).is_err() {
            let mut unlocked = Command::new("cargo");
            unlocked.args(["install", "wasm-bindgen-cli", "--version", &wb, "--force"]);
            run(&mut unlocked)?;
        }
    }

    if !crate::fuzz::venv_ready(ctx) {
        install_fuzz_venv(ctx)?;
    }

    let npm_missing = npm_wanted(ctx)?.into_iter().any(|(name, version)| {
        npm_installed_version(ctx, &name).as_deref() != Some(version.as_str())
    });
    if npm_missing {
        eprintln!("setup: installing the npm tools of package.json");
        // `npm ci` rejects a lock made on another platform; exact versions live in package.json.
        let mut npm = Command::new("npm");
        npm.args(["install", "--no-audit", "--no-fund", "--no-package-lock"])
            .current_dir(&ctx.root);
        run(&mut npm)?;
    }
    Ok(())
}

/// The API fuzz's Python environment: a venv in the cache with the pinned schemathesis from PyPI.
fn install_fuzz_venv(ctx: &Ctx) -> Result {
    let venv = crate::fuzz::venv(ctx);
    eprintln!(
        "setup: installing schemathesis (xtask/fuzz/requirements.txt) into {}",
        venv.display()
    );
    // Debian's Python (python3-venv above); another python3 on PATH may lack the venv module.
    let python = Path::new("/usr/bin/python3");
    let python = if python.is_file() {
        python.to_path_buf()
    } else {
        which("python3").ok_or("python3 not found (Debian: apt-get install python3-venv)")?
    };
    let _ = std::fs::remove_dir_all(&venv);
    let mut create = Command::new(python);
    create.args(["-m", "venv"]).arg(&venv);
    run(&mut create)?;
    let requirements = crate::fuzz::requirements(ctx);
    let mut pip = Command::new(venv.join("bin/pip"));
    pip.args([
        "install",
        "--quiet",
        "--no-input",
        "--disable-pip-version-check",
        "-r",
    ])
    .arg(&requirements);
    run(&mut pip)?;
    std::fs::copy(&requirements, crate::fuzz::installed_stamp(ctx))
        .map_err(|e| format!("cannot mark the venv as installed: {e}"))?;
    Ok(())
}
