//! The runtime of module-registry: a plugin registry filled at link time.
//!
//! # What is a plugin
//!
//! A [`Plugin`] has a name, a version, a [`PluginType`] and capabilities, and processes
//! bytes. Mark a struct with [`#[plugin]`](plugin) and implement [`PluginBehavior`]; the
//! attribute writes the rest.
//!
//! # How registration works
//!
//! `#[plugin]` emits one `const` [`PluginDescriptor`] into a link-time distributed slice
//! (`linkme`): no constructor runs before `main`, nothing is allocated. The first
//! [`ModuleRegistry`] to be created sorts that slice once into a [`PluginIndex`]; every
//! registry in the process shares it. Runtime registration ([`PluginConfig`]) adds to an
//! overlay on top, read without locks.
//!
//! # Performance
//!
//! A lookup by name is one hash of the name; a lookup by type returns a precomputed range;
//! a capability query ANDs one bitset per required capability; creating a plugin is a call
//! through the descriptor's function pointer. `BENCHMARKS.md` at the repository root has the
//! figures, measured side by side with a `HashMap` registry and a linear scan.
//!
//! ```
//! use module_registry_core::{plugin, ModuleRegistry, PluginBehavior, PluginCapabilityQuery, PluginError};
//!
//! #[plugin(type = DataProcessor, capabilities = ["processing", "trim"])]
//! #[derive(Default)]
//! struct Trim;
//!
//! impl PluginBehavior for Trim {
//!     fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
//!         Ok(data.trim_ascii().to_vec())
//!     }
//! }
//!
//! let registry = ModuleRegistry::new();
//! let found = registry.discover_plugins_by_capabilities(
//!     PluginCapabilityQuery::new().with_required_capabilities(["trim"]),
//! )?;
//! assert_eq!(found[0].name(), "trim");
//! assert_eq!(registry.create_plugin("trim")?.process(b"  x ")?, b"x");
//! # Ok::<(), PluginError>(())
//! ```

#![warn(missing_docs)]

extern crate self as module_registry_core;

mod advanced;
mod cache;
mod config_file;
mod configuration;
mod descriptor;
mod error;
mod factory;
mod guarded;
mod index;
mod info;
mod instantiate;
mod lifecycle;
mod metrics;
mod monitoring;
mod plugin;
mod plugin_type;
mod query;
mod registration;
mod registry;
mod runtime;
pub mod sandbox;
mod security;
mod semantic;
mod settings;
mod slice;
mod system;
pub mod validate;

pub use crate::advanced::{
    AdvancedPlugin, AdvancedPluginInstance, AdvancedPluginInstantiationConfig, PluginContext,
    PluginState,
};
pub use crate::cache::CacheStats;
pub use crate::config_file::ConfigFile;
pub use crate::configuration::{
    AdvancedPluginConfiguration, EnvironmentPluginConfiguration, PluginConfiguration, SystemFlags,
};
pub use crate::descriptor::{
    Constructor, FactoryDescriptor, FactoryFn, PluginDescriptor, SourceLocation,
};
pub use crate::error::PluginError;
pub use crate::factory::PluginFactoryConfig;
pub use crate::index::{Conflict, PluginIndex};
pub use crate::info::{PluginInfo, PluginOrigin};
pub use crate::lifecycle::{LifecycleState, PluginManager};
pub use crate::metrics::{MetricsRecorder, PluginMetrics};
pub use crate::monitoring::{
    AdvancedPluginMonitoringConfig, Alert, AlertKind, AlertRules, HEALTH_HISTORY, HealthCounts,
    HealthMonitor, HealthReport, HealthStatus, PluginHealthMonitoringConfig,
    PluginMonitoringConfig,
};
pub use crate::plugin::{Plugin, PluginBehavior};
pub use crate::plugin_type::PluginType;
pub use crate::query::{PluginCapabilityQuery, PluginDiscoveryQuery};
pub use crate::registry::{ENVIRONMENT_VARIABLE, ModuleRegistry};
pub use crate::runtime::{
    AdvancedPluginConfig, DynAdvancedConstructor, DynConstructor, PluginConfig, Registration,
};
pub use crate::security::{
    AUDIT_CAPACITY, AccessDecision, AccessMetrics, AccessScope, AdvancedPluginSecurityConfig,
    AuditEntry, Operation, PluginAccessControlConfig, PluginSecurityConfig, Principal, Role,
    SandboxLimits, SecretKey, SignedManifest, TrustedKey,
};
pub use crate::semantic::{PluginSemanticQuery, ScoredPlugin};
pub use crate::settings::PluginSettings;
pub use crate::slice::BACKEND;
#[cfg(not(feature = "inventory"))]
pub use crate::slice::{MODREG_FACTORIES_V0, MODREG_PLUGINS_V0};

pub use module_registry_macros::{plugin, plugin_factory};

/// Defines `pub fn link()` in a plugin crate. A host that calls `the_crate::link()` (or writes
/// `use the_crate as _;`) keeps every `#[plugin]` of that crate in its binary; a crate the
/// host never names is left out by the linker.
///
/// ```
/// // In the plugin crate's lib.rs:
/// module_registry_core::link_anchor!();
/// // In the host's main: `my_plugins::link();`
/// link();
/// ```
#[macro_export]
macro_rules! link_anchor {
    () => {
        /// Keeps this crate's plugins in the binary that calls it; it does nothing else.
        #[inline(never)]
        pub fn link() {
            $crate::__private::keep_linked(::core::module_path!());
        }
    };
}

// Not public API. Used by generated code.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "inventory")]
    pub use inventory;
    pub use linkme;
    pub use std::boxed::Box;
    pub use std::option::Option;
    pub use std::result::Result;
    pub use std::string::String;
    pub use std::vec::Vec;

    pub use crate::descriptor::FactoryFn;
    #[cfg(feature = "inventory")]
    pub use crate::slice::{FactoryEntry, PluginEntry};
    #[cfg(not(feature = "inventory"))]
    pub use crate::slice::{MODREG_FACTORIES_V0, MODREG_PLUGINS_V0};
    pub use crate::{__submit_factory as submit_factory, __submit_plugin as submit_plugin};
    pub use crate::{
        FactoryDescriptor, HealthStatus, Plugin, PluginBehavior, PluginDescriptor, PluginError,
        PluginSettings, PluginType, SourceLocation,
    };

    /// The capabilities of a `#[plugin]` as `String`s, made once per descriptor and kept
    /// for the life of the program (one small allocation per plugin that is asked).
    pub fn capabilities_of(descriptor: &'static PluginDescriptor) -> &'static [String] {
        use std::collections::HashMap;
        use std::sync::{OnceLock, PoisonError, RwLock};
        type Cache = RwLock<HashMap<usize, &'static [String]>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(Cache::default);
        let key = std::ptr::from_ref(descriptor).addr();
        if let Some(found) = cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return found;
        }
        let mut cache = cache.write().unwrap_or_else(PoisonError::into_inner);
        let found: &mut &'static [String] = cache.entry(key).or_insert_with(|| {
            let owned: Vec<String> = descriptor
                .capabilities()
                .iter()
                .map(|c| (*c).to_owned())
                .collect();
            Box::leak(owned.into_boxed_slice())
        });
        found
    }

    /// What `link_anchor!`'s `link()` calls: an opaque use of the crate's name.
    #[inline(never)]
    pub fn keep_linked(crate_path: &'static str) {
        std::hint::black_box(crate_path);
    }

    /// The infallible constructor of a `#[plugin]` without `config`.
    pub fn make_default<T: Plugin + Default + 'static>() -> Box<dyn Plugin> {
        Box::new(T::default())
    }

    /// The constructor of a `#[plugin]` without `config`.
    pub fn construct_default<T: Plugin + Default + 'static>(
        _: &PluginSettings,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        Ok(Box::new(T::default()))
    }

    /// Reads the settings of `plugin` into its `config` type.
    pub fn read_config<C: serde::de::DeserializeOwned>(
        plugin: &str,
        settings: &PluginSettings,
    ) -> Result<C, PluginError> {
        settings.deserialize(plugin)
    }
}
