//! The three monitoring configurations of the specification, and the switches they set.
//! `docs/monitoring.md` has one row per switch.

use modreg_core::PluginError;
use modreg_host::flag_builders;

use crate::alerts::AlertRules;
use crate::rules::HealthRules;

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
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PluginHealthMonitoringConfig {
    checks: Option<bool>,
    metrics: Option<bool>,
    alerts: Option<bool>,
    dashboard: Option<bool>,
    rules: Option<RulesChange>,
}

/// What a health configuration does to the health rules.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RulesChange {
    /// Sets them.
    On(HealthRules),
    /// Turns them off.
    Off,
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

    /// Health checks also judge each plugin by its recent calls (error ratio, latency), by
    /// these rules. Off by default.
    #[must_use]
    pub fn with_health_rules(mut self, rules: HealthRules) -> Self {
        self.rules = Some(RulesChange::On(rules));
        self
    }

    /// Health checks go by what plugins say of themselves only.
    #[must_use]
    pub fn without_health_rules(mut self) -> Self {
        self.rules = Some(RulesChange::Off);
        self
    }

    /// What this configuration does to the rules, if anything.
    pub(crate) fn rules(&self) -> Option<&RulesChange> {
        self.rules.as_ref()
    }

    /// Checks the health rules, if any.
    pub(crate) fn validate(&self) -> Result<(), PluginError> {
        match &self.rules {
            Some(RulesChange::On(rules)) => rules.validate(),
            _ => Ok(()),
        }
    }
}

/// The monitoring layer's switches: one writer each (the configuration that names it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[expect(clippy::struct_excessive_bools, reason = "independent switches")]
pub(crate) struct Switches {
    /// Created plugins record calls, errors, panics and bytes.
    pub(crate) metrics: bool,
    /// Monitored plugins also record the latency of every call.
    pub(crate) performance: bool,
    /// Every `process` call emits an INFO event.
    pub(crate) plugin_logging: bool,
    /// Per-call events carry every figure as a field.
    pub(crate) structured_logging: bool,
    /// Alert rules are evaluated.
    pub(crate) alerting: bool,
    /// Alerts go to subscribers as they fire.
    pub(crate) real_time_alerting: bool,
    /// Health checks run.
    pub(crate) health_checks: bool,
    /// Health checks are counted.
    pub(crate) health_metrics: bool,
    /// A plugin turning unhealthy fires an alert.
    pub(crate) health_alerts: bool,
    /// Health reports are kept for a dashboard.
    pub(crate) health_dashboard: bool,
}

/// `Some(value)` sets `flag`; `None` keeps it.
fn set(flag: &mut bool, value: Option<bool>) {
    if let Some(value) = value {
        *flag = value;
    }
}

impl PluginMonitoringConfig {
    pub(crate) fn apply(&self, switches: &mut Switches) {
        set(&mut switches.metrics, self.metrics);
        set(&mut switches.plugin_logging, self.logging);
        set(&mut switches.alerting, self.alerting);
    }
}

impl AdvancedPluginMonitoringConfig {
    /// Whether access decisions are to be counted: the security layer's switch, which the
    /// facade hands on.
    pub fn security_metrics(&self) -> Option<bool> {
        self.security
    }

    /// Checks the alert rules, if any.
    pub(crate) fn validate(&self) -> Result<(), PluginError> {
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
        Ok(())
    }

    pub(crate) fn apply(&self, switches: &mut Switches) {
        set(&mut switches.metrics, self.metrics);
        set(&mut switches.performance, self.performance);
        set(&mut switches.health_metrics, self.health);
        set(&mut switches.plugin_logging, self.logging);
        set(&mut switches.structured_logging, self.structured);
        set(&mut switches.alerting, self.alerting);
        set(&mut switches.real_time_alerting, self.real_time);
    }

    /// The alert rules given, if any.
    pub(crate) fn rules(&self) -> Option<&AlertRules> {
        self.rules.as_ref()
    }
}

impl PluginHealthMonitoringConfig {
    pub(crate) fn apply(&self, switches: &mut Switches) {
        set(&mut switches.health_checks, self.checks);
        set(&mut switches.health_metrics, self.metrics);
        set(&mut switches.health_alerts, self.alerts);
        set(&mut switches.health_dashboard, self.dashboard);
    }
}
