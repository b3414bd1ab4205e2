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
use modreg_core::{Plugin, PluginError, PluginSettings, PluginType, SourceLocation};

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
    /// Reading the bytes of the source `name` (a WebAssembly module) at all: asked before
    /// any of them is parsed, compiled or run, so that a layer that authenticates changes
    /// refuses an unsigned or forged source before its code reaches a compiler. Each plugin
    /// the source holds is asked again as a [`Register`](Change::Register) with the same
    /// proof.
    Load {
        /// The source's name (a module's file name).
        name: &'a str,
        /// The signature it arrived with, if any.
        proof: Option<Proof<'a>>,
    },
    /// The source `source`, admitted by its [`Load`](Change::Load), declares the entry
    /// `name`: the registration it would make, read from the source's own listing before any
    /// of its code is compiled or run, so that a layer that decides registrations (security,
    /// under access control) refuses the source before its code costs anything. The
    /// [`Register`](Change::Register) that follows once the source is compiled is asked as
    /// well; a layer that records its decisions records that one (and a `Declare` it refuses).
    Declare {
        /// The source's name (a module's file name).
        source: &'a str,
        /// The entry's name.
        name: &'a str,
        /// The entry's type, when its registration will give one (a typed plugin's has none).
        plugin_type: Option<PluginType>,
    },
    /// Adding (or replacing) the runtime entry `name`.
    Register {
        /// The entry's name.
        name: &'a str,
        /// The entry's type, when the registration gives one (a factory's name has none).
        plugin_type: Option<PluginType>,
        /// The signature it arrived with, if any: a layer that requires one verifies it.
        proof: Option<Proof<'a>>,
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
        /// The signature the removal arrived with, if any.
        proof: Option<Proof<'a>>,
    },
    /// Replacing the settings of `name`.
    Settings {
        /// The plugin whose settings change.
        name: &'a str,
        /// The signature the settings arrived with, if any.
        proof: Option<Proof<'a>>,
    },
}

impl<'a> Change<'a> {
    /// The name the change is about.
    pub fn name(&self) -> &'a str {
        match *self {
            Change::Load { name, .. }
            | Change::Declare { name, .. }
            | Change::Register { name, .. }
            | Change::Shadow { name, .. }
            | Change::Unregister { name, .. }
            | Change::Settings { name, .. } => name,
        }
    }

    /// The signature the change arrived with, if any (a shadowing is part of a registration,
    /// whose own `Register` carries it; a declaration is part of its source's `Load`).
    pub fn proof(&self) -> Option<Proof<'a>> {
        match *self {
            Change::Load { proof, .. }
            | Change::Register { proof, .. }
            | Change::Unregister { proof, .. }
            | Change::Settings { proof, .. } => proof,
            Change::Shadow { .. } | Change::Declare { .. } => None,
        }
    }
}

/// What a signed artifact (a manifest, a WebAssembly module) brings with the change it asks
/// for: the bytes that were signed, the key's name and the signature. The host carries it
/// unread; a layer that authenticates changes (security) verifies it against its own keys.
///
/// A proof shows that a trusted key signed `message`; that the change is what the message
/// describes is the loader's part (the manifest reader, the module loader).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Proof<'a> {
    /// What was signed: the manifest's text, or a module's SHA-256.
    pub message: &'a [u8],
    /// The name of the key that signed it.
    pub key: &'a str,
    /// The signature, as hex digits.
    pub signature: &'a str,
}

impl<'a> Proof<'a> {
    /// `signature` (hex) by the key `key` over `message`.
    pub fn new(message: &'a [u8], key: &'a str, signature: &'a str) -> Self {
        Proof {
            message,
            key,
            signature,
        }
    }
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
    /// The sandbox refused a capability a guest asked for (a file outside its grant, an
    /// environment variable not granted): refused already, for the layers to record.
    CapabilityRefused {
        /// The plugin whose guest asked.
        plugin: &'a str,
        /// What it asked for (the permission's name).
        permission: &'a str,
        /// Why it was refused.
        reason: &'a str,
    },
    /// A guest called a host function its plugin may call (refused calls are
    /// [`CapabilityRefused`](Event::CapabilityRefused)).
    HostFunctionCalled {
        /// The plugin whose guest called.
        plugin: &'a str,
        /// The host function.
        function: &'a str,
        /// How long it ran.
        elapsed: std::time::Duration,
        /// Whether it answered (rather than failed).
        ok: bool,
    },
    /// A WebAssembly module was refused at load.
    ModuleRefused {
        /// The module's name.
        module: &'a str,
        /// Why, as the error says it.
        reason: &'a str,
    },
}

/// The layers of one registry, innermost first: shared with what reports events from outside
/// a registry call (the sandbox's host functions).
pub(crate) type Layers = Arc<[Arc<dyn Layer>]>;

/// Tells the layers of one registry of events, from wherever it is kept
/// ([`ModuleRegistry::events`](crate::ModuleRegistry::events)).
#[derive(Clone)]
pub struct Events(pub(crate) Layers);

impl Events {
    /// Tells every layer that `event` happened.
    pub fn emit(&self, event: &Event<'_>) {
        for layer in self.0.iter() {
            layer.on_event(event);
        }
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("layers", &self.0.len())
            .finish()
    }
}

/// What a layer sees when it is asked about a creation: the configuration in force, never
/// the registry itself.
pub struct LayerContext<'a> {
    pub(crate) overlay: &'a Overlay,
    pub(crate) layers: &'a [Arc<dyn Layer>],
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

    /// Tells every layer of the registry (this one included) that `event` happened.
    pub fn emit(&self, event: &Event<'_>) {
        for layer in self.layers {
            layer.on_event(event);
        }
    }
}

/// Settings a layer opened for one construction ([`Layer::open_settings`]), and how to keep
/// what it opened out of the constructor's errors.
#[non_exhaustive]
pub struct Opened {
    /// The settings the constructor gets.
    pub settings: PluginSettings,
    /// Rewrites a construction error so that it shows nothing that was opened.
    pub redact: Box<dyn Fn(PluginError) -> PluginError + Send + Sync>,
}

impl Opened {
    /// `settings`, with `redact` applied to a construction error.
    pub fn new(
        settings: PluginSettings,
        redact: impl Fn(PluginError) -> PluginError + Send + Sync + 'static,
    ) -> Self {
        Opened {
            settings,
            redact: Box::new(redact),
        }
    }
}

/// What keeps settings the layers opened out of a construction's errors, one per layer that
/// opened something.
pub(crate) type Redactors = Vec<Box<dyn Fn(PluginError) -> PluginError + Send + Sync>>;

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The settings may hold what was opened.
        f.debug_struct("Opened").finish_non_exhaustive()
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

    /// The settings `name` is built with, when this layer changes them (security opens
    /// sealed values). Asked only for settings that are not empty, before construction; the
    /// default leaves them as they are.
    fn open_settings(
        &self,
        cx: &LayerContext<'_>,
        name: &str,
        settings: &PluginSettings,
    ) -> Result<Option<Opened>, PluginError> {
        let _ = (cx, name, settings);
        Ok(None)
    }

    /// Something happened that this layer may react to. The default ignores it.
    fn on_event(&self, event: &Event<'_>) {
        let _ = event;
    }
}

/// The layers' whole answer for one plugin: each layer's wrap in the order the layers were
/// given (innermost first), and where its metrics can be read.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    pub(crate) wraps: Vec<Arc<dyn Wrap>>,
    pub(crate) metrics: Option<Arc<dyn MetricsSource>>,
}

impl Answer {
    /// Whether any layer wraps the instance.
    pub(crate) fn is_active(&self) -> bool {
        !self.wraps.is_empty()
    }
}
