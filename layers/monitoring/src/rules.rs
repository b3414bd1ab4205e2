//! Health from behaviour: rules on a plugin's recent error ratio and latency, applied in each
//! round of health checks on top of what the plugin says of itself.
//!
//! A plugin that answers "healthy" while most of its calls fail is not healthy: with rules
//! set ([`PluginHealthMonitoringConfig::with_health_rules`](crate::PluginHealthMonitoringConfig::with_health_rules)),
//! an error ratio over the limit makes it unhealthy and a p99 latency over the limit
//! degraded, for as long as the window shows it.

use std::time::Duration;

use modreg_core::{HealthStatus, PluginError};

use crate::window::{MAX_WINDOW, RecentMetrics};

/// Rules that judge a plugin's health by how its calls went over a recent window.
///
/// ```
/// use std::time::Duration;
/// use modreg_monitoring::HealthRules;
/// let rules = HealthRules::new().with_max_p99_latency(Duration::from_millis(250));
/// assert_eq!(rules.max_error_ratio, Some(0.5));
/// assert_eq!(rules.window, Duration::from_secs(60));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct HealthRules {
    /// How far back the rules look (at most 2 minutes).
    pub window: Duration,
    /// Fewer calls than this in the window are too few to judge by.
    pub min_calls: u64,
    /// A fraction of failed calls above this (0.0 to 1.0) makes the plugin unhealthy.
    pub max_error_ratio: Option<f64>,
    /// A p99 latency above this makes the plugin degraded (with performance metrics on).
    pub max_p99_latency: Option<Duration>,
}

impl Default for HealthRules {
    fn default() -> Self {
        HealthRules {
            window: Duration::from_secs(60),
            min_calls: 10,
            max_error_ratio: Some(0.5),
            max_p99_latency: None,
        }
    }
}

impl HealthRules {
    /// Over the last minute, with at least 10 calls: more than half failing is unhealthy; no
    /// latency rule.
    pub fn new() -> Self {
        Self::default()
    }

    /// Looks back this far (at most 2 minutes).
    #[must_use]
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Judges only with at least `calls` calls in the window.
    #[must_use]
    pub fn with_min_calls(mut self, calls: u64) -> Self {
        self.min_calls = calls;
        self
    }

    /// Unhealthy above this fraction of failed calls; `None`: no error-ratio rule.
    #[must_use]
    pub fn with_max_error_ratio(mut self, ratio: Option<f64>) -> Self {
        self.max_error_ratio = ratio;
        self
    }

    /// Degraded above this p99 latency.
    #[must_use]
    pub fn with_max_p99_latency(mut self, latency: Duration) -> Self {
        self.max_p99_latency = Some(latency);
        self
    }

    /// Refuses a window of zero or over 2 minutes, no minimum of calls, and a ratio outside
    /// 0.0 to 1.0.
    pub(crate) fn validate(&self) -> Result<(), PluginError> {
        if self.window.is_zero() || self.window > MAX_WINDOW {
            return Err(PluginError::invalid(
                "health rule",
                format!("{:?}", self.window),
                "the window must be more than zero and at most 2 minutes",
            ));
        }
        if self.min_calls == 0 {
            return Err(PluginError::invalid(
                "health rule",
                "0",
                "min_calls must be at least 1",
            ));
        }
        if let Some(ratio) = self.max_error_ratio
            && !(0.0..=1.0).contains(&ratio)
        {
            return Err(PluginError::invalid(
                "health rule",
                ratio.to_string(),
                "max_error_ratio must be within 0.0..=1.0",
            ));
        }
        Ok(())
    }

    /// What the rules say of a plugin that did `recent`; `None` when they find nothing
    /// wrong or there are too few calls to judge.
    pub(crate) fn judge(&self, recent: &RecentMetrics) -> Option<HealthStatus> {
        let metrics = &recent.metrics;
        if metrics.calls < self.min_calls {
            return None;
        }
        let over = if recent.period.is_zero() {
            "since it was first called".to_owned()
        } else {
            format!("in the last {} s", recent.period.as_secs().max(1))
        };
        if let (Some(limit), Some(ratio)) = (self.max_error_ratio, metrics.error_ratio())
            && ratio > limit
        {
            return Some(HealthStatus::Unhealthy(format!(
                "failed {} of its {} calls {over} ({:.0}%; more than {:.0}% is unhealthy)",
                metrics.errors,
                metrics.calls,
                ratio * 100.0,
                limit * 100.0
            )));
        }
        if let (Some(limit), Some(p99)) = (self.max_p99_latency, metrics.latency_quantile(0.99))
            && p99 > limit
        {
            return Some(HealthStatus::Degraded(format!(
                "p99 latency {p99:?} {over}, over the {limit:?} allowed"
            )));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use modreg_host::PluginMetrics;

    fn recent(calls: u64, errors: u64, latency: Option<Duration>) -> RecentMetrics {
        let mut metrics = PluginMetrics::new();
        metrics.calls = calls;
        metrics.errors = errors;
        if let Some(latency) = latency {
            metrics.latency_buckets = vec![0; modreg_host::LATENCY_BUCKETS];
            let nanos = u64::try_from(latency.as_nanos()).unwrap();
            metrics.latency_buckets[modreg_host::latency_bucket(nanos)] = calls;
        }
        RecentMetrics {
            metrics,
            period: Duration::from_secs(60),
        }
    }

    #[test]
    fn most_calls_failing_is_unhealthy_and_slow_calls_degraded() {
        let rules = HealthRules::new().with_max_p99_latency(Duration::from_millis(10));
        let status = rules.judge(&recent(32, 31, None)).unwrap();
        assert!(
            matches!(&status, HealthStatus::Unhealthy(why) if why.contains("failed 31 of its 32 calls in the last 60 s")),
            "{status:?}"
        );
        assert_eq!(
            rules.judge(&recent(32, 16, None)),
            None,
            "half is not more than half"
        );
        assert_eq!(rules.judge(&recent(9, 9, None)), None, "too few to judge");
        let slow = rules
            .judge(&recent(20, 0, Some(Duration::from_millis(50))))
            .unwrap();
        assert!(matches!(slow, HealthStatus::Degraded(_)), "{slow:?}");
        assert_eq!(
            rules.judge(&recent(20, 0, Some(Duration::from_millis(5)))),
            None
        );
    }

    #[test]
    fn bad_rules_are_refused() {
        for rules in [
            HealthRules::new().with_window(Duration::ZERO),
            HealthRules::new().with_window(Duration::from_secs(121)),
            HealthRules::new().with_min_calls(0),
            HealthRules::new().with_max_error_ratio(Some(1.5)),
        ] {
            assert!(rules.validate().is_err(), "{rules:?}");
        }
        assert!(HealthRules::new().validate().is_ok());
    }
}
