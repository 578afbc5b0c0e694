//! The command line: flags (clap) turned into a [`Config`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use espresso_core::protocol::ShopId;

use crate::config::{Config, Pace, Progress};
use crate::parse::{TimeRange, parse_duration, parse_fraction, parse_rate};

const ABOUT: &str = "The Espresso order robot: simulated customers, baristas and booth screens \
driving a real server, for a booth demo or a load run.";

const LONG_ABOUT: &str = "The Espresso order robot: simulated customers, baristas and booth \
screens driving a real server through the same client the apps use, for a booth demo (--demo) or \
a load run (the default), ending with a table of throughput, latencies and errors.

Every simulated person signs in like a person: the server mails a one-time code and the robot \
reads it from the server's mail folder, so the server must run with `--mailer dir:PATH` and the \
robot gets --mail-dir PATH. The server allows 600 sign-in codes an hour per client address (all of \
the robot's people share one); for more, start the server with ESPRESSO_OTP_IP_LIMIT_PER_HOUR \
raised (e.g. 100000). Each email may get 5 codes an hour.";

const AFTER_HELP: &str = "Examples:
  espresso-robot --demo --mail-dir data/mail --admin you@cafe.example
  espresso-robot --customers 50 --baristas 3 --watchers 100 --duration 20s --make-time 0..200ms \\
      --mail-dir /tmp/mail --admin admin@robot.espresso.test --json run.json";

/// The flags; see `--help`.
#[derive(Debug, Clone, Parser)]
#[command(name = "espresso-robot", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Args {
    /// The Espresso server to drive.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub server: String,

    /// The shop to order from.
    #[arg(long, value_name = "SHOP", default_value = "main")]
    pub shop: String,

    /// Several servers on one database (PostgreSQL), comma-separated, instead of --server: the
    /// baristas and their screens use the first, the customers (calls and live streams) the
    /// others in turn, the booth display the last, so every action reaches its watchers
    /// through another server.
    #[arg(long, value_name = "URL,URL,…", value_delimiter = ',', num_args = 1..)]
    pub servers: Vec<String>,

    /// Several shops at once, comma-separated, instead of --shop: each with its own people
    /// (the counts per shop), the timed phases together; shop k takes the --servers list
    /// turned by k (its baristas on server k).
    #[arg(long, value_name = "SHOP,SHOP,…", value_delimiter = ',', num_args = 1..)]
    pub shops: Vec<String>,

    /// Create the shop (as --admin) when the server has none of that id.
    #[arg(long)]
    pub create_shop: bool,

    /// More server processes (comma-separated ids) whose CPU time over the timed phase is added
    /// to --server-pid's: the other servers of --servers.
    #[arg(long, value_name = "PID,PID,…", value_delimiter = ',', num_args = 1..)]
    pub cpu_pids: Vec<u32>,

    /// The database's main process (PostgreSQL's postmaster): its CPU time and its children's
    /// over the timed phase are reported beside the server's.
    #[arg(long, value_name = "PID")]
    pub database_pid: Option<u32>,

    /// Simulated customers, each with their own account, phone and live stream
    /// [default: 10; demo: 3].
    #[arg(long, value_name = "N")]
    pub customers: Option<usize>,

    /// Simulated baristas, each with their own account [default: 2; demo: 1].
    #[arg(long, value_name = "M")]
    pub baristas: Option<usize>,

    /// Staff live streams the baristas share, as a bar shares a few tablets: each is folded
    /// into a queue and barista i works from screen i mod N (they call out what they take, so
    /// no two claim the same order; a claim that loses to a stale screen counts as a lost race)
    /// [default: the baristas, at most 3].
    #[arg(long, value_name = "N")]
    pub barista_screens: Option<usize>,

    /// Orders started per second across all customers; 0 = as fast as they can
    /// [default: 0; demo: one every 20–40 s].
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// How long new orders start, e.g. 30s, 2m; then the drain [default: 30s; demo: until Ctrl-C].
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// After --duration, how long open orders may take to end (no new ones start).
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "60s")]
    pub drain: Duration,

    /// Fraction of orders their customer cancels while queued, e.g. 0.1 or 10%.
    #[arg(long, value_name = "F", value_parser = parse_fraction, default_value = "0.1")]
    pub cancel_rate: f64,

    /// Live sockets of the display account acting as booth screens; each notes when every
    /// barista action reaches it (fan-out latency). With no customers and baristas the robot
    /// just holds them open for --duration (an idle-sockets test).
    #[arg(long, value_name = "W", default_value_t = 0)]
    pub watchers: usize,

    /// A burst instead of a load run: N customers order, then the barista sends N claims at
    /// once (then N completes, then N collects), and the robot measures how long until every
    /// one of --watchers booth screens (at least 1) shows all of them. Needs --admin.
    #[arg(long, value_name = "N")]
    pub burst: Option<usize>,

    /// How long a barista takes to make a drink, drawn uniformly: MIN..MAX (e.g. 2s..8s,
    /// 0..200ms) or one value (0 allowed); the hand-over after it takes an eighth of that
    /// [default: 2s..8s; demo: 20s..60s, handed over after 10s..30s].
    #[arg(long, value_name = "RANGE", value_parser = TimeRange::parse)]
    pub make_time: Option<TimeRange>,

    /// The server's mail folder (`--mailer dir:PATH`): where simulated people read their
    /// sign-in codes.
    #[arg(long, value_name = "PATH")]
    pub mail_dir: Option<PathBuf>,

    /// An admin account (signed in through the mail folder too): grants the robot's roles,
    /// opens the shop and lifts the booth's limits for the run, restoring them at the end.
    /// Without it the robot's accounts must already have their roles.
    #[arg(long, value_name = "EMAIL")]
    pub admin: Option<String>,

    /// Write the summary as JSON to this file (what `cargo xtask bench` reads).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// The server's process id, for its memory (VmRSS); by default the process listening on
    /// the server's port is found through /proc (Linux).
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,

    /// The booth demo: a gentle endless stream of orders so the board looks alive (3
    /// customers, 1 barista, an order every 20–40 s, 20–60 s to make) until Ctrl-C.
    #[arg(long)]
    pub demo: bool,
}

impl Args {
    /// The runs these flags ask for: one per shop of --shops (sharing a start gate and the
    /// servers, turned per shop), or the one of [`Args::into_config`].
    pub fn into_configs(mut self, terminal: bool) -> Result<Vec<Config>, String> {
        let shops = std::mem::take(&mut self.shops);
        if shops.is_empty() {
            return Ok(vec![self.into_config(terminal)?]);
        }
        let gate = Arc::new(tokio::sync::Barrier::new(shops.len()));
        let admin = Arc::new(tokio::sync::OnceCell::new());
        let mut configs = Vec::with_capacity(shops.len());
        for (k, shop) in shops.iter().enumerate() {
            let mut args = self.clone();
            args.shop = shop.clone();
            if !args.servers.is_empty() {
                let turn = k % args.servers.len();
                args.servers.rotate_left(turn);
            }
            let mut config = args.into_config(terminal)?;
            config.start_gate = Some(gate.clone());
            config.shared_admin = Some(admin.clone());
            // One progress display for several runs would be a muddle.
            config.progress = Progress::Hidden;
            configs.push(config);
        }
        Ok(configs)
    }

    /// The run these flags ask for; `terminal`: whether stdout is a terminal (progress shown).
    pub fn into_config(self, terminal: bool) -> Result<Config, String> {
        let mut config = if self.demo {
            Config::demo(self.server)
        } else {
            Config::new(self.server)
        };
        if let Some(first) = self.servers.first() {
            config.server = first.clone();
        }
        config.servers = self.servers;
        config.cpu_pids = self.cpu_pids;
        config.database_pid = self.database_pid;
        config.create_shop = self.create_shop;
        config.shop = ShopId::new(self.shop);
        if let Some(customers) = self.customers {
            config.customers = customers;
        }
        if let Some(baristas) = self.baristas {
            config.baristas = baristas;
        }
        config.barista_screens = self.barista_screens;
        if let Some(rate) = self.rate {
            config.pace = Pace::Rate(rate);
        }
        if let Some(duration) = self.duration {
            if duration.is_zero() {
                return Err("--duration must be more than 0".into());
            }
            config.duration = Some(duration);
        }
        config.drain = self.drain;
        config.cancel_rate = self.cancel_rate;
        config.watchers = self.watchers;
        if let Some(make_time) = self.make_time {
            config.make_time = make_time;
            config.handover = Config::handover_for(make_time);
        }
        config.mail_dir = self.mail_dir;
        config.admin = self.admin;
        config.server_pid = self.server_pid;
        config.progress = match (terminal, self.demo) {
            (false, _) => Progress::Hidden,
            (true, true) => Progress::StatusLine,
            (true, false) => Progress::Bar,
        };
        // Connecting many sockets takes a while; give each a moment.
        config.connect_deadline = Duration::from_secs(30)
            + Duration::from_millis(10) * u32::try_from(config.watchers).unwrap_or(u32::MAX);
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Config, String> {
        let args =
            Args::try_parse_from(std::iter::once("espresso-robot").chain(args.iter().copied()))
                .map_err(|e| e.to_string())?;
        args.into_config(false)
    }

    #[test]
    fn the_flags_are_consistent_and_each_has_help() {
        Args::command().debug_assert();
        for arg in Args::command().get_arguments() {
            assert!(arg.get_help().is_some(), "--{} has no help", arg.get_id());
        }
    }

    #[test]
    fn a_load_run_reads_its_flags() {
        let config = parse(&[
            "--customers",
            "50",
            "--baristas",
            "3",
            "--watchers",
            "100",
            "--duration",
            "20s",
            "--rate",
            "25",
            "--make-time",
            "0..200ms",
            "--mail-dir",
            "/tmp/mail",
            "--admin",
            "admin@robot.espresso.test",
            "--cancel-rate",
            "5%",
            "--barista-screens",
            "1",
        ])
        .unwrap();
        assert_eq!(
            (config.customers, config.baristas, config.watchers),
            (50, 3, 100)
        );
        assert_eq!(config.duration, Some(Duration::from_secs(20)));
        assert_eq!(config.pace, Pace::Rate(25.0));
        assert_eq!(config.make_time.to_string(), "0s..200ms");
        assert_eq!(config.handover.to_string(), "0s..25ms");
        assert_eq!(config.cancel_rate, 0.05);
        assert_eq!(config.screens(), 1);
        assert_eq!(config.admin.as_deref(), Some("admin@robot.espresso.test"));
    }

    #[test]
    fn several_shops_turn_the_servers_and_start_together() {
        let args = Args::try_parse_from([
            "espresso-robot",
            "--servers",
            "http://a:1,http://b:1,http://c:1",
            "--shops",
            "s1,s2,s3,s4",
            "--customers",
            "4",
            "--mail-dir",
            "/tmp/mail",
            "--cpu-pids",
            "7,8",
            "--database-pid",
            "9",
        ])
        .unwrap();
        let configs = args.into_configs(true).unwrap();
        let firsts: Vec<&str> = configs.iter().map(|c| c.server.as_str()).collect();
        assert_eq!(
            firsts,
            ["http://a:1", "http://b:1", "http://c:1", "http://a:1"]
        );
        let shops: Vec<String> = configs.iter().map(|c| c.shop.to_string()).collect();
        assert_eq!(shops, ["s1", "s2", "s3", "s4"]);
        assert_eq!(
            configs[1].servers,
            ["http://b:1", "http://c:1", "http://a:1"]
        );
        assert_eq!(configs[1].customer_server(0), "http://c:1");
        assert_eq!(configs[1].display_server(), "http://a:1");
        assert_eq!(configs[0].customers, 4, "the counts are per shop");
        assert_eq!(
            (configs[0].cpu_pids.clone(), configs[0].database_pid),
            (vec![7, 8], Some(9))
        );
        assert!(
            configs
                .iter()
                .all(|c| c.start_gate.is_some() && c.shared_admin.is_some())
        );
        assert!(configs.iter().all(|c| c.progress == Progress::Hidden));
        let one = parse(&["--mail-dir", "/tmp/mail"]).unwrap();
        assert!(one.start_gate.is_none() && one.servers.is_empty());
        let error = parse(&["--create-shop", "--mail-dir", "m"]).unwrap_err();
        assert!(error.contains("--admin"), "{error}");
    }

    #[test]
    fn the_demo_keeps_its_gentle_defaults_unless_told_otherwise() {
        let demo = parse(&["--demo", "--mail-dir", "/tmp/mail"]).unwrap();
        assert_eq!((demo.customers, demo.baristas, demo.duration), (3, 1, None));
        assert_eq!(demo.handover.to_string(), "10s..30s");
        let busier = parse(&["--demo", "--customers", "6", "--mail-dir", "/tmp/mail"]).unwrap();
        assert_eq!(busier.customers, 6);
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let error = parse(&["--duration", "soon", "--mail-dir", "m"]).unwrap_err();
        assert!(error.contains("not a duration"), "{error}");
        let error = parse(&["--make-time", "8s..2s", "--mail-dir", "m"]).unwrap_err();
        assert!(error.contains("MIN..MAX"), "{error}");
        let error = parse(&["--cancel-rate", "2", "--mail-dir", "m"]).unwrap_err();
        assert!(error.contains("between 0 and 1"), "{error}");
        let error = parse(&["--customers", "3"]).unwrap_err();
        assert!(error.contains("--mail-dir"), "{error}");
        let error = parse(&["--duration", "0", "--mail-dir", "m"]).unwrap_err();
        assert!(error.contains("more than 0"), "{error}");
    }
}
