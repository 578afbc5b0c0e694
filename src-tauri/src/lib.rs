//! espresso-app: the thin Tauri shell. It owns the native core's `Client` (session in the OS
//! keyring, or a private file where no Secret Service runs) and exposes its calls as Tauri
//! commands, one to one with the UI's `Backend` seam (`ui/src/backend/mod.rs`): same names,
//! same snake_case argument names, errors as the core's serialised `ClientError`. Live updates
//! go to the UI through a Tauri `Channel` per subscription. It holds no business rules.
//!
//! Per flavour it adds what an installed app needs: system notifications (all), one instance
//! and a remembered window (barista), one instance and the `espresso://order` link (customer),
//! a kiosk window that covers its monitor and keeps the screen awake (display, see [`kiosk`]),
//! and each flavour's own icon.

mod deep_link;
pub mod kiosk;
mod settings;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use espresso_core::client::live::{LiveConfig, LiveStream, LiveUpdate};
use espresso_core::protocol::{
    BoothCode, DrinkChoice, ErrorCode, Health, Me, Order, OrderDetail, OrderState, OtpChallenge,
    Problem, Shop, Stats, User,
};
use espresso_core::session::{MemoryStore, SessionStore};
use espresso_core::{Client, ClientError, StaffAction};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_deep_link::DeepLinkExt;

pub use deep_link::OrderLink;
pub use settings::{
    DEFAULT_SERVER_URL, DEFAULT_SHOP, Settings, is_shop_name, server_url_for_run, shop_for_run,
};

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

    /// The app's identifier, as its bundle has it (`flavours/<flavour>.json`): names its
    /// one-instance lock, so two flavours on one machine never take each other for a second start.
    pub fn identifier(self) -> &'static str {
        match self {
            Flavour::Home => "coffee.espresso.app",
            Flavour::Customer => "coffee.espresso.order",
            Flavour::Barista => "coffee.espresso.barista",
            Flavour::Display => "coffee.espresso.display",
        }
    }

    /// The window's icon: the same cup on each flavour's own colour (`icons/<flavour>/`).
    fn icon(self) -> tauri::image::Image<'static> {
        match self {
            Flavour::Home => tauri::include_image!("icons/128x128.png"),
            Flavour::Customer => tauri::include_image!("icons/customer/128x128.png"),
            Flavour::Barista => tauri::include_image!("icons/barista/128x128.png"),
            Flavour::Display => tauri::include_image!("icons/display/128x128.png"),
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

/// Open this flavour's one window (label `main`, which the capabilities name) on `page`. The
/// booth screen opens over the primary monitor, asks for full screen, keeps covering its monitor
/// and keeps the screen awake ([`kiosk`]).
fn open_window(app: &tauri::App, flavour: Flavour, page: String) -> tauri::Result<()> {
    let (width, height) = flavour.size();
    let url = tauri::WebviewUrl::App(page.into());
    let window = tauri::WebviewWindowBuilder::new(app, "main", url)
        .title(flavour.title())
        .icon(flavour.icon())?
        .inner_size(width, height)
        .min_inner_size(320.0, 480.0);
    let window = match flavour {
        Flavour::Display => {
            let window = window
                .fullscreen(true)
                .decorations(false)
                .always_on_top(true);
            // Already the monitor's size when it first shows (the builder takes logical pixels).
            match app.primary_monitor().ok().flatten() {
                Some(monitor) => {
                    let scale = monitor.scale_factor();
                    let (position, size) = (monitor.position(), monitor.size());
                    window
                        .position(f64::from(position.x) / scale, f64::from(position.y) / scale)
                        .inner_size(
                            f64::from(size.width) / scale,
                            f64::from(size.height) / scale,
                        )
                }
                None => window,
            }
        }
        _ => window,
    };
    let window = window.build()?;
    if flavour == Flavour::Display {
        kiosk::keep_filling(window);
        kiosk::keep_awake(flavour.title());
    }
    Ok(())
}

/// The customer app follows `espresso://` links: its bundle's config says so
/// (`flavours/customer.json`, which also puts the scheme in its `.desktop` file); a build run as
/// the customer flavour without that overlay gets the same setting here, so the deep-link plugin
/// reads the same links either way.
fn add_link_scheme(plugins: &mut tauri::utils::config::PluginConfig) {
    plugins
        .0
        .entry("deep-link".to_owned())
        .or_insert_with(|| serde_json::json!({ "desktop": { "schemes": [deep_link::SCHEME] } }));
}

/// Open the order page of a link in the running app's window (a link opened while it runs).
fn follow_link<R: Runtime>(app: &AppHandle<R>, link: &OrderLink) {
    let Some(window) = app.get_webview_window("main") else {
        deep_link::log_ignored(&link.page(), "the window is not open");
        return;
    };
    let target = window.url().and_then(|mut url| {
        // The app's own origin (tauri://localhost when embedded, the dev server otherwise).
        url.set_path("/order");
        url.set_query(Some(&format!("shop={}&code={}", link.shop, link.code)));
        url.set_fragment(None);
        window.navigate(url)
    });
    if let Err(error) = target {
        deep_link::log_ignored(&link.page(), &format!("cannot open it: {error}"));
    }
    let _ = window.unminimize();
    let _ = window.set_focus();
}

/// Show a system notification, never failing the UI: an error in preparing it is logged; the
/// plugin sends it on a background task, which drops a delivery failure (no notification
/// service, as on a kiosk or a test's virtual display) silently.
fn show_notification<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    let clip = |text: &str, most: usize| text.chars().take(most).collect::<String>();
    let Some(notifications) = app.try_state::<tauri_plugin_notification::Notification<R>>() else {
        eprintln!("espresso-app: notifications are not set up; not shown: {title:?}");
        return;
    };
    let shown = notifications
        .builder()
        .title(clip(title, 120))
        .body(clip(body, 400))
        .show();
    if let Err(error) = shown {
        eprintln!("espresso-app: could not show the notification {title:?}: {error}");
    }
}

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

    /// Talk to another server about `shop` from now on (and at the next start): the server
    /// must answer `/healthz` and know the shop first. Its own saved session (if any) comes
    /// with it; open live streams are closed.
    pub async fn switch_server(&self, url: &str, shop: &str) -> Result<(), ClientError> {
        let url = url.trim().trim_end_matches('/').to_owned();
        let shop = checked_shop_name(shop)?;
        let store: Arc<dyn SessionStore> = match &self.data_dir {
            Some(_) => session_store(&url, self.data_dir.as_deref()),
            None => Arc::new(MemoryStore::new()),
        };
        let client = Client::with_store(&url, store)?;
        client.health().await?;
        client.shop(&shop).await?;
        self.save(|settings| {
            settings.server_url = Some(url.clone());
            settings.shop = Some(shop);
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
        let shop = checked_shop_name(shop)?;
        self.client()?.shop(&shop).await?;
        self.save(|settings| settings.shop = Some(shop))
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

    fn streams(&self) -> std::sync::MutexGuard<'_, HashMap<u64, LiveStream>> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `shop` trimmed, if it can be a shop's name; else the server's own "not found" (no shop has
/// such a name), so the UI says the same either way.
fn checked_shop_name(shop: &str) -> Result<String, ClientError> {
    let shop = shop.trim();
    if is_shop_name(shop) {
        Ok(shop.to_owned())
    } else {
        Err(ClientError::from(Problem::new(ErrorCode::NotFound)))
    }
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

type Answer<T> = Result<T, ClientError>;
type State<'a> = tauri::State<'a, Shell>;

#[tauri::command(rename_all = "snake_case")]
async fn server_url(shell: State<'_>) -> Answer<String> {
    Ok(shell.server_url())
}

/// First-run setup and later changes: the server this app talks to and the shop it serves
/// (both checked, then saved).
#[tauri::command(rename_all = "snake_case")]
async fn set_server(shell: State<'_>, url: String, shop: String) -> Answer<()> {
    shell.switch_server(&url, &shop).await
}

/// Another shop on the same server (checked, then saved).
#[tauri::command(rename_all = "snake_case")]
async fn set_shop(shell: State<'_>, shop: String) -> Answer<()> {
    shell.switch_shop(&shop).await
}

/// A system notification (the customer's drink is ready; a new order for the barista). Never
/// fails the UI (see [`show_notification`]).
#[tauri::command(rename_all = "snake_case")]
async fn notify(app: AppHandle, title: String, body: String) -> Answer<()> {
    show_notification(&app, &title, &body);
    Ok(())
}

/// Whether notifications may be shown: `granted`, `denied` or `ask` (desktops grant them;
/// phones ask).
#[tauri::command(rename_all = "snake_case")]
async fn notification_permission(app: AppHandle) -> Answer<String> {
    use tauri_plugin_notification::NotificationExt;
    Ok(permission_word(app.notification().permission_state()))
}

/// Ask the user for the permission (phones); answers as [`notification_permission`].
#[tauri::command(rename_all = "snake_case")]
async fn request_notification_permission(app: AppHandle) -> Answer<String> {
    use tauri_plugin_notification::NotificationExt;
    Ok(permission_word(app.notification().request_permission()))
}

fn permission_word(
    state: Result<tauri::plugin::PermissionState, tauri_plugin_notification::Error>,
) -> String {
    use tauri::plugin::PermissionState;
    match state {
        Ok(PermissionState::Granted) => "granted",
        Ok(PermissionState::Prompt | PermissionState::PromptWithRationale) => "ask",
        Ok(PermissionState::Denied) | Err(_) => "denied",
    }
    .to_owned()
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
    let mut context = tauri::generate_context!();
    let mut builder = tauri::Builder::default();
    #[cfg(desktop)]
    {
        builder = desktop_plugins(builder, flavour);
    }
    if flavour == Flavour::Customer {
        // The customer app follows `espresso://order?…` links (see `add_link_scheme`).
        add_link_scheme(&mut context.config_mut().plugins);
        builder = builder.plugin(tauri_plugin_deep_link::init());
    }
    #[allow(clippy::expect_used)]
    builder
        .plugin(tauri_plugin_notification::init())
        .setup(move |app| {
            let data_dir = app.path().app_data_dir().ok();
            if let Some(dir) = &data_dir {
                let _ = std::fs::create_dir_all(dir);
            }
            let saved = data_dir.as_deref().map(Settings::load).unwrap_or_default();
            let url = server_url_for_run(&saved);
            let shop = shop_for_run(&saved);
            app.manage(Shell::new(&url, data_dir, saved));
            let mut page = flavour.page(&shop);
            if flavour == Flavour::Customer {
                // Started from a link: open its order page.
                if let Some(link) = link_at_start(app) {
                    page = link.page();
                }
                let handle = app.handle().clone();
                app.deep_link().on_open_url(move |event| {
                    let urls: Vec<String> = event.urls().iter().map(|u| u.to_string()).collect();
                    if let Some(link) = OrderLink::find_in(&urls) {
                        follow_link(&handle, &link);
                    }
                });
            }
            open_window(app, flavour, page)?;
            Ok(())
        })
        .on_window_event(move |window, event| {
            if flavour != Flavour::Display {
                return;
            }
            match event {
                // The booth screen is not closed by a passer-by's Alt+F4: only from its settings.
                tauri::WindowEvent::CloseRequested { api, .. }
                    if !MAY_CLOSE.load(Ordering::SeqCst) =>
                {
                    api.prevent_close();
                }
                // Another monitor or another scale: cover it (a regular check catches the rest).
                tauri::WindowEvent::ScaleFactorChanged { .. } => {
                    if let Some(window) = window.app_handle().get_webview_window(window.label()) {
                        let _ = kiosk::fill_monitor(&window);
                    }
                }
                _ => {}
            }
        })
        .invoke_handler(tauri::generate_handler![
            server_url,
            set_server,
            set_shop,
            notify,
            notification_permission,
            request_notification_permission,
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
        .build(context)
        .expect("the window system could not start")
        .run(|_app, event| {
            // The booth screen lets the screen sleep again when it quits.
            if let tauri::RunEvent::Exit = event {
                kiosk::let_sleep();
            }
        });
}

/// The desktop's plugins, registered before the others (one instance must be settled first).
/// Barista: one queue per tablet, its window's size and place remembered. Customer: one
/// instance too, so an `espresso://order?…` link opened while the app runs (which starts a
/// second copy with the link as its argument) is handed to the running app (single-instance's
/// `deep-link` feature) and the copy quits; the deep-link plugin then reports it here. Phones
/// run one instance anyway.
#[cfg(desktop)]
fn desktop_plugins<R: Runtime>(builder: tauri::Builder<R>, flavour: Flavour) -> tauri::Builder<R> {
    let one_instance = || {
        tauri_plugin_single_instance::Builder::new()
            .callback(|app, _args, _cwd| bring_forward(app))
            .dbus_id(flavour.identifier())
            .build()
    };
    match flavour {
        Flavour::Barista => builder
            .plugin(one_instance())
            .plugin(tauri_plugin_window_state::Builder::default().build()),
        Flavour::Customer => builder.plugin(one_instance()),
        Flavour::Home | Flavour::Display => builder,
    }
}

/// A second start of a one-instance app: show the window that is already open.
fn bring_forward<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// The order link this run was started with, if any: as the deep-link plugin saw it (the only
/// argument, or the system's "open URL" on macOS), else among the arguments (some launchers
/// add their own).
fn link_at_start(app: &tauri::App) -> Option<OrderLink> {
    let from_plugin: Vec<String> = app
        .deep_link()
        .get_current()
        .ok()
        .flatten()
        .unwrap_or_default()
        .iter()
        .map(|url| url.to_string())
        .collect();
    OrderLink::find_in(&from_plugin).or_else(|| {
        let args: Vec<String> = std::env::args().skip(1).collect();
        OrderLink::find_in(args.iter().filter(|arg| !from_plugin.contains(arg)))
    })
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
        let error = shell
            .switch_server("http://127.0.0.1:9/other", "main")
            .await;
        assert!(error.is_err());
        assert_eq!(shell.server_url(), "http://127.0.0.1:9");
        assert!(shell.switch_server("not a url", "main").await.is_err());
    }

    /// A stand-in server: `/healthz` answers, shop `main` exists, everything else is the
    /// server's 404 problem. Returns its URL.
    async fn fake_server() -> String {
        use espresso_core::protocol::HealthStatus;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = vec![0; 4096];
                let n = socket.read(&mut request).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&request[..n]).into_owned();
                let path = request.split_whitespace().nth(1).unwrap_or("").to_owned();
                let (status, kind, body) = match path.as_str() {
                    "/healthz" => (
                        "200 OK",
                        "application/json",
                        serde_json::to_string(&Health {
                            status: HealthStatus::Ok,
                            version: "0.0.0".into(),
                            api_version: 1,
                        })
                        .unwrap(),
                    ),
                    "/api/v1/shops/main" => (
                        "200 OK",
                        "application/json",
                        serde_json::to_string(&Shop::default_main()).unwrap(),
                    ),
                    _ => (
                        "404 Not Found",
                        "application/problem+json",
                        serde_json::to_string(&Problem::new(ErrorCode::NotFound)).unwrap(),
                    ),
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        url
    }

    #[tokio::test]
    async fn the_first_run_setup_keeps_a_server_and_a_shop_it_knows() {
        let url = fake_server().await;
        let dir = std::env::temp_dir().join(format!("espresso-app-setup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let shell = Shell::with_store(
            DEFAULT_SERVER_URL,
            Arc::new(MemoryStore::new()),
            Some(dir.clone()),
            Settings::load(&dir),
        );

        // A shop the server does not know: refused as the server's "not found", nothing kept.
        let unknown = shell.switch_server(&url, "nowhere").await.unwrap_err();
        assert_eq!(unknown.code(), Some(&ErrorCode::NotFound), "{unknown}");
        let odd = shell.switch_server(&url, "../admin").await.unwrap_err();
        assert_eq!(odd.code(), Some(&ErrorCode::NotFound), "{odd}");
        assert_eq!(shell.server_url(), DEFAULT_SERVER_URL);
        assert_eq!(Settings::load(&dir), Settings::default());

        // A known one: both kept, for this run and the next.
        shell
            .switch_server(&format!("{url}/"), " main ")
            .await
            .unwrap();
        assert_eq!(shell.server_url(), url);
        let saved = Settings::load(&dir);
        assert_eq!(saved.server_url.as_deref(), Some(url.as_str()));
        assert_eq!(saved.shop.as_deref(), Some("main"));
        assert_eq!(shop_for_run(&saved), "main");

        // Another shop on the same server is checked the same way.
        assert!(shell.switch_shop("pop-up").await.is_err());
        assert_eq!(shell.saved_shop().as_deref(), Some("main"));
        shell.switch_shop("main").await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_the_customer_build_gets_the_link_scheme_and_a_bundle_keeps_its_own() {
        let mut plugins = tauri::utils::config::PluginConfig::default();
        add_link_scheme(&mut plugins);
        assert_eq!(
            plugins.0["deep-link"],
            serde_json::json!({ "desktop": { "schemes": ["espresso"] } })
        );
        // The customer bundle's overlay declares the same scheme (and so its .desktop file).
        let overlay: serde_json::Value =
            serde_json::from_str(include_str!("../flavours/customer.json")).unwrap();
        assert_eq!(
            overlay["plugins"]["deep-link"]["desktop"]["schemes"],
            serde_json::json!(["espresso"])
        );
        // Its `.desktop` file hands the link to the app (`%u`) and declares the scheme.
        assert_eq!(
            overlay["bundle"]["linux"]["deb"]["desktopTemplate"],
            "flavours/customer.desktop"
        );
        let desktop = include_str!("../flavours/customer.desktop");
        assert!(desktop.contains("Exec={{exec}} %u"), "{desktop}");
        assert!(desktop.contains("MimeType={{mime_type}}"), "{desktop}");
        let mut bundled = tauri::utils::config::PluginConfig::default();
        bundled
            .0
            .insert("deep-link".into(), serde_json::json!({ "desktop": {} }));
        add_link_scheme(&mut bundled);
        assert_eq!(bundled.0["deep-link"], serde_json::json!({ "desktop": {} }));
    }

    #[test]
    fn each_flavour_has_its_bundle_identifier_and_icons() {
        for (flavour, overlay) in [
            (Flavour::Customer, include_str!("../flavours/customer.json")),
            (Flavour::Barista, include_str!("../flavours/barista.json")),
            (Flavour::Display, include_str!("../flavours/display.json")),
        ] {
            let overlay: serde_json::Value = serde_json::from_str(overlay).unwrap();
            assert_eq!(
                overlay["identifier"].as_str(),
                Some(flavour.identifier()),
                "{flavour:?}"
            );
            // Its bundle's icons exist (paths are relative to src-tauri/).
            let icons = overlay["bundle"]["icon"].as_array().unwrap();
            assert!(!icons.is_empty(), "{flavour:?}");
            for icon in icons {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(icon.as_str().unwrap());
                assert!(path.exists(), "{}", path.display());
            }
            let window_icon = flavour.icon();
            assert_eq!((window_icon.width(), window_icon.height()), (128, 128));
        }
        // The three icons differ (each flavour its own colour).
        let rgba = |f: Flavour| f.icon().rgba().to_vec();
        assert_ne!(rgba(Flavour::Customer), rgba(Flavour::Barista));
        assert_ne!(rgba(Flavour::Barista), rgba(Flavour::Display));
        assert_ne!(rgba(Flavour::Customer), rgba(Flavour::Display));
    }

    #[test]
    fn the_display_package_installs_its_autostart_and_restart() {
        let overlay: serde_json::Value =
            serde_json::from_str(include_str!("../flavours/display.json")).unwrap();
        let binary = overlay["mainBinaryName"].as_str().unwrap();
        let files = overlay["bundle"]["linux"]["deb"]["files"]
            .as_object()
            .unwrap();
        for (installed, source) in files {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(source.as_str().unwrap());
            assert!(path.is_file(), "{installed}: {} is missing", path.display());
        }
        let unit = include_str!("../flavours/display/espresso-display.service");
        assert!(files.contains_key("/usr/lib/systemd/user/espresso-display.service"));
        for line in [
            format!("ExecStart=/usr/bin/{binary}").as_str(),
            "Restart=always",
            "RestartSec=2",
            "RestartPreventExitStatus=0",
            "StartLimitIntervalSec=0",
            "WantedBy=graphical-session.target",
        ] {
            assert!(unit.lines().any(|l| l == line), "{line:?} in the unit");
        }
        let session = include_str!("../flavours/display/espresso-display-session");
        assert!(files.contains_key("/usr/bin/espresso-display-session"));
        assert!(session.contains(&format!("/usr/bin/{binary}")), "{session}");
        assert!(session.contains("espresso-display.service"), "{session}");
        let autostart = include_str!("../flavours/display/espresso-display-autostart.desktop");
        assert!(autostart.contains("Exec=/usr/bin/espresso-display-session"));
        // The session script is executable in the repository (the package copies its mode).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let script = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("flavours/display/espresso-display-session");
            let mode = std::fs::metadata(script).unwrap().permissions().mode();
            assert_eq!(mode & 0o111, 0o111, "{mode:o}");
        }
    }

    #[test]
    fn permissions_read_as_the_ui_expects() {
        use tauri::plugin::PermissionState;
        assert_eq!(permission_word(Ok(PermissionState::Granted)), "granted");
        assert_eq!(permission_word(Ok(PermissionState::Prompt)), "ask");
        assert_eq!(permission_word(Ok(PermissionState::Denied)), "denied");
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
