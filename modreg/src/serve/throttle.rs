//! Warnings the network can make the server repeat, logged at most once every [`EVERY`] with
//! how many times they happened since the line before: a connection refused at
//! `--max-connections`, an accept that failed (out of descriptors). A client that opens
//! connections as fast as it can would otherwise write a line per connection: the log is a
//! resource the network must not be able to fill. Each is counted in `/metrics` as well
//! (`http_metrics.rs`), so nothing is lost but the repeated lines; what happened after a
//! line is told by a line of its own once the interval is over, even if nothing happens then
//! (the accept loop wakes for it: [`AcceptLog::due`]), so a burst's end is not left untold.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::http_metrics::HttpMetrics;

/// The shortest time between two lines about the same thing.
pub(crate) const EVERY: Duration = Duration::from_secs(10);

/// The times something happened that no line told of yet, and when the last line was.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    logged_at: Option<Instant>,
    unlogged: u64,
}

impl Throttle {
    /// Counts one more at `now`; when a line is due, how many it tells of (this one and
    /// those since the line before).
    pub(crate) fn happened(&mut self, now: Instant) -> Option<u64> {
        self.unlogged += 1;
        if self
            .logged_at
            .is_some_and(|at| now.saturating_duration_since(at) < EVERY)
        {
            return None;
        }
        self.logged_at = Some(now);
        Some(std::mem::take(&mut self.unlogged))
    }

    /// When a line is due about what happened since the last one, if anything did.
    pub(crate) fn due(&self) -> Option<Instant> {
        self.logged_at
            .filter(|_| self.unlogged > 0)
            .map(|at| at + EVERY)
    }

    /// At `now`, how many happened since the last line, if a line about them is due.
    pub(crate) fn flush(&mut self, now: Instant) -> Option<u64> {
        if self.due().is_none_or(|due| now < due) {
            return None;
        }
        self.logged_at = Some(now);
        Some(std::mem::take(&mut self.unlogged))
    }
}

/// What the accept loop counts and logs by the rule above.
pub(crate) struct AcceptLog {
    http: Arc<HttpMetrics>,
    refused: Throttle,
    failed: Throttle,
}

impl AcceptLog {
    pub(crate) fn new(http: Arc<HttpMetrics>) -> Self {
        AcceptLog {
            http,
            refused: Throttle::default(),
            failed: Throttle::default(),
        }
    }

    /// A connection from `peer` closed at accept: every slot (`--max-connections`) taken.
    pub(crate) fn refused(&mut self, peer: SocketAddr) {
        self.http.connections_refused.inc();
        if let Some(refused) = self.refused.happened(Instant::now()) {
            tracing::warn!(
                %peer,
                refused,
                "connections refused at --max-connections since the last such line (this one's peer named; a line at most every {} s)",
                EVERY.as_secs()
            );
        }
    }

    /// When a line is due about refusals or failures no line told of yet, if any.
    pub(crate) fn due(&self) -> Option<Instant> {
        match (self.refused.due(), self.failed.due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Logs, at `now`, what is due of what no line told yet.
    pub(crate) fn flush(&mut self, now: Instant) {
        if let Some(refused) = self.refused.flush(now) {
            tracing::warn!(
                refused,
                "connections refused at --max-connections since the last such line (a line at most every {} s)",
                EVERY.as_secs()
            );
        }
        if let Some(failed) = self.failed.flush(now) {
            tracing::warn!(
                failed,
                "accepting connections failed since the last such line (a line at most every {} s)",
                EVERY.as_secs()
            );
        }
    }

    /// An accept that failed with `error`.
    pub(crate) fn failed(&mut self, error: &std::io::Error) {
        self.http.accept_failures.inc();
        if let Some(failed) = self.failed.happened(Instant::now()) {
            tracing::warn!(
                %error,
                failed,
                "accepting connections failed since the last such line (this time's error named; a line at most every {} s)",
                EVERY.as_secs()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_at_most_every_interval_telling_of_every_time() {
        let mut throttle = Throttle::default();
        let start = Instant::now();
        assert_eq!(throttle.happened(start), Some(1), "the first at once");
        for i in 1..=99 {
            assert_eq!(throttle.happened(start + Duration::from_millis(i)), None);
        }
        assert_eq!(throttle.happened(start + EVERY), Some(100));
        assert_eq!(throttle.happened(start + EVERY), None);
        assert_eq!(throttle.happened(start + EVERY * 3), Some(2));
    }

    /// What happened after a line is told once the interval is over, by a line of its own:
    /// not before, not twice, and nothing when nothing happened.
    #[test]
    fn what_happened_after_a_line_is_told_when_the_interval_is_over() {
        let mut throttle = Throttle::default();
        let start = Instant::now();
        assert_eq!(throttle.due(), None, "nothing happened");
        assert_eq!(throttle.happened(start), Some(1));
        assert_eq!(throttle.due(), None, "told already");
        assert_eq!(throttle.flush(start + EVERY * 2), None);
        for i in 1..=3 {
            assert_eq!(throttle.happened(start + Duration::from_millis(i)), None);
        }
        assert_eq!(throttle.due(), Some(start + EVERY));
        assert_eq!(throttle.flush(start + EVERY / 2), None, "not yet");
        assert_eq!(throttle.flush(start + EVERY), Some(3));
        assert_eq!(throttle.due(), None);
        assert_eq!(throttle.flush(start + EVERY * 3), None, "not twice");
        // The line told of them starts the next interval.
        assert_eq!(
            throttle.happened(start + EVERY + Duration::from_secs(1)),
            None
        );
        assert_eq!(throttle.due(), Some(start + EVERY * 2));
    }
}
