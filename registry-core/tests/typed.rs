//! Registries of users' own traits: several in one binary, each its own table, with the
//! index, duplicate reporting, `expect`, typed `config`, dependencies and the panic guard.

use modreg_core::{PluginError, PluginErrorKind, PluginSettings, PluginType, plugin, registry};

pub trait Shape: Send + Sync {
    fn area(&self) -> f64;
}

pub trait Command: Send + Sync {
    fn run(&self, args: &[&str]) -> Result<String, PluginError>;
}

registry! {
    /// Shapes.
    pub SHAPES: dyn Shape
}
registry!(COMMANDS: dyn Command);

#[plugin(registry = SHAPES, capabilities = ["round"], description = "A circle of radius one")]
#[derive(Default)]
struct UnitCircle;

impl Shape for UnitCircle {
    fn area(&self) -> f64 {
        std::f64::consts::PI
    }
}

#[derive(Clone, Copy, serde::Deserialize)]
struct SquareConfig {
    side: f64,
}

#[plugin(registry = SHAPES, capabilities = ["angular"], config = SquareConfig, depends_on = ["unit-circle >= 0.1"])]
struct Square {
    side: f64,
}

impl Square {
    fn from_config(config: SquareConfig) -> Result<Self, PluginError> {
        if config.side < 0.0 {
            return Err(PluginError::invalid(
                "side",
                config.side.to_string(),
                "is negative",
            ));
        }
        Ok(Square { side: config.side })
    }
}

impl Shape for Square {
    fn area(&self) -> f64 {
        self.side * self.side
    }
}

#[plugin(registry = SHAPES, depends_on = ["hexagon"])]
#[derive(Default)]
struct NeedsHexagon;

impl Shape for NeedsHexagon {
    fn area(&self) -> f64 {
        0.0
    }
}

#[plugin(registry = SHAPES)]
struct Exploding;

impl Default for Exploding {
    fn default() -> Self {
        panic!("cannot build")
    }
}

impl Shape for Exploding {
    fn area(&self) -> f64 {
        0.0
    }
}

mod private {
    use modreg_core::{PluginError, plugin};

    #[plugin(registry = super::COMMANDS, type = Custom("cli"), capabilities = ["echo"])]
    #[derive(Default)]
    pub(super) struct Echo;

    impl super::Command for Echo {
        fn run(&self, args: &[&str]) -> Result<String, PluginError> {
            Ok(args.join(" "))
        }
    }

    // The same name twice in one registry: neither is used, both are named.
    #[plugin(registry = super::COMMANDS, name = "twice")]
    #[derive(Default)]
    pub(super) struct First;

    #[plugin(registry = super::COMMANDS, name = "twice")]
    #[derive(Default)]
    pub(super) struct Second;

    impl super::Command for First {
        fn run(&self, _: &[&str]) -> Result<String, PluginError> {
            Ok("first".into())
        }
    }

    impl super::Command for Second {
        fn run(&self, _: &[&str]) -> Result<String, PluginError> {
            Ok("second".into())
        }
    }
}

#[test]
fn each_registry_has_its_own_table() {
    let shapes: Vec<&str> = SHAPES.entries().iter().map(|d| d.name()).collect();
    assert_eq!(
        shapes,
        ["exploding", "needs-hexagon", "square", "unit-circle"]
    );
    let commands: Vec<&str> = COMMANDS.entries().iter().map(|d| d.name()).collect();
    assert_eq!(commands, ["echo"]);
    assert_eq!(SHAPES.name(), "SHAPES");
    // The default registry holds none of them.
    assert!(modreg_core::PLUGINS.get("unit-circle").is_none());
}

#[test]
fn lookup_queries_and_creation() {
    let circle = SHAPES.create("unit-circle").unwrap();
    assert!((circle.area() - std::f64::consts::PI).abs() < 1e-12);
    assert_eq!(SHAPES.with_capabilities(&["round"]).len(), 1);
    assert_eq!(SHAPES.search("radius one")[0].name(), "unit-circle");
    // A plugin of a user registry has the registry's name as its type unless it names one.
    assert_eq!(SHAPES.of_type(PluginType::Custom("shapes")).len(), 4);
    assert_eq!(COMMANDS.of_type(PluginType::Custom("cli")).len(), 1);
    assert_eq!(
        COMMANDS.create("echo").unwrap().run(&["a", "b"]).unwrap(),
        "a b"
    );
}

#[test]
fn typed_config_and_concrete_types() {
    let square = SHAPES
        .create_with("square", &PluginSettings::new().with("side", 3.0))
        .unwrap();
    assert!((square.area() - 9.0).abs() < 1e-12);
    let missing = SHAPES.create("square").err().unwrap();
    assert!(
        matches!(missing.kind(), PluginErrorKind::Configuration { plugin, .. } if plugin == "square"),
        "{missing}"
    );
    let negative = SHAPES
        .create_with("square", &PluginSettings::new().with("side", -1.0))
        .err()
        .unwrap();
    assert!(
        matches!(
            negative.kind(),
            PluginErrorKind::Invalid { field: "side", .. }
        ),
        "{negative}"
    );
    let configured: Box<Square> = SHAPES
        .create_as_with("square", &PluginSettings::new().with("side", 2.0))
        .unwrap();
    assert!((configured.side - 2.0).abs() < 1e-12);
    let concrete: Box<UnitCircle> = SHAPES.create_as("unit-circle").unwrap();
    let _: &UnitCircle = &concrete;
    assert!(matches!(
        SHAPES
            .create_as::<UnitCircle>("square")
            .as_ref()
            .map_err(PluginError::kind),
        Err(PluginErrorKind::WrongType { .. })
    ));
}

#[test]
fn unmet_dependencies_duplicates_and_absent_names() {
    assert!(matches!(
        SHAPES.create("needs-hexagon").as_ref().map_err(PluginError::kind),
        Err(PluginErrorKind::MissingDependency { dependency, .. }) if dependency == "hexagon"
    ));
    let twice = COMMANDS.create("twice").err().unwrap().to_string();
    assert!(
        twice.contains("defined twice") && twice.contains("tests/typed.rs"),
        "{twice}"
    );
    assert!(COMMANDS.check().is_err());
    let absent = SHAPES.create("unit-circel").err().unwrap().to_string();
    assert!(absent.contains("did you mean `unit-circle`"), "{absent}");
    match SHAPES
        .expect(["unit-circle", "hexagon"])
        .as_ref()
        .map_err(PluginError::kind)
    {
        Err(PluginErrorKind::MissingPlugins { missing }) => assert_eq!(*missing, ["hexagon"]),
        other => panic!("{other:?}"),
    }
}

#[test]
#[cfg_attr(
    not(panic = "unwind"),
    ignore = "panics abort on this target: nothing to catch"
)]
fn a_constructor_that_panics_is_an_error() {
    match SHAPES
        .create("exploding")
        .as_ref()
        .map_err(PluginError::kind)
    {
        Err(PluginErrorKind::Panicked {
            plugin, message, ..
        }) => {
            assert_eq!(
                (plugin.as_str(), message.as_str()),
                ("exploding", "cannot build")
            );
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("created"),
    }
}
