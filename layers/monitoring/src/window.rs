//! Recent metrics: what a plugin did over the last minute or so, from snapshots of its
//! counters kept a few seconds apart. Health rules and dashboards read it.
//!
//! Counters only grow, so the metrics of a period are two snapshots subtracted
//! ([`PluginMetrics::since`]); a snapshot is kept every [`SAMPLE_EVERY`], for [`KEEP`].
//! Between them a window is as long as asked, up to one sample period more.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use modreg_host::PluginMetrics;

/// How often a snapshot is kept.
pub(crate) const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// How long snapshots are kept: the longest window that can be asked for.
pub const MAX_WINDOW: Duration = Duration::from_secs(120);

/// Snapshots older than this are dropped.
const KEEP: Duration = MAX_WINDOW.saturating_add(SAMPLE_EVERY);

/// A plugin's metrics over a recent period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecentMetrics {
    /// What was recorded in the period.
    pub metrics: PluginMetrics,
    /// How long the period is: the window asked for (up to a few seconds more), or less
    /// while the plugin's metrics are younger than it.
    pub period: Duration,
}

/// Snapshots of each plugin's metrics, newest last.
#[derive(Debug, Default)]
pub(crate) struct Windows {
    samples: Mutex<HashMap<String, VecDeque<(Instant, PluginMetrics)>>>,
}

impl Windows {
    /// What plugin `name` did over the last `window` (at most [`MAX_WINDOW`]), given its
    /// metrics `now`.
    pub(crate) fn recent(&self, name: &str, now: PluginMetrics, window: Duration) -> RecentMetrics {
        let at = Instant::now();
        let window = window.min(MAX_WINDOW);
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = samples.entry(name.to_owned()).or_default();
        while kept
            .front()
            .is_some_and(|(then, _)| at.duration_since(*then) > KEEP)
        {
            kept.pop_front();
        }
        // The newest snapshot at least `window` old; else the oldest there is.
        let base = kept
            .iter()
            .rev()
            .find(|(then, _)| at.duration_since(*then) >= window)
            .or_else(|| kept.front());
        let recent = match base {
            Some((then, earlier)) => RecentMetrics {
                metrics: now.since(earlier),
                period: at.duration_since(*then),
            },
            // No snapshot yet: everything recorded so far, over an unknown period.
            None => RecentMetrics {
                metrics: now.clone(),
                period: Duration::ZERO,
            },
        };
        if kept
            .back()
            .is_none_or(|(then, _)| at.duration_since(*then) >= SAMPLE_EVERY)
        {
            kept.push_back((at, now));
        }
        recent
    }

    /// Drops what is kept about plugin `name`.
    pub(crate) fn forget(&self, name: &str) {
        self.samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(n: u64) -> PluginMetrics {
        let mut metrics = PluginMetrics::new();
        metrics.calls = n;
        metrics
    }

    #[test]
    fn a_window_subtracts_the_snapshot_at_its_start() {
        let windows = Windows::default();
        // The first look: everything so far.
        assert_eq!(windows.recent("p", calls(5), MAX_WINDOW).metrics.calls, 5);
        // Within the sample period no new snapshot is kept: later looks subtract the first.
        assert_eq!(windows.recent("p", calls(9), MAX_WINDOW).metrics.calls, 4);
        assert_eq!(
            windows.recent("p", calls(12), Duration::ZERO).metrics.calls,
            7
        );
        windows.forget("p");
        assert_eq!(windows.recent("p", calls(12), MAX_WINDOW).metrics.calls, 12);
    }
}
