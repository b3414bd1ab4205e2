//! The specification's "Plugin Access Control" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{ModuleRegistry, PluginAccessControlConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Configure plugin access control
    let access_config = PluginAccessControlConfig::new()
        .with_role_based_access(true)
        .with_permission_validation(true)
        .with_access_logging(true)
        .with_access_monitoring(true);

    registry.configure_plugin_access_control(access_config)?;

    println!("Plugin access control configured");

    Ok(())
}
