//! The specification's "Advanced Plugin Registration" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{AdvancedPluginConfig, ModuleRegistry, PluginType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Register an advanced plugin
    let plugin_config = AdvancedPluginConfig::new()
        .with_name("advanced-data-processor-plugin")
        .with_version("1.0.0")
        .with_type(PluginType::DataProcessor)
        .add_capability("processing")
        .add_capability("analysis")
        .add_dependency("base-plugin")
        .with_metadata("author", "John Doe")
        .with_metadata("license", "MIT")
        .with_metadata("description", "Advanced data processor plugin");

    registry.register_advanced_plugin(plugin_config)?;

    println!("Advanced plugin registered successfully");

    Ok(())
}
