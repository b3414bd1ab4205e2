//! The compiling engines (feature `jit`): modules compiled to machine code by Cranelift or by
//! Winch, its baseline compiler (`wasmtime`), under the same imports, call protocol, limits
//! and grants as the interpreter.
//!
//! - Time: epoch interruption. One thread of the process advances the engines' epoch every
//!   [`TICK`]; a guest running past its call's deadline traps at the next loop or call
//!   (`Timeout`). Cheaper than fuel: no counter in the guest's code.
//! - Fuel is metered only for modules that need it (the registry's `fuel` cap, or a plugin's
//!   own `fuel` limit): they are compiled by a second engine whose code counts it.
//! - Memory: the store's limiter is the interpreter's `MemoryCap`; instances come from
//!   wasmtime's pooling allocator, whose slots are zeroed in place and get the module's data
//!   copied in. A fresh guest per call is an instance reset after its call, as in the
//!   interpreter (`state`: its memory's image, its tables and globals copied back; about 3 us
//!   for a 64 B call through the codecs guest rather than 10 us for a new instance,
//!   BENCHMARKS.md).
//! - Async host functions: a registry that offers one gets an engine whose calls are
//!   wasmtime's async calls (on a fiber), so a guest waiting on one is suspended and the
//!   caller's task yields its thread; other registries call synchronously (a fiber costs about
//!   150 ns per guest entry).
//! - One engine for the process, not per registry: the pool reserves its address space
//!   once; each registry's limits live in its stores.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasmtime::{
    Caller, Engine, Extern, ExternType, Global, Instance, InstanceAllocationStrategy, InstancePre,
    Linker, Memory, Module, PoolingAllocationConfig, Ref, Store, Strategy, Table, TableType, Trap,
    TypedFunc, Val,
};

use crate::call::{
    CallError, Export, GuestInstance, await_host_function, block_on, cannot_instantiate, fatal,
    missing_export, not_instantiated, out_of_fuel, timeout,
};
use crate::config::WasmConfig;
use crate::host_function::HostFunction;
use crate::imports::{self, GuestContext, HostState, Import, PastDeadline, PendingCall};
use crate::jit_cache;
use crate::state::{
    KeptState, Reset, StateExports, StateHandles, StateShape, StateStore, with_state_exports,
    writes_tables,
};
use modreg_core::PluginError;
use modreg_core::wasm_abi::{
    EXPORT_ALLOC, EXPORT_PROCESS, FAILED, IMPORT_HOST_CALL, IMPORT_MODULE, IMPORT_PANIC,
    ModuleEntry,
};

/// How often the engines' epoch advances: a guest overruns its deadline by at most this.
const TICK: Duration = Duration::from_millis(1);

/// The native stack a guest's calls may use.
const MAX_WASM_STACK: usize = 128 << 10;

/// The process's compiling engines, made on first use: by compiler, whether their code counts
/// fuel, and whether their calls are async, eight.
static ENGINES: [OnceLock<Result<Engine, String>>; 8] = [const { OnceLock::new() }; 8];

/// Which compiler makes a module's machine code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compiler {
    /// Cranelift: optimized code ([`WasmEngine::Jit`](crate::WasmEngine::Jit)).
    Optimizing,
    /// Winch: one pass, no optimization
    /// ([`WasmEngine::JitBaseline`](crate::WasmEngine::JitBaseline)).
    Baseline,
}

/// What a module's engine must do.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Kind {
    compiler: Compiler,
    /// Its code counts fuel: a cap applies.
    metered: bool,
    /// Its calls are async: the registry offers an async host function.
    suspends: bool,
}

/// The process's compiling engine of `kind`.
fn engine(kind: Kind) -> Result<&'static Engine, String> {
    let Kind {
        compiler,
        metered,
        suspends,
    } = kind;
    let slot = usize::from(compiler == Compiler::Baseline) * 4
        + usize::from(metered) * 2
        + usize::from(suspends);
    ENGINES[slot]
        .get_or_init(|| {
            let mut pool = PoolingAllocationConfig::default();
            // A guest's memory is capped by its registry's limiter (`MemoryCap`); the pool's
            // slot is the whole 32-bit space so the limiter, not the pool, is what a guest
            // meets.
            pool.max_memory_size(4 << 30);
            // A fresh instance's first MiB is zeroed in place rather than unmapped, and slots
            // are given back in batches: fewer system calls and TLB flushes per call. A MiB
            // holds what a small call touches (the codecs guest's two initial pages, what its
            // allocator grows into, a 64 KiB input and its output): with 64 KiB kept, a fresh
            // 64 KiB call cost 1.8x a kept one, with a MiB 1.2x (BENCHMARKS.md).
            pool.linear_memory_keep_resident(1 << 20);
            pool.decommit_batch_size(64);
            // A guest's table (a Rust guest's holds some hundred functions) is reset in place
            // too: unmapping it cost a page fault on the next instance's first indirect call (a
            // fresh 64-byte call through the codecs guest: 23.5-23.7 us before, 20.0-20.6 us
            // after; BENCHMARKS.md).
            pool.table_keep_resident(64 << 10);
            let mut config = wasmtime::Config::new();
            config
                .strategy(match compiler {
                    Compiler::Optimizing => Strategy::Cranelift,
                    Compiler::Baseline => Strategy::Winch,
                })
                .async_support(suspends)
                .consume_fuel(metered)
                .epoch_interruption(true)
                .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
                // A module's data is copied into the kept-resident slot at instantiation, not
                // mapped copy-on-write: a mapped image is unmapped at every reset and faults
                // back in page by page at the next guest's first touch, which cost a fresh
                // 64-byte call through the codecs guest 19 us against 12 us copied.
                .memory_init_cow(false)
                // Some thousand calls deep, as the interpreter's 1,000: a guest recursing without
                // end meets this before its own stack (in its linear memory) runs out, and traps
                // with a stack overflow rather than an access out of bounds.
                .max_wasm_stack(MAX_WASM_STACK);
            // Without the clock no deadline could be kept: no engine, and no module loads in it.
            start_ticking()?;
            Engine::new(&config).map_err(|e| format!("the compiling engine cannot start: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Starts the thread that advances every made engine's epoch each [`TICK`] (once per process;
/// it lives as the engines do). An `Err` when it cannot start.
fn start_ticking() -> Result<(), String> {
    static TICKING: OnceLock<Result<(), String>> = OnceLock::new();
    TICKING
        .get_or_init(|| {
            std::thread::Builder::new()
                .name("modreg-wasm-epoch".to_owned())
                .spawn(|| {
                    loop {
                        std::thread::sleep(TICK);
                        for engine in ENGINES.iter().filter_map(OnceLock::get).flatten() {
                            engine.increment_epoch();
                        }
                    }
                })
                .map(drop)
                .map_err(|e| format!("the compiling engine's clock cannot start: {e}"))
        })
        .clone()
}

/// Whether a module's plugins (`entries`) ask for a fuel cap of their own (`fuel=N` among
/// their limits).
fn asks_fuel(entries: &[ModuleEntry]) -> bool {
    entries
        .iter()
        .any(|entry| entry.limits.iter().any(|limit| limit.starts_with("fuel=")))
}

/// A module compiled to machine code, with its imports resolved once.
pub(crate) struct JitModule {
    /// Its engine's kind.
    kind: Kind,
    module: Module,
    pre: InstancePre<HostState>,
    /// The exports of its memories, tables and mutable globals, where they were added so that
    /// an instance can be reset (`state`).
    state: Option<StateExports>,
}

impl std::fmt::Debug for JitModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitModule").finish_non_exhaustive()
    }
}

impl JitModule {
    /// Compiles `bytes` (SHA-256 `digest`, listing the plugins `entries`, holding the state
    /// `state`) with `compiler`, or takes its machine code from the configured cache. The
    /// module is compiled with its state exported where its instances can be reset
    /// ([`with_state_exports`]; a table only where a function may write it: [`writes_tables`]),
    /// whatever the guests' lifetime, so that one cache file serves every configuration; a
    /// cached module's exports say which it has.
    pub(crate) fn new(
        bytes: &[u8],
        digest: &[u8; 32],
        entries: &[ModuleEntry],
        state: &StateShape,
        config: &WasmConfig,
        compiler: Compiler,
    ) -> Result<Self, String> {
        let kind = Kind {
            compiler,
            metered: config.fuel().is_some() || asks_fuel(entries),
            suspends: config.host_functions().iter().any(HostFunction::is_async),
        };
        let engine = engine(kind)?;
        let cache = config.jit_cache_dir().and_then(jit_cache::usable);
        let cached = cache.and_then(|dir| jit_cache::load(dir, engine, digest));
        let (module, state) = if let Some(module) = cached {
            // Compiled with its state exports or without: what it exports says.
            let names = StateExports::compiled(state, |name| module.get_export(name).is_some());
            (module, names)
        } else {
            // Tables no function writes are not exported, so not copied back at each reset.
            let mut shape = state.clone();
            if !writes_tables(bytes) {
                shape.tables = 0;
            }
            let exported = with_state_exports(bytes, &shape);
            let (bytes, names) = match exported {
                Some((rewritten, names)) => (Cow::Owned(rewritten), Some(names)),
                None => (Cow::Borrowed(bytes), None),
            };
            let module =
                Module::new(engine, &bytes).map_err(|e| format!("not a valid module: {e:#}"))?;
            if let Some(dir) = cache {
                jit_cache::store(dir, engine, digest, &module, config.jit_cache_limit());
            }
            (module, names)
        };
        imports::check_imports(module.imports().map(|import| Import {
            module: import.module(),
            name: import.name(),
            is_function: matches!(import.ty(), ExternType::Func(_)),
        }))?;
        let pre = linker(engine, kind.suspends)
            .and_then(|linker| linker.instantiate_pre(&module))
            .map_err(|e| format!("its imports do not link: {e:#}"))?;
        Ok(JitModule {
            kind,
            module,
            pre,
            state,
        })
    }

    pub(crate) fn exports(&self, name: &str) -> bool {
        self.module.get_export(name).is_some()
    }
}

/// An instance of a compiled module.
pub(crate) struct Jitted {
    kind: Kind,
    store: Store<HostState>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    process: TypedFunc<(u32, u32, u32), u32>,
    /// Its memories, tables and mutable globals, where the module exports them for resets.
    state: Option<StateHandles<Store<HostState>>>,
    /// What [`reset`](GuestInstance::reset) puts back, once it was kept.
    kept: Option<KeptState<Store<HostState>>>,
}

impl StateStore for Store<HostState> {
    type Instance = Instance;
    type Memory = Memory;
    type Table = Table;
    type Global = Global;
    type Value = Val;

    fn memory_named(&mut self, instance: Instance, name: &str) -> Option<Memory> {
        instance.get_memory(self, name)
    }

    fn table_named(&mut self, instance: Instance, name: &str) -> Option<Table> {
        instance.get_table(self, name)
    }

    fn global_named(&mut self, instance: Instance, name: &str) -> Option<Global> {
        instance.get_global(self, name)
    }

    fn memory(&self, memory: Memory) -> &[u8] {
        memory.data(self)
    }

    fn memory_mut(&mut self, memory: Memory) -> &mut [u8] {
        memory.data_mut(self)
    }

    fn table_size(&self, table: Table) -> u64 {
        table.size(self)
    }

    fn table_copy(&mut self, table: Table) -> Option<Table> {
        let size = table.size(&*self);
        let element = table.ty(&*self).element().clone();
        if !element.is_nullable() {
            return None;
        }
        let null = Ref::null(element.heap_type());
        let ty = TableType::new(element, u32::try_from(size).ok()?, None);
        let copy = Table::new(&mut *self, ty, null).ok()?;
        Table::copy(self, &copy, 0, &table, 0, size).ok()?;
        Some(copy)
    }

    fn copy_table(&mut self, to: Table, from: Table, size: u64) -> bool {
        Table::copy(self, &to, 0, &from, 0, size).is_ok()
    }

    fn get(&mut self, global: Global) -> Val {
        global.get(self)
    }

    fn set(&mut self, global: Global, value: &Val) -> bool {
        global.set(self, *value).is_ok()
    }
}

impl std::fmt::Debug for Jitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jitted").finish_non_exhaustive()
    }
}

impl Jitted {
    /// Instantiates `compiled` (its start function, if any, runs under the call's time budget,
    /// and its fuel cap where one applies).
    pub(crate) fn new(
        compiled: &JitModule,
        name: &str,
        config: &WasmConfig,
        state: HostState,
    ) -> Result<Self, PluginError> {
        let mut store = Store::new(compiled.pre.module().engine(), state);
        store.limiter(|state| &mut state.limiter);
        if compiled.kind.metered {
            store
                .set_fuel(config.fuel().unwrap_or(u64::MAX))
                .map_err(|e| cannot_instantiate(name, format_args!("{e:#}")))?;
        }
        // The start function, if any, runs under the call's time budget.
        store.set_epoch_deadline(ticks(config.time_budget()));
        store.data_mut().limiter.deadline = Some(Instant::now() + config.time_budget());
        let instance = if compiled.kind.suspends {
            block_on(compiled.pre.instantiate_async(&mut store))
        } else {
            compiled.pre.instantiate(&mut store)
        };
        let instance = instance
            .map_err(|e| not_instantiated(name, store.data(), config, format_args!("{e:#}")))?;
        store.data_mut().limiter.deadline = None;
        let missing = |export| missing_export(name, export);
        let state = (compiled.state.as_ref())
            .and_then(|names| StateHandles::find(&mut store, instance, names));
        Ok(Jitted {
            state,
            kept: None,
            kind: compiled.kind,
            memory: instance
                .get_memory(&mut store, "memory")
                .ok_or_else(|| missing("memory"))?,
            alloc: instance
                .get_typed_func(&mut store, EXPORT_ALLOC)
                .map_err(|_| missing(EXPORT_ALLOC))?,
            process: instance
                .get_typed_func(&mut store, EXPORT_PROCESS)
                .map_err(|_| missing(EXPORT_PROCESS))?,
            store,
        })
    }
}

impl GuestInstance for Jitted {
    fn state(&self) -> &HostState {
        self.store.data()
    }

    fn state_mut(&mut self) -> &mut HostState {
        self.store.data_mut()
    }

    fn read(&self, at: usize, buf: &mut [u8]) -> Result<(), String> {
        self.memory
            .read(&self.store, at, buf)
            .map_err(|e| e.to_string())
    }

    fn write(&mut self, at: usize, bytes: &[u8]) -> Result<(), String> {
        self.memory
            .write(&mut self.store, at, bytes)
            .map_err(|e| e.to_string())
    }

    fn memory_bytes(&self) -> usize {
        self.memory.data_size(&self.store)
    }

    fn grew(&self) -> bool {
        self.memory.size(&self.store) > self.memory.ty(&self.store).minimum()
    }

    fn resettable(&self) -> bool {
        self.state.is_some()
    }

    fn keep_state(&mut self) -> bool {
        self.kept = (self.state.as_ref()).and_then(|handles| handles.keep(&mut self.store));
        self.kept.is_some()
    }

    fn reset(&mut self) -> Reset {
        match &self.kept {
            Some(kept) => kept.reset(&mut self.store),
            None => Reset::NothingKept,
        }
    }

    /// Runs one export to its end on a fiber, until its deadline (the epoch) or its fuel cap;
    /// pending while it waits on an async host function.
    async fn run(
        &mut self,
        plugin: &str,
        started: Instant,
        config: &WasmConfig,
        export: Export,
    ) -> Result<u32, CallError> {
        let budget = config.time_budget();
        let left = budget.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(CallError::Fatal(timeout(plugin, budget)));
        }
        self.store.set_epoch_deadline(ticks(left));
        let fuel_cap = config.fuel();
        match (self.kind.metered, fuel_cap) {
            (true, cap) => {
                if let Err(e) = self.store.set_fuel(cap.unwrap_or(u64::MAX)) {
                    return Err(fatal(self.store.data_mut(), plugin, &e.to_string()));
                }
            }
            // Compiled without metering (`JitModule::new` meters whenever a cap applies):
            // refused rather than run uncapped.
            (false, Some(_)) => {
                return Err(fatal(
                    self.store.data_mut(),
                    plugin,
                    "a fuel cap applies, and the module was compiled without metering",
                ));
            }
            (false, None) => {}
        }
        let called = match (export, self.kind.suspends) {
            (Export::Alloc(len), true) => self.alloc.call_async(&mut self.store, len).await,
            (Export::Alloc(len), false) => self.alloc.call(&mut self.store, len),
            (Export::Process(index, ptr, len), true) => {
                self.process
                    .call_async(&mut self.store, (index, ptr, len))
                    .await
            }
            (Export::Process(index, ptr, len), false) => {
                self.process.call(&mut self.store, (index, ptr, len))
            }
        };
        match called {
            Ok(result) => Ok(result),
            Err(error) => {
                let trap = error.downcast_ref::<Trap>();
                if error.downcast_ref::<PastDeadline>().is_some()
                    || matches!(trap, Some(Trap::Interrupt))
                {
                    return Err(CallError::Fatal(timeout(plugin, budget)));
                }
                if matches!(trap, Some(Trap::OutOfFuel)) {
                    return Err(CallError::Fatal(out_of_fuel(
                        plugin,
                        fuel_cap.unwrap_or(u64::MAX),
                    )));
                }
                let trap = trap.map_or_else(|| format!("{error:#}"), ToString::to_string);
                Err(fatal(self.store.data_mut(), plugin, &trap))
            }
        }
    }
}

/// The epoch ticks from now that cover `left` (at least one more than it: a deadline is
/// never early).
fn ticks(left: Duration) -> u64 {
    u64::try_from(left.as_nanos() / TICK.as_nanos())
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

/// A host call's guest in the compiling engine: its caller, with the guest's memory.
struct InCaller<'a> {
    caller: Caller<'a, HostState>,
    memory: Option<Memory>,
}

impl<'a> InCaller<'a> {
    fn new(mut caller: Caller<'a, HostState>) -> Self {
        let memory = caller.get_export("memory").and_then(Extern::into_memory);
        InCaller { caller, memory }
    }

    fn past_deadline(&self) -> wasmtime::Result<()> {
        if self.state().limiter.past_deadline() {
            return Err(wasmtime::Error::new(PastDeadline));
        }
        Ok(())
    }
}

impl GuestContext for InCaller<'_> {
    fn state(&self) -> &HostState {
        self.caller.data()
    }

    fn state_mut(&mut self) -> &mut HostState {
        self.caller.data_mut()
    }

    fn read(&self, ptr: u32, buf: &mut [u8]) -> bool {
        self.memory
            .is_some_and(|memory| memory.read(&self.caller, ptr as usize, buf).is_ok())
    }

    fn write(&mut self, ptr: u32, bytes: &[u8]) -> bool {
        self.memory
            .is_some_and(|memory| memory.write(&mut self.caller, ptr as usize, bytes).is_ok())
    }
}

imports::memory_cap_limiter!(wasmtime::ResourceLimiter, wasmtime::Result<bool>);

/// Runs import `call` on the caller's guest if its call still has time, and fails the guest
/// at once if it ran past its deadline.
fn timed(
    caller: Caller<'_, HostState>,
    call: impl FnOnce(&mut InCaller<'_>) -> i64,
) -> wasmtime::Result<i64> {
    let mut guest = InCaller::new(caller);
    guest.past_deadline()?;
    let answer = call(&mut guest);
    guest.past_deadline()?;
    Ok(answer)
}

/// A linker offering exactly the sandbox's imports; `host_call` suspends the guest on an async
/// host function where the engine's calls are async (`suspends`).
fn linker(engine: &Engine, suspends: bool) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    imports::link_timed_imports!(linker, Caller<'_, HostState>, timed);
    linker.func_wrap(
        IMPORT_MODULE,
        IMPORT_PANIC,
        |caller: Caller<'_, HostState>, ptr: u32, len: u32| {
            imports::panic_message(&mut InCaller::new(caller), (ptr, len));
        },
    )?;
    if suspends {
        linker.func_wrap_async(
            IMPORT_MODULE,
            IMPORT_HOST_CALL,
            |caller: Caller<'_, HostState>,
             (name_ptr, name_len, in_ptr, in_len, out_ptr, out_cap): (
                u32,
                u32,
                u32,
                u32,
                u32,
                u32,
            )| {
                Box::new(async move {
                    let mut guest = InCaller::new(caller);
                    guest.past_deadline()?;
                    let mut answered = imports::host_call(
                        &mut guest,
                        (name_ptr, name_len),
                        (in_ptr, in_len),
                        (out_ptr, out_cap),
                    );
                    // An async function: the guest's fiber waits for its answer, until the call's
                    // deadline.
                    if let Some(pending) = guest.state_mut().pending.take() {
                        let PendingCall {
                            answer,
                            function,
                            out,
                            started,
                        } = pending;
                        let deadline = guest.state().limiter.deadline.unwrap_or_else(Instant::now);
                        let Some(outcome) = await_host_function(answer, deadline).await else {
                            return Err(wasmtime::Error::new(PastDeadline));
                        };
                        answered =
                            imports::settle(&mut guest, &function, outcome, started.elapsed(), out);
                    }
                    guest.past_deadline()?;
                    Ok(answered)
                })
            },
        )?;
    } else {
        // No async host function is offered: `host_call` never has a future to wait on.
        linker.func_wrap(
            IMPORT_MODULE,
            IMPORT_HOST_CALL,
            |caller: Caller<'_, HostState>,
             name_ptr: u32,
             name_len: u32,
             in_ptr: u32,
             in_len: u32,
             out_ptr: u32,
             out_cap: u32| {
                timed(caller, |guest| {
                    let answered = imports::host_call(
                        guest,
                        (name_ptr, name_len),
                        (in_ptr, in_len),
                        (out_ptr, out_cap),
                    );
                    // Unreachable by construction (the registry offers no async function);
                    // should one start, its call fails rather than block the thread.
                    if guest.state_mut().pending.take().is_some() {
                        return FAILED;
                    }
                    answered
                })
            },
        )?;
    }
    Ok(linker)
}
