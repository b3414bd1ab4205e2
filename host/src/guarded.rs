//! `GuardedPlugin`: a created plugin wrapped in what the switches ask for — metrics,
//! verbose logging, and the sandbox (panic guard, size limits, time budget).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use crate::clock::Instant;

use crate::layer::Policy;
use modreg_core::Plugin;
use modreg_core::PluginError;
use modreg_core::sandbox::guard;

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
    failed: AtomicBool,
    /// Decided once, when the instance is made: the policy only meters calls (counters,
    /// perhaps latency, with the panic guard they come with), so `process` takes the short
    /// way that asks nothing else.
    metered_only: bool,
}

impl GuardedPlugin {
    pub(crate) fn new(inner: Box<dyn Plugin>, policy: Policy) -> Self {
        let metered_only = policy.meters_only();
        GuardedPlugin {
            name: inner.name().to_owned(),
            inner: Arc::from(inner),
            policy,
            failed: AtomicBool::new(false),
            metered_only,
        }
    }

    /// `process` when the policy only meters: the guarded call, then the recorder.
    #[inline]
    fn metered(
        &self,
        data: &[u8],
        recorder: &crate::metrics::MetricsRecorder,
    ) -> Result<Vec<u8>, PluginError> {
        let start = self.policy.latency.then(Instant::now);
        let outcome = match self.refuse_if_failed() {
            Ok(()) => guard(&self.name, "process", || self.inner.process(data)),
            Err(refused) => Err(refused),
        };
        if matches!(outcome, Err(PluginError::Panicked { .. })) {
            self.failed.store(true, Ordering::Release);
        }
        recorder.record_call(data.len(), &outcome, start.map(|s| s.elapsed()));
        outcome
    }

    fn refuse_if_failed(&self) -> Result<(), PluginError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(PluginError::Failed {
                plugin: self.name.clone(),
            });
        }
        Ok(())
    }

    fn call(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        self.refuse_if_failed()?;
        if let Some(limit) = self.policy.max_input_bytes
            && data.len() > limit
        {
            return Err(PluginError::TooLarge {
                plugin: self.name.clone(),
                what: "input",
                size: data.len(),
                limit,
            });
        }
        let outcome = match self.policy.time_budget {
            Some(budget) => self.call_with_budget(data, budget),
            None if self.policy.catch_panics => {
                guard(&self.name, "process", || self.inner.process(data))
            }
            None => self.inner.process(data),
        };
        if matches!(outcome, Err(PluginError::Panicked { .. })) {
            self.failed.store(true, Ordering::Release);
        }
        match (outcome, self.policy.max_output_bytes) {
            (Ok(out), Some(limit)) if out.len() > limit => Err(PluginError::TooLarge {
                plugin: self.name.clone(),
                what: "output",
                size: out.len(),
                limit,
            }),
            (outcome, _) => outcome,
        }
    }

    /// Runs the call on a worker thread; after `budget` the caller gets `Timeout` and the
    /// thread is left to finish (a thread cannot be stopped from outside). At most
    /// `max_workers` such threads run at once in the process, stuck ones included; past that
    /// a call is refused, so a plugin that never returns cannot pile up threads and memory.
    fn call_with_budget(&self, data: &[u8], budget: Duration) -> Result<Vec<u8>, PluginError> {
        let Some(slot) = WorkerSlot::take(self.policy.max_workers) else {
            return Err(PluginError::SandboxExhausted {
                plugin: self.name.clone(),
                limit: self.policy.max_workers,
            });
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
            .unwrap_or(Err(PluginError::Timeout {
                plugin: self.name.clone(),
                budget,
            }))
    }

    fn log(
        &self,
        bytes_in: usize,
        outcome: &Result<Vec<u8>, PluginError>,
        latency: Option<Duration>,
    ) {
        let plugin = self.inner.name();
        if self.policy.structured {
            tracing::info!(
                plugin,
                version = self.inner.version(),
                plugin_type = %self.inner.plugin_type(),
                bytes_in,
                bytes_out = outcome.as_ref().map_or(0, Vec::len),
                latency_ns = latency.map_or(0, |l| u64::try_from(l.as_nanos()).unwrap_or(u64::MAX)),
                ok = outcome.is_ok(),
                error = outcome.as_ref().err().map(ToString::to_string),
                "process"
            );
        } else {
            tracing::info!(
                plugin,
                version = self.inner.version(),
                plugin_type = %self.inner.plugin_type(),
                "process {} bytes in, {}",
                bytes_in,
                match outcome {
                    Ok(out) => format!("{} bytes out", out.len()),
                    Err(error) => format!("failed: {error}"),
                }
            );
        }
    }

    fn exclusive(
        &mut self,
        during: &'static str,
    ) -> Result<&mut (dyn Plugin + 'static), PluginError> {
        self.refuse_if_failed()?;
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
        if matches!(outcome, Err(PluginError::Panicked { .. })) {
            self.failed.store(true, Ordering::Release);
        }
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
        if self.metered_only
            && let Some(recorder) = &self.policy.recorder
        {
            return self.metered(data, recorder);
        }
        let timed = self.policy.latency || self.policy.alerts.is_some() || self.policy.structured;
        let start = timed.then(Instant::now);
        let span = self.policy.verbose.then(|| {
            tracing::info_span!(
                "plugin",
                plugin = self.inner.name(),
                version = self.inner.version(),
                plugin_type = %self.inner.plugin_type()
            )
            .entered()
        });
        let outcome = self.call(data);
        let latency = start.map(|s| s.elapsed());
        if let Some(recorder) = &self.policy.recorder {
            let latency = latency.filter(|_| self.policy.latency);
            recorder.record_call(data.len(), &outcome, latency);
        }
        if let Some(observer) = &self.policy.alerts {
            let panicked = matches!(outcome, Err(PluginError::Panicked { .. }));
            observer.observe(
                &self.name,
                outcome.is_ok(),
                panicked,
                latency.unwrap_or_default(),
            );
        }
        if self.policy.verbose {
            self.log(data.len(), &outcome, latency);
        }
        drop(span);
        outcome
    }

    fn health(&self) -> modreg_core::HealthStatus {
        if self.failed.load(Ordering::Acquire) {
            return modreg_core::HealthStatus::Unhealthy(
                "panicked; refuses further calls".to_owned(),
            );
        }
        self.inner.health()
    }
}
