//! Per-plugin metrics: lock-free counters and a fixed-bucket latency histogram.
//!
//! A [`MetricsRecorder`] is shared by every monitored instance of one plugin; recording is a
//! handful of relaxed atomic additions. [`PluginMetrics`] is a snapshot of it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::error::PluginError;

/// Latency buckets: bucket `i` counts calls of less than `2^i` nanoseconds (the last one
/// everything longer), so quantiles are exact to within a factor of two.
const BUCKETS: usize = 40;

/// A snapshot of one plugin's metrics.
///
/// ```
/// use modreg_core::PluginMetrics;
/// let metrics = PluginMetrics::new();
/// assert_eq!(metrics.calls, 0);
/// assert_eq!(metrics.latency_quantile(0.5), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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

/// The live, shared counters of one plugin.
pub struct MetricsRecorder {
    calls: AtomicU64,
    errors: AtomicU64,
    panics: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    latency: [AtomicU64; BUCKETS],
    latency_sum_ns: AtomicU64,
}

impl Default for MetricsRecorder {
    fn default() -> Self {
        MetricsRecorder {
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
            latency_sum_ns: AtomicU64::new(0),
        }
    }
}

impl fmt::Debug for MetricsRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.snapshot().fmt(f)
    }
}

fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl MetricsRecorder {
    /// Records one call with `bytes_in` of input and its outcome.
    #[inline]
    pub fn record(&self, bytes_in: usize, outcome: &Result<Vec<u8>, PluginError>) {
        self.calls.fetch_add(1, Relaxed);
        self.bytes_in.fetch_add(as_u64(bytes_in), Relaxed);
        match outcome {
            Ok(out) => {
                self.bytes_out.fetch_add(as_u64(out.len()), Relaxed);
            }
            Err(error) => {
                self.errors.fetch_add(1, Relaxed);
                if matches!(error, PluginError::Panicked { .. }) {
                    self.panics.fetch_add(1, Relaxed);
                }
            }
        }
    }

    /// Records the latency of one call.
    #[inline]
    pub fn record_latency(&self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        let bucket = (u64::BITS - nanos.leading_zeros()) as usize;
        self.latency[bucket.min(BUCKETS - 1)].fetch_add(1, Relaxed);
        self.latency_sum_ns.fetch_add(nanos, Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> PluginMetrics {
        let latency_buckets: Vec<u64> = self.latency.iter().map(|b| b.load(Relaxed)).collect();
        PluginMetrics {
            calls: self.calls.load(Relaxed),
            errors: self.errors.load(Relaxed),
            panics: self.panics.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            latency_buckets: if latency_buckets.iter().all(|&c| c == 0) {
                Vec::new()
            } else {
                latency_buckets
            },
            latency_sum_ns: self.latency_sum_ns.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_buckets() {
        let recorder = MetricsRecorder::default();
        for _ in 0..90 {
            recorder.record_latency(Duration::from_nanos(100));
        }
        for _ in 0..10 {
            recorder.record_latency(Duration::from_micros(100));
        }
        let metrics = recorder.snapshot();
        assert_eq!(
            metrics.latency_quantile(0.5),
            Some(Duration::from_nanos(128))
        );
        assert_eq!(
            metrics.latency_quantile(0.9),
            Some(Duration::from_nanos(128))
        );
        assert_eq!(
            metrics.latency_quantile(0.99),
            Some(Duration::from_nanos(131_072))
        );
    }

    #[test]
    fn counters_count_outcomes() {
        let recorder = MetricsRecorder::default();
        recorder.record(3, &Ok(vec![1, 2]));
        recorder.record(5, &Err(PluginError::processing("p", "x")));
        let m = recorder.snapshot();
        assert_eq!((m.calls, m.errors, m.bytes_in, m.bytes_out), (2, 1, 8, 2));
        assert!(m.latency_buckets.is_empty());
    }
}
