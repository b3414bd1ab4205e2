//! The specification's "Basic Plugin Discovery" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{ModuleRegistry, PluginConfig, PluginDiscoveryQuery, PluginType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Register plugins
    let plugins = vec![
        ("data-processor-plugin", PluginType::DataProcessor),
        ("data-analyzer-plugin", PluginType::Analyzer),
        ("data-storage-plugin", PluginType::Storage),
    ];

    for (name, plugin_type) in plugins {
        let config = PluginConfig::new()
            .with_name(name)
            .with_version("1.0.0")
            .with_type(plugin_type);

        registry.register_plugin(config)?;
    }

    // Discover plugins by type
    let query = PluginDiscoveryQuery::new().with_type_filter(PluginType::DataProcessor);

    let found_plugins = registry.discover_plugins(query)?;
    println!("Found {} data processor plugins", found_plugins.len());

    Ok(())
}
