//! The core of module-registry: registries filled at link time, for any trait.
//!
//! # What is a registry
//!
//! A [`Registry`] holds the compiled-in plugins of one trait object type. Declare one for
//! your own trait with [`registry!`], and add implementations to it from any crate with
//! [`#[plugin(registry = NAME)]`](plugin). The specification's byte processor, [`Plugin`], is
//! one such registry, [`PLUGINS`]: `#[plugin]` without `registry =` adds to it.
//!
//! This crate is what a plugin crate depends on: tables, descriptors, the index, the
//! attributes and the default `Plugin`, with a short dependency tree. The host's runtime
//! (`ModuleRegistry` with runtime registration, configuration files, security, monitoring
//! and semantic discovery) is the crate `modreg-host` and its layers, assembled by the
//! facade `modreg`; a plugin crate never compiles them.
//!
//! # How registration works
//!
//! `#[plugin]` emits one `const` [`PluginDescriptor`] into a link-time distributed slice
//! (`linkme`): no constructor runs before `main`, nothing is allocated. The first use of a
//! registry sorts its table once into a [`PluginIndex`].
//!
//! # Performance
//!
//! A lookup by name is one hash of the name; a lookup by type returns a precomputed range;
//! a capability query ANDs one bitset per required capability; creating a plugin is a call
//! through the descriptor's function pointer. `BENCHMARKS.md` at the repository root has the
//! figures, measured side by side with a `HashMap` registry and a linear scan.
//!
//! ```
//! use modreg_core::{plugin, registry, PluginError};
//!
//! pub trait Codec: Send + Sync {
//!     fn encode(&self, input: &[u8]) -> Vec<u8>;
//! }
//!
//! registry!(pub CODECS: dyn Codec);
//!
//! #[plugin(registry = CODECS, capabilities = ["reverse"])]
//! #[derive(Default)]
//! struct Reverse;
//!
//! impl Codec for Reverse {
//!     fn encode(&self, input: &[u8]) -> Vec<u8> {
//!         input.iter().rev().copied().collect()
//!     }
//! }
//!
//! let codec = CODECS.create("reverse")?;
//! assert_eq!(codec.encode(b"abc"), b"cba");
//! assert_eq!(CODECS.with_capabilities(&["reverse"]).len(), 1);
//! # Ok::<(), PluginError>(())
//! ```

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate self as modreg_core;

mod config_schema;
mod descriptor;
mod error;
mod factory_descriptor;
mod health;
mod index;
mod location;
mod name_table;
mod plugin;
mod plugin_type;
pub mod sandbox;
mod settings;
mod slice;
mod typed;
pub mod validate;
pub mod wasm_abi;

pub use crate::config_schema::SettingInfo;
pub use crate::descriptor::{AnyConstructor, Descriptor};
pub use crate::error::PluginError;
pub use crate::factory_descriptor::{FactoryDescriptor, FactoryFn};
pub use crate::health::HealthStatus;
pub use crate::index::{Conflict, Matching, PluginIndex};
pub use crate::location::SourceLocation;
pub use crate::plugin::{
    Constructor, InfallibleConstructor, Plugin, PluginBehavior, PluginDescriptor,
};
pub use crate::plugin_type::PluginType;
pub use crate::settings::{PluginSettings, SettingValue};
pub use crate::slice::{BACKEND, PLUGINS};
pub use crate::typed::Registry;

pub use modreg_macros::{plugin, plugin_factory, registry};

/// Defines `pub fn link()` in a plugin crate. A host that calls `the_crate::link()` (or writes
/// `use the_crate as _;`) keeps every `#[plugin]` of that crate in its binary; a crate the
/// host never names is left out by the linker.
///
/// ```
/// // In the plugin crate's lib.rs:
/// modreg_core::link_anchor!();
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

// Not public API. Used by `modreg-host`, which depends on this exact version.
#[doc(hidden)]
pub mod __host {
    pub use crate::error::{close_names, expect_all};
    pub use crate::validate::check_dependency;
}

// Not public API. Used by generated code.
#[doc(hidden)]
pub mod __private {
    #[cfg(any(feature = "inventory", target_family = "wasm"))]
    pub use inventory;
    #[cfg(not(target_family = "wasm"))]
    pub use linkme;
    pub use std::any::Any;
    pub use std::boxed::Box;
    pub use std::option::Option;
    pub use std::result::Result;
    pub use std::string::String;
    pub use std::vec::Vec;

    pub use crate::config_schema::{NamesOnly, Schema, SettingInfo, WithDefaults};
    pub use crate::error::PluginError;
    pub use crate::factory_descriptor::{FactoryDescriptor, FactoryFn};
    pub use crate::health::HealthStatus;
    pub use crate::location::SourceLocation;
    pub use crate::plugin::{
        Constructor, HasDescriptor, InfallibleConstructor, Plugin, PluginBehavior, PluginDescriptor,
    };
    pub use crate::plugin_type::PluginType;
    pub use crate::settings::PluginSettings;
    #[cfg(any(feature = "inventory", target_family = "wasm"))]
    pub use crate::slice::FactoryEntry;
    #[cfg(not(any(feature = "inventory", target_family = "wasm")))]
    pub use crate::slice::MODREG_FACTORIES_V0;
    pub use crate::slice::default_registry;
    pub use crate::{
        __declare_registry as declare_registry, __submit_factory as submit_factory,
        __submit_plugin as submit_plugin,
    };

    /// `TypeId::of::<X>` as a function pointer, for descriptors.
    pub fn type_id_of<X: 'static>() -> std::any::TypeId {
        std::any::TypeId::of::<X>()
    }

    /// A `#[plugin]` struct of the default registry, boxed as a [`Plugin`]: its
    /// implementation is the one every `PluginBehavior` with a table entry gets.
    pub fn boxed_plugin<P: PluginBehavior + HasDescriptor<dyn Plugin> + 'static>(
        plugin: P,
    ) -> Box<dyn Plugin> {
        Box::new(plugin)
    }

    /// A `#[plugin]` struct without `config`, made with `Default` as its concrete type.
    pub fn make_any_default<X: Default + 'static>(
        settings: &PluginSettings,
    ) -> Result<Box<dyn std::any::Any>, PluginError> {
        let _ = settings;
        Ok(Box::new(X::default()))
    }

    /// What `link_anchor!`'s `link()` calls: an opaque use of the crate's name.
    #[inline(never)]
    pub fn keep_linked(crate_path: &'static str) {
        std::hint::black_box(crate_path);
    }

    /// Reads the settings of `plugin` into its `config` type.
    pub fn read_config<C: serde::de::DeserializeOwned>(
        plugin: &str,
        settings: &PluginSettings,
    ) -> Result<C, PluginError> {
        settings.deserialize(plugin)
    }
}
