//! `WasmConfig`: what a WebAssembly plugin may use (its limits) and reach (its grants).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::host_function::HostFunction;

/// A call's default time budget.
pub const DEFAULT_WASM_TIME_BUDGET: Duration = Duration::from_secs(1);
/// A module instance's default memory cap.
pub const DEFAULT_WASM_MEMORY_BYTES: usize = 64 << 20;
/// A call's default output cap.
pub const DEFAULT_WASM_OUTPUT_BYTES: usize = 16 << 20;
/// The default cap on a module file's size.
pub const DEFAULT_WASM_MODULE_BYTES: usize = 32 << 20;
/// The default cap on the functions a module declares (imported and defined): each fresh
/// guest makes every one.
pub const DEFAULT_WASM_MODULE_FUNCTIONS: u32 = 50_000;
/// The default cap on one function body's size, in bytes: the compiling engine's time and
/// memory grow faster than a body's size (Cranelift, measured in a test build: 1 MB 0.95 s
/// and 186 MB, 3.6 MB 3.9 s and 430 MB).
pub const DEFAULT_WASM_FUNCTION_BYTES: usize = 1 << 20;
/// The default cap on the memory idle instances keep, across all modules of a registry.
pub const DEFAULT_WASM_IDLE_MEMORY_BYTES: usize = 128 << 20;
/// The default cap on the memory every instance of every module of a registry holds at once,
/// running or idle.
pub const DEFAULT_WASM_TOTAL_MEMORY_BYTES: usize = 1 << 30;
/// The default cap on the disk the compiling engine's cache takes
/// (`WasmConfig::with_jit_cache_limit`, feature `jit`).
pub const DEFAULT_WASM_JIT_CACHE_BYTES: u64 = 1 << 30;

/// How long a guest's state (its linear memory and globals) lives between calls.
///
/// A guest keeps what a call leaves in its memory: a buffer, a cache, another caller's input.
/// By default no call sees what another left ([`FreshPerCall`](Self::FreshPerCall)); a plugin
/// that needs state across calls is loaded with a longer lifetime on purpose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuestState {
    /// Every call starts from the module's initial state: nothing one call leaves is seen by
    /// the next. The default.
    ///
    /// The state is in an instance no call used before, or, in every engine, in one put back
    /// into its state before any call: each byte of its memory, each element of its tables
    /// and each mutable global (those the module does not export too) copied back to what
    /// they were after the instance was made and the host's first `modreg_alloc(1)`. That
    /// costs a write of each byte of the guest's memory rather than a new instance (a 64 B
    /// call through the codecs guest: about 4 us rather than 10 in the interpreter, 3 us
    /// rather than 10 in the compiling engine, BENCHMARKS.md). An instance that grew its
    /// memory or a table in a call is dropped instead (neither shrinks), and so are those of
    /// a module with a passive segment (a call may drop it) or an imported global, table or
    /// memory. After an instance that grew, the next new instances are plain ones for a
    /// while (one, then twice as many after each such instance in a row, up to 64): making
    /// one to be reset costs more, for nothing where every call grows.
    #[default]
    FreshPerCall,
    /// Each created plugin instance (what `create_plugin` or a handle returns) keeps one guest
    /// across its calls, seen by no other instance; a call made while another call on the
    /// same instance runs gets a fresh guest.
    PerInstance,
    /// The instances created on behalf of one principal (security's
    /// `AccessScope::create_plugin`, or any creation inside
    /// [`modreg_host::on_behalf_of`]) share one guest across their calls, seen by no other
    /// principal; an instance keeps the principal it was created for. An instance created
    /// on nobody's behalf gets a fresh guest per call, and so does a call made while another
    /// call of the same principal runs. A principal's guest lives until its module is
    /// unloaded or replaced, or a call traps in it (the next call starts fresh), or a new
    /// principal's guest needs its memory: guests count toward
    /// [`with_max_total_memory`](WasmConfig::with_max_total_memory), and one that does not
    /// fit takes the place of the guest of the principal that called least recently.
    PerPrincipal,
    /// Idle guests are reused by any call of the module (at most
    /// [`with_pool_size`](WasmConfig::with_pool_size)): the fastest, with no isolation between
    /// callers.
    Shared,
}

/// Which engine runs a registry's WebAssembly modules.
///
/// Chosen per registry, by its sandbox's configuration, and read when each module is loaded:
/// a module keeps the engine it was loaded in until it is loaded again (so a host that loads
/// some modules, changes the configuration and loads others has chosen per module).
///
/// ```
/// use modreg_wasm::{WasmConfig, WasmEngine};
///
/// assert_eq!(WasmConfig::new().engine(), WasmEngine::Interpreter);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WasmEngine {
    /// An interpreter (`wasmi`): no code generated at run time, loading the example codecs
    /// module in about 0.4 ms (every function validated at load), builds on every target.
    /// The default.
    #[default]
    Interpreter,
    /// The same interpreter, validating and translating each function at its first call
    /// instead of at load (`wasmi`'s lazy compilation): a module loads several times faster
    /// (BENCHMARKS.md), and a function that is not valid WebAssembly is found only when it is
    /// first called: that call stops with
    /// [`PluginErrorKind::Trapped`](modreg_core::PluginErrorKind::Trapped) ("is not valid
    /// WebAssembly") before any of the function runs, and so does every later call that
    /// reaches it. What is checked at load stays checked at load: the module's structure, its
    /// size, its imports and exports, its `modreg.plugins` section and its signature. For
    /// hosts that load many modules and call few of their functions.
    LazyInterpreter,
    /// Machine code compiled by Cranelift (`wasmtime`), with the `jit` feature: calls several
    /// times faster, loading slower (unless cached on disk:
    /// [`WasmConfig::with_jit_cache_dir`](crate::WasmConfig::with_jit_cache_dir)).
    #[cfg(feature = "jit")]
    Jit,
    /// Machine code from wasmtime's baseline compiler (Winch), with the `jit` feature: one
    /// pass over each function, no optimization. Compiles some five times faster than
    /// [`Jit`](Self::Jit) and runs about half as fast (still several times the interpreter):
    /// for many modules loaded once without a disk cache, or short-lived ones. x86-64 and
    /// AArch64 only; elsewhere loading fails with
    /// [`PluginErrorKind::WasmModule`](modreg_core::PluginErrorKind::WasmModule).
    #[cfg(feature = "jit")]
    JitBaseline,
}

impl WasmEngine {
    /// Whether this engine compiles modules to machine code (and so can keep it on disk:
    /// `WasmConfig::with_jit_cache_dir`, feature `jit`).
    ///
    /// ```
    /// use modreg_wasm::WasmEngine;
    ///
    /// assert!(!WasmEngine::Interpreter.compiles());
    /// assert!(!WasmEngine::LazyInterpreter.compiles());
    /// ```
    pub fn compiles(self) -> bool {
        match self {
            WasmEngine::Interpreter | WasmEngine::LazyInterpreter => false,
            #[cfg(feature = "jit")]
            WasmEngine::Jit | WasmEngine::JitBaseline => true,
        }
    }
}

/// The sandbox's limits and grants for every WebAssembly plugin a registry loads.
///
/// Every limit has a default and fails closed: a call over its time budget or fuel stops with
/// [`PluginErrorKind::Timeout`](modreg_core::PluginErrorKind::Timeout) or
/// [`PluginErrorKind::Trapped`](modreg_core::PluginErrorKind::Trapped), a guest growing memory past its cap
/// gets [`PluginErrorKind::MemoryLimit`](modreg_core::PluginErrorKind::MemoryLimit), an answer over the
/// output cap is refused before it is copied
/// ([`PluginErrorKind::TooLarge`](modreg_core::PluginErrorKind::TooLarge)).
///
/// A guest starts with no capability. A plugin that declares permission `file.read` may read
/// files under [`with_read_dir`](Self::with_read_dir), read-only; one that declares
/// `env.name` may read the variable `NAME` if it is listed with
/// [`with_env_var`](Self::with_env_var). Anything else is refused and audited.
///
/// ```
/// use std::time::Duration;
/// use modreg_wasm::WasmConfig;
///
/// let config = WasmConfig::new()
///     .with_time_budget(Duration::from_millis(200))
///     .with_memory_limit(16 << 20)
///     .with_read_dir("/srv/plugin-data")
///     .with_env_var("LANG");
/// assert_eq!(config.memory_limit(), 16 << 20);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WasmConfig {
    time_budget: Duration,
    fuel: Option<u64>,
    memory_limit: usize,
    max_output_bytes: usize,
    max_module_bytes: usize,
    max_module_functions: u32,
    max_function_bytes: usize,
    read_dir: Option<PathBuf>,
    env_vars: Vec<String>,
    pool_size: usize,
    replace_compiled: bool,
    state_file: Option<PathBuf>,
    max_idle_memory: usize,
    max_total_memory: usize,
    guest_state: GuestState,
    host_functions: Vec<HostFunction>,
    engine: WasmEngine,
    jit_cache_dir: Option<PathBuf>,
    /// `None` until set: a limit without a cache is refused.
    jit_cache_limit: Option<u64>,
}

impl Default for WasmConfig {
    fn default() -> Self {
        WasmConfig {
            time_budget: DEFAULT_WASM_TIME_BUDGET,
            fuel: None,
            memory_limit: DEFAULT_WASM_MEMORY_BYTES,
            max_output_bytes: DEFAULT_WASM_OUTPUT_BYTES,
            max_module_bytes: DEFAULT_WASM_MODULE_BYTES,
            max_module_functions: DEFAULT_WASM_MODULE_FUNCTIONS,
            max_function_bytes: DEFAULT_WASM_FUNCTION_BYTES,
            read_dir: None,
            env_vars: Vec::new(),
            pool_size: 4,
            replace_compiled: false,
            state_file: None,
            max_idle_memory: DEFAULT_WASM_IDLE_MEMORY_BYTES,
            max_total_memory: DEFAULT_WASM_TOTAL_MEMORY_BYTES,
            guest_state: GuestState::default(),
            host_functions: Vec::new(),
            engine: WasmEngine::default(),
            jit_cache_dir: None,
            jit_cache_limit: None,
        }
    }
}

impl WasmConfig {
    /// The defaults: 1 s per call, no fuel cap, 64 MiB of memory, 16 MiB of output, modules
    /// up to 32 MiB, no grants, 4 idle instances kept per module.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long one call may run; the guest is stopped after it and the thread is free.
    pub fn with_time_budget(mut self, budget: Duration) -> Self {
        self.time_budget = budget;
        self
    }

    /// A cap on the fuel (about one unit per instruction) one call may burn, on top of the
    /// time budget: a deterministic limit. Units are the engine's: the interpreter charges a
    /// bulk instruction (`memory.fill`, `memory.copy`) one unit per 64 bytes, compiled code
    /// (`WasmEngine::Jit`, `JitBaseline`) one unit per instruction, bulk or not.
    pub fn with_fuel(mut self, fuel: u64) -> Self {
        self.fuel = Some(fuel);
        self
    }

    /// The most linear memory one module instance may have, in bytes.
    pub fn with_memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// The longest answer a call may return, in bytes; checked before it is copied.
    pub fn with_max_output_bytes(mut self, bytes: usize) -> Self {
        self.max_output_bytes = bytes;
        self
    }

    /// The largest module file accepted, in bytes.
    pub fn with_max_module_bytes(mut self, bytes: usize) -> Self {
        self.max_module_bytes = bytes;
        self
    }

    /// The most functions (imported and defined) a module may declare,
    /// [`DEFAULT_WASM_MODULE_FUNCTIONS`] (50,000) by default; checked from the module's
    /// section headers before it is compiled. Each fresh guest makes every function of its
    /// module, outside any call's time budget and any memory cap: a module of a million empty
    /// functions (3.6 MB) made each call cost 46 ms of the host's time in the interpreter.
    /// (A Rust guest has hundreds to a few thousand; globals and segments have fixed caps of
    /// 10,000 each, element items one of 100,000.)
    pub fn with_max_module_functions(mut self, functions: u32) -> Self {
        self.max_module_functions = functions;
        self
    }

    /// The largest function body a module may have, in bytes,
    /// [`DEFAULT_WASM_FUNCTION_BYTES`] (1 MiB) by default; checked from the module's code
    /// section (each body's length, no instruction read) before it is compiled. The compiling
    /// engine's time and memory grow faster than one body's size: a 3.6 MB function took
    /// Cranelift 3.9 s and 430 MB (a test build), on the loading thread and outside every cap. (The bundled
    /// guests' largest function is 5 KB.) Under the cap a module's compile cost is about
    /// linear in its size, which [`with_max_module_bytes`](Self::with_max_module_bytes) caps.
    pub fn with_max_function_bytes(mut self, bytes: usize) -> Self {
        self.max_function_bytes = bytes;
        self
    }

    /// The directory plugins that declare `file.read` may read under, read-only.
    pub fn with_read_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.read_dir = Some(dir.into());
        self
    }

    /// An environment variable plugins that declare `env.<name>` (lower case) may read.
    pub fn with_env_var(mut self, name: impl Into<String>) -> Self {
        self.env_vars.push(name.into());
        self
    }

    /// Offers `function` to the guests of modules loaded from now on whose plugin declares
    /// its permission (others are refused, and the refusal audited). A function of the same
    /// name as one offered before replaces it.
    pub fn with_host_function(mut self, function: HostFunction) -> Self {
        self.host_functions.retain(|f| f.name() != function.name());
        self.host_functions.push(function);
        self
    }

    /// At most this many bytes of linear memory held by all instances of all modules of the
    /// registry at once (running, idle or kept by a plugin instance): a guest that would grow
    /// past it gets `MemoryLimit`, as one over its own cap does, and a call that would need a
    /// new instance past it is refused the same way. 1 GiB by default.
    pub fn with_max_total_memory(mut self, bytes: usize) -> Self {
        self.max_total_memory = bytes;
        self
    }

    /// The cap on the memory of all instances at once.
    pub fn max_total_memory(&self) -> usize {
        self.max_total_memory
    }

    /// How long a guest's state lives between calls: a fresh guest per call by default.
    pub fn with_guest_state(mut self, lifetime: GuestState) -> Self {
        self.guest_state = lifetime;
        self
    }

    /// How long a guest's state lives between calls ([`GuestState::FreshPerCall`] unless set).
    pub fn guest_state(&self) -> GuestState {
        self.guest_state
    }

    /// How many idle instances of a module are kept for the next call: guests no call used
    /// yet, or, where guests are [`Shared`](GuestState::Shared), guests a call left.
    pub fn with_pool_size(mut self, instances: usize) -> Self {
        self.pool_size = instances;
        self
    }

    /// Caps the memory idle instances keep for the next call, across all the registry's
    /// modules (an instance past it is dropped when its call ends, its memory given back).
    /// An instance whose guest grew its memory is kept idle only if it holds at most
    /// `bytes / pool_size` (its share, so that a full pool fits): a guest that grew for one
    /// large call gives the memory back, one whose allocator grew a little (every Rust
    /// guest's does on its first call) is reused where guests are
    /// [`Shared`](GuestState::Shared).
    pub fn with_max_idle_memory(mut self, bytes: usize) -> Self {
        self.max_idle_memory = bytes;
        self
    }

    /// Lets a module's plugin take the name of a compiled-in plugin (off by default: a file
    /// dropped into a plugin directory never silently replaces a built-in, an encryptor
    /// among them).
    pub fn with_replace_compiled(mut self, allow: bool) -> Self {
        self.replace_compiled = allow;
        self
    }

    /// Keeps the newest signed version (and digest) accepted for each plugin in `path`, read
    /// when the configuration is set and written before each signed module is accepted, so
    /// that an older signed module is refused after a restart too. Processes and registries
    /// may share the file: each acceptance locks `PATH.lock` and reads the file again first,
    /// so each sees what the others accepted.
    pub fn with_state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// The time budget of one call.
    pub fn time_budget(&self) -> Duration {
        self.time_budget
    }

    /// The fuel cap of a call, if any.
    pub fn fuel(&self) -> Option<u64> {
        self.fuel
    }

    /// The memory cap of an instance.
    pub fn memory_limit(&self) -> usize {
        self.memory_limit
    }

    /// The output cap of a call.
    pub fn max_output_bytes(&self) -> usize {
        self.max_output_bytes
    }

    /// The size cap of a module file.
    pub fn max_module_bytes(&self) -> usize {
        self.max_module_bytes
    }

    /// The cap on the functions a module declares.
    pub fn max_module_functions(&self) -> u32 {
        self.max_module_functions
    }

    /// The cap on one function body's size.
    pub fn max_function_bytes(&self) -> usize {
        self.max_function_bytes
    }

    /// The granted directory, if any.
    pub fn read_dir(&self) -> Option<&Path> {
        self.read_dir.as_deref()
    }

    /// The environment variables that may be granted.
    pub fn env_vars(&self) -> &[String] {
        &self.env_vars
    }

    /// The host functions offered to guests.
    pub fn host_functions(&self) -> &[HostFunction] {
        &self.host_functions
    }

    /// The cap on the memory idle instances keep, across the registry's modules.
    pub fn max_idle_memory(&self) -> usize {
        self.max_idle_memory
    }

    /// Whether a module's plugin may take the name of a compiled-in plugin.
    pub fn replaces_compiled(&self) -> bool {
        self.replace_compiled
    }

    /// The file the newest signed version of each plugin is kept in, if one was named.
    pub fn state_file(&self) -> Option<&Path> {
        self.state_file.as_deref()
    }

    /// How many idle instances are kept per module.
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// Runs the modules loaded from now on in `engine` (the interpreter by default). A module
    /// keeps the engine it was loaded in; load it again to move it.
    pub fn with_engine(mut self, engine: WasmEngine) -> Self {
        self.engine = engine;
        self
    }

    /// The engine modules loaded under this configuration run in.
    pub fn engine(&self) -> WasmEngine {
        self.engine
    }

    /// Keeps the machine code the compiling engine makes of a module in `dir`, so that the
    /// module loads again without being compiled: one file per module and engine, named for
    /// the module's SHA-256 and the engine's fingerprint, and checked against a SHA-256 of
    /// the module's and the code before it is used (a damaged file, or another module's, is
    /// compiled again and replaced). Only the host may write to `dir`: the check finds damage,
    /// not a forgery. On Unix the cache makes `dir` (if missing) its owner's alone, and uses
    /// no directory and no file that a user other than the process's (or root) owns or that
    /// other users may write (logged at WARN; the module is compiled). No cache by default.
    /// The cache's files take at most [`with_jit_cache_limit`](Self::with_jit_cache_limit)
    /// bytes. Only for a compiling engine ([`WasmEngine::compiles`]): with an interpreter
    /// the directory would change nothing, and
    /// [`configure_wasm`](crate::Sandbox::configure_wasm) refuses the configuration.
    #[cfg(feature = "jit")]
    pub fn with_jit_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.jit_cache_dir = Some(dir.into());
        self
    }

    /// Where compiled modules are cached, if anywhere.
    pub fn jit_cache_dir(&self) -> Option<&Path> {
        self.jit_cache_dir.as_deref()
    }

    /// The most disk the cache's files (`*.cwasm` in [`with_jit_cache_dir`]'s directory,
    /// whatever engine wrote them) may take: after a module is stored, the least recently
    /// used files (by modification time; a load from the cache renews its file's) are removed
    /// until the rest fit. [`DEFAULT_WASM_JIT_CACHE_BYTES`] (1 GiB) by default; a file larger
    /// than the limit is removed as soon as it is written (the module then compiles at every
    /// load). A directory written with ever new modules (a hot-reloaded one, rewritten for
    /// months) would otherwise fill the disk. A store also removes the cache's temporary
    /// files that are ten minutes old (left by a process killed while it wrote one).
    ///
    /// A limit without a cache directory would change nothing, and
    /// [`configure_wasm`](crate::Sandbox::configure_wasm) refuses the configuration.
    ///
    /// [`with_jit_cache_dir`]: Self::with_jit_cache_dir
    #[cfg(feature = "jit")]
    pub fn with_jit_cache_limit(mut self, bytes: u64) -> Self {
        self.jit_cache_limit = Some(bytes);
        self
    }

    /// The most disk the compiling engine's cache may take, in bytes.
    pub fn jit_cache_limit(&self) -> u64 {
        self.jit_cache_limit.unwrap_or(DEFAULT_WASM_JIT_CACHE_BYTES)
    }

    /// The limit, where one was set (`configure_wasm` refuses one without a cache).
    pub(crate) fn jit_cache_limit_set(&self) -> Option<u64> {
        self.jit_cache_limit
    }
}
