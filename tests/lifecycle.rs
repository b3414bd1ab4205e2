//! `PluginManager`: dependency order, cleanup on failure, refused transitions.

use std::sync::{Arc, Mutex};

use modreg::{
    AdvancedPluginConfig, LifecycleState, ModuleRegistry, Plugin, PluginError, PluginErrorKind,
    PluginManager, PluginType,
};

type Log = Arc<Mutex<Vec<String>>>;

/// A plugin that writes its calls to a shared log, and fails to initialize if told to.
struct Recorder {
    name: String,
    version: String,
    log: Log,
    fail: bool,
}

impl Plugin for Recorder {
    fn name(&self) -> &str {
        &self.name
    }
    fn version(&self) -> &str {
        &self.version
    }
    fn plugin_type(&self) -> PluginType {
        PluginType::Storage
    }
    fn capabilities(&self) -> &[String] {
        &[]
    }
    fn initialize(&mut self) -> Result<(), PluginError> {
        if self.fail {
            return Err(PluginError::processing(&self.name, "cannot start"));
        }
        self.log.lock().unwrap().push(format!("init {}", self.name));
        Ok(())
    }
    fn cleanup(&mut self) -> Result<(), PluginError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("cleanup {}", self.name));
        Ok(())
    }
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

fn register(
    registry: &ModuleRegistry,
    log: &Log,
    name: &str,
    version: &str,
    deps: &[&str],
    fail: bool,
) {
    let mut config = AdvancedPluginConfig::new()
        .with_name(name)
        .with_version(version)
        .with_type(PluginType::Storage);
    for dep in deps {
        config = config.add_dependency(*dep);
    }
    let (name, version, log) = (name.to_owned(), version.to_owned(), log.clone());
    config = config.with_constructor(move |_| {
        Ok(Box::new(Recorder {
            name: name.clone(),
            version: version.clone(),
            log: log.clone(),
            fail,
        }))
    });
    registry.register_advanced_plugin(config).unwrap();
}

#[test]
fn initializes_in_dependency_order_and_cleans_up_in_reverse() {
    let (registry, log) = (ModuleRegistry::new(), Log::default());
    register(&registry, &log, "lc-log", "1.4.0", &[], false);
    register(&registry, &log, "lc-db", "2.0.0", &["lc-log >= 1.2"], false);
    register(
        &registry,
        &log,
        "lc-app",
        "1.0.0",
        &["lc-db ^2", "lc-log"],
        false,
    );
    let mut manager = PluginManager::new(&registry);
    manager.load(["lc-app"]).unwrap();
    assert_eq!(manager.order(), ["lc-log", "lc-db", "lc-app"]);
    manager.initialize_all().unwrap();
    manager.start_all().unwrap();
    assert_eq!(manager.process("lc-app", b"x").unwrap(), b"x");
    manager.cleanup_all().unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        [
            "init lc-log",
            "init lc-db",
            "init lc-app",
            "cleanup lc-app",
            "cleanup lc-db",
            "cleanup lc-log"
        ]
    );
}

#[test]
fn a_failed_initialize_cleans_up_the_initialized_in_reverse() {
    let (registry, log) = (ModuleRegistry::new(), Log::default());
    register(&registry, &log, "f-base", "1.0.0", &[], false);
    register(&registry, &log, "f-mid", "1.0.0", &["f-base"], false);
    register(&registry, &log, "f-top", "1.0.0", &["f-mid"], true);
    let mut manager = PluginManager::new(&registry);
    manager.load(["f-top"]).unwrap();
    let err = manager.initialize_all().unwrap_err();
    assert!(err.to_string().contains("f-top"), "{err}");
    assert_eq!(
        *log.lock().unwrap(),
        [
            "init f-base",
            "init f-mid",
            "cleanup f-mid",
            "cleanup f-base"
        ]
    );
    assert_eq!(manager.state("f-top"), Some(LifecycleState::Failed));
    assert_eq!(manager.state("f-base"), Some(LifecycleState::Stopped));
}

#[test]
fn missing_incompatible_and_circular_dependencies_name_both_sides() {
    let (registry, log) = (ModuleRegistry::new(), Log::default());
    register(
        &registry,
        &log,
        "m-needs-ghost",
        "1.0.0",
        &["m-ghost"],
        false,
    );
    let err = PluginManager::new(&registry)
        .load(["m-needs-ghost"])
        .unwrap_err();
    assert!(
        matches!(err.kind(), PluginErrorKind::MissingDependency { plugin, dependency } if plugin == "m-needs-ghost" && dependency == "m-ghost"),
        "{err}"
    );

    register(&registry, &log, "m-old", "1.0.0", &[], false);
    register(
        &registry,
        &log,
        "m-needs-new",
        "1.0.0",
        &["m-old >= 2.0"],
        false,
    );
    let err = PluginManager::new(&registry)
        .load(["m-needs-new"])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `m-needs-new` requires `m-old >= 2.0`, but `m-old` is version 1.0.0"
    );

    // A cycle made at run time is refused when it would close.
    register(&registry, &log, "c-a", "1.0.0", &["c-b"], false);
    let closing = AdvancedPluginConfig::new()
        .with_name("c-b")
        .with_version("1.0.0")
        .with_type(PluginType::Storage)
        .add_dependency("c-a");
    let err = registry.register_advanced_plugin(closing).unwrap_err();
    assert_eq!(err.to_string(), "dependency cycle: c-b -> c-a -> c-b");

    // One compiled into the binary is found by the manager, which loads nothing.
    let mut manager = PluginManager::new(&registry);
    let err = manager.load(["cycle-one"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dependency cycle: cycle-one -> cycle-two -> cycle-one"
    );
    assert!(manager.order().is_empty(), "nothing is loaded");
}

#[modreg::plugin(type = Storage, depends_on = ["cycle-two"])]
#[derive(Default)]
struct CycleOne;

#[modreg::plugin(type = Storage, depends_on = ["cycle-one"])]
#[derive(Default)]
struct CycleTwo;

impl modreg::PluginBehavior for CycleOne {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

impl modreg::PluginBehavior for CycleTwo {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

#[test]
fn invalid_transitions_are_refused() {
    let (registry, log) = (ModuleRegistry::new(), Log::default());
    register(&registry, &log, "t-one", "1.0.0", &[], false);
    let mut manager = PluginManager::new(&registry);
    manager.load(["t-one"]).unwrap();
    let err = manager.start("t-one").unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `t-one` cannot go from registered to running"
    );
    assert!(manager.process("t-one", b"x").is_err(), "not running");
    assert!(manager.stop("t-one").is_err());
    manager.initialize("t-one").unwrap();
    assert!(manager.initialize("t-one").is_err(), "already initialized");
    manager.start("t-one").unwrap();
    manager.stop("t-one").unwrap();
    assert_eq!(manager.state("t-one"), Some(LifecycleState::Stopped));
    manager.initialize("t-one").unwrap();
    assert_eq!(manager.state("t-one"), Some(LifecycleState::Initialized));
}

#[test]
fn unregistered_dependencies_fail_creation_not_registration() {
    let (registry, log) = (ModuleRegistry::new(), Log::default());
    register(
        &registry,
        &log,
        "late-user",
        "1.0.0",
        &["late-base >= 1.0"],
        false,
    );
    let err = registry.create_plugin("late-user").err().unwrap();
    assert!(
        matches!(err.kind(), PluginErrorKind::MissingDependency { plugin, dependency } if plugin == "late-user" && dependency == "late-base"),
        "{err}"
    );
    register(&registry, &log, "late-base", "1.1.0", &[], false);
    registry.create_plugin("late-user").unwrap();
}
