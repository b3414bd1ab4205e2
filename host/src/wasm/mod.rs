//! The WebAssembly sandbox (feature `wasm`): plugins compiled to WebAssembly, loaded at run
//! time into the same registry as compiled-in ones.
//!
//! - [`config`]: the sandbox's limits and grants, [`WasmConfig`](config::WasmConfig).
//! - [`module`]: a checked, compiled module and the plugins its section lists.
//! - [`imports`]: what a guest may call: granted files and variables, its panic message.
//! - [`instance`]: one instantiated module and a call under fuel, deadline, memory and output
//!   limits.
//! - [`plugin`]: `WasmPlugin`, the `Plugin` a created wasm plugin is, with its instance pool.
//! - [`signature`]: Ed25519 signatures over a module's SHA-256.
//! - [`load`]: `crate::Sandbox::load_wasm_plugins` and friends.
//! - [`watch`]: hot reload of a plugin directory.
//!
//! The engine is an interpreter (`wasmi`): no code generation at run time, fuel metering
//! with resumable calls (the deadline is checked between slices of fuel), a resource limiter
//! for memory, and it builds on every target this crate does.

pub(crate) mod config;
pub(crate) mod imports;
pub(crate) mod instance;
pub(crate) mod load;
pub(crate) mod module;
pub(crate) mod plugin;
pub(crate) mod signature;
pub(crate) mod watch;
