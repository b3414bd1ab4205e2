//! Running the health checks: one round over every plugin of a registry, and what the
//! switches keep of it (counts, alerts, the dashboard's history).

use std::collections::BTreeMap;
use std::time::SystemTime;

use modreg_core::{HealthStatus, PluginError, PluginErrorKind};
use modreg_host::ModuleRegistry;

use crate::health::{HEALTH_HISTORY, HealthReport, lock};
use crate::monitoring::Monitoring;

impl Monitoring {
    /// Runs one round of health checks on `registry`: creates each plugin that has an
    /// implementation (in the panic guard) and asks it
    /// [`Plugin::health`](modreg_core::Plugin::health). A plugin that cannot be created is
    /// unhealthy, with the error as reason.
    ///
    /// Fails with [`PluginErrorKind::Disabled`] while health checks are off.
    pub fn run_health_checks(
        &self,
        registry: &ModuleRegistry,
    ) -> Result<HealthReport, PluginError> {
        let flags = self.switches();
        if !flags.health_checks {
            return Err(PluginError::from(PluginErrorKind::Disabled {
                plugin: "*".to_owned(),
                what: "plugin health checking",
            }));
        }
        let previous = self.health.latest();
        let rules = self.health_rules();
        let mut plugins = BTreeMap::new();
        for info in registry.plugins() {
            let name = info.name().to_owned();
            let status = modreg_core::sandbox::guard(&name, "health", || {
                registry.create_plugin(&name).map(|plugin| plugin.health())
            })
            .unwrap_or_else(|error| match error.kind() {
                // Settings it needs are absent or wrong: the plugin waits for its
                // configuration; nothing has failed.
                PluginErrorKind::Configuration { .. } => {
                    HealthStatus::Degraded(format!("not configured: {error}"))
                }
                error => HealthStatus::Unhealthy(error.to_string()),
            });
            // What the calls say, when rules are set: the worse of the two counts.
            let judged = rules.as_ref().and_then(|rules| {
                let recent = self.recent_metrics(&name, rules.window)?;
                rules.judge(&recent)
            });
            let status = match judged {
                Some(judged) if judged.rank() > status.rank() => judged,
                _ => status,
            };
            plugins.insert(name, status);
        }
        let checked_at_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let report = HealthReport::new(plugins, checked_at_ms);
        if flags.health_metrics {
            let mut counts = lock(&self.health.counts);
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
                    self.alerts
                        .unhealthy(name, reason, flags.real_time_alerting);
                }
            }
        }
        if flags.health_dashboard {
            let mut history = lock(&self.health.history);
            if history.len() == HEALTH_HISTORY {
                history.remove(0);
            }
            history.push(report.clone());
        }
        *lock(&self.health.latest) = Some(report.clone());
        Ok(report)
    }
}
