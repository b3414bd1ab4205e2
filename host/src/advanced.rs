//! Advanced plugins: context, configuration, state and metrics around a plugin.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::configuration::PluginConfiguration;
use crate::metrics::MetricsSource;
use crate::metrics::PluginMetrics;
use modreg_core::Plugin;
use modreg_core::{PluginError, PluginErrorKind};

/// A plugin that carries a context, a configuration, a state and metrics, as the
/// specification's "Advanced Plugin Interface" describes.
pub trait AdvancedPlugin: Plugin {
    /// Get the plugin context
    fn context(&self) -> &PluginContext;

    /// Set the plugin context
    fn set_context(&mut self, context: PluginContext);

    /// Get the plugin configuration
    fn configuration(&self) -> &PluginConfiguration;

    /// Set the plugin configuration
    fn set_configuration(&mut self, config: PluginConfiguration);

    /// Get the plugin state
    fn state(&self) -> &PluginState;

    /// Set the plugin state
    fn set_state(&mut self, state: PluginState);

    /// Get the plugin metrics
    fn metrics(&self) -> &PluginMetrics;

    /// Update the plugin metrics
    fn update_metrics(&mut self, metrics: PluginMetrics);
}

/// What the host gives a plugin to work in: its environment, shared values, and a chain of
/// stages that [`process`](Self::process) runs data through.
///
/// A context must be [`initialize`](Self::initialize)d before it processes anything.
///
/// ```
/// use modreg_host::PluginContext;
///
/// let mut context = PluginContext::new().with_value("tenant", "acme");
/// assert!(context.process(b"x").is_err(), "not initialized yet");
/// context.initialize()?;
/// assert_eq!(context.process(b"x")?, b"x");
/// assert_eq!(context.value("tenant"), Some("acme"));
/// # Ok::<(), modreg_core::PluginError>(())
/// ```
#[derive(Clone, Default)]
pub struct PluginContext {
    environment: Option<String>,
    values: BTreeMap<String, String>,
    stages: Vec<Arc<dyn Plugin>>,
    initialized: bool,
}

impl std::fmt::Debug for PluginContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginContext")
            .field("environment", &self.environment)
            .field("values", &self.values)
            .field(
                "stages",
                &self
                    .stages
                    .iter()
                    .map(|s| s.name().to_owned())
                    .collect::<Vec<_>>(),
            )
            .field("initialized", &self.initialized)
            .finish()
    }
}

impl PluginContext {
    /// An empty, uninitialized context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the environment the plugin runs in.
    pub fn with_environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Adds a shared value.
    pub fn with_value(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }

    /// Appends a stage that [`process`](Self::process) runs data through.
    pub fn with_stage(mut self, stage: Box<dyn Plugin>) -> Self {
        self.stages.push(Arc::from(stage));
        self
    }

    /// The environment, if named.
    pub fn environment(&self) -> Option<&str> {
        self.environment.as_deref()
    }

    /// A shared value.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Whether [`initialize`](Self::initialize) has run (and [`cleanup`](Self::cleanup) not).
    pub fn is_initialized(&self) -> bool {
        self.initialized
    }

    /// Makes the context ready to process.
    pub fn initialize(&mut self) -> Result<(), PluginError> {
        self.initialized = true;
        Ok(())
    }

    /// Releases the context; it processes nothing until initialized again.
    pub fn cleanup(&mut self) -> Result<(), PluginError> {
        self.initialized = false;
        Ok(())
    }

    /// Runs `data` through the stages in order (unchanged when there are none).
    pub fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        if !self.initialized {
            return Err(PluginError::from(PluginErrorKind::InvalidTransition {
                plugin: "plugin context".to_owned(),
                from: "uninitialized".to_owned(),
                to: "processing".to_owned(),
            }));
        }
        let mut data = data.to_vec();
        for stage in &self.stages {
            data = stage.process(&data)?;
        }
        Ok(data)
    }
}

/// Whether a plugin is initialized.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PluginState {
    initialized: bool,
}

impl PluginState {
    /// Not initialized.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks the plugin initialized or not.
    pub fn set_initialized(&mut self, initialized: bool) {
        self.initialized = initialized;
    }

    /// Whether the plugin is initialized.
    pub fn is_initialized(&self) -> bool {
        self.initialized
    }
}

/// How [`create_advanced_plugin`](crate::Instances::create_advanced_plugin) prepares an
/// instance.
#[derive(Clone, Debug, Default)]
pub struct AdvancedPluginInstantiationConfig {
    pub(crate) initialization: bool,
    pub(crate) validation: bool,
    pub(crate) monitoring: bool,
    pub(crate) context: Option<PluginContext>,
    pub(crate) configuration: Option<PluginConfiguration>,
}

impl AdvancedPluginInstantiationConfig {
    /// Nothing switched on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `initialize` (after context and configuration are in place).
    pub fn with_initialization(mut self, enabled: bool) -> Self {
        self.initialization = enabled;
        self
    }

    /// Checks dependencies, loads the configuration and checks the instance against its
    /// registry entry before returning it.
    pub fn with_validation(mut self, enabled: bool) -> Self {
        self.validation = enabled;
        self
    }

    /// Records every `process` call into the plugin's metrics.
    pub fn with_monitoring(mut self, enabled: bool) -> Self {
        self.monitoring = enabled;
        self
    }

    /// The context handed to the plugin.
    pub fn with_context(mut self, context: PluginContext) -> Self {
        self.context = Some(context);
        self
    }

    /// The configuration handed to the plugin.
    pub fn with_configuration(mut self, configuration: PluginConfiguration) -> Self {
        self.configuration = Some(configuration);
        self
    }
}

/// What the registry does for an [`AdvancedPlugin`] made by an advanced constructor: keeps its
/// [`PluginState`] through `initialize` and `cleanup`, and hands it its metrics at `cleanup`.
pub(crate) struct AdvancedAdapter {
    inner: Box<dyn AdvancedPlugin>,
    recorder: Option<Arc<dyn MetricsSource>>,
}

impl AdvancedAdapter {
    pub(crate) fn new(
        inner: Box<dyn AdvancedPlugin>,
        recorder: Option<Arc<dyn MetricsSource>>,
    ) -> Self {
        AdvancedAdapter { inner, recorder }
    }

    fn set_initialized(&mut self, initialized: bool) {
        let mut state = *self.inner.state();
        state.set_initialized(initialized);
        self.inner.set_state(state);
    }
}

impl Plugin for AdvancedAdapter {
    forward_metadata!(inner);

    fn initialize(&mut self) -> Result<(), PluginError> {
        self.inner.initialize()?;
        self.set_initialized(true);
        Ok(())
    }

    fn cleanup(&mut self) -> Result<(), PluginError> {
        let outcome = self.inner.cleanup();
        self.set_initialized(false);
        if let Some(recorder) = &self.recorder {
            self.inner.update_metrics(recorder.snapshot());
        }
        outcome
    }

    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        self.inner.process(data)
    }

    fn health(&self) -> modreg_core::HealthStatus {
        self.inner.health()
    }
}

/// A plugin made by `create_advanced_plugin`: the plugin, with the context and configuration
/// it was given and, when monitored, its metrics.
pub struct AdvancedPluginInstance {
    pub(crate) plugin: Box<dyn Plugin>,
    pub(crate) context: PluginContext,
    pub(crate) configuration: PluginConfiguration,
    pub(crate) recorder: Option<Arc<dyn MetricsSource>>,
}

impl std::fmt::Debug for AdvancedPluginInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdvancedPluginInstance")
            .field("plugin", &self.plugin.name())
            .field("context", &self.context)
            .field("monitored", &self.recorder.is_some())
            .finish_non_exhaustive()
    }
}

impl AdvancedPluginInstance {
    pub(crate) fn new(
        plugin: Box<dyn Plugin>,
        context: PluginContext,
        configuration: PluginConfiguration,
        recorder: Option<Arc<dyn MetricsSource>>,
    ) -> Self {
        AdvancedPluginInstance {
            plugin,
            context,
            configuration,
            recorder,
        }
    }

    /// The context the instance was created with.
    pub fn context(&self) -> &PluginContext {
        &self.context
    }

    /// The configuration the instance was created with.
    pub fn configuration(&self) -> &PluginConfiguration {
        &self.configuration
    }

    /// The metrics of this plugin, when monitoring is on.
    pub fn metrics(&self) -> Option<PluginMetrics> {
        self.recorder.as_ref().map(|r| r.snapshot())
    }

    /// Processes `data` (recorded when monitored). Inherent, so that callers need not import
    /// [`Plugin`].
    pub fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        self.plugin.process(data)
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        self.plugin.name()
    }

    /// The plugin itself.
    pub fn into_inner(self) -> Box<dyn Plugin> {
        self.plugin
    }
}

impl Plugin for AdvancedPluginInstance {
    forward_metadata!(plugin);

    fn initialize(&mut self) -> Result<(), PluginError> {
        self.plugin.initialize()
    }

    fn cleanup(&mut self) -> Result<(), PluginError> {
        self.plugin.cleanup()
    }

    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        self.plugin.process(data)
    }

    fn health(&self) -> modreg_core::HealthStatus {
        self.plugin.health()
    }
}
