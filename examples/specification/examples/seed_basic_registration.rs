//! The specification's "Basic Plugin Registration" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{ModuleRegistry, PluginConfig, PluginType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Register a basic plugin
    let plugin_config = PluginConfig::new()
        .with_name("data-processor-plugin")
        .with_version("1.0.0")
        .with_type(PluginType::DataProcessor)
        .add_capability("processing");

    registry.register_plugin(plugin_config)?;

    println!("Plugin registered successfully");

    Ok(())
}
