//! The specification's "Semantic Plugin Discovery" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{ModuleRegistry, PluginConfig, PluginSemanticQuery, PluginType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Register plugins with metadata
    let plugins = vec![
        (
            "high-performance-processor",
            "High-performance data processor",
        ),
        ("low-latency-processor", "Low-latency data processor"),
        ("batch-processor", "Batch data processor"),
    ];

    for (name, description) in plugins {
        let config = PluginConfig::new()
            .with_name(name)
            .with_version("1.0.0")
            .with_type(PluginType::DataProcessor)
            .with_metadata("description", description);

        registry.register_plugin(config)?;
    }

    // Discover plugins semantically
    let query = PluginSemanticQuery::new()
        .with_intent("data processing")
        .with_context("high performance")
        .with_requirements(vec!["performance", "scalability"]);

    let found_plugins = registry.discover_plugins_semantically(query)?;
    println!("Found {} high-performance plugins", found_plugins.len());

    Ok(())
}
