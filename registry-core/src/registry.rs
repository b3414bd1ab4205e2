//! `ModuleRegistry`: the compiled-in index plus what was registered at run time.
//!
//! # How reads and writes meet
//!
//! The compiled-in table is indexed once per process and shared by every registry. What
//! changes at run time (registrations, removals, factories, settings) lives in an immutable
//! [`Overlay`] behind an atomic pointer: a reader loads the pointer and works on that
//! snapshot without taking a lock; a writer copies the overlay, changes the copy and swaps it
//! in, one writer at a time. A reader therefore never waits for a writer and always sees a
//! consistent state. When nothing was registered at run time the overlay is empty and every
//! query goes straight to the index.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use arc_swap::ArcSwap;

use crate::index::Conflict;
use crate::runtime::{AdvancedPluginConfig, RuntimeEntry};
use crate::settings::EMPTY;
use crate::slice::{MODREG_FACTORIES_V0, MODREG_PLUGINS_V0};
use crate::{
    FactoryDescriptor, Plugin, PluginCapabilityQuery, PluginConfig, PluginDiscoveryQuery,
    PluginError, PluginFactoryConfig, PluginIndex, PluginInfo, PluginSettings,
};

/// What was registered, removed or configured at run time.
#[derive(Clone, Default)]
pub(crate) struct Overlay {
    /// Runtime entries by name; they shadow compiled-in plugins of the same name.
    pub(crate) entries: BTreeMap<String, Arc<RuntimeEntry>>,
    /// Compiled-in plugins that were unregistered.
    pub(crate) removed: BTreeSet<String>,
    /// Runtime factory names mapped to compiled-in factories.
    pub(crate) factories: BTreeMap<String, (PluginFactoryConfig, &'static FactoryDescriptor)>,
    /// Settings handed to plugins at construction, by plugin name.
    pub(crate) settings: BTreeMap<String, PluginSettings>,
}

impl Overlay {
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
            && self.removed.is_empty()
            && self.factories.is_empty()
            && self.settings.is_empty()
    }

    fn hides(&self, name: &str) -> bool {
        self.removed.contains(name) || self.entries.contains_key(name)
    }
}

/// The plugin registry: discovery, instantiation and runtime registration.
///
/// Every method takes `&self`; the registry is `Send + Sync` and can be shared behind an
/// `Arc` or a `static`.
///
/// ```
/// use module_registry_core::{plugin, ModuleRegistry, PluginBehavior, PluginDiscoveryQuery, PluginError, PluginType};
///
/// #[plugin(type = Encoding, capabilities = ["reverse"])]
/// #[derive(Default)]
/// struct Reverse;
///
/// impl PluginBehavior for Reverse {
///     fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
///         Ok(data.iter().rev().copied().collect())
///     }
/// }
///
/// let registry = ModuleRegistry::new();
/// let reverse = registry.create_plugin("reverse")?;
/// assert_eq!(reverse.process(b"abc")?, b"cba");
/// let found = registry.discover_plugins(PluginDiscoveryQuery::new().with_type_filter(PluginType::Encoding))?;
/// assert!(found.iter().any(|p| p.name() == "reverse"));
/// # Ok::<(), PluginError>(())
/// ```
pub struct ModuleRegistry {
    index: Arc<PluginIndex>,
    overlay: ArcSwap<Overlay>,
    /// Whether the overlay has anything in it: while it does not, `create_plugin` goes
    /// straight to the index without loading the overlay.
    overlay_in_use: AtomicBool,
    writer: Mutex<()>,
}

impl Default for ModuleRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ModuleRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let overlay = self.overlay.load();
        f.debug_struct("ModuleRegistry")
            .field("compiled_in", &self.index.len())
            .field("runtime", &overlay.entries.len())
            .field("removed", &overlay.removed.len())
            .finish_non_exhaustive()
    }
}

/// The index of the binary's own table, built by the first registry that needs it.
fn global_index() -> Arc<PluginIndex> {
    static GLOBAL: OnceLock<Arc<PluginIndex>> = OnceLock::new();
    GLOBAL.get_or_init(build_global).clone()
}

#[cold]
fn build_global() -> Arc<PluginIndex> {
    let index = PluginIndex::build(MODREG_PLUGINS_V0.iter(), MODREG_FACTORIES_V0.iter());
    for conflict in index.conflicts() {
        tracing::error!(name = conflict.name, first = %conflict.first, second = %conflict.second, "plugin name defined twice; neither definition is used");
    }
    Arc::new(index)
}

impl ModuleRegistry {
    /// A registry over every plugin compiled into this binary.
    pub fn new() -> Self {
        Self::with_index(global_index())
    }

    /// A registry over an index of your own, as tests and benchmarks build.
    pub fn with_index(index: impl Into<Arc<PluginIndex>>) -> Self {
        ModuleRegistry {
            index: index.into(),
            overlay: ArcSwap::from_pointee(Overlay::default()),
            overlay_in_use: AtomicBool::new(false),
            writer: Mutex::new(()),
        }
    }

    /// The compiled-in index.
    pub fn index(&self) -> &PluginIndex {
        &self.index
    }

    /// Compiled-in names claimed by two definitions (neither is used).
    pub fn conflicts(&self) -> &[Conflict] {
        self.index.conflicts()
    }

    /// Fails when a compiled-in name was defined twice, naming both definitions.
    pub fn check(&self) -> Result<(), PluginError> {
        match self.index.conflicts().first() {
            Some(conflict) => Err(conflict.to_error()),
            None => Ok(()),
        }
    }

    /// Fails, naming every absent plugin, unless all of `names` are registered.
    ///
    /// Call it at startup with the plugins your program relies on, so that a plugin crate the
    /// linker dropped is a clear error and not a silent gap.
    ///
    /// ```
    /// use module_registry_core::{ModuleRegistry, PluginError};
    /// let err = ModuleRegistry::new().expect_plugins(["surely-absent"]).unwrap_err();
    /// assert!(matches!(err, PluginError::MissingPlugins { ref missing } if missing == &["surely-absent"]));
    /// ```
    pub fn expect_plugins<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), PluginError> {
        let missing: Vec<String> = names
            .into_iter()
            .filter(|name| self.plugin(name).is_none())
            .map(str::to_owned)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(PluginError::MissingPlugins { missing })
        }
    }

    /// The plugin called `name`, if registered.
    pub fn plugin(&self, name: &str) -> Option<PluginInfo> {
        let overlay = self.overlay.load();
        if let Some(entry) = overlay.entries.get(name) {
            return Some(PluginInfo::runtime(entry.clone()));
        }
        if overlay.removed.contains(name) {
            return None;
        }
        self.index.get(name).map(PluginInfo::compiled)
    }

    /// Every registered plugin, sorted by name.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.collect(|_| true, self.index.entries().iter().copied())
    }

    /// Creates an instance of the plugin called `name`, with its configured settings.
    ///
    /// For a compiled-in plugin this is one hash lookup and a call through a function
    /// pointer.
    #[inline]
    pub fn create_plugin(&self, name: &str) -> Result<Box<dyn Plugin>, PluginError> {
        if !self.overlay_in_use.load(Ordering::Acquire)
            && let Some(descriptor) = self.index.get(name)
        {
            return descriptor.instantiate(&EMPTY);
        }
        self.create_slow(&self.overlay.load(), name)
    }

    #[cold]
    fn create_slow(&self, overlay: &Overlay, name: &str) -> Result<Box<dyn Plugin>, PluginError> {
        let settings = overlay.settings.get(name).unwrap_or(&EMPTY);
        if let Some(entry) = overlay.entries.get(name) {
            self.check_dependencies(overlay, entry)?;
            return entry.instantiate(settings);
        }
        match self.index.get(name) {
            Some(descriptor) if !overlay.removed.contains(name) => descriptor.instantiate(settings),
            _ => Err(self.not_found(name)),
        }
    }

    /// The error for an absent name: a conflict if two definitions claimed it, else
    /// `NotFound` with close names.
    fn not_found(&self, name: &str) -> PluginError {
        if let Some(conflict) = self.index.conflict(name) {
            return conflict.to_error();
        }
        let mut close: Vec<(f64, String)> = self
            .plugins()
            .iter()
            .map(|p| (strsim::jaro_winkler(name, p.name()), p.name().to_owned()))
            .filter(|(score, _)| *score > 0.85)
            .collect();
        close.sort_by(|a, b| b.0.total_cmp(&a.0));
        PluginError::NotFound {
            name: name.to_owned(),
            suggestions: close.into_iter().take(3).map(|(_, n)| n).collect(),
        }
    }

    fn check_dependencies(
        &self,
        overlay: &Overlay,
        entry: &RuntimeEntry,
    ) -> Result<(), PluginError> {
        for spec in &entry.depends_on {
            let dependency = crate::validate::parse_dependency(&entry.name, spec)?;
            let found = overlay
                .entries
                .get(&dependency.name)
                .map(|e| e.version.clone())
                .or_else(|| {
                    (!overlay.removed.contains(&dependency.name))
                        .then(|| {
                            self.index
                                .get(&dependency.name)
                                .map(|d| d.version().to_owned())
                        })
                        .flatten()
                });
            let Some(found) = found else {
                return Err(PluginError::MissingDependency {
                    plugin: entry.name.clone(),
                    dependency: dependency.name,
                });
            };
            let version = crate::validate::parse_version(&dependency.name, &found)?;
            if !dependency.requirement.matches(&version) {
                return Err(PluginError::IncompatibleDependency {
                    plugin: entry.name.clone(),
                    dependency: dependency.name,
                    requirement: spec.clone(),
                    found,
                });
            }
        }
        Ok(())
    }

    /// The plugins matching `query`, sorted by name.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "the specification passes queries by value"
    )]
    pub fn discover_plugins(
        &self,
        query: PluginDiscoveryQuery,
    ) -> Result<Vec<PluginInfo>, PluginError> {
        query.validate()?;
        let candidates: Box<dyn Iterator<Item = _>> = match (query.plugin_type, &query.name_prefix)
        {
            (Some(ty), _) => Box::new(self.index.of_type(ty)),
            (None, Some(prefix)) => Box::new(self.index.with_prefix(prefix).iter().copied()),
            (None, None) => Box::new(self.index.entries().iter().copied()),
        };
        let keep = |p: &PluginInfo| {
            query.plugin_type.is_none_or(|t| p.plugin_type() == t) && query.matches_name(p.name())
        };
        Ok(self.collect(keep, candidates))
    }

    /// The plugins with every required capability, those with more optional capabilities
    /// first, then by name.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "the specification passes queries by value"
    )]
    pub fn discover_plugins_by_capabilities(
        &self,
        query: PluginCapabilityQuery,
    ) -> Result<Vec<PluginInfo>, PluginError> {
        query.validate()?;
        let required: Vec<&str> = query.required.iter().map(String::as_str).collect();
        let of_type = |p: &PluginInfo| query.plugin_type.is_none_or(|t| p.plugin_type() == t);
        let keep = |p: &PluginInfo| {
            // Compiled-in candidates come from the capability index already.
            of_type(p) && (p.is_compiled() || required.iter().all(|c| p.has_capability(c)))
        };
        let mut found = self.collect(keep, self.index.with_capabilities(&required));
        if !query.optional.is_empty() {
            found.sort_by_cached_key(|p| {
                std::cmp::Reverse(
                    query
                        .optional
                        .iter()
                        .filter(|c| p.has_capability(c))
                        .count(),
                )
            });
        }
        Ok(found)
    }

    /// Merges compiled-in candidates (already narrowed by the index) with runtime entries,
    /// keeping those `keep` accepts, sorted by name.
    fn collect(
        &self,
        keep: impl Fn(&PluginInfo) -> bool,
        compiled: impl Iterator<Item = &'static crate::PluginDescriptor>,
    ) -> Vec<PluginInfo> {
        let overlay = self.overlay.load();
        let mut found: Vec<PluginInfo> = compiled
            .filter(|d| !overlay.hides(d.name()))
            .map(PluginInfo::compiled)
            .filter(&keep)
            .collect();
        if !overlay.entries.is_empty() {
            found.extend(
                overlay
                    .entries
                    .values()
                    .map(|e| PluginInfo::runtime(e.clone()))
                    .filter(&keep),
            );
            found.sort_by(|a, b| a.name().cmp(b.name()));
        }
        found
    }

    /// Applies `change` to a copy of the overlay and publishes it; readers keep the old one
    /// until they load again.
    fn update<T>(
        &self,
        change: impl FnOnce(&mut Overlay) -> Result<T, PluginError>,
    ) -> Result<T, PluginError> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = Overlay::clone(&self.overlay.load());
        let out = change(&mut next)?;
        let in_use = !next.is_empty();
        self.overlay.store(Arc::new(next));
        self.overlay_in_use.store(in_use, Ordering::Release);
        Ok(out)
    }

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
    pub fn replace_plugin(
        &self,
        config: impl Into<crate::runtime::Registration>,
    ) -> Result<(), PluginError> {
        self.insert(config.into().0, true)
    }

    fn insert(&self, fields: crate::runtime::Fields, replace: bool) -> Result<(), PluginError> {
        let entry = RuntimeEntry::validate(fields, |name| self.index.get(name))?;
        tracing::debug!(plugin = %entry.name, version = %entry.version, plugin_type = %entry.plugin_type, "registering plugin");
        self.update(|overlay| {
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
        let compiled = self.index.get(name).is_some();
        let result = self.update(|overlay| {
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

    /// Replaces the settings of several plugins in one step.
    pub(crate) fn set_all_plugin_settings(
        &self,
        settings: BTreeMap<String, PluginSettings>,
    ) -> Result<(), PluginError> {
        self.update(|overlay| {
            overlay.settings.extend(settings);
            Ok(())
        })
    }

    /// Registers a factory name backed by a compiled-in `#[plugin_factory]` function, named
    /// by [`with_factory_method`](PluginFactoryConfig::with_factory_method).
    pub fn register_plugin_factory(&self, config: PluginFactoryConfig) -> Result<(), PluginError> {
        let factory = config.resolve(&self.index)?;
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
        let overlay = self.overlay.load();
        let mut names: Vec<String> = overlay.factories.keys().cloned().collect();
        names.extend(self.index.factories().iter().map(|f| f.name().to_owned()));
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
        let overlay = self.overlay.load();
        let factory = overlay
            .factories
            .get(factory_name)
            .map(|(_, f)| *f)
            .or_else(|| self.index.factory(factory_name))
            .ok_or_else(|| PluginError::FactoryNotFound {
                name: factory_name.to_owned(),
                known: self.factory_names(),
            })?;
        factory.create(variant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ModuleRegistry>();
    }
}
