//! The seam the host's layers plug into, open to crates outside the host: a layer decides,
//! once per created instance, whether it may be created and what it gets around its calls.
//!
//! # How a layer attaches
//!
//! A layer is a value of a type implementing [`Layer`], given to the registry when it is
//! built ([`ModuleRegistry::builder`](crate::ModuleRegistry::builder)). The creation path
//! knows no switch of any layer. It asks every layer, as `tracing-core` asks each subscriber
//! for its `Interest` once per callsite:
//!
//! - [`Layer::check`], before the constructor runs: refuse (with the layer's own error), or
//!   let it through;
//! - [`Layer::interest`]: what the instance gets ([`Interest`]): a [`Wrap`] around the
//!   instance, as a `tower::Layer` wraps a service, and where its metrics can be read.
//!
//! and once per runtime change ([`Layer::check_change`]: a registration, a compiled-in plugin
//! about to be shadowed, a removal, new settings). For a compiled-in plugin the whole answer
//! ("nothing to check, nothing to wrap") is cached per plugin and configuration generation, so
//! an unconcerned layer costs nothing per call. A layer that changes its own configuration
//! calls [`ModuleRegistry::layers_changed`](crate::ModuleRegistry::layers_changed), which
//! starts a new generation.
//!
//! A layer receives a narrow [`LayerContext`], never the registry, and hears what other layers
//! do only through the [`Event`]s the host emits ([`Layer::on_event`]).

use std::fmt;
use std::sync::Arc;

use crate::metrics::MetricsSource;
use crate::overlay::Overlay;
use modreg_core::{Plugin, PluginError, SourceLocation};

/// The code a creation would run, as a layer sees it: whatever registry it comes from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Code<'a> {
    /// The plugin's name.
    pub name: &'a str,
    /// The permissions the code declares.
    pub permissions: Vec<&'a str>,
}

impl<'a> Code<'a> {
    /// Code called `name` that declares `permissions`.
    pub fn new(name: &'a str, permissions: Vec<&'a str>) -> Self {
        Code { name, permissions }
    }
}

/// A change to the registry at run time, as a layer sees it.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Change<'a> {
    /// Adding (or replacing) the runtime entry `name`; `signed` when it arrived as a verified
    /// manifest.
    Register {
        /// The entry's name.
        name: &'a str,
        /// Whether it arrived as a verified signed manifest.
        signed: bool,
    },
    /// The entry `name` will shadow the compiled-in plugin defined at `compiled`.
    Shadow {
        /// The entry's name.
        name: &'a str,
        /// Where the compiled-in plugin is defined.
        compiled: SourceLocation,
    },
    /// Removing `name`; `compiled` when a compiled-in plugin of that name is hidden by it.
    Unregister {
        /// The name removed.
        name: &'a str,
        /// Whether a compiled-in plugin of that name is hidden by the removal.
        compiled: bool,
        /// Whether the removal arrived as a verified signed manifest.
        signed: bool,
    },
    /// Replacing the settings of `name`.
    Settings {
        /// The plugin whose settings change.
        name: &'a str,
        /// Whether the settings arrived signed.
        signed: bool,
    },
}

/// Something the host (or a layer inside it) did that another layer may react to.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// An access decision was made (a creation under permissions, a principal's operation).
    AccessDecided {
        /// The principal acting (`-` for the registry itself).
        principal: &'a str,
        /// The operation, as its audit name (`instantiate`, `register`, ...).
        operation: &'a str,
        /// The plugin concerned.
        plugin: &'a str,
        /// Whether it was allowed.
        allowed: bool,
    },
    /// A plugin registered at run time (or a compiled-in one) was unregistered: what a layer
    /// keeps about it can go.
    Unregistered {
        /// The plugin's name.
        plugin: &'a str,
    },
    /// A WebAssembly module was refused at load.
    ModuleRefused {
        /// The module's name.
        module: &'a str,
        /// Why, as the error says it.
        reason: &'a str,
    },
}

/// What a layer sees when it is asked about a creation: the configuration in force, never
/// the registry itself.
pub struct LayerContext<'a> {
    pub(crate) overlay: &'a Overlay,
}

impl fmt::Debug for LayerContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayerContext")
            .field("environment", &self.overlay.environment)
            .finish_non_exhaustive()
    }
}

impl LayerContext<'_> {
    /// Whether the active environment's profile asks for per-call logging
    /// (`EnvironmentPluginConfiguration::with_verbose_logging`).
    pub fn verbose_logging(&self) -> bool {
        self.overlay.flags.verbose_logging
    }

    /// The active environment, if any.
    pub fn environment(&self) -> Option<&str> {
        self.overlay.environment.as_deref()
    }
}

/// Wraps a created instance in a layer's per-call code, as a `tower::Layer` wraps a service.
pub trait Wrap: Send + Sync + fmt::Debug {
    /// `plugin` with this layer's code around its calls.
    fn wrap(&self, plugin: Box<dyn Plugin>) -> Box<dyn Plugin>;
}

/// A layer's answer about the instances of one plugin: decided once per plugin and
/// configuration generation.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct Interest {
    pub(crate) wrap: Option<Arc<dyn Wrap>>,
    pub(crate) metrics: Option<Arc<dyn MetricsSource>>,
}

impl Interest {
    /// Nothing: the instance is not wrapped by this layer.
    pub fn none() -> Self {
        Interest::default()
    }

    /// Wraps every instance with `wrap`.
    pub fn with_wrap(mut self, wrap: Arc<dyn Wrap>) -> Self {
        self.wrap = Some(wrap);
        self
    }

    /// The instance's metrics can be read from `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn MetricsSource>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Whether this answer does anything.
    pub fn is_active(&self) -> bool {
        self.wrap.is_some()
    }
}

/// A layer of the host, asked about every created instance and every runtime change.
///
/// Every method has a default that allows and adds nothing, so a layer writes only what it
/// does. A layer owns its switches and state; when they change it calls
/// [`ModuleRegistry::layers_changed`](crate::ModuleRegistry::layers_changed).
pub trait Layer: Send + Sync + fmt::Debug {
    /// Whether [`check`](Self::check) can refuse anything now; when no layer's can, creation
    /// of a compiled-in plugin skips the checks (the answer is cached per configuration
    /// generation). The default says yes, so a layer that writes `check` and forgets this is
    /// asked on every creation; a layer whose `check` has nothing to refuse returns `false`.
    fn checks(&self, cx: &LayerContext<'_>) -> bool {
        let _ = cx;
        true
    }

    /// Whether `code` may run. The default allows.
    fn check(&self, cx: &LayerContext<'_>, code: &Code<'_>) -> Result<(), PluginError> {
        let _ = (cx, code);
        Ok(())
    }

    /// Whether `change` may happen. The default allows.
    fn check_change(&self, cx: &LayerContext<'_>, change: Change<'_>) -> Result<(), PluginError> {
        let _ = (cx, change);
        Ok(())
    }

    /// What instances of `name` get; `monitored` is a caller's request for metrics whatever
    /// the switches say. The default adds nothing.
    fn interest(&self, cx: &LayerContext<'_>, name: &str, monitored: bool) -> Interest {
        let _ = (cx, name, monitored);
        Interest::none()
    }

    /// Something happened that this layer may react to. The default ignores it.
    fn on_event(&self, event: &Event<'_>) {
        let _ = event;
    }
}

/// What the security module inside the host adds around calls: the sandbox's policy. (The
/// security layer is still a module of the host; its per-call code is `guarded.rs`.)
#[derive(Clone, Debug, Default)]
pub(crate) struct Policy {
    /// Turns panics into errors and disables the instance after one.
    pub(crate) catch_panics: bool,
    /// Refuses larger inputs.
    pub(crate) max_input_bytes: Option<usize>,
    /// Refuses larger outputs.
    pub(crate) max_output_bytes: Option<usize>,
    /// Runs each call on a worker thread and gives up after this long.
    pub(crate) time_budget: Option<std::time::Duration>,
    /// How many worker threads budgeted calls may hold at once in the process.
    pub(crate) max_workers: usize,
}

/// The layers' whole answer for one plugin: the sandbox's policy, then each layer's wrap in
/// the order the layers were given, and where its metrics can be read.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    pub(crate) sandbox: Option<Policy>,
    pub(crate) wraps: Vec<Arc<dyn Wrap>>,
    pub(crate) metrics: Option<Arc<dyn MetricsSource>>,
}

impl Answer {
    /// Whether any layer wraps the instance.
    pub(crate) fn is_active(&self) -> bool {
        self.sandbox.is_some() || !self.wraps.is_empty()
    }
}
