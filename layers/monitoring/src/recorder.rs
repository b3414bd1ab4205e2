//! Per-plugin metrics: lock-free counters and a log-linear latency histogram.
//!
//! A [`MetricsRecorder`] is shared by every monitored instance of one plugin; recording is a
//! few plain stores to the calling thread's own counters. [`PluginMetrics`] (the host's type,
//! which an advanced plugin is handed) is a snapshot of it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use crate::thread_slot;
use modreg_core::{PluginError, PluginErrorKind};
use modreg_host::{
    HostFunctionMetrics, LATENCY_BUCKETS as BUCKETS, LastError, MetricsSource, PluginMetrics,
};

/// The live, shared counters of one plugin.
///
/// Counters are kept per thread: each thread that holds a slot
/// (one of 64 per process at a time) writes a line of its own, allocated on its first call,
/// with plain loads and stores, so a call costs no atomic read-modify-write and threads
/// calling the same plugin do not contend. Threads past the slots add to one shared line
/// atomically. A snapshot sums the lines.
pub struct MetricsRecorder {
    /// One line per thread slot, written only by the thread holding that slot.
    owned: Box<[OnceLock<Box<Line>>]>,
    /// For threads without a slot.
    shared: Line,
    /// The last failure: written on the error path only.
    last_error: Mutex<Option<LastError>>,
    /// Its guest's host function calls, by function. A lock rather than per-thread lines: a
    /// host function is the embedder's code, which costs far more than the lock.
    host_calls: Mutex<BTreeMap<String, HostFunctionMetrics>>,
}

/// One thread's counters and latency histogram, on cache lines of their own.
#[repr(align(64))]
struct Line {
    calls: AtomicU64,
    errors: AtomicU64,
    panics: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    latency_sum_ns: AtomicU64,
    latency: [AtomicU64; BUCKETS],
}

impl Default for Line {
    fn default() -> Self {
        Line {
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            latency_sum_ns: AtomicU64::new(0),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl Line {
    /// Adds one call of `latency` to the histogram and the sum.
    #[inline]
    fn add_latency(&self, writer: Writer, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        writer.add(&self.latency[modreg_host::latency_bucket(nanos)], 1);
        writer.add(&self.latency_sum_ns, nanos);
    }
}

/// How a call adds to a line.
#[derive(Clone, Copy)]
enum Writer {
    /// The only thread that writes this line: a load and a store.
    Owner,
    /// One of several: an atomic add.
    Shared,
}

impl Writer {
    #[inline]
    fn add(self, counter: &AtomicU64, n: u64) {
        match self {
            Writer::Owner => counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed),
            Writer::Shared => {
                counter.fetch_add(n, Relaxed);
            }
        }
    }
}

impl Default for MetricsRecorder {
    fn default() -> Self {
        MetricsRecorder {
            owned: (0..thread_slot::SLOTS).map(|_| OnceLock::new()).collect(),
            shared: Line::default(),
            last_error: Mutex::new(None),
            host_calls: Mutex::new(BTreeMap::new()),
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
    /// This thread's line and how to write it.
    #[inline]
    fn line(&self) -> (&Line, Writer) {
        match thread_slot::current().and_then(|slot| self.owned.get(slot)) {
            Some(line) => (line.get_or_init(Box::default), Writer::Owner),
            None => (&self.shared, Writer::Shared),
        }
    }

    /// Records one call with `bytes_in` of input, its outcome and, if measured, its latency.
    #[inline]
    pub fn record_call(
        &self,
        bytes_in: usize,
        outcome: &Result<Vec<u8>, PluginError>,
        latency: Option<Duration>,
    ) {
        self.record_outcome(as_u64(bytes_in), outcome.as_ref().map(Vec::len), latency);
    }

    /// Records one call given its figures: `bytes_in` of input, and the bytes it returned or
    /// its error (what a stream knows when it ends).
    #[inline]
    pub fn record_outcome(
        &self,
        bytes_in: u64,
        outcome: Result<usize, &PluginError>,
        latency: Option<Duration>,
    ) {
        let (line, writer) = self.line();
        writer.add(&line.calls, 1);
        writer.add(&line.bytes_in, bytes_in);
        match outcome {
            Ok(out) => writer.add(&line.bytes_out, as_u64(out)),
            Err(error) => {
                writer.add(&line.errors, 1);
                if matches!(error.kind(), PluginErrorKind::Panicked { .. }) {
                    writer.add(&line.panics, 1);
                }
                self.keep_error(error);
            }
        }
        if let Some(latency) = latency {
            line.add_latency(writer, latency);
        }
    }

    /// Records one call with `bytes_in` of input and its outcome.
    #[inline]
    pub fn record(&self, bytes_in: usize, outcome: &Result<Vec<u8>, PluginError>) {
        self.record_call(bytes_in, outcome, None);
    }

    /// Keeps `error` as the plugin's last.
    #[cold]
    fn keep_error(&self, error: &PluginError) {
        let at_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            Some(LastError::new(error.to_string(), at_ms));
    }

    /// Records the latency of one call (counted by [`record`](Self::record)).
    pub fn record_latency(&self, latency: Duration) {
        let (line, writer) = self.line();
        line.add_latency(writer, latency);
    }

    /// Counts one call of host function `function` by this plugin's guest.
    pub fn record_host_call(&self, function: &str, elapsed: Duration, ok: bool) {
        let mut calls = self
            .host_calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match calls.get_mut(function) {
            Some(metrics) => metrics.record(elapsed, ok),
            None => calls
                .entry(function.to_owned())
                .or_default()
                .record(elapsed, ok),
        }
    }

    /// The current values: the sum of every thread's.
    pub fn snapshot(&self) -> PluginMetrics {
        let lines: Vec<&Line> = self
            .owned
            .iter()
            .filter_map(|line| line.get().map(|line| &**line))
            .chain([&self.shared])
            .collect();
        let sum = |counter: &dyn Fn(&Line) -> &AtomicU64| {
            lines.iter().fold(0u64, |sum, line| {
                sum.wrapping_add(counter(line).load(Relaxed))
            })
        };
        let latency_buckets: Vec<u64> = (0..BUCKETS).map(|b| sum(&|l| &l.latency[b])).collect();
        // `PluginMetrics` may grow (`#[non_exhaustive]`): filled field by field.
        let mut metrics = PluginMetrics::new();
        metrics.calls = sum(&|l| &l.calls);
        metrics.errors = sum(&|l| &l.errors);
        metrics.panics = sum(&|l| &l.panics);
        metrics.bytes_in = sum(&|l| &l.bytes_in);
        metrics.bytes_out = sum(&|l| &l.bytes_out);
        if latency_buckets.iter().any(|&c| c != 0) {
            metrics.latency_buckets = latency_buckets;
        }
        metrics.latency_sum_ns = sum(&|l| &l.latency_sum_ns);
        metrics.last_error.clone_from(
            &self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        metrics.host_calls.clone_from(
            &self
                .host_calls
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        metrics
    }
}

impl MetricsSource for MetricsRecorder {
    fn snapshot(&self) -> PluginMetrics {
        MetricsRecorder::snapshot(self)
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
        #[expect(clippy::cast_precision_loss, reason = "a test's ratios")]
        let within = |q: f64, want: u64| {
            let got = metrics.latency_quantile(q).unwrap().as_nanos() as f64;
            assert!(
                (got - want as f64).abs() / (want as f64) < 0.035,
                "p{q}: {got}"
            );
        };
        within(0.5, 100);
        within(0.9, 100);
        within(0.99, 100_000);
    }

    #[test]
    fn every_thread_counts_including_those_past_the_slots() {
        // More threads alive at once than there are slots: some write their own line, the
        // rest the shared one; the snapshot has every call either way.
        let _alone = crate::thread_slot::MANY_SLOTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let threads = crate::thread_slot::SLOTS + 6;
        let recorder = std::sync::Arc::new(MetricsRecorder::default());
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (recorder, barrier) = (recorder.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..1_000 {
                        recorder.record(2, &Ok(vec![0; 3]));
                        recorder.record_latency(Duration::from_nanos(5));
                    }
                    barrier.wait();
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let m = recorder.snapshot();
        let calls = 1_000 * threads as u64;
        assert_eq!(
            (m.calls, m.bytes_in, m.bytes_out),
            (calls, 2 * calls, 3 * calls)
        );
        assert_eq!((m.latency_sum_ns, m.latency_buckets[5]), (5 * calls, calls));
    }

    #[test]
    fn counters_count_outcomes() {
        let recorder = MetricsRecorder::default();
        recorder.record(3, &Ok(vec![1, 2]));
        recorder.record(5, &Err(PluginError::processing("p", "x")));
        let m = recorder.snapshot();
        assert_eq!((m.calls, m.errors, m.bytes_in, m.bytes_out), (2, 1, 8, 2));
        assert!(m.latency_buckets.is_empty());
        assert_eq!(
            m.last_error.unwrap().message,
            PluginError::processing("p", "x").to_string()
        );
    }
}
