//! `ModuleRegistry` as the specification has it: the host with its layers attached, and the
//! calls of the specification that belong to a layer, in this one place.
//!
//! The host's own calls (discovery, creation, registration, lifecycle, settings) are
//! `modreg_host::ModuleRegistry`'s, reached through `Deref`: one definition of each, with its
//! documentation, rather than a forwarding copy here. What this type adds is what a layer owns
//! (security: permissions, signed manifests, principals and the audit log; monitoring:
//! metrics, alerts, health, Prometheus) and the system configurations whose switches are split
//! between the host and a layer.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
#[cfg(feature = "monitoring")]
use std::sync::mpsc::Receiver;

use modreg_core::{Plugin, PluginError, PluginIndex};
#[cfg(feature = "monitoring")]
use modreg_host::PluginMetrics;
use modreg_host::{
    AdvancedPluginConfig, AdvancedPluginConfiguration, AdvancedPluginInstance,
    AdvancedPluginInstantiationConfig, EnvironmentPluginConfiguration, Layer,
    PluginCapabilityQuery, PluginConfig, PluginConfiguration, PluginDiscoveryQuery,
    PluginFactoryConfig, PluginInfo, PluginInstantiationConfig,
};
#[cfg(feature = "monitoring")]
use modreg_monitoring::{
    AdvancedPluginMonitoringConfig, Alert, HealthChecks, HealthCounts, HealthReport, Monitoring,
    PluginHealthMonitoringConfig, PluginMonitoringConfig, RecentMetrics,
};
#[cfg(feature = "security")]
use modreg_security::{
    AccessDecision, AccessMetrics, AccessScope, AdvancedPluginSecurityConfig, AuditEntry,
    Operation, PluginAccessControlConfig, PluginSecurityConfig, Principal, Security,
};
#[cfg(feature = "semantic")]
use modreg_semantic::{PluginSemanticQuery, ScoredPlugin, SemanticDiscovery};

/// The plugin registry: discovery, instantiation, runtime registration, configuration,
/// security and monitoring.
///
/// Every method takes `&self`; the registry is `Send + Sync` and can be shared behind an
/// `Arc` or a `static`. The host's calls come from [`modreg_host::ModuleRegistry`] (through
/// `Deref`); the monitoring layer's are below.
///
/// ```
/// use modreg::{plugin, ModuleRegistry, PluginBehavior, PluginError, PluginMonitoringConfig};
///
/// #[plugin(type = Encoding, capabilities = ["reverse"])]
/// #[derive(Default)]
/// struct Reverse;
///
/// impl PluginBehavior for Reverse {
///     fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
///         Ok(data.iter().rev().copied().collect())
///     }
/// }
///
/// let registry = ModuleRegistry::new();
/// registry.configure_plugin_monitoring(PluginMonitoringConfig::new().with_plugin_metrics(true))?;
/// let reverse = registry.create_plugin("reverse")?;
/// assert_eq!(reverse.process(b"abc")?, b"cba");
/// assert_eq!(registry.plugin_metrics("reverse").map(|m| m.calls), Some(1));
/// # Ok::<(), PluginError>(())
/// ```
pub struct ModuleRegistry {
    host: modreg_host::ModuleRegistry,
    #[cfg(feature = "security")]
    security: Arc<Security>,
    #[cfg(feature = "monitoring")]
    monitoring: Arc<Monitoring>,
    /// The WebAssembly sandbox, a plugin source: what it loads it registers in `host`.
    #[cfg(feature = "wasm")]
    wasm: modreg_wasm::Wasm,
}

impl Default for ModuleRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ModuleRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("ModuleRegistry");
        out.field("host", &self.host);
        #[cfg(feature = "security")]
        out.field("security", &self.security);
        out.finish_non_exhaustive()
    }
}

impl Deref for ModuleRegistry {
    type Target = modreg_host::ModuleRegistry;

    #[inline]
    fn deref(&self) -> &modreg_host::ModuleRegistry {
        &self.host
    }
}

impl AsRef<modreg_host::ModuleRegistry> for ModuleRegistry {
    fn as_ref(&self) -> &modreg_host::ModuleRegistry {
        &self.host
    }
}

impl ModuleRegistry {
    /// A registry over every plugin compiled into this binary, with every layer attached.
    ///
    /// When the environment variable `MODREG_ENVIRONMENT` is set, its value is the active
    /// environment.
    pub fn new() -> Self {
        Self::assemble(modreg_host::ModuleRegistry::builder())
    }

    /// A registry over an index of your own, as tests and benchmarks build.
    pub fn with_index(index: impl Into<Arc<PluginIndex>>) -> Self {
        Self::assemble(modreg_host::ModuleRegistry::builder().index(index))
    }

    /// A registry over every plugin compiled into this binary, with layers of your own
    /// attached between the bundled ones: after security (its checks run first, its sandbox
    /// is innermost) and before monitoring (whose metrics count what your wrappers refuse).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use modreg::{Code, Layer, LayerContext, ModuleRegistry, PluginError, PluginErrorKind};
    ///
    /// /// Refuses every plugin that asks for the network.
    /// #[derive(Debug)]
    /// struct Offline;
    ///
    /// impl Layer for Offline {
    ///     fn check(&self, _: &LayerContext<'_>, code: &Code<'_>) -> Result<(), PluginError> {
    ///         match code.permissions.iter().find(|p| p.starts_with("net.")) {
    ///             Some(p) => Err(PluginError::from(PluginErrorKind::PermissionDenied {
    ///                 plugin: code.name.to_owned(),
    ///                 permission: (*p).to_owned(),
    ///             })),
    ///             None => Ok(()),
    ///         }
    ///     }
    /// }
    ///
    /// let registry = ModuleRegistry::with_layers([Arc::new(Offline) as Arc<dyn Layer>]);
    /// assert!(registry.catalog().check().is_ok());
    /// ```
    pub fn with_layers(layers: impl IntoIterator<Item = Arc<dyn Layer>>) -> Self {
        Self::assemble_with(modreg_host::ModuleRegistry::builder(), layers)
    }

    fn assemble(builder: modreg_host::RegistryBuilder) -> Self {
        Self::assemble_with(builder, [])
    }

    /// The host from `builder` with security innermost, then `layers`, then monitoring.
    fn assemble_with(
        builder: modreg_host::RegistryBuilder,
        layers: impl IntoIterator<Item = Arc<dyn Layer>>,
    ) -> Self {
        #[cfg(feature = "security")]
        let security = Arc::new(Security::new());
        #[cfg(feature = "security")]
        let builder = builder.layer(security.clone());
        let builder = layers
            .into_iter()
            .fold(builder, |builder, layer| builder.layer(layer));
        #[cfg(feature = "monitoring")]
        let monitoring = Arc::new(Monitoring::new());
        #[cfg(feature = "monitoring")]
        let builder = builder.layer(monitoring.clone());
        let host = builder.build();
        ModuleRegistry {
            host,
            #[cfg(feature = "security")]
            security,
            #[cfg(feature = "monitoring")]
            monitoring,
            #[cfg(feature = "wasm")]
            wasm: modreg_wasm::Wasm::new(),
        }
    }

    /// Sets the basic switches: plugin loading and validation (the host's), monitoring (the
    /// monitoring layer's).
    ///
    /// ```
    /// use modreg::{ModuleRegistry, PluginConfiguration, PluginError, PluginErrorKind};
    ///
    /// let registry = ModuleRegistry::new();
    /// registry.configure_plugin_system(PluginConfiguration::new().with_plugin_loading(false))?;
    /// assert!(matches!(registry.create_plugin("anything").map_err(PluginError::into_kind), Err(PluginErrorKind::Disabled { .. })));
    /// # Ok::<(), PluginError>(())
    /// ```
    #[expect(
        clippy::needless_pass_by_value,
        reason = "configurations are passed by value, as the specification's are"
    )]
    pub fn configure_plugin_system(&self, config: PluginConfiguration) -> Result<(), PluginError> {
        #[cfg(not(feature = "monitoring"))]
        missing_layer(
            config.plugin_monitoring(),
            "plugin monitoring",
            "monitoring",
        )?;
        self.host
            .configuration()
            .configure_plugin_system(config.host_switches())?;
        #[cfg(feature = "monitoring")]
        self.monitoring
            .set_plugin_metrics(&self.host, config.plugin_monitoring());
        Ok(())
    }

    /// Sets every switch the advanced configuration names: monitoring and performance go to
    /// the monitoring layer, security to the security layer, the others to the host.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "configurations are passed by value, as the specification's are"
    )]
    pub fn configure_advanced_plugin_system(
        &self,
        config: AdvancedPluginConfiguration,
    ) -> Result<(), PluginError> {
        #[cfg(not(feature = "monitoring"))]
        {
            missing_layer(
                config.plugin_monitoring(),
                "plugin monitoring",
                "monitoring",
            )?;
            missing_layer(
                config.plugin_performance(),
                "plugin performance metrics",
                "monitoring",
            )?;
        }
        #[cfg(not(feature = "security"))]
        missing_layer(config.plugin_security(), "plugin security", "security")?;
        self.host
            .configuration()
            .configure_advanced_plugin_system(config.host_switches())?;
        #[cfg(feature = "security")]
        self.security
            .set_permissions(&self.host, config.plugin_security())?;
        #[cfg(feature = "monitoring")]
        {
            self.monitoring
                .set_plugin_metrics(&self.host, config.plugin_monitoring());
            self.monitoring
                .set_performance_metrics(&self.host, config.plugin_performance());
        }
        Ok(())
    }

    /// Stores the profile of `environment`; it applies while that environment is active.
    pub fn configure_environment_plugin_system(
        &self,
        environment: &str,
        config: EnvironmentPluginConfiguration,
    ) -> Result<(), PluginError> {
        self.host
            .configuration()
            .configure_environment_plugin_system(environment, config)
    }

    /// Registers a plugin at run time (see [`Registrations::register_plugin`](modreg_host::Registrations::register_plugin)).
    pub fn register_plugin(&self, config: PluginConfig) -> Result<(), PluginError> {
        self.host.registrations().register_plugin(config)
    }

    /// Registers a plugin with dependencies and metadata (see
    /// [`Registrations::register_advanced_plugin`](modreg_host::Registrations::register_advanced_plugin)).
    pub fn register_advanced_plugin(
        &self,
        config: AdvancedPluginConfig,
    ) -> Result<(), PluginError> {
        self.host.registrations().register_advanced_plugin(config)
    }

    /// Registers a factory name backed by a compiled-in `#[plugin_factory]` function (see
    /// [`Registrations::register_plugin_factory`](modreg_host::Registrations::register_plugin_factory)).
    pub fn register_plugin_factory(&self, config: PluginFactoryConfig) -> Result<(), PluginError> {
        self.host.registrations().register_plugin_factory(config)
    }

    /// The plugins matching `query`, sorted by name (see [`Catalog::discover_plugins`](modreg_host::Catalog::discover_plugins)).
    pub fn discover_plugins(
        &self,
        query: PluginDiscoveryQuery,
    ) -> Result<Vec<PluginInfo>, PluginError> {
        self.host.catalog().discover_plugins(query)
    }

    /// The plugins with every required capability, those with more optional capabilities
    /// first (see [`Catalog::discover_plugins_by_capabilities`](modreg_host::Catalog::discover_plugins_by_capabilities)).
    pub fn discover_plugins_by_capabilities(
        &self,
        query: PluginCapabilityQuery,
    ) -> Result<Vec<PluginInfo>, PluginError> {
        self.host.catalog().discover_plugins_by_capabilities(query)
    }

    /// Creates `name` as `config` asks (see [`Instances::create_plugin_with`](modreg_host::Instances::create_plugin_with)).
    pub fn create_plugin_with(
        &self,
        name: &str,
        config: PluginInstantiationConfig,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        self.host.instances().create_plugin_with(name, config)
    }

    /// Creates `name` prepared as `config` asks (see [`Instances::create_advanced_plugin`](modreg_host::Instances::create_advanced_plugin)).
    pub fn create_advanced_plugin(
        &self,
        name: &str,
        config: AdvancedPluginInstantiationConfig,
    ) -> Result<AdvancedPluginInstance, PluginError> {
        self.host.instances().create_advanced_plugin(name, config)
    }

    /// Creates variant `variant` through the factory registered as `factory` (see
    /// [`Instances::create_plugin_from_factory`](modreg_host::Instances::create_plugin_from_factory)).
    pub fn create_plugin_from_factory(
        &self,
        factory: &str,
        variant: &str,
    ) -> Result<Box<dyn Plugin>, PluginError> {
        self.host
            .instances()
            .create_plugin_from_factory(factory, variant)
    }
}

// The security layer's calls of the specification (feature `security`).
#[cfg(feature = "security")]
impl ModuleRegistry {
    /// The security layer attached to this registry.
    pub fn security(&self) -> &Security {
        &self.security
    }

    /// Applies the basic security switches: secure loading, sandboxing (with its limits) and
    /// permissions are the security layer's; validation is the host's.
    ///
    /// ```
    /// use modreg::{ModuleRegistry, PluginSecurityConfig};
    /// let registry = ModuleRegistry::new();
    /// registry.configure_plugin_security(PluginSecurityConfig::new().with_plugin_sandboxing(true))?;
    /// assert!(registry.security().sandboxing());
    /// # Ok::<(), modreg::PluginError>(())
    /// ```
    #[expect(
        clippy::needless_pass_by_value,
        reason = "configurations are passed by value, as the specification's are"
    )]
    pub fn configure_plugin_security(
        &self,
        config: PluginSecurityConfig,
    ) -> Result<(), PluginError> {
        self.security.configure_plugin_security(&self.host, &config)
    }

    /// Applies every security switch and installs the keys given.
    ///
    /// The switches fail closed: authentication with no trusted key refuses every runtime
    /// registration, and encryption with no secret key refuses every sealed setting, until a
    /// key is configured. A warning is logged in either case.
    pub fn configure_advanced_plugin_security(
        &self,
        config: AdvancedPluginSecurityConfig,
    ) -> Result<(), PluginError> {
        self.security
            .configure_advanced_plugin_security(&self.host, config)
    }

    /// Applies the access-control switches and defines the roles given.
    pub fn configure_plugin_access_control(
        &self,
        config: PluginAccessControlConfig,
    ) -> Result<(), PluginError> {
        self.security
            .configure_plugin_access_control(&self.host, config)
    }

    /// Grants permissions that plugins may declare (checked while permissions are on).
    pub fn grant_permissions<'a>(
        &self,
        permissions: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), PluginError> {
        self.security.grant_permissions(&self.host, permissions)
    }

    /// Registers the plugin a manifest envelope describes, or removes it, or replaces its
    /// settings (the manifest's `action`). While authentication is on, the envelope must be
    /// signed by a trusted key.
    pub fn register_signed_manifest(&self, envelope: &str) -> Result<(), PluginError> {
        self.security.register_signed_manifest(&self.host, envelope)
    }

    /// Decides whether `principal` may do `operation` on `plugin`, and logs and counts the
    /// decision as the access switches ask.
    pub fn check_access(
        &self,
        principal: &Principal,
        operation: Operation,
        plugin: &str,
    ) -> AccessDecision {
        self.security
            .check_access(&self.host, principal, operation, plugin)
    }

    /// The registry as seen by `principal`: every call is checked, logged and counted.
    pub fn on_behalf_of(&self, principal: Principal) -> Result<AccessScope<'_>, PluginError> {
        self.security.on_behalf_of(&self.host, principal)
    }

    /// The audit entries kept in memory that `filter` accepts, oldest first.
    pub fn audit_log(&self, filter: impl Fn(&AuditEntry) -> bool) -> Vec<AuditEntry> {
        self.security.audit_log(filter)
    }

    /// Access decisions counted while access monitoring was on.
    pub fn access_metrics(&self) -> AccessMetrics {
        self.security.access_metrics()
    }
}

// The monitoring layer's calls of the specification (feature `monitoring`).
#[cfg(feature = "monitoring")]
impl ModuleRegistry {
    /// The monitoring layer attached to this registry.
    pub fn monitoring(&self) -> &Monitoring {
        &self.monitoring
    }

    /// Applies the basic monitoring switches.
    pub fn configure_plugin_monitoring(
        &self,
        config: PluginMonitoringConfig,
    ) -> Result<(), PluginError> {
        self.monitoring
            .configure_plugin_monitoring(&self.host, &config);
        Ok(())
    }

    /// Applies every monitoring switch, and the alert rules if given; access metrics
    /// (`with_security_metrics`) go to the security switch that counts them.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "configurations are passed by value, as the specification's are"
    )]
    pub fn configure_advanced_plugin_monitoring(
        &self,
        config: AdvancedPluginMonitoringConfig,
    ) -> Result<(), PluginError> {
        self.monitoring
            .configure_advanced_plugin_monitoring(&self.host, &config)?;
        #[cfg(not(feature = "security"))]
        missing_layer(config.security_metrics(), "security metrics", "security")?;
        #[cfg(feature = "security")]
        self.security
            .set_access_monitoring(&self.host, config.security_metrics())?;
        Ok(())
    }

    /// Applies the health-monitoring switches, and the health rules if given.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "configurations are passed by value, as the specification's are"
    )]
    pub fn configure_plugin_health_monitoring(
        &self,
        config: PluginHealthMonitoringConfig,
    ) -> Result<(), PluginError> {
        self.monitoring
            .configure_plugin_health_monitoring(&self.host, &config)
    }

    /// What plugin `name` did over the last `window` (at most [`MAX_WINDOW`](crate::MAX_WINDOW)),
    /// if it records metrics: calls, errors, latency and its last error in that period.
    pub fn recent_metrics(&self, name: &str, window: std::time::Duration) -> Option<RecentMetrics> {
        self.monitoring.recent_metrics(name, window)
    }

    /// The metrics recorded for plugin `name` by monitored instances, if any were made.
    pub fn plugin_metrics(&self, name: &str) -> Option<PluginMetrics> {
        self.monitoring.plugin_metrics(name)
    }

    /// A channel that receives every alert fired from now on while real-time alerting is on.
    pub fn subscribe_alerts(&self) -> Receiver<Alert> {
        self.monitoring.subscribe_alerts()
    }

    /// The alerts fired while real-time alerting was off, oldest first; they are removed.
    pub fn take_alerts(&self) -> Vec<Alert> {
        self.monitoring.take_alerts()
    }

    /// Runs one round of health checks: creates each plugin that has an implementation (in
    /// the panic guard) and asks it [`Plugin::health`](crate::Plugin::health). Fails with
    /// [`PluginErrorKind::Disabled`](crate::PluginErrorKind::Disabled) while health checks are off.
    pub fn run_health_checks(&self) -> Result<HealthReport, PluginError> {
        self.monitoring.run_health_checks(&self.host)
    }

    /// The latest health report, if checks have run.
    pub fn health_report(&self) -> Option<HealthReport> {
        self.monitoring.health_report()
    }

    /// The reports kept for a dashboard, oldest first.
    pub fn health_history(&self) -> Vec<HealthReport> {
        self.monitoring.health_history()
    }

    /// Health-check counts per plugin.
    pub fn health_metrics(&self) -> std::collections::BTreeMap<String, HealthCounts> {
        self.monitoring.health_metrics()
    }

    /// Every metric of the registry in the Prometheus text exposition format.
    #[cfg(feature = "prometheus")]
    pub fn prometheus_text(&self) -> String {
        #[cfg(feature = "wasm")]
        let refused = Some(self.wasm().wasm_modules_refused());
        #[cfg(not(feature = "wasm"))]
        let refused = None;
        #[cfg(feature = "security")]
        let access = self.security.access_metrics();
        #[cfg(feature = "security")]
        let counts: Vec<(&str, bool, u64)> = access
            .allowed
            .iter()
            .map(|(op, n)| (op.as_str(), true, *n))
            .chain(access.denied.iter().map(|(op, n)| (op.as_str(), false, *n)))
            .collect();
        #[cfg(not(feature = "security"))]
        let counts = Vec::new();
        self.monitoring
            .prometheus_text(&self.host, &counts, refused)
    }
}

// Semantic discovery (feature `semantic`).
#[cfg(feature = "semantic")]
impl ModuleRegistry {
    /// The plugins that match `query`, best first, with their scores: semantic discovery
    /// (BM25 over stemmed words and synonyms), from the `modreg-semantic` crate. A query with
    /// nothing to look for is refused.
    pub fn discover_plugins_semantically(
        &self,
        query: PluginSemanticQuery,
    ) -> Result<Vec<ScoredPlugin>, PluginError> {
        SemanticDiscovery::discover_plugins_semantically(&self.host, query)
    }
}

// The WebAssembly sandbox (feature `wasm`).
#[cfg(feature = "wasm")]
impl ModuleRegistry {
    /// The WebAssembly sandbox of this registry: loading, unloading and configuring modules,
    /// whose plugins it registers here.
    pub fn wasm(&self) -> modreg_wasm::Sandbox<'_> {
        self.wasm.on(&self.host)
    }

    /// Watches `dir` for WebAssembly plugin modules, loading each new or changed one (see
    /// [`modreg_wasm::WasmWatcher::start`]); stops when the watcher is dropped or the registry
    /// is.
    pub fn watch_wasm_plugins(
        self: &Arc<Self>,
        dir: impl Into<std::path::PathBuf>,
        interval: std::time::Duration,
    ) -> modreg_wasm::WasmWatcher {
        modreg_wasm::WasmWatcher::start(self, dir, interval)
    }
}

#[cfg(feature = "wasm")]
impl AsRef<modreg_wasm::Wasm> for ModuleRegistry {
    fn as_ref(&self) -> &modreg_wasm::Wasm {
        &self.wasm
    }
}

#[cfg(feature = "monitoring")]
impl HealthChecks for ModuleRegistry {
    fn health_checks_enabled(&self) -> bool {
        self.monitoring.health_checks_enabled()
    }

    fn run_health_checks(&self) -> Result<HealthReport, PluginError> {
        ModuleRegistry::run_health_checks(self)
    }
}

/// Refuses to switch on what only a layer this build leaves out can do (its feature is off):
/// the switch would change nothing.
#[cfg(not(all(feature = "security", feature = "monitoring")))]
fn missing_layer(value: Option<bool>, what: &'static str, layer: &str) -> Result<(), PluginError> {
    if value == Some(true) {
        return Err(PluginError::invalid(
            "configuration",
            what,
            format!("this build of modreg has no {layer} layer: enable its feature `{layer}`"),
        ));
    }
    Ok(())
}
