//! The specification's "Advanced Plugin Security" example, run as written except for what
//! `docs/seed-deviations.md` lists.

use module_registry::{AdvancedPluginSecurityConfig, ModuleRegistry};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = ModuleRegistry::new();

    // Configure advanced plugin security
    let security_config = AdvancedPluginSecurityConfig::new()
        .with_secure_plugin_loading(true)
        .with_plugin_validation(true)
        .with_plugin_sandboxing(true)
        .with_plugin_permissions(true)
        .with_plugin_encryption(true)
        .with_plugin_authentication(true)
        .with_plugin_authorization(true);

    registry.configure_advanced_plugin_security(security_config)?;

    println!("Advanced plugin security configured");

    Ok(())
}
