//! The specification's "Basic Plugin Instantiation" example, run as written except for what
//! `docs/seed-deviations.md` lists.

// Added: the attribute. The specification imports `PluginInstantiationConfig` and never uses it.
#[expect(
    unused_imports,
    reason = "the specification imports it without using it"
)]
use module_registry::{ModuleRegistry, PluginConfig, PluginInstantiationConfig, PluginType};

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

    // Create a plugin instance
    let instance = registry.create_plugin("data-processor-plugin")?;

    // Use the plugin
    let data = b"input data";
    let result = instance.process(data)?;

    println!("Processed data: {:?}", result);

    Ok(())
}
