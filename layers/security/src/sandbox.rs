//! The in-process sandbox: `GuardedPlugin` wraps a created plugin while sandboxing is on
//! (panics contained, the instance disabled after one, sizes limited, each call timed on a
//! worker thread), with the limits [`SandboxLimits`] sets.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use crate::error::SecurityError;
use modreg_core::Plugin;
use modreg_core::sandbox::{PanicLatch, guard};
use modreg_core::{PluginError, PluginErrorKind};
use modreg_host::Wrap;

/// The sandbox's limits, applied to created plugins while sandboxing is on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SandboxLimits {
    /// Inputs larger than this are refused.
    pub max_input_bytes: Option<usize>,
    /// Outputs larger than this are refused.
    pub max_output_bytes: Option<usize>,
    /// Each call runs on a worker thread and times out after this long.
    pub time_budget: Option<Duration>,
    /// With a time budget: how many worker threads may run at once for this registry (its security layer), calls
    /// that timed out and still run included. A call that finds none free is refused
    /// ([`SecurityError::SandboxExhausted`](crate::SecurityError::SandboxExhausted)), so stuck plugins cannot pile up threads and the
    /// memory they hold. [`DEFAULT_MAX_WORKERS`] when `None`.
    pub max_workers: Option<usize>,
}

impl SandboxLimits {
    /// No limits: each is set with its `with_` method.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses inputs larger than `bytes`.
    pub fn with_max_input_bytes(mut self, bytes: usize) -> Self {
        self.max_input_bytes = Some(bytes);
        self
    }

    /// Refuses outputs larger than `bytes`.
    pub fn with_max_output_bytes(mut self, bytes: usize) -> Self {
        self.max_output_bytes = Some(bytes);
        self
    }

    /// Runs each call on a worker thread and times it out after `budget`.
    pub fn with_time_budget(mut self, budget: Duration) -> Self {
        self.time_budget = Some(budget);
        self
    }

    /// Lets at most `workers` worker threads run at once for this registry.
    pub fn with_max_workers(mut self, workers: usize) -> Self {
        self.max_workers = Some(workers);
        self
    }
}

/// How many sandbox worker threads may run at once when [`SandboxLimits::max_workers`] is
/// not set.
pub const DEFAULT_MAX_WORKERS: usize = 16;

/// What the sandbox applies to one plugin's instances: its limits, decided once.
#[derive(Clone, Debug)]
pub(crate) struct Policy {
    /// Refuses larger inputs.
    pub(crate) max_input_bytes: Option<usize>,
    /// Refuses larger outputs.
    pub(crate) max_output_bytes: Option<usize>,
    /// Runs each call on a worker thread and gives up after this long.
    pub(crate) time_budget: Option<Duration>,
    /// How many worker threads budgeted calls may hold at once in this layer's registry.
    pub(crate) max_workers: usize,
    /// The worker threads running now for this layer (one count per `Security`, so one
    /// registry's stuck calls never take another's workers).
    pub(crate) workers: Arc<AtomicUsize>,
}

/// One of at most `max` running worker threads of a layer; given back when dropped (when the
/// thread ends, or if it could not start).
struct WorkerSlot(Arc<AtomicUsize>);

impl WorkerSlot {
    fn take(workers: &Arc<AtomicUsize>, max: usize) -> Option<WorkerSlot> {
        workers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |running| {
                (running < max).then_some(running + 1)
            })
            .ok()
            .map(|_| WorkerSlot(Arc::clone(workers)))
    }
}

impl Drop for WorkerSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

pub(crate) struct GuardedPlugin {
    inner: Arc<dyn Plugin>,
    name: String,
    policy: Policy,
    failed: PanicLatch,
}

impl GuardedPlugin {
    pub(crate) fn new(inner: Box<dyn Plugin>, policy: Policy) -> Self {
        GuardedPlugin {
            name: inner.name().to_owned(),
            inner: Arc::from(inner),
            policy,
            failed: PanicLatch::default(),
        }
    }

    fn call(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        self.failed.check(&self.name)?;
        if let Some(limit) = self.policy.max_input_bytes
            && data.len() > limit
        {
            return Err(PluginError::from(PluginErrorKind::TooLarge {
                plugin: self.name.clone(),
                what: "input",
                size: data.len(),
                limit,
            }));
        }
        let outcome = match self.policy.time_budget {
            Some(budget) => self.call_with_budget(data, budget),
            None => guard(&self.name, "process", || self.inner.process(data)),
        };
        self.failed.observe(&outcome);
        match (outcome, self.policy.max_output_bytes) {
            (Ok(out), Some(limit)) if out.len() > limit => {
                Err(PluginError::from(PluginErrorKind::TooLarge {
                    plugin: self.name.clone(),
                    what: "output",
                    size: out.len(),
                    limit,
                }))
            }
            (outcome, _) => outcome,
        }
    }

    /// Runs the call on a worker thread; after `budget` the caller gets `Timeout` and the
    /// thread is left to finish (a thread cannot be stopped from outside). At most
    /// `max_workers` such threads run at once for this registry, stuck ones included; past that
    /// a call is refused, so a plugin that never returns cannot pile up threads and memory.
    fn call_with_budget(&self, data: &[u8], budget: Duration) -> Result<Vec<u8>, PluginError> {
        let Some(slot) = WorkerSlot::take(&self.policy.workers, self.policy.max_workers) else {
            return Err(PluginError::from(SecurityError::SandboxExhausted {
                plugin: self.name.clone(),
                limit: self.policy.max_workers,
            }));
        };
        let (sender, receiver) = mpsc::channel();
        let plugin = Arc::clone(&self.inner);
        let name = self.name.clone();
        let input = data.to_vec();
        let spawned = std::thread::Builder::new()
            .name(format!("plugin-{name}"))
            .spawn(move || {
                let _slot = slot;
                let _ = sender.send(guard(&name, "process", || plugin.process(&input)));
            });
        if let Err(error) = spawned {
            return Err(PluginError::processing(
                &self.name,
                format!("cannot start a worker thread: {error}"),
            ));
        }
        receiver
            .recv_timeout(budget)
            .unwrap_or(Err(PluginError::from(PluginErrorKind::Timeout {
                plugin: self.name.clone(),
                budget,
            })))
    }

    fn exclusive(
        &mut self,
        during: &'static str,
    ) -> Result<&mut (dyn Plugin + 'static), PluginError> {
        self.failed.check(&self.name)?;
        let name = self.name.clone();
        Arc::get_mut(&mut self.inner).ok_or_else(|| {
            PluginError::processing(
                name,
                format!("a timed-out call is still running; cannot {during}"),
            )
        })
    }

    fn lifecycle(
        &mut self,
        during: &'static str,
        call: impl FnOnce(&mut dyn Plugin) -> Result<(), PluginError>,
    ) -> Result<(), PluginError> {
        let name = self.name.clone();
        let plugin = self.exclusive(during)?;
        let outcome = guard(&name, during, || call(plugin));
        self.failed.observe(&outcome);
        outcome
    }
}

impl Plugin for GuardedPlugin {
    modreg_host::forward_metadata!(inner);

    fn initialize(&mut self) -> Result<(), PluginError> {
        self.lifecycle("initialize", |p| p.initialize())
    }

    fn cleanup(&mut self) -> Result<(), PluginError> {
        self.lifecycle("cleanup", |p| p.cleanup())
    }

    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        self.call(data)
    }

    fn health(&self) -> modreg_core::HealthStatus {
        if self.failed.is_latched() {
            return modreg_core::HealthStatus::Unhealthy(
                "panicked; refuses further calls".to_owned(),
            );
        }
        self.inner.health()
    }
}

/// The sandbox as the layer's wrapper: every instance gets its own [`GuardedPlugin`].
#[derive(Debug)]
pub(crate) struct SandboxWrap(pub(crate) Policy);

impl Wrap for SandboxWrap {
    fn wrap(&self, plugin: Box<dyn Plugin>) -> Box<dyn Plugin> {
        Box::new(GuardedPlugin::new(plugin, self.0.clone()))
    }
}
