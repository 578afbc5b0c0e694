//! The shell's state: the server it talks to, the native core's client for it (the session in
//! the OS keyring, or a private file where no Secret Service runs), what was chosen in the app,
//! the open live streams, and whether the booth screen may close.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use espresso_core::client::live::LiveStream;
use espresso_core::protocol::{ErrorCode, Problem, ShopId};
use espresso_core::session::{MemoryStore, SessionStore};
use espresso_core::{Client, ClientError};

use crate::settings::Settings;

/// The keyring entry the session is kept under (per server, so two servers never mix).
const KEYRING_SERVICE: &str = "espresso";

/// The server this app talks to and its client (the session saved for that server).
struct Connection {
    server_url: String,
    client: Result<Client, ClientError>,
}

/// State shared by the commands.
pub struct Shell {
    connection: RwLock<Connection>,
    /// Where the app keeps its files (the chosen server and shop, the session where no keyring
    /// runs); `None`: nothing is saved (tests).
    data_dir: Option<PathBuf>,
    /// What was chosen in the app (saved in `data_dir`).
    settings: Mutex<Settings>,
    streams: Mutex<HashMap<u64, LiveStream>>,
    next_stream: AtomicU64,
    /// Whether the booth screen may close: only after its hidden settings asked (`quit_app`).
    may_close: AtomicBool,
}

impl Shell {
    /// A shell for `server_url` keeping its files in `data_dir` (where `saved` was read from)
    /// and its session in the OS keyring (or a file there).
    pub fn new(server_url: &str, data_dir: Option<PathBuf>, saved: Settings) -> Self {
        let store = session_store(server_url, data_dir.as_deref());
        Self::with_store(server_url, store, data_dir, saved)
    }

    fn with_store(
        server_url: &str,
        store: Arc<dyn SessionStore>,
        data_dir: Option<PathBuf>,
        saved: Settings,
    ) -> Self {
        Self {
            connection: RwLock::new(Connection {
                server_url: server_url.to_owned(),
                client: Client::with_store(server_url, store),
            }),
            settings: Mutex::new(saved),
            data_dir,
            streams: Mutex::new(HashMap::new()),
            next_stream: AtomicU64::new(1),
            may_close: AtomicBool::new(false),
        }
    }

    /// A shell whose session lives in memory only and that saves nothing (tests).
    pub fn in_memory(server_url: &str) -> Self {
        Self::with_store(
            server_url,
            Arc::new(MemoryStore::new()),
            None,
            Settings::default(),
        )
    }

    fn connection(&self) -> RwLockReadGuard<'_, Connection> {
        self.connection
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The client (a cheap clone sharing the session).
    pub fn client(&self) -> Result<Client, ClientError> {
        self.connection().client.clone()
    }

    pub fn server_url(&self) -> String {
        self.connection().server_url.clone()
    }

    /// Talk to another server about `shop` from now on (and at the next start): the server
    /// must answer `/healthz` and know the shop first. Its own saved session (if any) comes
    /// with it; open live streams are closed.
    pub async fn switch_server(&self, url: &str, shop: &str) -> Result<(), ClientError> {
        let url = url.trim().trim_end_matches('/').to_owned();
        let shop = checked_shop_id(shop)?;
        let store: Arc<dyn SessionStore> = match &self.data_dir {
            Some(_) => session_store(&url, self.data_dir.as_deref()),
            None => Arc::new(MemoryStore::new()),
        };
        let client = Client::with_store(&url, store)?;
        client.health().await?;
        client.shop(&shop).await?;
        self.save(|settings| {
            settings.server_url = Some(url.clone());
            settings.shop = Some(shop.into_string());
        })?;
        self.streams().clear();
        *self
            .connection
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Connection {
            server_url: url,
            client: Ok(client),
        };
        Ok(())
    }

    /// Serve `shop` of this server from now on (and at the next start): the server must know it.
    pub async fn switch_shop(&self, shop: &str) -> Result<(), ClientError> {
        let shop = checked_shop_id(shop)?;
        self.client()?.shop(&shop).await?;
        self.save(|settings| settings.shop = Some(shop.into_string()))
    }

    /// Change the settings and save them (where this shell saves anything).
    fn save(&self, change: impl FnOnce(&mut Settings)) -> Result<(), ClientError> {
        let mut settings = self.settings.lock().unwrap_or_else(PoisonError::into_inner);
        let mut changed = settings.clone();
        change(&mut changed);
        if let Some(dir) = &self.data_dir {
            changed
                .save(dir)
                .map_err(|e| ClientError::Network(format!("cannot save the settings: {e}")))?;
        }
        *settings = changed;
        Ok(())
    }

    /// The shop chosen in the app, if any.
    pub fn saved_shop(&self) -> Option<String> {
        self.settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .shop
            .clone()
    }

    /// Keep `stream` open until [`Shell::close_stream`] with the id this answers.
    pub fn add_stream(&self, stream: LiveStream) -> u64 {
        let id = self.next_stream.fetch_add(1, Ordering::Relaxed);
        self.streams().insert(id, stream);
        id
    }

    /// Close a subscription (dropping its stream closes the socket).
    pub fn close_stream(&self, id: u64) {
        self.streams().remove(&id);
    }

    fn streams(&self) -> MutexGuard<'_, HashMap<u64, LiveStream>> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// From now on the booth screen may close (its hidden settings asked to quit).
    pub fn allow_close(&self) {
        self.may_close.store(true, Ordering::SeqCst);
    }

    pub fn may_close(&self) -> bool {
        self.may_close.load(Ordering::SeqCst)
    }
}

/// `shop` trimmed, if it can be a shop's id; else the server's own "not found" (no shop has
/// such an id), so the UI says the same either way.
fn checked_shop_id(shop: &str) -> Result<ShopId, ClientError> {
    ShopId::parse(shop.trim()).map_err(|_| ClientError::from(Problem::new(ErrorCode::NotFound)))
}

/// The session store of this machine: the OS keyring if it answers, else a private file in the
/// app's data folder. One entry per server, so two servers' sessions never mix.
fn session_store(server_url: &str, data_dir: Option<&Path>) -> Arc<dyn SessionStore> {
    let fallback = data_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
        .join("session.json");
    espresso_core::session::platform_store(KEYRING_SERVICE, server_url, fallback)
}

#[cfg(test)]
mod tests {
    use espresso_server::Server;
    use espresso_server::config::ServeConfig;

    use super::*;
    use crate::settings::{DEFAULT_SERVER_URL, shop_for_run};

    /// The real server on `127.0.0.1:0` with its own database, as every other suite runs it.
    async fn server(dir: &Path) -> Server {
        let database = format!("sqlite://{}", dir.join("espresso.db").display());
        Server::start(ServeConfig::for_tests(database, dir.join("web")))
            .await
            .expect("the server starts")
    }

    #[tokio::test]
    async fn an_unreachable_server_is_reported_not_panicked() {
        // Port 9 (discard) on loopback refuses connections.
        let shell = Shell::in_memory("http://127.0.0.1:9");
        let error = shell.client().unwrap().health().await.unwrap_err();
        assert!(error.to_string().contains("cannot reach"), "{error}");
        // The UI gets it as a tagged error it can match on.
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["kind"], "network");
    }

    #[tokio::test]
    async fn a_server_that_does_not_answer_is_not_switched_to() {
        let shell = Shell::in_memory("http://127.0.0.1:9");
        let error = shell
            .switch_server("http://127.0.0.1:9/other", "main")
            .await;
        assert!(error.is_err());
        assert_eq!(shell.server_url(), "http://127.0.0.1:9");
        assert!(shell.switch_server("not a url", "main").await.is_err());
    }

    #[tokio::test]
    async fn the_first_run_setup_keeps_a_server_and_a_shop_it_knows() {
        let server_dir = tempfile::tempdir().unwrap();
        let server = server(server_dir.path()).await;
        let url = server.url();
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let shell = Shell::with_store(
            DEFAULT_SERVER_URL,
            Arc::new(MemoryStore::new()),
            Some(dir.to_path_buf()),
            Settings::load(dir),
        );

        // A shop the server does not know: refused as the server's "not found", nothing kept.
        let unknown = shell.switch_server(&url, "nowhere").await.unwrap_err();
        assert_eq!(unknown.code(), Some(&ErrorCode::NotFound), "{unknown}");
        let odd = shell.switch_server(&url, "../admin").await.unwrap_err();
        assert_eq!(odd.code(), Some(&ErrorCode::NotFound), "{odd}");
        assert_eq!(shell.server_url(), DEFAULT_SERVER_URL);
        assert_eq!(Settings::load(dir), Settings::default());

        // A known one: both kept, for this run and the next.
        shell
            .switch_server(&format!("{url}/"), " main ")
            .await
            .unwrap();
        assert_eq!(shell.server_url(), url);
        let saved = Settings::load(dir);
        assert_eq!(saved.server_url.as_deref(), Some(url.as_str()));
        assert_eq!(saved.shop.as_deref(), Some("main"));
        assert_eq!(shop_for_run(&saved), "main");

        // Another shop on the same server is checked the same way.
        assert!(shell.switch_shop("pop-up").await.is_err());
        assert_eq!(shell.saved_shop().as_deref(), Some("main"));
        shell.switch_shop("main").await.unwrap();
        server.stop().await.unwrap();
    }

    #[test]
    fn a_bad_server_url_is_kept_as_a_readable_error() {
        let shell = Shell::in_memory("::not a url::");
        assert!(
            shell
                .client()
                .unwrap_err()
                .to_string()
                .contains("invalid server URL")
        );
    }
}
