//! What a run does ([`Config`]) and how it is told to stop early ([`Stop`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use espresso_core::protocol::ShopId;
use tokio::sync::watch;

use crate::parse::TimeRange;

/// The domain of the robot's accounts: `robot-customer-1@robot.espresso.test`, …
pub const EMAIL_DOMAIN: &str = "robot.espresso.test";

/// Staff screens at a bar unless told otherwise: a few tablets, not one per barista.
pub const DEFAULT_SCREENS: usize = 3;

/// How order starts are spaced across all customers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Orders started per second across all customers; 0 = as fast as they can.
    Rate(f64),
    /// A random gap between one start and the next (the booth demo).
    Gaps(TimeRange),
}

/// How the run shows that it is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A spinner with the live counts (a terminal).
    Bar,
    /// One quiet status line (the booth demo).
    StatusLine,
    /// Nothing (not a terminal, tests).
    Hidden,
}

/// One run of the robot.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server, e.g. `http://127.0.0.1:8080`: the baristas' and their screens' (and, with
    /// one server, everyone's).
    pub server: String,
    /// Several servers sharing one database (`--servers`), the first being `server`: the
    /// baristas stay on the first, the customers spread over the others and the booth display
    /// takes the last, so every action crosses servers ([`Config::customer_server`]).
    pub servers: Vec<String>,
    /// More processes whose CPU time over the timed phase counts as the server's (the other
    /// servers of `servers`), summed with `server_pid`'s.
    pub cpu_pids: Vec<u32>,
    /// The database's main process: its CPU time and its children's over the timed phase are
    /// reported beside the server's (PostgreSQL's postmaster and its backends).
    pub database_pid: Option<u32>,
    /// Create the shop (as the admin) if the server has none of that id.
    pub create_shop: bool,
    /// Robots of several shops in one process wait here for each other before the timed phase,
    /// so their timed phases are the same seconds.
    pub start_gate: Option<Arc<tokio::sync::Barrier>>,
    /// Robots of several shops in one process sign the admin in once and share the session
    /// (two sign-ins of one email at once would read each other's codes).
    pub shared_admin: Option<Arc<tokio::sync::OnceCell<espresso_core::Client>>>,
    pub shop: ShopId,
    pub customers: usize,
    pub baristas: usize,
    /// Staff live streams the baristas share (the bar's tablets), each folded into a
    /// `QueueView`; barista `i` works from screen `i % screens`. `None`: one per barista up to
    /// three ([`Config::screens`]).
    pub barista_screens: Option<usize>,
    /// Live sockets of the display account, acting as booth screens.
    pub watchers: usize,
    pub pace: Pace,
    /// How long new orders start; `None`: until stopped.
    pub duration: Option<Duration>,
    /// After `duration`, how long open orders may take to end.
    pub drain: Duration,
    /// Fraction of orders their customer cancels while queued.
    pub cancel_rate: f64,
    /// How long after queuing such a customer cancels.
    pub cancel_after: TimeRange,
    pub make_time: TimeRange,
    /// From "ready" to handed over.
    pub handover: TimeRange,
    /// The server's `--mailer dir:PATH` folder.
    pub mail_dir: Option<PathBuf>,
    /// An admin account: opens the shop, grants roles, lifts the booth's limits (restored at
    /// the end).
    pub admin: Option<String>,
    /// The server's process, for its memory; else found by the port it listens on.
    pub server_pid: Option<u32>,
    /// Sign-ins at once before the run.
    pub sign_in_concurrency: usize,
    /// Longest wait for every live socket's `welcome`.
    pub connect_deadline: Duration,
    pub progress: Progress,
    /// The domain of the robot's accounts.
    pub email_domain: String,
}

impl Config {
    /// A load run: 10 customers, 2 baristas, as fast as they can for 30 s, 2–8 s per drink.
    pub fn new(server: impl Into<String>) -> Self {
        let make_time = TimeRange::new(Duration::from_secs(2), Duration::from_secs(8));
        Self {
            server: server.into(),
            servers: Vec::new(),
            cpu_pids: Vec::new(),
            database_pid: None,
            create_shop: false,
            start_gate: None,
            shared_admin: None,
            shop: ShopId::main(),
            customers: 10,
            baristas: 2,
            barista_screens: None,
            watchers: 0,
            pace: Pace::Rate(0.0),
            duration: Some(Duration::from_secs(30)),
            drain: Duration::from_secs(60),
            cancel_rate: 0.1,
            cancel_after: TimeRange::new(Duration::ZERO, Duration::from_millis(500)),
            handover: Self::handover_for(make_time),
            make_time,
            mail_dir: None,
            admin: None,
            server_pid: None,
            sign_in_concurrency: 32,
            connect_deadline: Duration::from_secs(60),
            progress: Progress::Hidden,
            email_domain: EMAIL_DOMAIN.to_owned(),
        }
    }

    /// The booth demo: 3 customers and 1 barista, a new order every 20–40 s, 20–60 s to make,
    /// handed over 10–30 s later, until stopped.
    pub fn demo(server: impl Into<String>) -> Self {
        Self {
            customers: 3,
            baristas: 1,
            pace: Pace::Gaps(TimeRange::new(
                Duration::from_secs(20),
                Duration::from_secs(40),
            )),
            duration: None,
            cancel_after: TimeRange::new(Duration::from_secs(5), Duration::from_secs(15)),
            make_time: TimeRange::new(Duration::from_secs(20), Duration::from_secs(60)),
            handover: TimeRange::new(Duration::from_secs(10), Duration::from_secs(30)),
            progress: Progress::StatusLine,
            ..Self::new(server)
        }
    }

    /// The hand-over that goes with a make-time range: an eighth of it (2–8 s → 0.25–1 s).
    pub fn handover_for(make_time: TimeRange) -> TimeRange {
        make_time.scaled(0.125)
    }

    /// `robot-` for the main shop, `robot-<shop>-` for another: robots of several shops on one
    /// server are different people.
    fn email_prefix(&self) -> String {
        if self.shop == ShopId::main() {
            "robot-".to_owned()
        } else {
            format!("robot-{}-", self.shop.to_lowercase())
        }
    }

    pub fn customer_email(&self, i: usize) -> String {
        format!("{}customer-{i}@{}", self.email_prefix(), self.email_domain)
    }

    pub fn barista_email(&self, i: usize) -> String {
        format!("{}barista-{i}@{}", self.email_prefix(), self.email_domain)
    }

    pub fn display_email(&self) -> String {
        format!("{}display@{}", self.email_prefix(), self.email_domain)
    }

    /// Every server of the run: `servers`, or `server` alone.
    pub fn all_servers(&self) -> Vec<String> {
        if self.servers.is_empty() {
            vec![self.server.clone()]
        } else {
            self.servers.clone()
        }
    }

    /// The server of customer `i` (0-based), for their HTTP calls and their live stream: one
    /// of the servers after the first (the baristas'), in turn; the first when there is one.
    pub fn customer_server(&self, i: usize) -> String {
        let servers = self.all_servers();
        match servers.len() {
            0 | 1 => self.server.clone(),
            n => servers[1 + i % (n - 1)].clone(),
        }
    }

    /// The booth display's server (the watchers and the code board): the last one.
    pub fn display_server(&self) -> String {
        self.all_servers()
            .pop()
            .unwrap_or_else(|| self.server.clone())
    }

    /// Staff live streams the baristas share: `barista_screens`, or one per barista up to
    /// [`DEFAULT_SCREENS`]; never more than there are baristas.
    pub fn screens(&self) -> usize {
        self.barista_screens
            .unwrap_or(DEFAULT_SCREENS)
            .min(self.baristas)
    }

    /// The display account is needed for the booth code (customers) and the watchers.
    pub fn needs_display(&self) -> bool {
        self.customers > 0 || self.watchers > 0
    }

    /// Sockets this process will hold at most: the live streams plus an HTTP connection or
    /// two per person, and some to spare.
    pub fn sockets_needed(&self) -> u64 {
        let streams = self.watchers + self.customers + self.screens() + 1;
        let http = 2 * (self.customers + self.baristas) + 4;
        u64::try_from(streams + http + 64).unwrap_or(u64::MAX)
    }

    /// Refuse what cannot run, in words.
    pub fn validate(&self) -> Result<(), String> {
        let people = self.customers + self.baristas + self.watchers;
        if people == 0 {
            return Err("nothing to do: give --customers, --baristas or --watchers".into());
        }
        if self.mail_dir.is_none() && (self.needs_display() || self.baristas > 0) {
            return Err(
                "--mail-dir is needed: simulated people read their sign-in codes from \
                        the server's `--mailer dir:PATH` folder"
                    .into(),
            );
        }
        if self.customers > 0 && self.baristas == 0 && self.duration.is_none() {
            return Err("customers without a barista would wait forever: give --baristas".into());
        }
        if self.baristas > 0 && self.barista_screens == Some(0) {
            return Err("--barista-screens must be at least 1: baristas work from a screen".into());
        }
        if !(0.0..=1.0).contains(&self.cancel_rate) {
            return Err("--cancel-rate must be between 0 and 1".into());
        }
        if let Pace::Rate(rate) = self.pace
            && (!rate.is_finite() || rate < 0.0)
        {
            return Err("--rate must be 0 or more".into());
        }
        for server in self.all_servers() {
            if let Err(error) = espresso_core::Client::new(&server) {
                return Err(format!("--server {server:?}: {error}"));
            }
        }
        if self.create_shop && self.admin.is_none() {
            return Err("--create-shop needs --admin: only an admin creates shops".into());
        }
        if self.shop.trim().is_empty() {
            return Err("--shop must not be empty".into());
        }
        if self.sign_in_concurrency == 0 {
            return Err("sign-in concurrency must be at least 1".into());
        }
        Ok(())
    }
}

/// Tells a running robot to stop: no new orders, no drain; it cleans up, restores the shop
/// and returns its summary. Clones share the signal.
#[derive(Debug, Clone)]
pub struct Stop {
    sender: Arc<watch::Sender<bool>>,
}

impl Default for Stop {
    fn default() -> Self {
        Self::new()
    }
}

impl Stop {
    pub fn new() -> Self {
        Self {
            sender: Arc::new(watch::channel(false).0),
        }
    }

    pub fn stop(&self) {
        self.sender.send_replace(true);
    }

    pub fn is_stopped(&self) -> bool {
        *self.sender.borrow()
    }

    /// Resolves once [`Stop::stop`] was called.
    pub async fn stopped(&self) {
        let mut receiver = self.sender.subscribe();
        // The sender lives in `self`: waiting cannot fail.
        let _ = receiver.wait_for(|stopped| *stopped).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_is_a_gentle_endless_stream() {
        let demo = Config::demo("http://127.0.0.1:8080");
        assert_eq!((demo.customers, demo.baristas), (3, 1));
        assert_eq!(demo.duration, None);
        assert_eq!(demo.make_time.to_string(), "20s..1m");
        assert_eq!(demo.handover.to_string(), "10s..30s");
        assert!(matches!(demo.pace, Pace::Gaps(gap) if gap.to_string() == "20s..40s"));
    }

    #[test]
    fn the_hand_over_scales_with_the_make_time() {
        let load = Config::new("http://127.0.0.1:8080");
        assert_eq!(load.handover.to_string(), "250ms..1s");
        let fast = Config::handover_for(TimeRange::parse("0..200ms").unwrap());
        assert_eq!(fast.to_string(), "0s..25ms");
    }

    #[test]
    fn a_run_without_people_or_without_a_mail_folder_is_refused() {
        let mut config = Config::new("http://127.0.0.1:8080");
        assert!(config.validate().unwrap_err().contains("--mail-dir"));
        config.mail_dir = Some("/tmp/mail".into());
        assert_eq!(config.validate(), Ok(()));
        config.server = "cafe-laptop:8080".into();
        assert!(config.validate().unwrap_err().contains("--server"));
        config.server = "http://cafe-laptop:8080".into();
        config.customers = 0;
        config.baristas = 0;
        assert!(config.validate().unwrap_err().contains("nothing to do"));
    }

    #[test]
    fn baristas_share_a_few_screens() {
        let mut config = Config::new("http://127.0.0.1:8080");
        config.mail_dir = Some("/tmp/mail".into());
        assert_eq!((config.baristas, config.screens()), (2, 2));
        config.baristas = 24;
        assert_eq!(config.screens(), DEFAULT_SCREENS);
        config.barista_screens = Some(8);
        assert_eq!(config.screens(), 8);
        config.barista_screens = Some(30);
        assert_eq!(config.screens(), 24, "never more screens than baristas");
        config.barista_screens = Some(0);
        assert!(config.validate().unwrap_err().contains("--barista-screens"));
    }

    #[test]
    fn customers_and_the_display_go_to_other_servers_than_the_baristas() {
        let mut config = Config::new("http://a:1");
        assert_eq!(config.customer_server(0), "http://a:1");
        assert_eq!(config.display_server(), "http://a:1");
        config.servers = vec!["http://a:1".into(), "http://b:1".into()];
        assert_eq!(config.customer_server(0), "http://b:1");
        assert_eq!(config.customer_server(7), "http://b:1");
        assert_eq!(config.display_server(), "http://b:1");
        config.servers.push("http://c:1".into());
        let spread: Vec<String> = (0..4).map(|i| config.customer_server(i)).collect();
        assert_eq!(
            spread,
            ["http://b:1", "http://c:1", "http://b:1", "http://c:1"]
        );
        assert_eq!(config.display_server(), "http://c:1");
    }

    #[test]
    fn another_shop_has_people_of_its_own() {
        let mut config = Config::new("http://127.0.0.1:8080");
        assert_eq!(
            config.customer_email(1),
            "robot-customer-1@robot.espresso.test"
        );
        config.shop = ShopId::new("Bar-2");
        assert_eq!(
            config.customer_email(1),
            "robot-bar-2-customer-1@robot.espresso.test"
        );
        assert_eq!(
            config.barista_email(3),
            "robot-bar-2-barista-3@robot.espresso.test"
        );
        assert_eq!(
            config.display_email(),
            "robot-bar-2-display@robot.espresso.test"
        );
    }

    #[tokio::test]
    async fn stop_reaches_every_clone() {
        let stop = Stop::new();
        let clone = stop.clone();
        let waiter = tokio::spawn(async move { clone.stopped().await });
        assert!(!stop.is_stopped());
        stop.stop();
        waiter.await.unwrap();
        assert!(stop.is_stopped());
    }
}
