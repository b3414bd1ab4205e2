//! System configuration: the host's switches of the specification and what each one switches.
//!
//! Every flag is an `Option<bool>`: a configuration call changes the flags it names and keeps
//! the others. `docs/configuration.md` has one row per flag with its effect and its test.

use std::collections::BTreeMap;
use std::path::PathBuf;

use modreg_core::PluginSettings;
use modreg_core::validate::check_identifier;
use modreg_core::{PluginError, PluginErrorKind};

/// The host's own switches in force, after base configuration and the active environment.
/// Each layer keeps its own (security's, monitoring's) in itself.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one switch per flag of the specification"
)]
pub(crate) struct Switches {
    /// Plugins may be created.
    pub(crate) loading: bool,
    /// Dependencies are checked before creation, and what an instance reports against its
    /// entry.
    pub(crate) validation: bool,
    /// Discovery results are cached until the registry changes.
    pub(crate) caching: bool,
    /// `shared_plugin` keeps the instance it makes of each plugin until the registry changes.
    pub(crate) instance_sharing: bool,
    /// Every registry operation emits a `tracing` DEBUG event.
    pub(crate) debug_mode: bool,
    /// Every monitored `process` call emits a `tracing` INFO event (read by the monitoring
    /// layer through `LayerContext::verbose_logging`).
    pub(crate) verbose_logging: bool,
    /// A plugin marked `mock_of = "x"` stands in for `x`.
    pub(crate) mock_plugins: bool,
}

impl Default for Switches {
    fn default() -> Self {
        Switches {
            loading: true,
            validation: true,
            caching: false,
            instance_sharing: false,
            debug_mode: false,
            verbose_logging: false,
            mock_plugins: false,
        }
    }
}

impl Switches {
    /// Whether every switch is at its default, so the registry can take its fast path.
    pub(crate) fn is_default(&self) -> bool {
        *self == Switches::default()
    }
}

pub(crate) fn set(flag: &mut bool, value: Option<bool>) {
    if let Some(value) = value {
        *flag = value;
    }
}

/// Writes a builder method for each named flag: `with_x(bool)` sets `self.x`. Exported
/// (hidden) for the layer crates' configurations, which are written the same way.
#[doc(hidden)]
#[macro_export]
macro_rules! flag_builders {
    ($ty:ident { $($(#[$doc:meta])* $method:ident => $field:ident),* $(,)? }) => {
        impl $ty {
            $(
                $(#[$doc])*
                pub fn $method(mut self, enabled: bool) -> Self {
                    self.$field = Some(enabled);
                    self
                }
            )*
        }
    };
}

/// A plugin's configuration, and the basic switches of the plugin system.
///
/// As a plugin's configuration it holds settings, optionally read from a TOML file by
/// [`load`](Self::load). Given to
/// [`configure_plugin_system`](crate::Configuration::configure_plugin_system), its three
/// switches configure the registry.
///
/// ```
/// use modreg_host::PluginConfiguration;
///
/// let mut configuration = PluginConfiguration::new().with_setting("level", 9);
/// configuration.load()?;
/// assert!(configuration.is_loaded());
/// assert_eq!(configuration.settings().get("level").and_then(|v| v.as_integer()), Some(9));
/// # Ok::<(), modreg_core::PluginError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PluginConfiguration {
    pub(crate) loading: Option<bool>,
    pub(crate) validation: Option<bool>,
    pub(crate) monitoring: Option<bool>,
    settings: PluginSettings,
    source: Option<PathBuf>,
    loaded: bool,
}

flag_builders!(PluginConfiguration {
    /// Whether plugins may be created.
    with_plugin_loading => loading,
    /// Whether created plugins and their dependencies are validated.
    with_plugin_validation => validation,
    /// Whether created plugins record metrics.
    with_plugin_monitoring => monitoring,
});

impl PluginConfiguration {
    /// An empty configuration that changes no switch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one setting.
    pub fn with_setting(
        mut self,
        key: impl Into<String>,
        value: impl Into<modreg_core::SettingValue>,
    ) -> Self {
        self.settings = self.settings.with(key, value);
        self
    }

    /// Names a TOML file that [`load`](Self::load) reads settings from.
    pub fn with_source(mut self, path: impl Into<PathBuf>) -> Self {
        self.source = Some(path.into());
        self
    }

    /// Loads the settings: reads the source file if one was named (its keys override those
    /// set in code). A missing or malformed file is an error naming it.
    pub fn load(&mut self) -> Result<(), PluginError> {
        if let Some(path) = &self.source {
            self.settings = Self::read_source(path, self.settings.clone())?;
        }
        self.loaded = true;
        Ok(())
    }

    /// `settings` with those of the TOML file `path` over them.
    #[cfg(feature = "toml")]
    fn read_source(
        path: &std::path::Path,
        mut settings: PluginSettings,
    ) -> Result<PluginSettings, PluginError> {
        let shown = path.display().to_string();
        let text = crate::files::read_text(path).map_err(|e| {
            PluginError::from(PluginErrorKind::ConfigurationFile {
                path: shown.clone(),
                reason: e.to_string(),
            })
        })?;
        let read = crate::toml_settings::settings_from_toml(&text).map_err(|reason| {
            PluginError::from(PluginErrorKind::ConfigurationFile {
                path: shown,
                reason,
            })
        })?;
        settings.values_mut().extend(read.values().clone());
        Ok(settings)
    }

    /// Without the `toml` feature a named source cannot be read: refused, never skipped.
    #[cfg(not(feature = "toml"))]
    fn read_source(
        path: &std::path::Path,
        _: PluginSettings,
    ) -> Result<PluginSettings, PluginError> {
        Err(PluginError::from(PluginErrorKind::ConfigurationFile {
            path: path.display().to_string(),
            reason: "reading settings from a file needs modreg-host's `toml` feature".to_owned(),
        }))
    }

    /// Whether [`load`](Self::load) has succeeded.
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// The settings, as a plugin's `config` type reads them.
    pub fn settings(&self) -> PluginSettings {
        self.settings.clone()
    }

    /// Whether the configuration asks for metrics: the monitoring layer's switch, which the
    /// facade hands on.
    pub fn plugin_monitoring(&self) -> Option<bool> {
        self.monitoring
    }

    pub(crate) fn apply(&self, flags: &mut Switches) -> Result<(), PluginError> {
        no_layer(self.monitoring, "plugin monitoring", "monitoring")?;
        set(&mut flags.loading, self.loading);
        set(&mut flags.validation, self.validation);
        Ok(())
    }

    /// This configuration with only the host's switches (loading, validation).
    #[doc(hidden)] // Used by the facade, which hands the others to their layers.
    pub fn host_switches(&self) -> Self {
        PluginConfiguration {
            loading: self.loading,
            validation: self.validation,
            ..PluginConfiguration::default()
        }
    }
}

/// Refuses to switch on what only a layer can do: the host alone has no `layer` layer, so a
/// switch of it would change nothing (`modreg::ModuleRegistry` hands it to its layer).
fn no_layer(value: Option<bool>, what: &'static str, layer: &str) -> Result<(), PluginError> {
    if value == Some(true) {
        return Err(PluginError::invalid(
            "configuration",
            what,
            format!(
                "this registry has no {layer} layer: build it with one (modreg::ModuleRegistry does)"
            ),
        ));
    }
    Ok(())
}

/// Every switch of the plugin system besides environments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdvancedPluginConfiguration {
    loading: Option<bool>,
    validation: Option<bool>,
    monitoring: Option<bool>,
    security: Option<bool>,
    performance: Option<bool>,
    caching: Option<bool>,
    instance_sharing: Option<bool>,
}

flag_builders!(AdvancedPluginConfiguration {
    /// Whether plugins may be created.
    with_plugin_loading => loading,
    /// Whether created plugins and their dependencies are validated.
    with_plugin_validation => validation,
    /// Whether created plugins record metrics.
    with_plugin_monitoring => monitoring,
    /// Whether creating a plugin requires its declared permissions to be granted.
    with_plugin_security => security,
    /// Whether monitored plugins record the latency of each call.
    with_plugin_performance => performance,
    /// Whether discovery results are cached until the registry changes.
    with_plugin_caching => caching,
    /// Whether `shared_plugin` hands out one kept instance of each plugin (until the registry
    /// changes) rather than a new one per call.
    with_instance_sharing => instance_sharing,
});

impl AdvancedPluginConfiguration {
    /// An empty configuration that changes no switch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the configuration asks for metrics (the monitoring layer's switch).
    pub fn plugin_monitoring(&self) -> Option<bool> {
        self.monitoring
    }

    /// Whether the configuration asks for latency metrics (the monitoring layer's switch).
    pub fn plugin_performance(&self) -> Option<bool> {
        self.performance
    }

    /// Whether the configuration asks for permission checks (the security layer's switch).
    pub fn plugin_security(&self) -> Option<bool> {
        self.security
    }

    pub(crate) fn apply(&self, flags: &mut Switches) -> Result<(), PluginError> {
        no_layer(self.monitoring, "plugin monitoring", "monitoring")?;
        no_layer(self.performance, "plugin performance metrics", "monitoring")?;
        no_layer(self.security, "plugin security", "security")?;
        set(&mut flags.loading, self.loading);
        set(&mut flags.validation, self.validation);
        set(&mut flags.caching, self.caching);
        set(&mut flags.instance_sharing, self.instance_sharing);
        Ok(())
    }

    /// This configuration with only the host's switches.
    #[doc(hidden)] // Used by the facade, which hands the others to their layers.
    pub fn host_switches(&self) -> Self {
        AdvancedPluginConfiguration {
            monitoring: None,
            performance: None,
            security: None,
            ..self.clone()
        }
    }
}

/// The switches of one environment (`development`, `production`, ...), applied while that
/// environment is active.
///
/// `mock_plugins` and `real_plugins` are opposites: a profile may ask for one, not both.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvironmentPluginConfiguration {
    environment: Option<String>,
    debug_mode: Option<bool>,
    verbose_logging: Option<bool>,
    mock_plugins: Option<bool>,
    real_plugins: Option<bool>,
    pub(crate) plugins: BTreeMap<String, PluginSettings>,
}

flag_builders!(EnvironmentPluginConfiguration {
    /// Whether every registry operation emits a DEBUG event.
    with_debug_mode => debug_mode,
    /// Whether every monitored `process` call emits an INFO event.
    with_verbose_logging => verbose_logging,
    /// Whether mocks stand in for the plugins they mock.
    with_mock_plugins => mock_plugins,
    /// Whether only real plugins are used (mocks never stand in).
    with_real_plugins => real_plugins,
});

impl EnvironmentPluginConfiguration {
    /// An empty profile.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the environment; it must match the name it is configured under.
    pub fn with_environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Settings for one plugin while this environment is active.
    pub fn with_plugin_settings(
        mut self,
        plugin: impl Into<String>,
        settings: PluginSettings,
    ) -> Self {
        self.plugins.insert(plugin.into(), settings);
        self
    }

    /// Checks the profile for use as environment `name`.
    pub(crate) fn validate(&self, name: &str) -> Result<(), PluginError> {
        check_identifier("environment", name)?;
        if let Some(own) = &self.environment
            && own != name
        {
            return Err(PluginError::invalid(
                "environment",
                own.clone(),
                format!("the profile names environment `{own}` but is configured as `{name}`"),
            ));
        }
        if self.mock_plugins == Some(true) && self.real_plugins == Some(true) {
            return Err(PluginError::invalid(
                "environment",
                name,
                "mock_plugins and real_plugins are both on; a profile uses mocks or real plugins, not both",
            ));
        }
        for plugin in self.plugins.keys() {
            check_identifier("plugin name", plugin)?;
        }
        Ok(())
    }

    pub(crate) fn apply(&self, flags: &mut Switches) {
        set(&mut flags.debug_mode, self.debug_mode);
        set(&mut flags.verbose_logging, self.verbose_logging);
        set(&mut flags.mock_plugins, self.mock_plugins);
        if self.real_plugins == Some(true) {
            flags.mock_plugins = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_flags_keep_their_value() {
        let mut flags = Switches::default();
        AdvancedPluginConfiguration::new()
            .with_plugin_caching(true)
            .apply(&mut flags)
            .unwrap();
        PluginConfiguration::new()
            .with_plugin_validation(false)
            .apply(&mut flags)
            .unwrap();
        assert!(flags.caching && flags.loading && !flags.validation);
        assert!(
            PluginConfiguration::new()
                .with_plugin_monitoring(true)
                .apply(&mut flags)
                .is_err(),
            "no monitoring layer here"
        );
    }

    #[test]
    fn real_plugins_turns_mocks_off() {
        let mut flags = Switches::default();
        EnvironmentPluginConfiguration::new()
            .with_mock_plugins(true)
            .apply(&mut flags);
        assert!(flags.mock_plugins);
        EnvironmentPluginConfiguration::new()
            .with_real_plugins(true)
            .apply(&mut flags);
        assert!(!flags.mock_plugins);
    }

    #[test]
    fn profiles_are_validated() {
        let both = EnvironmentPluginConfiguration::new()
            .with_mock_plugins(true)
            .with_real_plugins(true);
        assert!(both.validate("dev").is_err());
        let mismatch = EnvironmentPluginConfiguration::new().with_environment("production");
        assert!(mismatch.validate("development").is_err());
        assert!(
            EnvironmentPluginConfiguration::new()
                .validate("Bad Env")
                .is_err()
        );
    }

    #[test]
    fn load_reads_the_source_file() {
        let scratch = tempfile::tempdir().unwrap();
        let path = scratch.path().join("plugin.toml");
        std::fs::write(&path, "level = 3\n").unwrap();
        let mut configuration = PluginConfiguration::new().with_source(&path);
        if cfg!(not(feature = "toml")) {
            // Without a parser the file is refused, never skipped.
            let err = configuration.load().unwrap_err();
            assert!(err.to_string().contains("`toml` feature"), "{err}");
            assert!(!configuration.is_loaded());
            return;
        }
        configuration.load().unwrap();
        assert_eq!(
            configuration
                .settings()
                .get("level")
                .and_then(modreg_core::SettingValue::as_integer),
            Some(3)
        );
        std::fs::write(&path, "level = \n").unwrap();
        let err = PluginConfiguration::new()
            .with_source(&path)
            .load()
            .unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
