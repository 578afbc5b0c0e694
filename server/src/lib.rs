//! espresso-server: the one process behind every Espresso screen.
//!
//! [`Server::start`] opens storage, binds the listener and serves the router of [`http`].
//! Handlers stay thin: they translate HTTP to calls and back.

pub mod auth;
pub mod config;
pub mod demo;
pub mod error;
pub mod http;
pub mod live;
pub mod mailer;
pub mod metrics;
pub mod policy;
pub mod private;
pub mod push;
pub mod report;
pub mod serve;
pub mod store;
pub mod tasks;
pub mod telemetry;
pub mod workflow;

use std::net::SocketAddr;

use anyhow::Context;
use tokio::task::JoinHandle;

use crate::config::ServeConfig;
use crate::store::{PgStore, SharedStore, SqliteStore, Store};

/// A running server: its bound address and a handle to stop it gracefully.
pub struct Server {
    local_addr: SocketAddr,
    tls: bool,
    serving: serve::Serving,
    background: Vec<JoinHandle<()>>,
    live: live::Hub,
    demos: demo::Demos,
    store: SharedStore,
    /// This process serves the SQLite database (see [`SqliteStore::lock_for_serving`]).
    _serving: Option<std::fs::File>,
}

impl Server {
    /// Open storage, bind `config.addr` and start serving in the background.
    pub async fn start(config: ServeConfig) -> anyhow::Result<Self> {
        let lock = SqliteStore::lock_for_serving(&config.database)?;
        if lock.is_some() && config.write_out_wal {
            SqliteStore::write_out_wal(&config.database, config.checkpoint_pages);
        }
        // On PostgreSQL every server must hash sign-in codes and sign pushes with the same keys:
        // unless a secret file is given, they are kept in the database (made by the first).
        let (store, shared_keys): (SharedStore, _) = if store::is_postgres(&config.database) {
            let pg = PgStore::open(&config.database, &config.public_url).await?;
            let keys = match config.secret_file {
                Some(_) => None,
                None => Some(pg.shared_keys().await?),
            };
            (pg.into(), keys)
        } else {
            let sqlite = SqliteStore::open_checkpointing(
                &config.database,
                &config.public_url,
                config.checkpoint_pages,
            )
            .await?;
            (sqlite.into(), None)
        };
        let mailer = mailer::Mailer::parse(&config.mailer)?;
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(serve::tls_acceptor(cert, key)?),
            _ => None,
        };
        let (sign_in_key, vapid) = match (shared_keys, config.secret_path()) {
            (Some(keys), _) => keys,
            (None, Some(path)) => {
                let vapid = config
                    .vapid_path()
                    .unwrap_or_else(|| path.with_extension("vapid"));
                (
                    auth::SignInKey::load_or_create(&path)?,
                    push::load_or_create_vapid(&vapid)?,
                )
            }
            (None, None) => (auth::SignInKey::random(), push::Vapid::random()),
        };
        let push = push::PushConfig {
            vapid,
            subject: push_subject(&config.public_url),
            allow_loopback_http: config.push_to_loopback_http,
        };
        let options = http::Options {
            request_timeout: config.request_timeout(),
            trusted_proxies: config.trusted_proxies(),
            tls: tls.is_some(),
            sign_in_key,
            rate_limits: auth::RateLimits::from_env(),
            demo_pace: demo::Pace::demo(config.demo_speed),
            push: push.clone(),
        };
        let state =
            http::AppState::with_options(store.clone(), config.web_dir.clone(), mailer, options);
        let demos = state.demos().clone();
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        let local_addr = listener.local_addr()?;
        let live = state.live_hub().clone();
        let limits = serve::Limits {
            header_timeout: config.header_timeout(),
            max_connections: config.max_connections,
            max_per_address: config.max_connections_per_address,
            shutdown_grace: config.shutdown_grace(),
            trusted_proxies: config.trusted_proxies(),
        };
        let serving = serve::Serving::spawn(listener, http::router(state), limits, tls.clone());
        // Deadlines that fell due while the server was down fire now, before anyone is served late.
        let fired = tasks::fire_due_deadlines(&*store).await;
        let mut background = tasks::spawn(store.clone());
        background.push(push::Pusher::spawn(store.clone(), push)?);
        if config.demo {
            demos.set(&espresso_protocol::ShopId::main(), true);
        }
        tracing::info!(
            %local_addr,
            web_dir = %config.web_dir.display(),
            fired,
            "espresso server started"
        );
        Ok(Self {
            local_addr,
            tls: tls.is_some(),
            serving,
            background,
            live,
            demos,
            store,
            _serving: lock,
        })
    }

    /// The server's storage (tools and tests reach the database through it).
    pub fn store(&self) -> &Store {
        &*self.store
    }

    /// An owned handle to the server's storage (for tasks of a test).
    pub fn shared_store(&self) -> SharedStore {
        self.store.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The base URL of this server, e.g. `http://127.0.0.1:8080` (`https://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr)
    }

    /// Connections open now, live sockets included.
    pub fn open_connections(&self) -> usize {
        self.serving.open_connections()
    }

    /// Serve until Ctrl-C or SIGTERM, then finish in-flight requests and close storage.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.stop().await
    }

    /// Stop accepting, let in-flight requests finish (within the shutdown grace), close the
    /// database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.serving.shutdown();
        self.demos.abort_all();
        // Live sockets would hold graceful shutdown open: close them (1001), clients resume.
        self.live.shutdown();
        self.serving.done().await?;
        for task in &self.background {
            task.abort();
        }
        self.store.close().await;
        Ok(())
    }
}

/// The contact in the server's VAPID JWTs: its public URL when that is https, else a
/// placeholder address (push services want a `mailto:` or `https:` URL).
fn push_subject(public_url: &str) -> String {
    if public_url.starts_with("https://") {
        public_url.trim_end_matches('/').to_owned()
    } else {
        "mailto:push@espresso.invalid".to_owned()
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
