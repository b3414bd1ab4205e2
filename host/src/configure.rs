//! The specification's `configure_*` calls that the host answers, in one place. Each is thin:
//! the configuration type's own module (`configuration`) says what its switches do; security's
//! and monitoring's are their layers'.

use crate::configuration::{
    AdvancedPluginConfiguration, EnvironmentPluginConfiguration, PluginConfiguration,
};
use crate::registry::ModuleRegistry;
use modreg_core::PluginError;

impl ModuleRegistry {
    /// What [`Configuration::configure_plugin_system`](crate::Configuration::configure_plugin_system) does.
    pub(crate) fn configure_plugin_system(
        &self,
        config: PluginConfiguration,
    ) -> Result<(), PluginError> {
        config.apply_to(self)
    }

    /// What [`Configuration::configure_advanced_plugin_system`](crate::Configuration::configure_advanced_plugin_system) does.
    pub(crate) fn configure_advanced_plugin_system(
        &self,
        config: AdvancedPluginConfiguration,
    ) -> Result<(), PluginError> {
        config.apply_to(self)
    }

    /// What [`Configuration::configure_environment_plugin_system`](crate::Configuration::configure_environment_plugin_system) does.
    pub(crate) fn configure_environment_plugin_system(
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
