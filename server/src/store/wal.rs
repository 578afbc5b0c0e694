//! The write-ahead log's file, written out before SQLite first opens it.
//!
//! Each commit's sync is the largest part of a barista action's delay at booth pace. A sync that
//! also grows the file costs the filesystem a journal commit for the new size and blocks: on this
//! project's machines (ext4 on a virtual disk), a 16 KB append and its `fsync` after a quiet
//! moment took p50 0.52–0.58 ms, the same write over blocks already written 0.32–0.42 ms
//! (fallocated blocks: 0.45 ms, still a metadata change on first write). SQLite writes its WAL
//! from the start again after each full checkpoint and never shrinks it (no
//! `journal_size_limit`), so a server that has run a whole cycle of [`CHECKPOINT_PAGES`] pages
//! overwrites. But a new database starts with no WAL file (as does one whose last connection
//! closed: SQLite then deletes it), and a cycle is ~40 MB: a café's day of a few hundred orders
//! writes less than that, so without this nearly every commit of its first day or two grew the
//! file.
//!
//! So a serving server gives the WAL its cycle's size in zeros before SQLite opens it. SQLite
//! reads a WAL whose header is not valid as an empty one, and its first commit writes a header
//! and frames over the zeros. (It deletes a WAL found beside an empty database: a new database
//! is first made, in WAL mode, then given its WAL.) Only a missing WAL is made, and atomically:
//! the zeros go to a file of their own, linked in as the WAL only if there is still none. A WAL
//! left by a crash (its frames not yet in the database) or opened meanwhile by a tool such as
//! `users grant` is never touched.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Pages the WAL collects before they are copied back into the database (by the checkpoint
/// thread, [`super::checkpoint`]), unless `--checkpoint-pages` says otherwise.
pub const CHECKPOINT_PAGES: u32 = 10_000;

/// The page size of a database this server creates (SQLite's default).
const PAGE_BYTES: u64 = 4096;

/// A WAL holding one checkpoint cycle of `pages`: its header, then a frame (24-byte header and a
/// page) per page, with room for what is written while the checkpoint runs.
pub const fn cycle_bytes(pages: u32) -> u64 {
    32 + (pages as u64 + 1024) * (24 + PAGE_BYTES)
}

/// The WAL of the database at `db`.
pub fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Write out the WAL of the database at `db`, one cycle of `pages`, if it has none: `Ok(true)`
/// if this made it, `Ok(false)` if a WAL was there (or appeared meanwhile). The caller holds the database for
/// serving, so no other server is doing the same.
pub fn write_out(db: &Path, pages: u32) -> io::Result<bool> {
    let wal = wal_path(db);
    if wal.symlink_metadata().is_ok() {
        return Ok(false);
    }
    if std::fs::metadata(db).map_or(true, |meta| meta.len() == 0) {
        create(db)?;
    }
    let mut staging = wal.clone().into_os_string();
    staging.push(".new");
    let staging = PathBuf::from(staging);
    // Left by a start that stopped half-way: it was never linked in.
    match std::fs::remove_file(&staging) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let made = zeros(&staging, cycle_bytes(pages)).and_then(|()| {
        match std::fs::hard_link(&staging, &wal) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(error) => Err(error),
        }
    });
    let removed = std::fs::remove_file(&staging);
    let made = made?;
    removed?;
    Ok(made)
}

/// A new database at `db` in WAL mode: its first page written, no WAL beside it.
fn create(db: &Path) -> io::Result<()> {
    crate::private::ensure_file(db)?;
    let conn = rusqlite::Connection::open(db).map_err(io::Error::other)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(io::Error::other)?;
    conn.close().map_err(|(_, error)| io::Error::other(error))
}

/// A new file (0600) of `len` zero bytes, written (not sparse, not merely allocated) and synced.
fn zeros(path: &Path, len: u64) -> io::Result<()> {
    let mut file = crate::private::create_new(path)?;
    // A page at a time. The page cache keeps what one write brings in as one folio, and a later
    // write into a folio prepares and dirties every block of it: 1 MiB writes here made each of
    // SQLite's small frame writes cost as much kernel time as growing the file (8% of the
    // server's CPU at full load, in `block_commit_write` and `ext4_block_write_begin`).
    let chunk = [0u8; 4096];
    let mut left = len;
    while left > 0 {
        let now = left.min(chunk.len() as u64);
        file.write_all(&chunk[..now as usize])?;
        left -= now;
    }
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wal_left_by_a_crash_is_kept_as_it_is_and_its_commits_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let running = dir.path().join("running.db");
        let conn = rusqlite::Connection::open(&running).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('committed');")
            .unwrap();
        // What a kill -9 leaves: the database and a WAL whose frames are not in it yet.
        let crashed = dir.path().join("crashed.db");
        std::fs::copy(&running, &crashed).unwrap();
        std::fs::copy(wal_path(&running), wal_path(&crashed)).unwrap();
        drop(conn);
        let before = std::fs::read(wal_path(&crashed)).unwrap();
        assert!(before.len() > 32, "the WAL holds the commit");

        assert!(!write_out(&crashed, CHECKPOINT_PAGES).unwrap());
        assert_eq!(std::fs::read(wal_path(&crashed)).unwrap(), before);
        let conn = rusqlite::Connection::open(&crashed).unwrap();
        let x: String = conn
            .query_row("SELECT x FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(x, "committed");
    }
}
