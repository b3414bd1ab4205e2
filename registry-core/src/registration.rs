//! Changing the registry at run time: registrations, removals, settings and factories.

use std::sync::Arc;

use crate::runtime::{Fields, Registration, RuntimeEntry};
use crate::{
    AdvancedPluginConfig, ModuleRegistry, Plugin, PluginConfig, PluginError, PluginFactoryConfig,
    PluginSettings,
};

impl ModuleRegistry {
    /// Registers a plugin at run time. A name registered at run time already is refused
    /// ([`PluginError::AlreadyRegistered`]); a compiled-in plugin of the same name lends its
    /// implementation when type and version agree.
    pub fn register_plugin(&self, config: PluginConfig) -> Result<(), PluginError> {
        self.insert(config.into_fields(), false)
    }

    /// Registers a plugin with dependencies and metadata. Dependencies are checked when the
    /// plugin is created, not now, so they may be registered later.
    pub fn register_advanced_plugin(
        &self,
        config: AdvancedPluginConfig,
    ) -> Result<(), PluginError> {
        self.insert(config.into_fields(), false)
    }

    /// Registers a plugin, replacing a runtime entry of the same name if there is one.
    pub fn replace_plugin(&self, config: impl Into<Registration>) -> Result<(), PluginError> {
        self.insert(config.into().0, true)
    }

    fn insert(&self, fields: Fields, replace: bool) -> Result<(), PluginError> {
        let overlay = self.snapshot();
        if overlay.flags.authentication {
            let error = PluginError::Unsigned {
                plugin: fields.name.clone().unwrap_or_default(),
            };
            self.note_authentication(
                &overlay.flags,
                fields.name.as_deref().unwrap_or(""),
                Some(&error),
            );
            return Err(error);
        }
        self.insert_checked(fields, replace)
    }

    /// Registers `registration` whose origin was already authenticated.
    pub(crate) fn insert_authenticated(
        &self,
        registration: Registration,
    ) -> Result<(), PluginError> {
        self.insert_checked(registration.0, false)
    }

    fn insert_checked(&self, fields: Fields, replace: bool) -> Result<(), PluginError> {
        let entry = RuntimeEntry::validate(fields, |name| self.index().get(name))?;
        tracing::debug!(plugin = %entry.name, version = %entry.version, plugin_type = %entry.plugin_type, "registering plugin");
        self.update(|overlay| {
            if overlay.flags.secure_loading
                && let Some(compiled) = entry.compiled
            {
                return Err(PluginError::AlreadyRegistered {
                    name: entry.name.clone(),
                    existing: format!(
                        "compiled in at {}; secure plugin loading forbids shadowing it",
                        compiled.location()
                    ),
                });
            }
            if !replace && overlay.entries.contains_key(&entry.name) {
                return Err(PluginError::AlreadyRegistered {
                    name: entry.name.clone(),
                    existing: "registered at run time".to_owned(),
                });
            }
            overlay.removed.remove(&entry.name);
            overlay.entries.insert(entry.name.clone(), Arc::new(entry));
            Ok(())
        })
    }

    /// Removes a plugin, compiled in or registered at run time.
    pub fn unregister_plugin(&self, name: &str) -> Result<(), PluginError> {
        let compiled = self.index().get(name).is_some();
        let result = self.update(|overlay| {
            if compiled && overlay.flags.secure_loading {
                return Err(PluginError::invalid(
                    "unregistration",
                    name,
                    "secure plugin loading forbids removing a compiled-in plugin",
                ));
            }
            let was_runtime = overlay.entries.remove(name).is_some();
            if compiled && overlay.removed.insert(name.to_owned()) {
                return Ok(());
            }
            if was_runtime { Ok(()) } else { Err(()) }.map_err(|()| PluginError::NotFound {
                name: name.to_owned(),
                suggestions: Vec::new(),
            })
        });
        if result.is_ok() {
            tracing::debug!(plugin = name, "unregistered plugin");
        }
        result
    }

    /// Sets the settings `name` is constructed with from now on.
    pub fn set_plugin_settings(
        &self,
        name: &str,
        settings: PluginSettings,
    ) -> Result<(), PluginError> {
        self.update(|overlay| {
            overlay.settings.insert(name.to_owned(), settings);
            Ok(())
        })
    }

    /// Registers a factory name backed by a compiled-in `#[plugin_factory]` function, named
    /// by [`with_factory_method`](PluginFactoryConfig::with_factory_method).
    pub fn register_plugin_factory(&self, config: PluginFactoryConfig) -> Result<(), PluginError> {
        let factory = config.resolve(self.index())?;
        self.update(|overlay| {
            if overlay.factories.contains_key(config.name()) {
                return Err(PluginError::AlreadyRegistered {
                    name: config.name().to_owned(),
                    existing: "a factory registered at run time".to_owned(),
                });
            }
            overlay
                .factories
                .insert(config.name().to_owned(), (config, factory));
            Ok(())
        })
    }

    /// The factory names known: registered at run time and compiled in.
    pub fn factory_names(&self) -> Vec<String> {
        let overlay = self.snapshot();
        let mut names: Vec<String> = overlay.factories.keys().cloned().collect();
        names.extend(self.index().factories().iter().map(|f| f.name().to_owned()));
        names.sort();
        names.dedup();
        names
    }

    /// Creates the plugin `variant` with the factory called `factory_name`.
    pub fn create_plugin_from_factory(
        &self,
        factory_name: &str,
        variant: &str,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        let overlay = self.snapshot();
        let factory = overlay
            .factories
            .get(factory_name)
            .map(|(_, f)| *f)
            .or_else(|| self.index().factory(factory_name))
            .ok_or_else(|| PluginError::FactoryNotFound {
                name: factory_name.to_owned(),
                known: self.factory_names(),
            })?;
        factory.create(variant)
    }
}
