//! espresso-server: the one process behind every Espresso screen.
//!
//! [`Server::start`] opens storage, binds the listener and serves the router of [`http`].
//! Handlers stay thin: they translate HTTP to calls and back.

pub mod auth;
pub mod config;
pub mod error;
pub mod http;
pub mod live;
pub mod mailer;
pub mod metrics;
pub mod policy;
pub mod store;
pub mod tasks;
pub mod telemetry;
pub mod workflow;

use std::net::SocketAddr;

use anyhow::Context;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::ServeConfig;
use crate::store::SqliteStore;

/// A running server: its bound address and a handle to stop it gracefully.
pub struct Server {
    local_addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
    live: live::Hub,
    store: SqliteStore,
    /// This process serves the database (see [`SqliteStore::lock_for_serving`]).
    _serving: Option<std::fs::File>,
}

impl Server {
    /// Open storage, bind `config.addr` and start serving in the background.
    pub async fn start(config: ServeConfig) -> anyhow::Result<Self> {
        let serving = SqliteStore::lock_for_serving(&config.database)?;
        let store = SqliteStore::open(&config.database, &config.public_url).await?;
        let mailer = mailer::Mailer::parse(&config.mailer)?;
        let state = http::AppState::new(store.clone(), config.web_dir.clone(), mailer);
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        let local_addr = listener.local_addr()?;
        // Small writes (a live frame, an answer) leave at once instead of waiting for the
        // previous one's acknowledgement (Nagle): screens see an action without that delay.
        let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
            }
        });
        let (tx, rx) = oneshot::channel::<()>();
        let live = state.live_hub().clone();
        let app = http::router(state);
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
        });
        // Deadlines that fell due while the server was down fire now, before anyone is served late.
        let fired = tasks::fire_due_deadlines(&store).await;
        let background = tasks::spawn(store.clone().into());
        tracing::info!(%local_addr, web_dir = %config.web_dir.display(), fired, "espresso server started");
        Ok(Self {
            local_addr,
            shutdown: Some(tx),
            task,
            background,
            live,
            store,
            _serving: serving,
        })
    }

    /// The server's storage (tools and tests reach the database through it).
    pub fn store(&self) -> &SqliteStore {
        &self.store
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The base URL of this server, e.g. `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Serve until Ctrl-C or SIGTERM, then finish in-flight requests and close storage.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.stop().await
    }

    /// Stop accepting, let in-flight requests finish, close the database.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Live sockets would hold graceful shutdown open: close them (1001), clients resume.
        self.live.shutdown();
        (&mut self.task).await.context("server task panicked")??;
        for task in &self.background {
            task.abort();
        }
        self.store.close().await;
        Ok(())
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
