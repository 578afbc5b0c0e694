fn main() {
    // The base config is the workspace's `tauri.conf.json` (DESIGN.md); `src-tauri/tauri.conf.json`
    // links to it because tauri-build reads the config from the crate folder.
    println!("cargo:rerun-if-changed=../tauri.conf.json");
    // `cargo xtask bundle <flavour>` bakes in which app the window opens.
    println!("cargo:rerun-if-env-changed=ESPRESSO_FLAVOUR");
    tauri_build::build()
}
