//! What `#[plugin]` and `#[plugin_factory]` register, and what the plugin then reports.

#![deny(warnings)]

use modreg::SettingsFromToml;
use modreg::{
    ModuleRegistry, Plugin, PluginBehavior, PluginError, PluginErrorKind, PluginSettings,
    PluginType, plugin, plugin_factory,
};

/// Every key given.
/// What `full-analyzer` depends on: with both compiled in, the index marks its
/// dependencies met once, and every creation path agrees.
#[plugin(type = Storage, version = "1.2.0")]
#[derive(Default)]
struct ByteSource;

impl PluginBehavior for ByteSource {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

#[plugin(type = Monitoring)]
#[derive(Default)]
struct Clock;

impl PluginBehavior for Clock {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

#[plugin(
    type = Analyzer,
    name = "full-analyzer",
    version = "2.3.4-beta.1",
    capabilities = ["analysis", "statistics"],
    description = "Counts bytes",
    depends_on = ["byte-source >= 1.0", "clock"],
    permissions = ["fs.read"],
    mock_of = "real-analyzer"
)]
#[derive(Default)]
struct FullAnalyzer {
    initialized: bool,
}

impl PluginBehavior for FullAnalyzer {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        if !self.initialized {
            return Err(PluginError::processing("full-analyzer", "not initialized"));
        }
        Ok(data.len().to_string().into_bytes())
    }

    fn initialize(&mut self) -> Result<(), PluginError> {
        self.initialized = true;
        Ok(())
    }

    fn cleanup(&mut self) -> Result<(), PluginError> {
        self.initialized = false;
        Ok(())
    }
}

/// Only the required key: name and version come from the struct and the crate.
#[plugin(type = Custom("telemetry"))]
#[derive(Default)]
struct HTTPTelemetrySink;

impl PluginBehavior for HTTPTelemetrySink {
    fn process(&self, _: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(Vec::new())
    }
}

#[derive(serde::Deserialize)]
struct RepeatConfig {
    #[serde(default = "one")]
    times: usize,
}

fn one() -> usize {
    1
}

#[plugin(type = DataProcessor, config = RepeatConfig)]
struct Repeat {
    times: usize,
}

impl Repeat {
    fn from_config(RepeatConfig { times }: RepeatConfig) -> Result<Self, PluginError> {
        if times == 0 {
            return Err(PluginError::from(PluginErrorKind::Configuration {
                plugin: "repeat".into(),
                reason: "key `times` must be at least 1".into(),
            }));
        }
        Ok(Repeat { times })
    }
}

impl PluginBehavior for Repeat {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.repeat(self.times))
    }
}

#[plugin_factory(name = "greeter-factory", type = DataProcessor, variants = ["hello", "bye"])]
fn make_greeter(variant: &str) -> Result<Box<dyn Plugin>, PluginError> {
    let registry = ModuleRegistry::new();
    registry.create_plugin(if variant == "hello" {
        "repeat"
    } else {
        "full-analyzer"
    })
}

#[test]
fn a_plugin_reports_exactly_its_table_entry() {
    let registry = ModuleRegistry::new();
    let mut plugin = registry.create_plugin("full-analyzer").unwrap();
    let entry = plugin
        .descriptor()
        .expect("generated plugins know their entry");
    assert_eq!(plugin.name(), entry.name());
    assert_eq!(plugin.version(), "2.3.4-beta.1");
    assert_eq!(plugin.plugin_type(), PluginType::Analyzer);
    assert_eq!(plugin.capabilities(), ["analysis", "statistics"]);
    assert_eq!(entry.description(), "Counts bytes");
    assert_eq!(entry.depends_on(), ["byte-source >= 1.0", "clock"]);
    assert_eq!(entry.permissions(), ["fs.read"]);
    assert_eq!(entry.mock_of(), Some("real-analyzer"));
    assert_eq!(entry.location().crate_name, "modreg");
    assert!(entry.location().file.ends_with("attribute.rs"));

    assert!(plugin.process(b"abc").is_err(), "initialize has not run");
    plugin.initialize().unwrap();
    assert_eq!(plugin.process(b"abc").unwrap(), b"3");
    plugin.cleanup().unwrap();
    assert!(plugin.process(b"abc").is_err());
}

#[test]
fn defaults_come_from_the_struct_and_the_crate() {
    let info = ModuleRegistry::new().plugin("http-telemetry-sink").unwrap();
    assert_eq!(info.version(), env!("CARGO_PKG_VERSION"));
    assert_eq!(info.plugin_type(), PluginType::Custom("telemetry"));
    assert!(info.capabilities().is_empty());
    assert_eq!(HTTPTelemetrySink.name(), "http-telemetry-sink");
}

#[test]
fn config_plugins_are_built_from_their_settings() {
    let registry = ModuleRegistry::new();
    assert_eq!(
        registry
            .create_plugin("repeat")
            .unwrap()
            .process(b"ab")
            .unwrap(),
        b"ab"
    );
    registry
        .registrations()
        .set_plugin_settings("repeat", PluginSettings::from_toml("times = 3").unwrap())
        .unwrap();
    assert_eq!(
        registry
            .create_plugin("repeat")
            .unwrap()
            .process(b"ab")
            .unwrap(),
        b"ababab"
    );
    registry
        .registrations()
        .set_plugin_settings(
            "repeat",
            PluginSettings::from_toml("times = \"x\"").unwrap(),
        )
        .unwrap();
    let err = registry.create_plugin("repeat").err().unwrap();
    assert!(
        matches!(err.kind(), PluginErrorKind::Configuration { plugin, .. } if plugin == "repeat"),
        "{err}"
    );
    registry
        .registrations()
        .set_plugin_settings("repeat", PluginSettings::from_toml("times = 0").unwrap())
        .unwrap();
    assert!(
        registry
            .create_plugin("repeat")
            .err()
            .unwrap()
            .to_string()
            .contains("at least 1")
    );
}

#[test]
fn factories_create_by_variant_and_list_what_they_know() {
    let registry = ModuleRegistry::new();
    let made = registry
        .create_plugin_from_factory("greeter-factory", "hello")
        .unwrap();
    assert_eq!(made.name(), "repeat");
    match registry
        .create_plugin_from_factory("greeter-factory", "hola")
        .as_ref()
        .map_err(PluginError::kind)
    {
        Err(PluginErrorKind::UnknownVariant { known, .. }) => assert_eq!(*known, ["hello", "bye"]),
        other => panic!("{:?}", other.map(|p| p.name().to_owned())),
    }
    match registry
        .create_plugin_from_factory("no-factory", "hello")
        .as_ref()
        .map_err(PluginError::kind)
    {
        Err(PluginErrorKind::FactoryNotFound { known, .. }) => {
            assert!(known.contains(&"greeter-factory".to_owned()));
        }
        other => panic!("{:?}", other.map(|p| p.name().to_owned())),
    }
    let factory = registry.index().factory("greeter-factory").unwrap();
    assert_eq!(factory.method(), "make_greeter");
}
