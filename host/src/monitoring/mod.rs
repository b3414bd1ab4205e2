//! Plugin monitoring: the three configurations of the specification and what they switch.
//!
//! Metrics are recorded by the guarded wrapper every created plugin gets while monitoring is
//! on (`guarded.rs`, lock-free counters and histogram in `metrics.rs`); alerts are evaluated
//! as calls are recorded ([`alerts`]); health is checked on demand or by a [`HealthMonitor`]
//! thread ([`health`]). `docs/monitoring.md` has one row per switch.

pub(crate) mod alerts;
mod health;
#[cfg(feature = "prometheus")]
mod prometheus;

pub(crate) use self::alerts::AlertHub;
pub use self::alerts::{Alert, AlertKind, AlertRules};
pub use self::health::{HEALTH_HISTORY, HealthCounts, HealthMonitor, HealthReport};

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use crate::configuration::{flag_builders, set};
use crate::layer::{CallObserver, Layer, Policy};
use crate::overlay::Overlay;
use crate::registry::ModuleRegistry;
use modreg_core::PluginError;

/// The basic monitoring switches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginMonitoringConfig {
    metrics: Option<bool>,
    logging: Option<bool>,
    alerting: Option<bool>,
}

flag_builders!(PluginMonitoringConfig {
    /// Created plugins record calls, errors, panics and bytes.
    with_plugin_metrics => metrics,
    /// Every `process` call emits an INFO event with the plugin's name, version and type.
    with_plugin_logging => logging,
    /// Alert rules are evaluated as calls are recorded.
    with_plugin_alerting => alerting,
});

impl PluginMonitoringConfig {
    /// Changes no switch.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Every monitoring switch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdvancedPluginMonitoringConfig {
    metrics: Option<bool>,
    performance: Option<bool>,
    security: Option<bool>,
    health: Option<bool>,
    logging: Option<bool>,
    structured: Option<bool>,
    alerting: Option<bool>,
    real_time: Option<bool>,
    rules: Option<AlertRules>,
}

flag_builders!(AdvancedPluginMonitoringConfig {
    /// Created plugins record calls, errors, panics and bytes.
    with_plugin_metrics => metrics,
    /// Created plugins also record the latency of each call.
    with_performance_metrics => performance,
    /// Access decisions (denials, signature failures) are counted.
    with_security_metrics => security,
    /// Health checks are counted per plugin.
    with_health_metrics => health,
    /// Every `process` call emits an INFO event.
    with_plugin_logging => logging,
    /// Per-call events carry every figure as a field (bytes, latency, outcome), not only a message.
    with_structured_logging => structured,
    /// Alert rules are evaluated as calls are recorded.
    with_plugin_alerting => alerting,
    /// Alerts go to subscribers the moment they fire, instead of waiting to be polled.
    with_real_time_alerting => real_time,
});

impl AdvancedPluginMonitoringConfig {
    /// Changes no switch.
    pub fn new() -> Self {
        Self::default()
    }

    /// The alert rules.
    pub fn with_alert_rules(mut self, rules: AlertRules) -> Self {
        self.rules = Some(rules);
        self
    }
}

/// The health-monitoring switches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginHealthMonitoringConfig {
    checks: Option<bool>,
    metrics: Option<bool>,
    alerts: Option<bool>,
    dashboard: Option<bool>,
}

flag_builders!(PluginHealthMonitoringConfig {
    /// Health checks run (`run_health_checks`, `HealthMonitor`).
    with_plugin_health_checks => checks,
    /// Health checks are counted per plugin.
    with_plugin_health_metrics => metrics,
    /// A plugin turning unhealthy fires an alert.
    with_plugin_health_alerts => alerts,
    /// Reports are kept for a dashboard (`health_history`).
    with_plugin_health_dashboard => dashboard,
});

impl PluginHealthMonitoringConfig {
    /// Changes no switch.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Feeds every call of an instance to the alert rules.
#[derive(Debug)]
struct AlertObserver {
    hub: Arc<AlertHub>,
    real_time: bool,
}

impl CallObserver for AlertObserver {
    fn observe(&self, plugin: &str, ok: bool, panicked: bool, latency: Duration) {
        self.hub
            .observe_call(plugin, ok, panicked, latency, self.real_time);
    }
}

/// Monitoring as a layer of the creation path: metrics, latency, alerts and per-call logging
/// around calls.
pub(crate) struct MonitoringLayer;

impl Layer for MonitoringLayer {
    fn interest(
        &self,
        registry: &ModuleRegistry,
        overlay: &Overlay,
        name: &str,
        monitored: bool,
        policy: &mut Policy,
    ) {
        let flags = &overlay.flags;
        let metrics = flags.monitoring || monitored;
        if metrics {
            policy.recorder = Some(registry.recorder(name));
            policy.catch_panics = true;
        }
        policy.latency = monitored || (flags.monitoring && flags.performance);
        if policy.latency || flags.alerting || flags.structured_logging {
            crate::clock::warm_up();
        }
        policy.verbose = flags.verbose_logging || flags.plugin_logging;
        policy.structured = flags.structured_logging;
        if flags.alerting {
            policy.alerts = Some(Arc::new(AlertObserver {
                hub: registry.extensions.get::<AlertHub>(),
                real_time: flags.real_time_alerting,
            }));
            policy.catch_panics = true;
        }
    }
}

impl ModuleRegistry {
    /// A channel that receives every alert fired from now on while real-time alerting is on.
    pub fn subscribe_alerts(&self) -> Receiver<Alert> {
        self.extensions.get::<AlertHub>().subscribe()
    }

    /// The alerts fired while real-time alerting was off, oldest first; they are removed.
    pub fn take_alerts(&self) -> Vec<Alert> {
        self.extensions.get::<AlertHub>().take_pending()
    }
}

impl PluginMonitoringConfig {
    /// What [`ModuleRegistry::configure_plugin_monitoring`] does.
    pub(crate) fn apply_to(self, registry: &ModuleRegistry) -> Result<(), PluginError> {
        registry.update(|overlay| {
            let flags = &mut overlay.base_flags;
            set(&mut flags.monitoring, self.metrics);
            set(&mut flags.plugin_logging, self.logging);
            set(&mut flags.alerting, self.alerting);
            Ok(())
        })
    }
}

impl AdvancedPluginMonitoringConfig {
    /// What [`ModuleRegistry::configure_advanced_plugin_monitoring`] does.
    pub(crate) fn apply_to(self, registry: &ModuleRegistry) -> Result<(), PluginError> {
        if let Some(rules) = &self.rules {
            if !(0.0..=1.0).contains(&rules.max_error_rate) {
                return Err(PluginError::invalid(
                    "alert rule",
                    rules.max_error_rate.to_string(),
                    "max_error_rate must be within 0.0..=1.0",
                ));
            }
            if rules.window == 0 || rules.max_denials == 0 {
                return Err(PluginError::invalid(
                    "alert rule",
                    "0",
                    "window and max_denials must be at least 1",
                ));
            }
        }
        registry.update(|overlay| {
            let flags = &mut overlay.base_flags;
            set(&mut flags.monitoring, self.metrics);
            set(&mut flags.performance, self.performance);
            set(&mut flags.access_monitoring, self.security);
            set(&mut flags.health_metrics, self.health);
            set(&mut flags.plugin_logging, self.logging);
            set(&mut flags.structured_logging, self.structured);
            set(&mut flags.alerting, self.alerting);
            set(&mut flags.real_time_alerting, self.real_time);
            Ok(())
        })?;
        if let Some(rules) = self.rules {
            registry.extensions.get::<AlertHub>().set_rules(rules);
        }
        Ok(())
    }
}

impl PluginHealthMonitoringConfig {
    /// What [`ModuleRegistry::configure_plugin_health_monitoring`] does.
    pub(crate) fn apply_to(self, registry: &ModuleRegistry) -> Result<(), PluginError> {
        registry.update(|overlay| {
            let flags = &mut overlay.base_flags;
            set(&mut flags.health_checks, self.checks);
            set(&mut flags.health_metrics, self.metrics);
            set(&mut flags.health_alerts, self.alerts);
            set(&mut flags.health_dashboard, self.dashboard);
            Ok(())
        })
    }
}
