//! The WebAssembly sandbox of module-registry's host, a plugin source: plugins compiled to
//! WebAssembly, loaded at run time into the same registry as compiled-in ones.
//!
//! [`Wasm`] keeps a registry's loaded modules and the sandbox's configuration; what it loads
//! it registers through the host's public registrations (`Registrations::register_batch`),
//! so the host's pipeline builds each plugin and the events apply to it as to any other. A
//! module's signature reaches the security layer as the host's `Proof`, a guest's refused
//! capability as `Event::CapabilityRefused`: this crate sees no layer.
//!
//! - `config`: the sandbox's limits and grants, [`WasmConfig`], and the engine,
//!   [`WasmEngine`].
//! - `digest`: a module's SHA-256.
//! - `module`: a checked, compiled module and the plugins its section lists.
//! - `host_function`: [`HostFunction`], what an embedder offers guests behind a permission.
//! - `imports`: what a guest may call: granted files and variables, host functions, its panic
//!   message.
//! - `limits`: the limits a plugin asks to run under, tightening the sandbox's own.
//! - `engines`: a module compiled for one of the engines.
//! - `call`: a call under fuel, deadline, memory and output limits, written once over any
//!   engine's instance.
//! - `instance`: one instantiated module, in whichever engine it was compiled for.
//! - `interpreter`: the default engine (`wasmi`): its imports, instances and runs.
//! - `jit` (feature `jit`): the compiling engine (`wasmtime`'s Cranelift), the same for it;
//!   `jit_cache`: its machine code kept on disk.
//! - `plugin`: `WasmPlugin`, the `Plugin` a created wasm plugin is, with its instance pool.
//! - `state`: what of a module's state an instance holds, and how an interpreted instance is
//!   put back into it (a fresh guest per call without a new instance).
//! - `signature`: Ed25519 signatures over a module's SHA-256.
//! - `load`: [`Wasm`] and its view on a registry, [`Sandbox`]: loading and unloading.
//! - `module_file`: a module file as a directory pass sees it: its name, its signature file,
//!   its stamp between passes, the refusal kept for it.
//! - `watch`: hot reload of a plugin directory.
//! - [`conformance`]: the kit any guest of the hex codec is checked against, in any language.
//!
//! The default engine is an interpreter (`wasmi`): no code generation at run time, fuel
//! metering with resumable calls (the deadline is checked between slices of fuel), a resource
//! limiter for memory, and it builds on every target this crate does. The `jit` feature adds
//! Cranelift's compiled code (`wasmtime`), chosen per registry with
//! [`WasmConfig::with_engine`]: the same imports, limits, grants and calls, several times
//! faster per call and slower to load (its machine code can be cached on disk).

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod call;
mod config;
pub mod conformance;
mod digest;
mod engines;
mod host_function;
mod imports;
mod instance;
mod interpreter;
#[cfg(feature = "jit")]
mod jit;
#[cfg(feature = "jit")]
mod jit_cache;
mod limits;
mod load;
mod module;
mod module_file;
mod plugin;
mod shape;
mod signature;
mod state;
mod versions;
mod watch;

pub use crate::config::{
    DEFAULT_WASM_FUNCTION_BYTES, DEFAULT_WASM_IDLE_MEMORY_BYTES, DEFAULT_WASM_JIT_CACHE_BYTES,
    DEFAULT_WASM_MEMORY_BYTES, DEFAULT_WASM_MODULE_BYTES, DEFAULT_WASM_MODULE_FUNCTIONS,
    DEFAULT_WASM_OUTPUT_BYTES, DEFAULT_WASM_TIME_BUDGET, DEFAULT_WASM_TOTAL_MEMORY_BYTES,
    GuestState, WasmConfig, WasmEngine,
};
pub use crate::host_function::{HostCall, HostFunction, HostFunctionError};
pub use crate::load::{AdmittedModule, Sandbox, Wasm, WasmLoadReport};
pub use crate::signature::WasmSignature;
pub use crate::watch::WasmWatcher;
