//! The specification's "Capability-Based Plugin Discovery" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{ModuleRegistry, PluginCapabilityQuery, PluginConfig, PluginType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Register plugins with capabilities
    let plugins = vec![
        ("encryption-plugin", vec!["encryption", "decryption"]),
        ("compression-plugin", vec!["compression", "decompression"]),
        ("monitoring-plugin", vec!["monitoring", "logging"]),
    ];

    for (name, capabilities) in plugins {
        let mut config = PluginConfig::new()
            .with_name(name)
            .with_version("1.0.0")
            .with_type(PluginType::Security);

        for capability in capabilities {
            config = config.add_capability(capability);
        }

        registry.register_plugin(config)?;
    }

    // Discover plugins by capabilities
    let query = PluginCapabilityQuery::new()
        .with_required_capabilities(vec!["encryption"])
        .with_optional_capabilities(vec!["monitoring"]);

    let found_plugins = registry.discover_plugins_by_capabilities(query)?;
    println!(
        "Found {} plugins with encryption capability",
        found_plugins.len()
    );

    Ok(())
}
