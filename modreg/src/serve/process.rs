//! What the kernel says about this process, for `/metrics`: the standard `process_*` metrics
//! of Prometheus clients (resident and virtual memory, CPU time, threads, open and maximum
//! file descriptors, start time). Linux only: read from `/proc/self`; elsewhere there are
//! none. Written here rather than taken from a crate: the well-kept process collectors belong
//! to other metrics libraries than the one `/metrics` is written with.

/// The figures, each `None` when `/proc` did not give it.
#[derive(Debug, Default)]
pub(crate) struct ProcessStats {
    pub(crate) resident_bytes: Option<u64>,
    pub(crate) virtual_bytes: Option<u64>,
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) threads: Option<u64>,
    pub(crate) open_fds: Option<u64>,
    pub(crate) max_fds: Option<u64>,
    pub(crate) start_time_seconds: Option<u64>,
}

/// Clock ticks per second in `/proc/*/stat` (`USER_HZ`): 100 on every Linux architecture
/// Rust supports, a constant of the kernel's user ABI.
#[cfg(target_os = "linux")]
const USER_HZ: u64 = 100;

#[cfg(target_os = "linux")]
pub(crate) fn stats() -> ProcessStats {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
    };
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // `fields[0]` is field 3 of proc(5): utime is 14, stime 15, starttime 22.
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    #[expect(clippy::cast_precision_loss, reason = "clock ticks to seconds")]
    let cpu_seconds = field(14)
        .zip(field(15))
        .map(|(user, system)| (user + system) as f64 / USER_HZ as f64);
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<u64>().ok())
    });
    let start_time_seconds = boot
        .zip(field(22))
        .map(|(boot, ticks)| boot + ticks / USER_HZ);
    let max_fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find_map(|l| l.strip_prefix("Max open files"))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        });
    ProcessStats {
        resident_bytes: kib("VmRSS:").map(|k| k * 1024),
        virtual_bytes: kib("VmSize:").map(|k| k * 1024),
        cpu_seconds,
        threads: kib("Threads:"),
        open_fds: std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|dir| dir.count() as u64),
        max_fds,
        start_time_seconds,
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn stats() -> ProcessStats {
    ProcessStats::default()
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn proc_gives_every_figure() {
        let stats = super::stats();
        assert!(stats.resident_bytes.unwrap() > 1 << 20, "{stats:?}");
        assert!(stats.virtual_bytes.unwrap() >= stats.resident_bytes.unwrap());
        assert!(stats.cpu_seconds.is_some() && stats.threads.unwrap() >= 1);
        assert!(stats.open_fds.unwrap() >= 3 && stats.max_fds.unwrap() >= stats.open_fds.unwrap());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let started = stats.start_time_seconds.unwrap();
        assert!(
            started <= now + 1 && now - started < 3600,
            "{started} {now}"
        );
    }
}
