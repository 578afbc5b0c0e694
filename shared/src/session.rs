//! Where a signed-in [`Session`] is kept between runs, so that an installed barista tablet or a
//! booth kiosk restarts signed in.
//!
//! [`SessionStore`] is the seam; the [`Client`](crate::Client) loads from it once at start
//! ([`Client::with_store`](crate::Client::with_store)) and saves on every change (sign-in,
//! refresh, sign-out). The stores:
//!
//! | Store | Build | Where the session goes |
//! |---|---|---|
//! | [`MemoryStore`] | every | nowhere: gone when the process ends (tests, one-shot tools) |
//! | [`FileStore`] | native | a JSON file, written atomically, mode 0600 on unix |
//! | [`KeyringStore`] | feature `native` | the OS credential store (see below) |
//! | [`LocalStorageStore`] | feature `web`, wasm32 | the browser's `localStorage` |
//!
//! [`KeyringStore`] uses the `keyring` crate: on **Linux** (and the BSDs) the Secret Service over
//! D-Bus (GNOME Keyring, KWallet); on **macOS/iOS** the Keychain; on **Windows** the Credential
//! Manager. A Linux kiosk often has no Secret Service (no desktop session, no D-Bus session
//! bus): [`platform_store`] then falls back to a [`FileStore`].
//!
//! The session holds bearer tokens: a store never logs it and a file store is readable by its
//! owner only. Stores are synchronous (each call is one small read or write); they must never
//! hold business state other than the session.

use std::sync::{Mutex, PoisonError};

use crate::protocol::Session;

/// Why the session could not be loaded, saved or cleared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store exists but reading or writing it failed.
    #[error("cannot read or write the saved session: {0}")]
    Io(String),
    /// What was saved is not a session (an older format, a damaged file).
    #[error("the saved session is not readable: {0}")]
    Corrupt(String),
    /// There is no such store here (no keyring service, no localStorage).
    #[error("no place to keep the session: {0}")]
    Unavailable(String),
}

/// Keeps one session. Implementations are small and synchronous.
pub trait SessionStore: Send + Sync {
    /// The saved session, `None` if there is none.
    fn load(&self) -> Result<Option<Session>, StoreError>;
    /// Replace the saved session.
    fn save(&self, session: &Session) -> Result<(), StoreError>;
    /// Forget the saved session (nothing saved is fine).
    fn clear(&self) -> Result<(), StoreError>;
}

/// The session in memory only.
#[derive(Debug, Default)]
pub struct MemoryStore {
    session: Mutex<Option<Session>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl SessionStore for MemoryStore {
    fn load(&self) -> Result<Option<Session>, StoreError> {
        Ok(self
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }

    fn save(&self, session: &Session) -> Result<(), StoreError> {
        *self.session.lock().unwrap_or_else(PoisonError::into_inner) = Some(session.clone());
        Ok(())
    }

    fn clear(&self) -> Result<(), StoreError> {
        *self.session.lock().unwrap_or_else(PoisonError::into_inner) = None;
        Ok(())
    }
}

#[cfg_attr(
    all(target_arch = "wasm32", not(feature = "web")),
    allow(
        dead_code,
        reason = "a wasm build without `web` has no store that persists"
    )
)]
fn to_json(session: &Session) -> Result<String, StoreError> {
    serde_json::to_string(session).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[cfg_attr(
    all(target_arch = "wasm32", not(feature = "web")),
    allow(
        dead_code,
        reason = "a wasm build without `web` has no store that persists"
    )
)]
fn from_json(text: &str) -> Result<Session, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[cfg(not(target_arch = "wasm32"))]
pub use file::FileStore;

#[cfg(not(target_arch = "wasm32"))]
mod file {
    use std::fs;
    use std::io::{self, Write};
    use std::path::{Path, PathBuf};

    use super::{SessionStore, StoreError, from_json, to_json};
    use crate::protocol::Session;

    /// The session as a JSON file. Saving writes a temporary file next to it (mode 0600 from
    /// the start on unix) and renames it over the old one, so a crash never leaves half a file.
    #[derive(Debug, Clone)]
    pub struct FileStore {
        path: PathBuf,
    }

    impl FileStore {
        pub fn new(path: impl Into<PathBuf>) -> Self {
            Self { path: path.into() }
        }

        pub fn path(&self) -> &Path {
            &self.path
        }

        fn temporary(&self) -> PathBuf {
            let name = self
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "session".into());
            let suffix = crate::client::rt::random_hex::<8>();
            self.path.with_file_name(format!(".{name}.{suffix}.tmp"))
        }
    }

    fn io_error(what: &str, path: &Path, error: io::Error) -> StoreError {
        StoreError::Io(format!("{what} {}: {error}", path.display()))
    }

    fn create_private(path: &Path) -> io::Result<fs::File> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(path)
    }

    impl SessionStore for FileStore {
        fn load(&self) -> Result<Option<Session>, StoreError> {
            match fs::read_to_string(&self.path) {
                Ok(text) => from_json(&text).map(Some),
                Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(io_error("cannot read", &self.path, error)),
            }
        }

        fn save(&self, session: &Session) -> Result<(), StoreError> {
            let json = to_json(session)?;
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir).map_err(|e| io_error("cannot create", dir, e))?;
            }
            let temporary = self.temporary();
            let written = create_private(&temporary).and_then(|mut file| {
                file.write_all(json.as_bytes())?;
                file.sync_all()
            });
            let renamed = written.and_then(|()| fs::rename(&temporary, &self.path));
            if let Err(error) = renamed {
                let _ = fs::remove_file(&temporary);
                return Err(io_error("cannot write", &self.path, error));
            }
            Ok(())
        }

        fn clear(&self) -> Result<(), StoreError> {
            match fs::remove_file(&self.path) {
                Ok(()) => Ok(()),
                Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(error) => Err(io_error("cannot remove", &self.path, error)),
            }
        }
    }
}

#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub use keyring_store::{KeyringStore, per_user_file, platform_store};

#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
mod keyring_store {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::{FileStore, SessionStore, StoreError, from_json, to_json};
    use crate::protocol::Session;

    /// The session as one secret (its JSON) in the OS credential store, under
    /// `service`/`user` (e.g. `"espresso"` / the server URL). See the module doc for which
    /// store that is on each OS.
    pub struct KeyringStore {
        pub(super) entry: keyring::Entry,
    }

    impl std::fmt::Debug for KeyringStore {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("KeyringStore").finish_non_exhaustive()
        }
    }

    fn store_error(error: keyring::Error) -> StoreError {
        match error {
            keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => {
                StoreError::Unavailable(error.to_string())
            }
            keyring::Error::BadEncoding(_) => StoreError::Corrupt(error.to_string()),
            other => StoreError::Io(other.to_string()),
        }
    }

    impl KeyringStore {
        pub fn new(service: &str, user: &str) -> Result<Self, StoreError> {
            keyring::Entry::new(service, user)
                .map(|entry| Self { entry })
                .map_err(store_error)
        }
    }

    impl SessionStore for KeyringStore {
        fn load(&self) -> Result<Option<Session>, StoreError> {
            match self.entry.get_password() {
                Ok(json) => from_json(&json).map(Some),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(error) => Err(store_error(error)),
            }
        }

        fn save(&self, session: &Session) -> Result<(), StoreError> {
            self.entry
                .set_password(&to_json(session)?)
                .map_err(store_error)
        }

        fn clear(&self) -> Result<(), StoreError> {
            match self.entry.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(error) => Err(store_error(error)),
            }
        }
    }

    /// The best store this machine has: the OS keyring if it answers, else a [`FileStore`]
    /// beside `fallback` (a Linux kiosk without a Secret Service). The keyring is probed with one
    /// read. Each `user` (the server's URL) has its own entry and its own file, so switching
    /// servers never sends one server's tokens to another.
    pub fn platform_store(
        service: &str,
        user: &str,
        fallback: impl Into<PathBuf>,
    ) -> Arc<dyn SessionStore> {
        let fallback = per_user_file(fallback.into(), user);
        match KeyringStore::new(service, user) {
            Ok(store) => match store.load() {
                Err(StoreError::Unavailable(_)) => Arc::new(FileStore::new(fallback)),
                _ => Arc::new(store),
            },
            Err(_) => Arc::new(FileStore::new(fallback)),
        }
    }

    /// `dir/session.json` for `https://cafe.example:8443` → `dir/session-https-cafe.example-8443.json`:
    /// one file per server, its name readable.
    pub fn per_user_file(fallback: PathBuf, user: &str) -> PathBuf {
        let stem = fallback.file_stem().map_or_else(
            || "session".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        );
        let extension = fallback
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let mut slug = String::with_capacity(user.len());
        for c in user.chars() {
            if c.is_ascii_alphanumeric() || c == '.' {
                slug.push(c);
            } else if !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_matches('-');
        fallback.with_file_name(format!("{stem}-{slug}{extension}"))
    }
}

#[cfg(all(feature = "web", target_arch = "wasm32"))]
pub use local_storage::LocalStorageStore;

#[cfg(all(feature = "web", target_arch = "wasm32"))]
mod local_storage {
    use super::{SessionStore, StoreError, from_json, to_json};
    use crate::protocol::Session;

    /// The session as JSON under one key of the browser's `localStorage` (per origin).
    #[derive(Debug, Clone)]
    pub struct LocalStorageStore {
        key: String,
    }

    impl LocalStorageStore {
        pub fn new(key: impl Into<String>) -> Self {
            Self { key: key.into() }
        }

        fn storage() -> Result<web_sys::Storage, StoreError> {
            web_sys::window()
                .ok_or_else(|| StoreError::Unavailable("no window".into()))?
                .local_storage()
                .ok()
                .flatten()
                .ok_or_else(|| StoreError::Unavailable("localStorage is turned off".into()))
        }
    }

    fn js_error(error: wasm_bindgen::JsValue) -> StoreError {
        StoreError::Io(format!("{error:?}"))
    }

    impl SessionStore for LocalStorageStore {
        fn load(&self) -> Result<Option<Session>, StoreError> {
            match Self::storage()?.get_item(&self.key).map_err(js_error)? {
                Some(json) => from_json(&json).map(Some),
                None => Ok(None),
            }
        }

        fn save(&self, session: &Session) -> Result<(), StoreError> {
            Self::storage()?
                .set_item(&self.key, &to_json(session)?)
                .map_err(js_error)
        }

        fn clear(&self) -> Result<(), StoreError> {
            Self::storage()?.remove_item(&self.key).map_err(js_error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Role, TokenType, User};

    fn session(access: &str) -> Session {
        Session {
            access_token: access.into(),
            refresh_token: format!("{access}-refresh"),
            token_type: TokenType::Bearer,
            expires_in_s: 900,
            user: User {
                id: "u1".into(),
                email: "ann@example.com".into(),
                roles: vec![Role::Customer],
            },
        }
    }

    fn round_trips(store: &dyn SessionStore) {
        assert_eq!(store.load().unwrap(), None);
        store.save(&session("a1")).unwrap();
        assert_eq!(store.load().unwrap(), Some(session("a1")));
        store.save(&session("a2")).unwrap();
        assert_eq!(store.load().unwrap(), Some(session("a2")));
        store.clear().unwrap();
        assert_eq!(store.load().unwrap(), None);
        store.clear().unwrap();
    }

    #[test]
    fn a_memory_store_keeps_the_last_session_until_cleared() {
        round_trips(&MemoryStore::new());
    }

    #[test]
    fn a_file_store_keeps_the_session_across_instances() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/session.json");
        round_trips(&FileStore::new(&path));
        FileStore::new(&path).save(&session("a3")).unwrap();
        assert_eq!(
            FileStore::new(&path).load().unwrap(),
            Some(session("a3")),
            "a new process reads what the last one saved"
        );
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["session.json"], "no temporary file is left behind");
    }

    #[cfg(all(feature = "native", not(target_arch = "wasm32")))]
    #[test]
    fn each_server_has_its_own_fallback_file() {
        let dir = tempfile::tempdir().unwrap();
        let fallback = dir.path().join("session.json");
        let cafe = per_user_file(fallback.clone(), "https://cafe.example:8443");
        let booth = per_user_file(fallback.clone(), "http://10.0.0.7:8080");
        assert_eq!(
            cafe,
            dir.path().join("session-https-cafe.example-8443.json")
        );
        assert_ne!(cafe, booth);
        FileStore::new(&cafe).save(&session("cafe-token")).unwrap();
        assert_eq!(
            FileStore::new(&booth).load().unwrap(),
            None,
            "switching servers found the other server's session"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_file_store_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session.json");
        FileStore::new(&path).save(&session("a1")).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_damaged_file_is_reported_not_taken_for_a_session() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session.json");
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            FileStore::new(&path).load(),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[cfg(feature = "native")]
    #[test]
    fn a_keyring_store_saves_loads_and_clears_through_the_credential_store() {
        // keyring's mock: no OS store is touched. A mock entry keeps its secret per `Entry`,
        // which is why the store holds one entry for its whole life.
        keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
        let store = KeyringStore::new("espresso-test", "http://127.0.0.1:8080").unwrap();
        round_trips(&store);
    }

    #[cfg(feature = "native")]
    #[test]
    fn a_locked_keyring_is_reported_as_unavailable() {
        keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
        let store = KeyringStore::new("espresso-test", "locked").unwrap();
        let mock: &keyring::mock::MockCredential =
            store.entry.get_credential().downcast_ref().unwrap();
        mock.set_error(keyring::Error::NoStorageAccess("locked".into()));
        assert!(matches!(store.load(), Err(StoreError::Unavailable(_))));
        assert_eq!(store.load().unwrap(), None, "the next call works again");
    }
}
