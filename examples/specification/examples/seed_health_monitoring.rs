//! The specification's "Plugin Health Monitoring" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{ModuleRegistry, PluginHealthMonitoringConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Configure plugin health monitoring
    let health_config = PluginHealthMonitoringConfig::new()
        .with_plugin_health_checks(true)
        .with_plugin_health_metrics(true)
        .with_plugin_health_alerts(true)
        .with_plugin_health_dashboard(true);

    registry.configure_plugin_health_monitoring(health_config)?;

    println!("Plugin health monitoring configured");

    Ok(())
}
