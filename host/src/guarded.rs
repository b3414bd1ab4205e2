//! `GuardedPlugin`: a created plugin wrapped in the sandbox security asks for (panic guard,
//! size limits, time budget). Metrics and per-call logging are the monitoring layer's own
//! wrapper.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use crate::layer::{Answer, Policy};
use modreg_core::Plugin;
use modreg_core::sandbox::{PanicLatch, guard};
use modreg_core::{PluginError, PluginErrorKind};

/// Sandbox worker threads running now, in the whole process.
static WORKERS: AtomicUsize = AtomicUsize::new(0);

/// One of at most `max` running worker threads; given back when dropped (when the thread
/// ends, or if it could not start).
struct WorkerSlot;

impl WorkerSlot {
    fn take(max: usize) -> Option<WorkerSlot> {
        WORKERS
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |running| {
                (running < max).then_some(running + 1)
            })
            .ok()
            .map(|_| WorkerSlot)
    }
}

impl Drop for WorkerSlot {
    fn drop(&mut self) {
        WORKERS.fetch_sub(1, Ordering::AcqRel);
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
            None if self.policy.catch_panics => {
                guard(&self.name, "process", || self.inner.process(data))
            }
            None => self.inner.process(data),
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
    /// `max_workers` such threads run at once in the process, stuck ones included; past that
    /// a call is refused, so a plugin that never returns cannot pile up threads and memory.
    fn call_with_budget(&self, data: &[u8], budget: Duration) -> Result<Vec<u8>, PluginError> {
        let Some(slot) = WorkerSlot::take(self.policy.max_workers) else {
            return Err(PluginError::from(PluginErrorKind::SandboxExhausted {
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
        let catch = self.policy.catch_panics;
        let name = self.name.clone();
        let plugin = self.exclusive(during)?;
        let outcome = if catch {
            guard(&name, during, || call(plugin))
        } else {
            call(plugin)
        };
        self.failed.observe(&outcome);
        outcome
    }
}

impl Plugin for GuardedPlugin {
    forward_metadata!(inner);

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

/// Step 6: `plugin` in the sandbox and every layer's wrap, innermost first; as it is when no
/// layer is interested.
pub(crate) fn wrapped(plugin: Box<dyn Plugin>, answer: &Answer) -> Box<dyn Plugin> {
    let mut plugin = match &answer.sandbox {
        Some(policy) => Box::new(GuardedPlugin::new(plugin, policy.clone())),
        None => plugin,
    };
    for wrap in &answer.wraps {
        plugin = wrap.wrap(plugin);
    }
    plugin
}
