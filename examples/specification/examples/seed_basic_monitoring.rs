//! The specification's "Basic Plugin Monitoring" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{ModuleRegistry, PluginMonitoringConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Configure plugin monitoring
    let monitoring_config = PluginMonitoringConfig::new()
        .with_plugin_metrics(true)
        .with_plugin_logging(true)
        .with_plugin_alerting(true);

    registry.configure_plugin_monitoring(monitoring_config)?;

    println!("Plugin monitoring configured");

    Ok(())
}
