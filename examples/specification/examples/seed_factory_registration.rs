//! The specification's "Plugin Factory Registration" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{ModuleRegistry, PluginFactoryConfig, PluginType};

// Added: compiles in the plugin and factory this example names (examples/support).
mod support;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Register a plugin factory
    let factory_config = PluginFactoryConfig::new()
        .with_name("data-processor-factory")
        .with_type(PluginType::DataProcessor)
        .with_factory_method("create_processor")
        .with_factory_interface("DataProcessorFactory");

    registry.register_plugin_factory(factory_config)?;

    println!("Plugin factory registered successfully");

    Ok(())
}
