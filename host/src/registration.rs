//! Changing the registry at run time: registrations, removals, settings and factories.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::factory::PluginFactoryConfig;
use crate::layer::{Change, Event, Proof};
use crate::overlay::Overlay;
use crate::registry::ModuleRegistry;
use crate::runtime::{AdvancedPluginConfig, PluginConfig};
use crate::runtime::{Fields, Registration, RuntimeEntry};
use crate::sandboxed::SandboxedRegistration;
use modreg_core::validate::parse_dependency;
use modreg_core::{PluginError, PluginErrorKind};
use modreg_core::{PluginSettings, PluginType, Registry};

/// A change a signed artifact asks for ([`crate::Registrations::apply_signed`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum SignedChange {
    /// Register a plugin (refused if the name is registered at run time already).
    Register(Registration),
    /// Remove a plugin.
    Unregister(String),
    /// Replace a plugin's settings.
    Settings(String, PluginSettings),
}

impl ModuleRegistry {
    /// What [`Registrations::register_plugin`](crate::Registrations::register_plugin) does.
    pub(crate) fn register_plugin(&self, config: PluginConfig) -> Result<(), PluginError> {
        self.insert(config.into_fields(), false)
    }

    /// What [`Registrations::register_advanced_plugin`](crate::Registrations::register_advanced_plugin) does.
    pub(crate) fn register_advanced_plugin(
        &self,
        config: AdvancedPluginConfig,
    ) -> Result<(), PluginError> {
        self.insert(config.into_fields(), false)
    }

    /// What [`Registrations::replace_plugin`](crate::Registrations::replace_plugin) does.
    pub(crate) fn replace_plugin(
        &self,
        config: impl Into<Registration>,
    ) -> Result<(), PluginError> {
        self.insert(config.into().0, true)
    }

    /// What [`Registrations::register_plugins`](crate::Registrations::register_plugins) does.
    pub(crate) fn register_plugins<I>(&self, configs: I) -> Result<(), PluginError>
    where
        I: IntoIterator,
        I::Item: Into<Registration>,
    {
        let batch: Vec<Fields> = configs.into_iter().map(|c| c.into().0).collect();
        for fields in &batch {
            self.check_change(Change::Register {
                name: fields.name.as_deref().unwrap_or(""),
                plugin_type: fields.plugin_type(),
                proof: None,
            })?;
        }
        self.insert_checked(batch, false)
    }

    fn insert(&self, fields: Fields, replace: bool) -> Result<(), PluginError> {
        self.check_change(Change::Register {
            name: fields.name.as_deref().unwrap_or(""),
            plugin_type: fields.plugin_type(),
            proof: None,
        })?;
        self.insert_checked(vec![fields], replace)
    }

    /// Asks the layers whether `change` may happen (security: signatures, secure loading).
    fn check_change(&self, change: Change<'_>) -> Result<(), PluginError> {
        self.layers_check_change(&self.snapshot(), change)
    }

    /// What [`Registrations::admit_source`](crate::Registrations::admit_source) does.
    pub(crate) fn admit_source(
        &self,
        name: &str,
        proof: Option<Proof<'_>>,
    ) -> Result<(), PluginError> {
        self.check_change(Change::Load { name, proof })
    }

    /// What [`Registrations::declare`](crate::Registrations::declare) does.
    pub(crate) fn declare(
        &self,
        source: &str,
        name: &str,
        plugin_type: Option<PluginType>,
    ) -> Result<(), PluginError> {
        self.check_change(Change::Declare {
            source,
            name,
            plugin_type,
        })
    }

    /// Registers a batch loaded from one source (a WebAssembly module): all or none, each
    /// checked by the layers with the module's `proof`; `replace` lets it take over its own
    /// earlier entries.
    pub(crate) fn register_loaded(
        &self,
        batch: Vec<Registration>,
        replace: bool,
        proof: Option<Proof<'_>>,
    ) -> Result<(), PluginError> {
        let batch: Vec<Fields> = batch.into_iter().map(|r| r.0).collect();
        for fields in &batch {
            self.check_change(Change::Register {
                name: fields.name.as_deref().unwrap_or(""),
                plugin_type: fields.plugin_type(),
                proof,
            })?;
        }
        self.insert_checked(batch, replace)
    }

    /// What [`Registrations::apply_signed`](crate::Registrations::apply_signed) does.
    pub(crate) fn apply_signed(
        &self,
        change: SignedChange,
        proof: Option<Proof<'_>>,
    ) -> Result<(), PluginError> {
        match change {
            SignedChange::Register(registration) => {
                let fields = registration.0;
                self.check_change(Change::Register {
                    name: fields.name.as_deref().unwrap_or(""),
                    plugin_type: fields.plugin_type(),
                    proof,
                })?;
                self.insert_checked(vec![fields], false)
            }
            SignedChange::Unregister(name) => self.remove(&name, proof),
            SignedChange::Settings(name, settings) => {
                self.put_settings(&name, settings, proof, false)
            }
        }
    }

    /// Validates every entry, then adds them all in one snapshot, or none.
    fn insert_checked(&self, batch: Vec<Fields>, replace: bool) -> Result<(), PluginError> {
        let entries = batch
            .into_iter()
            .map(|fields| RuntimeEntry::validate(fields, |name| self.index().get(name)))
            .collect::<Result<Vec<_>, _>>()?;
        self.update(|overlay| {
            for entry in entries {
                if let Some(compiled) = entry.compiled {
                    self.layers_check_change(overlay,
                        Change::Shadow {
                            name: &entry.name,
                            compiled: compiled.location(),
                        },
                    )?;
                }
                tracing::debug!(plugin = %entry.name, version = %entry.version, plugin_type = %entry.plugin_type, "registering plugin");
                let name = entry.name.clone();
                let is_mock = entry.mock_of.is_some();
                // A cycle through this entry leaves it by one of its dependencies (its own,
                // or those of the compiled-in plugin it lends from).
                let may_close_a_cycle = !entry.depends_on.is_empty() || entry.compiled.is_some();
                overlay.removed.remove(&name);
                // One walk of the map per entry: the insertion says what it replaced. On an
                // error the whole copy of the overlay is dropped, so nothing is registered.
                if let Some(previous) = overlay.entries.insert(name.clone(), Arc::new(entry)) {
                    if !replace {
                        return Err(PluginError::from(PluginErrorKind::AlreadyRegistered {
                            name,
                            existing: "registered at run time".to_owned(),
                        }));
                    }
                    overlay.forget_mock(&previous);
                }
                if is_mock {
                    overlay.remember_mock(&name);
                }
                if may_close_a_cycle {
                    self.refuse_cycle(overlay, &name)?;
                }
            }
            Ok(())
        })
    }

    /// Fails if `start`'s dependencies lead back to it, naming every plugin on the shortest
    /// such cycle. Breadth-first, so a long chain of dependencies cannot overflow the stack.
    fn refuse_cycle(&self, overlay: &Overlay, start: &str) -> Result<(), PluginError> {
        let mut parent: HashMap<String, String> = HashMap::new();
        let mut queue = VecDeque::from([start.to_owned()]);
        while let Some(from) = queue.pop_front() {
            let Some(target) = self.resolve_exact(overlay, &from) else {
                continue;
            };
            for spec in target.depends_on() {
                let Ok(dependency) = parse_dependency(&from, spec) else {
                    continue;
                };
                if dependency.name == start {
                    let mut back = Vec::new();
                    let mut at = from.clone();
                    while at != start {
                        let up = parent[&at].clone();
                        back.push(std::mem::replace(&mut at, up));
                    }
                    let mut cycle = vec![start.to_owned()];
                    cycle.extend(back.into_iter().rev());
                    cycle.push(start.to_owned());
                    return Err(PluginError::from(PluginErrorKind::DependencyCycle {
                        cycle,
                    }));
                }
                if !parent.contains_key(&dependency.name) {
                    parent.insert(dependency.name.clone(), from.clone());
                    queue.push_back(dependency.name);
                }
            }
        }
        Ok(())
    }

    /// What [`Registrations::unregister_plugin`](crate::Registrations::unregister_plugin) does.
    pub(crate) fn unregister_plugin(&self, name: &str) -> Result<(), PluginError> {
        self.remove(name, None)
    }

    /// Removes the runtime entries `names` (a WebAssembly module's plugins), all or none; a
    /// compiled-in plugin one of them shadowed is found again.
    pub(crate) fn withdraw(
        &self,
        names: &[String],
        proof: Option<Proof<'_>>,
    ) -> Result<(), PluginError> {
        self.update(|overlay| {
            for name in names {
                self.layers_check_change(
                    overlay,
                    Change::Unregister {
                        name,
                        compiled: false,
                        proof,
                    },
                )?;
                if let Some(entry) = overlay.entries.remove(name.as_str()) {
                    overlay.forget_mock(&entry);
                }
                overlay.sandboxed.remove(name.as_str());
                // Settings go with their plugin: a later one of that name starts without.
                overlay.settings.remove(name.as_str());
            }
            Ok(())
        })?;
        for name in names {
            self.emit(&Event::Unregistered { plugin: name });
        }
        Ok(())
    }

    /// Removes `name`, with the `proof` of a signed removal.
    fn remove(&self, name: &str, proof: Option<Proof<'_>>) -> Result<(), PluginError> {
        let compiled = self.index().get(name).is_some();
        let result = self.update(|overlay| {
            self.layers_check_change(
                overlay,
                Change::Unregister {
                    name,
                    compiled,
                    proof,
                },
            )?;
            let removed = overlay.entries.remove(name);
            if let Some(entry) = &removed {
                overlay.forget_mock(entry);
            }
            overlay.settings.remove(name);
            let was_runtime = removed.is_some();
            if compiled && overlay.removed.insert(name.to_owned()) {
                return Ok(());
            }
            if was_runtime { Ok(()) } else { Err(()) }.map_err(|()| {
                PluginError::from(PluginErrorKind::NotFound {
                    name: name.to_owned(),
                    suggestions: Vec::new(),
                })
            })
        });
        if result.is_ok() {
            tracing::debug!(plugin = name, "unregistered plugin");
            self.emit(&Event::Unregistered { plugin: name });
        }
        result
    }

    /// What [`Registrations::set_plugin_settings`](crate::Registrations::set_plugin_settings) does.
    pub(crate) fn set_plugin_settings(
        &self,
        name: &str,
        settings: PluginSettings,
    ) -> Result<(), PluginError> {
        self.put_settings(name, settings, None, false)
    }

    /// What [`Registrations::set_typed_plugin_settings`](crate::Registrations::set_typed_plugin_settings) does.
    pub(crate) fn set_typed_plugin_settings<T: ?Sized>(
        &self,
        registry: &Registry<T>,
        name: &str,
        settings: PluginSettings,
    ) -> Result<(), PluginError> {
        if registry.get(name).is_none() {
            return Err(PluginError::from(PluginErrorKind::NotFound {
                name: name.to_owned(),
                suggestions: Vec::new(),
            }));
        }
        self.put_settings(name, settings, None, true)
    }

    /// Sets the settings of `name`, with the `proof` of signed settings.
    /// `typed`: `name` was found in a typed registry already.
    fn put_settings(
        &self,
        name: &str,
        settings: PluginSettings,
        proof: Option<Proof<'_>>,
        typed: bool,
    ) -> Result<(), PluginError> {
        self.check_change(Change::Settings { name, proof })?;
        self.update(|overlay| {
            // Settings for a name no plugin has would be kept for nothing (and without end).
            let known = typed
                || overlay.entries.contains_key(name)
                || (self.index().get(name).is_some() && !overlay.removed.contains(name))
                || self.typed.has_plugin(name);
            if !known {
                return Err(self.unknown_plugin(name));
            }
            overlay.settings.insert(name.to_owned(), settings);
            Ok(())
        })
    }

    /// What [`Registrations::register_plugin_factory`](crate::Registrations::register_plugin_factory) does.
    pub(crate) fn register_plugin_factory(
        &self,
        config: PluginFactoryConfig,
    ) -> Result<(), PluginError> {
        let factory = config.resolve(self.index())?;
        // A factory name is a runtime change like any registration: the layers are asked.
        self.check_change(Change::Register {
            name: config.name(),
            plugin_type: None,
            proof: None,
        })?;
        self.update(|overlay| {
            if overlay.factories.contains_key(config.name()) {
                return Err(PluginError::from(PluginErrorKind::AlreadyRegistered {
                    name: config.name().to_owned(),
                    existing: "a factory registered at run time".to_owned(),
                }));
            }
            overlay
                .factories
                .insert(config.name().to_owned(), (config, factory));
            Ok(())
        })
    }

    /// What [`Catalog::factory_names`](crate::Catalog::factory_names) does.
    pub(crate) fn factory_names(&self) -> Vec<String> {
        let overlay = self.snapshot();
        let mut names: Vec<String> = overlay.factories.keys().map(str::to_owned).collect();
        names.extend(self.index().factories().iter().map(|f| f.name().to_owned()));
        names.sort();
        names.dedup();
        names
    }
}

impl ModuleRegistry {
    /// What [`Registrations::register_sandboxed`](crate::Registrations::register_sandboxed)
    /// does: each plugin's trait must be one of a registry the host was given, with the same
    /// fingerprint; then the layers check each as a registration (with `proof`), and the
    /// shadowing of a compiled-in plugin of its registry; then all are added, or none.
    pub(crate) fn register_sandboxed(
        &self,
        batch: Vec<SandboxedRegistration>,
        replace: bool,
        proof: Option<Proof<'_>>,
    ) -> Result<(), PluginError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut shadowed = Vec::new();
        for entry in &batch {
            let registry = self.typed.serving(&entry.trait_name).ok_or_else(|| {
                PluginError::from(PluginErrorKind::TraitNotServed {
                    plugin: entry.name.clone(),
                    trait_name: entry.trait_name.clone(),
                })
            })?;
            let (_, fingerprint) = registry
                .sandboxed_trait()
                .expect("serving() finds sandboxed registries only");
            entry.check_fingerprint(fingerprint)?;
            shadowed.push(registry.compiled_location(&entry.name));
        }
        self.update(|overlay| {
            for (entry, compiled) in batch.into_iter().zip(shadowed) {
                self.layers_check_change(
                    overlay,
                    Change::Register {
                        name: &entry.name,
                        plugin_type: None,
                        proof,
                    },
                )?;
                if let Some(compiled) = compiled {
                    if !entry.shadows {
                        return Err(PluginError::from(PluginErrorKind::AlreadyRegistered {
                            name: entry.name,
                            existing: format!(
                                "compiled in at {compiled}; a sandboxed plugin takes a compiled-in plugin's name only when its source allows it"
                            ),
                        }));
                    }
                    self.layers_check_change(
                        overlay,
                        Change::Shadow {
                            name: &entry.name,
                            compiled,
                        },
                    )?;
                }
                if overlay.entries.contains_key(&entry.name) {
                    return Err(PluginError::from(PluginErrorKind::AlreadyRegistered {
                        name: entry.name,
                        existing: "registered at run time".to_owned(),
                    }));
                }
                let name = entry.name.clone();
                if overlay.sandboxed.insert(name.clone(), Arc::new(entry)).is_some() && !replace
                {
                    return Err(PluginError::from(PluginErrorKind::AlreadyRegistered {
                        name,
                        existing: "registered at run time".to_owned(),
                    }));
                }
            }
            Ok(())
        })
    }
}
