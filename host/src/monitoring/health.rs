//! Health: what plugins report about themselves, checked on demand or periodically.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::monitoring::alerts::AlertHub;
use crate::registry::ModuleRegistry;
use modreg_core::HealthStatus;
use modreg_core::PluginError;

/// The result of one round of health checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    /// The worst status of any plugin.
    pub overall: HealthStatus,
    /// Each plugin's status, by name.
    pub plugins: BTreeMap<String, HealthStatus>,
    /// Milliseconds since the Unix epoch when the round ran.
    pub checked_at_ms: u64,
}

/// Counts of health checks per plugin (kept while health metrics are on).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
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
    latest: Mutex<Option<HealthReport>>,
    history: Mutex<Vec<HealthReport>>,
    counts: Mutex<BTreeMap<String, HealthCounts>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ModuleRegistry {
    /// Runs one round of health checks: creates each plugin that has an implementation (in
    /// the panic guard) and asks it [`Plugin::health`](crate::Plugin::health). A plugin that
    /// cannot be created is unhealthy, with the error as reason.
    ///
    /// Fails with [`PluginError::Disabled`] while health checks are off.
    pub fn run_health_checks(&self) -> Result<HealthReport, PluginError> {
        let flags = self.flags();
        if !flags.health_checks {
            return Err(PluginError::Disabled {
                plugin: "*".to_owned(),
                what: "plugin health checking",
            });
        }
        let previous = lock(&self.extensions.get::<HealthState>().latest).clone();
        let mut plugins = BTreeMap::new();
        for info in self.plugins() {
            let name = info.name().to_owned();
            let status = modreg_core::sandbox::guard(&name, "health", || {
                self.create_plugin(&name).map(|plugin| plugin.health())
            })
            .unwrap_or_else(|error| match error {
                // Settings it needs are absent or wrong: the plugin waits for its
                // configuration; nothing has failed.
                PluginError::Configuration { .. } => {
                    HealthStatus::Degraded(format!("not configured: {error}"))
                }
                error => HealthStatus::Unhealthy(error.to_string()),
            });
            plugins.insert(name, status);
        }
        let overall = plugins
            .values()
            .max_by_key(|s| s.rank())
            .cloned()
            .unwrap_or(HealthStatus::Healthy);
        let checked_at_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let report = HealthReport {
            overall,
            plugins,
            checked_at_ms,
        };
        if flags.health_metrics {
            let state = self.extensions.get::<HealthState>();
            let mut counts = lock(&state.counts);
            for (name, status) in &report.plugins {
                let count = counts.entry(name.clone()).or_default();
                count.checks += 1;
                match status {
                    HealthStatus::Healthy => {}
                    HealthStatus::Degraded(_) => count.degraded += 1,
                    HealthStatus::Unhealthy(_) => count.unhealthy += 1,
                }
            }
        }
        if flags.health_alerts {
            for (name, status) in &report.plugins {
                let was_unhealthy = previous
                    .as_ref()
                    .and_then(|p| p.plugins.get(name))
                    .is_some_and(|s| matches!(s, HealthStatus::Unhealthy(_)));
                if let HealthStatus::Unhealthy(reason) = status
                    && !was_unhealthy
                {
                    self.extensions.get::<AlertHub>().unhealthy(
                        name,
                        reason,
                        flags.real_time_alerting,
                    );
                }
            }
        }
        if flags.health_dashboard {
            let state = self.extensions.get::<HealthState>();
            let mut history = lock(&state.history);
            if history.len() == HEALTH_HISTORY {
                history.remove(0);
            }
            history.push(report.clone());
        }
        *lock(&self.extensions.get::<HealthState>().latest) = Some(report.clone());
        Ok(report)
    }

    /// The latest health report, if checks have run.
    pub fn health_report(&self) -> Option<HealthReport> {
        lock(&self.extensions.get::<HealthState>().latest).clone()
    }

    /// The reports kept for a dashboard (the last [`HEALTH_HISTORY`], oldest first).
    pub fn health_history(&self) -> Vec<HealthReport> {
        lock(&self.extensions.get::<HealthState>().history).clone()
    }

    /// Health-check counts per plugin.
    pub fn health_metrics(&self) -> BTreeMap<String, HealthCounts> {
        lock(&self.extensions.get::<HealthState>().counts).clone()
    }
}

/// A background thread running health checks at an interval; stopped when dropped.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use modreg_host::{HealthMonitor, ModuleRegistry, PluginHealthMonitoringConfig};
///
/// let registry = Arc::new(ModuleRegistry::new());
/// registry.configure_plugin_health_monitoring(PluginHealthMonitoringConfig::new().with_plugin_health_checks(true))?;
/// let monitor = HealthMonitor::start(registry.clone(), Duration::from_millis(10));
/// std::thread::sleep(Duration::from_millis(50));
/// drop(monitor);
/// assert!(registry.health_report().is_some());
/// # Ok::<(), modreg_core::PluginError>(())
/// ```
#[derive(Debug)]
pub struct HealthMonitor {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HealthMonitor {
    /// Starts checking `registry` every `interval` (while health checks are switched on).
    pub fn start(registry: Arc<ModuleRegistry>, interval: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("plugin-health".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    if registry.flags().health_checks
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
