//! `Monitoring`: the monitoring layer's switches and state, and its answers to the host.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use modreg_core::PluginError;
use modreg_host::{Event, Interest, Layer, LayerContext, ModuleRegistry, PluginMetrics};

use crate::alerts::{Alert, AlertHub};
use crate::config::{
    AdvancedPluginMonitoringConfig, PluginHealthMonitoringConfig, PluginMonitoringConfig,
    RulesChange, Switches,
};
use crate::health::{HealthCounts, HealthReport, HealthState};
use crate::metered::Plan;
use crate::recorder::MetricsRecorder;
use crate::rules::HealthRules;
use crate::window::{RecentMetrics, Windows};

/// The monitoring layer: metrics, latency, alerts and per-call logging around the calls of
/// created plugins, and health checks on demand.
///
/// Attach it to a host with [`ModuleRegistry::builder`]; it keeps its own switches and state
/// and answers the host through [`Layer`]. Each `configure_*` takes the registry it is
/// attached to, so that the registry decides again with the new switches.
///
/// ```
/// use std::sync::Arc;
/// use modreg_host::ModuleRegistry;
/// use modreg_monitoring::{Monitoring, PluginMonitoringConfig};
///
/// let monitoring = Arc::new(Monitoring::new());
/// let registry = ModuleRegistry::builder().layer(monitoring.clone()).build();
/// monitoring.configure_plugin_monitoring(&registry, &PluginMonitoringConfig::new().with_plugin_metrics(true));
/// assert!(monitoring.plugin_metrics("anything").is_none(), "nothing created yet");
/// ```
#[derive(Debug, Default)]
pub struct Monitoring {
    switches: RwLock<Switches>,
    /// Metrics of monitored plugins, by name.
    recorders: RwLock<HashMap<String, Arc<MetricsRecorder>>>,
    pub(crate) alerts: Arc<AlertHub>,
    pub(crate) health: HealthState,
    /// Rules that judge health by recent calls; `None`: off.
    pub(crate) health_rules: RwLock<Option<HealthRules>>,
    /// Snapshots for recent metrics.
    windows: Windows,
}

impl Monitoring {
    /// Every switch off, no metrics.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn switches(&self) -> Switches {
        *self.switches.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the switches, then has `registry` decide again.
    fn configure(&self, registry: &ModuleRegistry, change: impl FnOnce(&mut Switches)) {
        change(
            &mut self
                .switches
                .write()
                .unwrap_or_else(PoisonError::into_inner),
        );
        registry.layers_changed();
    }

    /// Applies the basic monitoring switches.
    pub fn configure_plugin_monitoring(
        &self,
        registry: &ModuleRegistry,
        config: &PluginMonitoringConfig,
    ) {
        self.configure(registry, |switches| config.apply(switches));
    }

    /// Applies every monitoring switch, and the alert rules if given. Access metrics
    /// (`with_security_metrics`) are the security layer's: the caller hands them on
    /// ([`AdvancedPluginMonitoringConfig::security_metrics`]).
    pub fn configure_advanced_plugin_monitoring(
        &self,
        registry: &ModuleRegistry,
        config: &AdvancedPluginMonitoringConfig,
    ) -> Result<(), PluginError> {
        config.validate()?;
        self.configure(registry, |switches| config.apply(switches));
        if let Some(rules) = config.rules() {
            self.alerts.set_rules(rules.clone());
        }
        Ok(())
    }

    /// Applies the health-monitoring switches, and the health rules if given.
    pub fn configure_plugin_health_monitoring(
        &self,
        registry: &ModuleRegistry,
        config: &PluginHealthMonitoringConfig,
    ) -> Result<(), PluginError> {
        config.validate()?;
        if let Some(change) = config.rules() {
            let mut rules = self
                .health_rules
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            match change {
                RulesChange::On(new) => rules.clone_from(&Some(new.clone())),
                RulesChange::Off => *rules = None,
            }
        }
        self.configure(registry, |switches| config.apply(switches));
        Ok(())
    }

    /// The health rules in force, if any.
    pub fn health_rules(&self) -> Option<HealthRules> {
        self.health_rules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What plugin `name` did over the last `window` (at most [`MAX_WINDOW`](crate::MAX_WINDOW)),
    /// if it records metrics. Windows are cut from snapshots kept every few seconds while
    /// someone asks (health rounds, a dashboard), so the period may run a few seconds over.
    pub fn recent_metrics(&self, name: &str, window: Duration) -> Option<RecentMetrics> {
        let now = self.plugin_metrics(name)?;
        Some(self.windows.recent(name, now, window))
    }

    /// Sets whether created plugins record metrics (`with_plugin_monitoring` of the system
    /// configurations); `None` keeps it.
    pub fn set_plugin_metrics(&self, registry: &ModuleRegistry, enabled: Option<bool>) {
        if let Some(enabled) = enabled {
            self.configure(registry, |switches| switches.metrics = enabled);
        }
    }

    /// Sets whether monitored plugins record latency (`with_plugin_performance`); `None` keeps
    /// it.
    pub fn set_performance_metrics(&self, registry: &ModuleRegistry, enabled: Option<bool>) {
        if let Some(enabled) = enabled {
            self.configure(registry, |switches| switches.performance = enabled);
        }
    }

    /// Whether created plugins record metrics.
    pub fn metrics_enabled(&self) -> bool {
        self.switches().metrics
    }

    /// Whether health checks run.
    pub fn health_checks_enabled(&self) -> bool {
        self.switches().health_checks
    }

    /// The shared recorder of plugin `name`, made on first use.
    pub fn recorder(&self, name: &str) -> Arc<MetricsRecorder> {
        if let Some(recorder) = self
            .recorders
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return recorder.clone();
        }
        self.recorders
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    /// Drops what is kept about plugin `name`: its recorder, its alert windows and its health
    /// counts.
    fn forget(&self, name: &str) {
        self.recorders
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
        self.alerts.forget(name);
        self.windows.forget(name);
        self.health.forget(name);
    }

    /// The metrics recorded for plugin `name` by monitored instances, if any were made.
    pub fn plugin_metrics(&self, name: &str) -> Option<PluginMetrics> {
        self.recorders
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .map(|r| r.snapshot())
    }

    /// Every plugin's metrics, by name.
    pub fn all_metrics(&self) -> BTreeMap<String, PluginMetrics> {
        self.recorders
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, recorder)| (name.clone(), recorder.snapshot()))
            .collect()
    }

    /// A channel that receives every alert fired from now on while real-time alerting is on.
    pub fn subscribe_alerts(&self) -> Receiver<Alert> {
        self.alerts.subscribe()
    }

    /// The alerts fired while real-time alerting was off, oldest first; they are removed.
    pub fn take_alerts(&self) -> Vec<Alert> {
        self.alerts.take_pending()
    }

    /// The latest health report, if checks have run.
    pub fn health_report(&self) -> Option<HealthReport> {
        self.health.latest()
    }

    /// The reports kept for a dashboard (the last [`HEALTH_HISTORY`](crate::HEALTH_HISTORY),
    /// oldest first).
    pub fn health_history(&self) -> Vec<HealthReport> {
        self.health.history()
    }

    /// Health-check counts per plugin.
    pub fn health_metrics(&self) -> BTreeMap<String, HealthCounts> {
        self.health.counts()
    }
}

impl Layer for Monitoring {
    /// Monitoring refuses nothing.
    fn checks(&self, _: &LayerContext<'_>) -> bool {
        false
    }

    fn interest(&self, cx: &LayerContext<'_>, name: &str, monitored: bool) -> Interest {
        let switches = self.switches();
        let metrics = switches.metrics || monitored;
        let plan = Plan {
            recorder: metrics.then(|| self.recorder(name)),
            latency: monitored || (switches.metrics && switches.performance),
            verbose: cx.verbose_logging() || switches.plugin_logging,
            structured: switches.structured_logging,
            alerts: switches
                .alerting
                .then(|| (self.alerts.clone(), switches.real_time_alerting)),
            catch_panics: metrics || switches.alerting,
        };
        if !plan.is_active() {
            return Interest::none();
        }
        if plan.latency || plan.alerts.is_some() || plan.structured {
            crate::clock::warm_up();
        }
        let recorder = plan.recorder.clone();
        let interest = Interest::none().with_wrap(Arc::new(plan));
        match recorder {
            Some(recorder) => interest.with_metrics(recorder),
            None => interest,
        }
    }

    /// Denials and refused modules feed the alert rules while alerting is on.
    fn on_event(&self, event: &Event<'_>) {
        if let Event::Unregistered { plugin } = *event {
            // Forgotten with the plugin: registering and unregistering names without end
            // must not grow this layer's memory.
            self.forget(plugin);
            return;
        }
        let switches = self.switches();
        if let Event::HostFunctionCalled {
            plugin,
            function,
            elapsed,
            ok,
        } = *event
        {
            if switches.metrics {
                self.recorder(plugin)
                    .record_host_call(function, elapsed, ok);
            }
            return;
        }
        if !switches.alerting {
            return;
        }
        match *event {
            Event::AccessDecided { allowed: false, .. } => {
                self.alerts.observe_denial(switches.real_time_alerting);
            }
            Event::ModuleRefused { module, reason } => {
                self.alerts
                    .module_refused(module, reason, switches.real_time_alerting);
            }
            _ => {}
        }
    }
}
