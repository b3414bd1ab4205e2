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

    /// What [`Configuration::set_environment`](crate::Configuration::set_environment) does.
    pub(crate) fn set_environment(&self, environment: &str) -> Result<(), PluginError> {
        check_identifier("environment", environment)?;
        self.update(|overlay| {
            overlay.environment = Some(environment.to_owned());
            Ok(())
        })
    }

    /// What [`Configuration::clear_environment`](crate::Configuration::clear_environment) does.
    pub(crate) fn clear_environment(&self) -> Result<(), PluginError> {
        self.update(|overlay| {
            overlay.environment = None;
            Ok(())
        })
    }

    /// What [`Configuration::environment`](crate::Configuration::environment) does.
    pub(crate) fn environment(&self) -> Option<String> {
        self.snapshot().environment.clone()
    }

    /// What [`Catalog::cache_stats`](crate::Catalog::cache_stats) does.
    pub(crate) fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }
}

impl PluginConfiguration {
    /// What [`crate::Configuration::configure_plugin_system`] does.
    pub(crate) fn apply_to(self, registry: &ModuleRegistry) -> Result<(), PluginError> {
        registry.configure(|flags| self.apply(flags))
    }
}

impl AdvancedPluginConfiguration {
    /// What [`crate::Configuration::configure_advanced_plugin_system`] does.
    pub(crate) fn apply_to(self, registry: &ModuleRegistry) -> Result<(), PluginError> {
        registry.configure(|flags| self.apply(flags))
    }
}
