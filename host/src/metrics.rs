//! `PluginMetrics`: a snapshot of one plugin's metrics, as the monitoring layer records them
//! and an advanced plugin is handed them (`AdvancedPlugin::update_metrics`).

use std::fmt;
use std::time::Duration;

/// A snapshot of one plugin's metrics.
///
/// ```
/// use modreg_host::PluginMetrics;
/// let metrics = PluginMetrics::new();
/// assert_eq!(metrics.calls, 0);
/// assert_eq!(metrics.latency_quantile(0.5), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PluginMetrics {
    /// `process` calls.
    pub calls: u64,
    /// Calls that returned an error.
    pub errors: u64,
    /// Calls that panicked (caught and turned into an error).
    pub panics: u64,
    /// Bytes passed in.
    pub bytes_in: u64,
    /// Bytes returned.
    pub bytes_out: u64,
    /// Latency histogram (empty unless performance metrics are on): calls per bucket, bucket
    /// `i` holding calls under `2^i` ns.
    pub latency_buckets: Vec<u64>,
    /// The sum of recorded latencies, in nanoseconds.
    pub latency_sum_ns: u64,
}

impl PluginMetrics {
    /// Zero metrics.
    pub fn new() -> Self {
        Self::default()
    }

    /// The upper bound of the bucket holding quantile `q` (0.0 to 1.0) of recorded latencies.
    pub fn latency_quantile(&self, q: f64) -> Option<Duration> {
        let total: u64 = self.latency_buckets.iter().sum();
        if total == 0 {
            return None;
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a rank within a count of calls"
        )]
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, count) in self.latency_buckets.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(Duration::from_nanos(1u64 << i));
            }
        }
        None
    }
}

/// Where a plugin's metrics can be read while its instance lives (an advanced plugin is handed
/// them at `cleanup`).
pub trait MetricsSource: Send + Sync + fmt::Debug {
    /// The metrics recorded so far.
    fn snapshot(&self) -> PluginMetrics;
}
