//! Configuring the plugin system: switches, environments, granted permissions.

use crate::cache::CacheStats;
use crate::configuration::SystemFlags;
use crate::configuration::{
    AdvancedPluginConfiguration, EnvironmentPluginConfiguration, PluginConfiguration,
};
use crate::error::PluginError;
use crate::registry::ModuleRegistry;
use crate::validate::check_identifier;

impl ModuleRegistry {
    /// Changes the base switches with `apply`.
    fn configure(&self, apply: impl FnOnce(&mut SystemFlags)) -> Result<(), PluginError> {
        self.update(|overlay| {
            apply(&mut overlay.base_flags);
            Ok(())
        })?;
        tracing::debug!(flags = ?self.flags(), "plugin system configured");
        Ok(())
    }

    /// Sets the basic switches: plugin loading, validation and monitoring.
    ///
    /// ```
    /// use module_registry_core::{ModuleRegistry, PluginConfiguration, PluginError};
    ///
    /// let registry = ModuleRegistry::new();
    /// registry.configure_plugin_system(PluginConfiguration::new().with_plugin_loading(false))?;
    /// assert!(matches!(registry.create_plugin("anything"), Err(PluginError::Disabled { .. })));
    /// # Ok::<(), PluginError>(())
    /// ```
    #[expect(
        clippy::needless_pass_by_value,
        reason = "the specification passes configurations by value"
    )]
    pub fn configure_plugin_system(&self, config: PluginConfiguration) -> Result<(), PluginError> {
        self.configure(|flags| config.apply(flags))
    }

    /// Sets every switch the advanced configuration names.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "the specification passes configurations by value"
    )]
    pub fn configure_advanced_plugin_system(
        &self,
        config: AdvancedPluginConfiguration,
    ) -> Result<(), PluginError> {
        self.configure(|flags| config.apply(flags))
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

    /// The switches in force: the base configuration with the active environment's applied.
    pub fn flags(&self) -> SystemFlags {
        self.snapshot().flags.clone()
    }

    /// Grants permissions that plugins may declare (checked when security is on).
    pub fn grant_permissions<'a>(
        &self,
        permissions: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), PluginError> {
        let permissions: Vec<String> = permissions.into_iter().map(str::to_owned).collect();
        for permission in &permissions {
            check_identifier("permission", permission)?;
        }
        self.update(|overlay| {
            overlay.granted.extend(permissions);
            Ok(())
        })
    }

    /// How often discovery was answered from the cache.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }
}
