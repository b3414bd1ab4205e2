//! The specification's "Environment-Specific Plugin Configuration" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{EnvironmentPluginConfiguration, ModuleRegistry};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Configure for development environment
    let dev_config = EnvironmentPluginConfiguration::new()
        .with_environment("development")
        .with_debug_mode(true)
        .with_verbose_logging(true)
        .with_mock_plugins(true);

    // Configure for production environment
    let prod_config = EnvironmentPluginConfiguration::new()
        .with_environment("production")
        .with_debug_mode(false)
        .with_verbose_logging(false)
        .with_real_plugins(true);

    registry.configure_environment_plugin_system("development", dev_config)?;
    registry.configure_environment_plugin_system("production", prod_config)?;

    println!("Plugin system configured for multiple environments");

    Ok(())
}
