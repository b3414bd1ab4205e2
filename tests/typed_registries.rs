//! A host treats the registries of users' traits it is given as its own: a configuration
//! file's section, `set_plugin_settings` and `check()` reach their plugins; a typo is refused
//! with the closest name of any registry; settings reach `create_from` and the host's fan-out.

use modreg::{
    ConfigFile, ModuleRegistry, PluginConfiguration, PluginError, PluginErrorKind, PluginSettings,
    plugin, registry,
};

pub trait Greeter: Send + Sync {
    fn greet(&self, who: &str) -> String;
}

registry!(pub GREETERS: dyn Greeter);

#[derive(serde::Deserialize)]
struct FormalConfig {
    title: String,
}

#[plugin(registry = GREETERS, config = FormalConfig)]
struct Formal {
    title: String,
}

impl Formal {
    fn from_config(config: FormalConfig) -> Result<Self, PluginError> {
        Ok(Formal {
            title: config.title,
        })
    }
}

impl Greeter for Formal {
    fn greet(&self, who: &str) -> String {
        format!("Good day, {} {who}.", self.title)
    }
}

pub trait Hook: Send + Sync {}

registry!(pub HOOKS: dyn Hook);

#[plugin(registry = HOOKS, name = "twice")]
#[derive(Default)]
struct TwiceA;
impl Hook for TwiceA {}

#[plugin(registry = HOOKS, name = "twice")]
#[derive(Default)]
struct TwiceB;
impl Hook for TwiceB {}

#[test]
fn a_given_registry_is_configured_and_checked_like_the_hosts_own() {
    let host = ModuleRegistry::new();
    let section = "[plugins.formal]\ntitle = \"Dr\"\n";

    // Not given yet: the host does not know the name.
    let refused = host
        .configuration()
        .apply_config_file("app.toml", ConfigFile::parse("app.toml", section).unwrap())
        .unwrap_err();
    assert!(
        refused.to_string().contains("[plugins.formal]"),
        "{refused}"
    );
    host.catalog().check().unwrap();

    host.registrations().add_registry(&GREETERS);
    host.registrations().add_registry(&GREETERS);
    host.configuration()
        .apply_config_file("app.toml", ConfigFile::parse("app.toml", section).unwrap())
        .unwrap();
    let formal = host.instances().create_from(&GREETERS, "formal").unwrap();
    assert_eq!(formal.greet("Ada"), "Good day, Dr Ada.");

    host.registrations()
        .set_plugin_settings("formal", PluginSettings::new().with("title", "Prof"))
        .unwrap();
    let formal = host.instances().create_from(&GREETERS, "formal").unwrap();
    assert_eq!(formal.greet("Ada"), "Good day, Prof Ada.");

    // A typo, by either way in: refused, with the closest name of any registry.
    let typo = host
        .registrations()
        .set_plugin_settings("formla", PluginSettings::new())
        .unwrap_err();
    assert!(
        matches!(typo.kind(), PluginErrorKind::NotFound { suggestions, .. } if suggestions == &["formal"]),
        "{typo}"
    );
    let typo = host
        .configuration()
        .apply_config_file(
            "app.toml",
            ConfigFile::parse("app.toml", "[plugins.formla]\ntitle = \"x\"\n").unwrap(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        typo.contains("[plugins.formla]") && typo.contains("did you mean `formal`"),
        "{typo}"
    );

    // A wrong type names the key.
    host.registrations()
        .set_plugin_settings("formal", PluginSettings::new().with("title", 5))
        .unwrap();
    let wrong = host
        .instances()
        .create_from(&GREETERS, "formal")
        .err()
        .unwrap()
        .to_string();
    assert!(
        wrong.contains("at `title`: invalid type: integer `5`"),
        "{wrong}"
    );

    // Fan-out under the host: its settings reach every plugin called, and its switches hold.
    host.registrations()
        .set_plugin_settings("formal", PluginSettings::new().with("title", "Dr"))
        .unwrap();
    let greetings = host
        .instances()
        .fan_out(&GREETERS)
        .call_all(|greeter| greeter.greet("Ada"))
        .unwrap();
    assert_eq!(greetings, ["Good day, Dr Ada."]);
    host.configuration()
        .configure_plugin_system(PluginConfiguration::new().with_plugin_loading(false))
        .unwrap();
    let refused = host
        .instances()
        .fan_out(&GREETERS)
        .call_all(|greeter| greeter.greet("Ada"))
        .unwrap_err();
    assert!(
        matches!(refused.kind(), PluginErrorKind::Disabled { .. }),
        "{refused}"
    );
    // The registry's own fan-out knows nothing of the host.
    assert!(
        GREETERS
            .call_all(|g| g.greet("Ada"))
            .is_err_and(|e| matches!(e.kind(), PluginErrorKind::Configuration { .. }))
    );

    // `check` sees a given registry's duplicates.
    host.catalog().check().unwrap();
    host.registrations().add_registry(&HOOKS);
    let twice = host.catalog().check().unwrap_err();
    assert!(
        matches!(twice.kind(), PluginErrorKind::DuplicatePlugin { name, .. } if name == "twice"),
        "{twice}"
    );
}
