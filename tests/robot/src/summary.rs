//! What a run measured: the end table people read and the JSON `cargo xtask bench` reads.
//!
//! The JSON shape is a contract (see [`Summary::to_json`]): fields may be added, none renamed
//! or removed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::stats::{CallStats, Histogram, Percentiles};

/// Everything a run measured.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub server: String,
    pub shop: String,
    pub customers: usize,
    pub baristas: usize,
    /// Staff live streams the baristas shared.
    pub barista_screens: usize,
    /// How the run was paced, in words (`as fast as they can, make 2s..8s, …`).
    pub setup: String,
    /// From the start of the run (sign-ins included) to the end table.
    pub elapsed: Duration,
    /// While new orders started: the time orders/s and lifecycles/s are over.
    pub timed_phase: Duration,
    /// After the timed phase, until the last open order ended (or the drain's limit).
    pub drain: Duration,
    pub orders_started: u64,
    /// Orders collected (a whole lifecycle), in the timed phase and the drain.
    pub lifecycles_completed: u64,
    /// Of those, the ones collected during the timed phase.
    pub lifecycles_in_timed_phase: u64,
    pub cancelled: u64,
    /// Orders the server timed out (a deadline passed).
    pub timed_out: u64,
    /// Orders still open when the run ended (cleaned up by the robot: cancelled or collected).
    pub unfinished: u64,
    /// Latencies by call, failures by code, expected refusals.
    pub calls: CallStats,
    /// Each receiver's latency from a barista action to its event.
    pub fanout_each: Histogram,
    /// Per barista action, the slowest receiver.
    pub fanout_all: Histogram,
    pub fanout_actions: u64,
    /// Screens each action should reach: the connected watchers and the order's customer.
    pub fanout_receivers: u64,
    pub fanout_missed: u64,
    pub watchers_requested: u64,
    pub watchers_connected: u64,
    /// From the first watcher's connect to the last one's `welcome`.
    pub watchers_connect: Duration,
    pub server_pid: Option<u32>,
    pub server_rss_before: Option<u64>,
    pub server_rss_peak: Option<u64>,
    /// The server's CPU time (user + system) over the timed phase; `None` when its process is
    /// not known.
    pub server_cpu_timed: Option<Duration>,
    /// The part of it the server's writer thread used (a SQLite server's; `None` on PostgreSQL).
    pub writer_cpu_timed: Option<Duration>,
    /// This robot's own CPU time over the timed phase (the whole process: with several shops,
    /// all their robots'). On the same machine as the server, it is what the load itself costs.
    pub robot_cpu_timed: Option<Duration>,
    /// The database's CPU time (its main process and children) over the timed phase, when
    /// `--database-pid` was given.
    pub database_cpu_timed: Option<Duration>,
    /// Things the person running it should know (limits, restore failures, …).
    pub notes: Vec<String>,
}

/// The JSON summary (`--json PATH`).
#[derive(Debug, Clone, Serialize)]
struct Json<'a> {
    elapsed_s: f64,
    timed_phase_s: f64,
    orders_started: u64,
    lifecycles_completed: u64,
    cancelled: u64,
    timed_out: u64,
    orders_per_s: f64,
    lifecycles_per_s: f64,
    api: BTreeMap<&'a str, Percentiles>,
    fanout_each: Percentiles,
    fanout_all: Percentiles,
    errors: &'a BTreeMap<String, u64>,
    watchers: Watchers,
    server_rss_before_bytes: Option<u64>,
    server_rss_peak_bytes: Option<u64>,
    // Additions to the contract's fields.
    expected_refusals: &'a BTreeMap<String, u64>,
    unfinished: u64,
    fanout_missed: u64,
    lost_races: u64,
    barista_screens: usize,
    server_cpu_ms: Option<f64>,
    server_cpu_per_lifecycle_ms: Option<f64>,
    server_cpu_cores: Option<f64>,
    writer_cpu_ms: Option<f64>,
    writer_cpu_per_lifecycle_ms: Option<f64>,
    robot_cpu_ms: Option<f64>,
    robot_cpu_per_lifecycle_ms: Option<f64>,
    database_cpu_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct Watchers {
    requested: u64,
    connected: u64,
    connect_s: f64,
}

fn per_second(count: u64, over: Duration) -> f64 {
    let seconds = over.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

impl Summary {
    /// Orders started per second of the timed phase.
    pub fn orders_per_s(&self) -> f64 {
        per_second(self.orders_started, self.timed_phase)
    }

    /// Lifecycles completed per second of the timed phase (those collected during it).
    pub fn lifecycles_per_s(&self) -> f64 {
        per_second(self.lifecycles_in_timed_phase, self.timed_phase)
    }

    /// The server's CPU time over the timed phase per lifecycle collected in it, in ms: the
    /// cost of an order that does not depend on how much of the machine the robot takes.
    pub fn server_cpu_per_lifecycle_ms(&self) -> Option<f64> {
        self.per_lifecycle_ms(self.server_cpu_timed)
    }

    /// `cpu` over the timed phase per lifecycle collected in it, in ms. With several shops in one
    /// robot process, each shop's table divides the whole CPU by its own lifecycles (`cargo xtask
    /// bench`'s scale rows divide by their sum).
    fn per_lifecycle_ms(&self, cpu: Option<Duration>) -> Option<f64> {
        let cpu = cpu?;
        (self.lifecycles_in_timed_phase > 0)
            .then(|| cpu.as_secs_f64() * 1e3 / self.lifecycles_in_timed_phase as f64)
    }

    /// How many cores the server kept busy on average over the timed phase.
    pub fn server_cpu_cores(&self) -> Option<f64> {
        self.cores(self.server_cpu_timed?)
    }

    /// How many cores `cpu` over the timed phase kept busy on average.
    fn cores(&self, cpu: Duration) -> Option<f64> {
        (!self.timed_phase.is_zero()).then(|| cpu.as_secs_f64() / self.timed_phase.as_secs_f64())
    }

    /// `cpu` over the timed phase for the end table: the total, the cores, per lifecycle.
    fn cpu_line(&self, cpu: Duration) -> String {
        let mut line = format!(
            "{:.0} ms over the timed phase ({:.2} cores)",
            cpu.as_secs_f64() * 1e3,
            self.cores(cpu).unwrap_or(0.0)
        );
        if let Some(per) = self.per_lifecycle_ms(Some(cpu)) {
            let _ = write!(line, "; {per:.2} ms per lifecycle");
        }
        line
    }

    /// The JSON summary:
    ///
    /// `{"elapsed_s", "timed_phase_s", "orders_started", "lifecycles_completed", "cancelled",
    /// "timed_out", "orders_per_s", "lifecycles_per_s", "api": {"<call>": {"count", "p50_ms",
    /// "p95_ms", "p99_ms", "max_ms"}}, "fanout_each": {…}, "fanout_all": {…}, "errors":
    /// {"<code>": n}, "watchers": {"requested", "connected", "connect_s"},
    /// "server_rss_before_bytes", "server_rss_peak_bytes"}` (RSS null when unknown), plus
    /// `"expected_refusals": {"<code>": n}`, `"unfinished"`, `"fanout_missed"`, `"lost_races"`,
    /// `"barista_screens"`, and the server's CPU over the timed phase: `"server_cpu_ms"`,
    /// `"server_cpu_per_lifecycle_ms"`, `"server_cpu_cores"`, the writer thread's part of it
    /// `"writer_cpu_ms"`, `"writer_cpu_per_lifecycle_ms"`, and the robot's own `"robot_cpu_ms"`,
    /// `"robot_cpu_per_lifecycle_ms"` (null when unknown).
    pub fn to_json(&self) -> serde_json::Value {
        let json = Json {
            elapsed_s: self.elapsed.as_secs_f64(),
            timed_phase_s: self.timed_phase.as_secs_f64(),
            orders_started: self.orders_started,
            lifecycles_completed: self.lifecycles_completed,
            cancelled: self.cancelled,
            timed_out: self.timed_out,
            orders_per_s: self.orders_per_s(),
            lifecycles_per_s: self.lifecycles_per_s(),
            api: self
                .calls
                .calls
                .iter()
                .map(|(call, histogram)| (*call, histogram.summary()))
                .collect(),
            fanout_each: self.fanout_each.summary(),
            fanout_all: self.fanout_all.summary(),
            errors: &self.calls.errors,
            watchers: Watchers {
                requested: self.watchers_requested,
                connected: self.watchers_connected,
                connect_s: self.watchers_connect.as_secs_f64(),
            },
            server_rss_before_bytes: self.server_rss_before,
            server_rss_peak_bytes: self.server_rss_peak,
            expected_refusals: &self.calls.expected,
            unfinished: self.unfinished,
            fanout_missed: self.fanout_missed,
            lost_races: self.calls.lost_races,
            barista_screens: self.barista_screens,
            server_cpu_ms: self.server_cpu_timed.map(|cpu| cpu.as_secs_f64() * 1e3),
            server_cpu_per_lifecycle_ms: self.server_cpu_per_lifecycle_ms(),
            server_cpu_cores: self.server_cpu_cores(),
            writer_cpu_ms: self.writer_cpu_timed.map(|cpu| cpu.as_secs_f64() * 1e3),
            writer_cpu_per_lifecycle_ms: self.per_lifecycle_ms(self.writer_cpu_timed),
            robot_cpu_ms: self.robot_cpu_timed.map(|cpu| cpu.as_secs_f64() * 1e3),
            robot_cpu_per_lifecycle_ms: self.per_lifecycle_ms(self.robot_cpu_timed),
            database_cpu_ms: self.database_cpu_timed.map(|cpu| cpu.as_secs_f64() * 1e3),
        };
        serde_json::to_value(json).unwrap_or(serde_json::Value::Null)
    }

    /// The end table, plain text, aligned.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = self.write_table(&mut out);
        out
    }

    fn write_table(&self, out: &mut String) -> std::fmt::Result {
        let secs = |d: Duration| format!("{:.1} s", d.as_secs_f64());
        writeln!(
            out,
            "Espresso order robot: {} (shop {})",
            self.server, self.shop
        )?;
        let rows: Vec<(&str, String)> = vec![
            (
                "elapsed",
                format!(
                    "{} (timed phase {}, drain {})",
                    secs(self.elapsed),
                    secs(self.timed_phase),
                    secs(self.drain)
                ),
            ),
            (
                "people",
                format!(
                    "{}, {} at {}, {}",
                    plural(self.customers as u64, "customer"),
                    plural(self.baristas as u64, "barista"),
                    plural(self.barista_screens as u64, "staff screen"),
                    plural(self.watchers_requested, "watcher")
                ),
            ),
            ("setup", self.setup.clone()),
            (
                "orders started",
                format!(
                    "{} ({:.1} orders/s)",
                    self.orders_started,
                    self.orders_per_s()
                ),
            ),
            (
                "lifecycles completed",
                format!(
                    "{} (collected; {:.1} lifecycles/s over the timed phase)",
                    self.lifecycles_completed,
                    self.lifecycles_per_s()
                ),
            ),
            ("cancelled", self.cancelled.to_string()),
            ("timed out", self.timed_out.to_string()),
            ("unfinished", self.unfinished.to_string()),
        ];
        for (name, value) in rows {
            writeln!(out, "  {name:<22}{value}")?;
        }
        if self.watchers_requested > 0 {
            writeln!(
                out,
                "  {:<22}{} of {} connected in {:.2} s ({} failed)",
                "watcher sockets",
                self.watchers_connected,
                self.watchers_requested,
                self.watchers_connect.as_secs_f64(),
                self.watchers_requested
                    .saturating_sub(self.watchers_connected)
            )?;
        }

        writeln!(out)?;
        let header = |out: &mut String, title: &str| {
            writeln!(
                out,
                "{title:<24}{:>9}{:>10}{:>10}{:>10}{:>10}",
                "count", "p50 ms", "p95 ms", "p99 ms", "max ms"
            )
        };
        let row = |out: &mut String, name: &str, p: Percentiles| {
            writeln!(
                out,
                "  {name:<22}{:>9}{:>10.3}{:>10.3}{:>10.3}{:>10.3}",
                p.count, p.p50_ms, p.p95_ms, p.p99_ms, p.max_ms
            )
        };
        header(out, "API calls")?;
        if self.calls.calls.is_empty() {
            writeln!(out, "  (none)")?;
        }
        for (call, histogram) in &self.calls.calls {
            row(out, call, histogram.summary())?;
        }

        if self.fanout_actions > 0 || self.fanout_each.count() > 0 {
            writeln!(out)?;
            header(out, "Fan-out (action → seen)")?;
            row(out, "each receiver", self.fanout_each.summary())?;
            row(out, "all saw", self.fanout_all.summary())?;
            writeln!(
                out,
                "  {} barista actions × {} receivers; {} receptions missed",
                self.fanout_actions, self.fanout_receivers, self.fanout_missed
            )?;
        }

        writeln!(out)?;
        let counts = |map: &BTreeMap<String, u64>| {
            if map.is_empty() {
                "none".to_owned()
            } else {
                map.iter()
                    .map(|(code, n)| format!("{code} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        writeln!(out, "  {:<22}{}", "errors", counts(&self.calls.errors))?;
        writeln!(
            out,
            "  {:<22}{}",
            "expected refusals",
            counts(&self.calls.expected)
        )?;
        writeln!(
            out,
            "  {:<22}{} (another barista was first)",
            "lost races", self.calls.lost_races
        )?;
        let rss = match (
            self.server_pid,
            self.server_rss_before,
            self.server_rss_peak,
        ) {
            (Some(pid), Some(before), Some(peak)) => {
                let mut line = format!(
                    "{} before sockets, {} peak (pid {pid})",
                    mib(before),
                    mib(peak)
                );
                // Only an idle-sockets run (no orders) says what a socket costs.
                let idle = self.customers == 0 && self.baristas == 0;
                if idle && self.watchers_connected > 0 && peak > before {
                    let per = (peak - before) as f64 / self.watchers_connected as f64;
                    let _ = write!(line, "; {:.1} KiB per watcher socket at most", per / 1024.0);
                }
                line
            }
            _ => "unknown".to_owned(),
        };
        writeln!(out, "  {:<22}{}", "server RSS", rss)?;
        let cpu = self
            .server_cpu_timed
            .map_or_else(|| "unknown".to_owned(), |cpu| self.cpu_line(cpu));
        writeln!(out, "  {:<22}{}", "server CPU", cpu)?;
        if let Some(writer) = self.writer_cpu_timed {
            writeln!(
                out,
                "  {:<22}{}",
                "  its writer thread",
                self.cpu_line(writer)
            )?;
        }
        if let Some(robot) = self.robot_cpu_timed {
            writeln!(out, "  {:<22}{}", "robot CPU", self.cpu_line(robot))?;
        }
        if let Some(database) = self.database_cpu_timed {
            writeln!(
                out,
                "  {:<22}{:.0} ms over the timed phase",
                "database CPU",
                database.as_secs_f64() * 1e3
            )?;
        }
        for note in &self.notes {
            writeln!(out, "  note: {note}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        let mut calls = CallStats::default();
        calls.record("start_order", Duration::from_millis(2));
        calls.record("claim", Duration::from_millis(1));
        calls.error("queue_full");
        calls.expected("already_claimed");
        let mut each = Histogram::new();
        each.record(Duration::from_micros(800));
        Summary {
            server: "http://127.0.0.1:8080".into(),
            shop: "main".into(),
            elapsed: Duration::from_secs(25),
            timed_phase: Duration::from_secs(20),
            orders_started: 100,
            lifecycles_completed: 90,
            lifecycles_in_timed_phase: 80,
            calls,
            fanout_each: each,
            watchers_requested: 5,
            watchers_connected: 5,
            server_cpu_timed: Some(Duration::from_millis(1_600)),
            writer_cpu_timed: Some(Duration::from_millis(600)),
            robot_cpu_timed: Some(Duration::from_millis(2_400)),
            database_cpu_timed: None,
            ..Summary::default()
        }
    }

    #[test]
    fn the_json_has_the_contract_fields_and_rates_over_the_timed_phase() {
        let json = summary().to_json();
        for key in [
            "elapsed_s",
            "timed_phase_s",
            "orders_started",
            "lifecycles_completed",
            "cancelled",
            "timed_out",
            "orders_per_s",
            "lifecycles_per_s",
            "api",
            "fanout_each",
            "fanout_all",
            "errors",
            "watchers",
            "server_rss_before_bytes",
            "server_rss_peak_bytes",
        ] {
            assert!(json.get(key).is_some(), "{key} missing from {json}");
        }
        assert_eq!(json["orders_per_s"], 5.0);
        assert_eq!(json["lifecycles_per_s"], 4.0);
        assert_eq!(json["api"]["start_order"]["count"], 1);
        assert_eq!(json["api"]["start_order"]["p99_ms"], 2.0);
        assert_eq!(json["fanout_each"]["max_ms"], 0.8);
        assert_eq!(json["errors"]["queue_full"], 1);
        assert_eq!(json["watchers"]["connected"], 5);
        assert!(json["server_rss_peak_bytes"].is_null());
        assert_eq!(json["expected_refusals"]["already_claimed"], 1);
        // 1.6 s of server CPU over 20 s, 80 lifecycles collected in them.
        let near = |key: &str, want: f64| {
            let got = json[key].as_f64().unwrap_or(f64::NAN);
            assert!((got - want).abs() < 1e-9, "{key}: {got} vs {want}");
        };
        near("server_cpu_ms", 1600.0);
        near("server_cpu_per_lifecycle_ms", 20.0);
        near("server_cpu_cores", 0.08);
        near("writer_cpu_ms", 600.0);
        near("writer_cpu_per_lifecycle_ms", 7.5);
        near("robot_cpu_ms", 2400.0);
        near("robot_cpu_per_lifecycle_ms", 30.0);
        assert_eq!(json["lost_races"], 0);
    }

    #[test]
    fn the_table_lines_up_and_says_what_it_does_not_know() {
        let table = summary().table();
        assert!(
            table.contains("orders started        100 (5.0 orders/s)"),
            "{table}"
        );
        assert!(table.contains("server RSS            unknown"), "{table}");
        assert!(
            table.contains("server CPU            1600 ms over the timed phase (0.08 cores); 20.00 ms per lifecycle"),
            "{table}"
        );
        assert!(
            table.contains("    its writer thread   600 ms over the timed phase (0.03 cores); 7.50 ms per lifecycle"),
            "{table}"
        );
        assert!(
            table.contains("robot CPU             2400 ms over the timed phase (0.12 cores); 30.00 ms per lifecycle"),
            "{table}"
        );
        let unknown = Summary {
            server_cpu_timed: None,
            writer_cpu_timed: None,
            robot_cpu_timed: None,
            ..summary()
        };
        let unknown = unknown.table();
        assert!(
            unknown.contains("server CPU            unknown"),
            "{unknown}"
        );
        assert!(!unknown.contains("writer thread"), "{unknown}");
        assert!(!unknown.contains("robot CPU"), "{unknown}");
        assert!(
            table.contains("errors                queue_full 1"),
            "{table}"
        );
        let call_rows: Vec<&str> = table
            .lines()
            .filter(|l| l.starts_with("  claim") || l.starts_with("  start_order"))
            .collect();
        assert_eq!(call_rows.len(), 2);
        assert_eq!(call_rows[0].len(), call_rows[1].len(), "{table}");
    }
}
