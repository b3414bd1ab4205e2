//! The monitoring layer of module-registry's host: per-plugin metrics (lock-free per-thread
//! counters and a latency histogram), per-call logging, alert rules, health checks, and the
//! Prometheus text format (feature `prometheus`).
//!
//! [`Monitoring`] attaches to a `modreg_host::ModuleRegistry` through the host's open seam
//! ([`modreg_host::Layer`]) and sees nothing of any other layer: access denials and refused
//! modules reach it as events the host emits. The facade `modreg` attaches it and offers the
//! specification's monitoring calls on `modreg::ModuleRegistry`. `docs/monitoring.md` has one
//! row per switch.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod alerts;
mod checks;
mod clock;
mod config;
mod health;
mod metered;
mod metered_stream;
mod monitoring;
#[cfg(feature = "prometheus")]
mod prometheus;
mod recorder;
mod rules;
mod thread_slot;
mod window;

pub use crate::alerts::{Alert, AlertKind, AlertRules};
pub use crate::config::{
    AdvancedPluginMonitoringConfig, PluginHealthMonitoringConfig, PluginMonitoringConfig,
};
pub use crate::health::{HEALTH_HISTORY, HealthChecks, HealthCounts, HealthMonitor, HealthReport};
pub use crate::monitoring::Monitoring;
pub use crate::recorder::MetricsRecorder;
pub use crate::rules::HealthRules;
pub use crate::window::{MAX_WINDOW, RecentMetrics};
