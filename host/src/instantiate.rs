//! The one creation path: loading, resolution (mocks), dependencies, the layers' checks,
//! settings (sealed ones opened), construction under the panic guard, validation and the
//! layers' wrapping, for every `create_*` of the host.
//!
//! `create_plugin` of a compiled-in plugin on an unconfigured registry is this path with
//! every answer known in advance: one index lookup (see `registry.rs`).

use crate::advanced::{
    AdvancedAdapter, AdvancedPluginInstance, AdvancedPluginInstantiationConfig, PluginState,
};
use std::sync::Arc;

use crate::guarded::wrapped;
use crate::interest::Decision;
use crate::layer::{Answer, Change, Code, LayerContext};
use crate::overlay::Overlay;
use crate::registry::ModuleRegistry;
use modreg_core::sandbox::guard;
use modreg_core::{Plugin, PluginDescriptor};
use modreg_core::{PluginError, PluginErrorKind};

use crate::target::Target;
use modreg_core::__host::check_dependency;
use modreg_core::PluginSettings;
use modreg_core::Registry;

/// How [`create_plugin_with`](ModuleRegistry::create_plugin_with) prepares an instance: the
/// basic counterpart of [`AdvancedPluginInstantiationConfig`].
///
/// ```
/// use modreg_core::{plugin, PluginBehavior, PluginError, PluginSettings};
/// use modreg_host::{ModuleRegistry, PluginInstantiationConfig};
///
/// #[derive(serde::Deserialize)]
/// struct Times { times: usize }
///
/// #[plugin(type = DataProcessor, config = Times)]
/// struct Repeat { times: usize }
///
/// impl Repeat {
///     fn from_config(Times { times }: Times) -> Result<Self, PluginError> { Ok(Repeat { times }) }
/// }
///
/// impl PluginBehavior for Repeat {
///     fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> { Ok(data.repeat(self.times)) }
/// }
///
/// let registry = ModuleRegistry::new();
/// let twice = registry.create_plugin_with(
///     "repeat",
///     PluginInstantiationConfig::new()
///         .with_settings(PluginSettings::new().with("times", 2))
///         .with_initialization(true),
/// )?;
/// assert_eq!(twice.process(b"ab")?, b"abab");
/// # Ok::<(), PluginError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct PluginInstantiationConfig {
    settings: Option<PluginSettings>,
    initialization: bool,
    validation: bool,
    monitoring: bool,
}

impl PluginInstantiationConfig {
    /// The registry's settings and switches, nothing more.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the plugin with these settings instead of the configured ones.
    pub fn with_settings(mut self, settings: PluginSettings) -> Self {
        self.settings = Some(settings);
        self
    }

    /// Runs `initialize` before returning the instance.
    pub fn with_initialization(mut self, enabled: bool) -> Self {
        self.initialization = enabled;
        self
    }

    /// Checks dependencies and what the instance reports even if validation is switched off.
    pub fn with_validation(mut self, enabled: bool) -> Self {
        self.validation = enabled;
        self
    }

    /// Records the instance's calls in the plugin's metrics even if monitoring is off.
    pub fn with_monitoring(mut self, enabled: bool) -> Self {
        self.monitoring = enabled;
        self
    }
}

/// What one creation asks for beyond the registry's switches.
pub(crate) struct Request<'a> {
    /// Settings that replace the configured ones.
    pub(crate) settings: Option<&'a PluginSettings>,
    /// Check dependencies and what the instance reports even if validation is switched off.
    pub(crate) validate: bool,
    /// Record metrics even if monitoring is switched off.
    pub(crate) monitored: bool,
}

impl Request<'_> {
    /// Nothing beyond the switches.
    pub(crate) const PLAIN: Request<'static> = Request {
        settings: None,
        validate: false,
        monitored: false,
    };
}

impl ModuleRegistry {
    #[cold]
    pub(crate) fn create_slow(
        &self,
        overlay: &Overlay,
        name: &str,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        if overlay.flags.debug_mode {
            tracing::debug!(plugin = name, "create_plugin");
        }
        self.create_entry(overlay, name, &Request::PLAIN, |target, settings, _| {
            target.instantiate(settings)
        })
        .map(|(_, plugin, _)| plugin)
    }

    /// The one creation path every `create_*` takes (the unconfigured fast path of
    /// `create_plugin` is this path with every answer decided in advance):
    ///
    /// 1. refuse if plugin loading is off;
    /// 2. resolve the name (its mock, where mocks are on);
    /// 3. check dependencies (validation) and permissions of the code that will run;
    /// 4. construct under the panic guard, with sealed settings opened;
    /// 5. check what the instance reports (validation);
    /// 6. wrap it in the sandbox and every attached layer's wrapper (monitoring's among them).
    pub(crate) fn create_entry(
        &self,
        overlay: &Overlay,
        requested: &str,
        request: &Request<'_>,
        construct: impl FnOnce(
            &Target,
            &PluginSettings,
            &Answer,
        ) -> Result<Box<dyn Plugin>, PluginError>,
    ) -> Result<(Target, Box<dyn Plugin>, Answer), PluginError> {
        check_loading(overlay, requested)?;
        let target = self.resolve(overlay, requested)?;
        let validate = overlay.flags.validation || request.validate;
        self.check_code(overlay, &target, validate)?;
        let name = target.name();
        let (settings, secrets) = settings_for(overlay, name, request.settings)?;
        // What the instance gets around its calls, decided once, before it exists.
        let answer = self.layers_interest(overlay, name, request.monitored);
        // Descriptors guard their own constructors; runtime closures are guarded here.
        let plugin = guard(name, "construction", || {
            construct(&target, &settings, &answer)
        })
        .map_err(|error| crate::security::redact(error, &secrets))?;
        self.check_product(overlay, &target, plugin.as_ref(), validate)?;
        if validate {
            check_reported(&target, plugin.as_ref())?;
        }
        let plugin = wrapped(plugin, &answer);
        Ok((target, plugin, answer))
    }

    /// Step 3: the dependencies (when validating) of the code `target` runs, then what the
    /// layers check (security: its permissions).
    fn check_code(
        &self,
        overlay: &Overlay,
        target: &Target,
        validate: bool,
    ) -> Result<(), PluginError> {
        if validate {
            self.check_dependencies(overlay, target)?;
        }
        self.layers_check(overlay, &code_of(target))
    }

    /// Step 4, the code that came back: a closure, a wrapper that reports its inner plugin's
    /// entry, a mock or an advanced constructor may return compiled-in code other than the
    /// entry's own. Its permissions (and, when validating, its dependencies) are checked as
    /// that code's, whatever the entry declared and whatever the validation switch says. A
    /// product that is the entry's own compiled-in code was checked in step 3.
    ///
    /// The constructor has run by then (as a factory's function has before its product is
    /// known); the product is refused before the caller can call it.
    fn check_product(
        &self,
        overlay: &Overlay,
        target: &Target,
        plugin: &dyn Plugin,
        validate: bool,
    ) -> Result<(), PluginError> {
        let Some(product) = plugin.descriptor() else {
            return Ok(());
        };
        let checked = match target {
            Target::Compiled(own) => std::ptr::eq(*own, product),
            Target::Runtime(entry) => {
                entry.constructor.is_none()
                    && entry.advanced.is_none()
                    && entry.compiled.is_some_and(|own| std::ptr::eq(own, product))
            }
        };
        if checked {
            return Ok(());
        }
        self.check_code(overlay, &Target::Compiled(product), validate)
    }

    /// Step 6 for a product the registry did not construct itself (a factory's): asks the
    /// layers what instances of `name` get, and wraps `plugin` in it.
    pub(crate) fn wrap(
        &self,
        overlay: &Overlay,
        name: &str,
        plugin: Box<dyn Plugin>,
        monitored: bool,
    ) -> Box<dyn Plugin> {
        wrapped(plugin, &self.layers_interest(overlay, name, monitored))
    }

    /// What creating compiled-in `descriptor` under `overlay` takes. It is a call to its
    /// constructor when loading is on, the name resolves to it (no mock, no runtime entry),
    /// validation has nothing to find (its dependencies are met under this overlay, and its
    /// `Plugin` implementation is the one `#[plugin]` writes from the descriptor, so what an
    /// instance reports is the descriptor), it has no settings and no layer checks it; then
    /// `Direct` when no layer wraps its instances, else `Wrapped` with the layers' whole
    /// answer as the recipe. Anything else is the full path. Cached per configuration
    /// generation by `Interests`.
    pub(crate) fn decide(
        &self,
        overlay: &Overlay,
        descriptor: &'static PluginDescriptor,
    ) -> Decision {
        let name = descriptor.name();
        let valid = || {
            descriptor.reports_itself()
                && self
                    .check_dependencies(overlay, &Target::Compiled(descriptor))
                    .is_ok()
        };
        let constructor_only = !overlay.flags.debug_mode
            && (!overlay.flags.validation || valid())
            && check_loading(overlay, name).is_ok()
            && matches!(self.resolve(overlay, name), Ok(Target::Compiled(d)) if std::ptr::eq(d, descriptor))
            && matches!(settings_for(overlay, name, None), Ok((settings, secrets)) if settings.is_empty() && secrets.is_empty())
            && !self.layers_check_anything(overlay);
        if !constructor_only {
            return Decision::Full;
        }
        let answer = self.layers_interest(overlay, name, false);
        if answer.is_active() {
            Decision::Wrapped(Arc::new(answer))
        } else {
            Decision::Direct
        }
    }

    /// The entry `requested` resolves to: its mock where mocks are on, else itself.
    pub(crate) fn resolve(
        &self,
        overlay: &Overlay,
        requested: &str,
    ) -> Result<Target, PluginError> {
        if overlay.flags.mock_plugins {
            let runtime_mock = overlay
                .mocks
                .get(requested)
                .and_then(|mock| overlay.entries.get(mock));
            if let Some(mock) = runtime_mock {
                return Ok(Target::Runtime(mock.clone()));
            }
            if let Some(mock) = self.index().mock_for(requested)
                && !overlay.hides(mock.name())
            {
                return Ok(Target::Compiled(mock));
            }
        }
        if let Some(entry) = overlay.entries.get(requested) {
            return Ok(Target::Runtime(entry.clone()));
        }
        match self.index().get(requested) {
            Some(d) if !overlay.removed.contains(requested) => Ok(Target::Compiled(d)),
            _ => Err(self.not_found(requested)),
        }
    }

    /// Creates `name` as `config` asks, on the creation path of `create_plugin`: its settings
    /// replace the configured ones, and it may ask for validation, monitoring and
    /// initialization beyond the registry's switches (never for less).
    #[expect(
        clippy::needless_pass_by_value,
        reason = "configurations are passed by value, as the specification's are"
    )]
    pub fn create_plugin_with(
        &self,
        name: &str,
        config: PluginInstantiationConfig,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        let request = Request {
            settings: config.settings.as_ref(),
            validate: config.validation,
            monitored: config.monitoring,
        };
        let (_, mut plugin, _) =
            self.create_entry(&self.snapshot(), name, &request, |target, settings, _| {
                target.instantiate(settings)
            })?;
        if config.initialization {
            plugin.initialize()?;
        }
        Ok(plugin)
    }

    /// Creates `name` from a registry of another trait (declared with `registry!`), under this
    /// registry's policies: plugin loading, then what the registry of `T` decided when it was
    /// indexed (a duplicate name, an unmet `depends_on` in its own table), then the layers'
    /// checks (security: the permissions the plugin declares), then its constructor under
    /// the panic guard with the settings configured for `name` (sealed ones opened, and kept
    /// out of errors).
    ///
    /// Instances of another trait are not wrapped: metrics, per-call logging and the sandbox
    /// need the trait's methods, which only `dyn Plugin` has here.
    ///
    /// ```
    /// use modreg_core::{plugin, registry, PluginError, PluginErrorKind};
    /// use modreg_host::{ModuleRegistry, PluginConfiguration};
    ///
    /// pub trait Greeter: Send + Sync { fn greet(&self) -> String; }
    /// registry!(pub GREETERS: dyn Greeter);
    ///
    /// #[plugin(registry = GREETERS)]
    /// #[derive(Default)]
    /// struct Hello;
    /// impl Greeter for Hello { fn greet(&self) -> String { "hello".into() } }
    ///
    /// let host = ModuleRegistry::new();
    /// assert_eq!(host.create_from(&GREETERS, "hello")?.greet(), "hello");
    /// host.configure_plugin_system(PluginConfiguration::new().with_plugin_loading(false))?;
    /// assert!(matches!(host.create_from(&GREETERS, "hello").map_err(PluginError::into_kind), Err(PluginErrorKind::Disabled { .. })));
    /// # Ok::<(), PluginError>(())
    /// ```
    pub fn create_from<T: ?Sized>(
        &self,
        registry: &Registry<T>,
        name: &str,
    ) -> Result<Box<T>, PluginError> {
        let overlay = self.snapshot();
        check_loading(&overlay, name)?;
        let descriptor = registry.resolve(name)?;
        let code = Code {
            name: descriptor.name(),
            permissions: descriptor.permissions().to_vec(),
        };
        self.layers_check(&overlay, &code)?;
        let (settings, secrets) = settings_for(&overlay, descriptor.name(), None)?;
        if settings.is_empty() {
            descriptor.instantiate_default()
        } else {
            descriptor.instantiate(&settings)
        }
        .map_err(|error| crate::security::redact(error, &secrets))
    }

    /// Creates the plugin `variant` with the factory called `factory_name`, on the creation
    /// path: loading, the panic guard, the factory's declared type, the dependencies and
    /// permissions of the plugin it made (its compiled-in entry), then monitoring and the
    /// sandbox.
    ///
    /// A factory's function runs before its product's permissions are known; the product is
    /// refused before the caller can call it.
    pub fn create_plugin_from_factory(
        &self,
        factory_name: &str,
        variant: &str,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        let overlay = self.snapshot();
        check_loading(&overlay, factory_name)?;
        let factory = overlay
            .factories
            .get(factory_name)
            .map(|(_, f)| *f)
            .or_else(|| self.index().factory(factory_name))
            .ok_or_else(|| {
                PluginError::from(PluginErrorKind::FactoryNotFound {
                    name: factory_name.to_owned(),
                    known: self.factory_names(),
                })
            })?;
        let plugin = guard(factory.name(), "construction", || factory.create(variant))?;
        if plugin.plugin_type() != factory.plugin_type() {
            return Err(PluginError::from(PluginErrorKind::Mismatch {
                plugin: plugin.name().to_owned(),
                field: "type",
                registered: format!("{} (factory `{}`)", factory.plugin_type(), factory.name()),
                reported: plugin.plugin_type().to_string(),
            }));
        }
        if let Some(descriptor) = plugin.descriptor() {
            self.check_code(
                &overlay,
                &Target::Compiled(descriptor),
                overlay.flags.validation,
            )?;
        }
        let name = plugin.name().to_owned();
        Ok(self.wrap(&overlay, &name, plugin, false))
    }

    /// Fails unless every dependency of `target` is registered at an accepted version.
    pub(crate) fn check_dependencies(
        &self,
        overlay: &Overlay,
        target: &Target,
    ) -> Result<(), PluginError> {
        for spec in target.depends_on() {
            check_dependency(target.name(), spec, |name| {
                self.resolve_exact(overlay, name)
                    .map(|t| t.version().to_owned())
            })?;
        }
        Ok(())
    }

    /// The entry registered under exactly `name` (no mock substitution).
    pub(crate) fn resolve_exact(&self, overlay: &Overlay, name: &str) -> Option<Target> {
        if let Some(entry) = overlay.entries.get(name) {
            return Some(Target::Runtime(entry.clone()));
        }
        self.index()
            .get(name)
            .filter(|_| !overlay.removed.contains(name))
            .map(Target::Compiled)
    }

    /// The error for an absent name: a conflict if two definitions claimed it, else
    /// `NotFound` with close names.
    pub(crate) fn not_found(&self, name: &str) -> PluginError {
        if let Some(conflict) = self.index().conflict(name) {
            return conflict.to_error();
        }
        let mut close: Vec<(f64, String)> = self
            .plugins()
            .iter()
            .map(|p| (strsim::jaro_winkler(name, p.name()), p.name().to_owned()))
            .filter(|(score, _)| *score > 0.85)
            .collect();
        close.sort_by(|a, b| b.0.total_cmp(&a.0));
        PluginError::from(PluginErrorKind::NotFound {
            name: name.to_owned(),
            suggestions: close.into_iter().take(3).map(|(_, n)| n).collect(),
        })
    }

    /// Creates `name` prepared as `config` asks: with its context and configuration,
    /// validated, monitored and initialized as switched on.
    ///
    /// The configuration's settings, when it has any, are the settings the plugin is built
    /// with. A plugin registered with `with_advanced_constructor` receives the context and
    /// configuration through `set_context` and `set_configuration`; the registry keeps its
    /// `state` (initialized after `initialize`, not after `cleanup`) and, when it is monitored,
    /// hands it its metrics with `update_metrics` at `cleanup`.
    pub fn create_advanced_plugin(
        &self,
        name: &str,
        config: AdvancedPluginInstantiationConfig,
    ) -> Result<AdvancedPluginInstance, PluginError> {
        let overlay = self.snapshot();
        let context = config.context.unwrap_or_default();
        let mut configuration = config.configuration.unwrap_or_default();
        if config.validation {
            configuration.load()?;
        }
        let own_settings = configuration.settings();
        let settings = (!own_settings.is_empty()).then_some(&own_settings);

        let request = Request {
            settings,
            validate: config.validation,
            monitored: config.monitoring,
        };
        let (_, plugin, answer) =
            self.create_entry(&overlay, name, &request, |target, settings, answer| {
                match target {
                    // An advanced constructor receives its context and configuration.
                    Target::Runtime(entry) if entry.constructor.is_none() => {
                        match &entry.advanced {
                            Some(make) => {
                                let mut plugin = make(settings)?;
                                plugin.set_context(context.clone());
                                plugin.set_configuration(configuration.clone());
                                plugin.set_state(PluginState::new());
                                Ok(Box::new(AdvancedAdapter::new(
                                    plugin,
                                    answer.metrics.clone(),
                                )))
                            }
                            None => target.instantiate(settings),
                        }
                    }
                    _ => target.instantiate(settings),
                }
            })?;
        let metrics = answer.metrics.filter(|_| config.monitoring);
        let mut instance = AdvancedPluginInstance::new(plugin, context, configuration, metrics);
        if config.initialization {
            instance.initialize()?;
        }
        Ok(instance)
    }
}

impl ModuleRegistry {
    /// Asks security, then every attached layer, whether `code` may run.
    fn layers_check(&self, overlay: &Overlay, code: &Code<'_>) -> Result<(), PluginError> {
        crate::security::SecurityLayer.check(self, overlay, code)?;
        let cx = LayerContext { overlay };
        self.layers()
            .iter()
            .try_for_each(|layer| layer.check(&cx, code))
    }

    /// Whether any layer's check can refuse anything under `overlay`.
    fn layers_check_anything(&self, overlay: &Overlay) -> bool {
        let cx = LayerContext { overlay };
        crate::security::SecurityLayer.checks(overlay)
            || self.layers().iter().any(|layer| layer.checks(&cx))
    }

    /// Asks security, then every attached layer, whether `change` may happen.
    pub(crate) fn layers_check_change(
        &self,
        overlay: &Overlay,
        change: Change<'_>,
    ) -> Result<(), PluginError> {
        crate::security::SecurityLayer.check_change(self, overlay, change)?;
        let cx = LayerContext { overlay };
        self.layers()
            .iter()
            .try_for_each(|layer| layer.check_change(&cx, change))
    }

    /// The layers' whole answer about instances of `name`: the sandbox, then each layer's
    /// wrap in order.
    fn layers_interest(&self, overlay: &Overlay, name: &str, monitored: bool) -> Answer {
        let cx = LayerContext { overlay };
        let mut answer = Answer {
            sandbox: crate::security::SecurityLayer.interest(overlay),
            ..Answer::default()
        };
        for layer in self.layers() {
            let interest = layer.interest(&cx, name, monitored);
            answer.wraps.extend(interest.wrap);
            if answer.metrics.is_none() {
                answer.metrics = interest.metrics;
            }
        }
        answer
    }
}

/// The code `target` runs, as the layers see it.
fn code_of(target: &Target) -> Code<'_> {
    Code::new(target.name(), target.permissions())
}

/// The settings of a plugin nobody configured.
static EMPTY: PluginSettings = PluginSettings::new();

/// Step 4's settings for `name`: `given`, else the active environment's, else the configured
/// ones, else none; sealed values opened (and returned, to keep them out of errors).
fn settings_for<'a>(
    overlay: &'a Overlay,
    name: &str,
    given: Option<&'a PluginSettings>,
) -> Result<(std::borrow::Cow<'a, PluginSettings>, Vec<String>), PluginError> {
    let settings = given
        .or_else(|| overlay.profile().and_then(|p| p.plugins.get(name)))
        .or_else(|| overlay.settings.get(name))
        .unwrap_or(&EMPTY);
    crate::security::open_settings(overlay, name, settings)
}

/// Step 1: refuses when plugin loading is switched off.
fn check_loading(overlay: &Overlay, requested: &str) -> Result<(), PluginError> {
    if overlay.flags.loading {
        Ok(())
    } else {
        Err(PluginError::from(PluginErrorKind::Disabled {
            plugin: requested.to_owned(),
            what: "plugin loading",
        }))
    }
}

/// Fails unless `plugin` reports the name, version and type of `target`.
fn check_reported(target: &Target, plugin: &dyn Plugin) -> Result<(), PluginError> {
    let mismatch = |field, registered: String, reported: String| {
        PluginError::from(PluginErrorKind::Mismatch {
            plugin: target.name().to_owned(),
            field,
            registered,
            reported,
        })
    };
    if plugin.name() != target.name() {
        return Err(mismatch(
            "name",
            target.name().to_owned(),
            plugin.name().to_owned(),
        ));
    }
    if plugin.version() != target.version() {
        return Err(mismatch(
            "version",
            target.version().to_owned(),
            plugin.version().to_owned(),
        ));
    }
    if plugin.plugin_type() != target.plugin_type() {
        return Err(mismatch(
            "type",
            target.plugin_type().to_string(),
            plugin.plugin_type().to_string(),
        ));
    }
    Ok(())
}
