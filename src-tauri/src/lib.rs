//! espresso-app: the thin Tauri shell. It owns the native core's `Client` (session in the OS
//! keyring, or a private file where no Secret Service runs) and exposes its calls as Tauri
//! commands, one to one with the UI's `Backend` seam (`ui/src/backend/mod.rs`): same names,
//! same snake_case argument names, errors as the core's serialised `ClientError`. Live updates
//! go to the UI through a Tauri `Channel` per subscription. It holds no business rules.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use espresso_core::client::live::{LiveConfig, LiveStream, LiveUpdate};
use espresso_core::protocol::{
    BoothCode, DrinkChoice, Health, Me, Order, OrderDetail, OrderState, OtpChallenge, Shop, Stats,
    User,
};
use espresso_core::session::{MemoryStore, SessionStore};
use espresso_core::{Client, ClientError, StaffAction};
use tauri::Manager;
use tauri::ipc::Channel;

/// The server the shell talks to when none is configured.
pub const DEFAULT_SERVER_URL: &str = "http://127.0.0.1:8080";

/// The keyring entry the session is kept under (per server, so two servers never mix).
const KEYRING_SERVICE: &str = "espresso";

/// Which app this shell is: the window it opens. `ESPRESSO_FLAVOUR` at run time, else the one
/// it was built as (`ESPRESSO_FLAVOUR` at build time, set by `cargo xtask bundle`), else the
/// start page that links the three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// The start page linking the three apps (a development build).
    Home,
    /// A phone-sized window on the ordering app.
    Customer,
    /// A tablet-landscape window on the barista's queue.
    Barista,
    /// The booth screen: full screen, no decorations, always on top.
    Display,
}

impl Flavour {
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "home" => Some(Flavour::Home),
            "customer" => Some(Flavour::Customer),
            "barista" => Some(Flavour::Barista),
            "display" => Some(Flavour::Display),
            _ => None,
        }
    }

    /// This run's flavour (see the type's documentation); an unknown name is the start page.
    pub fn from_env() -> Self {
        std::env::var("ESPRESSO_FLAVOUR")
            .ok()
            .or_else(|| option_env!("ESPRESSO_FLAVOUR").map(str::to_owned))
            .and_then(|name| Flavour::parse(&name))
            .unwrap_or(Flavour::Home)
    }

    /// The page the window opens, for `shop`.
    pub fn page(self, shop: &str) -> String {
        match self {
            Flavour::Home => "index.html".to_owned(),
            Flavour::Customer => format!("order?shop={shop}"),
            Flavour::Barista => format!("barista?shop={shop}"),
            Flavour::Display => format!("display?shop={shop}"),
        }
    }

    fn title(self) -> &'static str {
        match self {
            Flavour::Home | Flavour::Customer => "Espresso",
            Flavour::Barista => "Espresso Barista",
            Flavour::Display => "Espresso Display",
        }
    }

    /// The window's inner size (the display is full screen instead).
    fn size(self) -> (f64, f64) {
        match self {
            Flavour::Home => (1024.0, 768.0),
            Flavour::Customer => (420.0, 860.0),
            Flavour::Barista | Flavour::Display => (1280.0, 800.0),
        }
    }
}

/// Open this flavour's one window (label `main`, which the capabilities name).
fn open_window(app: &tauri::App, flavour: Flavour, shop: &str) -> tauri::Result<()> {
    let (width, height) = flavour.size();
    let url = tauri::WebviewUrl::App(flavour.page(shop).into());
    let window = tauri::WebviewWindowBuilder::new(app, "main", url)
        .title(flavour.title())
        .inner_size(width, height)
        .min_inner_size(320.0, 480.0);
    let window = match flavour {
        Flavour::Display => window
            .fullscreen(true)
            .decorations(false)
            .always_on_top(true),
        _ => window,
    };
    window.build()?;
    Ok(())
}

/// The server URL for this run: `ESPRESSO_SERVER_URL`, else the one chosen in the app (saved
/// in `saved`), else [`DEFAULT_SERVER_URL`].
pub fn server_url_for_run(saved: Option<&Path>) -> String {
    std::env::var("ESPRESSO_SERVER_URL")
        .ok()
        .or_else(|| saved.and_then(|path| std::fs::read_to_string(path).ok()))
        .map(|url| url.trim().to_owned())
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER_URL.to_owned())
}

/// The server this app talks to and its client (the session saved for that server).
struct Connection {
    server_url: String,
    client: Result<Client, ClientError>,
}

/// State shared by the commands.
pub struct Shell {
    connection: RwLock<Connection>,
    /// Where the app keeps its files (the chosen server, the session where no keyring runs);
    /// `None`: nothing is saved (tests).
    data_dir: Option<PathBuf>,
    streams: Mutex<HashMap<u64, LiveStream>>,
    next_stream: AtomicU64,
}

impl Shell {
    /// A shell for `server_url` keeping its files in `data_dir` and its session in the OS
    /// keyring (or a file there).
    pub fn new(server_url: &str, data_dir: Option<PathBuf>) -> Self {
        let store = session_store(server_url, data_dir.as_deref());
        Self::with_store(server_url, store, data_dir)
    }

    fn with_store(
        server_url: &str,
        store: Arc<dyn SessionStore>,
        data_dir: Option<PathBuf>,
    ) -> Self {
        Self {
            connection: RwLock::new(Connection {
                server_url: server_url.to_owned(),
                client: Client::with_store(server_url, store),
            }),
            data_dir,
            streams: Mutex::new(HashMap::new()),
            next_stream: AtomicU64::new(1),
        }
    }

    /// A shell whose session lives in memory only and that saves nothing (tests).
    pub fn in_memory(server_url: &str) -> Self {
        Self::with_store(server_url, Arc::new(MemoryStore::new()), None)
    }

    fn connection(&self) -> std::sync::RwLockReadGuard<'_, Connection> {
        self.connection
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The client (a cheap clone sharing the session).
    fn client(&self) -> Result<Client, ClientError> {
        self.connection().client.clone()
    }

    fn server_url(&self) -> String {
        self.connection().server_url.clone()
    }

    /// Talk to another server from now on (and at the next start): it must answer `/healthz`
    /// first. Its own saved session (if any) comes with it; open live streams are closed.
    pub async fn switch_server(&self, url: &str) -> Result<(), ClientError> {
        let url = url.trim().trim_end_matches('/').to_owned();
        let store: Arc<dyn SessionStore> = match &self.data_dir {
            Some(_) => session_store(&url, self.data_dir.as_deref()),
            None => Arc::new(MemoryStore::new()),
        };
        let client = Client::with_store(&url, store)?;
        client.health().await?;
        if let Some(dir) = &self.data_dir {
            std::fs::write(dir.join(SAVED_SERVER), &url)
                .map_err(|e| ClientError::Network(format!("cannot save the server: {e}")))?;
        }
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

    fn streams(&self) -> std::sync::MutexGuard<'_, HashMap<u64, LiveStream>> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The file in the app's data folder that keeps the server chosen in the app.
const SAVED_SERVER: &str = "server.txt";

/// The session store of this machine: the OS keyring if it answers, else a private file in the
/// app's data folder. One entry per server, so two servers' sessions never mix.
fn session_store(server_url: &str, data_dir: Option<&Path>) -> Arc<dyn SessionStore> {
    let fallback = data_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
        .join("session.json");
    espresso_core::session::platform_store(KEYRING_SERVICE, server_url, fallback)
}

type Answer<T> = Result<T, ClientError>;
type State<'a> = tauri::State<'a, Shell>;

#[tauri::command(rename_all = "snake_case")]
async fn server_url(shell: State<'_>) -> Answer<String> {
    Ok(shell.server_url())
}

/// First-run setup and later changes: the server this app talks to (checked, then saved).
#[tauri::command(rename_all = "snake_case")]
async fn set_server_url(shell: State<'_>, url: String) -> Answer<()> {
    shell.switch_server(&url).await
}

#[tauri::command(rename_all = "snake_case")]
async fn health(shell: State<'_>) -> Answer<Health> {
    shell.client()?.health().await
}

#[tauri::command(rename_all = "snake_case")]
async fn user(shell: State<'_>, app: Option<String>) -> Answer<Option<User>> {
    let _ = app;
    Ok(shell.client()?.user())
}

#[tauri::command(rename_all = "snake_case")]
async fn request_code(shell: State<'_>, email: String) -> Answer<OtpChallenge> {
    shell.client()?.request_code(&email).await
}

#[tauri::command(rename_all = "snake_case")]
async fn verify_code(shell: State<'_>, challenge_id: String, code: String) -> Answer<User> {
    Ok(shell
        .client()?
        .verify_code(&challenge_id, &code)
        .await?
        .user)
}

#[tauri::command(rename_all = "snake_case")]
async fn sign_out(shell: State<'_>) -> Answer<()> {
    shell.client()?.sign_out().await
}

#[tauri::command(rename_all = "snake_case")]
async fn me(shell: State<'_>) -> Answer<Me> {
    shell.client()?.me().await
}

#[tauri::command(rename_all = "snake_case")]
async fn set_display_name(shell: State<'_>, name: Option<String>) -> Answer<Me> {
    shell.client()?.set_display_name(name.as_deref()).await
}

#[tauri::command(rename_all = "snake_case")]
async fn shop(shell: State<'_>, shop: String) -> Answer<Shop> {
    shell.client()?.shop(&shop).await
}

#[tauri::command(rename_all = "snake_case")]
async fn set_shop_open(shell: State<'_>, shop: String, open: bool) -> Answer<Shop> {
    shell.client()?.set_shop_open(&shop, open).await
}

#[tauri::command(rename_all = "snake_case")]
async fn set_item_available(
    shell: State<'_>,
    shop: String,
    item_id: String,
    available: bool,
) -> Answer<Shop> {
    shell
        .client()?
        .set_item_available(&shop, &item_id, available)
        .await
}

#[tauri::command(rename_all = "snake_case")]
async fn stats(shell: State<'_>, shop: String) -> Answer<Stats> {
    shell.client()?.stats(&shop).await
}

#[tauri::command(rename_all = "snake_case")]
async fn booth_code(shell: State<'_>, shop: String) -> Answer<BoothCode> {
    shell.client()?.booth_code(&shop).await
}

#[tauri::command(rename_all = "snake_case")]
async fn start_order(
    shell: State<'_>,
    shop: String,
    code: String,
    drink: Option<DrinkChoice>,
) -> Answer<Order> {
    shell.client()?.start_order(&shop, &code, drink).await
}

#[tauri::command(rename_all = "snake_case")]
async fn choose_drink(
    shell: State<'_>,
    shop: String,
    order_id: String,
    drink: DrinkChoice,
) -> Answer<Order> {
    shell.client()?.choose_drink(&shop, &order_id, &drink).await
}

#[tauri::command(rename_all = "snake_case")]
async fn cancel_order(
    shell: State<'_>,
    shop: String,
    order_id: String,
    reason: Option<String>,
) -> Answer<Order> {
    shell
        .client()?
        .cancel_order(&shop, &order_id, reason.as_deref())
        .await
}

#[tauri::command(rename_all = "snake_case")]
async fn order_action(
    shell: State<'_>,
    shop: String,
    order_id: String,
    action: StaffAction,
) -> Answer<Order> {
    shell.client()?.act(&shop, &order_id, action).await
}

#[tauri::command(rename_all = "snake_case")]
async fn orders(
    shell: State<'_>,
    shop: String,
    states: Vec<OrderState>,
    limit: Option<u32>,
) -> Answer<Vec<Order>> {
    shell.client()?.orders(&shop, &states, limit).await
}

#[tauri::command(rename_all = "snake_case")]
async fn order(shell: State<'_>, shop: String, order_id: String) -> Answer<OrderDetail> {
    shell.client()?.order(&shop, &order_id).await
}

#[tauri::command(rename_all = "snake_case")]
async fn my_orders(shell: State<'_>) -> Answer<Vec<Order>> {
    shell.client()?.my_orders().await
}

/// Follow `shop` live; every update goes to `on_update` in order. Returns the subscription's
/// id for [`live_close`].
#[tauri::command(rename_all = "snake_case")]
async fn live_subscribe(
    shell: State<'_>,
    shop: String,
    since: Option<u64>,
    on_update: Channel<LiveUpdate>,
) -> Answer<u64> {
    let client = shell.client()?;
    let (stream, mut updates) =
        LiveStream::connect_with(&client, &shop, since, LiveConfig::default());
    let id = shell.next_stream.fetch_add(1, Ordering::Relaxed);
    shell.streams().insert(id, stream);
    tauri::async_runtime::spawn(async move {
        while let Some(update) = updates.next().await {
            if on_update.send(update).is_err() {
                break;
            }
        }
    });
    Ok(id)
}

/// Quit the app (the display's hidden settings: the only way the booth screen closes).
#[tauri::command(rename_all = "snake_case")]
async fn quit_app(app: tauri::AppHandle) -> Answer<()> {
    MAY_CLOSE.store(true, Ordering::SeqCst);
    app.exit(0);
    Ok(())
}

/// Close a subscription (dropping its stream closes the socket).
#[tauri::command(rename_all = "snake_case")]
async fn live_close(shell: State<'_>, id: u64) -> Answer<()> {
    shell.streams().remove(&id);
    Ok(())
}

/// Whether the display may close: only after its hidden settings asked (`quit_app`).
static MAY_CLOSE: AtomicBool = AtomicBool::new(false);

/// Start the shell. Panics only if the window system cannot start at all. On Android and iOS
/// this is the app's entry point (`tauri::mobile_entry_point`).
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let flavour = Flavour::from_env();
    let mut builder = tauri::Builder::default();
    if flavour == Flavour::Barista {
        // One queue per tablet: a second start brings the open window forward. The window's
        // size and place are remembered.
        builder = builder
            .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
                if let Some(window) = app.get_webview_window("main") {
                    let _ = window.unminimize();
                    let _ = window.set_focus();
                }
            }))
            .plugin(tauri_plugin_window_state::Builder::default().build());
    }
    #[allow(clippy::expect_used)]
    builder
        .setup(move |app| {
            let data_dir = app.path().app_data_dir().ok();
            if let Some(dir) = &data_dir {
                let _ = std::fs::create_dir_all(dir);
            }
            let saved = data_dir.as_ref().map(|dir| dir.join(SAVED_SERVER));
            let url = server_url_for_run(saved.as_deref());
            app.manage(Shell::new(&url, data_dir));
            let shop = std::env::var("ESPRESSO_SHOP").unwrap_or_else(|_| "main".to_owned());
            open_window(app, flavour, &shop)?;
            Ok(())
        })
        .on_window_event(move |_window, event| {
            // The booth screen is not closed by a passer-by's Alt+F4: only from its settings.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event
                && flavour == Flavour::Display
                && !MAY_CLOSE.load(Ordering::SeqCst)
            {
                api.prevent_close();
            }
        })
        .invoke_handler(tauri::generate_handler![
            server_url,
            set_server_url,
            health,
            user,
            request_code,
            verify_code,
            sign_out,
            me,
            set_display_name,
            shop,
            set_shop_open,
            set_item_available,
            stats,
            booth_code,
            start_order,
            choose_drink,
            cancel_order,
            order_action,
            orders,
            order,
            my_orders,
            live_subscribe,
            live_close,
            quit_app,
        ])
        .run(tauri::generate_context!())
        .expect("the window system could not start");
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let error = shell.switch_server("http://127.0.0.1:9/other").await;
        assert!(error.is_err());
        assert_eq!(shell.server_url(), "http://127.0.0.1:9");
        assert!(shell.switch_server("not a url").await.is_err());
    }

    #[test]
    fn the_saved_server_is_used_when_the_environment_names_none() {
        let dir = std::env::temp_dir().join(format!("espresso-app-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let saved = dir.join(SAVED_SERVER);
        std::fs::write(&saved, "http://cafe-laptop:8080\n").unwrap();
        // (ESPRESSO_SERVER_URL is not set in unit tests.)
        if std::env::var_os("ESPRESSO_SERVER_URL").is_none() {
            assert_eq!(server_url_for_run(Some(&saved)), "http://cafe-laptop:8080");
            assert_eq!(server_url_for_run(None), DEFAULT_SERVER_URL);
        }
        let _ = std::fs::remove_dir_all(&dir);
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

    #[test]
    fn each_flavour_opens_its_app() {
        assert_eq!(Flavour::parse("Barista"), Some(Flavour::Barista));
        assert_eq!(Flavour::parse(""), Some(Flavour::Home));
        assert_eq!(Flavour::parse("kiosk"), None);
        assert_eq!(Flavour::Display.page("main"), "display?shop=main");
        assert_eq!(Flavour::Customer.page("pop-up"), "order?shop=pop-up");
    }

    #[test]
    fn staff_actions_read_as_the_ui_writes_them() {
        for action in [
            StaffAction::Claim,
            StaffAction::Unclaim,
            StaffAction::Complete,
            StaffAction::Collect,
        ] {
            let wire = serde_json::to_string(&action).unwrap();
            assert_eq!(wire, format!("\"{}\"", action.as_str()));
            assert_eq!(serde_json::from_str::<StaffAction>(&wire).unwrap(), action);
        }
    }
}
