//! Creating plugins when the registry is configured: mocks, settings, dependencies,
//! permissions, validation and monitoring, in that order.
//!
//! `create_plugin` takes this path only when something was registered, configured or
//! switched; otherwise it is one index lookup (see `registry.rs`).

use std::sync::Arc;

use crate::guarded::{GuardedPlugin, Policy};
use crate::metrics::MetricsRecorder;
use crate::registry::Overlay;
use crate::runtime::RuntimeEntry;
use crate::settings::EMPTY;
use crate::validate::check_dependency;
use crate::{
    AdvancedPluginInstance, AdvancedPluginInstantiationConfig, ModuleRegistry, Plugin,
    PluginDescriptor, PluginError, PluginInfo, PluginMetrics, PluginSettings, PluginType,
};

/// The registry entry a request resolves to.
#[derive(Clone)]
pub(crate) enum Target {
    Compiled(&'static PluginDescriptor),
    Runtime(Arc<RuntimeEntry>),
}

impl Target {
    fn name(&self) -> &str {
        match self {
            Target::Compiled(d) => d.name(),
            Target::Runtime(e) => &e.name,
        }
    }

    fn version(&self) -> &str {
        match self {
            Target::Compiled(d) => d.version(),
            Target::Runtime(e) => &e.version,
        }
    }

    fn plugin_type(&self) -> PluginType {
        match self {
            Target::Compiled(d) => d.plugin_type(),
            Target::Runtime(e) => e.plugin_type,
        }
    }

    fn depends_on(&self) -> Vec<&str> {
        match self {
            Target::Compiled(d) => d.depends_on().to_vec(),
            Target::Runtime(e) => e.depends_on.iter().map(String::as_str).collect(),
        }
    }

    fn permissions(&self) -> Vec<&str> {
        match self {
            Target::Compiled(d) => d.permissions().to_vec(),
            Target::Runtime(e) => e.permissions.iter().map(String::as_str).collect(),
        }
    }

    pub(crate) fn into_info(self) -> PluginInfo {
        match self {
            Target::Compiled(d) => PluginInfo::compiled(d),
            Target::Runtime(e) => PluginInfo::runtime(e),
        }
    }

    fn instantiate(&self, settings: &PluginSettings) -> Result<Box<dyn Plugin>, PluginError> {
        match self {
            Target::Compiled(d) => d.instantiate(settings),
            Target::Runtime(e) => e.instantiate(settings),
        }
    }
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
        let (target, plugin) = self.instantiate(overlay, name, None)?;
        let policy = self.policy(overlay, target.name(), false);
        Ok(if policy.is_active() {
            Box::new(GuardedPlugin::new(plugin, policy))
        } else {
            plugin
        })
    }

    /// What the switches ask created instances of `name` to do; `monitored` forces metrics.
    pub(crate) fn policy(&self, overlay: &Overlay, name: &str, monitored: bool) -> Policy {
        let flags = &overlay.flags;
        let monitoring = flags.monitoring || monitored;
        let sandbox = flags.sandboxing.then_some(&overlay.limits);
        Policy {
            recorder: monitoring.then(|| self.recorder(name)),
            latency: monitored || (flags.monitoring && flags.performance),
            verbose: flags.verbose_logging || flags.plugin_logging,
            alerts: flags
                .alerting
                .then(|| (self.alerts.clone(), flags.real_time_alerting)),
            structured: flags.structured_logging,
            catch_panics: monitoring || flags.sandboxing || flags.alerting,
            max_input_bytes: sandbox.and_then(|l| l.max_input_bytes),
            max_output_bytes: sandbox.and_then(|l| l.max_output_bytes),
            time_budget: sandbox.and_then(|l| l.time_budget),
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
                .entries
                .values()
                .find(|e| e.mock_of.as_deref() == Some(requested));
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

    /// Resolves and constructs `requested`, applying the switches; `settings` overrides the
    /// configured settings.
    fn instantiate(
        &self,
        overlay: &Overlay,
        requested: &str,
        settings: Option<&PluginSettings>,
    ) -> Result<(Target, Box<dyn Plugin>), PluginError> {
        let flags = &overlay.flags;
        if !flags.loading {
            return Err(PluginError::Disabled {
                plugin: requested.to_owned(),
                what: "plugin loading",
            });
        }
        let target = self.resolve(overlay, requested)?;
        let name = target.name();
        let settings = settings
            .or_else(|| overlay.profile().and_then(|p| p.plugins.get(name)))
            .or_else(|| overlay.settings.get(name))
            .unwrap_or(&EMPTY);
        if flags.validation {
            self.check_dependencies(overlay, &target)?;
        }
        if flags.permissions {
            self.check_permissions(overlay, &target)?;
        }
        let opened;
        let settings = if crate::security::has_sealed(settings) {
            opened = crate::security::open_all(
                overlay.secret_key.as_ref(),
                flags.encryption,
                name,
                settings,
            )?;
            &opened
        } else {
            settings
        };
        let plugin = crate::sandbox::guard(target.name(), "construction", || {
            target.instantiate(settings)
        })?;
        if flags.validation {
            check_reported(&target, plugin.as_ref())?;
        }
        Ok((target, plugin))
    }

    /// Fails unless every permission `target` declares is granted; logs the decision.
    fn check_permissions(&self, overlay: &Overlay, target: &Target) -> Result<(), PluginError> {
        let missing = target
            .permissions()
            .into_iter()
            .find(|p| !overlay.granted.contains(*p));
        let decision = crate::security::AccessDecision {
            allowed: missing.is_none(),
            reason: missing.map_or_else(
                || "permissions granted".to_owned(),
                |p| format!("permission `{p}` not granted"),
            ),
        };
        self.note_access(
            &overlay.flags,
            "-",
            crate::security::Operation::Instantiate,
            target.name(),
            &decision,
        );
        match missing {
            Some(permission) => Err(PluginError::PermissionDenied {
                plugin: target.name().to_owned(),
                permission: permission.to_owned(),
            }),
            None => Ok(()),
        }
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
        PluginError::NotFound {
            name: name.to_owned(),
            suggestions: close.into_iter().take(3).map(|(_, n)| n).collect(),
        }
    }

    /// The shared recorder of plugin `name`, made on first use.
    pub(crate) fn recorder(&self, name: &str) -> Arc<MetricsRecorder> {
        if let Some(recorder) = self
            .metrics
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
        {
            return recorder.clone();
        }
        self.metrics
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    /// The metrics recorded for plugin `name` by monitored instances, if any were made.
    pub fn plugin_metrics(&self, name: &str) -> Option<PluginMetrics> {
        self.metrics
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .map(|r| r.snapshot())
    }

    /// Creates `name` prepared as `config` asks: with its context and configuration,
    /// validated, monitored and initialized as switched on.
    ///
    /// The configuration's settings, when it has any, are the settings the plugin is built
    /// with. A plugin registered with `with_advanced_constructor` receives the context and
    /// configuration through `set_context` and `set_configuration`.
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

        let target = self.resolve(&overlay, name)?;
        if config.validation {
            self.check_dependencies(&overlay, &target)?;
        }
        let advanced = match &target {
            Target::Runtime(entry) if entry.constructor.is_none() => entry.advanced.clone(),
            _ => None,
        };
        let plugin: Box<dyn Plugin> = match advanced {
            Some(make) if overlay.flags.loading => {
                let mut plugin = make(settings.unwrap_or(&EMPTY))?;
                plugin.set_context(context.clone());
                plugin.set_configuration(configuration.clone());
                plugin
            }
            _ => self.instantiate(&overlay, name, settings)?.1,
        };
        if config.validation {
            check_reported(&target, plugin.as_ref())?;
        }
        let recorder = config.monitoring.then(|| self.recorder(target.name()));
        let policy = self.policy(&overlay, target.name(), config.monitoring);
        let plugin: Box<dyn Plugin> = if policy.is_active() {
            Box::new(GuardedPlugin::new(plugin, policy))
        } else {
            plugin
        };
        let mut instance = AdvancedPluginInstance::new(plugin, context, configuration, recorder);
        if config.initialization {
            instance.initialize()?;
        }
        Ok(instance)
    }
}

/// Fails unless `plugin` reports the name, version and type of `target`.
fn check_reported(target: &Target, plugin: &dyn Plugin) -> Result<(), PluginError> {
    let mismatch = |field, registered: String, reported: String| PluginError::Mismatch {
        plugin: target.name().to_owned(),
        field,
        registered,
        reported,
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
