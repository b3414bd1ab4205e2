//! Connections refused at `--max-connections`: each counted in `/metrics`
//! (`modreg_http_connections_refused_total`), and logged at most once every [`EVERY`], with
//! how many were refused since the line before. A client that opens connections as fast as
//! it can while the slots are full would otherwise write a warning per connection: the log
//! is a resource the network must not be able to fill.

use std::time::{Duration, Instant};

/// The shortest time between two log lines about refused connections.
pub(crate) const EVERY: Duration = Duration::from_secs(10);

/// The refusals not logged yet, and when the last line was.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    logged_at: Option<Instant>,
    unlogged: u64,
}

impl Refusals {
    /// Counts a refusal at `now`; when a line is due, how many it tells of (this one and
    /// those since the line before).
    pub(crate) fn refused(&mut self, now: Instant) -> Option<u64> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_at_most_every_interval_telling_of_every_refusal() {
        let mut refusals = Refusals::default();
        let start = Instant::now();
        assert_eq!(refusals.refused(start), Some(1), "the first at once");
        for i in 1..=99 {
            assert_eq!(refusals.refused(start + Duration::from_millis(i)), None);
        }
        assert_eq!(refusals.refused(start + EVERY), Some(100));
        assert_eq!(refusals.refused(start + EVERY), None);
        assert_eq!(refusals.refused(start + EVERY * 3), Some(2));
    }
}
