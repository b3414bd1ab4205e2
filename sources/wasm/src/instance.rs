//! One instance of a module, and a call under the sandbox's limits: fuel handed out in slices
//! with the deadline checked between them, memory capped by the store's limiter, the answer's
//! length checked before it is copied.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use wasmi::{Engine, Instance, Linker, Memory, Store, TypedFunc, TypedResumableCall, Val};

use crate::host_function::{Answer, HostFunctionError};
use crate::imports::{PendingCall, settle};

use crate::config::WasmConfig;
use crate::imports::{Grants, HostState, MemoryCap};
use crate::module::WasmModule;
use modreg_core::typed_sandbox::MethodError;
use modreg_core::wasm_abi::{
    ANSWER_RECORD, EXPORT_ALLOC, EXPORT_PROCESS, STATUS_METHOD_ERROR, STATUS_OK,
};
use modreg_core::{PluginError, PluginErrorKind};
use modreg_host::Events;

/// Fuel handed out at a time: the deadline is checked after each slice (a few milliseconds
/// of guest code).
const SLICE: u64 = 1_000_000;

/// An instantiated module.
pub(crate) struct Sandbox {
    /// Boxed: a store is 1.7 KB, and a sandbox moves into and out of its pool, its plugin
    /// instance and each call; moved inline, the copies were a third of a no-op call's time.
    store: Box<Store<HostState>>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    process: TypedFunc<(u32, u32, u32), u32>,
}

impl Sandbox {
    /// The bytes of linear memory this instance holds.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.memory.data_size(&*self.store)
    }

    /// Whether the guest grew its memory past what the module declared at the start: such
    /// an instance is not kept idle (its memory is given back when it is dropped).
    pub(crate) fn grew(&self) -> bool {
        self.memory.size(&*self.store) > self.memory.ty(&*self.store).minimum()
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").finish_non_exhaustive()
    }
}

fn engine_error(module: &str, error: &wasmi::Error) -> PluginError {
    PluginError::from(PluginErrorKind::WasmModule {
        module: module.to_owned(),
        reason: format!("cannot be instantiated: {error}"),
    })
}

impl Sandbox {
    /// Instantiates `module` with the imports `linker` defines (its start function, if any,
    /// runs under one slice of fuel).
    pub(crate) fn new(
        engine: &Engine,
        linker: &Linker<HostState>,
        module: &WasmModule,
        config: &WasmConfig,
        events: &Events,
        total: &Arc<AtomicUsize>,
    ) -> Result<Self, PluginError> {
        let state = HostState {
            events: events.clone(),
            limiter: MemoryCap {
                limit: config.memory_limit(),
                hit: false,
                total: Arc::clone(total),
                total_limit: config.max_total_memory(),
                held: 0,
                total_hit: false,
                deadline: None,
                budget: config.time_budget(),
                late: false,
            },
            grants: Arc::default(),
            panic_message: None,
            denied: None,
            host_answer: None,
            pending: None,
        };
        let mut store = Box::new(Store::new(engine, state));
        store.limiter(|state| &mut state.limiter);
        store
            .set_fuel(SLICE)
            .map_err(|e| engine_error(&module.name, &e))?;
        let instance: Instance = linker
            .instantiate_and_start(&mut *store, &module.compiled)
            .map_err(|e| {
                // The registry's guests hold all they may: no room now, not a bad module.
                if store.data().limiter.total_hit {
                    PluginError::from(PluginErrorKind::MemoryLimit {
                        plugin: module.name.clone(),
                        limit: config.max_total_memory(),
                    })
                } else {
                    engine_error(&module.name, &e)
                }
            })?;
        let missing = |what: &str| {
            PluginError::from(PluginErrorKind::WasmModule {
                module: module.name.clone(),
                reason: format!("`{what}` is missing or has the wrong type"),
            })
        };
        Ok(Sandbox {
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

    /// Runs plugin number `index` (named `plugin`) on `input` with `grants`. An `Err` that is
    /// not the plugin's own error leaves the instance unusable: drop it. The thread waits for
    /// any async host function the guest calls.
    pub(crate) fn call(
        &mut self,
        plugin: &str,
        index: u32,
        input: &[u8],
        grants: &Arc<Grants>,
        config: &WasmConfig,
    ) -> Result<Vec<u8>, CallError> {
        block_on(self.call_async(plugin, index, input, grants, config))
    }

    /// [`call`](Self::call) as a future: while the guest waits for an async host function,
    /// the future is pending (the caller's task yields its thread).
    pub(crate) async fn call_async(
        &mut self,
        plugin: &str,
        index: u32,
        input: &[u8],
        grants: &Arc<Grants>,
        config: &WasmConfig,
    ) -> Result<Vec<u8>, CallError> {
        let state = self.store.data_mut();
        state.grants = Arc::clone(grants);
        state.denied = None;
        state.host_answer = None;
        // The plugin's own cap (its record may narrow the module's) for what this call grows.
        state.limiter.limit = config.memory_limit();
        // A refused growth the guest survived in an earlier call is not this call's cause.
        state.limiter.hit = false;
        state.limiter.total_hit = false;
        state.panic_message = None;
        let started = Instant::now();
        let len = u32::try_from(input.len()).map_err(|_| {
            CallError::Fatal(PluginError::from(PluginErrorKind::TooLarge {
                plugin: plugin.to_owned(),
                what: "input",
                size: input.len(),
                limit: u32::MAX as usize,
            }))
        })?;
        let ptr = if len == 0 {
            0
        } else {
            let alloc = self.alloc;
            let ptr = self
                .run(plugin, started, config, |store| {
                    alloc.call_resumable(store, len)
                })
                .await?;
            self.memory
                .write(&mut *self.store, ptr as usize, input)
                .map_err(|e| self.fatal(plugin, &e.to_string()))?;
            ptr
        };
        let process = self.process;
        let at = self
            .run(plugin, started, config, |store| {
                process.call_resumable(store, (index, ptr, len))
            })
            .await?;
        let mut record = [0u8; ANSWER_RECORD];
        self.memory
            .read(&*self.store, at as usize, &mut record)
            .map_err(|e| self.fatal(plugin, &e.to_string()))?;
        let field =
            |i: usize| u32::from_le_bytes([record[i], record[i + 1], record[i + 2], record[i + 3]]);
        let (status, out_ptr, out_len) = (field(0), field(4) as usize, field(8) as usize);
        if out_len > config.max_output_bytes() {
            return Err(CallError::Fatal(PluginError::from(
                PluginErrorKind::TooLarge {
                    plugin: plugin.to_owned(),
                    what: "output",
                    size: out_len,
                    limit: config.max_output_bytes(),
                },
            )));
        }
        let mut answer = vec![0; out_len];
        self.memory
            .read(&*self.store, out_ptr, &mut answer)
            .map_err(|e| self.fatal(plugin, &e.to_string()))?;
        if status == STATUS_OK {
            return Ok(answer);
        }
        if status == STATUS_METHOD_ERROR {
            // A typed method's own `Err`: a failed call, carrying the method's error value.
            return Err(CallError::Plugin(PluginError::from_plugin(
                plugin,
                MethodError(answer),
            )));
        }
        let message = String::from_utf8_lossy(&answer).into_owned();
        Err(CallError::Plugin(match self.store.data().denied.clone() {
            Some(permission) => PluginError::from(PluginErrorKind::PermissionDenied {
                plugin: plugin.to_owned(),
                permission,
            }),
            None => PluginError::from(PluginErrorKind::Processing {
                plugin: plugin.to_owned(),
                reason: message,
            }),
        }))
    }

    fn fatal(&mut self, plugin: &str, trap: &str) -> CallError {
        let state = self.store.data_mut();
        CallError::Fatal(if let Some(message) = state.panic_message.take() {
            PluginError::from(PluginErrorKind::Panicked {
                plugin: plugin.to_owned(),
                during: "process",
                message,
            })
        } else if state.limiter.late {
            // Its memory could not grow because its time was up.
            PluginError::from(PluginErrorKind::Timeout {
                plugin: plugin.to_owned(),
                budget: state.limiter.budget,
            })
        } else if state.limiter.hit {
            PluginError::from(PluginErrorKind::MemoryLimit {
                plugin: plugin.to_owned(),
                // The limit it met: the registry's, or its own.
                limit: if state.limiter.total_hit {
                    state.limiter.total_limit
                } else {
                    state.limiter.limit
                },
            })
        } else {
            PluginError::from(PluginErrorKind::Trapped {
                plugin: plugin.to_owned(),
                trap: trap.to_owned(),
            })
        })
    }

    /// Runs one exported function to its end, a slice of fuel at a time, within the call's
    /// deadline and fuel cap; suspended (pending) while an async host function it called
    /// runs, and resumed with its answer.
    async fn run(
        &mut self,
        plugin: &str,
        started: Instant,
        config: &WasmConfig,
        start: impl FnOnce(&mut Store<HostState>) -> Result<TypedResumableCall<u32>, wasmi::Error>,
    ) -> Result<u32, CallError> {
        let mut burnt = 0u64;
        let fuel_cap = config.fuel().unwrap_or(u64::MAX);
        // The limiter and the host functions stop the guest at the deadline too.
        let limiter = &mut self.store.data_mut().limiter;
        limiter.deadline = Some(started + config.time_budget());
        limiter.budget = config.time_budget();
        limiter.late = false;
        let mut slice = SLICE.min(fuel_cap);
        if let Err(e) = self.store.set_fuel(slice) {
            return Err(self.fatal(plugin, &e.to_string()));
        }
        let mut call = start(&mut self.store);
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
                        return Err(CallError::Fatal(PluginError::from(
                            PluginErrorKind::Trapped {
                                plugin: plugin.to_owned(),
                                trap: format!("its fuel of {fuel_cap} ran out"),
                            },
                        )));
                    }
                    if started.elapsed() >= config.time_budget() {
                        return Err(CallError::Fatal(PluginError::from(
                            PluginErrorKind::Timeout {
                                plugin: plugin.to_owned(),
                                budget: config.time_budget(),
                            },
                        )));
                    }
                    slice = SLICE.max(needed).min(fuel_cap - burnt);
                    if let Err(e) = self.store.set_fuel(slice) {
                        return Err(self.fatal(plugin, &e.to_string()));
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
                        return Err(CallError::Fatal(PluginError::from(
                            PluginErrorKind::Timeout {
                                plugin: plugin.to_owned(),
                                budget: config.time_budget(),
                            },
                        )));
                    }
                    return Err(self.fatal(plugin, "a host function failed"));
                }
                Err(error) => return Err(self.fatal(plugin, &error.to_string())),
            }
        }
    }
}

impl Sandbox {
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
        let timeout = || {
            CallError::Fatal(PluginError::from(PluginErrorKind::Timeout {
                plugin: plugin.to_owned(),
                budget: config.time_budget(),
            }))
        };
        let Some(outcome) = (Deadlined {
            answer,
            deadline,
            timer: futures_timer::Delay::new(deadline.saturating_duration_since(Instant::now())),
        })
        .await
        else {
            return Err(timeout());
        };
        let memory = Some(self.memory);
        let answered = settle(
            &mut *self.store,
            memory,
            &function,
            outcome,
            started.elapsed(),
            out,
        );
        if self.store.data().limiter.past_deadline() {
            return Err(timeout());
        }
        Ok(answered)
    }
}

/// An async host function's answer raced against the call's deadline: `None` when the
/// deadline came first; `Some(None)` when the future panicked (that call's failure).
struct Deadlined {
    answer: Answer,
    deadline: Instant,
    /// Wakes the task at the deadline (the answer may never wake it).
    timer: futures_timer::Delay,
}

impl Future for Deadlined {
    type Output = Option<Option<Result<Vec<u8>, HostFunctionError>>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            this.answer.as_mut().poll(cx)
        }));
        match polled {
            Ok(Poll::Ready(answer)) => return Poll::Ready(Some(Some(answer))),
            Err(_) => return Poll::Ready(Some(None)),
            Ok(Poll::Pending) => {}
        }
        if Instant::now() >= this.deadline || Pin::new(&mut this.timer).poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

/// Wakes the thread that parked in [`block_on`].
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    /// This thread's waker for [`block_on`], made once.
    static THREAD_WAKER: Waker = Waker::from(Arc::new(Unpark(std::thread::current())));
}

/// Runs `future` on this thread, parking it while the future waits. Written here rather than
/// taken from an executor crate: a sandbox call is one future that is ready at once unless its
/// guest waits on an async host function, which a timer or the embedder's runtime wakes.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    THREAD_WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            std::thread::park();
        }
    })
}

/// How a call failed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The plugin returned an error; the instance is fine.
    Plugin(PluginError),
    /// The sandbox stopped the call (trap, panic, limit): drop the instance.
    Fatal(PluginError),
}
