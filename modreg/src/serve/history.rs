//! The dashboard's charts: each plugin's calls, errors and p99 latency second by second over
//! the last three minutes, sampled from the monitoring layer's counters.
//!
//! Counters only grow: each second's point is the snapshot then minus the one before
//! ([`PluginMetrics::since`]), so a point costs a snapshot and a few numbers kept.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use modreg::{ModuleRegistry, PluginMetrics};
use serde::Serialize;

/// Time between points.
pub(crate) const EVERY: Duration = Duration::from_secs(1);

/// Points kept per plugin: three minutes.
pub(crate) const POINTS: usize = 180;

/// One plugin's points, oldest first, as columns (compact in JSON).
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Series {
    /// Milliseconds since the Unix epoch at each point.
    pub(crate) t: VecDeque<u64>,
    /// Calls in the second before each point.
    pub(crate) calls: VecDeque<u64>,
    /// Of them, calls that failed.
    pub(crate) errors: VecDeque<u64>,
    /// Their p99 latency in microseconds (`null` without latencies).
    pub(crate) p99_us: VecDeque<Option<f64>>,
}

#[derive(Default)]
struct Kept {
    last: PluginMetrics,
    series: Series,
}

/// Every plugin's points.
#[derive(Default)]
pub(crate) struct History {
    plugins: Mutex<HashMap<String, Kept>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl History {
    /// Adds a point for every plugin that records metrics; forgets plugins no longer
    /// registered.
    pub(crate) fn sample(&self, registry: &ModuleRegistry) {
        let at = now_ms();
        let mut plugins = self.plugins.lock().unwrap_or_else(PoisonError::into_inner);
        let mut registered = HashSet::new();
        for info in registry.plugins() {
            let name = info.name();
            registered.insert(name.to_owned());
            let Some(now) = registry.plugin_metrics(name) else {
                continue;
            };
            let kept = plugins.entry(name.to_owned()).or_default();
            let second = now.since(&kept.last);
            let series = &mut kept.series;
            if series.t.len() == POINTS {
                series.t.pop_front();
                series.calls.pop_front();
                series.errors.pop_front();
                series.p99_us.pop_front();
            }
            series.t.push_back(at);
            series.calls.push_back(second.calls);
            series.errors.push_back(second.errors);
            series
                .p99_us
                .push_back(second.latency_quantile(0.99).map(|d| d.as_secs_f64() * 1e6));
            kept.last = now;
        }
        plugins.retain(|name, _| registered.contains(name));
    }

    /// Plugin `name`'s points, oldest first.
    pub(crate) fn series(&self, name: &str) -> Series {
        self.plugins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .map(|kept| kept.series.clone())
            .unwrap_or_default()
    }
}
