//! Each monitoring switch changes what the registry records, logs and reports.

mod common;

use common::logs;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use modreg::{
    AdvancedPluginMonitoringConfig, AlertKind, AlertRules, HealthMonitor, HealthRules,
    HealthStatus, ModuleRegistry, Operation, PluginAccessControlConfig, PluginBehavior,
    PluginError, PluginErrorKind, PluginHealthMonitoringConfig, PluginMonitoringConfig, Principal,
    plugin,
};

#[plugin(type = Analyzer, version = "1.0.0")]
#[derive(Default)]
struct Flaky;

impl PluginBehavior for Flaky {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        match data {
            b"panic" => panic!("asked to"),
            b"fail" => Err(PluginError::processing("flaky", "asked to")),
            // An error text that tries to forge a log line and colour the terminal.
            _ if data.starts_with(b"forge:") => Err(PluginError::processing(
                "flaky",
                String::from_utf8_lossy(&data[6..]),
            )),
            _ => Ok(data.to_vec()),
        }
    }
}

static SICK_CHECKS: AtomicUsize = AtomicUsize::new(0);

#[plugin(type = Storage, version = "1.0.0")]
#[derive(Default)]
struct Sick;

impl PluginBehavior for Sick {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }

    fn health(&self) -> HealthStatus {
        SICK_CHECKS.fetch_add(1, Ordering::Relaxed);
        HealthStatus::Unhealthy("disk full".to_owned())
    }
}

#[plugin(type = Storage, version = "1.0.0")]
#[derive(Default)]
struct Tired;

impl PluginBehavior for Tired {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }

    fn health(&self) -> HealthStatus {
        HealthStatus::Degraded("slow disk".to_owned())
    }
}

fn quick_rules() -> AlertRules {
    AlertRules::new()
        .with_window(4)
        .with_max_error_rate(0.5)
        .with_max_denials(3, Duration::from_secs(60))
        .with_cooldown(Duration::from_secs(60))
}

fn alerting(real_time: bool) -> ModuleRegistry {
    let registry = ModuleRegistry::new();
    registry
        .configure_advanced_plugin_monitoring(
            AdvancedPluginMonitoringConfig::new()
                .with_plugin_alerting(true)
                .with_real_time_alerting(real_time)
                .with_alert_rules(quick_rules()),
        )
        .unwrap();
    registry
}

#[test]
fn plugin_metrics_count_every_call() {
    let registry = ModuleRegistry::new();
    registry
        .configure_plugin_monitoring(PluginMonitoringConfig::new().with_plugin_metrics(true))
        .unwrap();
    let flaky = registry.create_plugin("flaky").unwrap();
    flaky.process(b"ok").unwrap();
    flaky.process(b"fail").unwrap_err();
    let metrics = registry.plugin_metrics("flaky").unwrap();
    assert_eq!((metrics.calls, metrics.errors, metrics.bytes_in), (2, 1, 6));
}

#[test]
fn metrics_are_forgotten_with_their_plugin() {
    let registry = ModuleRegistry::new();
    // Validation off: each runtime entry hands out a `Flaky`, which reports its own name.
    registry
        .configure_plugin_system(
            modreg::PluginConfiguration::new()
                .with_plugin_validation(false)
                .with_plugin_monitoring(true),
        )
        .unwrap();
    for i in 0..100 {
        let name = format!("churn-{i}");
        registry
            .register_plugin(
                modreg::PluginConfig::new()
                    .with_name(&name)
                    .with_version("1.0.0")
                    .with_type(modreg::PluginType::Analyzer)
                    .with_constructor(|_| Ok(Box::new(Flaky))),
            )
            .unwrap();
        registry
            .create_plugin(&name)
            .unwrap()
            .process(b"ok")
            .unwrap();
        assert!(registry.plugin_metrics(&name).is_some());
        registry.registrations().unregister_plugin(&name).unwrap();
        assert!(registry.plugin_metrics(&name).is_none(), "{name} kept");
    }
    // A compiled-in plugin unregistered is forgotten too.
    registry
        .create_plugin("flaky")
        .unwrap()
        .process(b"ok")
        .unwrap();
    registry.registrations().unregister_plugin("flaky").unwrap();
    assert!(registry.plugin_metrics("flaky").is_none());
    assert!(
        registry
            .monitoring()
            .all_metrics()
            .keys()
            .all(|n| !n.starts_with("churn-"))
    );
}

#[test]
fn real_time_alerts_reach_subscribers_once_per_cooldown() {
    let registry = alerting(true);
    let alerts = registry.subscribe_alerts();
    let flaky = registry.create_plugin("flaky").unwrap();
    flaky.process(b"panic").unwrap_err();
    let alert = alerts.recv_timeout(Duration::from_secs(1)).unwrap();
    assert_eq!(
        (alert.plugin.as_str(), alert.kind),
        ("flaky", AlertKind::Panic)
    );
    let again = registry.create_plugin("flaky").unwrap();
    again.process(b"panic").unwrap_err();
    assert!(
        alerts.try_recv().is_err(),
        "the cool-down keeps a second panic quiet"
    );
    assert!(
        registry.take_alerts().is_empty(),
        "real-time alerts are not queued"
    );
}

#[test]
fn error_rate_fires_over_a_full_window() {
    let registry = alerting(true);
    let alerts = registry.subscribe_alerts();
    let flaky = registry.create_plugin("flaky").unwrap();
    for input in [&b"ok"[..], b"fail", b"ok"] {
        let _ = flaky.process(input);
    }
    assert!(alerts.try_recv().is_err(), "the window is not full yet");
    flaky.process(b"fail").unwrap_err();
    let alert = alerts.recv_timeout(Duration::from_secs(1)).unwrap();
    assert_eq!(alert.kind, AlertKind::ErrorRate);
    assert!(alert.message.contains("50%"), "{}", alert.message);
}

#[test]
fn without_real_time_alerts_wait_to_be_polled() {
    let registry = alerting(false);
    let alerts = registry.subscribe_alerts();
    registry
        .create_plugin("flaky")
        .unwrap()
        .process(b"panic")
        .unwrap_err();
    assert!(alerts.try_recv().is_err());
    let pending = registry.take_alerts();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].kind, AlertKind::Panic);
    assert!(registry.take_alerts().is_empty(), "taken once");
}

#[test]
fn alerting_off_fires_nothing() {
    let registry = ModuleRegistry::new();
    let alerts = registry.subscribe_alerts();
    let _ = registry.create_plugin("flaky").unwrap().process(b"fail");
    assert!(alerts.try_recv().is_err() && registry.take_alerts().is_empty());
}

#[test]
fn a_burst_of_denials_fires_a_security_alert_and_is_counted() {
    let registry = alerting(true);
    registry
        .configure_advanced_plugin_monitoring(
            AdvancedPluginMonitoringConfig::new().with_security_metrics(true),
        )
        .unwrap();
    registry
        .configure_plugin_access_control(
            PluginAccessControlConfig::new().with_role_based_access(true),
        )
        .unwrap();
    let alerts = registry.subscribe_alerts();
    let nobody = registry.on_behalf_of(Principal::new("nobody")).unwrap();
    for _ in 0..3 {
        nobody.create_plugin("flaky").err().unwrap();
    }
    let alert = alerts.recv_timeout(Duration::from_secs(1)).unwrap();
    assert_eq!(alert.kind, AlertKind::SecurityDenials);
    assert!(
        registry
            .access_metrics()
            .denied
            .contains(&(Operation::Instantiate, 3))
    );
}

#[test]
fn performance_metrics_add_latency() {
    let registry = ModuleRegistry::new();
    registry
        .configure_advanced_plugin_monitoring(
            AdvancedPluginMonitoringConfig::new()
                .with_plugin_metrics(true)
                .with_performance_metrics(true),
        )
        .unwrap();
    registry
        .create_plugin("flaky")
        .unwrap()
        .process(b"ok")
        .unwrap();
    let metrics = registry.plugin_metrics("flaky").unwrap();
    assert!(metrics.latency_quantile(0.5).is_some());
}

#[test]
fn plugin_logging_and_structured_logging() {
    let registry = ModuleRegistry::new();
    let quiet = logs(|| {
        registry
            .create_plugin("flaky")
            .unwrap()
            .process(b"ok")
            .unwrap();
    });
    assert!(!quiet.contains("process"), "{quiet}");
    registry
        .configure_plugin_monitoring(PluginMonitoringConfig::new().with_plugin_logging(true))
        .unwrap();
    let plain = logs(|| {
        registry
            .create_plugin("flaky")
            .unwrap()
            .process(b"ok")
            .unwrap();
    });
    assert!(
        plain.contains("process 2 bytes in, 2 bytes out") && plain.contains("plugin=\"flaky\""),
        "{plain}"
    );
    assert!(!plain.contains("latency_ns"), "{plain}");
    // A plugin's error text is written escaped: it cannot start a line of its own or send a
    // terminal escape.
    let forged = logs(|| {
        registry
            .create_plugin("flaky")
            .unwrap()
            .process(b"forge:no\n2026-12-04T00:00:00Z  INFO forged: line\r\x1b[31m")
            .unwrap_err();
    });
    assert!(forged.contains("forged: line"), "{forged}");
    assert!(
        forged
            .lines()
            .all(|l| !l.starts_with("2026-12-04T00:00:00Z")),
        "{forged}"
    );
    assert!(
        !forged.contains('\u{1b}') && !forged.contains('\r'),
        "{forged:?}"
    );
    assert!(
        plain.contains("plugin{plugin=\"flaky\" version=\"1.0.0\" plugin_type=analyzer}"),
        "the span: {plain}"
    );
    registry
        .configure_advanced_plugin_monitoring(
            AdvancedPluginMonitoringConfig::new().with_structured_logging(true),
        )
        .unwrap();
    let structured = logs(|| {
        registry
            .create_plugin("flaky")
            .unwrap()
            .process(b"ok")
            .unwrap();
    });
    assert!(
        structured.contains("bytes_in=2") && structured.contains("latency_ns="),
        "{structured}"
    );
}

#[test]
fn health_checks_are_off_until_switched_on() {
    let registry = ModuleRegistry::new();
    let err = registry.run_health_checks().unwrap_err();
    assert!(
        matches!(err.kind(), PluginErrorKind::Disabled { .. }),
        "{err}"
    );
}

#[test]
fn health_reports_aggregate_and_feed_metrics_alerts_and_history() {
    let registry = alerting(true);
    registry
        .configure_plugin_health_monitoring(
            PluginHealthMonitoringConfig::new()
                .with_plugin_health_checks(true)
                .with_plugin_health_metrics(true)
                .with_plugin_health_alerts(true)
                .with_plugin_health_dashboard(true),
        )
        .unwrap();
    let alerts = registry.subscribe_alerts();
    let report = registry.run_health_checks().unwrap();
    assert_eq!(report.plugins["flaky"], HealthStatus::Healthy);
    assert_eq!(
        report.plugins["tired"],
        HealthStatus::Degraded("slow disk".into())
    );
    assert_eq!(
        report.plugins["sick"],
        HealthStatus::Unhealthy("disk full".into())
    );
    assert_eq!(report.overall.label(), "unhealthy");
    let alert = alerts.recv_timeout(Duration::from_secs(1)).unwrap();
    assert_eq!(
        (alert.plugin.as_str(), alert.kind),
        ("sick", AlertKind::Unhealthy)
    );

    registry.run_health_checks().unwrap();
    assert!(
        alerts.try_recv().is_err(),
        "still unhealthy is not a new alert"
    );
    let counts = registry.health_metrics();
    assert_eq!((counts["sick"].checks, counts["sick"].unhealthy), (2, 2));
    assert_eq!(counts["tired"].degraded, 2);
    assert_eq!(registry.health_history().len(), 2);
}

#[test]
fn health_rules_judge_a_plugin_by_its_recent_calls() {
    let registry = ModuleRegistry::new();
    registry
        .configure_advanced_plugin_monitoring(
            AdvancedPluginMonitoringConfig::new()
                .with_plugin_metrics(true)
                .with_performance_metrics(true),
        )
        .unwrap();
    let checks = PluginHealthMonitoringConfig::new().with_plugin_health_checks(true);
    registry
        .configure_plugin_health_monitoring(checks.clone())
        .unwrap();
    let flaky = registry.create_plugin("flaky").unwrap();
    flaky.process(b"ok").unwrap();
    for _ in 0..31 {
        flaky.process(b"fail").unwrap_err();
    }
    // Without rules, the plugin's own word: healthy.
    let report = registry.run_health_checks().unwrap();
    assert_eq!(report.plugins["flaky"], HealthStatus::Healthy);
    // With them, 31 failures in 32 calls: unhealthy, with the figures; the last error is kept.
    registry
        .configure_plugin_health_monitoring(checks.clone().with_health_rules(HealthRules::new()))
        .unwrap();
    let report = registry.run_health_checks().unwrap();
    match &report.plugins["flaky"] {
        HealthStatus::Unhealthy(why) => assert!(why.contains("failed 31 of its 32 calls"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(report.overall.label(), "unhealthy");
    let metrics = registry.plugin_metrics("flaky").unwrap();
    assert!(metrics.last_error.unwrap().message.contains("asked to"));
    #[cfg(feature = "prometheus")]
    assert!(
        registry
            .prometheus_text()
            .contains("modreg_plugin_health{plugin=\"flaky\",status=\"unhealthy\"} 1")
    );
    // Rules off again, and bad rules refused.
    registry
        .configure_plugin_health_monitoring(checks.clone().without_health_rules())
        .unwrap();
    assert_eq!(
        registry.run_health_checks().unwrap().plugins["flaky"],
        HealthStatus::Healthy
    );
    let bad = checks.with_health_rules(HealthRules::new().with_max_error_ratio(Some(2.0)));
    assert!(registry.configure_plugin_health_monitoring(bad).is_err());
}

#[test]
fn without_health_metrics_or_dashboard_only_the_latest_report_is_kept() {
    let registry = ModuleRegistry::new();
    registry
        .configure_plugin_health_monitoring(
            PluginHealthMonitoringConfig::new().with_plugin_health_checks(true),
        )
        .unwrap();
    registry.run_health_checks().unwrap();
    assert!(registry.health_metrics().is_empty());
    assert!(registry.health_history().is_empty());
    assert!(registry.health_report().is_some());
}

#[test]
fn the_health_monitor_checks_in_the_background() {
    let registry = Arc::new(ModuleRegistry::new());
    registry
        .configure_plugin_health_monitoring(
            PluginHealthMonitoringConfig::new().with_plugin_health_checks(true),
        )
        .unwrap();
    let before = SICK_CHECKS.load(Ordering::Relaxed);
    let monitor = HealthMonitor::start(registry.clone(), Duration::from_millis(10));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while SICK_CHECKS.load(Ordering::Relaxed) < before + 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(monitor);
    assert!(
        SICK_CHECKS.load(Ordering::Relaxed) >= before + 3,
        "several rounds ran"
    );
    assert_eq!(
        registry.health_report().unwrap().overall.label(),
        "unhealthy"
    );
}
