//! Every switch of the plugin system changes what the registry does (docs/configuration.md
//! names the test of each).

#[path = "support/handmade.rs"]
#[macro_use]
mod handmade;

mod common;

use common::logs;

use modreg::{
    AdvancedPluginConfiguration, ConfigFile, EnvironmentPluginConfiguration, ModuleRegistry,
    PluginBehavior, PluginCapabilityQuery, PluginConfig, PluginConfiguration, PluginError,
    PluginErrorKind, PluginType, plugin,
};

#[plugin(type = Storage, capabilities = ["kv"], version = "1.0.0", permissions = ["fs.write"])]
#[derive(Default)]
struct RealStore;

impl PluginBehavior for RealStore {
    fn process(&self, _: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(b"real".to_vec())
    }
}

#[plugin(type = Storage, capabilities = ["kv"], version = "1.0.0", mock_of = "real-store")]
#[derive(Default)]
struct MockStore;

impl PluginBehavior for MockStore {
    fn process(&self, _: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(b"mock".to_vec())
    }
}

#[plugin(type = Analyzer, version = "1.0.0")]
#[derive(Default)]
struct Panicky;

impl PluginBehavior for Panicky {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        assert!(!data.is_empty(), "empty input");
        Ok(data.to_vec())
    }
}

/// A hand-written plugin that reports a name of its choosing.
struct Liar;

handmade_plugin!(Liar, |_this| "someone-else", Storage);

fn run(registry: &ModuleRegistry, name: &str) -> Vec<u8> {
    registry.create_plugin(name).unwrap().process(b"x").unwrap()
}

#[test]
fn plugin_loading_off_refuses_every_creation() {
    let registry = ModuleRegistry::new();
    registry
        .configure_plugin_system(PluginConfiguration::new().with_plugin_loading(false))
        .unwrap();
    let err = registry.create_plugin("real-store").err().unwrap();
    assert!(
        matches!(
            err.kind(),
            PluginErrorKind::Disabled {
                what: "plugin loading",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        registry.plugin("real-store").is_some(),
        "discovery still works"
    );
    registry
        .configure_plugin_system(PluginConfiguration::new().with_plugin_loading(true))
        .unwrap();
    assert_eq!(run(&registry, "real-store"), b"real");
}

#[test]
fn plugin_validation_checks_what_an_instance_reports() {
    let registry = ModuleRegistry::new();
    registry
        .register_plugin(
            PluginConfig::new()
                .with_name("honest-name")
                .with_version("1.0.0")
                .with_type(PluginType::Storage)
                .with_constructor(|_| Ok(Box::new(Liar))),
        )
        .unwrap();
    let err = registry.create_plugin("honest-name").err().unwrap();
    assert!(
        matches!(err.kind(), PluginErrorKind::Mismatch { field: "name", .. }),
        "{err}"
    );
    registry
        .configure_plugin_system(PluginConfiguration::new().with_plugin_validation(false))
        .unwrap();
    assert_eq!(
        registry.create_plugin("honest-name").unwrap().name(),
        "someone-else"
    );
}

#[test]
fn plugin_monitoring_counts_calls_errors_and_panics() {
    let registry = ModuleRegistry::new();
    registry
        .create_plugin("panicky")
        .unwrap()
        .process(b"a")
        .unwrap();
    assert!(
        registry.plugin_metrics("panicky").is_none(),
        "off by default"
    );
    registry
        .configure_plugin_system(PluginConfiguration::new().with_plugin_monitoring(true))
        .unwrap();
    let plugin = registry.create_plugin("panicky").unwrap();
    plugin.process(b"abc").unwrap();
    let err = plugin.process(b"").unwrap_err();
    assert!(
        matches!(err.kind(), PluginErrorKind::Panicked { .. }),
        "{err}"
    );
    let err = plugin.process(b"de").unwrap_err();
    assert!(
        matches!(err.kind(), PluginErrorKind::Failed { .. }),
        "a panicked instance is failed: {err}"
    );
    let fresh = registry.create_plugin("panicky").unwrap();
    assert_eq!(
        fresh.process(b"fg").unwrap(),
        b"fg",
        "other instances keep working"
    );
    let metrics = registry.plugin_metrics("panicky").unwrap();
    assert_eq!((metrics.calls, metrics.errors, metrics.panics), (4, 2, 1));
    assert_eq!((metrics.bytes_in, metrics.bytes_out), (7, 5));
    assert!(
        metrics.latency_buckets.is_empty(),
        "latency needs plugin_performance"
    );
}

#[test]
fn plugin_performance_records_latency() {
    let registry = ModuleRegistry::new();
    registry
        .configure_advanced_plugin_system(
            AdvancedPluginConfiguration::new()
                .with_plugin_monitoring(true)
                .with_plugin_performance(true),
        )
        .unwrap();
    let plugin = registry.create_plugin("real-store").unwrap();
    for _ in 0..10 {
        plugin.process(b"x").unwrap();
    }
    let metrics = registry.plugin_metrics("real-store").unwrap();
    assert_eq!(metrics.latency_buckets.iter().sum::<u64>(), 10);
    assert!(metrics.latency_quantile(0.99).is_some());
}

#[test]
fn plugin_security_requires_granted_permissions() {
    let registry = ModuleRegistry::new();
    assert_eq!(run(&registry, "real-store"), b"real", "off by default");
    registry
        .configure_advanced_plugin_system(
            AdvancedPluginConfiguration::new().with_plugin_security(true),
        )
        .unwrap();
    let err = registry.create_plugin("real-store").err().unwrap();
    assert!(
        matches!(err.kind(), PluginErrorKind::PermissionDenied { plugin, permission } if plugin == "real-store" && permission == "fs.write"),
        "{err}"
    );
    registry.grant_permissions(["fs.write"]).unwrap();
    assert_eq!(run(&registry, "real-store"), b"real");
    assert!(registry.grant_permissions(["Not Valid"]).is_err());
}

#[test]
fn plugin_caching_answers_repeated_queries_and_forgets_on_change() {
    let registry = ModuleRegistry::new();
    let query = || PluginCapabilityQuery::new().with_required_capabilities(["kv"]);
    registry.discover_plugins_by_capabilities(query()).unwrap();
    assert_eq!(registry.catalog().cache_stats().hits, 0, "off by default");
    registry
        .configure_advanced_plugin_system(
            AdvancedPluginConfiguration::new().with_plugin_caching(true),
        )
        .unwrap();
    let first = registry.discover_plugins_by_capabilities(query()).unwrap();
    let second = registry.discover_plugins_by_capabilities(query()).unwrap();
    assert_eq!(first.len(), second.len());
    assert_eq!(registry.catalog().cache_stats().hits, 1);
    registry
        .register_plugin(
            PluginConfig::new()
                .with_name("late-kv")
                .with_version("1.0.0")
                .with_type(PluginType::Storage)
                .add_capability("kv"),
        )
        .unwrap();
    let third = registry.discover_plugins_by_capabilities(query()).unwrap();
    assert_eq!(third.len(), first.len() + 1, "a change empties the cache");
}

#[test]
fn instance_sharing_keeps_one_instance_until_a_change() {
    let registry = ModuleRegistry::new();
    let same = |r: &ModuleRegistry| {
        let a = r.instances().shared_plugin("real-store").unwrap();
        let b = r.instances().shared_plugin("real-store").unwrap();
        std::sync::Arc::ptr_eq(&a, &b)
    };
    assert!(!same(&registry), "off by default: a new instance per call");
    registry
        .configure_advanced_plugin_system(
            AdvancedPluginConfiguration::new().with_plugin_caching(true),
        )
        .unwrap();
    assert!(
        !same(&registry),
        "discovery caching does not share instances"
    );
    registry
        .configure_advanced_plugin_system(
            AdvancedPluginConfiguration::new().with_instance_sharing(true),
        )
        .unwrap();
    let kept = registry.instances().shared_plugin("real-store").unwrap();
    assert!(same(&registry));
    assert!(std::sync::Arc::ptr_eq(
        &kept,
        &registry.instances().shared_plugin("real-store").unwrap()
    ));
    registry
        .registrations()
        .unregister_plugin("mock-store")
        .unwrap();
    let after = registry.instances().shared_plugin("real-store").unwrap();
    assert!(
        !std::sync::Arc::ptr_eq(&kept, &after),
        "a change drops the kept instance"
    );
    let query = || PluginCapabilityQuery::new().with_required_capabilities(["kv"]);
    registry
        .configure_advanced_plugin_system(
            AdvancedPluginConfiguration::new().with_plugin_caching(false),
        )
        .unwrap();
    registry.discover_plugins_by_capabilities(query()).unwrap();
    registry.discover_plugins_by_capabilities(query()).unwrap();
    assert_eq!(
        registry.catalog().cache_stats().hits,
        0,
        "instance sharing does not cache discovery"
    );
}

#[test]
fn mock_plugins_stand_in_only_where_the_environment_asks() {
    let registry = ModuleRegistry::new();
    registry
        .configure_environment_plugin_system(
            "development",
            EnvironmentPluginConfiguration::new()
                .with_environment("development")
                .with_mock_plugins(true),
        )
        .unwrap();
    registry
        .configure_environment_plugin_system(
            "production",
            EnvironmentPluginConfiguration::new()
                .with_environment("production")
                .with_real_plugins(true),
        )
        .unwrap();
    assert_eq!(
        run(&registry, "real-store"),
        b"real",
        "no environment active"
    );
    registry
        .configuration()
        .set_environment("development")
        .unwrap();
    assert_eq!(run(&registry, "real-store"), b"mock");
    registry
        .configuration()
        .set_environment("production")
        .unwrap();
    assert_eq!(run(&registry, "real-store"), b"real");
    let err = registry
        .configure_environment_plugin_system(
            "staging",
            EnvironmentPluginConfiguration::new().with_environment("production"),
        )
        .unwrap_err();
    assert!(err.to_string().contains("staging"), "{err}");
}

#[test]
fn configuration_files_set_environments_and_their_settings() {
    let registry = ModuleRegistry::new();
    let text = "environment = \"development\"\n[environments.development]\nmock_plugins = true\n";
    registry
        .configuration()
        .apply_config_file(
            "inline.toml",
            ConfigFile::parse("inline.toml", text).unwrap(),
        )
        .unwrap();
    assert_eq!(
        registry.configuration().environment().as_deref(),
        Some("development")
    );
    assert_eq!(run(&registry, "real-store"), b"mock");

    let bad = "[environments.development.plugins.no-such-plugin]\nx = 1\n";
    let err = registry
        .configuration()
        .apply_config_file("bad.toml", ConfigFile::parse("bad.toml", bad).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("no-such-plugin") && err.to_string().contains("bad.toml"));
    assert_eq!(
        run(&registry, "real-store"),
        b"mock",
        "a refused file changes nothing"
    );
}

#[test]
fn debug_mode_and_verbose_logging_emit_events() {
    let registry = ModuleRegistry::new();
    let quiet = logs(|| {
        run(&registry, "real-store");
    });
    assert!(!quiet.contains("create_plugin"), "{quiet}");

    registry
        .configure_environment_plugin_system(
            "development",
            EnvironmentPluginConfiguration::new()
                .with_debug_mode(true)
                .with_verbose_logging(true),
        )
        .unwrap();
    registry
        .configuration()
        .set_environment("development")
        .unwrap();
    let loud = logs(|| {
        run(&registry, "real-store");
    });
    assert!(
        loud.contains("DEBUG") && loud.contains("create_plugin"),
        "{loud}"
    );
    assert!(
        loud.contains("INFO") && loud.contains("process 1 bytes in, 4 bytes out"),
        "{loud}"
    );
}
