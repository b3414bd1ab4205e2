//! Calls made on behalf of a principal: every one checked, logged and counted.

use crate::access::{Operation, Principal};
use crate::acting::acting_as;
use crate::error::SecurityError;
use crate::security::Security;
use modreg_core::Plugin;
use modreg_core::PluginError;
use modreg_core::PluginSettings;
use modreg_host::{
    ModuleRegistry, PluginCapabilityQuery, PluginConfig, PluginDiscoveryQuery, PluginInfo,
};

impl Security {
    /// `registry` as seen by `principal`: every call is checked, logged and counted.
    pub fn on_behalf_of<'r>(
        &'r self,
        registry: &'r ModuleRegistry,
        principal: Principal,
    ) -> Result<AccessScope<'r>, PluginError> {
        principal.validate()?;
        Ok(AccessScope {
            registry,
            security: self,
            principal,
        })
    }
}

/// Calls made on behalf of one principal.
#[derive(Debug)]
pub struct AccessScope<'r> {
    registry: &'r ModuleRegistry,
    security: &'r Security,
    principal: Principal,
}

impl AccessScope<'_> {
    fn allowed(&self, operation: Operation, plugin: &str) -> bool {
        self.security
            .check_access(self.registry, &self.principal, operation, plugin)
            .allowed
    }

    fn require(&self, operation: Operation, plugin: &str) -> Result<(), PluginError> {
        if self.allowed(operation, plugin) {
            Ok(())
        } else {
            Err(PluginError::from(SecurityError::AccessDenied {
                principal: self.principal.name.clone(),
                operation: operation.as_str(),
                plugin: plugin.to_owned(),
            }))
        }
    }

    /// Registers a plugin, if the principal may `register` it. The layer asks when the host
    /// checks the change (once, audited), with this principal acting.
    pub fn register_plugin(&self, config: PluginConfig) -> Result<(), PluginError> {
        acting_as(&self.principal, || {
            self.registry.registrations().register_plugin(config)
        })
    }

    /// Removes a plugin, if the principal may `unregister` it.
    pub fn unregister_plugin(&self, name: &str) -> Result<(), PluginError> {
        acting_as(&self.principal, || {
            self.registry.registrations().unregister_plugin(name)
        })
    }

    /// Changes a plugin's settings, if the principal may `configure` it.
    pub fn set_plugin_settings(
        &self,
        name: &str,
        settings: PluginSettings,
    ) -> Result<(), PluginError> {
        acting_as(&self.principal, || {
            self.registry
                .registrations()
                .set_plugin_settings(name, settings)
        })
    }

    /// Runs `change` with the principal acting: every change it makes to the registry
    /// (a registration, a replacement, a batch, a removal, settings, a configuration file, a
    /// WebAssembly module) is checked against the principal's grants when the host checks
    /// it. Under access control, a change made outside a scope (and not signed by a trusted
    /// key) has no principal and is refused.
    ///
    /// `change` runs on this thread: a change it hands to another thread has no principal.
    pub fn changes<T>(&self, change: impl FnOnce() -> T) -> T {
        acting_as(&self.principal, change)
    }

    /// The plugins matching `query` that the principal may `discover`.
    pub fn discover_plugins(
        &self,
        query: PluginDiscoveryQuery,
    ) -> Result<Vec<PluginInfo>, PluginError> {
        let found = self.registry.catalog().discover_plugins(query)?;
        Ok(self.visible(found))
    }

    /// The plugins matching `query` that the principal may `discover`.
    pub fn discover_plugins_by_capabilities(
        &self,
        query: PluginCapabilityQuery,
    ) -> Result<Vec<PluginInfo>, PluginError> {
        let found = self
            .registry
            .catalog()
            .discover_plugins_by_capabilities(query)?;
        Ok(self.visible(found))
    }

    fn visible(&self, found: Vec<PluginInfo>) -> Vec<PluginInfo> {
        found
            .into_iter()
            .filter(|p| self.allowed(Operation::Discover, p.name()))
            .collect()
    }

    /// Creates a plugin, if the principal may `instantiate` it; each `process` call on it is
    /// checked too. It is created on the principal's behalf
    /// ([`modreg_host::on_behalf_of`]): a WebAssembly plugin under
    /// `GuestState::PerPrincipal` shares its guest with the principal's other instances.
    pub fn create_plugin(&self, name: &str) -> Result<Box<dyn Plugin>, PluginError> {
        self.require(Operation::Instantiate, name)?;
        let plugin = acting_as(&self.principal, || self.registry.create_plugin(name))?;
        if self.allowed(Operation::Process, name) {
            return Ok(plugin);
        }
        Ok(Box::new(NoProcess {
            inner: plugin,
            principal: self.principal.name.clone(),
        }))
    }
}

/// An instance whose principal may not call `process`.
struct NoProcess {
    inner: Box<dyn Plugin>,
    principal: String,
}

impl Plugin for NoProcess {
    modreg_host::forward_metadata!(inner);

    fn initialize(&mut self) -> Result<(), PluginError> {
        self.inner.initialize()
    }
    fn cleanup(&mut self) -> Result<(), PluginError> {
        self.inner.cleanup()
    }
    fn process(&self, _: &[u8]) -> Result<Vec<u8>, PluginError> {
        Err(PluginError::from(SecurityError::AccessDenied {
            principal: self.principal.clone(),
            operation: Operation::Process.as_str(),
            plugin: self.inner.name().to_owned(),
        }))
    }

    fn health(&self) -> modreg_core::HealthStatus {
        self.inner.health()
    }
}
