//! The server's own accept loop: what `axum::serve` does, plus what a server on a venue's network
//! or the internet needs and `axum::serve` does not give.
//!
//! - **A header-read timeout**: a connection that does not send a whole request head within
//!   [`Limits::header_timeout`] — a slow-headers attack, or a keep-alive connection that went
//!   silent — is closed.
//! - **Connection caps**: at most [`Limits::max_connections`] open connections, and at most
//!   [`Limits::max_per_address`] from one address (live sockets included: the cap follows the
//!   socket through the WebSocket upgrade). Over a cap the connection is closed at once; a
//!   trusted proxy's address is exempt from the per-address cap (every client comes through it).
//! - **TLS built in** (`--tls-cert/--tls-key`, rustls), the handshake under the header timeout.
//! - **A bounded graceful shutdown**: in-flight requests get [`Limits::shutdown_grace`] to finish,
//!   then every connection is dropped — a slow client cannot keep the server from stopping.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::config::TrustedProxies;

/// How long and how many: the transport's bounds.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_timeout: Duration,
    pub max_connections: usize,
    /// `0`: no per-address cap.
    pub max_per_address: usize,
    pub shutdown_grace: Duration,
    /// Exempt from the per-address cap.
    pub trusted_proxies: TrustedProxies,
}

/// Read a PEM certificate chain and private key into a TLS acceptor (rustls, ring).
pub fn tls_acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("--tls-cert {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("--tls-cert {}: not a PEM certificate chain", cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "--tls-cert {}: no certificate in it",
        cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("--tls-key {}: no PEM private key in it", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("--tls-cert and --tls-key do not make a usable pair")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The running accept loop: tell it to stop with [`Serving::shutdown`], then await
/// [`Serving::done`].
pub struct Serving {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    open: Arc<Slots>,
}

impl Serving {
    /// Start serving `app` on `listener` in the background.
    pub fn spawn(
        listener: TcpListener,
        app: Router,
        limits: Limits,
        tls: Option<TlsAcceptor>,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let open = Arc::new(Slots::default());
        let task = tokio::spawn(accept_loop(
            listener,
            app,
            limits,
            tls,
            stopped,
            Arc::clone(&open),
        ));
        Self { stop, task, open }
    }

    /// Stop accepting and ask every connection to finish its request and close.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }

    /// Connections open now (live sockets included).
    pub fn open_connections(&self) -> usize {
        self.open.total()
    }

    /// Wait until the loop has stopped: every connection closed, or dropped after the grace.
    pub async fn done(self) -> anyhow::Result<()> {
        self.task.await.context("the accept loop panicked")
    }
}

async fn accept_loop(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    mut stopped: watch::Receiver<bool>,
    open: Arc<Slots>,
) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.wait_for(|stop| *stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let per_address = if limits.trusted_proxies.contains(peer.ip()) {
            0
        } else {
            limits.max_per_address
        };
        let Some(slot) = open.take(peer.ip(), limits.max_connections, per_address) else {
            tracing::debug!(%peer, "connection refused: over the connection cap");
            crate::metrics::connection_refused();
            continue;
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
        }
        let accepted = Accepted {
            peer,
            slot,
            app: app.clone(),
            header_timeout: limits.header_timeout,
            stopped: stopped.clone(),
        };
        connections.spawn(serve_connection(stream, accepted, tls.clone()));
    }
    drop(listener);
    let finished = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            left = connections.len(),
            grace_s = limits.shutdown_grace.as_secs_f64(),
            "connections still open after the shutdown grace: dropped"
        );
        connections.shutdown().await;
    }
}

/// An accepted connection, before its TLS handshake (if any).
struct Accepted {
    peer: SocketAddr,
    slot: Slot,
    app: Router,
    header_timeout: Duration,
    stopped: watch::Receiver<bool>,
}

async fn serve_connection(stream: TcpStream, accepted: Accepted, tls: Option<TlsAcceptor>) {
    let Some(acceptor) = tls else {
        return accepted.serve(stream).await;
    };
    let peer = accepted.peer;
    match tokio::time::timeout(accepted.header_timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => accepted.serve(stream).await,
        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}

impl Accepted {
    /// Serve HTTP/1.1 (with upgrades) on `io` until the peer closes, a timeout, or shutdown.
    async fn serve<S>(self, io: S)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let Self {
            peer,
            slot,
            app,
            header_timeout,
            mut stopped,
        } = self;
        // Handlers read the caller's address as axum's `ConnectInfo`, as under `axum::serve`.
        let service = app.map_request(move |mut request: axum::http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(
                TokioIo::new(Counted { io, _slot: slot }),
                TowerToHyperService::new(service),
            )
            .with_upgrades();
        let mut connection = std::pin::pin!(connection);
        let finished = tokio::select! {
            result = connection.as_mut() => Some(result),
            _ = stopped.wait_for(|stop| *stop) => None,
        };
        let result = match finished {
            Some(result) => result,
            None => {
                // Finish the request in flight (if any), then close; the accept loop bounds
                // the wait.
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(error) = result {
            tracing::debug!(%peer, %error, "connection ended with an error");
        }
    }
}

/// The open connections, in all and per address.
#[derive(Default)]
struct Slots {
    inner: Mutex<SlotCounts>,
}

#[derive(Default)]
struct SlotCounts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

impl Slots {
    /// A slot for a connection from `address`, or `None` over a cap (`per_address` 0: no cap).
    fn take(self: &Arc<Self>, address: IpAddr, max: usize, per_address: usize) -> Option<Slot> {
        let mut counts = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let from_address = counts.per_address.get(&address).copied().unwrap_or(0);
        if counts.total >= max || (per_address > 0 && from_address >= per_address) {
            return None;
        }
        counts.total += 1;
        counts.per_address.insert(address, from_address + 1);
        Some(Slot {
            slots: Arc::clone(self),
            address,
        })
    }

    fn total(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

/// One open connection's place under the caps; given back when the socket closes.
struct Slot {
    slots: Arc<Slots>,
    address: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self
            .slots
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(count) = counts.per_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.per_address.remove(&self.address);
            }
        }
    }
}

/// A socket that holds its [`Slot`]: after a WebSocket upgrade hyper hands the socket to the live
/// stream, and the slot goes with it, so live sockets count under the caps until they close.
struct Counted<S> {
    io: S,
    _slot: Slot,
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_count_in_all_and_per_address_and_give_back_on_close() {
        let slots = Arc::new(Slots::default());
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let first = slots.take(a, 3, 2).expect("first from a");
        let _second = slots.take(a, 3, 2).expect("second from a");
        assert!(
            slots.take(a, 3, 2).is_none(),
            "a third from one address is over its cap"
        );
        let _other = slots
            .take(b, 3, 2)
            .expect("another address has its own count");
        assert!(slots.take(b, 3, 2).is_none(), "the total cap holds");
        drop(first);
        assert!(
            slots.take(a, 3, 2).is_some(),
            "a closed connection gives its place back"
        );
        assert!(slots.take(b, 10, 0).is_some(), "per-address cap 0: none");
    }
}
