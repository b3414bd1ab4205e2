//! The interpreter engine (`wasmi`, the default): a module compiled for it, its imports, one
//! instance and how an export runs to its end: fuel handed out in slices with the deadline
//! checked between them, and a guest suspended on an async host function resumed with its
//! answer (wasmi's resumable calls).

use std::time::Instant;

use wasmi::errors::ErrorKind;
use wasmi::{
    AsContextMut, Caller, Engine, Extern, ExternType, Global, Instance, Linker, Memory, Module,
    Ref, Store, Table, TableType, TypedFunc, TypedResumableCall, Val,
};

use crate::call::{
    CallError, Export, GuestInstance, await_host_function, cannot_instantiate, fatal,
    missing_export, not_instantiated, out_of_fuel, timeout,
};
use crate::config::WasmConfig;
use crate::imports::{self, GuestContext, HostState, Import, PastDeadline, PendingCall, Suspended};
use crate::state::{
    KeptState, Reset, StateExports, StateHandles, StateShape, StateStore, with_state_exports,
};
use modreg_core::PluginError;
use modreg_core::wasm_abi::{
    EXPORT_ALLOC, EXPORT_PROCESS, IMPORT_HOST_CALL, IMPORT_MODULE, IMPORT_PANIC,
};

/// Fuel handed out at a time: the deadline is checked after each slice (a few milliseconds
/// of guest code).
const SLICE: u64 = 1_000_000;

/// The interpreter's engine for one module (`engines::compile`): fuel metered, translation free of charge;
/// `lazy`: each function validated at its first call, not at load.
pub(crate) fn engine(lazy: bool) -> Engine {
    let mut config = wasmi::Config::default();
    config.consume_fuel(true);
    // The plugin listing is read before compiling (`shape`); wasmi need not keep a copy.
    config.ignore_custom_sections(true);
    if lazy {
        config.compilation_mode(wasmi::CompilationMode::Lazy);
    }
    // A function is translated on its first call (lazy translation, wasmi's default), and
    // wasmi charges that to the calling guest's fuel; but when the slice left is short of
    // it, the call ends with an error that cannot be resumed, so a call failed at random
    // ("ran out of fuel while calling a resumable function"; the conformance kit's 1 MiB
    // round trip found it). Translation is the host's work, bounded by the module's size
    // (capped and validated at load) and done once per engine: it is not the guest's to pay.
    // Copies keep wasmi's default price.
    config.fuel_cost(wasmi::CustomFuelCosts {
        bytes_copied_per_fuel: 64,
        fuel_per_bytes_translated: 0,
        fuel_per_bytes_validated: 0,
    });
    Engine::new(&config)
}

/// A module compiled for the interpreter, with the imports its instances link to.
pub(crate) struct InterpretedModule {
    engine: Engine,
    pub(crate) module: Module,
    /// The imports, defined once for every instance (not per instantiation: a fresh guest per
    /// call would rebuild them on every call).
    linker: Linker<HostState>,
    /// The exports of its memories, tables and mutable globals, where they were added so that
    /// an instance can be reset (`state`).
    state: Option<StateExports>,
}

impl std::fmt::Debug for InterpretedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterpretedModule").finish_non_exhaustive()
    }
}

impl InterpretedModule {
    /// Validates and compiles `bytes` (functions are translated on their first call; in the
    /// lazy engine validated then too); with `state`, with its state exported so that its
    /// instances can be reset (where they can: [`with_state_exports`]).
    pub(crate) fn new(
        engine: &Engine,
        bytes: &[u8],
        state: Option<&StateShape>,
    ) -> Result<Self, String> {
        let exported = state.and_then(|shape| with_state_exports(bytes, shape));
        let (bytes, state) = match &exported {
            Some((rewritten, names)) => (rewritten.as_slice(), Some(names.clone())),
            None => (bytes, None),
        };
        let module = Module::new(engine, bytes).map_err(|e| format!("not a valid module: {e}"))?;
        imports::check_imports(module.imports().map(|import| Import {
            module: import.module(),
            name: import.name(),
            is_function: matches!(import.ty(), ExternType::Func(_)),
        }))?;
        let linker = linker(engine).map_err(|e| format!("its imports cannot be defined: {e}"))?;
        Ok(InterpretedModule {
            engine: engine.clone(),
            module,
            linker,
            state,
        })
    }
}

/// An instance in the interpreter.
pub(crate) struct Interpreted {
    /// Boxed: a store is 1.7 KB, and a sandbox moves into and out of its pool, its plugin
    /// instance and each call; moved inline, the copies were a third of a no-op call's time.
    store: Box<Store<HostState>>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    process: TypedFunc<(u32, u32, u32), u32>,
    /// Its memories, tables and mutable globals, where the module exports them for resets.
    state: Option<StateHandles<Store<HostState>>>,
    /// What [`reset`](Self::reset) puts back, once [`keep_state`](Self::keep_state) took it.
    kept: Option<KeptState<Store<HostState>>>,
}

impl StateStore for Store<HostState> {
    type Instance = Instance;
    type Memory = Memory;
    type Table = Table;
    type Global = Global;
    type Value = Val;

    fn memory_named(&mut self, instance: Instance, name: &str) -> Option<Memory> {
        instance.get_memory(&*self, name)
    }

    fn table_named(&mut self, instance: Instance, name: &str) -> Option<Table> {
        instance.get_table(&*self, name)
    }

    fn global_named(&mut self, instance: Instance, name: &str) -> Option<Global> {
        instance.get_global(&*self, name)
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
        let element = table.ty(&*self).element();
        let ty = TableType::new(element, u32::try_from(size).ok()?, None);
        let copy = Table::new(&mut *self, ty, Ref::default_for_ty(element)).ok()?;
        Table::copy(self, &copy, 0, &table, 0, size).ok()?;
        Some(copy)
    }

    fn copy_table(&mut self, to: Table, from: Table, size: u64) -> bool {
        Table::copy(self, &to, 0, &from, 0, size).is_ok()
    }

    fn get(&mut self, global: Global) -> Val {
        global.get(&*self)
    }

    fn set(&mut self, global: Global, value: &Val) -> bool {
        global.set(self, value.clone()).is_ok()
    }
}

impl std::fmt::Debug for Interpreted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interpreted").finish_non_exhaustive()
    }
}

impl Interpreted {
    /// Instantiates `compiled` (its start function, if any, runs under one slice of fuel).
    pub(crate) fn new(
        compiled: &InterpretedModule,
        name: &str,
        config: &WasmConfig,
        state: HostState,
    ) -> Result<Self, PluginError> {
        let mut store = Box::new(Store::new(&compiled.engine, state));
        store.limiter(|state| &mut state.limiter);
        store
            .set_fuel(SLICE)
            .map_err(|e| cannot_instantiate(name, e))?;
        let instance: Instance = compiled
            .linker
            .instantiate_and_start(&mut *store, &compiled.module)
            .map_err(|e| not_instantiated(name, store.data(), config, e))?;
        let missing = |export| missing_export(name, export);
        let state = (compiled.state.as_ref())
            .and_then(|names| StateHandles::find(&mut *store, instance, names));
        Ok(Interpreted {
            state,
            kept: None,
            memory: instance
                .get_memory(&*store, "memory")
                .ok_or_else(|| missing("memory"))?,
            alloc: instance
                .get_typed_func(&*store, EXPORT_ALLOC)
                .map_err(|_| missing(EXPORT_ALLOC))?,
            process: instance
                .get_typed_func(&*store, EXPORT_PROCESS)
                .map_err(|_| missing(EXPORT_PROCESS))?,
            store,
        })
    }
}

impl GuestInstance for Interpreted {
    fn state(&self) -> &HostState {
        self.store.data()
    }

    fn state_mut(&mut self) -> &mut HostState {
        self.store.data_mut()
    }

    fn read(&self, at: usize, buf: &mut [u8]) -> Result<(), String> {
        self.memory
            .read(&*self.store, at, buf)
            .map_err(|e| e.to_string())
    }

    fn write(&mut self, at: usize, bytes: &[u8]) -> Result<(), String> {
        self.memory
            .write(&mut *self.store, at, bytes)
            .map_err(|e| e.to_string())
    }

    fn memory_bytes(&self) -> usize {
        self.memory.data_size(&*self.store)
    }

    fn grew(&self) -> bool {
        self.memory.size(&*self.store) > self.memory.ty(&*self.store).minimum()
    }

    fn resettable(&self) -> bool {
        self.state.is_some()
    }

    fn keep_state(&mut self) -> bool {
        self.kept = (self.state.as_ref()).and_then(|handles| handles.keep(&mut *self.store));
        self.kept.is_some()
    }

    fn reset(&mut self) -> Reset {
        match &self.kept {
            Some(kept) => kept.reset(&mut *self.store),
            None => Reset::NothingKept,
        }
    }

    /// Runs one export to its end, a slice of fuel at a time, within the call's deadline and
    /// fuel cap; suspended (pending) while an async host function it called runs, and
    /// resumed with its answer.
    async fn run(
        &mut self,
        plugin: &str,
        started: Instant,
        config: &WasmConfig,
        export: Export,
    ) -> Result<u32, CallError> {
        let mut burnt = 0u64;
        let fuel_cap = config.fuel().unwrap_or(u64::MAX);
        let mut slice = SLICE.min(fuel_cap);
        if let Err(e) = self.store.set_fuel(slice) {
            return Err(fatal(self.store.data_mut(), plugin, &e.to_string()));
        }
        let mut call = match export {
            Export::Alloc(len) => self.alloc.call_resumable(&mut *self.store, len),
            Export::Process(index, ptr, len) => self
                .process
                .call_resumable(&mut *self.store, (index, ptr, len)),
        };
        loop {
            match call {
                Ok(TypedResumableCall::Finished(result)) => return Ok(result),
                Ok(TypedResumableCall::OutOfFuel(paused)) => {
                    // What the slice gave minus what is left: an instruction that needs more
                    // than is left stops before it runs and leaves the rest unburnt.
                    let left = self.store.get_fuel().unwrap_or(0);
                    burnt = burnt.saturating_add(slice.saturating_sub(left));
                    // One bulk instruction (`memory.fill`, `memory.copy`) may need more than a
                    // slice: it gets what it needs at once, or stops now if the cap cannot
                    // give it, rather than being retried until the deadline.
                    let needed = paused.required_fuel();
                    if burnt >= fuel_cap || needed > fuel_cap - burnt {
                        return Err(CallError::Fatal(out_of_fuel(plugin, fuel_cap)));
                    }
                    if started.elapsed() >= config.time_budget() {
                        return Err(CallError::Fatal(timeout(plugin, config.time_budget())));
                    }
                    slice = SLICE.max(needed).min(fuel_cap - burnt);
                    if let Err(e) = self.store.set_fuel(slice) {
                        return Err(fatal(self.store.data_mut(), plugin, &e.to_string()));
                    }
                    call = paused.resume(&mut *self.store);
                }
                Ok(TypedResumableCall::HostTrap(paused)) if self.store.data().pending.is_some() => {
                    let pending = self.store.data_mut().pending.take().expect("checked above");
                    let answered = self.wait(plugin, pending, config).await?;
                    call = paused.resume(&mut *self.store, &[Val::I64(answered)]);
                }
                Ok(TypedResumableCall::HostTrap(_)) => {
                    // A host function refuses to run, or stops the guest, past the deadline.
                    if self.store.data().limiter.past_deadline() {
                        return Err(CallError::Fatal(timeout(plugin, config.time_budget())));
                    }
                    return Err(fatal(
                        self.store.data_mut(),
                        plugin,
                        "a host function failed",
                    ));
                }
                Err(error)
                    if matches!(error.kind(), ErrorKind::Wasm(_) | ErrorKind::Translation(_)) =>
                {
                    // The lazy engine validates a function at its first call: this one is not
                    // valid, and nothing of it ran.
                    return Err(fatal(
                        self.store.data_mut(),
                        plugin,
                        &format!("a function it called is not valid WebAssembly: {error}"),
                    ));
                }
                Err(error) => {
                    return Err(fatal(self.store.data_mut(), plugin, &error.to_string()));
                }
            }
        }
    }
}

impl Interpreted {
    /// Waits for the async host function the guest is suspended on, until the call's
    /// deadline: its answer settled into the guest (the guest's return value), or a
    /// `Timeout` (the future is dropped; the guest with it).
    async fn wait(
        &mut self,
        plugin: &str,
        pending: PendingCall,
        config: &WasmConfig,
    ) -> Result<i64, CallError> {
        let PendingCall {
            answer,
            function,
            out,
            started,
        } = pending;
        let deadline = self
            .store
            .data()
            .limiter
            .deadline
            .unwrap_or_else(Instant::now);
        let Some(outcome) = await_host_function(answer, deadline).await else {
            return Err(CallError::Fatal(timeout(plugin, config.time_budget())));
        };
        let mut guest = InStore {
            store: &mut *self.store,
            memory: Some(self.memory),
        };
        let answered = imports::settle(&mut guest, &function, outcome, started.elapsed(), out);
        if self.store.data().limiter.past_deadline() {
            return Err(CallError::Fatal(timeout(plugin, config.time_budget())));
        }
        Ok(answered)
    }
}

/// A host call's guest in the interpreter: a caller, or a store resumed after an async host
/// function, with the guest's memory.
struct InStore<C> {
    store: C,
    memory: Option<Memory>,
}

/// What holds a guest's state: a host call's caller, or its store.
trait HoldsState: AsContextMut<Data = HostState> {
    fn held(&self) -> &HostState;
    fn held_mut(&mut self) -> &mut HostState;
}

impl HoldsState for Caller<'_, HostState> {
    fn held(&self) -> &HostState {
        self.data()
    }

    fn held_mut(&mut self) -> &mut HostState {
        self.data_mut()
    }
}

impl HoldsState for &mut Store<HostState> {
    fn held(&self) -> &HostState {
        self.data()
    }

    fn held_mut(&mut self) -> &mut HostState {
        self.data_mut()
    }
}

impl<C: HoldsState> GuestContext for InStore<C> {
    fn state(&self) -> &HostState {
        self.store.held()
    }

    fn state_mut(&mut self) -> &mut HostState {
        self.store.held_mut()
    }

    fn read(&self, ptr: u32, buf: &mut [u8]) -> bool {
        self.memory
            .is_some_and(|memory| memory.read(&self.store, ptr as usize, buf).is_ok())
    }

    fn write(&mut self, ptr: u32, bytes: &[u8]) -> bool {
        self.memory
            .is_some_and(|memory| memory.write(&mut self.store, ptr as usize, bytes).is_ok())
    }
}

impl wasmi::errors::HostError for Suspended {}

impl wasmi::errors::HostError for PastDeadline {}

imports::memory_cap_limiter!(wasmi::ResourceLimiter, Result<bool, wasmi_core::LimiterError>);

/// Runs host function `call` on the caller's guest if its call still has time, and fails the
/// guest at once if it ran past its deadline.
fn timed(
    caller: Caller<'_, HostState>,
    call: impl FnOnce(&mut InStore<Caller<'_, HostState>>) -> i64,
) -> Result<i64, wasmi::Error> {
    let memory = caller.get_export("memory").and_then(Extern::into_memory);
    let mut guest = InStore {
        store: caller,
        memory,
    };
    if guest.state().limiter.past_deadline() {
        return Err(wasmi::Error::host(PastDeadline));
    }
    let answer = call(&mut guest);
    if guest.state().limiter.past_deadline() {
        return Err(wasmi::Error::host(PastDeadline));
    }
    // An async function's future is running: the guest waits, suspended, for its answer.
    if guest.state().pending.is_some() {
        return Err(wasmi::Error::host(Suspended));
    }
    Ok(answer)
}

/// A linker offering exactly the sandbox's imports; a module importing anything else fails to
/// load.
fn linker(engine: &Engine) -> Result<Linker<HostState>, wasmi::Error> {
    let mut linker = Linker::new(engine);
    imports::link_timed_imports!(linker, Caller<'_, HostState>, timed);
    linker.func_wrap(
        IMPORT_MODULE,
        IMPORT_PANIC,
        |caller: Caller<'_, HostState>, ptr: u32, len: u32| {
            let memory = caller.get_export("memory").and_then(Extern::into_memory);
            let mut guest = InStore {
                store: caller,
                memory,
            };
            imports::panic_message(&mut guest, (ptr, len));
        },
    )?;
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
                imports::host_call(
                    guest,
                    (name_ptr, name_len),
                    (in_ptr, in_len),
                    (out_ptr, out_cap),
                )
            })
        },
    )?;
    Ok(linker)
}
