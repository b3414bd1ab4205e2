//! Health: what plugins report about themselves, checked on demand or periodically.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;

use modreg_core::HealthStatus;
use modreg_core::PluginError;

/// The result of one round of health checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HealthReport {
    /// The worst status of any plugin.
    pub overall: HealthStatus,
    /// Each plugin's status, by name.
    pub plugins: BTreeMap<String, HealthStatus>,
    /// Milliseconds since the Unix epoch when the round ran.
    pub checked_at_ms: u64,
}

impl HealthReport {
    /// The report of a round that found `plugins` at `checked_at_ms` (milliseconds since the
    /// Unix epoch): its overall status is the worst of theirs, healthy when there are none.
    pub fn new(plugins: BTreeMap<String, HealthStatus>, checked_at_ms: u64) -> Self {
        let overall = plugins
            .values()
            .max_by_key(|s| s.rank())
            .cloned()
            .unwrap_or(HealthStatus::Healthy);
        HealthReport {
            overall,
            plugins,
            checked_at_ms,
        }
    }
}

/// Counts of health checks per plugin (kept while health metrics are on).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HealthCounts {
    /// Checks run.
    pub checks: u64,
    /// Checks that found the plugin degraded.
    pub degraded: u64,
    /// Checks that found the plugin unhealthy.
    pub unhealthy: u64,
}

/// How many reports are kept for a dashboard while the health dashboard is on.
pub const HEALTH_HISTORY: usize = 100;

#[derive(Debug, Default)]
pub(crate) struct HealthState {
    pub(crate) latest: Mutex<Option<HealthReport>>,
    pub(crate) history: Mutex<Vec<HealthReport>>,
    pub(crate) counts: Mutex<BTreeMap<String, HealthCounts>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl HealthState {
    pub(crate) fn latest(&self) -> Option<HealthReport> {
        lock(&self.latest).clone()
    }

    pub(crate) fn history(&self) -> Vec<HealthReport> {
        lock(&self.history).clone()
    }

    pub(crate) fn counts(&self) -> BTreeMap<String, HealthCounts> {
        lock(&self.counts).clone()
    }

    /// Drops plugin `name`'s counts (it was unregistered). The reports kept are bounded
    /// ([`HEALTH_HISTORY`]) and say what was checked then: they keep its name.
    pub(crate) fn forget(&self, name: &str) {
        lock(&self.counts).remove(name);
    }
}

/// What a [`HealthMonitor`] checks: a registry with the monitoring layer attached
/// (`modreg::ModuleRegistry` implements it).
pub trait HealthChecks: Send + Sync + 'static {
    /// Whether health checks are switched on now.
    fn health_checks_enabled(&self) -> bool;

    /// Runs one round of checks.
    fn run_health_checks(&self) -> Result<HealthReport, PluginError>;
}

/// A background thread running health checks at an interval; stopped when dropped.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use modreg_core::PluginError;
/// use modreg_host::ModuleRegistry;
/// use modreg_monitoring::{
///     HealthChecks, HealthMonitor, HealthReport, Monitoring, PluginHealthMonitoringConfig,
/// };
///
/// struct Host {
///     registry: ModuleRegistry,
///     monitoring: Arc<Monitoring>,
/// }
///
/// impl HealthChecks for Host {
///     fn health_checks_enabled(&self) -> bool {
///         self.monitoring.health_checks_enabled()
///     }
///     fn run_health_checks(&self) -> Result<HealthReport, PluginError> {
///         self.monitoring.run_health_checks(&self.registry)
///     }
/// }
///
/// let monitoring = Arc::new(Monitoring::new());
/// let registry = ModuleRegistry::builder().layer(monitoring.clone()).build();
/// let checks = PluginHealthMonitoringConfig::new().with_plugin_health_checks(true);
/// monitoring.configure_plugin_health_monitoring(&registry, &checks).unwrap();
/// let host = Arc::new(Host { registry, monitoring: monitoring.clone() });
/// let monitor = HealthMonitor::start(host, Duration::from_millis(10));
/// std::thread::sleep(Duration::from_millis(50));
/// drop(monitor);
/// assert!(monitoring.health_report().is_some());
/// ```
#[derive(Debug)]
pub struct HealthMonitor {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HealthMonitor {
    /// Starts checking `registry` every `interval` (while health checks are switched on).
    pub fn start<R: HealthChecks>(registry: Arc<R>, interval: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("plugin-health".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    if registry.health_checks_enabled()
                        && let Err(error) = registry.run_health_checks()
                    {
                        tracing::warn!(%error, "health check round failed");
                    }
                    // Sleep in short naps so that dropping the monitor stops it promptly.
                    let wake = std::time::Instant::now() + interval;
                    while !flag.load(Ordering::Acquire) {
                        let left = wake.saturating_duration_since(std::time::Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        std::thread::sleep(left.min(Duration::from_millis(20)));
                    }
                }
            })
            .ok();
        HealthMonitor { stop, thread }
    }
}

impl Drop for HealthMonitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
