//! modreg: plugins registered at compile time, discovered in nanoseconds.
//!
//! Mark a struct with [`#[plugin]`](plugin), implement [`PluginBehavior`], and every binary
//! that links the defining crate can find it through a [`ModuleRegistry`]: by name, by
//! [`PluginType`], by capability, and instantiate it through a function pointer.
//!
//! ```
//! use modreg::{plugin, ModuleRegistry, PluginBehavior, PluginError};
//!
//! #[plugin(type = DataProcessor, capabilities = ["processing", "text"], version = "1.2.0")]
//! #[derive(Default)]
//! struct Uppercase;
//!
//! impl PluginBehavior for Uppercase {
//!     fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
//!         Ok(data.to_ascii_uppercase())
//!     }
//! }
//!
//! let registry = ModuleRegistry::new();
//! let plugin = registry.create_plugin("uppercase")?;
//! assert_eq!(plugin.version(), "1.2.0");
//! assert_eq!(plugin.process(b"quiet")?, b"QUIET");
//! # Ok::<(), PluginError>(())
//! ```
//!
//! # The `#[plugin]` attribute
//!
//! Its keys (`type`, `capabilities`, `name`, `version`, `description`, `depends_on`,
//! `permissions`, `config`, `mock_of`, `registry`, `meta`, `priority`, `before`, `after`,
//! `wrapper`, `crate`) are listed, with their defaults, on
//! [`modreg_core::plugin`](macro@modreg_core::plugin); a registry's on
//! [`modreg_core::registry`](macro@modreg_core::registry).
//!
//! With `config = C`, the struct provides `fn from_config(config: C) -> Result<Self,
//! PluginError>`; the registry deserializes `C` from the plugin's settings (an empty table when
//! none are set, so fields with serde defaults work without configuration).
//!
//! # Factories
//!
//! [`#[plugin_factory(name = "...", type = ..., variants = [...])]`](plugin_factory) on a
//! `fn(&str) -> Result<Box<dyn Plugin>, PluginError>` registers a factory that
//! [`ModuleRegistry::create_plugin_from_factory`](modreg_host::ModuleRegistry::create_plugin_from_factory) calls by name. `interface = "Name"` declares
//! the interface it implements; `PluginFactoryConfig::with_factory_interface` must then name
//! the same one.
//!
//! # Bundled plugins
//!
//! The features `compression`, `hashing`, `encoding`, `encryption` (and `all`) link the
//! plugin families of `modreg-plugins`, re-exported as [`plugins`].

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Some crate-level links name items behind features (`ModuleRegistry` is `host`, `plugins` a
// plugin family); with those features off they render as plain text.
#![cfg_attr(
    not(all(
        feature = "host",
        any(
            feature = "compression",
            feature = "hashing",
            feature = "encoding",
            feature = "encryption"
        )
    )),
    allow(rustdoc::broken_intra_doc_links)
)]

extern crate self as modreg;

pub use modreg_core::*;
#[cfg(feature = "host")]
pub use modreg_host::*;
#[cfg(feature = "monitoring")]
pub use modreg_monitoring::*;
#[cfg(feature = "security")]
pub use modreg_security::*;
#[cfg(feature = "semantic")]
pub use modreg_semantic::{PluginSemanticQuery, ScoredPlugin, SemanticDiscovery};
/// The conformance kit a guest of the hex codec is checked against, in any language
/// (`modreg conformance FILE.wasm`).
#[cfg(feature = "wasm")]
pub use modreg_wasm::conformance;
#[cfg(feature = "wasm")]
pub use modreg_wasm::{
    AdmittedModule, DEFAULT_WASM_FUNCTION_BYTES, DEFAULT_WASM_IDLE_MEMORY_BYTES,
    DEFAULT_WASM_JIT_CACHE_BYTES, DEFAULT_WASM_MEMORY_BYTES, DEFAULT_WASM_MODULE_BYTES,
    DEFAULT_WASM_MODULE_FUNCTIONS, DEFAULT_WASM_OUTPUT_BYTES, DEFAULT_WASM_TIME_BUDGET,
    DEFAULT_WASM_TOTAL_MEMORY_BYTES, GuestState, HostCall, HostFunction, HostFunctionError,
    Sandbox, Wasm, WasmConfig, WasmEngine, WasmLoadReport, WasmSignature, WasmWatcher,
};

// Every Rust block of the README and of docs/ is compiled and run, as a doctest of this crate.
#[cfg(all(doctest, feature = "host"))]
mod docs_compile {
    #[doc = include_str!("../README.md")]
    struct Readme;
    #[doc = include_str!("../docs/README.md")]
    struct DocsIndex;
    #[doc = include_str!("../docs/configuration.md")]
    struct Configuration;
    #[doc = include_str!("../docs/security.md")]
    struct Security;
    #[doc = include_str!("../docs/monitoring.md")]
    struct Monitoring;
    #[doc = include_str!("../docs/seed-deviations.md")]
    struct SeedDeviations;
    #[doc = include_str!("../docs/wasm-abi.md")]
    struct WasmAbi;
}

#[cfg(feature = "host")]
mod module_registry;
#[cfg(feature = "host")]
pub use crate::module_registry::ModuleRegistry;

// The attributes as this crate's users reach them: generated paths start at
// `::modreg` (the glob above brings the core's, which start at
// `::modreg_core`; these shadow them).
/// [`modreg_core::plugin`](macro@modreg_core::plugin), whose page lists every key, with
/// generated paths that start at `::modreg`.
pub use modreg_macros::facade_plugin as plugin;
/// [`modreg_core::plugin_factory`](macro@modreg_core::plugin_factory), with generated paths
/// that start at `::modreg`.
pub use modreg_macros::facade_plugin_factory as plugin_factory;
/// [`modreg_core::registry`](macro@modreg_core::registry), whose page lists every key, with
/// generated paths that start at `::modreg`.
pub use modreg_macros::facade_registry as registry;
/// [`modreg_core::sandboxed`](macro@modreg_core::sandboxed), with generated paths that start
/// at `::modreg`.
pub use modreg_macros::facade_sandboxed as sandboxed;

#[cfg(any(
    feature = "compression",
    feature = "hashing",
    feature = "encoding",
    feature = "encryption"
))]
pub use modreg_plugins as plugins;

#[doc(hidden)]
pub use modreg_core::__private_0_1_0;
