//! Where the installed PostgreSQL server's programs are. One definition for the two places that
//! start a cluster: the server's test clusters (`scratch`) and `cargo xtask`'s (which includes
//! this file by path: it depends on no crate of the workspace).

use std::path::PathBuf;

/// The variable that names the folder with `initdb`, `pg_ctl` and `postgres`, where they are
/// not Debian's.
pub const BIN_VAR: &str = "ESPRESSO_PG_BIN";

/// The folder of `$ESPRESSO_PG_BIN`, else of the newest version under Debian's
/// `/usr/lib/postgresql/VERSION/bin` that has the server and its control program; `None` when
/// there is none (`cargo xtask setup` installs it).
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(BIN_VAR) {
        return Some(dir.into());
    }
    std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            let complete = ["initdb", "pg_ctl", "postgres"]
                .iter()
                .all(|program| bin.join(program).exists());
            complete.then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}
