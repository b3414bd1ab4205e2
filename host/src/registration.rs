//! Changing the registry at run time: registrations, removals, settings and factories.

use std::collections::{HashMap, HashSet, VecDeque};
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
use modreg_core::{PluginSettings, PluginType, Registry, SourceLocation};

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
        self.insert(config.into_fields(), Replacing::Nothing)
    }

    /// What [`Registrations::register_advanced_plugin`](crate::Registrations::register_advanced_plugin) does.
    pub(crate) fn register_advanced_plugin(
        &self,
        config: AdvancedPluginConfig,
    ) -> Result<(), PluginError> {
        self.insert(config.into_fields(), Replacing::Nothing)
    }

    /// What [`Registrations::replace_plugin`](crate::Registrations::replace_plugin) does.
    pub(crate) fn replace_plugin(
        &self,
        config: impl Into<Registration>,
    ) -> Result<(), PluginError> {
        self.insert(config.into().0, Replacing::Any)
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
        self.insert_checked(batch, Replacing::Nothing)
    }

    fn insert(&self, fields: Fields, replacing: Replacing<'_>) -> Result<(), PluginError> {
        self.check_change(Change::Register {
            name: fields.name.as_deref().unwrap_or(""),
            plugin_type: fields.plugin_type(),
            proof: None,
        })?;
        self.insert_checked(vec![fields], replacing)
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

    /// What [`Registrations::register_batch`](crate::Registrations::register_batch) does:
    /// every check that needs no snapshot first (the layers on each registration, each typed
    /// plugin's trait and fingerprint, each entry's fields), then one snapshot in which the
    /// source's earlier entries it no longer holds go and the new ones are added, or nothing
    /// changes.
    pub(crate) fn register_loaded(
        &self,
        source: &str,
        batch: Vec<Registration>,
        sandboxed: Vec<SandboxedRegistration>,
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
        let shadowed = self.check_traits(&sandboxed)?;
        let entries = self.validated(batch)?;
        let owner: Arc<str> = Arc::from(source);
        let plain: HashSet<String> = entries.iter().map(|e| e.name.clone()).collect();
        let typed: HashSet<String> = sandboxed.iter().map(|e| e.name.clone()).collect();
        let gone = self.update(|overlay| {
            // What the source held before and holds no more goes first, so that a plugin
            // that moved from one kind to the other (bytes, typed) finds its name free.
            let before = overlay.sources.get(source).cloned().unwrap_or_default();
            let (gone_entries, gone_sandboxed) = overlay.still_held(&before, source);
            let gone_entries: Vec<String> = gone_entries
                .into_iter()
                .filter(|name| !plain.contains(name))
                .collect();
            let gone_sandboxed: Vec<String> = gone_sandboxed
                .into_iter()
                .filter(|name| !typed.contains(name))
                .collect();
            self.remove_entries(overlay, &gone_entries, proof)?;
            self.remove_entries(overlay, &gone_sandboxed, proof)?;
            self.insert_sandboxed(overlay, sandboxed, shadowed, proof, &owner)?;
            self.insert_entries(overlay, entries, Replacing::Source(&owner))?;
            let now: Vec<String> = plain.iter().chain(&typed).cloned().collect();
            overlay.sources.insert(source.to_owned(), now.into());
            let mut gone: Vec<String> = gone_entries
                .into_iter()
                .chain(gone_sandboxed)
                .filter(|name| !plain.contains(name) && !typed.contains(name))
                .collect();
            gone.sort();
            gone.dedup();
            Ok(gone)
        })?;
        for name in &gone {
            self.emit(&Event::Unregistered { plugin: name });
        }
        Ok(())
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
                self.insert_checked(vec![fields], Replacing::Nothing)
            }
            SignedChange::Unregister(name) => self.remove(&name, proof),
            SignedChange::Settings(name, settings) => {
                self.put_settings(&name, settings, proof, false)
            }
        }
    }

    /// Validates every entry, then adds them all in one snapshot, or none.
    fn insert_checked(
        &self,
        batch: Vec<Fields>,
        replacing: Replacing<'_>,
    ) -> Result<(), PluginError> {
        let entries = self.validated(batch)?;
        self.update(|overlay| self.insert_entries(overlay, entries, replacing))
    }

    /// Each entry of `batch` checked (`RuntimeEntry::validate`), or the first error.
    fn validated(&self, batch: Vec<Fields>) -> Result<Vec<RuntimeEntry>, PluginError> {
        batch
            .into_iter()
            .map(|fields| RuntimeEntry::validate(fields, |name| self.index().get(name)))
            .collect()
    }

    /// Adds `entries` to `overlay` (the caller's snapshot, dropped whole on an error), each
    /// taking the name of an earlier runtime entry only as `replacing` allows.
    fn insert_entries(
        &self,
        overlay: &mut Overlay,
        entries: Vec<RuntimeEntry>,
        replacing: Replacing<'_>,
    ) -> Result<(), PluginError> {
        for mut entry in entries {
            if let Some(compiled) = entry.compiled {
                self.layers_check_change(
                    overlay,
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
            entry.source = replacing.owner();
            if let Some(previous) = overlay.entries.insert(name.clone(), Arc::new(entry)) {
                if !replacing.may_replace(previous.source.as_deref()) {
                    return Err(already_registered(name, previous.source.as_deref()));
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

    /// What [`Registrations::withdraw`](crate::Registrations::withdraw) does: removes every
    /// entry `source` holds, all or none, and names them.
    pub(crate) fn withdraw(
        &self,
        source: &str,
        proof: Option<Proof<'_>>,
    ) -> Result<Vec<String>, PluginError> {
        let gone = self.update(|overlay| {
            let before = overlay.sources.remove(source).unwrap_or_default();
            let (entries, sandboxed) = overlay.still_held(&before, source);
            self.remove_entries(overlay, &entries, proof)?;
            self.remove_entries(overlay, &sandboxed, proof)?;
            let mut gone: Vec<String> = entries.into_iter().chain(sandboxed).collect();
            gone.sort();
            Ok(gone)
        })?;
        for name in &gone {
            self.emit(&Event::Unregistered { plugin: name });
        }
        Ok(gone)
    }

    /// Removes the runtime entries `names` (a source's) from `overlay`, each checked by the
    /// layers with `proof`; a compiled-in plugin one of them shadowed is found again.
    fn remove_entries(
        &self,
        overlay: &mut Overlay,
        names: &[String],
        proof: Option<Proof<'_>>,
    ) -> Result<(), PluginError> {
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
    /// Checks that each typed plugin of `batch` is of a trait a registry the host was given
    /// serves, with the same fingerprint; answers where each would shadow a compiled-in plugin
    /// of its registry (`None`: it takes no compiled-in name).
    fn check_traits(
        &self,
        batch: &[SandboxedRegistration],
    ) -> Result<Vec<Option<SourceLocation>>, PluginError> {
        batch
            .iter()
            .map(|entry| {
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
                Ok(registry.compiled_location(&entry.name))
            })
            .collect()
    }

    /// Adds the typed plugins of `batch` (checked by [`check_traits`](Self::check_traits),
    /// which answered `shadowed`) to `overlay` as `source`'s: the layers check each as a
    /// registration with `proof`, and the shadowing of a compiled-in plugin of its registry.
    fn insert_sandboxed(
        &self,
        overlay: &mut Overlay,
        batch: Vec<SandboxedRegistration>,
        shadowed: Vec<Option<SourceLocation>>,
        proof: Option<Proof<'_>>,
        source: &Arc<str>,
    ) -> Result<(), PluginError> {
        for (mut entry, compiled) in batch.into_iter().zip(shadowed) {
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
            if let Some(other) = overlay.entries.get(&entry.name) {
                return Err(already_registered(entry.name, other.source.as_deref()));
            }
            entry.source = Some(Arc::clone(source));
            let name = entry.name.clone();
            if let Some(previous) = overlay.sandboxed.insert(name.clone(), Arc::new(entry))
                && previous.source.as_ref() != Some(source)
            {
                return Err(already_registered(name, previous.source.as_deref()));
            }
        }
        Ok(())
    }
}

/// Who may take the name of an earlier runtime entry.
#[derive(Clone, Copy)]
enum Replacing<'a> {
    /// No one: the name must be free.
    Nothing,
    /// The application (`replace_plugin`): any runtime entry's name.
    Any,
    /// A source (a WebAssembly module): only its own entries' names.
    Source(&'a Arc<str>),
}

impl Replacing<'_> {
    /// The source the new entry is registered by (`None`: the application).
    fn owner(self) -> Option<Arc<str>> {
        match self {
            Replacing::Source(source) => Some(Arc::clone(source)),
            Replacing::Nothing | Replacing::Any => None,
        }
    }

    /// Whether an entry registered by `earlier` (`None`: the application) may be replaced.
    fn may_replace(self, earlier: Option<&str>) -> bool {
        match self {
            Replacing::Nothing => false,
            Replacing::Any => true,
            Replacing::Source(source) => earlier == Some(&**source),
        }
    }
}

/// The error for a name held by a runtime entry that `source` registered (`None`: the
/// application).
fn already_registered(name: String, source: Option<&str>) -> PluginError {
    let existing = match source {
        Some(source) => format!("loaded from `{source}`"),
        None => "registered at run time".to_owned(),
    };
    PluginError::from(PluginErrorKind::AlreadyRegistered { name, existing })
}
