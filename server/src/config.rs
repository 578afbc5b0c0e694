//! Server configuration: every flag has an `ESPRESSO_*` environment fallback and a safe default.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// The database `serve` (and `users grant`) use unless told otherwise.
pub const DEFAULT_DATABASE: &str = "sqlite://data/espresso.db";

#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on. `127.0.0.1:0` picks a free port; the bound address is printed first.
    #[arg(long, env = "ESPRESSO_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Database URL. `sqlite://PATH` keeps everything in one file (created if missing).
    #[arg(
        long,
        env = "ESPRESSO_DATABASE",
        default_value = DEFAULT_DATABASE
    )]
    pub database: String,

    /// Where sign-in codes go: `log` (print them), `dir:PATH` (one .eml per message) or `smtp://…`.
    #[arg(long, env = "ESPRESSO_MAILER", default_value = "log")]
    pub mailer: String,

    /// The URL customers' phones reach this server at; the booth QR code points there.
    #[arg(
        long,
        env = "ESPRESSO_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,

    /// Grant this email the admin role at start (first-time setup).
    #[arg(long, env = "ESPRESSO_ADMIN")]
    pub admin: Option<String>,

    /// The web build of the three apps (index.html and its wasm), served at `/`.
    #[arg(long, env = "ESPRESSO_WEB_DIR", default_value = "dist")]
    pub web_dir: PathBuf,

    /// Serve HTTPS with this PEM certificate chain (with `--tls-key`). Without it: plain HTTP,
    /// for a laptop on a trusted network or behind a TLS-terminating proxy (OPERATIONS.md).
    #[arg(long, env = "ESPRESSO_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of `--tls-cert`.
    #[arg(long, env = "ESPRESSO_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// The file holding the server's secret for sign-in codes (created 0600 at first start).
    /// Default: beside the SQLite database, `<database>.secret`; a throwaway database gets a
    /// secret for the process only.
    #[arg(long, env = "ESPRESSO_SECRET_FILE")]
    pub secret_file: Option<PathBuf>,

    /// A reverse proxy in front of this server (CIDR, e.g. `10.0.0.5/32`; repeat or separate
    /// with commas). Only for connections from these addresses is the client address taken from
    /// `X-Forwarded-For`; they are also exempt from the per-address connection cap.
    #[arg(long, env = "ESPRESSO_TRUSTED_PROXY", value_delimiter = ',')]
    pub trusted_proxy: Vec<Cidr>,

    /// At most this many open connections (live screens included); more are closed at once.
    #[arg(long, env = "ESPRESSO_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,

    /// At most this many open connections from one client address (0: no cap).
    #[arg(
        long,
        env = "ESPRESSO_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 1_000
    )]
    pub max_connections_per_address: usize,

    /// Seconds a connection has to send a request's headers (also how long an idle keep-alive
    /// connection stays open).
    #[arg(long, env = "ESPRESSO_HEADER_TIMEOUT_S", default_value_t = 15)]
    pub header_timeout_s: u64,

    /// Seconds a request (its body included) may take before it is answered 408.
    #[arg(long, env = "ESPRESSO_REQUEST_TIMEOUT_S", default_value_t = 30)]
    pub request_timeout_s: u64,

    /// Seconds requests in flight get to finish on shutdown (SIGTERM, Ctrl-C) before their
    /// connections are dropped.
    #[arg(long, env = "ESPRESSO_SHUTDOWN_GRACE_S", default_value_t = 10)]
    pub shutdown_grace_s: u64,

    /// Start the booth demo for shop `main`: a gentle stream of demo orders (one every 20–40 s,
    /// made and handed over by a demo barista) while the shop is open. An admin starts and stops
    /// it for any shop from the console (`PUT /api/v1/shops/{shop}/demo`).
    #[arg(long, env = "ESPRESSO_DEMO")]
    pub demo: bool,

    /// Run the booth demo this many times faster (tests).
    #[arg(long, env = "ESPRESSO_DEMO_SPEED", default_value_t = 1, hide = true)]
    pub demo_speed: u32,

    /// Let customers' Web Push subscriptions point at plain `http://` on loopback (tests run
    /// their own push service there). Never for a café: endpoints are `https://` on the internet.
    #[arg(long, env = "ESPRESSO_PUSH_TO_LOOPBACK_HTTP", hide = true)]
    pub push_to_loopback_http: bool,

    /// SQLite: pages (4 KiB each) of write-ahead log collected before they are copied back into
    /// the database. Fewer keep the log file smaller (it is written out to that size at start)
    /// and copy more often.
    #[arg(
        long,
        env = "ESPRESSO_CHECKPOINT_PAGES",
        default_value_t = crate::store::wal::CHECKPOINT_PAGES,
        value_parser = clap::value_parser!(u32).range(100..=1_000_000)
    )]
    pub checkpoint_pages: u32,

    /// Write the SQLite WAL out to one checkpoint cycle (~45 MB) before opening the database, so
    /// commits overwrite it instead of growing it (see `store::wal`). Off for tests' servers,
    /// which start by the hundred and never fill a cycle.
    #[arg(skip = true)]
    pub write_out_wal: bool,
}

impl ServeConfig {
    /// A configuration for tests and tools: a free loopback port, the given database, log mailer.
    pub fn for_tests(database: impl Into<String>, web_dir: impl Into<PathBuf>) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: database.into(),
            mailer: "log".into(),
            public_url: "http://127.0.0.1:0".into(),
            admin: None,
            web_dir: web_dir.into(),
            tls_cert: None,
            tls_key: None,
            secret_file: None,
            trusted_proxy: Vec::new(),
            max_connections: 20_000,
            max_connections_per_address: 1_000,
            header_timeout_s: 15,
            request_timeout_s: 30,
            shutdown_grace_s: 10,
            demo: false,
            demo_speed: 1,
            push_to_loopback_http: false,
            checkpoint_pages: crate::store::wal::CHECKPOINT_PAGES,
            write_out_wal: false,
        }
    }

    /// Where the Web Push (VAPID) key lives, if anywhere: beside the secret file,
    /// `<secret>.vapid`… that is `<database>.vapid` by default (created 0600 at first start).
    pub fn vapid_path(&self) -> Option<PathBuf> {
        let secret = self.secret_path()?;
        let text = secret.to_string_lossy();
        Some(match text.strip_suffix(".secret") {
            Some(base) => PathBuf::from(format!("{base}.vapid")),
            None => PathBuf::from(format!("{text}.vapid")),
        })
    }

    /// Where the sign-in secret lives, if anywhere (see `secret_file`).
    pub fn secret_path(&self) -> Option<PathBuf> {
        if let Some(path) = &self.secret_file {
            return Some(path.clone());
        }
        let path = self
            .database
            .strip_prefix("sqlite://")
            .or_else(|| self.database.strip_prefix("sqlite:"))
            .filter(|_| self.database != "sqlite::memory:")?;
        Some(PathBuf::from(format!("{path}.secret")))
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_s.max(1))
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_s.max(1))
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_s)
    }

    pub fn trusted_proxies(&self) -> TrustedProxies {
        TrustedProxies(self.trusted_proxy.clone())
    }
}

/// An address block, `10.0.0.0/8` or `2001:db8::/32`; a bare address is one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = s.trim().split_once('/').unwrap_or((s.trim(), ""));
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{s:?} is not an address or CIDR block (e.g. 10.0.0.5/32)"))?;
        let network = network.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?
        };
        Ok(Self { network, prefix })
    }
}

/// The reverse proxies this server trusts to say who the client is.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|cidr| cidr.contains(ip))
    }

    /// The client behind `peer`: `peer` itself unless it is a trusted proxy; then the right-most
    /// address of `X-Forwarded-For` that is not a trusted proxy (each proxy appends the address
    /// it saw, so entries left of that were written by the client and prove nothing).
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let Some(forwarded_for) = forwarded_for else {
            return peer;
        };
        let mut client = peer;
        for entry in forwarded_for.rsplit(',') {
            match entry.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip.to_canonical();
                    if !self.contains(client) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_blocks_contain_their_addresses_only() {
        let block: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(block.contains(ip("10.1.200.3")));
        assert!(!block.contains(ip("10.2.0.1")));
        assert!(
            block.contains(ip("::ffff:10.1.0.9")),
            "IPv4-mapped counts as IPv4"
        );
        let host: Cidr = "2001:db8::1".parse().unwrap();
        assert!(host.contains(ip("2001:db8::1")));
        assert!(!host.contains(ip("2001:db8::2")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("192.0.2.1")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("proxy".parse::<Cidr>().is_err());
    }

    #[test]
    fn the_client_address_comes_from_forwarding_headers_only_behind_a_trusted_proxy() {
        let proxies = TrustedProxies(vec!["10.0.0.5".parse().unwrap()]);
        // Not from the proxy: a client's own X-Forwarded-For is ignored.
        assert_eq!(
            proxies.client(ip("192.0.2.7"), Some("203.0.113.1")),
            ip("192.0.2.7")
        );
        // From the proxy: the address it appended, not what the client wrote before it.
        assert_eq!(
            proxies.client(ip("10.0.0.5"), Some("6.6.6.6, 198.51.100.4")),
            ip("198.51.100.4")
        );
        // From the proxy without a header: the proxy itself.
        assert_eq!(proxies.client(ip("10.0.0.5"), None), ip("10.0.0.5"));
        // Garbage stops the walk at the last good address.
        assert_eq!(proxies.client(ip("10.0.0.5"), Some("junk")), ip("10.0.0.5"));
    }
}
