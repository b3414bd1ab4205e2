//! The host's `create_*` calls and what the pipeline (`pipeline.rs`) asks of the host:
//! resolution (mocks), dependencies, and the layers' checks and answers.

use crate::advanced::{
    AdvancedAdapter, AdvancedPluginInstance, AdvancedPluginInstantiationConfig, PluginState,
};

use std::borrow::Cow;
use std::sync::Arc;

use crate::layer::{Answer, Change, Code, LayerContext, Opened, Redactors};
use crate::overlay::Overlay;
use crate::pipeline::{Entry, FromFactory, Request, Typed};
use crate::registry::ModuleRegistry;
use modreg_core::Plugin;
use modreg_core::{PluginError, PluginErrorKind};

use crate::target::Target;
use modreg_core::__host::check_dependency;
use modreg_core::PluginSettings;
use modreg_core::Registry;

/// How [`create_plugin_with`](crate::Instances::create_plugin_with) prepares an instance: the
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
/// let twice = registry.instances().create_plugin_with(
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

impl ModuleRegistry {
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

    /// What [`Instances::create_plugin_with`](crate::Instances::create_plugin_with) does.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "configurations are passed by value, as the specification's are"
    )]
    pub(crate) fn create_plugin_with(
        &self,
        name: &str,
        config: PluginInstantiationConfig,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        let request = Request {
            settings: config.settings.as_ref(),
            validate: config.validation,
            monitored: config.monitoring,
        };
        let (_, mut plugin, _) = self.build(&self.snapshot(), name, &request, |overlay| {
            Ok(Entry::plain(self.resolve(overlay, name)?))
        })?;
        if config.initialization {
            plugin.initialize()?;
        }
        Ok(plugin)
    }

    /// What [`Instances::create_from`](crate::Instances::create_from) does.
    pub(crate) fn create_from<T: ?Sized>(
        &self,
        registry: &Registry<T>,
        name: &str,
    ) -> Result<Box<T>, PluginError> {
        self.build(&self.snapshot(), name, &Request::PLAIN, |overlay| {
            // A sandboxed entry of the registry's trait shadows a compiled-in plugin, as any
            // runtime entry does.
            if let Some(abi) = registry.sandboxed()
                && let Some(entry) = overlay.sandboxed.get(name)
                && entry.trait_name() == abi.trait_name
            {
                entry.check_fingerprint(abi.fingerprint)?;
                return Ok(Typed::Sandboxed(Arc::clone(entry), abi));
            }
            Ok(Typed::Compiled(registry.resolve(name)?))
        })
        .map(|(_, plugin, _)| plugin)
    }

    /// The plugins of `registry`'s trait that a source registered and its table does not
    /// hold (a sandboxed plugin of a compiled-in name is created in its place, so it is not
    /// here), by name: what the host's fan-out calls after the table.
    pub(crate) fn sandboxed_only<T: ?Sized>(&self, registry: &Registry<T>) -> Vec<String> {
        let Some(abi) = registry.sandboxed() else {
            return Vec::new();
        };
        let overlay = self.snapshot();
        // The map iterates in key order: the names come sorted.
        overlay
            .sandboxed
            .values()
            .filter(|entry| {
                entry.trait_name() == abi.trait_name && registry.get(&entry.name).is_none()
            })
            .map(|entry| entry.name.clone())
            .collect()
    }

    /// What [`Instances::create_plugin_from_factory`](crate::Instances::create_plugin_from_factory) does.
    pub(crate) fn create_plugin_from_factory(
        &self,
        factory_name: &str,
        variant: &str,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        let request = Request::PLAIN;
        self.build(&self.snapshot(), factory_name, &request, |overlay| {
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
            Ok(FromFactory { factory, variant })
        })
        .map(|(_, plugin, _)| plugin)
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

    /// What [`Instances::create_advanced_plugin`](crate::Instances::create_advanced_plugin) does.
    pub(crate) fn create_advanced_plugin(
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
        // An advanced constructor receives its context and configuration.
        let construct = |target: &Target, settings: &PluginSettings, answer: &Answer, permit| {
            let advanced = match target {
                Target::Runtime(entry) => entry.instantiate_advanced(settings, permit),
                Target::Compiled(_) => None,
            };
            match advanced {
                Some(made) => {
                    let mut plugin = made?;
                    plugin.set_context(context.clone());
                    plugin.set_configuration(configuration.clone());
                    plugin.set_state(PluginState::new());
                    Ok(
                        Box::new(AdvancedAdapter::new(plugin, answer.metrics.clone()))
                            as Box<dyn Plugin>,
                    )
                }
                None => target.instantiate(settings, permit),
            }
        };
        let (_, plugin, answer) = self.build(&overlay, name, &request, |overlay| {
            Ok(Entry::with(self.resolve(overlay, name)?, construct))
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
    /// What the layers see of `overlay`.
    pub(crate) fn layer_context<'a>(&'a self, overlay: &'a Overlay) -> LayerContext<'a> {
        LayerContext {
            overlay,
            layers: self.layers(),
        }
    }

    /// Asks every attached layer whether `code` may run.
    pub(crate) fn layers_check(
        &self,
        overlay: &Overlay,
        code: &Code<'_>,
    ) -> Result<(), PluginError> {
        let cx = self.layer_context(overlay);
        self.layers()
            .iter()
            .try_for_each(|layer| layer.check(&cx, code))
    }

    /// Whether any layer's check can refuse anything under `overlay`.
    pub(crate) fn layers_check_anything(&self, overlay: &Overlay) -> bool {
        let cx = self.layer_context(overlay);
        self.layers().iter().any(|layer| layer.checks(&cx))
    }

    /// Asks every attached layer whether `change` may happen.
    pub(crate) fn layers_check_change(
        &self,
        overlay: &Overlay,
        change: Change<'_>,
    ) -> Result<(), PluginError> {
        let cx = self.layer_context(overlay);
        self.layers()
            .iter()
            .try_for_each(|layer| layer.check_change(&cx, change))
    }

    /// The settings `name` is built with, as the layers open them (security: sealed values),
    /// with what keeps the opened values out of errors. Empty settings are nobody's concern.
    pub(crate) fn layers_open_settings<'a>(
        &self,
        overlay: &Overlay,
        name: &str,
        settings: &'a PluginSettings,
    ) -> Result<(Cow<'a, PluginSettings>, Redactors), PluginError> {
        let mut settings = Cow::Borrowed(settings);
        let mut redactors = Redactors::new();
        if settings.is_empty() {
            return Ok((settings, redactors));
        }
        let cx = self.layer_context(overlay);
        for layer in self.layers().iter() {
            if let Some(Opened {
                settings: opened,
                redact,
            }) = layer.open_settings(&cx, name, &settings)?
            {
                settings = Cow::Owned(opened);
                redactors.push(redact);
            }
        }
        Ok((settings, redactors))
    }

    /// The layers' whole answer about instances of `name`: each layer's wrap in order.
    pub(crate) fn layers_interest(&self, overlay: &Overlay, name: &str, monitored: bool) -> Answer {
        let cx = self.layer_context(overlay);
        let mut answer = Answer::default();
        for layer in self.layers().iter() {
            let interest = layer.interest(&cx, name, monitored);
            answer.wraps.extend(interest.wrap);
            if answer.metrics.is_none() {
                answer.metrics = interest.metrics;
            }
        }
        answer
    }
}
