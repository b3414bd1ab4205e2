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

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use arc_swap::ArcSwap;

use crate::overlay::Overlay;

use crate::cache::QueryKey;
use crate::info::{PluginInfo, TypedPluginInfo};
use crate::interest::Interests;
use crate::layer::{Event, Events, Layer, Layers};
use crate::query::{PluginCapabilityQuery, PluginDiscoveryQuery};
use crate::shared_instances::SharedInstances;
use modreg_core::Conflict;
use modreg_core::Plugin;
use modreg_core::PluginError;
use modreg_core::PluginIndex;
use modreg_core::Registry;

/// The environment variable that names the active environment of a new registry.
pub const ENVIRONMENT_VARIABLE: &str = "MODREG_ENVIRONMENT";

/// The plugin registry: discovery, instantiation and runtime registration.
///
/// Every method takes `&self`; the registry is `Send + Sync` and can be shared behind an
/// `Arc` or a `static`.
///
/// ```
/// use modreg_core::{plugin, PluginBehavior, PluginError, PluginType};
/// use modreg_host::{ModuleRegistry, PluginDiscoveryQuery};
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
/// let found = registry.catalog().discover_plugins(PluginDiscoveryQuery::new().with_type_filter(PluginType::Encoding))?;
/// assert!(found.iter().any(|p| p.name() == "reverse"));
/// # Ok::<(), PluginError>(())
/// ```
pub struct ModuleRegistry {
    index: SharedIndex,
    overlay: ArcSwap<Overlay>,
    /// Whether the overlay has anything in it: while it does not, `create_plugin` goes
    /// straight to the index without loading the overlay.
    overlay_in_use: AtomicBool,
    /// Whether a layer's configuration ever changed: from then on creation asks the cached
    /// decisions even while the overlay is empty.
    layers_configured: AtomicBool,
    /// How many times a layer's configuration changed ([`Catalog::layers_revision`](crate::Catalog::layers_revision)).
    layers_revision: AtomicU64,
    /// Whether the overlay registers or removes names: while it does not, `plugin(name)` is
    /// the index's answer.
    names_changed: AtomicBool,
    /// Per compiled-in plugin, what creating it takes under the current configuration:
    /// decided once per change.
    pub(crate) interests: Interests,
    /// Instances handed out by `shared_plugin` while instance sharing is on.
    pub(crate) shared: SharedInstances,
    writer: Mutex<()>,
    /// The layers attached when the registry was built, in the order they wrap (innermost
    /// first).
    layers: Layers,
    /// Cached discovery results, valid for one overlay generation.
    pub(crate) cache: crate::cache::DiscoveryCache,
    /// The registries of users' traits this host was given.
    pub(crate) typed: crate::typed_registries::TypedRegistries,
}

impl Default for ModuleRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl AsRef<ModuleRegistry> for ModuleRegistry {
    fn as_ref(&self) -> &ModuleRegistry {
        self
    }
}

impl std::fmt::Debug for ModuleRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let overlay = self.overlay.load();
        f.debug_struct("ModuleRegistry")
            .field("compiled_in", &self.index.len())
            .field("runtime", &overlay.entries.len())
            .field("removed", &overlay.removed.len())
            .field("switches", &overlay.flags)
            .field("environment", &overlay.environment)
            .field("layers", &self.layers)
            .finish_non_exhaustive()
    }
}

/// The index a registry reads: the binary's own ([`PLUGINS`](modreg_core::PLUGINS)), or one a test
/// or benchmark built.
enum SharedIndex {
    Static(&'static PluginIndex),
    Owned(Arc<PluginIndex>),
}

impl std::ops::Deref for SharedIndex {
    type Target = PluginIndex;

    #[inline]
    fn deref(&self) -> &PluginIndex {
        match self {
            SharedIndex::Static(index) => index,
            SharedIndex::Owned(index) => index,
        }
    }
}

/// The index of the binary's own table; the first call logs its conflicts.
fn global_index() -> &'static PluginIndex {
    static LOGGED: OnceLock<()> = OnceLock::new();
    let index = modreg_core::PLUGINS.index();
    LOGGED.get_or_init(|| {
        for conflict in index.conflicts() {
            tracing::error!(name = conflict.name, first = %conflict.first, second = %conflict.second, "plugin name defined twice; neither definition is used");
        }
    });
    index
}

impl ModuleRegistry {
    /// A registry over every plugin compiled into this binary.
    ///
    /// When the environment variable `MODREG_ENVIRONMENT` is set, its value is the active
    /// environment (see [`Configuration::set_environment`](crate::Configuration::set_environment)).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder: the index to read and the layers to attach.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    fn from_builder(builder: RegistryBuilder) -> Self {
        let own_index = builder.index.is_some();
        let index = builder
            .index
            .map_or_else(|| SharedIndex::Static(global_index()), SharedIndex::Owned);
        let registry = Self::over(index, builder.layers.into());
        if !own_index
            && let Ok(environment) = std::env::var(ENVIRONMENT_VARIABLE)
            && !environment.is_empty()
        {
            // `new` cannot fail: an invalid name is logged and ignored.
            if let Err(error) = registry.set_environment(&environment) {
                tracing::warn!(%error, "ignoring {ENVIRONMENT_VARIABLE}");
            }
        }
        registry
    }

    /// A registry over an index of your own, as tests and benchmarks build.
    pub fn with_index(index: impl Into<Arc<PluginIndex>>) -> Self {
        Self::builder().index(index).build()
    }

    fn over(index: SharedIndex, layers: Layers) -> Self {
        let len = index.len();
        ModuleRegistry {
            index,
            overlay: ArcSwap::from_pointee(Overlay::default()),
            overlay_in_use: AtomicBool::new(false),
            layers_configured: AtomicBool::new(false),
            layers_revision: AtomicU64::new(0),
            names_changed: AtomicBool::new(false),
            interests: Interests::new(len),
            shared: SharedInstances::default(),
            writer: Mutex::new(()),
            layers,
            cache: crate::cache::DiscoveryCache::default(),
            typed: crate::typed_registries::TypedRegistries::default(),
        }
    }

    /// The compiled-in index.
    #[inline]
    pub fn index(&self) -> &PluginIndex {
        &self.index
    }

    /// Whether the overlay has anything in it (while it does not, creation needs no decision).
    #[inline]
    pub(crate) fn overlay_in_use(&self) -> bool {
        self.overlay_in_use.load(Ordering::Acquire)
    }

    /// The attached layers, innermost first.
    pub(crate) fn layers(&self) -> &Layers {
        &self.layers
    }

    /// What tells the attached layers of an event, for code that reports one later, outside
    /// a call on the registry (a sandboxed guest's refused capability).
    pub fn events(&self) -> Events {
        Events(self.layers.clone())
    }

    /// Tells every attached layer that `event` happened: how a layer's own calls (security's
    /// access checks) and a source's (a refused module) reach the others.
    pub fn emit(&self, event: &Event<'_>) {
        for layer in &*self.layers {
            layer.on_event(event);
        }
    }

    /// A layer's configuration changed: every cached decision is made again (the next
    /// creation of each plugin asks the layers), kept shared instances are dropped.
    pub fn layers_changed(&self) {
        // Under the writer's lock, so that it orders with overlay changes.
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.layers_configured.store(true, Ordering::Release);
        self.layers_revision.fetch_add(1, Ordering::AcqRel);
        self.overlay_in_use.store(true, Ordering::Release);
        self.interests.invalidate();
        self.shared.clear();
        self.cache.invalidate();
    }

    /// What [`Catalog::layers_revision`](crate::Catalog::layers_revision) answers.
    pub(crate) fn layers_revision(&self) -> u64 {
        self.layers_revision.load(Ordering::Acquire)
    }

    /// What [`Catalog::conflicts`](crate::Catalog::conflicts) does.
    pub(crate) fn conflicts(&self) -> &[Conflict] {
        self.index.conflicts()
    }

    /// What [`Catalog::check`](crate::Catalog::check) does.
    pub(crate) fn check(&self) -> Result<(), PluginError> {
        if let Some(conflict) = self.index.conflicts().first() {
            return Err(conflict.to_error());
        }
        self.index.order_check()?;
        self.typed.check()
    }

    /// The error for settings or a configuration section naming `name`, which no plugin has:
    /// `NotFound` with the closest names of every registry the host knows.
    pub(crate) fn unknown_plugin(&self, name: &str) -> PluginError {
        let overlay = self.overlay.load();
        let names = self
            .index
            .entries()
            .iter()
            .map(|d| d.name())
            .filter(|n| !overlay.removed.contains(n))
            .chain(overlay.entries.keys())
            .chain(self.typed.plugin_names());
        PluginError::from(modreg_core::PluginErrorKind::NotFound {
            name: name.to_owned(),
            suggestions: modreg_core::__host::close_names(name, names),
        })
    }

    /// What [`Catalog::expect_plugins`](crate::Catalog::expect_plugins) does.
    pub(crate) fn expect_plugins<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), PluginError> {
        modreg_core::__host::expect_all(names, |name| self.plugin(name).is_some())
    }

    /// The plugin called `name`, if registered.
    #[inline]
    pub fn plugin(&self, name: &str) -> Option<PluginInfo> {
        if !self.names_changed.load(Ordering::Acquire) {
            return self.index.get(name).map(PluginInfo::compiled);
        }
        self.resolve_exact(&self.overlay.load(), name)
            .map(crate::target::Target::into_info)
    }

    /// Every registered plugin, sorted by name.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.collect(|_| true, self.index.entries().iter().copied())
    }

    /// Creates an instance of the plugin called `name`, with its configured settings.
    ///
    /// For a compiled-in plugin whose creation path has nothing to do under the current
    /// configuration (decided once per configuration change, per plugin) this is one hash
    /// lookup, one bit (whether its dependencies are met, decided when the index was built),
    /// one atomic load and a call through a function pointer under the panic guard; anything
    /// else takes the full creation path.
    // Always inlined: with `#[inline]` (and the same on `create_at`), a user's crate measured
    // 1.4 to 2 times the time (BENCHMARKS.md, "Round 3, second pass").
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub fn create_plugin(&self, name: &str) -> Result<Box<dyn Plugin>, PluginError> {
        if let Some((position, descriptor)) = self.index.find(name) {
            return self.create_at(position, descriptor, name);
        }
        self.create_by_name(name)
    }

    /// The current overlay snapshot.
    #[inline]
    pub(crate) fn snapshot(&self) -> arc_swap::Guard<Arc<Overlay>> {
        self.overlay.load()
    }

    /// What [`Catalog::discover_plugins`](crate::Catalog::discover_plugins) does.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "the specification passes queries by value"
    )]
    pub(crate) fn discover_plugins(
        &self,
        query: PluginDiscoveryQuery,
    ) -> Result<Vec<PluginInfo>, PluginError> {
        query.validate()?;
        self.cached(
            || QueryKey::Discovery(query.clone()),
            || Ok(self.discover_uncached(&query)),
        )
    }

    /// What [`Catalog::typed_plugins`](crate::Catalog::typed_plugins) does.
    pub(crate) fn typed_plugins<T: ?Sized>(&self, registry: &Registry<T>) -> Vec<TypedPluginInfo> {
        let overlay = self.snapshot();
        let trait_name = registry.sandboxed().map(|abi| abi.trait_name);
        let sandboxed: Vec<TypedPluginInfo> = overlay
            .sandboxed
            .values()
            .filter(|entry| Some(entry.trait_name()) == trait_name)
            .map(|entry| TypedPluginInfo {
                name: entry.name().to_owned(),
                version: entry.version().to_owned(),
                description: entry.description().to_owned(),
                capabilities: entry.capabilities().to_vec(),
                sandboxed: true,
                source: entry.source.as_deref().map(str::to_owned),
            })
            .collect();
        let mut all: Vec<TypedPluginInfo> = registry
            .entries()
            .iter()
            .filter(|d| !sandboxed.iter().any(|s| s.name == d.name()))
            .map(|d| TypedPluginInfo {
                name: d.name().to_owned(),
                version: d.version().to_owned(),
                description: d.description().to_owned(),
                capabilities: d.capabilities().iter().map(|c| (*c).to_owned()).collect(),
                sandboxed: false,
                source: None,
            })
            .collect();
        all.extend(sandboxed);
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    fn discover_uncached(&self, query: &PluginDiscoveryQuery) -> Vec<PluginInfo> {
        let candidates: Box<dyn Iterator<Item = _>> = match (query.plugin_type, &query.name_prefix)
        {
            (Some(ty), _) => Box::new(self.index.of_type(ty)),
            (None, Some(prefix)) => Box::new(self.index.with_prefix(prefix).iter().copied()),
            (None, None) => Box::new(self.index.entries().iter().copied()),
        };
        let keep = |p: &PluginInfo| {
            query.plugin_type.is_none_or(|t| p.plugin_type() == t) && query.matches_name(p.name())
        };
        self.collect(keep, candidates)
    }

    /// What [`Catalog::discover_plugins_by_capabilities`](crate::Catalog::discover_plugins_by_capabilities) does.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "the specification passes queries by value"
    )]
    pub(crate) fn discover_plugins_by_capabilities(
        &self,
        query: PluginCapabilityQuery,
    ) -> Result<Vec<PluginInfo>, PluginError> {
        query.validate()?;
        self.cached(
            || QueryKey::Capabilities(query.clone()),
            || Ok(self.discover_by_capabilities_uncached(&query)),
        )
    }

    /// Answers from the cache when caching is on.
    pub(crate) fn cached(
        &self,
        key: impl FnOnce() -> QueryKey,
        compute: impl FnOnce() -> Result<Vec<PluginInfo>, PluginError>,
    ) -> Result<Vec<PluginInfo>, PluginError> {
        if !self.overlay_in_use.load(Ordering::Acquire) {
            return compute();
        }
        let overlay = self.overlay.load();
        if !(overlay.flags.debug_mode || overlay.flags.caching) {
            return compute();
        }
        let key = key();
        if overlay.flags.debug_mode {
            tracing::debug!(query = ?key, "discovery");
        }
        if overlay.flags.caching {
            self.cache
                .get_or_compute(key, compute)
                .map(|shared| shared.to_vec())
        } else {
            compute()
        }
    }

    fn discover_by_capabilities_uncached(&self, query: &PluginCapabilityQuery) -> Vec<PluginInfo> {
        let required = &query.required;
        let of_type = |p: &PluginInfo| query.plugin_type.is_none_or(|t| p.plugin_type() == t);
        let keep = |p: &PluginInfo| {
            // Compiled-in candidates come from the capability index already.
            of_type(p) && (p.is_compiled() || required.iter().all(|c| p.has_capability(c)))
        };
        let mut found = self.collect(keep, self.index.matching(required));
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
        found
    }

    /// Merges compiled-in candidates (already narrowed by the index) with runtime entries,
    /// keeping those `keep` accepts, sorted by name.
    fn collect(
        &self,
        keep: impl Fn(&PluginInfo) -> bool,
        compiled: impl Iterator<Item = &'static modreg_core::PluginDescriptor>,
    ) -> Vec<PluginInfo> {
        if !self.names_changed.load(Ordering::Acquire) {
            // Nothing registered or removed at run time: the index's answer is the answer.
            // Internal iteration: the capability iterator walks its bitsets in one loop.
            let mut found = Vec::new();
            compiled.for_each(|d| {
                let info = PluginInfo::compiled(d);
                if keep(&info) {
                    found.push(info);
                }
            });
            return found;
        }
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
    pub(crate) fn update<T>(
        &self,
        change: impl FnOnce(&mut Overlay) -> Result<T, PluginError>,
    ) -> Result<T, PluginError> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = Overlay::clone(&self.overlay.load());
        let out = change(&mut next)?;
        next.refresh_flags();
        // Once a layer was configured, creation asks the cached decisions whatever the
        // overlay holds.
        let in_use = !next.is_empty() || self.layers_configured.load(Ordering::Acquire);
        let names_changed = !(next.entries.is_empty() && next.removed.is_empty());
        self.overlay.store(Arc::new(next));
        self.overlay_in_use.store(in_use, Ordering::Release);
        self.names_changed.store(names_changed, Ordering::Release);
        self.interests.invalidate();
        self.shared.clear();
        self.cache.invalidate();
        Ok(out)
    }
}

/// Builds a [`ModuleRegistry`]: the index it reads and the layers it asks.
///
/// ```
/// use modreg_host::ModuleRegistry;
/// let registry = ModuleRegistry::builder().build();
/// assert!(registry.catalog().check().is_ok());
/// ```
#[derive(Default)]
#[must_use]
pub struct RegistryBuilder {
    index: Option<Arc<PluginIndex>>,
    layers: Vec<Arc<dyn Layer>>,
}

impl std::fmt::Debug for RegistryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryBuilder")
            .field("own_index", &self.index.is_some())
            .field("layers", &self.layers)
            .finish()
    }
}

impl RegistryBuilder {
    /// Reads `index` instead of the binary's own table (as tests and benchmarks do).
    pub fn index(mut self, index: impl Into<Arc<PluginIndex>>) -> Self {
        self.index = Some(index.into());
        self
    }

    /// Attaches `layer`; layers wrap instances in the order they are attached, innermost
    /// first.
    pub fn layer(mut self, layer: Arc<dyn Layer>) -> Self {
        self.layers.push(layer);
        self
    }

    /// The registry. Over the binary's own table, when the environment variable
    /// `MODREG_ENVIRONMENT` is set, its value is the active environment.
    pub fn build(self) -> ModuleRegistry {
        ModuleRegistry::from_builder(self)
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
