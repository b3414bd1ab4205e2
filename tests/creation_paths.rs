//! Every switch against every way to get an instance, on a default and on a configured
//! registry: the same decision everywhere. One table of paths, one table of switches.
//!
//! Each path ends up running the code of a plugin that declares the permission `fs.write`
//! and depends on `matrix-base >= 1.0`, so every check has something to decide. Every
//! instance is called both ways, `process` and `stream` (the plugin streams where its path
//! keeps it a `#[plugin]`), and both must come out the same.

#![expect(
    clippy::unnecessary_wraps,
    reason = "constructors and factories return Result by contract"
)]

#[path = "support/handmade.rs"]
#[macro_use]
mod handmade;

use std::cell::Cell;
use std::io::Read;
use std::sync::Arc;

use modreg::stream::{Reader, from_io};

use modreg::{
    AdvancedPluginConfig, AdvancedPluginConfiguration, AdvancedPluginInstantiationConfig, Code,
    EnvironmentPluginConfiguration, Layer, LayerContext, ModuleRegistry, Plugin, PluginBehavior,
    PluginConfig, PluginConfiguration, PluginDescriptor, PluginError, PluginErrorKind,
    PluginSecurityConfig, PluginType, SandboxLimits, plugin, plugin_factory,
};

#[plugin(type = Storage, version = "1.0.0")]
#[derive(Default)]
struct MatrixBase;

impl PluginBehavior for MatrixBase {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

#[plugin(type = Storage, version = "1.0.0", permissions = ["fs.write"], depends_on = ["matrix-base >= 1.0"])]
#[derive(Default)]
struct Privileged;

impl PluginBehavior for Privileged {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }

    fn streams(&self) -> bool {
        true
    }

    /// Its input, passed through as it comes.
    fn stream<'a>(&'a self, input: Reader<'a>) -> Result<Reader<'a>, Reader<'a>> {
        Ok(input)
    }
}

/// Stands in for `matrix-real` (never registered) where mocks are on.
#[plugin(type = Storage, version = "1.0.0", permissions = ["fs.write"], depends_on = ["matrix-base >= 1.0"], mock_of = "matrix-real")]
#[derive(Default)]
struct PrivilegedMock;

impl PluginBehavior for PrivilegedMock {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

#[plugin_factory(name = "matrix-factory", type = Storage)]
fn make_privileged(_: &str) -> Result<Box<dyn Plugin>, PluginError> {
    Ok(Box::new(Privileged))
}

/// A hand-written plugin, as a runtime constructor returns.
struct Handmade;

handmade_plugin!(Handmade, |_this| "matrix-closure", Storage);

/// A runtime registration of `name` that declares no permission and no dependency.
fn stand_in(name: &str) -> PluginConfig {
    PluginConfig::new()
        .with_name(name)
        .with_version("1.0.0")
        .with_type(PluginType::Storage)
}

/// A wrapper that reports the plugin it wraps, entry included (as `forward_metadata!` does).
struct Forward(Box<dyn Plugin>);

impl Plugin for Forward {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn version(&self) -> &str {
        self.0.version()
    }
    fn plugin_type(&self) -> PluginType {
        self.0.plugin_type()
    }
    fn capabilities(&self) -> &[String] {
        self.0.capabilities()
    }
    fn descriptor(&self) -> Option<&'static PluginDescriptor> {
        self.0.descriptor()
    }
    fn initialize(&mut self) -> Result<(), PluginError> {
        self.0.initialize()
    }
    fn cleanup(&mut self) -> Result<(), PluginError> {
        self.0.cleanup()
    }
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        self.0.process(data)
    }
}

type Create = fn(&ModuleRegistry) -> Result<Box<dyn Plugin>, PluginError>;

/// A shared instance, boxed like the others.
struct Shared(Arc<dyn Plugin>);

impl Plugin for Shared {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn version(&self) -> &str {
        self.0.version()
    }
    fn plugin_type(&self) -> PluginType {
        self.0.plugin_type()
    }
    fn capabilities(&self) -> &[String] {
        self.0.capabilities()
    }
    fn initialize(&mut self) -> Result<(), PluginError> {
        Ok(())
    }
    fn cleanup(&mut self) -> Result<(), PluginError> {
        Ok(())
    }
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        self.0.process(data)
    }
}

/// A way to get an instance: what it sets up, how it creates, and the name its metrics go to.
struct Path {
    name: &'static str,
    setup: fn(&ModuleRegistry),
    create: Create,
    metrics_of: &'static str,
    /// For what a caller keeps: takes it before the switch (the argument), uses it after.
    held: Option<Held>,
    /// Whether validation is on for this path (the setup may switch it off).
    validates: bool,
}

type Held = fn(&ModuleRegistry, fn(&ModuleRegistry)) -> Result<Box<dyn Plugin>, PluginError>;

fn nothing(_: &ModuleRegistry) {}

#[cfg(feature = "wasm")]
#[path = "support/wasm_text.rs"]
#[allow(dead_code)]
mod wasm_text;

/// A WebAssembly module whose plugin declares the same permission and dependency, loaded at
/// run time.
#[cfg(feature = "wasm")]
const WASM_PATH: Path = Path {
    name: "WebAssembly module",
    setup: |r| {
        let module = wasm_text::echo_guest(
            "matrix-wasm",
            "1.0.0",
            "storage",
            &["fs.write"],
            &["matrix-base >= 1.0"],
        );
        r.wasm()
            .load_wasm_bytes("matrix.wasm", &module, None)
            .unwrap();
    },
    create: |r| r.create_plugin("matrix-wasm"),
    metrics_of: "matrix-wasm",
    held: None,
    validates: true,
};

/// The same module in the interpreter that validates each function at its first call.
#[cfg(feature = "wasm")]
const LAZY_WASM_PATH: Path = Path {
    name: "WebAssembly module, interpreted (lazy validation)",
    setup: |r| {
        r.wasm()
            .configure_wasm(
                modreg::WasmConfig::new().with_engine(modreg::WasmEngine::LazyInterpreter),
            )
            .unwrap();
        (WASM_PATH.setup)(r);
    },
    ..WASM_PATH
};

/// The same module in compiled code (feature `wasm-jit`): another engine, the same path.
#[cfg(feature = "wasm-jit")]
const JIT_PATH: Path = Path {
    name: "WebAssembly module, compiled (JIT)",
    setup: |r| {
        r.wasm()
            .configure_wasm(modreg::WasmConfig::new().with_engine(modreg::WasmEngine::Jit))
            .unwrap();
        (WASM_PATH.setup)(r);
    },
    ..WASM_PATH
};

/// The same module in Winch's code (feature `wasm-jit`).
#[cfg(feature = "wasm-jit")]
const JIT_BASELINE_PATH: Path = Path {
    name: "WebAssembly module, compiled (baseline JIT)",
    setup: |r| {
        r.wasm()
            .configure_wasm(modreg::WasmConfig::new().with_engine(modreg::WasmEngine::JitBaseline))
            .unwrap();
        (WASM_PATH.setup)(r);
    },
    ..WASM_PATH
};

/// Every path: the table, and the WebAssembly ones where the sandbox is built (one per
/// engine).
fn paths() -> Vec<&'static Path> {
    #[cfg(feature = "wasm")]
    let wasm = [&WASM_PATH, &LAZY_WASM_PATH];
    #[cfg(not(feature = "wasm"))]
    let wasm = [];
    #[cfg(feature = "wasm-jit")]
    let jit = [&JIT_PATH, &JIT_BASELINE_PATH];
    #[cfg(not(feature = "wasm-jit"))]
    let jit = [];
    PATHS.iter().chain(wasm).chain(jit).collect()
}

const PATHS: &[Path] = &[
    Path {
        name: "compiled in, by name",
        setup: nothing,
        create: |r| r.create_plugin("privileged"),
        metrics_of: "privileged",
        held: None,
        validates: true,
    },
    Path {
        // Registered again at run time, declaring no permission and no dependency: it binds
        // to the compiled-in code, and carries that code's requirements.
        name: "runtime entry bound to compiled-in code",
        setup: |r| {
            r.register_plugin(
                PluginConfig::new()
                    .with_name("privileged")
                    .with_version("1.0.0")
                    .with_type(PluginType::Storage),
            )
            .unwrap();
        },
        create: |r| r.create_plugin("privileged"),
        metrics_of: "privileged",
        held: None,
        validates: true,
    },
    Path {
        name: "runtime constructor",
        setup: |r| {
            r.register_advanced_plugin(
                AdvancedPluginConfig::new()
                    .with_name("matrix-closure")
                    .with_version("1.0.0")
                    .with_type(PluginType::Storage)
                    .add_permission("fs.write")
                    .add_dependency("matrix-base >= 1.0")
                    .with_constructor(|_| Ok(Box::new(Handmade))),
            )
            .unwrap();
        },
        create: |r| r.create_plugin("matrix-closure"),
        metrics_of: "matrix-closure",
        held: None,
        validates: true,
    },
    Path {
        name: "advanced instantiation",
        setup: nothing,
        create: |r| {
            r.create_advanced_plugin("privileged", AdvancedPluginInstantiationConfig::new())
                .map(modreg::AdvancedPluginInstance::into_inner)
        },
        metrics_of: "privileged",
        held: None,
        validates: true,
    },
    Path {
        name: "basic instantiation config",
        setup: nothing,
        create: |r| {
            r.create_plugin_with(
                "privileged",
                modreg::PluginInstantiationConfig::new().with_initialization(true),
            )
        },
        metrics_of: "privileged",
        held: None,
        validates: true,
    },
    Path {
        name: "factory",
        setup: nothing,
        create: |r| r.create_plugin_from_factory("matrix-factory", "any"),
        metrics_of: "privileged",
        held: None,
        validates: true,
    },
    Path {
        name: "mock standing in",
        setup: |r| {
            r.configure_environment_plugin_system(
                "test",
                EnvironmentPluginConfiguration::new().with_mock_plugins(true),
            )
            .unwrap();
            r.configuration().set_environment("test").unwrap();
        },
        create: |r| r.create_plugin("matrix-real"),
        metrics_of: "privileged-mock",
        held: None,
        validates: true,
    },
    Path {
        name: "resolved handle",
        setup: nothing,
        create: |r| r.instances().handle("privileged")?.create(),
        metrics_of: "privileged",
        held: None,
        validates: true,
    },
    Path {
        // The registry's per-plugin decision is made and cached here, before the switch: the
        // switch must still apply to the next creation.
        name: "by name, after a creation before the switch",
        setup: |r| drop(r.create_plugin("privileged")),
        create: |r| r.create_plugin("privileged"),
        metrics_of: "privileged",
        held: None,
        validates: true,
    },
    Path {
        name: "handle resolved before the switch",
        setup: |r| drop(r.instances().handle("privileged").unwrap().create()),
        create: |r| r.instances().handle("privileged")?.create(),
        metrics_of: "privileged",
        held: None,
        validates: true,
    },
    Path {
        // With instance sharing on (the configured registry) the instance is kept; one made before the
        // switch must not be handed out after it.
        name: "shared instance",
        setup: |r| drop(r.instances().shared_plugin("privileged")),
        create: |r| {
            r.instances()
                .shared_plugin("privileged")
                .map(|shared| Box::new(Shared(shared)) as Box<dyn Plugin>)
        },
        metrics_of: "privileged",
        held: None,
        validates: true,
    },
    Path {
        // A handle taken after the switch; and (`held`) one kept across it, which must not
        // hand out the instance made before it.
        name: "shared handle",
        setup: nothing,
        create: |r| {
            let mut shared = r.instances().shared_handle("privileged")?;
            let instance = Arc::clone(shared.get()?);
            Ok(Box::new(Shared(instance)))
        },
        metrics_of: "privileged",
        held: Some(|r, switch| {
            let mut shared = r.instances().shared_handle("privileged")?;
            drop(shared.get()?.process(b"")?);
            switch(r);
            let instance = Arc::clone(shared.get()?);
            Ok(Box::new(Shared(instance)))
        }),
        validates: true,
    },
    Path {
        // The code that runs is the compiled-in `privileged`, returned by a runtime closure of
        // the same name that declares none of its permissions or dependencies.
        name: "runtime closure returning compiled-in code",
        setup: |r| {
            r.register_plugin(
                stand_in("privileged").with_constructor(|_| Ok(Box::new(Privileged))),
            )
            .unwrap();
        },
        create: |r| r.create_plugin("privileged"),
        metrics_of: "privileged",
        held: None,
        validates: true,
    },
    Path {
        name: "runtime closure returning a wrapper around compiled-in code",
        setup: |r| {
            r.register_plugin(
                stand_in("privileged")
                    .with_constructor(|_| Ok(Box::new(Forward(Box::new(Privileged))))),
            )
            .unwrap();
        },
        create: |r| r.create_plugin("privileged"),
        metrics_of: "privileged",
        held: None,
        validates: true,
    },
    Path {
        name: "advanced registration with a closure returning compiled-in code",
        setup: |r| {
            r.register_advanced_plugin(
                AdvancedPluginConfig::new()
                    .with_name("privileged")
                    .with_version("1.0.0")
                    .with_type(PluginType::Storage)
                    .with_constructor(|_| Ok(Box::new(Privileged))),
            )
            .unwrap();
        },
        create: |r| r.create_plugin("privileged"),
        metrics_of: "privileged",
        held: None,
        validates: true,
    },
    Path {
        name: "replacing registration with a closure returning compiled-in code",
        setup: |r| {
            r.registrations()
                .replace_plugin(
                    stand_in("privileged").with_constructor(|_| Ok(Box::new(Privileged))),
                )
                .unwrap();
        },
        create: |r| r.create_plugin("privileged"),
        metrics_of: "privileged",
        held: None,
        validates: true,
    },
    Path {
        // With validation off nothing compares what the mock returns with its entry: the
        // permissions are still those of the code that runs.
        name: "runtime mock returning compiled-in code, validation off",
        setup: |r| {
            r.configure_plugin_system(PluginConfiguration::new().with_plugin_validation(false))
                .unwrap();
            r.register_plugin(
                stand_in("matrix-stand-in")
                    .with_metadata("mock_of", "matrix-real")
                    .with_constructor(|_| Ok(Box::new(Privileged))),
            )
            .unwrap();
            r.configure_environment_plugin_system(
                "test",
                EnvironmentPluginConfiguration::new().with_mock_plugins(true),
            )
            .unwrap();
            r.configuration().set_environment("test").unwrap();
        },
        create: |r| r.create_plugin("matrix-real"),
        metrics_of: "matrix-stand-in",
        held: None,
        validates: false,
    },
    Path {
        name: "environment profile",
        setup: |r| {
            r.configure_environment_plugin_system(
                "staging",
                EnvironmentPluginConfiguration::new().with_verbose_logging(false),
            )
            .unwrap();
            r.configuration().set_environment("staging").unwrap();
        },
        create: |r| r.create_plugin("privileged"),
        metrics_of: "privileged",
        held: None,
        validates: true,
    },
];

/// What a switch should make of every path.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Created, and processing works.
    Works,
    /// Created, processing works, and one call was counted.
    Counted,
    /// Created; processing two bytes is over the sandbox's limit.
    Limited,
    /// Creation refused with this error.
    Refused(&'static str),
}

struct Switch {
    name: &'static str,
    apply: fn(&ModuleRegistry),
    expect: Outcome,
    /// Decided by validation: on a path with validation off, the instance works.
    by_validation: bool,
}

const SWITCHES: &[Switch] = &[
    Switch {
        name: "none",
        apply: nothing,
        expect: Outcome::Works,
        by_validation: false,
    },
    Switch {
        name: "plugin loading off",
        apply: |r| {
            r.configure_plugin_system(PluginConfiguration::new().with_plugin_loading(false))
                .unwrap();
        },
        expect: Outcome::Refused("Disabled"),
        by_validation: false,
    },
    Switch {
        name: "permissions on, none granted",
        apply: |r| {
            r.configure_plugin_security(PluginSecurityConfig::new().with_plugin_permissions(true))
                .unwrap();
        },
        expect: Outcome::Refused("PermissionDenied"),
        by_validation: false,
    },
    Switch {
        name: "permissions on, fs.write granted",
        apply: |r| {
            r.configure_plugin_security(PluginSecurityConfig::new().with_plugin_permissions(true))
                .unwrap();
            r.grant_permissions(["fs.write"]).unwrap();
        },
        expect: Outcome::Works,
        by_validation: false,
    },
    Switch {
        // Only the registries that have the layer can be gated: on the default one the
        // switch has nothing to act on, and `expected` says so.
        name: "a user's layer refusing fs.write",
        apply: |r| {
            GATED.set(true);
            r.layers_changed();
        },
        expect: Outcome::Refused("PermissionDenied"),
        by_validation: false,
    },
    Switch {
        name: "dependency removed",
        apply: |r| r.registrations().unregister_plugin("matrix-base").unwrap(),
        expect: Outcome::Refused("MissingDependency"),
        by_validation: true,
    },
    Switch {
        name: "monitoring on",
        apply: |r| {
            r.configure_plugin_system(PluginConfiguration::new().with_plugin_monitoring(true))
                .unwrap();
        },
        expect: Outcome::Counted,
        by_validation: false,
    },
    Switch {
        name: "sandbox with a 1-byte input limit",
        apply: |r| {
            r.configure_plugin_security(
                PluginSecurityConfig::new()
                    .with_plugin_sandboxing(true)
                    .with_sandbox_limits(SandboxLimits::new().with_max_input_bytes(1)),
            )
            .unwrap();
        },
        expect: Outcome::Limited,
        by_validation: false,
    },
];

thread_local! {
    /// Whether this thread's [`Gate`] refuses (each cell runs on the test's thread).
    static GATED: Cell<bool> = const { Cell::new(false) };
}

/// A layer of the user's own, attached through the open seam: while gated it refuses code
/// that declares `fs.write`.
#[derive(Debug)]
struct Gate;

impl Layer for Gate {
    fn checks(&self, _: &LayerContext<'_>) -> bool {
        GATED.get()
    }

    fn check(&self, _: &LayerContext<'_>, code: &Code<'_>) -> Result<(), PluginError> {
        if GATED.get() && code.permissions.contains(&"fs.write") {
            return Err(PluginError::from(PluginErrorKind::PermissionDenied {
                plugin: code.name.to_owned(),
                permission: "fs.write".to_owned(),
            }));
        }
        Ok(())
    }
}

/// A registry with the user's layer attached, otherwise as `ModuleRegistry::new()`.
fn with_gate() -> ModuleRegistry {
    ModuleRegistry::with_layers([Arc::new(Gate) as Arc<dyn Layer>])
}

/// A registry that is configured (off the unconfigured fast path) in a way no switch above
/// concerns, with the user's layer attached.
fn configured() -> ModuleRegistry {
    let registry = with_gate();
    registry
        .configure_advanced_plugin_system(
            AdvancedPluginConfiguration::new()
                .with_plugin_caching(true)
                .with_instance_sharing(true),
        )
        .unwrap();
    registry
}

fn outcome(
    registry: &ModuleRegistry,
    path: &Path,
    created: Result<Box<dyn Plugin>, PluginError>,
) -> Outcome {
    let plugin = match created {
        Ok(plugin) => plugin,
        Err(error) => {
            let debug = format!("{error:?}");
            let variant = debug.split([' ', '{', '(']).next().unwrap_or_default();
            return Outcome::Refused(match variant {
                "Disabled" => "Disabled",
                "PermissionDenied" => "PermissionDenied",
                "MissingDependency" => "MissingDependency",
                _ => panic!("{}: unexpected error {error}", path.name),
            });
        }
    };
    let processed = plugin.process(b"xy");
    let mut streamed = Vec::new();
    let streamed = plugin
        .stream(Box::new(&b"xy"[..]))
        .read_to_end(&mut streamed)
        .map(|_| streamed)
        .map_err(|e| from_io(e, path.name));
    for (how, outcome) in [("process", &processed), ("stream", &streamed)] {
        match outcome.as_ref().map_err(PluginError::kind) {
            Err(PluginErrorKind::TooLarge { .. }) => {}
            Err(error) => panic!("{}: {how} failed: {error}", path.name),
            Ok(out) => assert_eq!(out, b"xy", "{}: {how}", path.name),
        }
    }
    match (&processed, &streamed) {
        (Err(_), Err(_)) => return Outcome::Limited,
        (Ok(_), Ok(_)) => {}
        _ => panic!(
            "{}: process and stream disagree: {processed:?} against {streamed:?}",
            path.name
        ),
    }
    match registry.plugin_metrics(path.metrics_of) {
        // One call each way.
        Some(metrics) if metrics.calls == 2 => Outcome::Counted,
        Some(metrics) => panic!("{}: {} calls counted", path.name, metrics.calls),
        None => Outcome::Works,
    }
}

type MakeRegistry = fn() -> ModuleRegistry;

/// The two registries every cell runs on, by name.
const REGISTRIES: [(&str, MakeRegistry); 3] = [
    ("default", ModuleRegistry::new),
    ("with a user layer", with_gate),
    ("configured", configured),
];

#[test]
fn every_switch_decides_the_same_on_every_creation_path() {
    let mut wrong = Vec::new();
    for switch in SWITCHES {
        for path in paths() {
            for (kind, make) in REGISTRIES {
                GATED.set(false);
                let registry = make();
                (path.setup)(&registry);
                (switch.apply)(&registry);
                let mut cells = vec![("", outcome(&registry, path, (path.create)(&registry)))];
                if let Some(held) = path.held {
                    GATED.set(false);
                    let registry = make();
                    let created = held(&registry, switch.apply);
                    cells.push((", held across", outcome(&registry, path, created)));
                }
                let ungated = switch.name.starts_with("a user's layer") && kind == "default";
                let expect = if ungated || switch.by_validation && !path.validates {
                    &Outcome::Works
                } else {
                    &switch.expect
                };
                for (how, got) in cells {
                    if got != *expect {
                        wrong.push(format!(
                            "{} / {}{how} / {kind} registry: expected {expect:?}, got {got:?}",
                            switch.name, path.name
                        ));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The error of [`Tool`]: a sandboxed trait's methods may fail for the sandbox's reasons.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToolError(String);

impl From<PluginError> for ToolError {
    fn from(error: PluginError) -> Self {
        ToolError(error.to_string())
    }
}

/// A trait of the user's own, with a registry and a plugin that declares `fs.write`; it is
/// `#[sandboxed]`, so a source may register plugins of it too.
#[modreg::sandboxed]
pub trait Tool: Send + Sync {
    fn run(&self) -> Result<u32, ToolError>;
}

modreg::registry!(pub TOOLS: dyn Tool);

#[plugin(registry = TOOLS, permissions = ["fs.write"])]
#[derive(Default)]
struct Writer;

impl Tool for Writer {
    fn run(&self) -> Result<u32, ToolError> {
        Ok(7)
    }
}

/// A sandboxed plugin, in process: a `Plugin` whose `process` takes a framed typed call and
/// runs it through the trait's guest-side dispatch, on a `Writer`.
struct Loopback;

handmade_plugin!(
    Loopback,
    |_this| "sandboxed-writer",
    Storage,
    |_this, data| {
        let target: &dyn Tool = &Writer;
        modreg::typed_sandbox::run_framed("sandboxed-writer", target, data)
    }
);

/// Registers `sandboxed-writer`, a plugin of `Tool` declaring `fs.write`, as a source would.
fn register_sandboxed_writer(registry: &ModuleRegistry) {
    use modreg::__private_0_1_0::SandboxedTrait;
    registry.registrations().add_registry(&TOOLS);
    registry
        .registrations()
        .register_batch(
            "writer.wasm",
            Vec::new(),
            vec![
                modreg::SandboxedRegistration::new(
                    "sandboxed-writer",
                    <dyn Tool as SandboxedTrait>::TRAIT_NAME,
                    <dyn Tool as SandboxedTrait>::FINGERPRINT,
                    || Ok(Box::new(Loopback)),
                )
                .with_permissions(vec!["fs.write".to_owned()]),
            ],
            None,
        )
        .unwrap();
}

/// Through `ModuleRegistry::create_from`, a registry of another trait obeys the switches that
/// decide whether code may run, for its compiled-in plugins and for those a source registered
/// (a `#[sandboxed]` trait's). A compiled-in instance of another trait is not wrapped, by
/// design (its dependencies live in its own table, and wrapping needs the trait's methods), so
/// the other switches do not concern it; a sandboxed one's calls are a `Plugin`'s, wrapped as
/// any other's: every switch holds for it but the dependency (it declares none).
#[test]
fn a_typed_registry_through_the_host_obeys_the_same_refusals() {
    let mut wrong = Vec::new();
    for switch in SWITCHES {
        for ((kind, make), (source, name)) in REGISTRIES.into_iter().flat_map(|registry| {
            [
                ("compiled in", "writer"),
                ("sandboxed, registered by a source", "sandboxed-writer"),
            ]
            .map(|source| (registry, source))
        }) {
            GATED.set(false);
            let registry = make();
            if name == "sandboxed-writer" {
                register_sandboxed_writer(&registry);
            }
            (switch.apply)(&registry);
            let expect = match (&switch.expect, name) {
                (_, "sandboxed-writer") if switch.by_validation => &Outcome::Works,
                (expect, "sandboxed-writer") => expect,
                (refused @ Outcome::Refused("Disabled" | "PermissionDenied"), _) => refused,
                _ => &Outcome::Works,
            };
            let ungated = switch.name.starts_with("a user's layer") && kind == "default";
            let expect = if ungated { &Outcome::Works } else { expect };
            let got = match registry
                .instances()
                .create_from(&TOOLS, name)
                .as_ref()
                .map_err(PluginError::kind)
            {
                Ok(tool) => match tool.run() {
                    Ok(7) => match registry.plugin_metrics(name) {
                        Some(metrics) if metrics.calls == 1 => Outcome::Counted,
                        Some(metrics) => panic!("{source}: {} calls counted", metrics.calls),
                        None => Outcome::Works,
                    },
                    Err(ToolError(message)) if message.contains("over the limit") => {
                        Outcome::Limited
                    }
                    other => panic!("{source}: {other:?}"),
                },
                Err(PluginErrorKind::Disabled { .. }) => Outcome::Refused("Disabled"),
                Err(PluginErrorKind::PermissionDenied { .. }) => {
                    Outcome::Refused("PermissionDenied")
                }
                Err(other) => panic!("{}: {other}", switch.name),
            };
            if got != *expect {
                wrong.push(format!(
                    "{} / {source} / {kind}: expected {expect:?}, got {got:?}",
                    switch.name
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
