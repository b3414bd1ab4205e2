//! The specification's "Advanced Plugin Instantiation" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{
    AdvancedPluginInstantiationConfig, ModuleRegistry, PluginConfig, PluginConfiguration,
    PluginContext, PluginType,
};

// Added: compiles in the plugin and factory this example names (examples/support).
mod support;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Register a plugin
    let plugin_config = PluginConfig::new()
        .with_name("data-processor-plugin")
        .with_version("1.0.0")
        .with_type(PluginType::DataProcessor);

    registry.register_plugin(plugin_config)?;

    // Create a plugin instance with advanced configuration
    let config = AdvancedPluginInstantiationConfig::new()
        .with_initialization(true)
        .with_validation(true)
        .with_monitoring(true)
        .with_context(PluginContext::new())
        .with_configuration(PluginConfiguration::new());

    let instance = registry.create_advanced_plugin("data-processor-plugin", config)?;

    // Use the plugin
    let data = b"input data";
    let result = instance.process(data)?;

    println!("Processed data: {:?}", result);

    Ok(())
}
