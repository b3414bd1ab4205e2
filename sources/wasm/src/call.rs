//! A call under the sandbox's limits, whichever engine runs the guest: the input written
//! through the guest's `modreg_alloc`, `modreg_process` run, the answer record read and its
//! length checked before the answer is copied. The engines (`interpreter`, `jit`) run each
//! export to its end under fuel, deadline and memory limits ([`GuestInstance::run`]); this
//! protocol and its errors are written once.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use crate::config::WasmConfig;
use crate::host_function::{Answer, HostFunctionError};
use crate::imports::{Grants, HostState, MemoryCap};
use crate::state::Reset;
use modreg_core::typed_sandbox::MethodError;
use modreg_core::wasm_abi::{ANSWER_RECORD, STATUS_METHOD_ERROR, STATUS_OK};
use modreg_core::{PluginError, PluginErrorKind};
use modreg_host::Events;

/// The guest export a run calls.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Export {
    /// `modreg_alloc(len)`: room for the input.
    Alloc(u32),
    /// `modreg_process(index, ptr, len)`: the call itself.
    Process(u32, u32, u32),
}

/// What the call protocol needs of one engine's instance.
pub(crate) trait GuestInstance {
    fn state(&self) -> &HostState;
    fn state_mut(&mut self) -> &mut HostState;
    /// Copies linear memory at `at` into `buf`.
    fn read(&self, at: usize, buf: &mut [u8]) -> Result<(), String>;
    /// Copies `bytes` into linear memory at `at`.
    fn write(&mut self, at: usize, bytes: &[u8]) -> Result<(), String>;
    /// Runs `export` to its end within the call's deadline and fuel cap; pending while an
    /// async host function it called runs.
    fn run(
        &mut self,
        plugin: &str,
        started: Instant,
        config: &WasmConfig,
        export: Export,
    ) -> impl Future<Output = Result<u32, CallError>> + Send;
    /// The bytes of linear memory this instance holds.
    fn memory_bytes(&self) -> usize;
    /// Whether the guest grew its memory past what the module declared at the start.
    fn grew(&self) -> bool;
    /// Whether the module's state is exported, so that this instance can be reset (`state`).
    fn resettable(&self) -> bool;
    /// Keeps the instance's state as it is now, for [`reset`](Self::reset). `false` where it
    /// cannot (a table too large, or not of functions, or the store refused the copy).
    fn keep_state(&mut self) -> bool;
    /// Puts the instance back into the state [`keep_state`](Self::keep_state) took: every
    /// byte of its memories, every element of its tables, every mutable global.
    fn reset(&mut self) -> Reset;
}

/// Why a new instance of `module` was not made: the registry's guests hold all the memory
/// they may (no room now, not a bad module), or what the engine said.
pub(crate) fn not_instantiated(
    module: &str,
    state: &HostState,
    config: &WasmConfig,
    reason: impl std::fmt::Display,
) -> PluginError {
    if state.limiter.total_hit {
        PluginError::from(PluginErrorKind::MemoryLimit {
            plugin: module.to_owned(),
            limit: config.max_total_memory(),
        })
    } else {
        cannot_instantiate(module, reason)
    }
}

/// `module` cannot be instantiated, as the engine said.
pub(crate) fn cannot_instantiate(module: &str, reason: impl std::fmt::Display) -> PluginError {
    PluginError::from(PluginErrorKind::WasmModule {
        module: module.to_owned(),
        reason: format!("cannot be instantiated: {reason}"),
    })
}

/// An export of the protocol that `module` lacks, or has with the wrong type.
pub(crate) fn missing_export(module: &str, export: &str) -> PluginError {
    PluginError::from(PluginErrorKind::WasmModule {
        module: module.to_owned(),
        reason: format!("`{export}` is missing or has the wrong type"),
    })
}

/// The host's state for a new instance of `module`.
pub(crate) fn host_state(
    config: &WasmConfig,
    events: &Events,
    total: &Arc<AtomicUsize>,
) -> HostState {
    HostState {
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
        refusals: 0,
        host_answer: None,
        pending: None,
    }
}

/// Readies `guest`'s host state for a run under `config` with `grants`, starting now (when it
/// returns): what an earlier run left is cleared, and its deadline set.
fn begin(guest: &mut impl GuestInstance, grants: &Arc<Grants>, config: &WasmConfig) -> Instant {
    let started = Instant::now();
    let state = guest.state_mut();
    state.grants = Arc::clone(grants);
    state.denied = None;
    state.refusals = 0;
    state.host_answer = None;
    // The plugin's own cap (its record may narrow the module's) for what this call grows.
    state.limiter.limit = config.memory_limit();
    // A refused growth the guest survived in an earlier call is not this call's cause.
    state.limiter.hit = false;
    state.limiter.total_hit = false;
    state.panic_message = None;
    // The limiter and the host functions stop the guest at the deadline too.
    state.limiter.deadline = Some(started + config.time_budget());
    state.limiter.budget = config.time_budget();
    state.limiter.late = false;
    started
}

/// The host's first `modreg_alloc(1)` in a new instance, under `config`'s limits and no grant:
/// what makes a Rust guest's allocator grow its memory, before the instance's state is kept
/// for resets (`state`).
pub(crate) async fn warm_up(
    guest: &mut impl GuestInstance,
    module: &str,
    config: &WasmConfig,
) -> Result<(), CallError> {
    let started = begin(guest, &Arc::default(), config);
    guest
        .run(module, started, config, Export::Alloc(1))
        .await
        .map(drop)
}

/// The call protocol over any engine's instance.
pub(crate) async fn call(
    guest: &mut impl GuestInstance,
    plugin: &str,
    index: u32,
    input: &[u8],
    grants: &Arc<Grants>,
    config: &WasmConfig,
) -> Result<Vec<u8>, CallError> {
    let started = begin(guest, grants, config);
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
        let ptr = guest
            .run(plugin, started, config, Export::Alloc(len))
            .await?;
        guest
            .write(ptr as usize, input)
            .map_err(|e| fatal(guest.state_mut(), plugin, &e))?;
        ptr
    };
    let at = guest
        .run(plugin, started, config, Export::Process(index, ptr, len))
        .await?;
    let mut record = [0u8; ANSWER_RECORD];
    guest
        .read(at as usize, &mut record)
        .map_err(|e| fatal(guest.state_mut(), plugin, &e))?;
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
    guest
        .read(out_ptr, &mut answer)
        .map_err(|e| fatal(guest.state_mut(), plugin, &e))?;
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
    Err(CallError::Plugin(match guest.state().denied.clone() {
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

/// What stopped a guest that trapped with `trap`: the panic it reported, its deadline (memory
/// could not grow because its time was up), the memory cap it met, or the trap itself.
pub(crate) fn fatal(state: &mut HostState, plugin: &str, trap: &str) -> CallError {
    CallError::Fatal(if let Some(message) = state.panic_message.take() {
        PluginError::from(PluginErrorKind::Panicked {
            plugin: plugin.to_owned(),
            during: "process",
            message,
        })
    } else if state.limiter.late {
        timeout(plugin, state.limiter.budget)
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

/// The call's time budget ran out.
pub(crate) fn timeout(plugin: &str, budget: std::time::Duration) -> PluginError {
    PluginError::from(PluginErrorKind::Timeout {
        plugin: plugin.to_owned(),
        budget,
    })
}

/// The call's fuel cap ran out.
pub(crate) fn out_of_fuel(plugin: &str, cap: u64) -> PluginError {
    PluginError::from(PluginErrorKind::Trapped {
        plugin: plugin.to_owned(),
        trap: format!("its fuel of {cap} ran out"),
    })
}

/// The outcome of an async host function the guest waits on, raced against the call's
/// deadline: `None` when the deadline came first.
pub(crate) async fn await_host_function(
    answer: Answer,
    deadline: Instant,
) -> Option<Option<Result<Vec<u8>, HostFunctionError>>> {
    Deadlined {
        answer,
        deadline,
        timer: futures_timer::Delay::new(deadline.saturating_duration_since(Instant::now())),
    }
    .await
}

/// An async host function's answer raced against the call's deadline: `None` when the
/// deadline came first; `Some(None)` when the future panicked (that call's failure).
pub(crate) struct Deadlined {
    pub(crate) answer: Answer,
    pub(crate) deadline: Instant,
    /// Wakes the task at the deadline (the answer may never wake it).
    pub(crate) timer: futures_timer::Delay,
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
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
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
