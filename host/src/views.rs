//! The host's calls grouped by what they are about, each a view of the registry that
//! `ModuleRegistry` hands out: [`Catalog`] (what is registered), [`Registrations`] (changing
//! it at run time), [`Configuration`] (switches, environments, files), [`Instances`] (creating
//! beyond `create_plugin`). The registry's own type
//! keeps the calls of the hot path and of the seam; the facade `modreg` offers the
//! specification's calls on its `ModuleRegistry` as well.
//!
//! Each view is a borrowed registry; its methods are the registry's, documented here.

use std::sync::Arc;

#[cfg(doc)]
use modreg_core::PluginErrorKind;
use modreg_core::{Conflict, Plugin, PluginError, PluginSettings, PluginType, Registry};

use crate::advanced::{AdvancedPluginInstance, AdvancedPluginInstantiationConfig};
use crate::cache::CacheStats;
#[cfg(feature = "toml")]
use crate::config_file::ConfigFile;
use crate::configuration::{
    AdvancedPluginConfiguration, EnvironmentPluginConfiguration, PluginConfiguration,
};
use crate::factory::PluginFactoryConfig;
use crate::handle::PluginHandle;
use crate::info::{PluginInfo, TypedPluginInfo};
use crate::instantiate::PluginInstantiationConfig;
use crate::layer::Proof;
use crate::query::{PluginCapabilityQuery, PluginDiscoveryQuery};
use crate::registration::SignedChange;
use crate::registry::ModuleRegistry;
use crate::runtime::{AdvancedPluginConfig, PluginConfig, Registration};
use crate::sandboxed::SandboxedRegistration;
use crate::shared::SharedHandle;

impl ModuleRegistry {
    /// What is registered, found by queries.
    #[inline]
    pub fn catalog(&self) -> Catalog<'_> {
        Catalog(self)
    }

    /// Changing what is registered at run time.
    #[inline]
    pub fn registrations(&self) -> Registrations<'_> {
        Registrations(self)
    }

    /// The host's switches, environments and configuration files.
    #[inline]
    pub fn configuration(&self) -> Configuration<'_> {
        Configuration(self)
    }

    /// Creating instances beyond [`create_plugin`](ModuleRegistry::create_plugin).
    #[inline]
    pub fn instances(&self) -> Instances<'_> {
        Instances(self)
    }
}

/// What is registered, found by queries: discovery, factory names, conflicts, the discovery cache.
///
/// Made by [`ModuleRegistry::catalog`].
#[derive(Clone, Copy, Debug)]
pub struct Catalog<'r>(pub(crate) &'r ModuleRegistry);

impl Catalog<'_> {
    /// A number that changes whenever what the registry holds or how it is configured
    /// changes (a registration, a removal, settings, a layer's configuration): a source that
    /// refused something because of the registry's state (a name held elsewhere) asks again
    /// once it differs from the one it saw.
    pub fn revision(&self) -> u64 {
        self.0.cache.generation()
    }

    /// A number that changes whenever a layer's configuration changes (a trusted key, a
    /// role, a switch): a source that a layer refused something asks again once it differs
    /// from the one it saw. Each such change changes [`revision`](Self::revision) too.
    pub fn layers_revision(&self) -> u64 {
        self.0.layers_revision()
    }

    /// The plugins matching `query`, sorted by name.
    pub fn discover_plugins(
        &self,
        query: PluginDiscoveryQuery,
    ) -> Result<Vec<PluginInfo>, PluginError> {
        self.0.discover_plugins(query)
    }

    /// The plugins with every required capability, those with more optional capabilities
    /// first, then by name.
    pub fn discover_plugins_by_capabilities(
        &self,
        query: PluginCapabilityQuery,
    ) -> Result<Vec<PluginInfo>, PluginError> {
        self.0.discover_plugins_by_capabilities(query)
    }

    /// Fails when a compiled-in name was defined twice (naming both definitions), or the
    /// `before`/`after` of the compiled-in plugins cannot be met; the same for every registry
    /// of a user's trait given to [`Registrations::add_registry`].
    pub fn check(&self) -> Result<(), PluginError> {
        self.0.check()
    }

    /// Compiled-in names claimed by two definitions (neither is used).
    pub fn conflicts(&self) -> &[Conflict] {
        self.0.conflicts()
    }

    /// Fails, naming every absent plugin, unless all of `names` are registered.
    ///
    /// Call it at startup with the plugins your program relies on, so that a plugin crate the
    /// linker dropped is a clear error and not a silent gap.
    ///
    /// ```
    /// use modreg_core::{PluginError, PluginErrorKind};
    /// use modreg_host::ModuleRegistry;
    /// let err = ModuleRegistry::new().catalog().expect_plugins(["surely-absent"]).unwrap_err();
    /// assert!(matches!(err.kind(), PluginErrorKind::MissingPlugins { missing } if missing == &["surely-absent"]));
    /// ```
    pub fn expect_plugins<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), PluginError> {
        self.0.expect_plugins(names)
    }

    /// How often discovery was answered from the cache.
    pub fn cache_stats(&self) -> CacheStats {
        self.0.cache_stats()
    }

    /// The factory names known: registered at run time and compiled in.
    pub fn factory_names(&self) -> Vec<String> {
        self.0.factory_names()
    }

    /// Every plugin [`Instances::create_from`] finds in `registry`, sorted by name: its
    /// compiled-in plugins and, for a `#[sandboxed]` trait, those a source registered (which
    /// take the place of a compiled-in plugin of their name).
    ///
    /// ```
    /// use modreg_core::{plugin, registry};
    /// use modreg_host::ModuleRegistry;
    ///
    /// pub trait Greeter: Send + Sync { fn greet(&self) -> String; }
    /// registry!(pub GREETERS: dyn Greeter);
    ///
    /// #[plugin(registry = GREETERS, capabilities = ["polite"])]
    /// #[derive(Default)]
    /// struct Formal;
    /// impl Greeter for Formal { fn greet(&self) -> String { "Good day.".into() } }
    ///
    /// # fn main() {
    /// let host = ModuleRegistry::new();
    /// let found = host.catalog().typed_plugins(&GREETERS);
    /// assert_eq!(found.len(), 1);
    /// assert!(found[0].has_capabilities(&["polite"]) && !found[0].sandboxed);
    /// # }
    /// ```
    pub fn typed_plugins<T: ?Sized>(&self, registry: &Registry<T>) -> Vec<TypedPluginInfo> {
        self.0.typed_plugins(registry)
    }
}

/// Changing what is registered at run time: registrations, removals, settings, factories, signed changes.
///
/// Made by [`ModuleRegistry::registrations`].
#[derive(Clone, Copy, Debug)]
pub struct Registrations<'r>(pub(crate) &'r ModuleRegistry);

impl Registrations<'_> {
    /// Registers a plugin at run time. A name registered at run time already is refused
    /// ([`PluginErrorKind::AlreadyRegistered`]); a compiled-in plugin of the same name lends its
    /// implementation when type and version agree.
    pub fn register_plugin(&self, config: PluginConfig) -> Result<(), PluginError> {
        self.0.register_plugin(config)
    }

    /// Registers a plugin with dependencies and metadata. Dependencies are checked when the
    /// plugin is created, not now, so they may be registered later.
    pub fn register_advanced_plugin(
        &self,
        config: AdvancedPluginConfig,
    ) -> Result<(), PluginError> {
        self.0.register_advanced_plugin(config)
    }

    /// Registers a plugin, replacing a runtime entry of the same name if there is one.
    pub fn replace_plugin(&self, config: impl Into<Registration>) -> Result<(), PluginError> {
        self.0.replace_plugin(config)
    }

    /// Registers every plugin in `configs` at once: all of them, or, if any is invalid,
    /// refused, names already taken or a dependency cycle, none of them.
    ///
    /// One snapshot is published for the whole batch, so readers see all of it or none.
    ///
    /// ```
    /// use modreg_core::PluginType;
    /// use modreg_host::{ModuleRegistry, PluginConfig};
    ///
    /// let registry = ModuleRegistry::new();
    /// registry.registrations().register_plugins((0..3).map(|i| {
    ///     PluginConfig::new()
    ///         .with_name(format!("shard-{i}"))
    ///         .with_version("1.0.0")
    ///         .with_type(PluginType::Storage)
    /// }))?;
    /// assert!(registry.plugin("shard-2").is_some());
    /// # Ok::<(), modreg_core::PluginError>(())
    /// ```
    pub fn register_plugins<I>(&self, configs: I) -> Result<(), PluginError>
    where
        I: IntoIterator,
        I::Item: Into<Registration>,
    {
        self.0.register_plugins(configs)
    }

    /// Removes a plugin, compiled in or registered at run time.
    ///
    /// While authentication is on, this is refused as unsigned: a removal is a signed
    /// manifest with `action = "unregister"` (see `register_signed_manifest`).
    pub fn unregister_plugin(&self, name: &str) -> Result<(), PluginError> {
        self.0.unregister_plugin(name)
    }

    /// Sets the settings `name` is constructed with from now on.
    ///
    /// While authentication is on, this is refused as unsigned: settings arrive as a signed
    /// manifest with `action = "settings"` (see `register_signed_manifest`).
    ///
    /// `name` must be a plugin of this registry (compiled in or registered at run time):
    /// settings for any other name are refused with `NotFound` rather than kept for nothing.
    /// A plugin's settings go with it when it is removed.
    pub fn set_plugin_settings(
        &self,
        name: &str,
        settings: PluginSettings,
    ) -> Result<(), PluginError> {
        self.0.set_plugin_settings(name, settings)
    }

    /// Sets the settings the plugin `name` of the typed registry `registry` is built with by
    /// [`Instances::create_from`]; `name` must be in `registry`.
    pub fn set_typed_plugin_settings<T: ?Sized>(
        &self,
        registry: &Registry<T>,
        name: &str,
        settings: PluginSettings,
    ) -> Result<(), PluginError> {
        self.0.set_typed_plugin_settings(registry, name, settings)
    }

    /// Makes the registry of a user's trait known to this host: from now on configuration
    /// files and [`set_plugin_settings`](Self::set_plugin_settings) accept its plugins' names
    /// (and suggest them for a typo), and [`Catalog::check`] reports its duplicates and an
    /// impossible order. Adding a registry twice changes nothing.
    ///
    /// ```
    /// use modreg_core::{plugin, registry, PluginError, PluginSettings};
    /// use modreg_host::ModuleRegistry;
    ///
    /// pub trait Greeter: Send + Sync { fn greet(&self) -> String; }
    /// registry!(pub GREETERS: dyn Greeter);
    ///
    /// #[plugin(registry = GREETERS)]
    /// #[derive(Default)]
    /// struct Formal;
    /// impl Greeter for Formal { fn greet(&self) -> String { "Good day.".into() } }
    ///
    /// # fn main() -> Result<(), PluginError> {
    /// let host = ModuleRegistry::new();
    /// host.registrations().add_registry(&GREETERS);
    /// host.registrations().set_plugin_settings("formal", PluginSettings::new())?;
    /// let typo = host.registrations().set_plugin_settings("formla", PluginSettings::new());
    /// assert!(typo.unwrap_err().to_string().contains("did you mean `formal`"));
    /// host.catalog().check()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_registry<T: ?Sized + 'static>(&self, registry: &'static Registry<T>) {
        self.0.typed.add(registry);
        // What the host serves changed: a source refused a plugin of that trait asks again.
        self.0.cache.invalidate();
    }

    /// Registers a factory name backed by a compiled-in `#[plugin_factory]` function, named
    /// by [`with_factory_method`](PluginFactoryConfig::with_factory_method).
    pub fn register_plugin_factory(&self, config: PluginFactoryConfig) -> Result<(), PluginError> {
        self.0.register_plugin_factory(config)
    }

    /// Asks the layers whether the source `name` (a WebAssembly module) may be read at all,
    /// with the `proof` it arrived with: a loader calls it before it parses, compiles or runs
    /// any of the source's bytes, so a layer that authenticates changes (security, with
    /// authentication on) refuses an unsigned or forged source before a compiler sees it.
    /// Nothing changes; each plugin the source holds is checked again when it is registered
    /// ([`register_batch`](Self::register_batch)).
    pub fn admit_source(&self, name: &str, proof: Option<Proof<'_>>) -> Result<(), PluginError> {
        self.0.admit_source(name, proof)
    }

    /// Asks the layers whether the source `source`, already admitted
    /// ([`admit_source`](Self::admit_source)), may declare the entry `name` of `plugin_type`
    /// (`None` for a typed plugin, whose registration gives none): a loader calls it for each
    /// plugin the source lists, after reading that list and before compiling or running any
    /// of the source's code, so a registration the layers would refuse (security, under
    /// access control: a principal not allowed to register it) stops the source before its
    /// code costs anything. Nothing changes; the registration is checked again when made.
    pub fn declare(
        &self,
        source: &str,
        name: &str,
        plugin_type: Option<PluginType>,
    ) -> Result<(), PluginError> {
        self.0.declare(source, name, plugin_type)
    }

    /// Registers what the source `source` (a WebAssembly module, by its name) holds now: its
    /// plugins (`batch`) and its plugins of users' own `#[sandboxed]` traits (`sandboxed`), in
    /// one snapshot or not at all. What the source registered before and no longer holds goes
    /// in the same snapshot. A source owns what it registered, until another hand removes or
    /// replaces it: a name held by the application or by another source is refused
    /// (`AlreadyRegistered`, naming the holder), so a source never takes or removes what is
    /// not its own.
    ///
    /// The layers check each registration and each removal with `proof` (the source's
    /// signature, if it has one). Each typed plugin's trait must be that of a registry given
    /// to [`add_registry`](Self::add_registry), with the same fingerprint (`TraitNotServed`,
    /// `TraitMismatch` otherwise); [`Instances::create_from`] finds it.
    pub fn register_batch(
        &self,
        source: &str,
        batch: Vec<Registration>,
        sandboxed: Vec<SandboxedRegistration>,
        proof: Option<Proof<'_>>,
    ) -> Result<(), PluginError> {
        self.0.register_loaded(source, batch, sandboxed, proof)
    }

    /// Removes every entry the source `source` registered and still holds
    /// ([`register_batch`](Self::register_batch)), all or none, each checked by the layers
    /// with `proof`; a compiled-in plugin one of them shadowed is found again. Answers the
    /// names removed.
    pub fn withdraw(
        &self,
        source: &str,
        proof: Option<Proof<'_>>,
    ) -> Result<Vec<String>, PluginError> {
        self.0.withdraw(source, proof)
    }

    /// Makes the change an artifact (a manifest) asks for, with its signature if it has one:
    /// the layers check it as they check any change, and a layer that authenticates changes
    /// verifies the proof (security, with authentication on, refuses one without).
    pub fn apply_signed(
        &self,
        change: SignedChange,
        proof: Option<Proof<'_>>,
    ) -> Result<(), PluginError> {
        self.0.apply_signed(change, proof)
    }
}

/// The host's switches, environments and configuration files.
///
/// Made by [`ModuleRegistry::configuration`].
#[derive(Clone, Copy, Debug)]
pub struct Configuration<'r>(pub(crate) &'r ModuleRegistry);

impl Configuration<'_> {
    /// Sets the basic switches: plugin loading and validation. Monitoring is the monitoring
    /// layer's switch: this registry alone has none, so switching it on is refused
    /// (`modreg::ModuleRegistry` hands it to its layer).
    ///
    /// ```
    /// use modreg_core::{PluginError, PluginErrorKind};
    /// use modreg_host::{ModuleRegistry, PluginConfiguration};
    ///
    /// let registry = ModuleRegistry::new();
    /// registry.configuration().configure_plugin_system(PluginConfiguration::new().with_plugin_loading(false))?;
    /// assert!(matches!(registry.create_plugin("anything").map_err(PluginError::into_kind), Err(PluginErrorKind::Disabled { .. })));
    /// # Ok::<(), PluginError>(())
    /// ```
    pub fn configure_plugin_system(&self, config: PluginConfiguration) -> Result<(), PluginError> {
        self.0.configure_plugin_system(config)
    }

    /// Sets every switch the advanced configuration names.
    pub fn configure_advanced_plugin_system(
        &self,
        config: AdvancedPluginConfiguration,
    ) -> Result<(), PluginError> {
        self.0.configure_advanced_plugin_system(config)
    }

    /// Stores the profile of `environment`; it applies while that environment is active.
    pub fn configure_environment_plugin_system(
        &self,
        environment: &str,
        config: EnvironmentPluginConfiguration,
    ) -> Result<(), PluginError> {
        self.0
            .configure_environment_plugin_system(environment, config)
    }

    /// Makes `environment` the active one (its profile need not be configured yet). A new
    /// registry starts in the environment named by `MODREG_ENVIRONMENT`, if set.
    pub fn set_environment(&self, environment: &str) -> Result<(), PluginError> {
        self.0.set_environment(environment)
    }

    /// Leaves every environment: only the base switches apply.
    pub fn clear_environment(&self) -> Result<(), PluginError> {
        self.0.clear_environment()
    }

    /// The active environment.
    pub fn environment(&self) -> Option<String> {
        self.0.environment()
    }

    /// Applies a configuration file: every section must name a registered plugin. Nothing
    /// is applied unless the whole file is valid.
    #[cfg(feature = "toml")]
    pub fn apply_config_file(&self, origin: &str, file: ConfigFile) -> Result<(), PluginError> {
        self.0.apply_config_file(origin, file)
    }
}

/// Creating instances beyond `create_plugin`: with settings, advanced, from a factory, from a typed registry, handles and shared instances.
///
/// Made by [`ModuleRegistry::instances`].
#[derive(Clone, Copy, Debug)]
pub struct Instances<'r>(pub(crate) &'r ModuleRegistry);

impl<'r> Instances<'r> {
    /// Creates `name` as `config` asks, on the creation path of `create_plugin`: its settings
    /// replace the configured ones, and it may ask for validation, monitoring and
    /// initialization beyond the registry's switches (never for less).
    pub fn create_plugin_with(
        &self,
        name: &str,
        config: PluginInstantiationConfig,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        self.0.create_plugin_with(name, config)
    }

    /// Creates `name` prepared as `config` asks: with its context and configuration,
    /// validated, monitored and initialized as switched on.
    ///
    /// The configuration's settings, when it has any, are the settings the plugin is built
    /// with. A plugin registered with `with_advanced_constructor` receives the context and
    /// configuration through `set_context` and `set_configuration`; the registry keeps its
    /// `state` (initialized after `initialize`, not after `cleanup`) and, when it is monitored,
    /// hands it its metrics with `update_metrics` at `cleanup`.
    pub fn create_advanced_plugin(
        &self,
        name: &str,
        config: AdvancedPluginInstantiationConfig,
    ) -> Result<AdvancedPluginInstance, PluginError> {
        self.0.create_advanced_plugin(name, config)
    }

    /// Creates the plugin `variant` with the factory called `factory_name`, on the creation
    /// path: loading, the panic guard, the factory's declared type, the dependencies and
    /// permissions of the plugin it made (its compiled-in entry), then monitoring and the
    /// sandbox.
    ///
    /// A factory's function runs before its product's permissions are known; the product is
    /// refused before the caller can call it.
    pub fn create_plugin_from_factory(
        &self,
        factory_name: &str,
        variant: &str,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        self.0.create_plugin_from_factory(factory_name, variant)
    }

    /// Creates `name` from a registry of another trait (declared with `registry!`), under this
    /// registry's policies: plugin loading, then what the registry of `T` decided when it was
    /// indexed (a duplicate name, an unmet `depends_on` in its own table), then the layers'
    /// checks (security: the permissions the plugin declares), then its constructor under
    /// the panic guard with the settings configured for `name` (sealed ones opened, and kept
    /// out of errors).
    ///
    /// Instances of another trait are not wrapped: metrics, per-call logging and the sandbox
    /// need the trait's methods, which only `dyn Plugin` has here.
    ///
    /// ```
    /// use modreg_core::{plugin, registry, PluginError, PluginErrorKind};
    /// use modreg_host::{ModuleRegistry, PluginConfiguration};
    ///
    /// pub trait Greeter: Send + Sync { fn greet(&self) -> String; }
    /// registry!(pub GREETERS: dyn Greeter);
    ///
    /// #[plugin(registry = GREETERS)]
    /// #[derive(Default)]
    /// struct Hello;
    /// impl Greeter for Hello { fn greet(&self) -> String { "hello".into() } }
    ///
    /// # fn main() -> Result<(), PluginError> {
    /// let host = ModuleRegistry::new();
    /// assert_eq!(host.instances().create_from(&GREETERS, "hello")?.greet(), "hello");
    /// host.configuration().configure_plugin_system(PluginConfiguration::new().with_plugin_loading(false))?;
    /// assert!(matches!(host.instances().create_from(&GREETERS, "hello").map_err(PluginError::into_kind), Err(PluginErrorKind::Disabled { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_from<T: ?Sized>(
        &self,
        registry: &Registry<T>,
        name: &str,
    ) -> Result<Box<T>, PluginError> {
        self.0.create_from(registry, name)
    }

    /// The plugins of `registry` called together in run order (see [`FanOut`]), each created
    /// as [`create_from`](Self::create_from) creates it: under the host's switches, layers
    /// and settings. The plugins of a `#[sandboxed]` trait that a source loaded and the
    /// registry's table does not hold are called too, after the table's, by name
    /// ([`FanOut::with_more`]).
    ///
    /// [`FanOut`]: modreg_core::FanOut
    /// [`FanOut::with_more`]: modreg_core::FanOut::with_more
    pub fn fan_out<T: ?Sized>(
        &self,
        registry: &'r Registry<T>,
    ) -> modreg_core::FanOut<'r, T, impl Fn(&str) -> Result<Box<T>, PluginError> + 'r> {
        let host = self.0;
        modreg_core::FanOut::new(registry, move |name| host.create_from(registry, name))
            .with_more(host.sandboxed_only(registry))
    }

    /// Resolves `name` once, for creating it many times: [`PluginHandle::create`] skips the
    /// name lookup and nothing else. Fails as `create_plugin` would when no plugin has that
    /// name.
    pub fn handle(&self, name: &'r str) -> Result<PluginHandle<'r>, PluginError> {
        self.0.handle(name)
    }

    /// Takes one shared instance of `name` (as [`shared_plugin`](Self::shared_plugin) gives
    /// it) and keeps it in a handle whose [`get`](SharedHandle::get) costs one atomic load
    /// while the configuration does not change. Fails as `shared_plugin` would.
    pub fn shared_handle(&self, name: &'r str) -> Result<SharedHandle<'r>, PluginError> {
        self.0.shared_handle(name)
    }

    /// An instance of `name` to share between callers and threads.
    ///
    /// With instance sharing on (`AdvancedPluginConfiguration::with_instance_sharing(true)`
    /// through `configure_advanced_plugin_system`) this is the same instance on every call until the
    /// configuration changes, and costs a read lock and a reference count; otherwise a new
    /// instance each call. Instances come from [`create_plugin`](ModuleRegistry::create_plugin), with
    /// every policy applied; they are not initialized (as `create_plugin`'s are not).
    pub fn shared_plugin(&self, name: &str) -> Result<Arc<dyn Plugin>, PluginError> {
        self.0.shared_plugin(name)
    }
}
