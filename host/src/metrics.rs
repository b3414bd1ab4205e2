//! `PluginMetrics`: a snapshot of one plugin's metrics, as the monitoring layer records them
//! and an advanced plugin is handed them (`AdvancedPlugin::update_metrics`).

use std::fmt;
use std::time::Duration;

/// Buckets below this many nanoseconds hold one value each; from it on, each power of two is
/// cut into this many equal buckets.
const SUB_BUCKETS: u64 = 16;

/// `log2(SUB_BUCKETS)`.
const SUB_BITS: u32 = 4;

/// Latencies of `2^40` ns (18 minutes) and more share the last bucket.
const TOP_OCTAVE: u32 = 40;

/// How many buckets a latency histogram has (see [`latency_bucket`]): 16 below 16 ns, 16 per
/// power of two from `2^4` to `2^39` ns, and one for everything longer.
pub const LATENCY_BUCKETS: usize = 16 * (40 - 4 + 1) + 1;

/// The histogram bucket of a latency of `nanos` nanoseconds.
///
/// The layout is log-linear, as in HDR histograms: a value under 16 ns has a bucket of its
/// own; above, each power of two is cut into 16 equal buckets, so a bucket is at most 1/16
/// of its lower bound wide and a quantile read at a bucket's middle is within 3.2 % of the
/// true value. Finding the bucket is a leading-zero count and a shift, as with plain
/// power-of-two buckets.
///
/// ```
/// use modreg_host::{latency_bucket, latency_bucket_bounds};
/// assert_eq!(latency_bucket(7), 7);
/// let (low, high) = latency_bucket_bounds(latency_bucket(1_000_000));
/// assert!(low <= 1_000_000 && 1_000_000 < high && high - low <= low / 16);
/// ```
#[inline]
pub fn latency_bucket(nanos: u64) -> usize {
    if nanos < SUB_BUCKETS {
        // Under 16: the value is its own bucket.
        #[expect(clippy::cast_possible_truncation, reason = "under 16")]
        return nanos as usize;
    }
    let octave = u64::BITS - 1 - nanos.leading_zeros();
    if octave >= TOP_OCTAVE {
        return LATENCY_BUCKETS - 1;
    }
    // The 4 bits after the leading one pick the sub-bucket.
    let sub = (nanos >> (octave - SUB_BITS)) - SUB_BUCKETS;
    #[expect(clippy::cast_possible_truncation, reason = "under LATENCY_BUCKETS")]
    let index = (SUB_BUCKETS * u64::from(octave - SUB_BITS + 1) + sub) as usize;
    index
}

/// The nanoseconds bucket `index` holds: from the first value (included) to the second
/// (excluded; `u64::MAX` for the last bucket).
pub fn latency_bucket_bounds(index: usize) -> (u64, u64) {
    let index = index as u64;
    if index < SUB_BUCKETS {
        return (index, index + 1);
    }
    let octave = index / SUB_BUCKETS + u64::from(SUB_BITS) - 1;
    if octave >= u64::from(TOP_OCTAVE) {
        return (1 << TOP_OCTAVE, u64::MAX);
    }
    let sub = index % SUB_BUCKETS;
    let shift = octave - u64::from(SUB_BITS);
    (
        (SUB_BUCKETS + sub) << shift,
        (SUB_BUCKETS + sub + 1) << shift,
    )
}

/// The last failure of a plugin's call, as monitoring kept it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LastError {
    /// The error's message (at most [`LastError::MAX_BYTES`], cut at a character boundary).
    pub message: String,
    /// Milliseconds since the Unix epoch when the call failed.
    pub at_ms: u64,
}

impl LastError {
    /// The most bytes of an error message kept.
    pub const MAX_BYTES: usize = 512;

    /// `message` (cut to [`MAX_BYTES`](Self::MAX_BYTES)) at `at_ms`.
    pub fn new(message: impl Into<String>, at_ms: u64) -> Self {
        let mut message = message.into();
        if message.len() > Self::MAX_BYTES {
            let mut end = Self::MAX_BYTES;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push('…');
        }
        LastError { message, at_ms }
    }
}

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
    /// Latency histogram (empty unless performance metrics are on): calls per bucket, laid
    /// out as [`latency_bucket`] says.
    pub latency_buckets: Vec<u64>,
    /// The sum of recorded latencies, in nanoseconds.
    pub latency_sum_ns: u64,
    /// The last call that failed, if any did.
    pub last_error: Option<LastError>,
    /// The host functions its WebAssembly guest called, by name (empty for a native plugin).
    pub host_calls: std::collections::BTreeMap<String, HostFunctionMetrics>,
}

/// A WebAssembly guest's calls of one host function.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostFunctionMetrics {
    /// Calls that ran (refused ones are audited, not counted here).
    pub calls: u64,
    /// Calls that failed (an error, a panic, an answer over the limit).
    pub errors: u64,
    /// The time they ran, in nanoseconds.
    pub total_ns: u64,
}

impl HostFunctionMetrics {
    /// Adds one call that ran for `elapsed`.
    pub fn record(&mut self, elapsed: Duration, ok: bool) {
        self.calls += 1;
        self.errors += u64::from(!ok);
        self.total_ns = self
            .total_ns
            .saturating_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
    }
}

impl PluginMetrics {
    /// Zero metrics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Quantile `q` (0.0 to 1.0) of recorded latencies: the middle of the bucket that holds
    /// it, within 3.2 % of the true value (exact under 16 ns).
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
                let (low, high) = latency_bucket_bounds(i);
                // The last bucket has no upper bound: its lower one is all that is known.
                let middle = if high == u64::MAX {
                    low
                } else {
                    low + (high - low) / 2
                };
                return Some(Duration::from_nanos(middle));
            }
        }
        None
    }

    /// What was recorded after `earlier` (a snapshot of the same plugin taken before this
    /// one): counters and buckets subtracted; the last error kept if it is newer.
    ///
    /// ```
    /// use modreg_host::PluginMetrics;
    /// let mut before = PluginMetrics::new();
    /// before.calls = 10;
    /// let mut now = before.clone();
    /// now.calls = 25;
    /// assert_eq!(now.since(&before).calls, 15);
    /// ```
    #[must_use]
    pub fn since(&self, earlier: &PluginMetrics) -> PluginMetrics {
        let buckets = if earlier.latency_buckets.is_empty() {
            self.latency_buckets.clone()
        } else {
            self.latency_buckets
                .iter()
                .zip(earlier.latency_buckets.iter().chain(std::iter::repeat(&0)))
                .map(|(now, before)| now.saturating_sub(*before))
                .collect()
        };
        PluginMetrics {
            calls: self.calls.saturating_sub(earlier.calls),
            errors: self.errors.saturating_sub(earlier.errors),
            panics: self.panics.saturating_sub(earlier.panics),
            bytes_in: self.bytes_in.saturating_sub(earlier.bytes_in),
            bytes_out: self.bytes_out.saturating_sub(earlier.bytes_out),
            latency_buckets: if buckets.iter().all(|&c| c == 0) {
                Vec::new()
            } else {
                buckets
            },
            latency_sum_ns: self.latency_sum_ns.saturating_sub(earlier.latency_sum_ns),
            last_error: self
                .last_error
                .clone()
                .filter(|error| earlier.last_error.as_ref() != Some(error)),
            host_calls: self
                .host_calls
                .iter()
                .map(|(name, now)| {
                    let before = earlier.host_calls.get(name).copied().unwrap_or_default();
                    let delta = HostFunctionMetrics {
                        calls: now.calls.saturating_sub(before.calls),
                        errors: now.errors.saturating_sub(before.errors),
                        total_ns: now.total_ns.saturating_sub(before.total_ns),
                    };
                    (name.clone(), delta)
                })
                .filter(|(_, delta)| delta.calls > 0)
                .collect(),
        }
    }

    /// The fraction of calls that failed (0.0 to 1.0); `None` without calls.
    #[expect(clippy::cast_precision_loss, reason = "a ratio")]
    pub fn error_ratio(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.errors as f64 / self.calls as f64)
    }
}

/// Where a plugin's metrics can be read while its instance lives (an advanced plugin is handed
/// them at `cleanup`).
pub trait MetricsSource: Send + Sync + fmt::Debug {
    /// The metrics recorded so far.
    fn snapshot(&self) -> PluginMetrics;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_matches_the_layout() {
        let per_octave = usize::try_from(SUB_BUCKETS).unwrap();
        let octaves = usize::try_from(TOP_OCTAVE - SUB_BITS + 1).unwrap();
        assert_eq!(LATENCY_BUCKETS, per_octave * octaves + 1);
    }

    #[test]
    fn every_latency_falls_in_the_bucket_whose_bounds_hold_it() {
        let mut samples: Vec<u64> = (0..5_000).collect();
        samples.extend((0..64).map(|shift| 1u64 << shift));
        samples.extend((1..64).map(|shift| (1u64 << shift) - 1));
        samples.extend((0..10_000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (i % 60)));
        samples.push(u64::MAX);
        let mut last = 0;
        for nanos in samples {
            let bucket = latency_bucket(nanos);
            assert!(bucket < LATENCY_BUCKETS, "{nanos}");
            let (low, high) = latency_bucket_bounds(bucket);
            assert!(
                low <= nanos && (nanos < high || high == u64::MAX),
                "{nanos}: {low}..{high}"
            );
            if high != u64::MAX {
                assert!(high - low <= (low / 16).max(1), "{nanos}: {low}..{high}");
            }
            last = last.max(bucket);
        }
        assert_eq!(last, LATENCY_BUCKETS - 1);
        // Buckets tile the line: each starts where the one before it ends.
        for i in 1..LATENCY_BUCKETS {
            assert_eq!(
                latency_bucket_bounds(i - 1).1,
                latency_bucket_bounds(i).0,
                "{i}"
            );
        }
    }

    #[test]
    fn quantiles_are_within_a_few_percent() {
        // 1,000 latencies spread from 1 µs to 10 ms; each quantile against the exact one.
        let values: Vec<u64> = (0..1_000u64).map(|i| 1_000 + i * i * 10).collect();
        let mut metrics = PluginMetrics::new();
        metrics.latency_buckets = vec![0; LATENCY_BUCKETS];
        for &v in &values {
            metrics.latency_buckets[latency_bucket(v)] += 1;
        }
        for q in [0.5, 0.9, 0.99] {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a rank"
            )]
            let exact = values[((q * 1_000.0) as usize).saturating_sub(1)];
            #[expect(clippy::cast_possible_truncation, reason = "a test's nanoseconds")]
            let got = metrics.latency_quantile(q).unwrap().as_nanos() as u64;
            #[expect(clippy::cast_precision_loss, reason = "a test's ratio")]
            let error = got.abs_diff(exact) as f64 / exact as f64;
            assert!(error < 0.035, "p{q}: {got} against {exact} ({error})");
        }
    }
}
