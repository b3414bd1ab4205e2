//! Warnings the network can make the server repeat, logged at most once every [`EVERY`] with
//! how many times they happened since the line before: a connection refused at
//! `--max-connections`, an accept that failed (out of descriptors). A client that opens
//! connections as fast as it can would otherwise write a line per connection: the log is a
//! resource the network must not be able to fill. Each is counted in `/metrics` as well
//! (`http_metrics.rs`), so nothing is lost but the repeated lines.

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
}
