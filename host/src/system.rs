//! Configuring the plugin system: switches and environments.

use crate::cache::CacheStats;
use crate::configuration::{AdvancedPluginConfiguration, PluginConfiguration, Switches};
use crate::registry::ModuleRegistry;
use modreg_core::PluginError;
use modreg_core::validate::check_identifier;

impl ModuleRegistry {
    /// Changes the base switches with `apply`.
    fn configure(
        &self,
        apply: impl FnOnce(&mut Switches) -> Result<(), PluginError>,
    ) -> Result<(), PluginError> {
        self.update(|overlay| apply(&mut overlay.base_flags))?;
        tracing::debug!(switches = ?self.snapshot().flags, "plugin system configured");
        Ok(())
    }

    /// Makes `environment` the active one (its profile need not be configured yet). A new
    /// registry starts in the environment named by `MODREG_ENVIRONMENT`, if set.
    pub fn set_environment(&self, environment: &str) -> Result<(), PluginError> {
        check_identifier("environment", environment)?;
        self.update(|overlay| {
            overlay.environment = Some(environment.to_owned());
            Ok(())
        })
    }

    /// Leaves every environment: only the base switches apply.
    pub fn clear_environment(&self) -> Result<(), PluginError> {
        self.update(|overlay| {
            overlay.environment = None;
            Ok(())
        })
    }

    /// The active environment.
    pub fn environment(&self) -> Option<String> {
        self.snapshot().environment.clone()
    }

    /// How often discovery was answered from the cache.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }
}

impl PluginConfiguration {
    /// What [`ModuleRegistry::configure_plugin_system`] does.
    pub(crate) fn apply_to(self, registry: &ModuleRegistry) -> Result<(), PluginError> {
        registry.configure(|flags| self.apply(flags))
    }
}

impl AdvancedPluginConfiguration {
    /// What [`ModuleRegistry::configure_advanced_plugin_system`] does.
    pub(crate) fn apply_to(self, registry: &ModuleRegistry) -> Result<(), PluginError> {
        registry.configure(|flags| self.apply(flags))
    }
}
