//! Files only this server's user may read: the database (and its WAL), the sign-in secret and
//! the `dir:` mailer's messages are created 0600 in folders created 0700, whatever the umask.
//! A file that already exists with wider permissions is narrowed when the server opens it.

use std::io;
use std::path::Path;

/// Create `path` and its missing parents, each new folder 0700.
pub fn create_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Create `path` empty if missing (0600); narrow an existing file to 0600.
pub fn ensure_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    restrict(&file)
}

/// Narrow an existing file to 0600 if it is there.
pub fn restrict_path(path: &Path) -> io::Result<()> {
    match std::fs::File::open(path) {
        Ok(file) => restrict(&file),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// Create a new file (it must not exist) readable by this user only, open for writing.
pub fn create_new(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Write a new file (it must not exist) readable by this user only.
pub fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    use io::Write as _;
    let mut file = create_new(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

fn restrict(file: &std::fs::File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("the file is there")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn new_folders_are_0700_and_files_0600_and_old_files_are_narrowed() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("a/b");
        create_dir(&folder).unwrap();
        assert_eq!(mode(&folder), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        let file = folder.join("db");
        ensure_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        let old = folder.join("old");
        std::fs::write(&old, b"x").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        ensure_file(&old).unwrap();
        assert_eq!(mode(&old), 0o600);
        assert_eq!(
            std::fs::read(&old).unwrap(),
            b"x",
            "narrowing keeps the contents"
        );
        write_new(&folder.join("new"), b"y").unwrap();
        assert_eq!(mode(&folder.join("new")), 0o600);
    }
}
