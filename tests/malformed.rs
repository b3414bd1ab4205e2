//! Bad input of every kind gets its own typed error and leaves the registry as it was.
//! (`#[plugin]` attributes are covered at compile time by `tests/ui/`.) Property tests throw
//! random text at the parsers: they may refuse it, never panic.

#[path = "support/signing.rs"]
mod signing;

use modreg::SettingsFromToml;
use modreg::{
    AdvancedPluginConfig, ConfigFile, EnvironmentPluginConfiguration, ModuleRegistry, Operation,
    PluginAccessControlConfig, PluginCapabilityQuery, PluginConfig, PluginDiscoveryQuery,
    PluginError, PluginErrorKind, PluginFactoryConfig, PluginSemanticQuery, PluginSettings,
    PluginType, Principal, Role, SecretKey, SecurityError, SignedManifest, TrustedKey,
};
use proptest::prelude::*;

use signing::RELEASE_SECRET as SIGNER;

type Attempt = Box<dyn Fn(&ModuleRegistry) -> Result<(), PluginError>>;
type Expect = fn(&PluginError) -> bool;
type Check = Box<dyn Fn(&PluginError) -> bool>;

fn config(name: &str) -> PluginConfig {
    PluginConfig::new()
        .with_name(name)
        .with_version("1.0.0")
        .with_type(PluginType::Storage)
}

fn register(config: PluginConfig) -> Attempt {
    Box::new(move |r| r.register_plugin(config.clone()))
}

fn advanced(dependency: &'static str) -> Attempt {
    Box::new(move |r| {
        r.register_advanced_plugin(
            AdvancedPluginConfig::new()
                .with_name("adv")
                .with_version("1.0.0")
                .with_type(PluginType::Storage)
                .add_dependency(dependency),
        )
    })
}

fn config_file(text: &'static str) -> Attempt {
    Box::new(move |r| {
        r.configuration()
            .apply_config_file("bad.toml", ConfigFile::parse("bad.toml", text)?)
    })
}

fn manifest(envelope: String) -> Attempt {
    Box::new(move |r| r.register_signed_manifest(&envelope))
}

fn signed(manifest: &str) -> String {
    SignedManifest::sign(manifest, "release", SIGNER)
        .unwrap()
        .to_toml()
}

fn discover(query: PluginDiscoveryQuery) -> Attempt {
    Box::new(move |r| r.discover_plugins(query.clone()).map(drop))
}

fn capabilities(query: PluginCapabilityQuery) -> Attempt {
    Box::new(move |r| r.discover_plugins_by_capabilities(query.clone()).map(drop))
}

fn semantic(query: PluginSemanticQuery) -> Attempt {
    Box::new(move |r| r.discover_plugins_semantically(query.clone()).map(drop))
}

fn roles(role: Role) -> Attempt {
    Box::new(move |r| {
        r.configure_plugin_access_control(PluginAccessControlConfig::new().with_role(role.clone()))
    })
}

fn invalid(field: &'static str) -> impl Fn(&PluginError) -> bool {
    move |e| matches!(e.kind(), PluginErrorKind::Invalid { field: f, .. } if *f == field)
}

macro_rules! is {
    ($pattern:pat) => {
        (|e: &PluginError| matches!(e.kind(), $pattern)) as Expect
    };
}

/// A refusal of the security layer matching `$pattern`.
macro_rules! is_security {
    ($pattern:pat) => {
        (|e: &PluginError| matches!(e.layer_error::<SecurityError>(), Some($pattern))) as Expect
    };
}

#[expect(clippy::too_many_lines, reason = "one line per malformed input")]
fn cases() -> Vec<(&'static str, Attempt, Check)> {
    let b = |f: Expect| -> Box<dyn Fn(&PluginError) -> bool> { Box::new(f) };
    let field = |f: &'static str| -> Box<dyn Fn(&PluginError) -> bool> { Box::new(invalid(f)) };
    let valid_manifest = "name = \"m-kv\"\nversion = \"1.0.0\"\ntype = \"storage\"\n";
    vec![
        // Registrations
        (
            "no name",
            register(
                PluginConfig::new()
                    .with_version("1.0.0")
                    .with_type(PluginType::Storage),
            ),
            field("plugin name"),
        ),
        ("empty name", register(config("")), field("plugin name")),
        (
            "upper-case name",
            register(config("Upper")),
            field("plugin name"),
        ),
        (
            "name with space",
            register(config("a b")),
            field("plugin name"),
        ),
        (
            "name with slash",
            register(config("a/b")),
            field("plugin name"),
        ),
        (
            "name starting with dash",
            register(config("-a")),
            field("plugin name"),
        ),
        (
            "non-ascii name",
            register(config("café")),
            field("plugin name"),
        ),
        (
            "no version",
            register(
                PluginConfig::new()
                    .with_name("x")
                    .with_type(PluginType::Storage),
            ),
            field("plugin version"),
        ),
        (
            "two-part version",
            register(config("x").with_version("1.0")),
            b(is!(PluginErrorKind::InvalidVersion { .. })),
        ),
        (
            "word version",
            register(config("x").with_version("latest")),
            b(is!(PluginErrorKind::InvalidVersion { .. })),
        ),
        (
            "no type",
            register(PluginConfig::new().with_name("x").with_version("1.0.0")),
            field("plugin type"),
        ),
        (
            "empty capability",
            register(config("x").add_capability("")),
            field("capability"),
        ),
        (
            "upper-case capability",
            register(config("x").add_capability("Fast")),
            field("capability"),
        ),
        (
            "duplicate capability",
            register(config("x").add_capability("a").add_capability("a")),
            field("capability"),
        ),
        (
            "bad permission",
            register(config("x").add_permission("fs write")),
            field("permission"),
        ),
        (
            "duplicate permission",
            register(config("x").add_permission("p").add_permission("p")),
            field("permission"),
        ),
        (
            "bad metadata key",
            register(config("x").with_metadata("Bad Key", "v")),
            field("metadata key"),
        ),
        (
            "huge metadata value",
            register(config("x").with_metadata("k", "v".repeat(5000))),
            field("metadata value"),
        ),
        (
            "bad mock_of",
            register(config("x").with_metadata("mock_of", "Not A Name")),
            field("mock_of"),
        ),
        (
            "dependency without name",
            advanced(">= 1.0"),
            b(is!(PluginErrorKind::InvalidDependency { .. })),
        ),
        (
            "dependency with bad requirement",
            advanced("base >= one"),
            b(is!(PluginErrorKind::InvalidDependency { .. })),
        ),
        (
            "empty dependency",
            advanced(""),
            b(is!(PluginErrorKind::InvalidDependency { .. })),
        ),
        // Factories
        (
            "factory without method",
            Box::new(|r: &ModuleRegistry| {
                r.register_plugin_factory(PluginFactoryConfig::new().with_name("f"))
            }),
            field("factory method"),
        ),
        (
            "factory with bad name",
            Box::new(|r: &ModuleRegistry| {
                r.register_plugin_factory(
                    PluginFactoryConfig::new()
                        .with_name("F F")
                        .with_factory_method("m"),
                )
            }),
            field("factory name"),
        ),
        (
            "factory with unknown method",
            Box::new(|r: &ModuleRegistry| {
                r.register_plugin_factory(
                    PluginFactoryConfig::new()
                        .with_name("f")
                        .with_factory_method("nope"),
                )
            }),
            b(is!(PluginErrorKind::FactoryMethodNotFound { .. })),
        ),
        (
            "unknown factory",
            Box::new(|r: &ModuleRegistry| r.create_plugin_from_factory("nope", "v").map(drop)),
            b(is!(PluginErrorKind::FactoryNotFound { .. })),
        ),
        // Configuration files
        (
            "config: not TOML",
            config_file("[plugins"),
            b(is!(PluginErrorKind::ConfigurationFile { .. })),
        ),
        (
            "config: unknown top-level key",
            config_file("plugin = 1\n"),
            b(is!(PluginErrorKind::ConfigurationFile { .. })),
        ),
        (
            "config: bad section name",
            config_file("[plugins.Bad]\n"),
            b(is!(PluginErrorKind::ConfigurationFile { .. })),
        ),
        (
            "config: unregistered plugin",
            config_file("[plugins.not-registered]\nx = 1\n"),
            b(is!(PluginErrorKind::ConfigurationFile { .. })),
        ),
        (
            "config: environment flag typo",
            config_file("[environments.dev]\ndebug = true\n"),
            b(is!(PluginErrorKind::ConfigurationFile { .. })),
        ),
        (
            "config: flag of wrong type",
            config_file("[environments.dev]\ndebug_mode = \"yes\"\n"),
            b(is!(PluginErrorKind::ConfigurationFile { .. })),
        ),
        (
            "config: mocks and real plugins",
            config_file("[environments.dev]\nmock_plugins = true\nreal_plugins = true\n"),
            b(is!(PluginErrorKind::ConfigurationFile { .. })),
        ),
        (
            "config: bad environment name",
            config_file("environment = \"Prod Env\"\n"),
            b(is!(PluginErrorKind::ConfigurationFile { .. })),
        ),
        (
            "config: plugins not a table",
            config_file("plugins = 3\n"),
            b(is!(PluginErrorKind::ConfigurationFile { .. })),
        ),
        (
            "environment profile under another name",
            Box::new(|r: &ModuleRegistry| {
                r.configure_environment_plugin_system(
                    "dev",
                    EnvironmentPluginConfiguration::new().with_environment("prod"),
                )
            }),
            field("environment"),
        ),
        (
            "bad environment",
            Box::new(|r: &ModuleRegistry| r.configuration().set_environment("")),
            field("environment"),
        ),
        // Queries
        (
            "empty name filter",
            discover(PluginDiscoveryQuery::new().with_name_filter("")),
            b(is!(PluginErrorKind::InvalidQuery { .. })),
        ),
        (
            "empty name prefix",
            discover(PluginDiscoveryQuery::new().with_name_prefix("")),
            b(is!(PluginErrorKind::InvalidQuery { .. })),
        ),
        (
            "bad required capability",
            capabilities(PluginCapabilityQuery::new().with_required_capabilities(["Bad"])),
            b(is!(PluginErrorKind::InvalidQuery { .. })),
        ),
        (
            "empty optional capability",
            capabilities(PluginCapabilityQuery::new().with_optional_capabilities([""])),
            b(is!(PluginErrorKind::InvalidQuery { .. })),
        ),
        (
            "empty semantic query",
            semantic(PluginSemanticQuery::new()),
            b(is!(PluginErrorKind::InvalidQuery { .. })),
        ),
        (
            "stop-word semantic query",
            semantic(PluginSemanticQuery::new().with_intent("the of and")),
            b(is!(PluginErrorKind::InvalidQuery { .. })),
        ),
        (
            "semantic limit zero",
            semantic(PluginSemanticQuery::new().with_intent("x").with_limit(0)),
            b(is!(PluginErrorKind::InvalidQuery { .. })),
        ),
        (
            "semantic score out of range",
            semantic(
                PluginSemanticQuery::new()
                    .with_intent("x")
                    .with_min_relative_score(-1.0),
            ),
            b(is!(PluginErrorKind::InvalidQuery { .. })),
        ),
        (
            "unknown plugin type",
            Box::new(|_: &ModuleRegistry| "Not A Type".parse::<PluginType>().map(drop)),
            field("plugin type"),
        ),
        // Manifests and signatures (authentication on)
        (
            "manifest: not TOML",
            manifest("manifest = ".to_owned()),
            b(is!(PluginErrorKind::Manifest { .. })),
        ),
        (
            "manifest: unknown envelope key",
            manifest("manifest = \"\"\nsignatur = \"00\"\n".to_owned()),
            b(is!(PluginErrorKind::Manifest { .. })),
        ),
        (
            "manifest: over the size limit",
            manifest(format!("manifest = \"{}\"", "x".repeat(70_000))),
            b(is!(PluginErrorKind::Manifest { .. })),
        ),
        (
            "manifest: unsigned",
            manifest(format!("manifest = '''{valid_manifest}'''")),
            b(is_security!(SecurityError::Unsigned { .. })),
        ),
        (
            "manifest: untrusted key",
            manifest(
                SignedManifest::sign(valid_manifest, "stranger", SIGNER)
                    .unwrap()
                    .to_toml(),
            ),
            b(is_security!(SecurityError::UntrustedKey { .. })),
        ),
        (
            "manifest: signature not hex",
            manifest(format!(
                "key = \"release\"\nsignature = \"zz\"\nmanifest = '''{valid_manifest}'''"
            )),
            b(is_security!(SecurityError::BadSignature { .. })),
        ),
        (
            "manifest: tampered",
            manifest(signed(valid_manifest).replace("m-kv", "m-kw")),
            b(is_security!(SecurityError::BadSignature { .. })),
        ),
        (
            "manifest: unknown field",
            manifest(signed(
                "name = \"m\"\nversion = \"1.0.0\"\ntype = \"storage\"\ncolor = 1\n",
            )),
            b(is!(PluginErrorKind::Manifest { .. })),
        ),
        (
            "manifest: missing version",
            manifest(signed("name = \"m\"\ntype = \"storage\"\n")),
            b(is!(PluginErrorKind::Manifest { .. })),
        ),
        (
            "manifest: bad version",
            manifest(signed(
                "name = \"m\"\nversion = \"x\"\ntype = \"storage\"\n",
            )),
            b(is!(PluginErrorKind::InvalidVersion { .. })),
        ),
        (
            "manifest: bad type",
            manifest(signed(
                "name = \"m\"\nversion = \"1.0.0\"\ntype = \"Not Valid\"\n",
            )),
            field("plugin type"),
        ),
        (
            "manifest: bad capability",
            manifest(signed(
                "name = \"m\"\nversion = \"1.0.0\"\ntype = \"storage\"\ncapabilities = [\"\"]\n",
            )),
            field("capability"),
        ),
        (
            "unsigned runtime registration",
            register(config("plain")),
            b(is_security!(SecurityError::Unsigned { .. })),
        ),
        // Keys
        (
            "trusted key too short",
            Box::new(|_: &ModuleRegistry| TrustedKey::from_hex("k", "abcd").map(drop)),
            field("public key"),
        ),
        (
            "trusted key with bad name",
            Box::new(|_: &ModuleRegistry| TrustedKey::public_of("Bad Name", SIGNER).map(drop)),
            field("key name"),
        ),
        (
            "secret key not hex",
            Box::new(|_: &ModuleRegistry| SecretKey::from_hex(&"g".repeat(64)).map(drop)),
            field("secret key"),
        ),
        // Roles and principals
        (
            "role with bad name",
            roles(Role::new("Admin")),
            field("role name"),
        ),
        (
            "role with empty pattern",
            roles(Role::new("r").allow(Operation::Discover, "")),
            field("plugin pattern"),
        ),
        (
            "role with bad pattern",
            roles(Role::new("r").allow(Operation::Discover, "a?b")),
            field("plugin pattern"),
        ),
        (
            "unknown operation",
            Box::new(|_: &ModuleRegistry| "delete".parse::<Operation>().map(drop)),
            field("operation"),
        ),
        (
            "principal with bad name",
            Box::new(|r: &ModuleRegistry| r.on_behalf_of(Principal::new("Bob Smith")).map(drop)),
            field("principal name"),
        ),
        (
            "principal with bad role",
            Box::new(|r: &ModuleRegistry| {
                r.on_behalf_of(Principal::new("bob").with_role(""))
                    .map(drop)
            }),
            field("role name"),
        ),
        (
            "principal with bad grant",
            Box::new(|r: &ModuleRegistry| {
                r.on_behalf_of(Principal::new("bob").allow(Operation::Process, "x y"))
                    .map(drop)
            }),
            field("plugin pattern"),
        ),
        (
            "bad granted permission",
            Box::new(|r: &ModuleRegistry| r.grant_permissions(["Fs Read"])),
            field("permission"),
        ),
        // Settings
        (
            "settings: not TOML",
            Box::new(|_: &ModuleRegistry| PluginSettings::from_toml("x = ").map(drop)),
            b(is!(PluginErrorKind::Configuration { .. })),
        ),
    ]
}

fn state(registry: &ModuleRegistry) -> String {
    let plugins: Vec<String> = registry
        .plugins()
        .iter()
        .map(|p| format!("{} {} {:?}", p.name(), p.version(), p.capabilities()))
        .collect();
    format!(
        "{plugins:?} {registry:?} {:?}",
        registry.configuration().environment()
    )
}

#[test]
fn every_malformed_input_gets_its_error_and_changes_nothing() {
    let cases = cases();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (label, attempt, expected) in &cases {
        let registry = ModuleRegistry::new();
        if label.contains("manifest") || label.starts_with("unsigned") {
            signing::require_release_signatures(&registry);
        }
        let before = state(&registry);
        match attempt(&registry) {
            Ok(()) => failures.push(format!("{label}: accepted")),
            Err(error) if !expected(&error) => {
                failures.push(format!("{label}: wrong error {error:?}"));
            }
            Err(_) => {}
        }
        if state(&registry) != before {
            failures.push(format!("{label}: the registry changed"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

proptest! {
    #[test]
    fn configuration_files_never_panic(text in "\\PC{0,200}") {
        let _ = ConfigFile::parse("random.toml", &text);
    }

    #[test]
    fn structured_configuration_files_never_panic(
        section in "[a-zA-Z0-9_.-]{0,12}",
        key in "[a-zA-Z_]{1,10}",
        value in prop_oneof!["true", "false", "[0-9]{1,5}", "\"[^\"\\\\]{0,10}\"", "\\[\\]", "\\{\\}"],
    ) {
        for text in [
            format!("[plugins.{section}]\n{key} = {value}\n"),
            format!("[environments.{section}]\n{key} = {value}\n"),
            format!("environment = {value}\n"),
        ] {
            let _ = ConfigFile::parse("random.toml", &text);
        }
    }

    #[test]
    fn manifests_never_panic(text in "\\PC{0,300}") {
        let registry = ModuleRegistry::new();
        let _ = registry.register_signed_manifest(&text);
    }

    #[test]
    fn signed_random_manifests_never_panic(
        name in "[a-z-]{0,8}",
        version in "[0-9.a-z]{0,8}",
        ty in "[a-z-]{0,10}",
        extra in "\\PC{0,40}",
    ) {
        let registry = signing::signing_registry();
        let manifest = format!("name = \"{name}\"\nversion = \"{version}\"\ntype = \"{ty}\"\n{extra}");
        let _ = registry.register_signed_manifest(&signed(&manifest));
    }

    #[test]
    fn sealed_values_never_panic(text in "enc:v1:\\PC{0,80}") {
        let key = SecretKey::from_hex(SIGNER).unwrap();
        prop_assert!(key.open("p", "k", &text).is_err());
    }
}
