fn main() {
    // The base config is the workspace's `tauri.conf.json` (DESIGN.md); `src-tauri/tauri.conf.json`
    // links to it because tauri-build reads the config from the crate folder.
    println!("cargo:rerun-if-changed=../tauri.conf.json");
    tauri_build::build()
}
