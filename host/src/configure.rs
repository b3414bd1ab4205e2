//! The specification's `configure_*` calls that the host answers, in one place. Each is thin:
//! the configuration type's own module (`configuration`) says what its switches do; security's
//! and monitoring's are their layers'.

use crate::configuration::{
    AdvancedPluginConfiguration, EnvironmentPluginConfiguration, PluginConfiguration,
};
use crate::registry::ModuleRegistry;
use modreg_core::PluginError;

impl ModuleRegistry {
    /// Sets the basic switches: plugin loading and validation. Monitoring is the monitoring
    /// layer's switch: this registry alone has none, so switching it on is refused
    /// (`modreg::ModuleRegistry` hands it to its layer).
    ///
    /// ```
    /// use modreg_core::{PluginError, PluginErrorKind};
    /// use modreg_host::{ModuleRegistry, PluginConfiguration};
    ///
    /// let registry = ModuleRegistry::new();
    /// registry.configure_plugin_system(PluginConfiguration::new().with_plugin_loading(false))?;
    /// assert!(matches!(registry.create_plugin("anything").map_err(PluginError::into_kind), Err(PluginErrorKind::Disabled { .. })));
    /// # Ok::<(), PluginError>(())
    /// ```
    pub fn configure_plugin_system(&self, config: PluginConfiguration) -> Result<(), PluginError> {
        config.apply_to(self)
    }

    /// Sets every switch the advanced configuration names.
    pub fn configure_advanced_plugin_system(
        &self,
        config: AdvancedPluginConfiguration,
    ) -> Result<(), PluginError> {
        config.apply_to(self)
    }

    /// Stores the profile of `environment`; it applies while that environment is active.
    pub fn configure_environment_plugin_system(
        &self,
        environment: &str,
        config: EnvironmentPluginConfiguration,
    ) -> Result<(), PluginError> {
        config.validate(environment)?;
        self.update(|overlay| {
            overlay.environments.insert(environment.to_owned(), config);
            Ok(())
        })
    }
}
