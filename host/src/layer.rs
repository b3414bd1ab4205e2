//! The seam the host's layers plug into: security and monitoring decide, once per created
//! instance, whether it may be created and what it gets around its calls.
//!
//! # How a layer attaches
//!
//! The creation path (`instantiate.rs`) knows no switch of a layer. It asks every layer twice
//! per created instance, as `tracing-core` asks each subscriber for its
//! `Interest` once per callsite:
//!
//! - [`Layer::check`], before the constructor runs: refuse, or let it through;
//! - [`Layer::interest`], after: add to the instance's [`Policy`], what its wrapper does on
//!   every call.
//!
//! and once per runtime change ([`Layer::check_change`]: a registration, a compiled-in plugin
//! about to be shadowed, a removal, new settings), which security answers for signatures and
//! secure loading. What a layer keeps lives in the registry's extensions and the overlay's
//! layer map, by type, so neither names a layer's types.
//!
//! The list of layers is the creation path's (`instantiate.rs`), so this module knows none of
//! them. The answers are kept in the wrapper (`GuardedPlugin`), so the call path reads no switch:
//! a plugin no layer is interested in is not wrapped at all. A layer reads its own switches
//! and state and nothing else's; its code lives in its own module.

use std::sync::Arc;
use std::time::Duration;

use crate::metrics::MetricsRecorder;
use crate::overlay::Overlay;
use crate::registry::ModuleRegistry;
use modreg_core::PluginError;
use modreg_core::SourceLocation;

/// The code a creation would run, as a layer sees it: whatever registry it comes from.
#[derive(Clone, Debug)]
pub(crate) struct Code<'a> {
    /// The plugin's name.
    pub(crate) name: &'a str,
    /// The permissions the code declares.
    pub(crate) permissions: Vec<&'a str>,
}

/// A change to the registry at run time, as a layer sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Change<'a> {
    /// Adding (or replacing) the runtime entry `name`; `signed` when it arrived as a verified
    /// manifest.
    Register { name: &'a str, signed: bool },
    /// The entry `name` will shadow the compiled-in plugin defined at `compiled`.
    Shadow {
        name: &'a str,
        compiled: SourceLocation,
    },
    /// Removing `name`; `compiled` when a compiled-in plugin of that name is hidden by it.
    Unregister {
        name: &'a str,
        compiled: bool,
        signed: bool,
    },
    /// Replacing the settings of `name`.
    Settings { name: &'a str, signed: bool },
}

/// A layer of the host, asked about every created instance and every runtime change.
pub(crate) trait Layer: Sync {
    /// Whether `code` may run (step 3 of the creation path). The default allows.
    fn check(
        &self,
        registry: &ModuleRegistry,
        overlay: &Overlay,
        code: &Code<'_>,
    ) -> Result<(), PluginError> {
        let _ = (registry, overlay, code);
        Ok(())
    }

    /// Whether `change` may happen. The default allows.
    /// Whether [`check`](Self::check) does anything under `overlay`; when no layer's does,
    /// creation may skip the checks (the answer is cached per overlay).
    fn checks(&self, overlay: &Overlay) -> bool {
        let _ = overlay;
        false
    }

    fn check_change(
        &self,
        registry: &ModuleRegistry,
        overlay: &Overlay,
        change: Change<'_>,
    ) -> Result<(), PluginError> {
        let _ = (registry, overlay, change);
        Ok(())
    }

    /// What this layer adds around calls to a created instance of `name` (step 6);
    /// `monitored` is a caller's request for metrics whatever the switches say.
    fn interest(
        &self,
        registry: &ModuleRegistry,
        overlay: &Overlay,
        name: &str,
        monitored: bool,
        policy: &mut Policy,
    );
}

/// Something a layer wants told about every call of an instance (monitoring's alert rules).
pub(crate) trait CallObserver: Send + Sync + std::fmt::Debug {
    /// One call of `plugin` ended: whether it succeeded, whether it panicked, how long it took.
    fn observe(&self, plugin: &str, ok: bool, panicked: bool, latency: Duration);
}

/// What a guarded plugin does around each call.
#[derive(Clone, Debug, Default)]
#[expect(clippy::struct_excessive_bools, reason = "independent switches")]
pub(crate) struct Policy {
    /// Records calls, errors and bytes into `recorder`.
    pub(crate) recorder: Option<Arc<MetricsRecorder>>,
    /// Records latency too.
    pub(crate) latency: bool,
    /// Emits an INFO event per call.
    pub(crate) verbose: bool,
    /// Turns panics into errors and disables the instance after one.
    pub(crate) catch_panics: bool,
    /// Refuses larger inputs.
    pub(crate) max_input_bytes: Option<usize>,
    /// Refuses larger outputs.
    pub(crate) max_output_bytes: Option<usize>,
    /// Runs each call on a worker thread and gives up after this long.
    pub(crate) time_budget: Option<Duration>,
    /// How many worker threads budgeted calls may hold at once in the process.
    pub(crate) max_workers: usize,
    /// Told about every call (monitoring's alert rules).
    pub(crate) alerts: Option<Arc<dyn CallObserver>>,
    /// Per-call events carry every figure as a field.
    pub(crate) structured: bool,
}

impl Policy {
    /// Whether the policy only meters calls: a recorder (perhaps with latency) and the panic
    /// guard that comes with it, and nothing else (no limits, budget, alerts or logging).
    pub(crate) fn meters_only(&self) -> bool {
        self.recorder.is_some()
            && self.catch_panics
            && self.max_input_bytes.is_none()
            && self.max_output_bytes.is_none()
            && self.time_budget.is_none()
            && self.alerts.is_none()
            && !self.verbose
            && !self.structured
    }

    /// Whether the policy does anything at all.
    pub(crate) fn is_active(&self) -> bool {
        self.recorder.is_some()
            || self.verbose
            || self.catch_panics
            || self.max_input_bytes.is_some()
            || self.max_output_bytes.is_some()
            || self.time_budget.is_some()
            || self.alerts.is_some()
    }
}
