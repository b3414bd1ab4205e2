//! Each security switch gives the protection it names.

#![expect(
    clippy::unnecessary_wraps,
    reason = "`from_config` returns Result by contract"
)]

mod common;
#[macro_use]
#[path = "support/refusals.rs"]
mod refusals;
#[path = "support/signing.rs"]
mod signing;

use modreg::SettingsFromToml;
use std::time::Duration;

use modreg::{
    AdvancedPluginSecurityConfig, ModuleRegistry, Operation, PluginAccessControlConfig,
    PluginBehavior, PluginConfig, PluginDiscoveryQuery, PluginError, PluginErrorKind,
    PluginSecurityConfig, PluginSettings, PluginType, Principal, Role, SandboxLimits, SecretKey,
    SecurityError, SignedManifest, plugin,
};

use signing::RELEASE_SECRET as SIGNER;
const OTHER_SIGNER: &str = "0909090909090909090909090909090909090909090909090909090909090909";
const SECRET: &str = "5555555555555555555555555555555555555555555555555555555555555555";

#[plugin(type = Storage, version = "1.0.0", capabilities = ["vault"])]
#[derive(Default)]
struct Vault;

impl PluginBehavior for Vault {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

#[plugin(type = DataProcessor, version = "1.0.0")]
#[derive(Default)]
struct Sleeper;

impl PluginBehavior for Sleeper {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        // The first byte says how long to take, in tens of milliseconds.
        let tens = u64::from(data.first().copied().unwrap_or(0));
        std::thread::sleep(Duration::from_millis(10 * tens));
        Ok(data.repeat(4))
    }
}

#[derive(serde::Deserialize)]
struct DbConfig {
    password: String,
}

#[plugin(type = Storage, version = "1.0.0", config = DbConfig)]
struct Database {
    password: String,
}

impl Database {
    fn from_config(DbConfig { password }: DbConfig) -> Result<Self, PluginError> {
        Ok(Database { password })
    }
}

impl PluginBehavior for Database {
    fn process(&self, _: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(self.password.len().to_string().into_bytes())
    }
}

fn runtime(name: &str) -> PluginConfig {
    PluginConfig::new()
        .with_name(name)
        .with_version("1.0.0")
        .with_type(PluginType::Storage)
}

#[test]
fn secure_loading_protects_compiled_in_plugins() {
    let registry = ModuleRegistry::new();
    registry
        .configure_plugin_security(PluginSecurityConfig::new().with_secure_plugin_loading(true))
        .unwrap();
    let err = registry.register_plugin(runtime("vault")).unwrap_err();
    assert!(err.to_string().contains("forbids shadowing"), "{err}");
    let err = registry
        .registrations()
        .unregister_plugin("vault")
        .unwrap_err();
    assert!(err.to_string().contains("forbids removing"), "{err}");
    registry.register_plugin(runtime("new-name")).unwrap();
    assert!(
        registry.plugin("vault").unwrap().descriptor().is_some(),
        "unchanged"
    );
}

#[test]
fn the_sandbox_limits_size_and_time() {
    let registry = ModuleRegistry::new();
    registry
        .configure_plugin_security(
            PluginSecurityConfig::new()
                .with_plugin_sandboxing(true)
                .with_sandbox_limits(
                    SandboxLimits::new()
                        .with_max_input_bytes(8)
                        .with_max_output_bytes(12)
                        .with_time_budget(Duration::from_secs(1)),
                ),
        )
        .unwrap();
    let sleeper = registry.create_plugin("sleeper").unwrap();
    assert_eq!(sleeper.process(&[0, 1]).unwrap(), [0, 1, 0, 1, 0, 1, 0, 1]);
    let err = sleeper.process(&[0; 9]).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            PluginErrorKind::TooLarge {
                what: "input",
                size: 9,
                limit: 8,
                ..
            }
        ),
        "{err}"
    );
    let err = sleeper.process(&[0; 4]).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            PluginErrorKind::TooLarge {
                what: "output",
                size: 16,
                ..
            }
        ),
        "{err}"
    );
    let err = sleeper.process(&[200]).unwrap_err();
    assert!(
        matches!(err.kind(), PluginErrorKind::Timeout { .. }),
        "{err}"
    );
}

fn signed(manifest: &str, key_name: &str, secret: &str) -> String {
    SignedManifest::sign(manifest, key_name, secret)
        .unwrap()
        .to_toml()
}

#[test]
fn authentication_accepts_only_trusted_untampered_manifests() {
    let registry = signing::signing_registry();
    let manifest =
        "name = \"signed-kv\"\nversion = \"1.0.0\"\ntype = \"storage\"\ncapabilities = [\"kv\"]\n";

    let err = registry
        .register_plugin(runtime("unsigned-kv"))
        .unwrap_err();
    assert_refused!(err, SecurityError::Unsigned { .. });
    let unsigned = SignedManifest::unsigned(manifest);
    let err = registry
        .register_signed_manifest(&unsigned.to_toml())
        .unwrap_err();
    assert_refused!(err, SecurityError::Unsigned { .. });
    let err = registry
        .register_signed_manifest(&signed(manifest, "intruder", OTHER_SIGNER))
        .unwrap_err();
    assert_refused!(err, SecurityError::UntrustedKey { .. });
    let err = registry
        .register_signed_manifest(&signed(manifest, "release", OTHER_SIGNER))
        .unwrap_err();
    assert_refused!(err, SecurityError::BadSignature { .. }, "wrongly signed");
    let mut tampered = SignedManifest::sign(manifest, "release", SIGNER).unwrap();
    tampered.manifest = tampered.manifest.replace("1.0.0", "9.9.9");
    let err = registry
        .register_signed_manifest(&tampered.to_toml())
        .unwrap_err();
    assert_refused!(err, SecurityError::BadSignature { .. }, "tampered");
    assert!(
        registry.plugin("signed-kv").is_none(),
        "nothing registered so far"
    );

    registry
        .register_signed_manifest(&signed(manifest, "release", SIGNER))
        .unwrap();
    assert_eq!(registry.plugin("signed-kv").unwrap().capabilities(), ["kv"]);
}

#[test]
fn authentication_and_encryption_without_keys_fail_closed() {
    let registry = ModuleRegistry::new();
    registry
        .configure_advanced_plugin_security(
            AdvancedPluginSecurityConfig::new()
                .with_plugin_authentication(true)
                .with_plugin_encryption(true),
        )
        .unwrap();
    let err = registry.register_plugin(runtime("anything")).unwrap_err();
    assert_refused!(err, SecurityError::Unsigned { .. });
    let envelope = signed(
        "name = \"k\"\nversion = \"1.0.0\"\ntype = \"storage\"\n",
        "release",
        SIGNER,
    );
    let err = registry.register_signed_manifest(&envelope).unwrap_err();
    assert_refused!(err, SecurityError::UntrustedKey { .. });
    // Settings are a state change too: unsigned, they are refused.
    assert_refused!(
        registry
            .registrations()
            .set_plugin_settings("database", PluginSettings::new()),
        SecurityError::Unsigned { .. }
    );

    let registry = ModuleRegistry::new();
    registry
        .configure_advanced_plugin_security(
            AdvancedPluginSecurityConfig::new().with_plugin_encryption(true),
        )
        .unwrap();
    let sealed = SecretKey::from_hex(SECRET)
        .unwrap()
        .seal("database", "password", "pw")
        .unwrap();
    registry
        .registrations()
        .set_plugin_settings(
            "database",
            PluginSettings::from_toml(&format!("password = \"{sealed}\"")).unwrap(),
        )
        .unwrap();
    let err = registry.create_plugin("database").err().unwrap();
    assert!(err.to_string().contains("no secret key"), "{err}");
}

/// A compiled-in factory a runtime factory name can be registered for.
#[modreg::plugin_factory(name = "newcomer-factory", type = Storage, variants = ["one"])]
fn make_newcomer(_: &str) -> Result<Box<dyn modreg::Plugin>, PluginError> {
    Err(PluginError::processing("newcomer", "never made here"))
}

/// A runtime plugin whose constructor reports the `level` setting it was given.
fn victim() -> PluginConfig {
    runtime("victim").with_constructor(|settings| {
        Err(PluginError::processing(
            "victim",
            format!(
                "level {:?}",
                settings.get("level").and_then(|v| v.as_integer())
            ),
        ))
    })
}

/// Under role-based access every way to change the registry at run time needs a principal
/// allowed to make the change: made outside a scope (no principal) or by a principal without
/// the right role, each is refused and leaves the registry as it was; by an allowed one, it
/// is made. (Configuration files and `configure_*` calls are the host's own configuration,
/// not runtime changes: docs/security.md.)
#[test]
fn under_access_control_every_change_needs_an_allowed_principal() {
    type Change = fn(&ModuleRegistry) -> Result<(), PluginError>;
    let paths: [(&str, Change); 9] = [
        ("register_plugin", |r| {
            r.registrations().register_plugin(runtime("newcomer"))
        }),
        ("register_advanced_plugin", |r| {
            r.registrations().register_advanced_plugin(
                modreg::AdvancedPluginConfig::new()
                    .with_name("newcomer")
                    .with_version("1.0.0")
                    .with_type(PluginType::Storage),
            )
        }),
        ("replace_plugin", |r| {
            r.registrations()
                .replace_plugin(victim().with_version("2.0.0"))
        }),
        ("register_plugins", |r| {
            r.registrations()
                .register_plugins([runtime("newcomer"), runtime("second")])
        }),
        ("register_batch", |r| {
            r.registrations().register_batch(
                "newcomer.wasm",
                vec![runtime("newcomer").into()],
                Vec::new(),
                None,
            )
        }),
        ("unregister_plugin", |r| {
            r.registrations().unregister_plugin("victim")
        }),
        ("withdraw", |r| {
            r.registrations().withdraw("victim.wasm", None).map(drop)
        }),
        ("register_plugin_factory", |r| {
            r.registrations().register_plugin_factory(
                modreg::PluginFactoryConfig::new()
                    .with_name("newcomer")
                    .with_type(PluginType::Storage)
                    .with_factory_method("make_newcomer"),
            )
        }),
        ("set_plugin_settings", |r| {
            r.registrations()
                .set_plugin_settings("victim", PluginSettings::new().with("level", 1))
        }),
    ];
    // What the registry holds: the victim's version, the settings its constructor sees,
    // whether a newcomer was registered.
    let state = |r: &ModuleRegistry| {
        (
            r.plugin("victim").map(|p| p.version().to_owned()),
            r.create_plugin("victim").err().map(|e| e.to_string()),
            r.plugin("newcomer").is_some(),
            r.catalog().factory_names().contains(&"newcomer".to_owned()),
        )
    };
    for (path, change) in paths {
        let registry = ModuleRegistry::new();
        // Registered as a source's (a module's), so that the source's withdrawal is a path too.
        registry
            .registrations()
            .register_batch("victim.wasm", vec![victim().into()], Vec::new(), None)
            .unwrap();
        registry
            .configure_plugin_access_control(
                PluginAccessControlConfig::new()
                    .with_role_based_access(true)
                    .with_role(
                        Role::new("admin")
                            .allow(Operation::Register, "*")
                            .allow(Operation::Unregister, "*")
                            .allow(Operation::Configure, "*"),
                    )
                    .with_role(Role::new("reader").allow(Operation::Discover, "*")),
            )
            .unwrap();
        let before = state(&registry);
        let denied = |err: PluginError, who: &str| {
            assert_refused!(
                err,
                SecurityError::AccessDenied { principal, .. } if principal == who,
                format!("{path} by {who}")
            );
        };
        denied(change(&registry).unwrap_err(), "-");
        assert_eq!(state(&registry), before, "{path}: nothing changed");
        let reader = registry
            .on_behalf_of(Principal::new("rita").with_role("reader"))
            .unwrap();
        denied(reader.changes(|| change(&registry)).unwrap_err(), "rita");
        assert_eq!(state(&registry), before, "{path}: nothing changed");
        let admin = registry
            .on_behalf_of(Principal::new("ada").with_role("admin"))
            .unwrap();
        admin
            .changes(|| change(&registry))
            .unwrap_or_else(|e| panic!("{path} by ada: {e}"));
        assert_ne!(state(&registry), before, "{path}: the change was made");
    }
}

/// A role may register plugins of some types and not others: a `publisher` registers storage
/// plugins, a `Security` plugin it may not; nor may anyone without a principal. The same
/// grant limited to types decides `check_access` on a registered plugin by its type.
#[test]
fn roles_grant_registration_by_plugin_type() {
    let registry = ModuleRegistry::new();
    registry
        .configure_plugin_access_control(
            PluginAccessControlConfig::new()
                .with_role_based_access(true)
                .with_role(Role::new("publisher").allow_types(
                    Operation::Register,
                    "*",
                    [PluginType::Storage],
                ))
                .with_role(Role::new("user").allow_types(
                    Operation::Instantiate,
                    "*",
                    [PluginType::Storage],
                )),
        )
        .unwrap();
    let denied = |err: PluginError, who: &str, what: &str| {
        assert_refused!(
            err,
            SecurityError::AccessDenied { principal, plugin, .. } if principal == who && plugin == what,
            format!("{who} {what}")
        );
    };
    // No principal at all: refused whatever the type.
    denied(
        registry
            .register_plugin(runtime("shelf").with_type(PluginType::Security))
            .unwrap_err(),
        "-",
        "shelf",
    );
    let publisher = registry
        .on_behalf_of(Principal::new("pat").with_role("publisher"))
        .unwrap();
    denied(
        publisher
            .changes(|| registry.register_plugin(runtime("guard").with_type(PluginType::Security)))
            .unwrap_err(),
        "pat",
        "guard",
    );
    assert!(registry.plugin("guard").is_none());
    publisher
        .changes(|| registry.register_plugin(runtime("shelf")))
        .unwrap();
    assert!(registry.plugin("shelf").is_some());
    // A typed grant on a registered plugin: by the type the catalog knows (`vault`, compiled
    // in, is a storage plugin too).
    let user = Principal::new("uma").with_role("user");
    assert!(
        registry
            .check_access(&user, Operation::Instantiate, "shelf")
            .allowed
    );
    assert!(
        registry
            .check_access(&user, Operation::Instantiate, "vault")
            .allowed
    );
    // A name the catalog does not know has no type: a grant limited to types does not cover it.
    assert!(
        !registry
            .check_access(&user, Operation::Instantiate, "nowhere")
            .allowed
    );
}

#[test]
fn roles_grant_operations_on_name_patterns() {
    let registry = ModuleRegistry::new();
    registry
        .register_plugin(runtime("acl-public").add_capability("acl"))
        .unwrap();
    registry
        .register_plugin(runtime("acl-secret").add_capability("acl"))
        .unwrap();
    registry
        .configure_plugin_access_control(
            PluginAccessControlConfig::new()
                .with_role_based_access(true)
                .with_access_logging(true)
                .with_access_monitoring(true)
                .with_role(
                    Role::new("reader")
                        .allow(Operation::Discover, "acl-public")
                        .allow(Operation::Instantiate, "vault"),
                ),
        )
        .unwrap();
    let reader = registry
        .on_behalf_of(Principal::new("rita").with_role("reader"))
        .unwrap();
    let seen = reader
        .discover_plugins(PluginDiscoveryQuery::new().with_name_prefix("acl-"))
        .unwrap();
    assert_eq!(
        seen.iter()
            .map(modreg::PluginInfo::name)
            .collect::<Vec<_>>(),
        ["acl-public"]
    );
    let vault = reader.create_plugin("vault").unwrap();
    let err = vault.process(b"x").unwrap_err();
    assert_refused!(
        err,
        SecurityError::AccessDenied {
            operation: "process",
            ..
        },
        "no process grant"
    );
    let err = reader.unregister_plugin("acl-public").unwrap_err();
    assert_eq!(
        err.to_string(),
        "principal `rita` may not unregister plugin `acl-public`"
    );
    assert!(registry.plugin("acl-public").is_some());

    let admin = registry
        .on_behalf_of(Principal::new("ada").allow(Operation::Unregister, "acl-*"))
        .unwrap();
    admin.unregister_plugin("acl-secret").unwrap();

    let denied = registry.audit_log(|e| !e.decision.allowed);
    assert!(
        denied
            .iter()
            .any(|e| e.principal == "rita" && e.operation == Operation::Unregister)
    );
    let metrics = registry.access_metrics();
    assert!(
        metrics.denied.contains(&(Operation::Unregister, 1)),
        "{metrics:?}"
    );

    let err = registry
        .configure_plugin_access_control(
            PluginAccessControlConfig::new().with_role(Role::new("Bad Role")),
        )
        .unwrap_err();
    assert!(err.to_string().contains("role name"), "{err}");
}

#[test]
fn without_enforcement_every_call_is_allowed_and_still_audited() {
    let registry = ModuleRegistry::new();
    registry
        .configure_plugin_access_control(PluginAccessControlConfig::new().with_access_logging(true))
        .unwrap();
    let anyone = registry.on_behalf_of(Principal::new("anyone")).unwrap();
    anyone
        .create_plugin("vault")
        .unwrap()
        .process(b"x")
        .unwrap();
    let log = registry.audit_log(|e| e.principal == "anyone");
    assert!(
        log.iter()
            .all(|e| e.decision.allowed && e.decision.reason == "not enforced")
    );
    assert!(log.len() >= 2, "{log:?}");
}

#[test]
fn the_audit_file_is_appended_and_survives_a_restart() {
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("audit.jsonl");
    for run in 0..2 {
        let registry = ModuleRegistry::new();
        registry
            .configure_plugin_access_control(
                PluginAccessControlConfig::new()
                    .with_access_logging(true)
                    .with_audit_file(&path),
            )
            .unwrap();
        registry.check_access(
            &Principal::new(format!("run-{run}")),
            Operation::Discover,
            "vault",
        );
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["principal"], "run-0");
    assert_eq!(lines[1]["principal"], "run-1");
    assert_eq!(lines[1]["operation"], "discover");
    // Numbering continues across the restart of the same file.
    assert_eq!(
        (lines[0]["sequence"].as_u64(), lines[1]["sequence"].as_u64()),
        (Some(0), Some(1))
    );
}

/// Two registries appending to one audit file (from several threads) never write the same
/// sequence number, and the file's lines are in sequence order.
/// The audit file a child process of [`two_processes_number_one_audit_file_in_one_sequence`]
/// appends to; unset otherwise.
const AUDIT_CHILD: &str = "MODREG_TEST_AUDIT_CHILD";

/// The child's part: 100 access decisions into the file the parent names.
#[test]
#[ignore = "a child process of two_processes_number_one_audit_file_in_one_sequence"]
fn audit_child_appends() {
    if let Some(path) = std::env::var_os(AUDIT_CHILD) {
        append_100_decisions(std::path::Path::new(&path), "child");
    }
}

/// Three processes append to one audit file at once (this one and two children), rotated
/// every 4 KiB, so each process follows the others' rotations: every entry has its own number,
/// the numbers run from 0 without a gap, and each file's numbers follow the older file's.
#[test]
fn two_processes_number_one_audit_file_in_one_sequence() {
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("audit.jsonl");
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["audit_child_appends", "--exact", "--ignored", "--quiet"])
                .env(AUDIT_CHILD, &path)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    append_100_decisions(&path, "parent");
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let files = audit_files(&path);
    assert!(files.len() > 3, "rotated: {} files", files.len());
    let mut sequences: Vec<u64> = Vec::new();
    for (file, numbers) in &files {
        assert!(numbers.is_sorted(), "{}: {numbers:?}", file.display());
        if let (Some(last), Some(first)) = (sequences.last(), numbers.first()) {
            assert!(
                first > last,
                "{} starts after the older file",
                file.display()
            );
        }
        sequences.extend(numbers);
    }
    assert_eq!(sequences, (0..300).collect::<Vec<u64>>());
}

/// The audit file at `path` and its rotated files, oldest first, each with its entries'
/// sequence numbers in the file's order.
fn audit_files(path: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u64>)> {
    let rotated = |n: u32| std::path::PathBuf::from(format!("{}.{n}", path.display()));
    let older = (1..).map(rotated).take_while(|file| file.exists());
    let mut files: Vec<_> = older.collect();
    files.reverse();
    files.push(path.to_owned());
    files
        .into_iter()
        .map(|file| {
            let numbers = std::fs::read_to_string(&file)
                .unwrap()
                .lines()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(l).unwrap()["sequence"]
                        .as_u64()
                        .unwrap()
                })
                .collect();
            (file, numbers)
        })
        .collect()
}

#[test]
fn the_audit_file_is_rotated_at_its_size_keeping_the_files_asked_for() {
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("audit.jsonl");
    let config = |max_bytes, keep| {
        PluginAccessControlConfig::new()
            .with_access_logging(true)
            .with_audit_file(&path)
            .with_audit_rotation(max_bytes, keep)
    };
    // A size or a count of 0 is refused, and no file is opened.
    for (max_bytes, keep) in [(0, 2), (1_000, 0)] {
        let error = ModuleRegistry::new()
            .configure_plugin_access_control(config(max_bytes, keep))
            .unwrap_err();
        assert!(
            matches!(error.kind(), PluginErrorKind::Invalid { field, .. } if *field == "audit file rotation"),
            "{error:?}"
        );
        assert!(!path.exists());
    }
    let registry = ModuleRegistry::new();
    registry
        .configure_plugin_access_control(config(1_000, 2))
        .unwrap();
    let decide = |n: u64| {
        registry.check_access(
            &Principal::new(format!("p-{n}")),
            Operation::Discover,
            "vault",
        );
    };
    (0..60).for_each(decide);
    let files = audit_files(&path);
    // The file and two earlier ones; what was older is gone.
    assert_eq!(files.len(), 3, "{files:?}");
    let line = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .len() as u64
        + 1;
    for (file, _) in &files[..2] {
        let length = std::fs::metadata(file).unwrap().len();
        assert!(
            (1_000..1_000 + line).contains(&length),
            "{}: {length}",
            file.display()
        );
    }
    assert!(std::fs::metadata(&path).unwrap().len() < 1_000);
    let kept: Vec<u64> = files
        .iter()
        .flat_map(|(_, numbers)| numbers.clone())
        .collect();
    assert_eq!(kept.last(), Some(&59));
    let first = kept[0];
    assert_eq!(kept, (first..60).collect::<Vec<u64>>());
    assert!(first > 0, "the oldest file was removed");

    // A log rotator moves the file away: the next entry begins a new file at the path, and
    // the numbering goes on.
    let moved = scratch.path().join("audit.moved");
    std::fs::rename(&path, &moved).unwrap();
    decide(60);
    let (_, numbers) = audit_files(&path).pop().unwrap();
    assert_eq!(numbers, [60]);
}

/// A rotation that fails (here a directory stands where `PATH.2` goes) loses no entry, and is
/// not tried again at every entry: only once the file grew by another sixteenth of its size.
#[test]
fn a_rotation_that_fails_is_tried_again_after_the_file_grew() {
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("audit.jsonl");
    let obstacle = std::path::PathBuf::from(format!("{}.2", path.display()));
    std::fs::create_dir(&obstacle).unwrap();
    std::fs::write(obstacle.join("kept"), b"").unwrap();
    std::fs::write(format!("{}.1", path.display()), b"").unwrap();
    let max_bytes = 16_000;
    let registry = ModuleRegistry::new();
    registry
        .configure_plugin_access_control(
            PluginAccessControlConfig::new()
                .with_access_logging(true)
                .with_audit_file(&path)
                .with_audit_rotation(max_bytes, 2),
        )
        .unwrap();
    let mut decisions = 0u64;
    let mut decide = || {
        registry.check_access(
            &Principal::new(format!("p-{decisions}")),
            Operation::Discover,
            "vault",
        );
        decisions += 1;
        std::fs::metadata(&path).unwrap().len()
    };
    // Past the size: the rotation fails, the file grows on.
    let mut failed_at = decide();
    while failed_at < max_bytes {
        failed_at = decide();
    }
    assert!(
        decide() > failed_at,
        "the file was rotated past a directory"
    );
    // The way is clear now, but the next attempt waits for a sixteenth more.
    std::fs::remove_dir_all(&obstacle).unwrap();
    let mut length = decide();
    assert!(
        length > failed_at,
        "tried again at the next entry, not after the file grew by a sixteenth"
    );
    while length >= max_bytes {
        assert!(
            length < failed_at + max_bytes / 16 + 1_000,
            "not tried again after the file grew by a sixteenth: {length}"
        );
        length = decide();
    }
    // Once a rotation worked, the next one is at the size again.
    let mut previous = length;
    loop {
        let length = decide();
        if length < previous {
            break;
        }
        previous = length;
    }
    let rotated = std::fs::metadata(format!("{}.1", path.display()))
        .unwrap()
        .len();
    assert!(
        (max_bytes..max_bytes + 1_000).contains(&rotated),
        "the next rotation came late: {rotated}"
    );
    let numbers: Vec<u64> = audit_files(&path)
        .into_iter()
        .flat_map(|(_, numbers)| numbers)
        .collect();
    assert_eq!(
        numbers,
        (0..decisions).collect::<Vec<_>>(),
        "an entry was lost"
    );
}

/// 100 access decisions by principals named after `who`, into the audit file at `path`.
fn append_100_decisions(path: &std::path::Path, who: &str) {
    let registry = ModuleRegistry::new();
    registry
        .configure_plugin_access_control(
            PluginAccessControlConfig::new()
                .with_access_logging(true)
                .with_audit_file(path)
                .with_audit_rotation(4 << 10, 1_000),
        )
        .unwrap();
    for n in 0..100 {
        registry.check_access(
            &Principal::new(format!("{who}-{n}")),
            Operation::Discover,
            "vault",
        );
    }
}

#[test]
fn sequence_numbers_are_unique_per_audit_file() {
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("audit.jsonl");
    let registries: Vec<ModuleRegistry> = (0..2)
        .map(|_| {
            let registry = ModuleRegistry::new();
            registry
                .configure_plugin_access_control(
                    PluginAccessControlConfig::new()
                        .with_access_logging(true)
                        .with_audit_file(&path),
                )
                .unwrap();
            registry
        })
        .collect();
    std::thread::scope(|scope| {
        for (i, registry) in registries.iter().enumerate() {
            for t in 0..2 {
                scope.spawn(move || {
                    for n in 0..50 {
                        registry.check_access(
                            &Principal::new(format!("r{i}-t{t}-{n}")),
                            Operation::Discover,
                            "vault",
                        );
                    }
                });
            }
        }
    });
    let sequences: Vec<u64> = audit_files(&path)
        .into_iter()
        .flat_map(|(_, numbers)| numbers)
        .collect();
    assert_eq!(sequences, (0..200).collect::<Vec<u64>>());
}

/// A sealing key, an audit file and the replay and signed versions state files that cannot be
/// used are each `PluginErrorKind::File`, the message naming what the file is for and where it
/// is (they were once called configuration files, or the state file a module).
#[test]
fn files_the_host_keeps_are_named_for_what_they_are_in_errors() {
    type Use = Box<dyn Fn() -> Result<(), PluginError>>;
    let scratch = tempfile::tempdir().unwrap();
    let not_a_state = scratch.path().join("state.json");
    std::fs::write(&not_a_state, "not a state").unwrap();
    let nowhere = scratch.path().join("no-such-directory").join("audit.log");
    let (dir, audit, state) = (
        scratch.path().to_owned(),
        nowhere.clone(),
        not_a_state.clone(),
    );
    #[allow(unused_mut)] // pushed to with the `wasm` feature
    let mut cases: Vec<(&str, &std::path::Path, Use)> = vec![
        (
            "secret key file",
            scratch.path(),
            Box::new(move || SecretKey::from_file(&dir).map(drop)),
        ),
        (
            "audit file",
            &nowhere,
            Box::new(move || {
                ModuleRegistry::new().configure_plugin_access_control(
                    PluginAccessControlConfig::new()
                        .with_access_logging(true)
                        .with_audit_file(&audit),
                )
            }),
        ),
        (
            "replay state file",
            &not_a_state,
            Box::new(move || {
                ModuleRegistry::new()
                    .security()
                    .persist_replay_state(&state)
            }),
        ),
    ];
    #[cfg(feature = "wasm")]
    {
        let state = not_a_state.clone();
        cases.push((
            "signed versions state file",
            &not_a_state,
            Box::new(move || {
                let config = modreg::WasmConfig::new().with_state_file(&state);
                ModuleRegistry::new().wasm().configure_wasm(config)
            }),
        ));
    }
    for (what, path, use_it) in cases {
        let error = use_it().unwrap_err();
        assert!(
            matches!(error.kind(), PluginErrorKind::File { what: said, path: at, .. }
                if *said == what && at == &path.display().to_string()),
            "{what}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("{what} `{}`: ", path.display())),
            "{message}"
        );
    }
}

#[test]
fn an_audit_file_that_cannot_be_written_fails_closed() {
    let run = |fail_open: bool| {
        let registry = ModuleRegistry::new();
        registry
            .configure_plugin_access_control(
                PluginAccessControlConfig::new()
                    .with_access_logging(true)
                    .with_permission_validation(true)
                    .with_audit_file("/dev/full")
                    .with_audit_fail_open(fail_open),
            )
            .unwrap();
        registry.grant_permissions(["fs.read"]).unwrap();
        let access = registry.check_access(&Principal::new("ops"), Operation::Discover, "vault");
        let created = registry.create_plugin("reader").map(|_| ());
        (access, created)
    };
    // Closed (the default): nothing happens unrecorded.
    let (access, created) = run(false);
    assert!(
        !access.allowed && access.reason.contains("audit file"),
        "{access:?}"
    );
    assert_refused!(created, SecurityError::AuditUnavailable { .. });
    // Open, when asked for: the operations go ahead.
    let (access, created) = run(true);
    assert!(access.allowed, "{access:?}");
    assert!(created.is_ok(), "{created:?}");
}

#[test]
fn names_cannot_forge_audit_log_lines() {
    let registry = ModuleRegistry::new();
    registry
        .configure_plugin_access_control(PluginAccessControlConfig::new().with_access_logging(true))
        .unwrap();
    let text = common::logs(|| {
        registry.check_access(
            &Principal::new("ops"),
            Operation::Discover,
            "vault\nINFO modreg::audit: access allowed=true\r\u{1b}[2K",
        );
    });
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
}

#[test]
fn sealed_settings_open_only_for_their_plugin_and_only_with_encryption_on() {
    let key = SecretKey::from_hex(SECRET).unwrap();
    let sealed = key.seal("database", "password", "correct horse").unwrap();
    let registry = ModuleRegistry::new();
    registry
        .registrations()
        .set_plugin_settings(
            "database",
            PluginSettings::from_toml(&format!("password = \"{sealed}\"")).unwrap(),
        )
        .unwrap();
    let err = registry.create_plugin("database").err().unwrap();
    assert!(
        err.to_string().contains("plugin encryption is off"),
        "{err}"
    );

    registry
        .configure_advanced_plugin_security(
            AdvancedPluginSecurityConfig::new()
                .with_plugin_encryption(true)
                .with_secret_key(key.clone()),
        )
        .unwrap();
    let db = registry.create_plugin("database").unwrap();
    assert_eq!(
        db.process(b"").unwrap(),
        b"13",
        "the plugin got the plaintext"
    );

    let elsewhere = key.seal("vault", "password", "correct horse").unwrap();
    registry
        .registrations()
        .set_plugin_settings(
            "database",
            PluginSettings::from_toml(&format!("password = \"{elsewhere}\"")).unwrap(),
        )
        .unwrap();
    let err = registry.create_plugin("database").err().unwrap();
    assert!(err.to_string().contains("key `password`"), "{err}");

    let shown = format!("{registry:?} {key:?} {:?}", registry.security());
    assert!(
        !shown.contains("correct horse") && !shown.contains(SECRET),
        "{shown}"
    );
}

/// Reads files: creating it needs `fs.read`.
#[plugin(type = Storage, version = "1.0.0", permissions = ["fs.read"])]
#[derive(Default)]
struct Reader;

impl PluginBehavior for Reader {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

#[derive(serde::Deserialize)]
struct PinConfig {
    pin: u32,
}

/// A plugin whose setting is a number: a sealed string there is a type error.
#[plugin(type = Security, version = "1.0.0", config = PinConfig)]
struct PinPad {
    pin: u32,
}

impl PinPad {
    fn from_config(PinConfig { pin }: PinConfig) -> Result<Self, PluginError> {
        Ok(PinPad { pin })
    }
}

impl PluginBehavior for PinPad {
    fn process(&self, _: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(self.pin.to_string().into_bytes())
    }
}

#[test]
fn a_sealed_value_is_bound_to_its_field_and_never_shown() {
    let key = SecretKey::from_hex(SECRET).unwrap();
    let registry = ModuleRegistry::new();
    registry
        .configure_advanced_plugin_security(
            AdvancedPluginSecurityConfig::new()
                .with_plugin_encryption(true)
                .with_secret_key(key.clone()),
        )
        .unwrap();

    // A string where a number belongs: the error names the key, never the plaintext, in
    // any form an error or a log may write it (as is, escaped as Rust, TOML or JSON escape it).
    for secret in [
        "hunter2",
        "hun\"ter2",
        "hun\\ter2",
        "hun\nter2",
        "hun\u{1b}[31mter2",
        "hun\tter2",
        "hün\u{7}ter2",
    ] {
        let sealed = key.seal("pin-pad", "pin", secret).unwrap();
        registry
            .registrations()
            .set_plugin_settings(
                "pin-pad",
                PluginSettings::from_toml(&format!("pin = \"{sealed}\"")).unwrap(),
            )
            .unwrap();
        let err = registry.create_plugin("pin-pad").err().unwrap();
        let shown = format!("{err} {err:?}");
        let json = serde_json::to_string(secret).unwrap();
        for form in [
            secret.to_owned(),
            secret.escape_debug().to_string(),
            secret.escape_default().to_string(),
            json.trim_matches('"').to_owned(),
        ] {
            assert!(
                !shown.contains(&form),
                "{secret:?} shown as {form:?}: {shown}"
            );
        }
        assert!(
            shown.contains("<sealed>") || shown.contains("key `pin`"),
            "{shown}"
        );
    }

    // A value sealed for one field does not open in another.
    let for_token = key.seal("database", "token", "correct horse").unwrap();
    registry
        .registrations()
        .set_plugin_settings(
            "database",
            PluginSettings::from_toml(&format!("password = \"{for_token}\"")).unwrap(),
        )
        .unwrap();
    let err = registry.create_plugin("database").err().unwrap();
    assert!(err.to_string().contains("key `password`"), "{err}");
    let for_password = key.seal("database", "password", "correct horse").unwrap();
    registry
        .registrations()
        .set_plugin_settings(
            "database",
            PluginSettings::from_toml(&format!("password = \"{for_password}\"")).unwrap(),
        )
        .unwrap();
    assert_eq!(
        registry
            .create_plugin("database")
            .unwrap()
            .process(b"")
            .unwrap(),
        b"13"
    );
}

#[test]
fn with_authentication_every_state_change_is_signed_and_none_replays() {
    let registry = signing::signing_registry();
    let manifest = |version: &str, extra: &str| {
        signed(
            &format!("name = \"ledger\"\nversion = \"{version}\"\ntype = \"storage\"\n{extra}"),
            "release",
            SIGNER,
        )
    };
    let v1 = manifest("1.0.0", "");
    let v2 = manifest("2.0.0", "");
    registry.register_signed_manifest(&v1).unwrap();
    registry.register_signed_manifest(&v2).unwrap_err(); // taken: replace needs a removal first

    // Unsigned changes are refused.
    assert_refused!(
        registry.registrations().unregister_plugin("ledger"),
        SecurityError::Unsigned { .. }
    );
    assert_refused!(
        registry
            .registrations()
            .set_plugin_settings("ledger", PluginSettings::new().with("level", 1)),
        SecurityError::Unsigned { .. }
    );

    // A signed removal names the version it removes.
    let remove_v1 = manifest("1.0.0", "action = \"unregister\"\n");
    registry.register_signed_manifest(&remove_v1).unwrap();
    assert!(registry.plugin("ledger").is_none());
    // The old manifest cannot bring the removed version back, nor a lower one.
    let err = registry.register_signed_manifest(&v1).unwrap_err();
    assert!(err.to_string().contains("not newer"), "{err}");
    let err = registry
        .register_signed_manifest(&manifest("0.9.0", ""))
        .unwrap_err();
    assert!(err.to_string().contains("not newer"), "{err}");
    registry.register_signed_manifest(&v2).unwrap();
    assert_eq!(registry.plugin("ledger").unwrap().version(), "2.0.0");
    // Replaying the removal of 1.0.0 does not remove 2.0.0.
    assert!(registry.register_signed_manifest(&remove_v1).is_err());
    assert!(registry.plugin("ledger").is_some());

    // Signed settings carry a serial that only goes up.
    let settings = |serial: u64, level: i64| {
        manifest(
            "2.0.0",
            &format!("action = \"settings\"\nserial = {serial}\n[settings]\nlevel = {level}\n"),
        )
    };
    registry.register_signed_manifest(&settings(1, 3)).unwrap();
    registry.register_signed_manifest(&settings(2, 5)).unwrap();
    let err = registry
        .register_signed_manifest(&settings(1, 3))
        .unwrap_err();
    assert!(err.to_string().contains("serial"), "{err}");
}

/// Replay protection outlives the process when the host names a state file: after a
/// "restart" (a new registry on the same file) old manifests are still refused; a file that
/// is not a replay state fails closed; a refused change leaves the file as it was.
#[test]
fn replay_state_kept_in_a_file_refuses_old_manifests_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("replay.json");
    let start = || replay_kept_in(&file);
    let manifest = |version: &str, extra: &str| storage_manifest("ledger", version, extra);
    let settings = |serial: u64| {
        manifest(
            "2.0.0",
            &format!("action = \"settings\"\nserial = {serial}\n[settings]\nlevel = 1\n"),
        )
    };
    let registry = start();
    registry
        .register_signed_manifest(&manifest("2.0.0", ""))
        .unwrap();
    registry.register_signed_manifest(&settings(7)).unwrap();
    let kept = std::fs::read(&file).unwrap();
    // Refused by the registry (the name is taken): the file does not move.
    assert!(
        registry
            .register_signed_manifest(&manifest("3.0.0", ""))
            .is_err()
    );
    assert_eq!(std::fs::read(&file).unwrap(), kept);
    drop(registry);

    let restarted = start();
    let err = restarted
        .register_signed_manifest(&manifest("1.0.0", ""))
        .unwrap_err();
    assert!(err.to_string().contains("not newer"), "{err}");
    restarted
        .register_signed_manifest(&manifest("3.0.0", ""))
        .unwrap();
    let err = restarted
        .register_signed_manifest(&settings(7))
        .unwrap_err();
    assert!(err.to_string().contains("serial"), "{err}");
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["replay.json", "replay.json.lock"],
        "no staged file left"
    );

    std::fs::write(&file, "not a replay state").unwrap();
    let fresh = ModuleRegistry::new();
    assert!(fresh.security().persist_replay_state(&file).is_err());
}

/// A registry trusting the signing key `release`, keeping its replay state in `file`.
fn replay_kept_in(file: &std::path::Path) -> ModuleRegistry {
    let registry = signing::signing_registry();
    registry.security().persist_replay_state(file).unwrap();
    registry
}

/// A manifest of the storage plugin `name` at `version` (then the lines `extra`), signed by
/// `release`.
fn storage_manifest(name: &str, version: &str, extra: &str) -> String {
    signed(
        &format!("name = \"{name}\"\nversion = \"{version}\"\ntype = \"storage\"\n{extra}"),
        "release",
        SIGNER,
    )
}

/// Two registries (or processes) sharing one replay state file: each refuses what the other's
/// accepted manifests make old, and neither writes over what the other recorded.
#[test]
fn sharers_of_a_replay_state_file_refuse_what_the_other_made_old() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("replay.json");
    let start = || replay_kept_in(&file);
    let manifest = |name: &str, version: &str| storage_manifest(name, version, "");
    let first = start();
    let second = start();
    first
        .register_signed_manifest(&manifest("ledger", "2.0.0"))
        .unwrap();
    // The second took in the file before `ledger` 2.0.0 was accepted: 1.0.0 is old all the
    // same.
    let err = second
        .register_signed_manifest(&manifest("ledger", "1.0.0"))
        .unwrap_err();
    assert!(err.to_string().contains("not newer"), "{err}");
    second
        .register_signed_manifest(&manifest("journal", "1.0.0"))
        .unwrap();
    drop((first, second));
    let restarted = start();
    for (name, version) in [("ledger", "2.0.0"), ("journal", "1.0.0")] {
        let err = restarted
            .register_signed_manifest(&manifest(name, version))
            .unwrap_err();
        assert!(err.to_string().contains("not newer"), "{name}: {err}");
    }
}

pub trait Keeper: Send + Sync {
    fn secret_len(&self) -> usize;
}

modreg::registry!(pub KEEPERS: dyn Keeper);

#[derive(serde::Deserialize)]
struct TokenConfig {
    token: String,
}

#[plugin(registry = KEEPERS, config = TokenConfig)]
struct TokenVault {
    token: String,
}

impl TokenVault {
    fn from_config(TokenConfig { token }: TokenConfig) -> Result<Self, PluginError> {
        Ok(TokenVault { token })
    }
}

impl Keeper for TokenVault {
    fn secret_len(&self) -> usize {
        self.token.len()
    }
}

#[test]
fn a_typed_registry_through_the_host_gets_opened_settings() {
    let key = SecretKey::from_hex(SECRET).unwrap();
    let registry = ModuleRegistry::new();
    let sealed = key.seal("token-vault", "token", "open sesame").unwrap();
    registry
        .registrations()
        .set_typed_plugin_settings(
            &KEEPERS,
            "token-vault",
            PluginSettings::from_toml(&format!("token = \"{sealed}\"")).unwrap(),
        )
        .unwrap();
    // A name the typed registry does not have is refused.
    assert!(
        registry
            .registrations()
            .set_typed_plugin_settings(&KEEPERS, "no-such-vault", PluginSettings::new())
            .is_err()
    );
    // Encryption off: the sealed value is an error, not handed over.
    let err = registry
        .instances()
        .create_from(&KEEPERS, "token-vault")
        .err()
        .unwrap();
    assert!(err.to_string().contains("key `token`"), "{err}");
    registry
        .configure_advanced_plugin_security(
            AdvancedPluginSecurityConfig::new()
                .with_plugin_encryption(true)
                .with_secret_key(key),
        )
        .unwrap();
    let vault = registry
        .instances()
        .create_from(&KEEPERS, "token-vault")
        .unwrap();
    assert_eq!(vault.secret_len(), "open sesame".len());
}
