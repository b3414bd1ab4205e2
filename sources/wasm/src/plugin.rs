//! `WasmPlugin`: the `Plugin` a created WebAssembly plugin is. Instances of one module share
//! its compiled code and a pool of idle sandboxes; how long a sandbox's state lives is the
//! module's [`GuestState`]: by default every call gets a sandbox in its first state (one no
//! call used, or one reset after a call: `state`); per instance, per principal, or shared on
//! request. A sandbox a call trapped in is dropped, never reused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::call::CallError;
use crate::config::{GuestState, WasmConfig};
use crate::imports::Grants;
use crate::instance::{Resettable, Sandbox};
use crate::module::WasmModule;
use crate::state::Reset;
use modreg_core::Plugin;
use modreg_core::PluginType;
use modreg_core::typed_sandbox::BoxFuture;
use modreg_core::{PluginError, PluginErrorKind};
use modreg_host::Events;

/// A loaded module with its engine, the limits it was loaded under and its idle sandboxes.
///
/// Idle sandboxes keep their linear memory for the next call, so they are bounded: at most
/// `pool_size` per module, none whose guest grew its memory past `max_idle_memory /
/// pool_size` (it is dropped, its memory given back), and all modules of a registry together
/// at most `max_idle_memory` bytes (`idle` counts them).
#[derive(Debug)]
pub(crate) struct LoadedModule {
    pub(crate) module: WasmModule,
    config: WasmConfig,
    events: Events,
    pool: Mutex<Vec<Sandbox>>,
    /// Each principal's guest between its calls ([`GuestState::PerPrincipal`]), with when it
    /// was last put back (a count of `uses`).
    principals: Mutex<HashMap<Arc<str>, (u64, Sandbox)>>,
    /// Principals' guests put back so far: the order `principals` were last used in.
    uses: AtomicU64,
    /// Bytes of memory idle sandboxes hold across the registry's modules.
    idle: Arc<AtomicUsize>,
    /// Bytes of memory every sandbox of the registry holds, capped by `max_total_memory`.
    total: Arc<AtomicUsize>,
    /// Where guests are fresh per call: whether new instances are made to be reset after a
    /// call (`state`). Cleared for good when an instance cannot be (the module does not allow
    /// it, or the host's first allocation in it failed other than for want of the registry's
    /// memory), so that a module whose allocator traps is not asked again at every call: its
    /// guests are then new instances.
    resets: AtomicBool,
    /// After an instance made to be reset could not be (its call grew its memory or a
    /// table), how many new instances are made plain before one is made to be reset again
    /// (`plain_left`, counting down from `backoff`). Making an instance to be reset costs more
    /// than a plain one (the host's first allocation, an image of its memory, a copy of its
    /// tables): a module whose every call grows would pay it at every call for nothing.
    /// `backoff` doubles at each failed reset, up to [`MAX_BACKOFF`], and is 0 again after a
    /// reset that succeeds.
    backoff: AtomicU32,
    plain_left: AtomicU32,
}

/// The most plain instances made in a row between two made to be reset (`LoadedModule`'s
/// `backoff`): the extra cost of one made to be reset (about 47 us where the codecs guest's
/// 64 KiB call grows it in the compiling engine), spread over this many calls, is under 1 %
/// of such a call (about 105 us; BENCHMARKS.md, where a cap of 4,096 measured the same).
const MAX_BACKOFF: u32 = 64;

impl LoadedModule {
    pub(crate) fn new(
        module: WasmModule,
        config: WasmConfig,
        events: Events,
        idle: Arc<AtomicUsize>,
        total: Arc<AtomicUsize>,
    ) -> Self {
        LoadedModule {
            module,
            config,
            events,
            pool: Mutex::new(Vec::new()),
            principals: Mutex::new(HashMap::new()),
            uses: AtomicU64::new(0),
            idle,
            total,
            resets: AtomicBool::new(true),
            backoff: AtomicU32::new(0),
            plain_left: AtomicU32::new(0),
        }
    }

    /// A sandbox ready for a call: an idle one, else a new instance (where guests are fresh
    /// per call, one made to be reset after the call, unless the module backs off: `backoff`).
    pub(crate) fn sandbox(&self) -> Result<Sandbox, PluginError> {
        let idle = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(sandbox) => {
                self.idle
                    .fetch_sub(sandbox.memory_bytes(), Ordering::AcqRel);
                Ok(sandbox)
            }
            None if self.config.guest_state() == GuestState::FreshPerCall
                && self.resets.load(Ordering::Relaxed)
                && self
                    .plain_left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_err() =>
            {
                let (sandbox, resettable) =
                    Sandbox::new_resettable(&self.module, &self.config, &self.events, &self.total)?;
                if resettable == Resettable::Never {
                    self.resets.store(false, Ordering::Relaxed);
                }
                Ok(sandbox)
            }
            None => Sandbox::new(&self.module, &self.config, &self.events, &self.total),
        }
    }

    /// Makes the module's first instance before it may replace anything: its imports link,
    /// its memory fits the cap, its start function ends within one slice of fuel and its
    /// exports have their types. The instance waits in the pool for the first call.
    pub(crate) fn instantiate_once(&self) -> Result<(), PluginError> {
        let sandbox = Sandbox::new(&self.module, &self.config, &self.events, &self.total)?;
        self.give_back(sandbox);
        Ok(())
    }

    /// Keeps `sandbox` idle for a later call, within the pool's bounds.
    fn give_back(&self, sandbox: Sandbox) {
        let bytes = sandbox.memory_bytes();
        if sandbox.grew() && bytes > self.fair_share() {
            return;
        }
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() >= self.config.pool_size() {
            return;
        }
        let budget = self.config.max_idle_memory();
        let taken = self
            .idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|total| *total <= budget)
            });
        if taken.is_ok() {
            pool.push(sandbox);
        }
    }

    /// Runs plugin `index` on `input` in `sandbox`; the sandbox back when the call left it
    /// usable (an answer or the plugin's own error), `None` when it trapped.
    fn run(
        spec: &WasmPluginSpec,
        mut sandbox: Sandbox,
        input: &[u8],
    ) -> (Result<Vec<u8>, PluginError>, Option<Sandbox>) {
        match sandbox.call(&spec.name, spec.index, input, &spec.grants, &spec.config) {
            Ok(output) => (Ok(output), Some(sandbox)),
            Err(CallError::Plugin(error)) => (Err(error), Some(sandbox)),
            Err(CallError::Fatal(error)) => (Err(error), None),
        }
    }

    /// [`run`](Self::run) as a future (pending while the guest waits on an async host
    /// function).
    async fn run_async(
        spec: &WasmPluginSpec,
        mut sandbox: Sandbox,
        input: &[u8],
    ) -> (Result<Vec<u8>, PluginError>, Option<Sandbox>) {
        let called = sandbox
            .call_async(&spec.name, spec.index, input, &spec.grants, &spec.config)
            .await;
        match called {
            Ok(output) => (Ok(output), Some(sandbox)),
            Err(CallError::Plugin(error)) => (Err(error), Some(sandbox)),
            Err(CallError::Fatal(error)) => (Err(error), None),
        }
    }

    /// Runs plugin `index` on `input`: in a sandbox no call used (dropped after), or one from
    /// the shared pool (given back after), as the module's [`GuestState`] says.
    fn call(&self, spec: &WasmPluginSpec, input: &[u8]) -> Result<Vec<u8>, PluginError> {
        let (outcome, used) = Self::run(spec, self.sandbox()?, input);
        self.after(used);
        outcome
    }

    /// [`call`](Self::call) as a future.
    async fn call_async(
        &self,
        spec: &WasmPluginSpec,
        input: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        let (outcome, used) = Self::run_async(spec, self.sandbox()?, input).await;
        self.after(used);
        outcome
    }

    /// `principal`'s guest, taken out for a call; a new one when it has none yet or another
    /// of its calls holds it. A new one that does not fit the registry's memory
    /// (`max_total_memory`) takes the place of the guest of the principal that called least
    /// recently, then of the next: principals come and go, and those long gone would
    /// otherwise keep every new one out.
    fn principals(&self, principal: &Arc<str>) -> Result<Sandbox, PluginError> {
        let kept = self
            .principals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(principal);
        if let Some((_, sandbox)) = kept {
            return Ok(sandbox);
        }
        loop {
            match self.sandbox() {
                Err(error) if matches!(error.kind(), PluginErrorKind::MemoryLimit { .. }) => {
                    let mut principals = self
                        .principals
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    let oldest = principals
                        .iter()
                        .min_by_key(|(_, (used, _))| *used)
                        .map(|(name, _)| Arc::clone(name));
                    let Some(evicted) = oldest.and_then(|name| principals.remove(&name)) else {
                        return Err(error);
                    };
                    drop(principals);
                    // Its memory goes back to the registry's budget here.
                    drop(evicted);
                }
                made => return made,
            }
        }
    }

    /// Keeps the guest a call of `principal` left usable for its next call (unless a
    /// concurrent call put one back first: the principal keeps that one).
    fn keep_principals(&self, principal: &Arc<str>, used: Option<Sandbox>) {
        if let Some(sandbox) = used {
            let stamp = self.uses.fetch_add(1, Ordering::Relaxed);
            self.principals
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(principal.clone())
                .or_insert((stamp, sandbox));
        }
    }

    /// A call in `principal`'s guest.
    fn call_as(
        &self,
        principal: &Arc<str>,
        spec: &WasmPluginSpec,
        input: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        let (outcome, used) = Self::run(spec, self.principals(principal)?, input);
        self.keep_principals(principal, used);
        outcome
    }

    /// [`call_as`](Self::call_as) as a future (the guest is out of the map while it runs).
    async fn call_as_async(
        &self,
        principal: &Arc<str>,
        spec: &WasmPluginSpec,
        input: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        let (outcome, used) = Self::run_async(spec, self.principals(principal)?, input).await;
        self.keep_principals(principal, used);
        outcome
    }

    /// The most memory a guest that grew may hold and still be kept idle: its share of the
    /// registry's idle budget, so that a full pool fits it. (A Rust guest's allocator grows
    /// memory on its first call: dropping every guest that grew would make shared guests
    /// fresh ones.)
    fn fair_share(&self) -> usize {
        self.config.max_idle_memory() / self.config.pool_size().max(1)
    }

    /// A sandbox a call left usable goes back to the pool where guests are shared, and where
    /// they are fresh per call, once it is reset to its state before any call (one that
    /// cannot be reset is dropped).
    fn after(&self, used: Option<Sandbox>) {
        let Some(mut sandbox) = used else {
            return;
        };
        match self.config.guest_state() {
            GuestState::Shared => self.give_back(sandbox),
            GuestState::FreshPerCall => match sandbox.reset() {
                Reset::Done => {
                    if self.backoff.load(Ordering::Relaxed) != 0 {
                        self.backoff.store(0, Ordering::Relaxed);
                    }
                    self.give_back(sandbox);
                }
                Reset::Failed => {
                    let backoff = self
                        .backoff
                        .load(Ordering::Relaxed)
                        .saturating_mul(2)
                        .clamp(1, MAX_BACKOFF);
                    self.backoff.store(backoff, Ordering::Relaxed);
                    self.plain_left.store(backoff, Ordering::Relaxed);
                }
                Reset::NothingKept => {}
            },
            _ => {}
        }
    }
}

impl Drop for LoadedModule {
    /// A replaced or unloaded module's idle sandboxes go, and their memory off the count.
    fn drop(&mut self) {
        let pool = self.pool.get_mut().unwrap_or_else(PoisonError::into_inner);
        let bytes: usize = pool.iter().map(Sandbox::memory_bytes).sum();
        self.idle.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// One plugin of a loaded module: what its instances report and may reach.
#[derive(Debug)]
pub(crate) struct WasmPluginSpec {
    pub(crate) module: Arc<LoadedModule>,
    pub(crate) index: u32,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) plugin_type: PluginType,
    pub(crate) capabilities: Vec<String>,
    pub(crate) grants: Arc<Grants>,
    /// The limits its calls run under: the module's, tightened by what its record asks.
    pub(crate) config: WasmConfig,
}

/// An instance of a WebAssembly plugin.
#[derive(Debug)]
pub(crate) struct WasmPlugin {
    spec: Arc<WasmPluginSpec>,
    /// Its own guest, kept across its calls where guests live [`GuestState::PerInstance`].
    own: Mutex<Option<Sandbox>>,
    /// The principal it was created for, whose guest it calls where guests live
    /// [`GuestState::PerPrincipal`].
    principal: Option<Arc<str>>,
}

impl WasmPlugin {
    /// An instance of `spec`'s plugin, for the principal acting on this thread (if any).
    pub(crate) fn new(spec: Arc<WasmPluginSpec>) -> Self {
        WasmPlugin {
            spec,
            own: Mutex::new(None),
            principal: modreg_host::acting_principal(),
        }
    }

    /// A call in this instance's own guest; one made while another runs gets a fresh guest.
    fn call_own(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let module = &self.spec.module;
        let Ok(mut own) = self.own.try_lock() else {
            return module.call(&self.spec, data);
        };
        let sandbox = match own.take() {
            Some(sandbox) => sandbox,
            None => module.sandbox()?,
        };
        let (outcome, used) = LoadedModule::run(&self.spec, sandbox, data);
        *own = used;
        outcome
    }
}

impl WasmPlugin {
    /// [`call_own`](Self::call_own) as a future. The guest is taken out of the instance for
    /// the call (a lock is not held across an await): a call made meanwhile gets a fresh guest,
    /// as it would while `call_own` holds it.
    async fn call_own_async(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let module = &self.spec.module;
        let taken = self.own.try_lock().ok().map(|mut own| own.take());
        let Some(own) = taken else {
            return module.call_async(&self.spec, data).await;
        };
        let sandbox = match own {
            Some(sandbox) => sandbox,
            None => module.sandbox()?,
        };
        let (outcome, used) = LoadedModule::run_async(&self.spec, sandbox, data).await;
        if let Some(used) = used
            && let Ok(mut own) = self.own.try_lock()
            && own.is_none()
        {
            *own = Some(used);
        }
        outcome
    }
}

impl Plugin for WasmPlugin {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn version(&self) -> &str {
        &self.spec.version
    }

    fn plugin_type(&self) -> PluginType {
        self.spec.plugin_type
    }

    fn capabilities(&self) -> &[String] {
        &self.spec.capabilities
    }

    /// The guest initializes each plugin on its first call, inside the sandbox.
    fn initialize(&mut self) -> Result<(), PluginError> {
        Ok(())
    }

    fn cleanup(&mut self) -> Result<(), PluginError> {
        Ok(())
    }

    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let module = &self.spec.module;
        match (module.config.guest_state(), &self.principal) {
            (GuestState::PerInstance, _) => self.call_own(data),
            (GuestState::PerPrincipal, Some(principal)) => {
                module.call_as(principal, &self.spec, data)
            }
            _ => module.call(&self.spec, data),
        }
    }

    /// A guest that calls an async host function is suspended, and this future pending,
    /// until the function answers: the caller's thread is free meanwhile.
    fn process_async<'a>(&'a self, data: &'a [u8]) -> BoxFuture<'a, Vec<u8>> {
        Box::pin(async move {
            let module = &self.spec.module;
            match (module.config.guest_state(), &self.principal) {
                (GuestState::PerInstance, _) => self.call_own_async(data).await,
                (GuestState::PerPrincipal, Some(principal)) => {
                    module.call_as_async(principal, &self.spec, data).await
                }
                _ => module.call_async(&self.spec, data).await,
            }
        })
    }
}
