//! The specification's "Basic Plugin Security" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{ModuleRegistry, PluginSecurityConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Configure plugin security
    let security_config = PluginSecurityConfig::new()
        .with_secure_plugin_loading(true)
        .with_plugin_validation(true)
        .with_plugin_sandboxing(true)
        .with_plugin_permissions(true);

    registry.configure_plugin_security(security_config)?;

    println!("Plugin security configured");

    Ok(())
}
