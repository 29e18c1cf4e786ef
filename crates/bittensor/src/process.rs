//! The process's own resource use, as Prometheus's standard process collector names it
//! (`process_resident_memory_bytes`, `process_cpu_seconds_total`, ...), so that dashboards and
//! alerts written for any Prometheus exporter work on the miner's and the validator's.
//!
//! [`ProcessStats::read`] reads `/proc/self` on Linux at the moment it is called (exporters call
//! it at scrape time). Elsewhere it reports what `getrusage`/`getrlimit` give on unix (CPU time,
//! the fd limit) and leaves the rest out: a missing value is skipped, never reported as 0.
//! Encoding is left to each exporter ([`ProcessStats::metrics`] lists name, help, type and
//! value), because the miner writes OpenMetrics and the validator the classic text format.

/// One process metric, ready for an exporter to encode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessMetric {
    /// The family name; a counter's sample carries an extra `_total` suffix.
    pub name: &'static str,
    /// The help text.
    pub help: &'static str,
    /// `true` for a counter (`process_cpu_seconds`), `false` for a gauge.
    pub counter: bool,
    /// The value.
    pub value: f64,
}

/// A snapshot of the process's resource use; `None` where this OS does not say.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessStats {
    /// Resident set size, bytes.
    pub resident_memory_bytes: Option<u64>,
    /// Virtual memory size, bytes.
    pub virtual_memory_bytes: Option<u64>,
    /// User plus system CPU time, seconds.
    pub cpu_seconds_total: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The soft limit on open file descriptors.
    pub max_fds: Option<u64>,
    /// Start time of the process since the Unix epoch, seconds.
    pub start_time_seconds: Option<f64>,
}

impl ProcessStats {
    /// Reads the current values (on Linux from `/proc/self`); never fails, a value that cannot
    /// be read is `None`.
    pub fn read() -> Self {
        imp::read()
    }

    /// The values present, with the standard names, in a fixed order.
    pub fn metrics(&self) -> Vec<ProcessMetric> {
        let gauge = |name, help, value: Option<f64>| {
            value.map(|value| ProcessMetric {
                name,
                help,
                counter: false,
                value,
            })
        };
        [
            self.cpu_seconds_total.map(|value| ProcessMetric {
                name: "process_cpu_seconds",
                help: "Total user and system CPU time spent in seconds.",
                counter: true,
                value,
            }),
            gauge(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                self.resident_memory_bytes.map(|v| v as f64),
            ),
            gauge(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                self.virtual_memory_bytes.map(|v| v as f64),
            ),
            gauge(
                "process_open_fds",
                "Number of open file descriptors.",
                self.open_fds.map(|v| v as f64),
            ),
            gauge(
                "process_max_fds",
                "Maximum number of open file descriptors.",
                self.max_fds.map(|v| v as f64),
            ),
            gauge(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                self.start_time_seconds,
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The soft `RLIMIT_NOFILE`, `None` when unlimited or unreadable.
#[cfg(unix)]
fn max_fds() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own and pass by pointer.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    // rlim_t is u64 on Linux but not on every unix.
    #[allow(clippy::unnecessary_cast)]
    let soft = lim.rlim_cur as u64;
    (rc == 0 && lim.rlim_cur != libc::RLIM_INFINITY).then_some(soft)
}

#[cfg(target_os = "linux")]
mod imp {
    use super::ProcessStats;

    pub(super) fn read() -> ProcessStats {
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        let fields = stat.as_deref().and_then(stat_fields);
        // SAFETY: sysconf only reads a system constant.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        // SAFETY: as above.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let ticks = (ticks > 0).then_some(ticks as f64);
        let field = |i: usize| fields.as_ref().and_then(|f| f.get(i)?.parse::<u64>().ok());
        // Indices into the fields after the command name: field n of proc(5) is index n - 3.
        let cpu = match (field(11), field(12), ticks) {
            (Some(utime), Some(stime), Some(t)) => Some((utime + stime) as f64 / t),
            _ => None,
        };
        let start = match (field(19), ticks, boot_time()) {
            (Some(since_boot), Some(t), Some(btime)) => Some(btime as f64 + since_boot as f64 / t),
            _ => None,
        };
        let rss = match (field(21), page) {
            (Some(pages), p) if p > 0 => Some(pages * p as u64),
            _ => None,
        };
        ProcessStats {
            resident_memory_bytes: rss,
            virtual_memory_bytes: field(20),
            cpu_seconds_total: cpu,
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                // The count includes the descriptor read_dir itself holds open, as the
                // standard collector's does.
                .map(|d| d.count() as u64),
            max_fds: super::max_fds(),
            start_time_seconds: start,
        }
    }

    /// The fields of `/proc/self/stat` after `(comm)`, which may itself hold spaces and
    /// parentheses: the state field is index 0.
    pub(super) fn stat_fields(stat: &str) -> Option<Vec<String>> {
        let rest = &stat[stat.rfind(')')? + 1..];
        Some(rest.split_whitespace().map(str::to_owned).collect())
    }

    /// The boot time (`btime` of `/proc/stat`), seconds since the Unix epoch.
    fn boot_time() -> Option<u64> {
        std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
mod imp {
    use super::ProcessStats;

    pub(super) fn read() -> ProcessStats {
        // SAFETY: an all-zero rusage is a valid value of this plain C struct.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage writes one rusage into the struct we own and pass by pointer.
        let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        ProcessStats {
            cpu_seconds_total: (rc == 0).then(|| secs(usage.ru_utime) + secs(usage.ru_stime)),
            max_fds: super::max_fds(),
            ..ProcessStats::default()
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use super::ProcessStats;

    pub(super) fn read() -> ProcessStats {
        ProcessStats::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process_from_proc() {
        let s = ProcessStats::read();
        let rss = s.resident_memory_bytes.expect("rss");
        let vsz = s.virtual_memory_bytes.expect("vsz");
        assert!(rss > 1 << 20, "rss {rss}");
        assert!(vsz >= rss, "vsz {vsz} < rss {rss}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs_f64();
        let start = s.start_time_seconds.expect("start");
        // A test binary started within the last hour, not in the future (ticks round down).
        assert!(
            start <= now + 1.0 && start > now - 3600.0,
            "start {start}, now {now}"
        );
        assert!(s.cpu_seconds_total.expect("cpu") >= 0.0);
        let file = std::fs::File::open("/proc/self/stat").expect("open");
        let open = ProcessStats::read().open_fds.expect("fds");
        drop(file);
        assert!(open >= 4, "stdin, stdout, stderr, the file: {open}");
        assert!(s.max_fds.expect("limit") >= open);
        assert_eq!(s.metrics().len(), 6);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn command_names_with_spaces_and_parentheses_do_not_shift_fields() {
        let f = imp::stat_fields("42 (a (b) c) S 1 42 42 0 -1").expect("fields");
        assert_eq!(f[0], "S");
        assert_eq!(f[1], "1");
        assert!(imp::stat_fields("no parenthesis").is_none());
    }

    #[test]
    fn only_present_values_are_listed_with_standard_names() {
        let s = ProcessStats {
            cpu_seconds_total: Some(1.5),
            open_fds: Some(7),
            ..ProcessStats::default()
        };
        let m = s.metrics();
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0].name, m[0].counter, m[0].value),
            ("process_cpu_seconds", true, 1.5)
        );
        assert_eq!(
            (m[1].name, m[1].counter, m[1].value),
            ("process_open_fds", false, 7.0)
        );
    }
}
