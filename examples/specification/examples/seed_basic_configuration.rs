//! The specification's "Basic Plugin Configuration" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{ModuleRegistry, PluginConfiguration};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Configure plugin system
    let config = PluginConfiguration::new()
        .with_plugin_loading(true)
        .with_plugin_validation(true)
        .with_plugin_monitoring(true);

    registry.configure_plugin_system(config)?;

    println!("Plugin system configured");

    Ok(())
}
