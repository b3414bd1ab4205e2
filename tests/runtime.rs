//! Runtime registration, factories and advanced instantiation.

#![expect(
    clippy::unnecessary_wraps,
    reason = "constructors and factories return Result by contract, even when they cannot fail"
)]

use std::sync::{Arc, Mutex};

use modreg::{
    AdvancedPlugin, AdvancedPluginConfig, AdvancedPluginInstantiationConfig, ModuleRegistry,
    Plugin, PluginBehavior, PluginCapabilityQuery, PluginConfig, PluginConfiguration,
    PluginContext, PluginDiscoveryQuery, PluginError, PluginErrorKind, PluginFactoryConfig,
    PluginMetrics, PluginOrigin, PluginState, PluginType, plugin, plugin_factory,
};

#[derive(serde::Deserialize)]
struct PrefixConfig {
    #[serde(default)]
    prefix: String,
}

#[plugin(type = DataProcessor, version = "1.0.0", capabilities = ["text"], config = PrefixConfig)]
struct Prefixer {
    prefix: String,
}

impl Prefixer {
    fn from_config(PrefixConfig { prefix }: PrefixConfig) -> Result<Self, PluginError> {
        Ok(Prefixer { prefix })
    }
}

impl PluginBehavior for Prefixer {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok([self.prefix.as_bytes(), data].concat())
    }
}

#[plugin_factory(name = "prefix-factory", type = DataProcessor, variants = ["empty"], interface = "Prefixer")]
fn make_prefixer(_: &str) -> Result<Box<dyn Plugin>, PluginError> {
    Ok(Box::new(Prefixer {
        prefix: String::new(),
    }))
}

fn config(name: &str) -> PluginConfig {
    PluginConfig::new()
        .with_name(name)
        .with_version("1.0.0")
        .with_type(PluginType::Storage)
}

#[test]
fn runtime_entries_are_found_by_every_query() {
    let registry = ModuleRegistry::new();
    registry
        .register_plugin(config("rt-kv").add_capability("kv").add_capability("fast"))
        .unwrap();
    assert_eq!(
        registry.plugin("rt-kv").unwrap().origin(),
        PluginOrigin::Runtime
    );
    let by_type = registry
        .discover_plugins(PluginDiscoveryQuery::new().with_type_filter(PluginType::Storage))
        .unwrap();
    assert!(by_type.iter().any(|p| p.name() == "rt-kv"));
    let by_prefix = registry
        .discover_plugins(PluginDiscoveryQuery::new().with_name_prefix("rt-"))
        .unwrap();
    assert_eq!(by_prefix.len(), 1);
    let by_caps = registry
        .discover_plugins_by_capabilities(
            PluginCapabilityQuery::new().with_required_capabilities(["kv", "fast"]),
        )
        .unwrap();
    assert_eq!(by_caps.len(), 1);
}

#[test]
fn names_are_unique_unless_replaced() {
    let registry = ModuleRegistry::new();
    registry.register_plugin(config("rt-once")).unwrap();
    let err = registry.register_plugin(config("rt-once")).unwrap_err();
    assert!(
        matches!(err.kind(), PluginErrorKind::AlreadyRegistered { .. }),
        "{err}"
    );
    registry
        .registrations()
        .replace_plugin(config("rt-once").with_version("2.0.0"))
        .unwrap();
    assert_eq!(registry.plugin("rt-once").unwrap().version(), "2.0.0");
    registry
        .registrations()
        .unregister_plugin("rt-once")
        .unwrap();
    assert!(registry.plugin("rt-once").is_none());
    assert!(matches!(
        registry
            .registrations()
            .unregister_plugin("rt-once")
            .as_ref()
            .map_err(PluginError::kind),
        Err(PluginErrorKind::NotFound { .. })
    ));
}

#[test]
fn a_refused_registration_leaves_the_registry_unchanged() {
    let registry = ModuleRegistry::new();
    let before = registry.plugins().len();
    for bad in [
        PluginConfig::new()
            .with_version("1.0.0")
            .with_type(PluginType::Storage),
        config("Bad Name"),
        config("ok-name").with_version("one"),
        config("ok-name")
            .add_capability("dup")
            .add_capability("dup"),
        config("ok-name").add_capability(""),
        config("ok-name").with_metadata("Bad Key", "x"),
        PluginConfig::new()
            .with_name("no-type")
            .with_version("1.0.0"),
    ] {
        assert!(registry.register_plugin(bad).is_err());
    }
    let bad_dependency = AdvancedPluginConfig::new()
        .with_name("ok-name")
        .with_version("1.0.0")
        .with_type(PluginType::Storage)
        .add_dependency("base >= one");
    assert!(matches!(
        registry
            .register_advanced_plugin(bad_dependency)
            .as_ref()
            .map_err(PluginError::kind),
        Err(PluginErrorKind::InvalidDependency { .. })
    ));
    assert_eq!(registry.plugins().len(), before);
}

#[test]
fn compiled_in_plugins_lend_their_implementation_when_type_and_version_agree() {
    let registry = ModuleRegistry::new();
    registry
        .register_plugin(
            PluginConfig::new()
                .with_name("prefixer")
                .with_version("1.0.0")
                .with_type(PluginType::DataProcessor)
                .with_metadata("description", "registered at run time"),
        )
        .unwrap();
    assert_eq!(
        registry.plugin("prefixer").unwrap().description(),
        "registered at run time"
    );
    assert_eq!(
        registry
            .create_plugin("prefixer")
            .unwrap()
            .process(b"x")
            .unwrap(),
        b"x"
    );
    let err = registry
        .registrations()
        .replace_plugin(
            PluginConfig::new()
                .with_name("prefixer")
                .with_version("9.0.0")
                .with_type(PluginType::DataProcessor),
        )
        .unwrap_err();
    assert!(err.to_string().contains("compiled in"), "{err}");
}

#[test]
fn an_entry_without_implementation_says_so() {
    let registry = ModuleRegistry::new();
    registry.register_plugin(config("rt-empty")).unwrap();
    let err = registry.create_plugin("rt-empty").err().unwrap();
    assert!(
        matches!(err.kind(), PluginErrorKind::NoImplementation { name } if name == "rt-empty"),
        "{err}"
    );
}

#[test]
fn factories_register_by_method_and_refuse_unknown_ones() {
    let registry = ModuleRegistry::new();
    registry
        .register_plugin_factory(
            PluginFactoryConfig::new()
                .with_name("my-prefixes")
                .with_type(PluginType::DataProcessor)
                .with_factory_method("make_prefixer")
                .with_factory_interface("Prefixer"),
        )
        .unwrap();
    assert_eq!(
        registry
            .create_plugin_from_factory("my-prefixes", "empty")
            .unwrap()
            .name(),
        "prefixer"
    );
    let err = registry
        .register_plugin_factory(
            PluginFactoryConfig::new()
                .with_name("x")
                .with_factory_method("nope"),
        )
        .unwrap_err();
    assert!(
        matches!(err.kind(), PluginErrorKind::FactoryMethodNotFound { known, .. } if known.contains(&"make_prefixer".to_owned())),
        "{err}"
    );
    let err = registry
        .register_plugin_factory(
            PluginFactoryConfig::new()
                .with_name("y")
                .with_type(PluginType::Storage)
                .with_factory_method("make_prefixer"),
        )
        .unwrap_err();
    assert!(err.to_string().contains("data-processor"), "{err}");
    // The interface named at registration must be the one the function declares.
    let err = registry
        .register_plugin_factory(
            PluginFactoryConfig::new()
                .with_name("z")
                .with_factory_method("make_prefixer")
                .with_factory_interface("SomethingElse"),
        )
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            PluginErrorKind::Invalid {
                field: "factory interface",
                ..
            }
        ) && err.to_string().contains("implements `Prefixer`"),
        "{err}"
    );
    assert!(
        registry
            .catalog()
            .factory_names()
            .contains(&"prefix-factory".to_owned())
    );
}

#[test]
fn advanced_instantiation_hands_over_configuration_and_records_metrics() {
    let registry = ModuleRegistry::new();
    let instance = registry
        .create_advanced_plugin(
            "prefixer",
            AdvancedPluginInstantiationConfig::new()
                .with_configuration(PluginConfiguration::new().with_setting("prefix", "> "))
                .with_monitoring(true)
                .with_validation(true)
                .with_initialization(true),
        )
        .unwrap();
    assert_eq!(instance.process(b"hi").unwrap(), b"> hi");
    instance.process(b"again").unwrap();
    let metrics = instance.metrics().unwrap();
    assert_eq!((metrics.calls, metrics.bytes_in), (2, 7));
    assert_eq!(registry.plugin_metrics("prefixer").unwrap().calls, 2);
}

/// A hand-written advanced plugin that reports the context it was given.
struct Contextual {
    context: PluginContext,
    configuration: PluginConfiguration,
    state: PluginState,
    metrics: PluginMetrics,
    /// What the registry told it through `set_state` and `update_metrics`.
    told: Arc<Mutex<Vec<String>>>,
}

impl Plugin for Contextual {
    fn name(&self) -> &'static str {
        "contextual"
    }
    fn version(&self) -> &'static str {
        "1.0.0"
    }
    fn plugin_type(&self) -> PluginType {
        PluginType::Analyzer
    }
    fn capabilities(&self) -> &[String] {
        &[]
    }
    fn initialize(&mut self) -> Result<(), PluginError> {
        self.context.initialize()?;
        self.configuration.load()?;
        self.state.set_initialized(true);
        Ok(())
    }
    fn cleanup(&mut self) -> Result<(), PluginError> {
        self.context.cleanup()
    }
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let tenant = self.context.value("tenant").unwrap_or("none");
        Ok([tenant.as_bytes(), b":", &self.context.process(data)?].concat())
    }
}

impl AdvancedPlugin for Contextual {
    fn context(&self) -> &PluginContext {
        &self.context
    }
    fn set_context(&mut self, context: PluginContext) {
        self.context = context;
    }
    fn configuration(&self) -> &PluginConfiguration {
        &self.configuration
    }
    fn set_configuration(&mut self, config: PluginConfiguration) {
        self.configuration = config;
    }
    fn state(&self) -> &PluginState {
        &self.state
    }
    fn set_state(&mut self, state: PluginState) {
        self.told
            .lock()
            .unwrap()
            .push(format!("initialized: {}", state.is_initialized()));
        self.state = state;
    }
    fn metrics(&self) -> &PluginMetrics {
        &self.metrics
    }
    fn update_metrics(&mut self, metrics: PluginMetrics) {
        self.told
            .lock()
            .unwrap()
            .push(format!("calls: {}", metrics.calls));
        self.metrics = metrics;
    }
}

#[test]
fn the_context_reaches_an_advanced_plugin() {
    let registry = ModuleRegistry::new();
    let told = Arc::new(Mutex::new(Vec::new()));
    let log = told.clone();
    registry
        .register_advanced_plugin(
            AdvancedPluginConfig::new()
                .with_name("contextual")
                .with_version("1.0.0")
                .with_type(PluginType::Analyzer)
                .add_dependency("prefixer >= 1.0")
                .with_advanced_constructor(move |_| {
                    Ok(Box::new(Contextual {
                        context: PluginContext::new(),
                        configuration: PluginConfiguration::new(),
                        state: PluginState::new(),
                        metrics: PluginMetrics::new(),
                        told: log.clone(),
                    }))
                }),
        )
        .unwrap();
    let instance = registry
        .create_advanced_plugin(
            "contextual",
            AdvancedPluginInstantiationConfig::new()
                .with_context(PluginContext::new().with_value("tenant", "acme"))
                .with_validation(true)
                .with_initialization(true),
        )
        .unwrap();
    assert_eq!(instance.process(b"x").unwrap(), b"acme:x");

    // The registry keeps an advanced plugin's state and, when monitored, its metrics.
    told.lock().unwrap().clear();
    let mut monitored = registry
        .create_advanced_plugin(
            "contextual",
            AdvancedPluginInstantiationConfig::new()
                .with_monitoring(true)
                .with_initialization(true),
        )
        .unwrap();
    monitored.process(b"a").unwrap();
    monitored.process(b"b").unwrap();
    monitored.cleanup().unwrap();
    assert_eq!(
        *told.lock().unwrap(),
        [
            "initialized: false",
            "initialized: true",
            "initialized: false",
            "calls: 2"
        ]
    );

    let uninitialized = registry
        .create_advanced_plugin("contextual", AdvancedPluginInstantiationConfig::new())
        .unwrap();
    assert!(
        uninitialized.process(b"x").is_err(),
        "the context is not initialized"
    );
}

#[test]
fn advanced_validation_checks_dependencies_and_configuration() {
    let registry = ModuleRegistry::new();
    registry
        .register_advanced_plugin(
            AdvancedPluginConfig::new()
                .with_name("needs-missing")
                .with_version("1.0.0")
                .with_type(PluginType::Storage)
                .add_dependency("not-there")
                .with_constructor(|_| unreachable!("validation fails first")),
        )
        .unwrap();
    let err = registry
        .create_advanced_plugin(
            "needs-missing",
            AdvancedPluginInstantiationConfig::new().with_validation(true),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`needs-missing` depends on `not-there`"),
        "{err}"
    );

    let err = registry
        .create_advanced_plugin(
            "prefixer",
            AdvancedPluginInstantiationConfig::new()
                .with_validation(true)
                .with_configuration(PluginConfiguration::new().with_source("/no/such/file.toml")),
        )
        .unwrap_err();
    assert!(err.to_string().contains("/no/such/file.toml"), "{err}");
}

fn depending(name: &str, on: &str) -> AdvancedPluginConfig {
    AdvancedPluginConfig::new()
        .with_name(name)
        .with_version("1.0.0")
        .with_type(PluginType::Storage)
        .add_dependency(on)
}

#[test]
fn circular_dependencies_are_refused_at_registration() {
    let registry = ModuleRegistry::new();
    registry
        .register_advanced_plugin(depending("ring-a", "ring-b"))
        .unwrap();
    registry
        .register_advanced_plugin(depending("ring-b", "ring-c"))
        .unwrap();
    let err = registry
        .register_advanced_plugin(depending("ring-c", "ring-a >= 1.0"))
        .unwrap_err();
    match err.kind() {
        PluginErrorKind::DependencyCycle { cycle } => {
            assert_eq!(*cycle, ["ring-c", "ring-a", "ring-b", "ring-c"]);
        }
        other => panic!("{other}"),
    }
    // The refused registration left nothing behind; a plugin that depends on itself is a
    // cycle too.
    assert!(registry.plugin("ring-c").is_none());
    assert!(matches!(
        registry
            .register_advanced_plugin(depending("narcissus", "narcissus"))
            .as_ref()
            .map_err(PluginError::kind),
        Err(PluginErrorKind::DependencyCycle { .. })
    ));
}

#[test]
fn a_batch_registers_everything_or_nothing() {
    let registry = ModuleRegistry::new();
    let many = (0..20_000).map(|i| config(&format!("bulk-{i:05}")));
    registry.registrations().register_plugins(many).unwrap();
    assert_eq!(
        registry
            .discover_plugins(PluginDiscoveryQuery::new().with_name_prefix("bulk-"))
            .unwrap()
            .len(),
        20_000
    );
    // One by one, on top of 20,000 entries: each is a persistent-map insert.
    for i in 0..2_000 {
        registry
            .register_plugin(config(&format!("single-{i:04}")))
            .unwrap();
    }
    assert!(registry.plugin("single-1999").is_some());

    let before = registry.plugins().len();
    let batch = vec![
        config("fresh-one"),
        config("bulk-00007"), // taken: the whole batch is refused
        config("fresh-two"),
    ];
    assert!(matches!(
        registry.registrations().register_plugins(batch).as_ref().map_err(PluginError::kind),
        Err(PluginErrorKind::AlreadyRegistered { name, .. }) if name == "bulk-00007"
    ));
    let invalid = vec![config("fresh-three"), config("Not Valid")];
    assert!(matches!(
        registry
            .registrations()
            .register_plugins(invalid)
            .as_ref()
            .map_err(PluginError::kind),
        Err(PluginErrorKind::Invalid { .. })
    ));
    assert_eq!(registry.plugins().len(), before);
    assert!(registry.plugin("fresh-one").is_none() && registry.plugin("fresh-three").is_none());
}

/// Settings for a name no plugin has are refused (they would be kept for nothing), and a
/// plugin's settings go with it: a later plugin of the same name starts without them.
#[test]
fn settings_are_refused_for_unknown_names_and_forgotten_with_their_plugin() {
    let registry = ModuleRegistry::new();
    let settings = modreg::PluginSettings::new().with("level", 3);
    let err = registry
        .registrations()
        .set_plugin_settings("ghost", settings.clone())
        .unwrap_err();
    assert!(
        matches!(err.kind(), PluginErrorKind::NotFound { name, .. } if name == "ghost"),
        "{err}"
    );
    // A plugin whose constructor reports the level it was given.
    let reporter = || {
        config("reporter").with_constructor(|settings| {
            Err(PluginError::processing(
                "reporter",
                format!(
                    "level {:?}",
                    settings.get("level").and_then(|v| v.as_integer())
                ),
            ))
        })
    };
    let level = |r: &ModuleRegistry| r.create_plugin("reporter").err().unwrap().to_string();
    registry.register_plugin(reporter()).unwrap();
    registry
        .registrations()
        .set_plugin_settings("reporter", settings.clone())
        .unwrap();
    assert!(level(&registry).contains("Some(3)"), "{}", level(&registry));
    registry
        .registrations()
        .unregister_plugin("reporter")
        .unwrap();
    registry.register_plugin(reporter()).unwrap();
    assert!(level(&registry).contains("None"), "{}", level(&registry));
    // A source's plugin (a module's) withdrawn with its source.
    registry
        .registrations()
        .unregister_plugin("reporter")
        .unwrap();
    registry
        .registrations()
        .register_batch("reporter.wasm", vec![reporter().into()], Vec::new(), None)
        .unwrap();
    registry
        .registrations()
        .set_plugin_settings("reporter", settings)
        .unwrap();
    assert_eq!(
        registry
            .registrations()
            .withdraw("reporter.wasm", None)
            .unwrap(),
        ["reporter"]
    );
    registry.register_plugin(reporter()).unwrap();
    assert!(level(&registry).contains("None"), "{}", level(&registry));
}

/// Any sequence of registrations (one or a batch), replacements and removals at run time
/// leaves the registry as a model (a map from name to entry) says: a registration of a name
/// present fails and changes nothing, a batch is all or none, a removal of a name absent is
/// `NotFound`; and every query (by name, type, prefix, capabilities) answers what a filter
/// over the model answers. On a default registry and on one whose layers are switched on
/// (security's secure loading and validation, monitoring's metrics and logging): they hear
/// every change and refuse none of these.
mod runtime_entries_follow_a_model {
    use std::collections::BTreeMap;

    use modreg::{
        ModuleRegistry, PluginCapabilityQuery, PluginConfig, PluginDiscoveryQuery, PluginError,
        PluginErrorKind, PluginInfo, PluginMonitoringConfig, PluginSecurityConfig, PluginType,
    };
    use proptest::prelude::*;

    const TYPES: [PluginType; 3] = [
        PluginType::Storage,
        PluginType::Analyzer,
        PluginType::DataProcessor,
    ];
    const CAPABILITIES: [&str; 4] = ["a", "b", "c", "d"];

    /// An entry: its type, capability bits and version.
    type Entry = (usize, u8, u8);

    #[derive(Clone, Debug)]
    enum Op {
        Register(u8, Entry),
        Batch(Vec<(u8, Entry)>),
        Replace(u8, Entry),
        Unregister(u8),
    }

    fn name(n: u8) -> String {
        format!("model-{n}")
    }

    /// The capabilities whose bits are set in `bits`, in order.
    fn capabilities(bits: u8) -> Vec<&'static str> {
        CAPABILITIES
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, c)| *c)
            .collect()
    }

    fn config(n: u8, (ty, caps, version): Entry) -> PluginConfig {
        capabilities(caps).into_iter().fold(
            PluginConfig::new()
                .with_name(name(n))
                .with_version(format!("1.{version}.0"))
                .with_type(TYPES[ty]),
            PluginConfig::add_capability,
        )
    }

    fn entry() -> impl Strategy<Value = Entry> {
        (0..TYPES.len(), 0u8..16, 0u8..3)
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u8..6, entry()).prop_map(|(n, e)| Op::Register(n, e)),
            1 => proptest::collection::vec((0u8..6, entry()), 0..4).prop_map(Op::Batch),
            1 => (0u8..6, entry()).prop_map(|(n, e)| Op::Replace(n, e)),
            2 => (0u8..6).prop_map(Op::Unregister),
        ]
    }

    fn sorted(found: &[PluginInfo]) -> Vec<String> {
        let mut names: Vec<String> = found
            .iter()
            .map(|p| p.name().to_owned())
            .filter(|n| n.starts_with("model-"))
            .collect();
        names.sort();
        names
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_sequence_of_changes(
            ops in proptest::collection::vec(op(), 1..40),
            configured in any::<bool>(),
        ) {
            let registry = ModuleRegistry::new();
            if configured {
                registry
                    .configure_plugin_security(
                        PluginSecurityConfig::new()
                            .with_secure_plugin_loading(true)
                            .with_plugin_validation(true),
                    )
                    .unwrap();
                registry
                    .configure_plugin_monitoring(
                        PluginMonitoringConfig::new()
                            .with_plugin_metrics(true)
                            .with_plugin_logging(true),
                    )
                    .unwrap();
            }
            let mut model: BTreeMap<String, Entry> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Register(n, e) => {
                        let outcome = registry.register_plugin(config(n, e));
                        let taken = model.contains_key(&name(n));
                        match outcome.map_err(PluginError::into_kind) {
                            Ok(()) => {
                                prop_assert!(!taken);
                                model.insert(name(n), e);
                            }
                            Err(PluginErrorKind::AlreadyRegistered { .. }) => prop_assert!(taken),
                            Err(other) => prop_assert!(false, "register: {other:?}"),
                        }
                    }
                    Op::Batch(batch) => {
                        let outcome = registry
                            .registrations()
                            .register_plugins(batch.iter().map(|&(n, e)| config(n, e)));
                        let mut names: Vec<String> = batch.iter().map(|&(n, _)| name(n)).collect();
                        let fits = names.iter().all(|n| !model.contains_key(n)) && {
                            names.sort();
                            names.windows(2).all(|w| w[0] != w[1])
                        };
                        prop_assert_eq!(outcome.is_ok(), fits, "{:?}", outcome);
                        if fits {
                            for (n, e) in batch {
                                model.insert(name(n), e);
                            }
                        }
                    }
                    Op::Replace(n, e) => {
                        registry.registrations().replace_plugin(config(n, e)).unwrap();
                        model.insert(name(n), e);
                    }
                    Op::Unregister(n) => {
                        let outcome = registry.registrations().unregister_plugin(&name(n));
                        match outcome.map_err(PluginError::into_kind) {
                            Ok(()) => prop_assert!(model.remove(&name(n)).is_some()),
                            Err(PluginErrorKind::NotFound { .. }) => {
                                prop_assert!(!model.contains_key(&name(n)));
                            }
                            Err(other) => prop_assert!(false, "unregister: {other:?}"),
                        }
                    }
                }
                // Every query answers what a filter over the model answers.
                for n in 0u8..6 {
                    let found = registry.plugin(&name(n));
                    match model.get(&name(n)) {
                        Some(&(ty, caps, version)) => {
                            let found = found.expect("registered");
                            prop_assert_eq!(found.plugin_type(), TYPES[ty]);
                            prop_assert_eq!(found.version(), format!("1.{version}.0"));
                            let mut found = found.capabilities();
                            found.sort_unstable();
                            prop_assert_eq!(found, capabilities(caps));
                        }
                        None => prop_assert!(found.is_none()),
                    }
                }
                let all = registry
                    .discover_plugins(PluginDiscoveryQuery::new().with_name_prefix("model-"))
                    .unwrap();
                prop_assert_eq!(sorted(&all), model.keys().cloned().collect::<Vec<_>>());
                for (t, ty) in TYPES.iter().enumerate() {
                    let found = registry
                        .discover_plugins(PluginDiscoveryQuery::new().with_type_filter(*ty))
                        .unwrap();
                    let expected: Vec<String> =
                        model.iter().filter(|(_, e)| e.0 == t).map(|(n, _)| n.clone()).collect();
                    prop_assert_eq!(sorted(&found), expected);
                }
                for required in [0b0001u8, 0b0011, 0b1010] {
                    let found = registry
                        .discover_plugins_by_capabilities(
                            PluginCapabilityQuery::new()
                                .with_required_capabilities(capabilities(required)),
                        )
                        .unwrap();
                    let expected: Vec<String> = model
                        .iter()
                        .filter(|(_, e)| e.1 & required == required)
                        .map(|(n, _)| n.clone())
                        .collect();
                    prop_assert_eq!(sorted(&found), expected);
                }
            }
        }
    }
}
