//! The specification's "Advanced Plugin Configuration" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{AdvancedPluginConfiguration, ModuleRegistry};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Configure plugin system with advanced settings
    let config = AdvancedPluginConfiguration::new()
        .with_plugin_loading(true)
        .with_plugin_validation(true)
        .with_plugin_monitoring(true)
        .with_plugin_security(true)
        .with_plugin_performance(true)
        .with_plugin_caching(true);

    registry.configure_advanced_plugin_system(config)?;

    println!("Advanced plugin system configured");

    Ok(())
}
