//! The plugin host of module-registry: [`ModuleRegistry`] over the compiled-in tables of
//! `modreg-core`, with runtime registration, lifecycle, settings and configuration files.
//!
//! Most users reach it through the facade `modreg`, which assembles the host and its layers
//! and re-exports both. A plugin crate never depends on it.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// Writes the `Plugin` methods that only report metadata, forwarding them to `self.$inner`:
/// for wrappers around another plugin (the host's and the layers'). Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! forward_metadata {
    ($inner:ident) => {
        fn name(&self) -> &str {
            self.$inner.name()
        }

        fn version(&self) -> &str {
            self.$inner.version()
        }

        fn plugin_type(&self) -> modreg_core::PluginType {
            self.$inner.plugin_type()
        }

        fn capabilities(&self) -> &[String] {
            self.$inner.capabilities()
        }

        fn descriptor(&self) -> Option<&'static modreg_core::PluginDescriptor> {
            self.$inner.descriptor()
        }
    };
}

mod acting;
mod advanced;
mod cache;
#[cfg(feature = "toml")]
mod config_file;
mod configuration;
mod configure;
mod factory;
pub mod files;
mod handle;
mod info;
mod instantiate;
mod interest;
mod layer;
mod lifecycle;
mod metrics;
mod overlay;
mod persistent;
mod pipeline;
mod query;
mod registration;
mod registry;
mod runtime;
mod sandboxed;
mod shared;
mod shared_instances;
#[cfg(feature = "state-files")]
pub mod state_file;
mod system;
mod target;
#[cfg(feature = "toml")]
pub mod toml_settings;
mod typed_registries;
mod views;

pub use crate::acting::{acting_principal, on_behalf_of};
pub use crate::advanced::{
    AdvancedPlugin, AdvancedPluginInstance, AdvancedPluginInstantiationConfig, PluginContext,
    PluginState,
};
pub use crate::cache::CacheStats;
#[cfg(feature = "toml")]
pub use crate::config_file::{ConfigFile, SettingsFromToml};
pub use crate::configuration::{
    AdvancedPluginConfiguration, EnvironmentPluginConfiguration, PluginConfiguration,
};
pub use crate::factory::PluginFactoryConfig;
pub use crate::handle::PluginHandle;
pub use crate::info::{PluginInfo, PluginOrigin, TypedPluginInfo};
pub use crate::instantiate::PluginInstantiationConfig;
pub use crate::layer::{
    Change, Code, Event, Events, Interest, Layer, LayerContext, Opened, Proof, Wrap,
};
pub use crate::lifecycle::{LifecycleState, PluginManager};
pub use crate::metrics::{
    HostFunctionMetrics, LATENCY_BUCKETS, LastError, MetricsSource, PluginMetrics, latency_bucket,
    latency_bucket_bounds,
};
pub use crate::query::{PluginCapabilityQuery, PluginDiscoveryQuery};
pub use crate::registration::SignedChange;
pub use crate::registry::{ENVIRONMENT_VARIABLE, ModuleRegistry, RegistryBuilder};
pub use crate::runtime::{
    AdvancedPluginConfig, DynAdvancedConstructor, DynConstructor, PluginConfig, Registration,
};
pub use crate::sandboxed::{SandboxedMaker, SandboxedRegistration};
pub use crate::shared::SharedHandle;
pub use crate::typed_registries::TypedRegistry;
pub use crate::views::{Catalog, Configuration, Instances, Registrations};
