//! The server's memory (VmRSS), CPU time (utime + stime) and limits, read from Linux's
//! `/proc`; and the robot's own open-files limit.
//!
//! Without `--server-pid` the server is found as the process listening on the server URL's
//! port: its listening socket's inode in `/proc/net/tcp{,6}`, then the process whose
//! `/proc/PID/fd` links to `socket:[inode]`. Elsewhere than Linux (or for a server on another
//! machine) nothing is found and the report says so.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// `st` of a listening socket in `/proc/net/tcp`.
const TCP_LISTEN: &str = "0A";

/// The inodes of the sockets listening on `port` in a `/proc/net/tcp` or `tcp6` table.
pub fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let state = fields.get(3)?;
            let inode = fields.get(9)?;
            let (_addr, local_port) = local.rsplit_once(':')?;
            let local_port = u16::from_str_radix(local_port, 16).ok()?;
            (local_port == port && *state == TCP_LISTEN)
                .then(|| inode.parse().ok())
                .flatten()
        })
        .filter(|inode| *inode != 0)
        .collect()
}

/// `VmRSS` of a `/proc/PID/status`, in bytes.
pub fn vm_rss_in(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The soft `Max open files` of a `/proc/PID/limits`.
pub fn max_open_files_in(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    match soft {
        "unlimited" => Some(u64::MAX),
        number => number.parse().ok(),
    }
}

/// `utime + stime` of a `/proc/PID/stat`, in clock ticks: the CPU the process (all its
/// threads, those that ended too) has used, in user and kernel mode.
pub fn cpu_ticks_in(stat: &str) -> Option<u64> {
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses; the fields after the
    // last `)` start at field 3 (state), so utime (14) and stime (15) are the 12th and 13th.
    let (_, after) = stat.rsplit_once(')')?;
    let mut fields = after.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `(ppid, utime + stime + cutime + cstime)` of a `/proc/PID/stat`: the parent, and the CPU of
/// the process with that of its children it has waited for (ended ones).
pub fn parent_and_ticks_with_ended_children_in(stat: &str) -> Option<(u32, u64)> {
    let (_, after) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // state (3), ppid (4), …, utime (14), stime (15), cutime (16), cstime (17)
    let ppid = fields.get(1)?.parse().ok()?;
    let ticks = fields
        .get(11..15)?
        .iter()
        .map(|field| field.parse::<u64>().ok())
        .sum::<Option<u64>>()?;
    Some((ppid, ticks))
}

fn ticks_to_duration(ticks: u64) -> Duration {
    let per_second = ticks_per_second();
    Duration::from_secs(ticks / per_second)
        + Duration::from_nanos((ticks % per_second) * 1_000_000_000 / per_second)
}

/// The CPU time of several processes summed (e.g. the servers sharing a database); `None` when
/// there are none or one cannot be read.
pub fn cpu_time_of(pids: &[u32]) -> Option<Duration> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|pid| cpu_time(*pid)).sum()
}

/// The CPU time of `pid` and of every child of it, those running and those ended: a
/// PostgreSQL postmaster and its backends.
pub fn cpu_time_with_children(pid: u32) -> Option<Duration> {
    let read = |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
    let (_, mut ticks) = parent_and_ticks_with_ended_children_in(&read(&pid.to_string())?)?;
    for process in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = process.file_name();
        let Some(name) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if let Some((parent, child)) = read(name)
            .as_deref()
            .and_then(parent_and_ticks_with_ended_children_in)
            && parent == pid
        {
            ticks += child;
        }
    }
    Some(ticks_to_duration(ticks))
}

/// Clock ticks per second of `/proc`'s times (`getconf CLK_TCK`; 100 on Linux unless told).
fn ticks_per_second() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok()?.trim().parse().ok())
            .filter(|ticks| *ticks > 0)
            .unwrap_or(100)
    })
}

/// The CPU time the process has used so far (user + system, every thread), to the clock tick
/// (10 ms).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let ticks = cpu_ticks_in(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?;
    Some(ticks_to_duration(ticks))
}

/// The command name of a `/proc/PID/stat` (or a thread's `/proc/PID/task/TID/stat`): what is
/// between the first `(` and the last `)`, where a name may hold both.
pub fn comm_in(stat: &str) -> Option<&str> {
    let (_, rest) = stat.split_once('(')?;
    Some(rest.rsplit_once(')')?.0)
}

/// The CPU used between two readings of the same clock (`None` if either is unknown).
pub fn cpu_between(start: Option<Duration>, end: Option<Duration>) -> Option<Duration> {
    Some(end?.saturating_sub(start?))
}

/// The CPU time so far of each thread of `pid` named `name` (the server's `espresso-writer`),
/// by thread id; `None` when it has none by that name (a server on PostgreSQL has no writer
/// thread) or `/proc` cannot be read. Linux keeps the first 15 bytes of a thread's name.
pub fn thread_cpu_times(pid: u32, name: &str) -> Option<HashMap<u32, Duration>> {
    let mut threads = HashMap::new();
    for thread in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let Some(tid) = thread.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(thread.path().join("stat")) else {
            continue; // ended meanwhile
        };
        if comm_in(&stat) == Some(name)
            && let Some(ticks) = cpu_ticks_in(&stat)
        {
            threads.insert(tid, ticks_to_duration(ticks));
        }
    }
    (!threads.is_empty()).then_some(threads)
}

/// The CPU the threads of `start` (from [`thread_cpu_times`]) used until `end`: thread by thread,
/// those in both (a thread that started or ended between the two is left out, not half-counted).
pub fn threads_cpu_between(
    start: &HashMap<u32, Duration>,
    end: &HashMap<u32, Duration>,
) -> Duration {
    start
        .iter()
        .filter_map(|(tid, before)| Some(end.get(tid)?.saturating_sub(*before)))
        .sum()
}

/// The server's resident memory now, in bytes.
pub fn vm_rss(pid: u32) -> Option<u64> {
    vm_rss_in(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// The server's soft open-files limit.
pub fn max_open_files(pid: u32) -> Option<u64> {
    max_open_files_in(&std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?)
}

/// The process listening on TCP `port` on this machine, if `/proc` shows it (and lets us look).
pub fn find_listener(port: u16) -> Option<u32> {
    let inodes: HashSet<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|table| listening_inodes(&table, port))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: HashSet<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    let processes = std::fs::read_dir("/proc").ok()?;
    processes.filter_map(Result::ok).find_map(|process| {
        let pid: u32 = process.file_name().to_str()?.parse().ok()?;
        holds_socket(&process.path(), &wanted).then_some(pid)
    })
}

fn holds_socket(process: &Path, wanted: &HashSet<String>) -> bool {
    let Ok(fds) = std::fs::read_dir(process.join("fd")) else {
        return false;
    };
    fds.filter_map(Result::ok).any(|fd| {
        std::fs::read_link(fd.path())
            .ok()
            .and_then(|target| target.to_str().map(|t| wanted.contains(t)))
            .unwrap_or(false)
    })
}

/// The server's RSS sampled every second: the first sample (before the sockets) and the peak.
#[derive(Debug, Clone)]
pub struct RssSampler {
    pid: Option<u32>,
    peak: Arc<AtomicU64>,
}

impl RssSampler {
    /// Start sampling `pid` (nothing if `None`) on the current tokio runtime; the task ends
    /// when the sampler and its clones are gone.
    pub fn start(pid: Option<u32>) -> Self {
        let sampler = Self {
            pid,
            peak: Arc::new(AtomicU64::new(0)),
        };
        if let Some(pid) = pid {
            let peak = Arc::downgrade(&sampler.peak);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    let Some(peak) = peak.upgrade() else { break };
                    if let Some(rss) = vm_rss(pid) {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                }
            });
        }
        sampler
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// One sample now (also counted toward the peak).
    pub fn sample(&self) -> Option<u64> {
        let rss = vm_rss(self.pid?)?;
        self.peak.fetch_max(rss, Ordering::Relaxed);
        Some(rss)
    }

    /// The highest sample so far.
    pub fn peak(&self) -> Option<u64> {
        self.pid?;
        match self.peak.load(Ordering::Relaxed) {
            0 => None,
            peak => Some(peak),
        }
    }
}

/// The robot's open-files limit after raising the soft limit to the hard one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilesLimit {
    pub before: u64,
    pub now: u64,
}

/// Raise this process's soft `RLIMIT_NOFILE` to its hard limit (thousands of sockets need it).
pub fn raise_files_limit() -> std::io::Result<FilesLimit> {
    let before = rlimit::Resource::NOFILE.get_soft().unwrap_or(0);
    let now = rlimit::increase_nofile_limit(u64::MAX)?;
    Ok(FilesLimit { before, now })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 5151 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
";

    #[test]
    fn only_the_listening_socket_on_the_port_is_found() {
        assert_eq!(listening_inodes(TCP, 8080), [4242]);
        assert_eq!(listening_inodes(TCP, 22), [777]);
        assert!(listening_inodes(TCP, 9999).is_empty());
        assert!(listening_inodes("", 8080).is_empty());
    }

    #[test]
    fn rss_and_the_files_limit_are_read_from_proc_text() {
        let status =
            "Name:\tespresso-server\nVmPeak:\t  99999 kB\nVmRSS:\t   25600 kB\nThreads:\t5\n";
        assert_eq!(vm_rss_in(status), Some(25_600 * 1024));
        assert_eq!(vm_rss_in("Name: x\n"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(max_open_files_in(limits), Some(1024));
    }

    #[test]
    fn a_parent_counts_its_ended_children() {
        let stat = "41 (postgres: writer) S 40 41 41 0 -1 4194560 90 0 0 0 12 8 30 4 20 0 1 0";
        assert_eq!(
            parent_and_ticks_with_ended_children_in(stat),
            Some((40, 54))
        );
        assert_eq!(parent_and_ticks_with_ended_children_in("41 (x) S 40"), None);
        let me = std::process::id();
        assert!(cpu_time_with_children(me).is_some());
        assert!(cpu_time_of(&[me, me]).unwrap() >= cpu_time(me).unwrap());
        assert_eq!(cpu_time_of(&[]), None);
    }

    #[test]
    fn cpu_ticks_are_utime_plus_stime_whatever_the_command_name() {
        let stat = "4242 (espresso (x) 1) S 1 4242 4242 0 -1 4194560 9000 0 0 0 \
                    1234 567 0 0 20 0 9 0 12345 999999 6000 18446744073709551615";
        assert_eq!(cpu_ticks_in(stat), Some(1234 + 567));
        assert_eq!(cpu_ticks_in("4242 (x) S 1 2"), None);
        // This process spins a little: its CPU time is there and does not go backwards.
        let pid = std::process::id();
        let before = cpu_time(pid).unwrap_or_default();
        let mut x = 0_u64;
        for i in 0..2_000_000_u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        if Path::new("/proc/self/stat").exists() {
            assert!(cpu_time(pid).is_some_and(|after| after >= before));
        }
    }

    #[test]
    fn a_thread_is_found_by_its_name_and_its_cpu_read() {
        assert_eq!(
            comm_in("4242 (espresso (x) 1) S 1 4242"),
            Some("espresso (x) 1")
        );
        assert_eq!(comm_in("4242 espresso S 1"), None);
        if !Path::new("/proc/self/task").exists() {
            return;
        }
        let (named, spun) = std::sync::mpsc::channel();
        let (done, finish) = std::sync::mpsc::channel::<()>();
        let spinner = std::thread::Builder::new()
            .name("rss-test-spin".into())
            .spawn(move || {
                // Busy for a few clock ticks (10 ms each), then wait to be read.
                let start = std::time::Instant::now();
                let mut x = 0_u64;
                let mut turns = 0_u64;
                while turns < 50_000_000 || start.elapsed() < Duration::from_millis(40) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
                    turns += 1;
                }
                named.send(x).unwrap();
                finish.recv().ok();
            })
            .unwrap();
        spun.recv().unwrap();
        let me = std::process::id();
        let spinners = thread_cpu_times(me, "rss-test-spin").unwrap_or_default();
        assert_eq!(spinners.len(), 1, "{spinners:?}");
        let spinner_cpu: Duration = spinners.values().sum();
        assert!(spinner_cpu >= Duration::from_millis(10), "{spinner_cpu:?}");
        assert!(Some(spinner_cpu) <= cpu_time(me));
        assert_eq!(thread_cpu_times(me, "no-such-thread"), None);
        // Between two readings: what each thread of the first used since, whatever came or went.
        let later: HashMap<u32, Duration> = spinners
            .iter()
            .map(|(tid, cpu)| (*tid, *cpu + Duration::from_millis(30)))
            .chain([(u32::MAX, Duration::from_secs(9))])
            .collect();
        assert_eq!(
            threads_cpu_between(&spinners, &later),
            Duration::from_millis(30)
        );
        assert_eq!(
            threads_cpu_between(&spinners, &HashMap::new()),
            Duration::ZERO
        );
        let second = Duration::from_secs(1);
        assert_eq!(
            cpu_between(Some(second), Some(3 * second)),
            Some(2 * second)
        );
        assert_eq!(cpu_between(None, Some(second)), None);
        assert_eq!(cpu_between(Some(second), None), None);
        done.send(()).unwrap();
        spinner.join().unwrap();
    }

    #[test]
    fn this_process_is_found_listening_on_its_own_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if Path::new("/proc/net/tcp").exists() {
            assert_eq!(find_listener(port), Some(std::process::id()));
            assert!(vm_rss(std::process::id()).is_some_and(|rss| rss > 0));
        }
    }
}
