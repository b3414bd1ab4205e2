//! The specification's "Advanced Plugin Monitoring" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{AdvancedPluginMonitoringConfig, ModuleRegistry};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Configure advanced plugin monitoring
    let monitoring_config = AdvancedPluginMonitoringConfig::new()
        .with_plugin_metrics(true)
        .with_performance_metrics(true)
        .with_security_metrics(true)
        .with_health_metrics(true)
        .with_plugin_logging(true)
        .with_structured_logging(true)
        .with_plugin_alerting(true)
        .with_real_time_alerting(true);

    registry.configure_advanced_plugin_monitoring(monitoring_config)?;

    println!("Advanced plugin monitoring configured");

    Ok(())
}
