//! The progress line of a long `modreg run`: bytes in, bytes out and the rate, rewritten in
//! place on standard error, as `pv` and `rsync --progress` do. Shown when standard error is a
//! terminal (or `--progress` asks), once the run has lasted a second; cleared at the end.

use std::io::Write;
use std::time::{Duration, Instant};

/// How long a run goes before its progress shows.
const AFTER: Duration = Duration::from_secs(1);

/// Time between updates.
const EVERY: Duration = Duration::from_millis(200);

/// A run's progress line.
pub(crate) struct Progress {
    shown: bool,
    enabled: bool,
    start: Instant,
    last: Option<Instant>,
}

impl Progress {
    /// A progress line, drawn only if `enabled`.
    pub(crate) fn new(enabled: bool) -> Self {
        Progress {
            shown: false,
            enabled,
            start: Instant::now(),
            last: None,
        }
    }

    /// Redraws the line with `read` bytes in and `written` out, if it is time to.
    pub(crate) fn update(&mut self, read: u64, written: u64) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if now.duration_since(self.start) < AFTER
            || self
                .last
                .is_some_and(|last| now.duration_since(last) < EVERY)
        {
            return;
        }
        self.last = Some(now);
        let seconds = now.duration_since(self.start).as_secs_f64();
        #[expect(clippy::cast_precision_loss, reason = "sizes and a rate to show")]
        let (read, written) = (read as f64, written as f64);
        let rate = read / seconds;
        let mut stderr = std::io::stderr().lock();
        // `\r` and erase-line: the line is rewritten in place.
        let _ = write!(
            stderr,
            "\r\x1b[2Kmodreg: {} in, {} out, {}/s",
            bytes(read),
            bytes(written),
            bytes(rate)
        );
        let _ = stderr.flush();
        self.shown = true;
    }

    /// Erases the line, if it was drawn.
    pub(crate) fn finish(&mut self) {
        if self.shown {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
            self.shown = false;
        }
    }
}

/// `n` bytes in binary units: `1.21 GiB`.
fn bytes(mut n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut unit = 0;
    while n >= 1024.0 && unit < UNITS.len() - 1 {
        n /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n:.0} B")
    } else {
        format!("{n:.2} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(super::bytes(512.0), "512 B");
        assert_eq!(super::bytes(1536.0), "1.50 KiB");
        assert_eq!(super::bytes(1.3 * 1024.0 * 1024.0 * 1024.0), "1.30 GiB");
    }
}
