//! `Metered`: a created plugin wrapped in the monitoring layer's per-call code: counters and
//! latency into the plugin's recorder, alert rules, per-call logging, and the panic guard that
//! comes with them. What the wrapper does is decided once, when the instance is made
//! ([`Plan`]); a plan that only meters takes a short path that asks nothing else.

use std::sync::Arc;
use std::time::Duration;

use modreg_core::sandbox::{PanicLatch, guard, guard_future};
use modreg_core::stream::Reader;
use modreg_core::typed_sandbox::BoxFuture;
use modreg_core::{
    HealthStatus, Plugin, PluginDescriptor, PluginError, PluginErrorKind, PluginType,
};
use modreg_host::Wrap;

use crate::alerts::AlertHub;
use crate::clock::Instant;
use crate::metered_stream::{self, Meter};
use crate::recorder::MetricsRecorder;

/// What the monitoring layer does around each call of one plugin's instances.
#[derive(Clone, Debug, Default)]
#[expect(clippy::struct_excessive_bools, reason = "independent switches")]
pub(crate) struct Plan {
    /// Records calls, errors and bytes.
    pub(crate) recorder: Option<Arc<MetricsRecorder>>,
    /// Records latency too.
    pub(crate) latency: bool,
    /// Emits an INFO event per call.
    pub(crate) verbose: bool,
    /// Per-call events carry every figure as a field.
    pub(crate) structured: bool,
    /// Feeds every call to the alert rules; `true` for real-time delivery.
    pub(crate) alerts: Option<(Arc<AlertHub>, bool)>,
    /// Turns panics into errors and disables the instance after one.
    pub(crate) catch_panics: bool,
}

impl Plan {
    /// Whether the plan does anything at all.
    pub(crate) fn is_active(&self) -> bool {
        self.recorder.is_some() || self.verbose || self.catch_panics || self.alerts.is_some()
    }

    /// Whether the plan only meters calls: a recorder (perhaps with latency) and its panic
    /// guard, no alerts and no logging.
    fn meters_only(&self) -> bool {
        self.recorder.is_some() && self.catch_panics && self.alerts.is_none() && !self.verbose
    }
}

impl Wrap for Plan {
    fn wrap(&self, plugin: Box<dyn Plugin>) -> Box<dyn Plugin> {
        Box::new(Metered {
            name: plugin.name().to_owned(),
            inner: plugin,
            only_meters: self.meters_only(),
            plan: self.clone(),
            failed: PanicLatch::default(),
        })
    }
}

struct Metered {
    inner: Box<dyn Plugin>,
    name: String,
    plan: Plan,
    failed: PanicLatch,
    /// Decided once, when the instance is made (see [`Plan::meters_only`]).
    only_meters: bool,
}

impl Metered {
    /// The call itself: refused after a panic, guarded when the plan asks.
    fn call(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        self.failed.check(&self.name)?;
        let outcome = if self.plan.catch_panics {
            guard(&self.name, "process", || self.inner.process(data))
        } else {
            self.inner.process(data)
        };
        self.failed.observe(&outcome);
        outcome
    }

    /// `process` when the plan only meters: the guarded call, then the recorder. (A plan
    /// that meters always guards, so no branch asks.)
    #[inline]
    fn metered(&self, data: &[u8], recorder: &MetricsRecorder) -> Result<Vec<u8>, PluginError> {
        let start = self.plan.latency.then(Instant::now);
        let outcome = match self.failed.check(&self.name) {
            Ok(()) => guard(&self.name, "process", || self.inner.process(data)),
            Err(refused) => Err(refused),
        };
        self.failed.observe(&outcome);
        recorder.record_call(data.len(), &outcome, start.map(|s| s.elapsed()));
        outcome
    }

    /// What the plan does once a call has ended (`process` returned, or a stream reached its
    /// end or failed): the recorder, the alert rules, the per-call event.
    fn account(
        &self,
        bytes_in: u64,
        outcome: Result<usize, &PluginError>,
        latency: Option<Duration>,
    ) {
        if let Some(recorder) = &self.plan.recorder {
            let latency = latency.filter(|_| self.plan.latency);
            recorder.record_outcome(bytes_in, outcome, latency);
        }
        if let Some((hub, real_time)) = &self.plan.alerts {
            let panicked = matches!(
                outcome.map_err(PluginError::kind),
                Err(PluginErrorKind::Panicked { .. })
            );
            hub.observe_call(
                &self.name,
                outcome.is_ok(),
                panicked,
                latency.unwrap_or_default(),
                *real_time,
            );
        }
        if self.plan.verbose {
            self.log(bytes_in, outcome, latency);
        }
    }

    /// Whether the plan times calls.
    fn timed(&self) -> bool {
        self.plan.latency || self.plan.alerts.is_some() || self.plan.structured
    }

    fn log(&self, bytes_in: u64, outcome: Result<usize, &PluginError>, latency: Option<Duration>) {
        let plugin = self.inner.name();
        if self.plan.structured {
            tracing::info!(
                plugin,
                version = self.inner.version(),
                plugin_type = %self.inner.plugin_type(),
                bytes_in,
                bytes_out = outcome.unwrap_or(0),
                latency_ns = latency.map_or(0, |l| u64::try_from(l.as_nanos()).unwrap_or(u64::MAX)),
                ok = outcome.is_ok(),
                error = outcome.err().map(ToString::to_string),
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
                    Ok(out) => format!("{out} bytes out"),
                    // Escaped: a plugin's error text must not forge a log line or drive a
                    // terminal.
                    Err(error) => format!("failed: {}", error.to_string().escape_debug()),
                }
            );
        }
    }

    fn lifecycle(
        &mut self,
        during: &'static str,
        call: impl FnOnce(&mut dyn Plugin) -> Result<(), PluginError>,
    ) -> Result<(), PluginError> {
        self.failed.check(&self.name)?;
        let plugin = self.inner.as_mut();
        let outcome = if self.plan.catch_panics {
            guard(&self.name, during, || call(plugin))
        } else {
            call(plugin)
        };
        self.failed.observe(&outcome);
        outcome
    }
}

impl Meter for Metered {
    fn name(&self) -> &str {
        &self.name
    }

    fn inner(&self) -> &dyn Plugin {
        &*self.inner
    }

    fn latch(&self) -> &PanicLatch {
        &self.failed
    }

    fn catch_panics(&self) -> bool {
        self.plan.catch_panics
    }

    fn timed(&self) -> bool {
        Metered::timed(self)
    }

    fn account(
        &self,
        bytes_in: u64,
        outcome: Result<usize, &PluginError>,
        latency: Option<Duration>,
    ) {
        Metered::account(self, bytes_in, outcome, latency);
    }
}

impl Plugin for Metered {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn version(&self) -> &str {
        self.inner.version()
    }

    fn plugin_type(&self) -> PluginType {
        self.inner.plugin_type()
    }

    fn capabilities(&self) -> &[String] {
        self.inner.capabilities()
    }

    fn descriptor(&self) -> Option<&'static PluginDescriptor> {
        self.inner.descriptor()
    }

    fn initialize(&mut self) -> Result<(), PluginError> {
        self.lifecycle("initialize", |p| p.initialize())
    }

    fn cleanup(&mut self) -> Result<(), PluginError> {
        self.lifecycle("cleanup", |p| p.cleanup())
    }

    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        if self.only_meters
            && let Some(recorder) = &self.plan.recorder
        {
            return self.metered(data, recorder);
        }
        let start = self.timed().then(Instant::now);
        let span = self.plan.verbose.then(|| {
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
        self.account(data.len() as u64, outcome.as_ref().map(Vec::len), latency);
        drop(span);
        outcome
    }

    /// The inner plugin's future, metered as `process` is: refused after a panic, guarded,
    /// timed from the first poll to the end, counted once.
    fn process_async<'a>(&'a self, data: &'a [u8]) -> BoxFuture<'a, Vec<u8>> {
        Box::pin(async move {
            let start = self.timed().then(Instant::now);
            let outcome = match self.failed.check(&self.name) {
                Ok(()) if self.plan.catch_panics => {
                    guard_future(&self.name, "process", self.inner.process_async(data)).await
                }
                Ok(()) => self.inner.process_async(data).await,
                Err(refused) => Err(refused),
            };
            self.failed.observe(&outcome);
            let latency = start.map(|s| s.elapsed());
            self.account(data.len() as u64, outcome.as_ref().map(Vec::len), latency);
            outcome
        })
    }

    fn streams(&self) -> bool {
        self.inner.streams()
    }

    /// The inner plugin's stream, metered as one call: counted when it ends (or is dropped),
    /// its reads guarded like `process`.
    fn stream<'a>(&'a self, input: Reader<'a>) -> Reader<'a> {
        metered_stream::metered(self, input)
    }

    fn health(&self) -> HealthStatus {
        if self.failed.is_latched() {
            return HealthStatus::Unhealthy("panicked; refuses further calls".to_owned());
        }
        self.inner.health()
    }
}
