//! The WebAssembly sandbox: guests built from source (`examples/wasm-guests`), loaded at run
//! time, found by the same queries as compiled-in plugins, and stopped with a typed error
//! whenever they misbehave, while the host goes on serving.

#[path = "support/c_guest.rs"]
mod c_guest;
#[path = "support/held_memory.rs"]
mod held_memory;
#[macro_use]
#[path = "support/refusals.rs"]
mod refusals;
#[path = "support/seeded.rs"]
mod seeded;
#[path = "support/signing.rs"]
mod signing;
#[path = "support/wasm_guests.rs"]
mod wasm_guests;
#[path = "support/wasm_text.rs"]
#[allow(dead_code)]
mod wasm_text;

use std::time::{Duration, Instant};

use guest_hostile_typed::PROBES;

use modreg::{
    AdvancedPluginMonitoringConfig, AlertKind, GuestState, ModuleRegistry, Operation,
    PluginAccessControlConfig, PluginCapabilityQuery, PluginConfig, PluginError, PluginErrorKind,
    PluginMonitoringConfig, PluginType, Principal, Role, SecurityError, WasmConfig, WasmEngine,
    WasmSignature,
};

use signing::RELEASE_SECRET as SECRET;

/// Counts the heap each thread holds (`replaced_and_refused_modules_give_their_memory_back`).
#[global_allocator]
static HEAP: held_memory::Counting = held_memory::Counting;
/// Whether an error is the one expected.
type Check = fn(&PluginError) -> bool;

const OTHER_SECRET: &str = "0808080808080808080808080808080808080808080808080808080808080808";

fn module(name: &str) -> Vec<u8> {
    std::fs::read(wasm_guests::plugin_dir().join(name)).expect("the guest was built")
}

/// A registry whose sandbox runs under `config`, nothing loaded.
fn registry_with(config: WasmConfig) -> ModuleRegistry {
    let registry = ModuleRegistry::new();
    registry.wasm().configure_wasm(config).unwrap();
    registry
}

/// A registry with both guest modules loaded under `config`.
fn host(config: WasmConfig) -> ModuleRegistry {
    let registry = registry_with(config);
    let report = registry
        .wasm()
        .load_wasm_plugins(wasm_guests::plugin_dir())
        .expect("the plugin directory is readable");
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(report.loaded.len(), 2, "{report:?}");
    registry
}

fn strict(engine: WasmEngine) -> WasmConfig {
    WasmConfig::new()
        .with_engine(engine)
        .with_time_budget(Duration::from_millis(300))
        .with_memory_limit(16 << 20)
        .with_max_output_bytes(1 << 20)
}

/// What plugin `name`, newly created, answers to an empty input.
fn answer_of(registry: &ModuleRegistry, name: &str) -> Vec<u8> {
    registry.create_plugin(name).unwrap().process(b"").unwrap()
}

fn rot13_still_answers(registry: &ModuleRegistry) {
    let rot13 = registry.create_plugin("rot13").unwrap();
    assert_eq!(rot13.process(b"Hello").unwrap(), b"Uryyb");
}

fn a_codec_compiled_from_the_bundled_source_runs_in_the_sandbox(engine: WasmEngine) {
    let registry = host(WasmConfig::new().with_engine(engine));
    let hex = registry.create_plugin("wasm-hex-encode").unwrap();
    assert_eq!(hex.process(b"hi").unwrap(), b"6869");
    assert_eq!(hex.version(), env!("CARGO_PKG_VERSION"));
    let decode = registry.create_plugin("wasm-hex-decode").unwrap();
    assert!(decode.process(b"zz").unwrap_err().is_plugin_failure());
    // The same instance keeps working after its own error.
    assert_eq!(decode.process(b"6869").unwrap(), b"hi");
    rot13_still_answers(&registry);
    // 64 KiB in, 128 KiB out.
    let big = vec![0xabu8; 64 << 10];
    assert_eq!(hex.process(&big).unwrap().len(), 128 << 10);
}

/// The conformance kit, one table over guests in two languages: the bundled hex codec compiled
/// from its Rust source, and the same codec written in C. Every case passes on both.
fn guests_in_rust_and_in_c_pass_the_conformance_kit(engine: WasmEngine) {
    let guests = [
        ("rust", wasm_guests::plugin_dir().join("codecs.wasm")),
        ("c", c_guest::c_hex_module()),
    ];
    for (language, path) in guests {
        let report = modreg::conformance::check_hex_codec_file_in(engine, &path).unwrap();
        assert!(report.conforms(), "the {language} guest:\n{report}");
        assert_eq!(report.passed(), modreg::conformance::CASES.len());
        assert!(report.passed() >= 20);
    }
    // A hex codec in name only (it echoes its input) fails the cases that check answers, and
    // passes those an echo happens to meet (an empty input encodes to nothing).
    let fake = modreg::conformance::check_hex_codec_in(
        engine,
        "fake.wasm",
        &wasm_text::fake_hex_codec("fake"),
    )
    .unwrap();
    assert!(!fake.conforms(), "{fake}");
    let failed: Vec<&str> = fake
        .cases
        .iter()
        .filter(|case| case.result.is_err())
        .map(|case| case.name)
        .collect();
    for name in [
        "encode-every-byte",
        "decode-lowercase",
        "decode-odd-length",
        "round-trip-64-bytes",
    ] {
        assert!(failed.contains(&name), "{name} should fail: {fake}");
    }
    assert!(!failed.contains(&"encode-empty"), "{fake}");
    assert!(fake.to_string().contains("does not conform"));

    // A module with no hex codec does not conform, and says so.
    let report = modreg::conformance::check_hex_codec_file_in(
        engine,
        &wasm_guests::plugin_dir().join("hostile.wasm"),
    )
    .unwrap();
    assert!(!report.conforms());
    assert!(report.plugins.is_none());
    assert!(report.to_string().contains("lists no plugin"), "{report}");
}

fn wasm_plugins_are_found_by_the_same_queries(engine: WasmEngine) {
    let registry = host(WasmConfig::new().with_engine(engine));
    let found = registry
        .discover_plugins_by_capabilities(
            PluginCapabilityQuery::new().with_required_capabilities(["rot13"]),
        )
        .unwrap();
    assert_eq!(found.len(), 1);
    let info = registry.plugin("rot13").unwrap();
    assert_eq!(
        info.metadata().get("wasm.module").copied(),
        Some("codecs.wasm")
    );
    assert_eq!(
        info.metadata().get("description").copied(),
        Some("Rotates ASCII letters by 13 places")
    );
    assert_eq!(
        registry.plugin("read-passwd").unwrap().permissions(),
        ["file.read"]
    );
}

/// Every hostile guest, with the error the sandbox stops it with.
fn hostile_guests_are_stopped_with_typed_errors_and_the_host_goes_on(engine: WasmEngine) {
    let registry = host(strict(engine));
    // The same guests written in C, named with `c-` in front: the table runs over both.
    registry
        .wasm()
        .load_wasm_plugin(c_guest::c_hostile_module())
        .unwrap();
    registry
        .configure_plugin_monitoring(PluginMonitoringConfig::new().with_plugin_metrics(true))
        .unwrap();
    let table: [(&str, &[u8], Check); 7] = [
        ("spin", b"", |e| {
            matches!(e.kind(), PluginErrorKind::Timeout { .. })
        }),
        (
            "memory-bomb",
            b"",
            |e| matches!(e.kind(), PluginErrorKind::MemoryLimit { limit, .. } if *limit == 16 << 20),
        ),
        (
            "read-passwd",
            b"",
            |e| matches!(e.kind(), PluginErrorKind::PermissionDenied { permission, .. } if permission == "file.read"),
        ),
        (
            "read-env",
            b"HOME",
            |e| matches!(e.kind(), PluginErrorKind::PermissionDenied { permission, .. } if permission == "env.home"),
        ),
        (
            "recurse",
            b"",
            |e| matches!(e.kind(), PluginErrorKind::Trapped { trap, .. } if trap.contains("stack")),
        ),
        (
            "panic",
            b"",
            |e| matches!(e.kind(), PluginErrorKind::Panicked { message, .. } if message.contains("on purpose")),
        ),
        (
            "flood",
            &[8],
            |e| matches!(e.kind(), PluginErrorKind::TooLarge { what: "output", size, .. } if *size == 8 << 20),
        ),
    ];
    // And the Rust guests again behind a typed method of a `#[sandboxed]` trait: the sandbox
    // stops the typed call with the same error, which reaches the caller inside the trait's.
    // (The test links the same plugins in: the module's take their names, as the host allows.)
    // Its output cap is 256 KiB, so that a flood of 1 MiB meets it: the guest encodes the
    // whole answer first, which at 3 MiB took close to the 300 ms budget in a debug build on
    // a loaded machine (a `Timeout` instead of `TooLarge`, seen once).
    let typed = host(
        strict(engine)
            .with_replace_compiled(true)
            .with_max_output_bytes(256 << 10),
    );
    typed
        .configure_plugin_monitoring(PluginMonitoringConfig::new().with_plugin_metrics(true))
        .unwrap();
    typed.registrations().add_registry(&PROBES);
    typed
        .wasm()
        .load_wasm_plugin(wasm_guests::typed_hostile_module())
        .unwrap();
    // A typed answer is held about three times in the guest (the value, and its encoding as
    // the encoder's buffer doubles): the flood is 1 MiB here, so that the output cap
    // (256 KiB), not the memory cap (16 MiB), is what it meets.
    let typed_flood: (&str, &[u8], Check) = (
        "flood",
        &[1],
        |e| matches!(e.kind(), PluginErrorKind::TooLarge { what: "output", size, .. } if *size > 1 << 20),
    );
    let typed_table = table.map(|row| if row.0 == "flood" { typed_flood } else { row });
    for (name, input, expected) in typed_table {
        let name = &format!("typed-{name}");
        for attempt in 0..2 {
            let probe = typed.instances().create_from(&PROBES, name).unwrap();
            let error = probe.run(input).unwrap_err();
            match &error.sandbox {
                Some(sandbox) => {
                    assert!(expected(sandbox), "{name} (attempt {attempt}): {sandbox:?}")
                }
                // A refused capability is the plugin's own error to report: it failed to read.
                None => assert!(
                    name.starts_with("typed-read-") && error.message.contains("denied by the host"),
                    "{name} (attempt {attempt}): {error:?}"
                ),
            }
            rot13_still_answers(&typed);
        }
        // Its calls are a plugin's calls: monitoring counts them, under its name.
        let metrics = typed.plugin_metrics(name).unwrap();
        assert_eq!((metrics.calls, metrics.errors), (2, 2), "{name}");
    }

    // The host's fan-out over the registry calls what the module alone has too: after the
    // table's plugins (here the module's, in their place), by name, with no descriptor.
    let mut called = Vec::new();
    typed
        .instances()
        .fan_out(&PROBES)
        .for_each(|callee, _| {
            called.push((callee.name().to_owned(), callee.descriptor().is_some()))
        })
        .unwrap();
    let (last, in_table) = called.pop().unwrap();
    assert_eq!(
        (last.as_str(), in_table),
        ("typed-only-in-the-module", false)
    );
    assert_eq!(called.len(), PROBES.in_order().unwrap().len());
    assert!(called.iter().all(|(_, in_table)| *in_table), "{called:?}");
    let answer = typed
        .instances()
        .fan_out(&PROBES)
        .first_some(|probe| probe.run(b"hi").ok())
        .unwrap();
    assert_eq!(answer.as_deref(), Some(b"from the module: hi".as_slice()));
    for (language, prefix) in [("rust", ""), ("c", "c-")] {
        for (name, input, expected) in table {
            let name = &format!("{prefix}{name}");
            for attempt in 0..2 {
                // A fresh instance each time: after a panic, the wrapper refuses further calls on
                // the same instance (`Failed`), as it does for native plugins.
                let plugin = registry.create_plugin(name).unwrap();
                let started = Instant::now();
                let error = plugin.process(input).unwrap_err();
                assert!(
                    expected(&error),
                    "{language} {name} (attempt {attempt}): {error:?}"
                );
                assert!(
                    error.is_plugin_failure()
                        || matches!(
                            error.kind(),
                            PluginErrorKind::PermissionDenied { .. }
                                | PluginErrorKind::TooLarge { .. }
                        ),
                    "{name}: {error:?}"
                );
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "{name} took {:?}",
                    started.elapsed()
                );
                rot13_still_answers(&registry);
            }
            let metrics = registry.plugin_metrics(name).unwrap();
            assert_eq!(
                (metrics.calls, metrics.errors),
                (2, 2),
                "{name}: monitoring counts it"
            );
        }
    }
}

fn the_time_budget_frees_the_thread_within_its_budget(engine: WasmEngine) {
    let registry = host(
        WasmConfig::new()
            .with_engine(engine)
            .with_time_budget(Duration::from_millis(100)),
    );
    // A guest that spins, and one that reports a 4 KiB panic message in a loop (a call into
    // the host that checks no deadline: only the call's first message is read, so a slice of
    // fuel stays short; reading each, it ran 268-270 ms in a release build, now 102-104 ms:
    // `cargo test --release -p modreg --features wasm --test wasm the_time_budget -- --nocapture`).
    let panicky = wasm_text::text_guest(
        r#"(module
            (import "modreg" "panic_message" (func $panic (param i32 i32)))
            (memory (export "memory") 1)
            (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "modreg_process") (param i32 i32 i32) (result i32)
                (loop $again
                    (call $panic (i32.const 0) (i32.const 4096))
                    (br $again))
                (i32.const 0)))"#,
        "panicky",
        "1.0.0",
    );
    registry
        .wasm()
        .load_wasm_bytes("panicky.wasm", &panicky, None)
        .unwrap();
    for name in ["spin", "panicky"] {
        let plugin = registry.create_plugin(name).unwrap();
        let started = Instant::now();
        assert!(matches!(
            plugin.process(b"").unwrap_err().kind(),
            PluginErrorKind::Timeout { .. }
        ));
        // Stopped between slices of fuel: within the budget and one slice.
        let took = started.elapsed();
        eprintln!("{engine:?}: {name} stopped after {took:?} (budget 100 ms)");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
}

fn a_fuel_cap_stops_a_loop_deterministically(engine: WasmEngine) {
    let registry = host(
        WasmConfig::new()
            .with_engine(engine)
            .with_fuel(5_000_000)
            .with_time_budget(Duration::from_secs(60)),
    );
    let error = registry
        .create_plugin("spin")
        .unwrap()
        .process(b"")
        .unwrap_err();
    assert!(
        matches!(error.kind(), PluginErrorKind::Trapped { trap, .. } if trap.contains("fuel of 5000000")),
        "{error:?}"
    );
}

fn grants_open_only_what_they_name(engine: WasmEngine) {
    // One directory per engine: the engines' tests run at once.
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    std::fs::create_dir_all(dir.join("inner")).unwrap();
    std::fs::write(dir.join("inner/allowed.txt"), b"granted contents").unwrap();
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink("/etc/passwd", dir.join("escape"));
    let registry = host(
        strict(engine)
            .with_read_dir(dir)
            .with_env_var("MODREG_GUEST_GREETING"),
    );
    let read = registry.create_plugin("read-passwd").unwrap();
    let inside = dir.join("inner/allowed.txt");
    assert_eq!(
        read.process(inside.to_str().unwrap().as_bytes()).unwrap(),
        b"granted contents"
    );
    assert_eq!(
        read.process(b"inner/allowed.txt").unwrap(),
        b"granted contents"
    );
    for outside in [
        "/etc/passwd",
        "../../../../etc/passwd",
        "inner/../../etc/passwd",
        "escape",
    ] {
        let error = read.process(outside.as_bytes()).unwrap_err();
        assert!(
            matches!(error.kind(), PluginErrorKind::PermissionDenied { permission, .. } if permission == "file.read"),
            "{outside}: {error:?}"
        );
    }
    // Inside the grant but absent: not found, which the guest reports as its own error.
    let missing = read.process(b"inner/nothing.txt").unwrap_err();
    assert!(
        matches!(missing.kind(), PluginErrorKind::Processing { reason, .. } if reason.contains("not found")),
        "{missing:?}"
    );
    // A FIFO inside the grant is not a file: the host call fails at once instead of waiting
    // for a writer past the call's time budget.
    #[cfg(unix)]
    {
        let status = std::process::Command::new("mkfifo")
            .arg(dir.join("inner/pipe"))
            .status()
            .unwrap();
        assert!(status.success());
        let reader = registry.create_plugin("read-passwd").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(reader.process(b"inner/pipe").map_err(|e| e.to_string()));
        });
        let answer = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("reading a FIFO answers at once");
        assert!(answer.is_err(), "{answer:?}");
    }
    // The variable is granted; any other is refused.
    let env = registry.create_plugin("read-env").unwrap();
    assert!(matches!(
        env.process(b"PATH").unwrap_err().kind(),
        PluginErrorKind::PermissionDenied { .. }
    ));
    let greeting = env.process(b"MODREG_GUEST_GREETING");
    assert!(
        matches!(
            greeting.as_ref().map_err(PluginError::kind),
            Ok(_) | Err(PluginErrorKind::Processing { .. })
        ),
        "granted: found or not set, never denied: {greeting:?}"
    );
    // Every refusal is in the registry's audit log, counted as a denied `process`.
    let refusals = registry.audit_log(|e| e.principal == "sandbox" && !e.decision.allowed);
    assert_eq!(refusals.len(), 5, "{refusals:?}");
    assert!(refusals[0].decision.reason.contains("/etc/passwd"));
    let denied = registry.access_metrics().denied;
    assert!(denied.contains(&(Operation::Process, 5)), "{denied:?}");
    // A guest that asks again and again is refused every time, and recorded at most 16 times
    // a call: it cannot write the audit log (and its file) as fast as it can call.
    let asker = wasm_text::text_guest(
        r#"(module
            (import "modreg" "env_var" (func $env (param i32 i32 i32 i32) (result i64)))
            (memory (export "memory") 1)
            (data (i32.const 64) "PATH")
            (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "modreg_process") (param i32 i32 i32) (result i32)
                (local $left i32)
                (local.set $left (i32.const 10000))
                (loop $again
                    ;; Refused every time: the answer is -1.
                    (if (i64.ne (call $env (i32.const 64) (i32.const 4) (i32.const 128) (i32.const 64))
                                (i64.const -1))
                        (then unreachable))
                    (local.set $left (i32.sub (local.get $left) (i32.const 1)))
                    (br_if $again (local.get $left)))
                (i32.store (i32.const 0) (i32.const 0))
                (i32.store (i32.const 4) (i32.const 32))
                (i32.store (i32.const 8) (i32.const 0))
                (i32.const 0)))"#,
        "asker",
        "1.0.0",
    );
    registry
        .wasm()
        .load_wasm_bytes("asker.wasm", &asker, None)
        .unwrap();
    for call in 1..=2 {
        assert_eq!(answer_of(&registry, "asker"), b"");
        let refusals = registry.audit_log(|e| e.plugin == "asker" && !e.decision.allowed);
        assert_eq!(refusals.len(), 16 * call, "call {call}");
        assert!(
            refusals[16 * call - 1]
                .decision
                .reason
                .contains("any more in this call are refused unrecorded"),
            "{:?}",
            refusals[16 * call - 1]
        );
    }
}

fn modules_that_break_the_contract_are_refused_before_they_run(engine: WasmEngine) {
    let registry = registry_with(
        WasmConfig::new()
            .with_engine(engine)
            .with_max_module_bytes(1 << 20),
    );
    let refused = |bytes: &[u8]| match registry
        .wasm()
        .load_wasm_bytes("bad.wasm", bytes, None)
        .map_err(PluginError::into_kind)
    {
        Err(PluginErrorKind::WasmModule { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(refused(b"not wasm at all").contains("not a valid module"));
    // Each below lists a plugin and breaks one rule.
    let wasi = wasm_text::text_guest(
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))))"#,
        "wasi",
        "1.0.0",
    );
    assert!(refused(&wasi).contains("wasi_snapshot_preview1::fd_write"));
    let bare = wasm_text::text_guest("(module (memory (export \"memory\") 1))", "bare", "1.0.0");
    assert!(refused(&bare).contains("modreg_alloc"));
    let mut no_section = module("codecs.wasm");
    // Rename the section: same length, another name.
    let at = no_section
        .windows(14)
        .position(|w| w == b"modreg.plugins")
        .unwrap();
    no_section[at..at + 14].copy_from_slice(b"modreg.plugin_");
    assert!(refused(&no_section).contains("has no `modreg.plugins` section"));
    let too_big = vec![0u8; 2 << 20];
    assert!(refused(&too_big).contains("over the limit"));
    assert_eq!(registry.wasm().wasm_modules_refused(), 5);
    assert!(registry.plugin("rot13").is_none());

    // A function that is not valid (it answers an i64 where its type says i32), in a module
    // that keeps the contract otherwise: refused at load, or, in the engine that validates
    // each function at its first call, loaded and stopped at that call before it runs.
    let broken = wasm_text::text_guest(
        r#"(module
            (memory (export "memory") 1)
            (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "modreg_process") (param i32 i32 i32) (result i32) (i64.const 0)))"#,
        "broken",
        "1.0.0",
    );
    if engine == WasmEngine::LazyInterpreter {
        registry
            .wasm()
            .load_wasm_bytes("broken.wasm", &broken, None)
            .unwrap();
        for _ in 0..2 {
            let err = registry.create_plugin("broken").unwrap().process(b"x");
            match err.map_err(PluginError::into_kind) {
                Err(PluginErrorKind::Trapped { plugin, trap }) => {
                    assert_eq!(plugin, "broken");
                    assert!(trap.contains("is not valid WebAssembly"), "{trap}");
                }
                other => panic!("expected the call to stop, got {other:?}"),
            }
        }
        assert_eq!(registry.wasm().wasm_modules_refused(), 5);
    } else {
        assert!(refused(&broken).contains("not a valid module"));
        assert_eq!(registry.wasm().wasm_modules_refused(), 6);
        assert!(registry.plugin("broken").is_none());
    }
}

/// The sections of a module, as (id, start, end) of each whole section (its id byte to its
/// last byte); a custom section's id is 0. Written here, not with a parser crate, so that the
/// test does not share the parser of the code it checks.
fn sections(module: &[u8]) -> Vec<(u8, usize, usize)> {
    let mut sections = Vec::new();
    let mut at = 8;
    while at < module.len() {
        let start = at;
        let id = module[at];
        at += 1;
        let (mut size, mut shift) = (0usize, 0);
        loop {
            let byte = module[at];
            at += 1;
            size |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        at += size;
        sections.push((id, start, at));
    }
    sections
}

/// Any damage to a real module (a byte changed, the file cut short, bytes put in or taken
/// out), in any of its sections (the plugins section and the export section this crate parses
/// and rewrites itself among them), of a guest built from Rust, of one built from C and of a
/// typed one (a `#[sandboxed]` trait's): the load refuses it with a typed error and registers
/// nothing, or loads it, and then each plugin it lists answers or fails with a typed error
/// (fuel and memory capped: a damaged loop stops). Nothing panics, and the intact module then
/// loads in its place and serves.
fn damaged_modules_are_refused_or_served_and_never_panic(engine: WasmEngine) {
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;
    use sandboxed_trait::PRICING;

    let base = WasmConfig::new()
        .with_engine(engine)
        .with_fuel(20_000_000)
        .with_time_budget(Duration::from_secs(2))
        .with_memory_limit(16 << 20)
        .with_max_output_bytes(1 << 20);
    // Compiling costs tens of milliseconds a case in the compiling engines.
    let cases = match engine {
        WasmEngine::Interpreter | WasmEngine::LazyInterpreter => 128,
        _ => 64,
    };
    let guests = [
        ("rust", module("codecs.wasm"), "wasm-hex-encode"),
        (
            "c",
            std::fs::read(c_guest::c_hex_module()).unwrap(),
            "c-hex-encode",
        ),
        (
            "typed",
            std::fs::read(wasm_guests::pricing_module()).unwrap(),
            "catalog",
        ),
    ];
    for (language, intact, plugin) in guests {
        let typed = language == "typed";
        // The typed guest's plugin is also linked into this test: its module may replace it.
        let config = base.clone().with_replace_compiled(typed);
        let fresh = || {
            let registry = registry_with(config.clone());
            registry.registrations().add_registry(&PRICING);
            registry
        };
        let compiled_in = fresh().plugins().len();
        let sections = sections(&intact);
        assert_eq!(
            sections.last().unwrap().2,
            intact.len(),
            "{language}: sections cover it"
        );
        let plugins_section = sections
            .iter()
            .position(|&(id, start, end)| {
                id == 0
                    && intact[start..end]
                        .windows(14)
                        .any(|w| w == b"modreg.plugins")
            })
            .expect("the module has its plugins section");
        // A section (the plugins section half the time, else any, the small ones as likely
        // as the code), a place in it, and what is done there.
        let damage = (
            prop_oneof![Just(plugins_section), 0..sections.len()],
            any::<prop::sample::Index>(),
            0u8..5,
            any::<u8>(),
            1usize..24,
        );
        let mut runner = seeded::runner(cases);
        let loaded = std::sync::atomic::AtomicU32::new(0);
        runner
            .run(&damage, |(section, place, how, value, len)| {
                let (_, start, end) = sections[section];
                let at = start + place.index(end - start);
                let mut damaged = intact.clone();
                match how {
                    0 => damaged[at] = value,
                    1 => damaged[at] ^= 1 << (value % 8),
                    2 => damaged.truncate(at),
                    3 => drop(damaged.splice(at..at, std::iter::repeat_n(value, len))),
                    _ => drop(damaged.drain(at..(at + len).min(end))),
                }
                let registry = fresh();
                match registry
                    .wasm()
                    .load_wasm_bytes("guest.wasm", &damaged, None)
                {
                    Ok(names) => {
                        loaded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        for name in &names {
                            // Created and called, each answer or failure is a value: a panic
                            // anywhere fails the case.
                            if typed {
                                if let Ok(plugin) = registry.instances().create_from(&PRICING, name)
                                {
                                    let _ = plugin.describe("apple");
                                    let _ = plugin.checksum(b"Hello, world");
                                }
                            } else if let Ok(plugin) = registry.create_plugin(name) {
                                for input in [&b""[..], b"6869", b"Hello, world"] {
                                    let _ = plugin.process(input);
                                }
                            }
                        }
                    }
                    Err(error) => {
                        prop_assert!(
                            !matches!(error.kind(), PluginErrorKind::Plugin { .. }),
                            "a refusal is the sandbox's own error: {error}"
                        );
                        prop_assert_eq!(registry.wasm().wasm_modules_refused(), 1);
                        prop_assert_eq!(
                            registry.plugins().len(),
                            compiled_in,
                            "a refused module registers nothing"
                        );
                    }
                }
                // The intact module replaces (or follows) the damaged one and serves.
                registry
                    .wasm()
                    .load_wasm_bytes("guest.wasm", &intact, None)
                    .map_err(|e| TestCaseError::fail(format!("the intact module after it: {e}")))?;
                if typed {
                    let catalog = registry.instances().create_from(&PRICING, plugin).unwrap();
                    let native = PRICING.create("catalog").unwrap();
                    prop_assert_eq!(catalog.describe("apple"), native.describe("apple"));
                } else {
                    let hex = registry.create_plugin(plugin).unwrap();
                    prop_assert_eq!(hex.process(b"hi").unwrap(), b"6869".to_vec());
                }
                Ok(())
            })
            .unwrap_or_else(|failure| panic!("the {language} guest: {failure}"));
        // Not every case is a refusal: damage a module survives (a changed constant, a
        // changed name) is served, and its calls were made.
        let loaded = loaded.into_inner();
        assert!(
            loaded > 0,
            "{language}: no damaged module loaded in {cases} cases"
        );
    }
}

/// A guest that answers whatever answer record its input spells: the input's first 12 bytes
/// become the record at address 0, the rest is written at 64. Its memory is one page.
const RECORD_SPELLER: &str = r#"(module
    (memory (export "memory") 1)
    (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
    (func (export "modreg_process") (param i32 i32 i32) (result i32)
        (memory.copy (i32.const 0) (local.get 1) (i32.const 12))
        (memory.copy (i32.const 64)
            (i32.add (local.get 1) (i32.const 12))
            (i32.sub (local.get 2) (i32.const 12)))
        (i32.const 0)))"#;

/// Any answer record a guest can write (any status, address and length, any bytes where it
/// points) is read as `docs/wasm-abi.md` says, checked against a model of the guest's memory:
/// a length over the output cap is `TooLarge` before anything is copied, a range outside the
/// memory is `Trapped`, status 0 is the bytes, status 2 the method's error, any other the
/// message (lossy UTF-8). Nothing panics, and the plugin answers the next call.
fn any_answer_record_is_read_as_the_abi_says(engine: WasmEngine) {
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    const PAGE: u64 = 64 << 10;
    const CAP: u32 = 4096;
    let registry = registry_with(
        WasmConfig::new()
            .with_engine(engine)
            .with_max_output_bytes(CAP as usize),
    );
    let module = wasm_text::text_guest(RECORD_SPELLER, "speller", "1.0.0");
    registry
        .wasm()
        .load_wasm_bytes("speller.wasm", &module, None)
        .unwrap();
    let speller = registry.create_plugin("speller").unwrap();
    let record = (
        prop_oneof![Just(0u32), Just(1), Just(2), any::<u32>()],
        prop_oneof![
            Just(64u32),
            Just(0),
            Just(1024),
            (PAGE as u32 - 64)..(PAGE as u32 + 64),
            any::<u32>()
        ],
        prop_oneof![0u32..200, Just(CAP), Just(CAP + 1), any::<u32>()],
        proptest::collection::vec(any::<u8>(), 0..128),
    );
    let mut runner = seeded::runner(256);
    // How often each outcome came: every one must, or the model checked nothing.
    let seen: [std::sync::atomic::AtomicU32; 5] = Default::default();
    let saw = |outcome: usize| seen[outcome].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    runner
        .run(&record, |(status, address, length, payload)| {
            let mut input = Vec::new();
            for field in [status, address, length] {
                input.extend_from_slice(&field.to_le_bytes());
            }
            input.extend_from_slice(&payload);
            // The guest's memory when it answers: a fresh guest's zeros, the record at 0, the
            // payload at 64, and the input where the host wrote it (1024).
            let mut memory = vec![0u8; PAGE as usize];
            memory[1024..1024 + input.len()].copy_from_slice(&input);
            memory[..12].copy_from_slice(&input[..12]);
            memory[64..64 + payload.len()].copy_from_slice(&payload);
            let answer = speller.process(&input);
            let end = u64::from(address) + u64::from(length);
            let bytes = || &memory[address as usize..end as usize];
            match answer.map_err(PluginError::into_kind) {
                Err(PluginErrorKind::TooLarge { size, limit, .. }) => {
                    saw(0);
                    prop_assert!(length > CAP);
                    prop_assert_eq!((size, limit), (length as usize, CAP as usize));
                }
                Err(PluginErrorKind::Trapped { .. }) => {
                    saw(1);
                    prop_assert!(length <= CAP && end > PAGE, "trapped in range");
                }
                Ok(output) => {
                    saw(2);
                    prop_assert!(length <= CAP && end <= PAGE && status == 0);
                    prop_assert_eq!(output.as_slice(), bytes());
                }
                Err(PluginErrorKind::Plugin { source, .. }) => {
                    saw(3);
                    prop_assert!(length <= CAP && end <= PAGE && status == 2);
                    let error = source
                        .downcast_ref::<modreg::typed_sandbox::MethodError>()
                        .ok_or_else(|| TestCaseError::fail(format!("{source}")))?;
                    prop_assert_eq!(error.0.as_slice(), bytes());
                }
                Err(PluginErrorKind::Processing { reason, .. }) => {
                    saw(4);
                    prop_assert!(length <= CAP && end <= PAGE && status != 0 && status != 2);
                    prop_assert_eq!(reason, String::from_utf8_lossy(bytes()).into_owned());
                }
                Err(other) => prop_assert!(false, "unexpected: {other:?}"),
            }
            // The plugin answers the next call, whatever this one came to.
            let mut fine = Vec::new();
            for field in [0u32, 64, 2] {
                fine.extend_from_slice(&field.to_le_bytes());
            }
            fine.extend_from_slice(b"oknot");
            prop_assert_eq!(speller.process(&fine).unwrap(), b"ok".to_vec());
            Ok(())
        })
        .unwrap();
    let seen = seen.map(std::sync::atomic::AtomicU32::into_inner);
    assert!(seen.iter().all(|&n| n > 0), "outcomes seen: {seen:?}");
}

/// A guest that makes whatever import call its input spells: byte 0 picks the call (0
/// `read_file`, 1 `env_var`, 2 `panic_message` then a trap, 3 `host_call`, 4 `host_call` then
/// `host_answer`), bytes 4..36 are eight `i32` arguments, the rest is written at 64. It
/// answers the 72 bytes at 192: the call's `i64` result, then the 64 bytes at 200.
const IMPORT_CALLER: &str = r#"(module
    (import "modreg" "read_file" (func $read_file (param i32 i32 i32 i32) (result i64)))
    (import "modreg" "env_var" (func $env_var (param i32 i32 i32 i32) (result i64)))
    (import "modreg" "panic_message" (func $panic (param i32 i32)))
    (import "modreg" "host_call" (func $host_call (param i32 i32 i32 i32 i32 i32) (result i64)))
    (import "modreg" "host_answer" (func $host_answer (param i32 i32) (result i64)))
    (memory (export "memory") 1)
    (global $in (mut i32) (i32.const 0))
    (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
    (func $a (param $k i32) (result i32)
        (i32.load (i32.add (global.get $in) (i32.add (i32.const 4) (i32.shl (local.get $k) (i32.const 2))))))
    (func (export "modreg_process") (param i32 i32 i32) (result i32)
        (local $result i64)
        (global.set $in (local.get 1))
        (memory.copy (i32.const 64)
            (i32.add (local.get 1) (i32.const 36))
            (i32.sub (local.get 2) (i32.const 36)))
        (block $done
            (block $answer (block $call (block $panic (block $env (block $file
                (br_table $file $env $panic $call $answer (i32.load8_u (local.get 1))))
                (local.set $result (call $read_file
                    (call $a (i32.const 0)) (call $a (i32.const 1))
                    (call $a (i32.const 2)) (call $a (i32.const 3))))
                (br $done))
                (local.set $result (call $env_var
                    (call $a (i32.const 0)) (call $a (i32.const 1))
                    (call $a (i32.const 2)) (call $a (i32.const 3))))
                (br $done))
                (call $panic (call $a (i32.const 0)) (call $a (i32.const 1)))
                unreachable)
                (local.set $result (call $host_call
                    (call $a (i32.const 0)) (call $a (i32.const 1)) (call $a (i32.const 2))
                    (call $a (i32.const 3)) (call $a (i32.const 4)) (call $a (i32.const 5))))
                (br $done))
            (drop (call $host_call
                (call $a (i32.const 0)) (call $a (i32.const 1)) (call $a (i32.const 2))
                (call $a (i32.const 3)) (call $a (i32.const 4)) (call $a (i32.const 5))))
            (local.set $result (call $host_answer (call $a (i32.const 6)) (call $a (i32.const 7)))))
        (i64.store (i32.const 192) (local.get $result))
        (i32.store (i32.const 0) (i32.const 0))
        (i32.store (i32.const 4) (i32.const 192))
        (i32.store (i32.const 8) (i32.const 72))
        (i32.const 0)))"#;

/// Any import call a guest can make, with any pointers and lengths (in its memory or past it,
/// over the caps or not), names that are granted or not, answers that fit or not: each answers
/// as `docs/wasm-abi.md` says, checked against a model of the guest's memory (what the host
/// wrote where, and the result), and a panic message is read as far as it can be; a host
/// function sync or async (the guest suspended and resumed). Nothing panics in the host; the
/// plugin answers the next call. In every engine (`panic_message` and `host_call` are each
/// engine's own code).
fn any_import_call_is_answered_as_the_abi_says(engine: WasmEngine) {
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    const PAGE: usize = 64 << 10;
    const CAP: u32 = 4096;
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    std::fs::write(dir.join("a.txt"), b"contents").unwrap();
    let registry = registry_with(
        WasmConfig::new()
            .with_engine(engine)
            .with_max_output_bytes(CAP as usize)
            .with_read_dir(dir)
            .with_env_var("PATH")
            .with_host_function(modreg::HostFunction::new(
                "echo",
                "host.echo",
                |_, input| Ok(input.to_vec()),
            ))
            // The same, async: the guest is suspended on it and resumed with its answer.
            .with_host_function(modreg::HostFunction::new_async(
                "later",
                "host.echo",
                |_, input| async move { Ok(input) },
            )),
    );
    let module = wasm_text::text_guest_declaring(
        IMPORT_CALLER,
        "caller",
        &["file.read", "env.path", "host.echo"],
    );
    registry
        .wasm()
        .load_wasm_bytes("caller.wasm", &module, None)
        .unwrap();
    let caller = registry.create_plugin("caller").unwrap();
    let path = std::env::var_os("PATH").map(|v| v.as_encoded_bytes().to_vec());

    let pointer = || {
        prop_oneof![
            Just(64u32),
            Just(200),
            Just(0),
            Just(1024),
            (PAGE as u32 - 80)..(PAGE as u32 + 16),
            any::<u32>()
        ]
    };
    let length = || {
        prop_oneof![
            Just(4u32),
            Just(5),
            0u32..72,
            (CAP - 4)..(CAP + 4),
            any::<u32>()
        ]
    };
    let call = (
        0u8..5,
        (0..8)
            .map(|i| {
                if i % 2 == 0 {
                    pointer().boxed()
                } else {
                    length().boxed()
                }
            })
            .collect::<Vec<_>>(),
        prop_oneof![
            Just(b"a.txt".to_vec()),
            Just(b"PATH".to_vec()),
            Just(b"echo".to_vec()),
            Just(b"later".to_vec()),
            Just(b"b.txt".to_vec()),
            Just(b"../a.txt".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..100)
        ],
        // Aimed: the name (and a host call's input) is the payload, so that calls that
        // can succeed are as common as those that cannot.
        prop::bool::weighted(0.6),
    );
    let mut runner = seeded::runner(1024);
    // Calls that answered a length, by kind: each kind must, or the model checked only refusals.
    let answered: [std::sync::atomic::AtomicU32; 5] = Default::default();
    runner
        .run(&call, |(op, mut a, payload, aimed)| {
            if aimed {
                let len = u32::try_from(payload.len()).unwrap();
                a[..4].copy_from_slice(&[64, len, 64, len]);
            }
            let mut input = vec![op, 0, 0, 0];
            for arg in &a {
                input.extend_from_slice(&arg.to_le_bytes());
            }
            input.extend_from_slice(&payload);
            // The model: the guest's memory as the host leaves it, and what the call answers.
            let mut memory = vec![0u8; PAGE];
            memory[1024..1024 + input.len()].copy_from_slice(&input);
            memory[64..64 + payload.len()].copy_from_slice(&payload);
            let read = |memory: &[u8], ptr: u32, len: u32| {
                let end = ptr as usize + len as usize;
                (len <= 4096 && end <= PAGE).then(|| memory[ptr as usize..end].to_vec())
            };
            let text = |memory: &[u8], ptr: u32, len: u32| {
                read(memory, ptr, len).and_then(|b| String::from_utf8(b).ok())
            };
            let answer = |memory: &mut Vec<u8>, value: &[u8], ptr: u32, cap: u32| -> i64 {
                if value.len() <= cap as usize {
                    let end = ptr as usize + value.len();
                    if end > PAGE {
                        return -3;
                    }
                    memory[ptr as usize..end].copy_from_slice(value);
                }
                answered[usize::from(op)].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                value.len() as i64
            };
            // `None`: known in part, checked below (a refusal the host's file system picks; a
            // kept message of the host's wording).
            let expected: Option<i64> = match op {
                0 => match text(&memory, a[0], a[1]) {
                    None => Some(-3),
                    Some(name) if name == "a.txt" => {
                        Some(answer(&mut memory, b"contents", a[2], a[3]))
                    }
                    Some(_) => None,
                },
                1 => match text(&memory, a[0], a[1]) {
                    None => Some(-3),
                    Some(name) if name == "PATH" => Some(match &path {
                        Some(value) => answer(&mut memory, value, a[2], a[3]),
                        None => -2,
                    }),
                    Some(_) => Some(-1),
                },
                2 => {
                    let message = read(&memory, a[0], a[1].min(4096)).map_or_else(
                        || "(unreadable panic message)".to_owned(),
                        |b| String::from_utf8_lossy(&b).into_owned(),
                    );
                    match caller.process(&input).map_err(PluginError::into_kind) {
                        Err(PluginErrorKind::Panicked { message: got, .. }) => {
                            prop_assert_eq!(got, message);
                        }
                        other => prop_assert!(false, "expected a panic, got {other:?}"),
                    }
                    answered[2].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return Ok(());
                }
                _ => {
                    // `host_call`, and for op 4 `host_answer` after it: what the call kept
                    // for `host_answer`: nothing (no function ran), the refused input's
                    // message (`Err`: its text is the host's), or the function's answer.
                    let (code, kept) = match text(&memory, a[0], a[1]) {
                        None => (-3, None),
                        Some(name) if name != "echo" && name != "later" => (-2, None),
                        Some(_) => match read(&memory, a[2], a[3]).filter(|_| a[3] <= CAP) {
                            Some(echoed) => {
                                (answer(&mut memory, &echoed, a[4], a[5]), Some(Ok(echoed)))
                            }
                            None => (-3, Some(Err(()))),
                        },
                    };
                    match (op, kept) {
                        (3, _) => Some(code),
                        (_, None) => Some(-2),
                        (_, Some(Err(()))) => None,
                        (_, Some(Ok(echoed))) => Some(answer(&mut memory, &echoed, a[6], a[7])),
                    }
                }
            };
            let output = caller
                .process(&input)
                .map_err(|e| TestCaseError::fail(format!("the call failed: {e}")))?;
            prop_assert_eq!(output.len(), 72);
            let result = i64::from_le_bytes(output[..8].try_into().unwrap());
            match expected {
                Some(expected) => {
                    prop_assert_eq!(result, expected);
                    prop_assert_eq!(
                        &output[8..],
                        &memory[200..264],
                        "what the host wrote at 200"
                    );
                }
                None if op == 0 => {
                    prop_assert!((-3..=-1).contains(&result), "{result}");
                    prop_assert_eq!(&output[8..], &memory[200..264], "nothing written");
                }
                // The kept message of a refused input: its length, or `FAILED` when it fits
                // and its place is outside the memory.
                None => prop_assert!(result > 0 || result == -3, "{result}"),
            }
            // The plugin answers the next call.
            let mut fine = vec![1, 0, 0, 0];
            for arg in [64u32, 4, 200, 64, 0, 0, 0, 0] {
                fine.extend_from_slice(&arg.to_le_bytes());
            }
            fine.extend_from_slice(b"PATH");
            prop_assert!(caller.process(&fine).is_ok());
            Ok(())
        })
        .unwrap();
    let answered = answered.map(std::sync::atomic::AtomicU32::into_inner);
    assert!(
        answered.iter().all(|&n| n > 0),
        "answered by kind: {answered:?}"
    );
}

/// Any sequence of loads, reloads, unloads, creations (on nobody's behalf or a principal's),
/// calls and drops, under every guest lifetime, over a guest that resets, one that grows its memory in every call and one that
/// cannot be reset (a passive segment): each call answers what a model of its guest's state
/// says (a fresh guest, or the state its instance's earlier calls left), or the typed error of
/// the shared memory cap; plugins are listed exactly while their module is loaded; the memory
/// the sandbox counts stays under its caps; and once every instance is dropped and every
/// module unloaded it counts nothing: no instance's memory is lost to the books.
fn any_sequence_of_sandbox_operations_keeps_the_books(engine: WasmEngine) {
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    #[derive(Clone, Copy, Debug)]
    enum Op {
        Load(usize),
        Unload(usize),
        /// Created on nobody's behalf, or on one of two principals'.
        Create(usize, Option<u8>),
        Call(usize),
        CallNew(usize),
        Drop(usize),
    }
    /// A plugin instance the test holds, and its model.
    struct Held {
        plugin: Box<dyn modreg::Plugin>,
        module: usize,
        /// The load of its module it was made from; `None`: not modelled (a principal's
        /// guest, which another principal may take the memory of).
        load: Option<u32>,
        /// Its guest's calls so far, and its memory's pages (`None`: not known, see below).
        calls: u8,
        pages: Option<u8>,
    }
    const NAMES: [&str; 3] = ["plain", "grower", "passive"];
    // Six pages: the guests meet it (a held grower's guest grows a page a call).
    const CAP: usize = 6 << 16;
    let modules = [
        wasm_text::stateful_guest("plain", "", "", "(i32.const 1024)"),
        wasm_text::stateful_guest(
            "grower",
            "",
            "(drop (memory.grow (i32.const 1)))",
            "(i32.const 1024)",
        ),
        wasm_text::stateful_guest("passive", r#"(data $p "x")"#, "", "(i32.const 1024)"),
    ];
    let op = prop_oneof![
        1 => (0..3usize).prop_map(Op::Load),
        1 => (0..3usize).prop_map(Op::Unload),
        2 => (0..3usize, prop_oneof![2 => Just(None), 1 => (0..2u8).prop_map(Some)])
            .prop_map(|(m, who)| Op::Create(m, who)),
        3 => any::<usize>().prop_map(Op::Call),
        1 => (0..3usize).prop_map(Op::CallNew),
        1 => any::<usize>().prop_map(Op::Drop),
    ];
    let state = prop_oneof![
        Just(GuestState::FreshPerCall),
        Just(GuestState::PerInstance),
        Just(GuestState::PerPrincipal),
        Just(GuestState::Shared),
    ];
    let mut runner = seeded::runner(192);
    runner
        .run(
            &(state, proptest::collection::vec(op, 1..64)),
            |(state, ops)| {
                let registry = registry_with(
                    WasmConfig::new()
                        .with_engine(engine)
                        .with_guest_state(state)
                        .with_max_total_memory(CAP)
                        .with_pool_size(2),
                );
                let sandbox = registry.wasm();
                // The model: each module's load count and whether it is loaded; the
                // instances held.
                let mut loads = [0u32; 3];
                let mut loaded = [false; 3];
                let mut held: Vec<Held> = Vec::new();
                for op in ops {
                    match op {
                        Op::Load(m) => {
                            let name = format!("{}.wasm", NAMES[m]);
                            match sandbox.load_wasm_bytes(&name, &modules[m], None) {
                                Ok(_) => {
                                    loads[m] += 1;
                                    loaded[m] = true;
                                }
                                // Its first instance does not fit the shared cap: the version
                                // before it, if any, keeps serving.
                                Err(error) => prop_assert!(
                                    matches!(error.kind(), PluginErrorKind::MemoryLimit { .. }),
                                    "load: {error}"
                                ),
                            }
                        }
                        Op::Unload(m) => {
                            let name = format!("{}.wasm", NAMES[m]);
                            prop_assert_eq!(sandbox.unload_wasm_module(&name).is_ok(), loaded[m]);
                            if loaded[m] {
                                loaded[m] = false;
                                loads[m] += 1;
                            }
                        }
                        Op::Create(m, who) => {
                            let create = || registry.create_plugin(NAMES[m]);
                            let created = match who {
                                Some(who) => modreg::on_behalf_of(&format!("p{who}"), create),
                                None => create(),
                            };
                            match created {
                                Ok(plugin) => {
                                    prop_assert!(loaded[m]);
                                    let principals = state == GuestState::PerPrincipal;
                                    let load = (who.is_none() || !principals).then_some(loads[m]);
                                    held.push(Held {
                                        plugin,
                                        module: m,
                                        load,
                                        calls: 0,
                                        pages: Some(1),
                                    });
                                }
                                Err(error) => prop_assert!(!loaded[m], "create: {error}"),
                            }
                        }
                        Op::CallNew(m) => match registry.create_plugin(NAMES[m]) {
                            Ok(plugin) => {
                                prop_assert!(loaded[m]);
                                match plugin.process(b"") {
                                    Ok(answer) if state != GuestState::Shared => {
                                        prop_assert_eq!(answer, b"0001".to_vec());
                                    }
                                    Ok(_) => {}
                                    Err(error) => prop_assert!(
                                        matches!(error.kind(), PluginErrorKind::MemoryLimit { .. }),
                                        "call: {error}"
                                    ),
                                }
                            }
                            Err(error) => prop_assert!(!loaded[m], "create: {error}"),
                        },
                        Op::Call(i) if !held.is_empty() => {
                            let i = i % held.len();
                            let held = &mut held[i];
                            let m = held.module;
                            // An instance of a module since reloaded or unloaded finishes on
                            // the old code: it answers or fails, typed, but is not modelled.
                            let current = loaded[m] && held.load == Some(loads[m]);
                            match held.plugin.process(b"") {
                                Ok(answer) if current && state == GuestState::PerInstance => {
                                    let k = held.calls;
                                    let pages = answer[3].wrapping_sub(b'0');
                                    let expected = [
                                        b'0' + k,
                                        b'0' + k,
                                        b'0' + u8::from(k > 0),
                                        b'0' + held.pages.unwrap_or(pages),
                                    ];
                                    prop_assert_eq!(answer, expected.to_vec(), "call {}", k);
                                    held.calls += 1;
                                    // The grower's `memory.grow` at the end of a call is
                                    // refused (it answers -1; the guest goes on) where a page
                                    // more would pass the shared cap: with room left after
                                    // the call, it grew; with none, it grew into the cap or
                                    // was refused, and its next answer says which.
                                    let room = sandbox.memory_bytes() + (64 << 10) <= CAP;
                                    held.pages = match m {
                                        1 => room.then_some(pages + 1),
                                        _ => Some(pages),
                                    };
                                }
                                Ok(answer) if current && state != GuestState::Shared => {
                                    prop_assert_eq!(answer, b"0001".to_vec());
                                }
                                Ok(_) => {}
                                Err(error) => {
                                    prop_assert!(
                                        matches!(error.kind(), PluginErrorKind::MemoryLimit { .. }),
                                        "call: {error}"
                                    );
                                    // The guest that met the cap trapped: the next is fresh.
                                    (held.calls, held.pages) = (0, Some(1));
                                }
                            }
                        }
                        Op::Drop(i) if !held.is_empty() => {
                            let i = i % held.len();
                            held.swap_remove(i);
                        }
                        Op::Call(_) | Op::Drop(_) => {}
                    }
                    for (m, name) in NAMES.iter().enumerate() {
                        prop_assert_eq!(registry.plugin(name).is_some(), loaded[m], "{}", name);
                    }
                    let (total, idle) = (sandbox.memory_bytes(), sandbox.idle_memory_bytes());
                    prop_assert!(idle <= total && total <= CAP, "idle {idle}, total {total}");
                }
                drop(held);
                for (m, name) in NAMES.iter().enumerate() {
                    if loaded[m] {
                        sandbox
                            .unload_wasm_module(&format!("{name}.wasm"))
                            .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    }
                }
                prop_assert_eq!(
                    (sandbox.memory_bytes(), sandbox.idle_memory_bytes()),
                    (0, 0),
                    "memory still counted with nothing loaded or held"
                );
                Ok(())
            },
        )
        .unwrap();
}

/// For any input, the hex codec built from Rust, the same codec written in C and (where the
/// build has it) the one compiled in answer alike: the same bytes, or all an error. Base64 the
/// same, between the Rust guest and the compiled-in one. Random bytes to encode; to decode,
/// text from the codecs' alphabets with a stray character now and then.
fn the_guests_and_the_compiled_in_codecs_answer_alike(engine: WasmEngine) {
    use proptest::prelude::*;

    let registry = registry_with(WasmConfig::new().with_engine(engine));
    registry
        .wasm()
        .load_wasm_bytes("codecs.wasm", &module("codecs.wasm"), None)
        .unwrap();
    let c = std::fs::read(c_guest::c_hex_module()).unwrap();
    registry
        .wasm()
        .load_wasm_bytes("c-hex.wasm", &c, None)
        .unwrap();
    // Each family: the guests' and, when this build registers it, the compiled-in plugin.
    let family = |names: &[&str]| -> Vec<Box<dyn modreg::Plugin>> {
        names
            .iter()
            .filter_map(|name| registry.create_plugin(name).ok())
            .collect()
    };
    // Without the feature `encoding` the compiled-in codecs are not in the build: base64 then
    // has one side only (left out), hex two (Rust and C).
    let families: Vec<_> = [
        family(&["wasm-hex-encode", "c-hex-encode", "hex-encode"]),
        family(&["wasm-hex-decode", "c-hex-decode", "hex-decode"]),
        family(&["wasm-base64-encode", "base64-encode"]),
        family(&["wasm-base64-decode", "base64-decode"]),
    ]
    .into_iter()
    .filter(|plugins| plugins.len() >= 2)
    .collect();
    let sides: Vec<usize> = families.iter().map(Vec::len).collect();
    if cfg!(feature = "encoding") {
        assert_eq!(sides, [3, 3, 2, 2]);
    } else {
        assert_eq!(sides, [2, 2]);
    }
    let input = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        "[0-9a-fA-F]{0,64}".prop_map(String::into_bytes),
        "[0-9a-f]{0,40}[^0-9a-f]?[0-9a-f]{0,8}".prop_map(String::into_bytes),
        "[A-Za-z0-9+/]{0,60}={0,3}".prop_map(String::into_bytes),
    ];
    let mut runner = seeded::runner(256);
    runner
        .run(&input, |input| {
            for plugins in &families {
                let answers: Vec<Option<Vec<u8>>> =
                    plugins.iter().map(|p| p.process(&input).ok()).collect();
                for (plugin, answer) in plugins.iter().zip(&answers).skip(1) {
                    prop_assert_eq!(
                        answer,
                        &answers[0],
                        "{} and {} differ",
                        plugin.name(),
                        plugins[0].name()
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

/// Any sequence of file changes in a plugin directory (a module written, of a version, whole
/// or cut short; a file removed; one not a module beside them), with a pass over the
/// directory now and then, leaves the registry as a model of the files says: after a pass,
/// each whole module serves its version, one cut short is refused while the version loaded
/// before it keeps serving, a removed file's plugin is gone; the pass's report says which
/// modules it loaded, refused, removed or found unchanged.
fn any_sequence_of_directory_changes_is_followed_by_a_pass(engine: WasmEngine) {
    directory_passes_follow_a_model(engine, false);
}

/// The same under authentication: signature files written (of the module beside them, or of
/// its bytes before a rewrite) and removed too, and the signed-version rule (a module's
/// plugin newer than the newest signed version accepted, or that version from the same
/// bytes, after its file was removed as well). A module refused is tried again once its bytes
/// or its signature change; one loaded stays whatever its signature file becomes.
fn any_sequence_of_signed_directory_changes_is_followed_by_a_pass(engine: WasmEngine) {
    directory_passes_follow_a_model(engine, true);
}

fn directory_passes_follow_a_model(engine: WasmEngine, signed: bool) {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    #[derive(Clone, Copy, Debug)]
    enum Op {
        /// Module `k` at version `v`, whole or cut short.
        Write(usize, u8, bool),
        Remove(usize),
        /// `m{k}.wasm.sig`, the signature of what `m{k}.wasm` holds now (signed runs only).
        Sign(usize),
        /// `m{k}.wasm.sig` removed (signed runs only).
        Unsign(usize),
        /// Module `k` at version `v`, whole, then its signature (signed runs only): a
        /// deployment, or a rollback where `v` is older than what serves.
        Deploy(usize, u8),
        /// A file that is not a module (`notes.txt`), changed: passes leave it alone.
        Notes,
        Pass,
    }
    let signing = if signed { 2 } else { 0 };
    let op = prop_oneof![
        3 => (0..3usize, 1u8..4, prop::bool::weighted(0.75)).prop_map(|(k, v, whole)| Op::Write(k, v, whole)),
        1 => (0..3usize).prop_map(Op::Remove),
        signing => (0..3usize).prop_map(Op::Sign),
        signing / 2 => (0..3usize).prop_map(Op::Unsign),
        signing => (0..3usize, 1u8..4).prop_map(|(k, v)| Op::Deploy(k, v)),
        1 => Just(Op::Notes),
        2 => Just(Op::Pass),
    ];
    let module = |k: usize, v: u8, whole: bool| {
        let bytes =
            wasm_text::guest_named(&format!("dir-{k}"), &v.to_string(), &format!("{v}.0.0"));
        if whole {
            bytes
        } else {
            bytes[..bytes.len() / 2].to_vec()
        }
    };
    // How often the signed rules decided (each is asserted to occur in signed runs): signed
    // modules of older versions refused, removals refused, and modules loaded from bytes
    // refused before, once their signature changed.
    let [rollbacks, removals_refused, signed_later] =
        [(); 3].map(|()| std::sync::atomic::AtomicU32::new(0));
    let count = |counter: &std::sync::atomic::AtomicU32| {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    seeded::runner(128)
        .run(&proptest::collection::vec(op, 1..24), |ops| {
            let scratch = tempfile::tempdir().unwrap();
            let dir = scratch.path();
            let registry = if signed {
                signing::signing_registry()
            } else {
                ModuleRegistry::new()
            };
            registry
                .wasm()
                .configure_wasm(WasmConfig::new().with_engine(engine))
                .unwrap();
            // The model: what each file holds now (its bytes, version, whole or not) and the
            // bytes its signature file signs; the module each name serves (its bytes and
            // version); the bytes (and signed bytes) last refused for a name still in the
            // directory; the newest signed version accepted for each name, and its bytes.
            let mut files: BTreeMap<usize, (Vec<u8>, u8, bool)> = BTreeMap::new();
            let mut sigs: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
            let mut serving: BTreeMap<usize, (Vec<u8>, u8)> = BTreeMap::new();
            let mut refused_as: BTreeMap<usize, (Vec<u8>, Option<Vec<u8>>)> = BTreeMap::new();
            let mut newest: BTreeMap<usize, (u8, Vec<u8>)> = BTreeMap::new();
            // Under authentication a module's file removed is a removal refused (unsigned):
            // the module serves on, and the refusal is reported once, until the file is back.
            let mut removal_refused: BTreeSet<usize> = BTreeSet::new();
            for (at, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Write(k, v, whole) => {
                        let bytes = module(k, v, whole);
                        std::fs::write(dir.join(format!("m{k}.wasm")), &bytes).unwrap();
                        files.insert(k, (bytes, v, whole));
                    }
                    Op::Remove(k) => {
                        let _ = std::fs::remove_file(dir.join(format!("m{k}.wasm")));
                        files.remove(&k);
                    }
                    Op::Sign(k) => {
                        let signs = files.get(&k).map_or_else(Vec::new, |(b, _, _)| b.clone());
                        let signature = sign(&signs, "release", SECRET);
                        std::fs::write(dir.join(format!("m{k}.wasm.sig")), signature.to_toml())
                            .unwrap();
                        sigs.insert(k, signs);
                    }
                    Op::Unsign(k) => {
                        let _ = std::fs::remove_file(dir.join(format!("m{k}.wasm.sig")));
                        sigs.remove(&k);
                    }
                    Op::Deploy(k, v) => {
                        let bytes = module(k, v, true);
                        std::fs::write(dir.join(format!("m{k}.wasm")), &bytes).unwrap();
                        let signature = sign(&bytes, "release", SECRET);
                        std::fs::write(dir.join(format!("m{k}.wasm.sig")), signature.to_toml())
                            .unwrap();
                        sigs.insert(k, bytes.clone());
                        files.insert(k, (bytes, v, true));
                    }
                    Op::Notes => {
                        std::fs::write(dir.join("notes.txt"), format!("step {at}")).unwrap()
                    }
                    Op::Pass => {
                        let report = registry
                            .wasm()
                            .load_wasm_plugins(dir)
                            .map_err(|e| TestCaseError::fail(e.to_string()))?;
                        let (mut loaded, mut refused, mut unchanged) =
                            (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
                        let gone: Vec<usize> = serving
                            .keys()
                            .filter(|k| !files.contains_key(k))
                            .copied()
                            .collect();
                        removal_refused.retain(|k| !files.contains_key(k));
                        let mut removed = BTreeSet::new();
                        for k in gone {
                            let name = format!("m{k}.wasm");
                            if !signed {
                                serving.remove(&k);
                                removed.insert(name);
                            } else if removal_refused.insert(k) {
                                count(&removals_refused);
                                refused.insert(name);
                            } else {
                                unchanged.insert(name);
                            }
                        }
                        refused_as.retain(|k, _| files.contains_key(k));
                        for (&k, (bytes, v, whole)) in &files {
                            let name = format!("m{k}.wasm");
                            let seen = (bytes.clone(), sigs.get(&k).cloned());
                            // Signed by a trusted key, and newer than the newest signed
                            // version accepted, or that version from the same bytes.
                            let newer = newest.get(&k).is_none_or(|(newest, kept)| {
                                v > newest || (v == newest && kept == bytes)
                            });
                            let signed_here = sigs.get(&k) == Some(bytes);
                            let admitted = !signed || (signed_here && newer);
                            if signed && *whole && signed_here && !newer {
                                count(&rollbacks);
                            }
                            // The bytes of the module that serves, or the bytes and signature
                            // last refused (two versions cut short can be the same bytes):
                            // left as they are.
                            if serving.get(&k).is_some_and(|(b, _)| b == bytes)
                                || refused_as.get(&k) == Some(&seen)
                            {
                                unchanged.insert(name);
                            } else if *whole && admitted {
                                if refused_as.get(&k).is_some_and(|(b, _)| b == bytes) {
                                    count(&signed_later);
                                }
                                loaded.insert(name);
                                serving.insert(k, (bytes.clone(), *v));
                                if signed {
                                    newest.insert(k, (*v, bytes.clone()));
                                }
                                refused_as.remove(&k);
                            } else {
                                refused.insert(name);
                                refused_as.insert(k, seen);
                            }
                        }
                        prop_assert_eq!(
                            report.loaded.keys().cloned().collect::<BTreeSet<_>>(),
                            loaded
                        );
                        prop_assert_eq!(
                            report
                                .refused
                                .iter()
                                .map(|(n, _)| n.clone())
                                .collect::<BTreeSet<_>>(),
                            refused
                        );
                        prop_assert_eq!(
                            report.removed.iter().cloned().collect::<BTreeSet<_>>(),
                            removed
                        );
                        prop_assert_eq!(
                            report.unchanged.iter().cloned().collect::<BTreeSet<_>>(),
                            unchanged
                        );
                    }
                }
                // Between passes the registry changes only at a pass.
                for k in 0..3 {
                    let answer = registry
                        .create_plugin(&format!("dir-{k}"))
                        .ok()
                        .and_then(|p| p.process(b"").ok());
                    prop_assert_eq!(
                        answer,
                        serving.get(&k).map(|(_, v)| v.to_string().into_bytes()),
                        "dir-{}",
                        k
                    );
                }
            }
            Ok(())
        })
        .unwrap();
    if signed {
        let counts = [rollbacks, removals_refused, signed_later].map(|c| c.into_inner());
        assert!(counts.iter().all(|&n| n > 0), "{counts:?}");
    }
}

/// A module whose every instance would make too many functions, globals or segments, or with
/// a function body too large to compile at a bounded cost, is refused at load, from its
/// section headers, before a compiler sees it (a fresh guest makes every one of them, outside
/// the call's time budget and the memory caps; Cranelift's time and memory grow faster than a
/// body's size).
fn modules_whose_instances_would_cost_too_much_are_refused_before_they_compile(engine: WasmEngine) {
    // The contract's two functions, and `extra`.
    let contract = |extra: &str| {
        format!(
            r#"(module
                (memory (export "memory") 1)
                (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
                (func (export "modreg_process") (param i32 i32 i32) (result i32) (i32.const 0))
                {extra})"#
        )
    };
    let registry = registry_with(WasmConfig::new().with_engine(engine));
    let functions = modreg::DEFAULT_WASM_MODULE_FUNCTIONS as usize;
    let cases = [
        (
            contract(&"(func)".repeat(functions - 1)),
            format!("{} functions, over the limit of {functions}", functions + 1),
        ),
        (
            contract(&"(global i32 (i32.const 0))".repeat(10_001)),
            "10001 globals, over the limit of 10000".to_owned(),
        ),
        (
            contract(&r#"(data (i32.const 0) "")"#.repeat(10_001)),
            "10001 data segments, over the limit of 10000".to_owned(),
        ),
        (
            contract(&format!(
                "(table 1 funcref) {}",
                "(elem (i32.const 0))".repeat(10_001)
            )),
            "10001 element segments, over the limit of 10000".to_owned(),
        ),
        (
            // One passive segment: the interpreter copies its items into every instance.
            contract(&format!("(elem func{})", " 0".repeat(100_001))),
            "100001 element items, over the limit of 100000".to_owned(),
        ),
        (
            contract(
                &(0..1_000)
                    .map(|i| format!(r#"(export "e{i}" (memory 0))"#))
                    .collect::<String>(),
            ),
            "1003 exports, over the limit of 1000".to_owned(),
        ),
        (
            contract(&format!(
                r#"(export "{}" (memory 0))"#,
                "x".repeat(64 << 10)
            )),
            format!(
                "{} bytes of export names, over the limit of 65536",
                (64 << 10) + "memory".len() + "modreg_alloc".len() + "modreg_process".len()
            ),
        ),
        (
            // A body of its local declarations (one byte), the nops and `end`: one byte over.
            contract(&format!(
                "(func{})",
                " nop".repeat(modreg::DEFAULT_WASM_FUNCTION_BYTES - 1)
            )),
            format!(
                "a function body of {} bytes, over the limit of {}",
                modreg::DEFAULT_WASM_FUNCTION_BYTES + 1,
                modreg::DEFAULT_WASM_FUNCTION_BYTES
            ),
        ),
    ];
    for (text, says) in &cases {
        let bytes = wasm_text::text_guest(text, "wide", "1.0.0");
        let err = registry
            .wasm()
            .load_wasm_bytes("wide.wasm", &bytes, None)
            .unwrap_err();
        assert!(
            matches!(err.kind(), PluginErrorKind::WasmModule { reason, .. } if reason.contains(says.as_str())),
            "{says}: {err}"
        );
    }
    assert_eq!(registry.wasm().wasm_modules_refused(), cases.len() as u64);
    assert!(registry.plugin("wide").is_none());
    // The caps are the host's: ten functions load under a cap of ten, not under nine; the
    // largest body (`i32.const 1024`: five bytes) under a cap of five, not under four.
    let ten = wasm_text::text_guest(&contract(&"(func)".repeat(8)), "ten", "1.0.0");
    let capped = |config: WasmConfig| {
        registry_with(config.with_engine(engine))
            .wasm()
            .load_wasm_bytes("ten.wasm", &ten, None)
    };
    capped(WasmConfig::new().with_max_module_functions(10)).unwrap();
    capped(WasmConfig::new().with_max_function_bytes(5)).unwrap();
    for (config, says) in [
        (
            WasmConfig::new().with_max_module_functions(9),
            "10 functions, over the limit of 9 (WasmConfig::with_max_module_functions)",
        ),
        (
            WasmConfig::new().with_max_function_bytes(4),
            "a function body of 5 bytes, over the limit of 4 (WasmConfig::with_max_function_bytes)",
        ),
    ] {
        let err = capped(config).unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
    // The bundled guests are far under the default caps.
    registry
        .wasm()
        .load_wasm_bytes("codecs.wasm", &module("codecs.wasm"), None)
        .unwrap();
}

/// A module keeping the call contract, of one data processor `spinner`, whose start function
/// never ends.
fn spinning_start() -> Vec<u8> {
    wasm_text::text_guest(
        r#"(module
            (func $spin (loop (br 0))) (start $spin)
            (memory (export "memory") 1)
            (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "modreg_process") (param i32 i32 i32) (result i32) (i32.const 0)))"#,
        "spinner",
        "1.0.0",
    )
}

/// A configuration for `engine` which, if it compiles, caches its machine code in an empty
/// directory of its own, and that directory (removed when it is dropped): a test checks
/// nothing of a refused module reached it.
fn with_empty_jit_cache(engine: WasmEngine) -> (tempfile::TempDir, WasmConfig) {
    let cache = tempfile::tempdir().unwrap();
    let config = WasmConfig::new().with_engine(engine);
    #[cfg(feature = "wasm-jit")]
    let config = if engine.compiles() {
        config.with_jit_cache_dir(cache.path())
    } else {
        config
    };
    (cache, config)
}

/// `module` signed by the key `key` whose secret is `secret`: what `modreg sign` writes.
fn sign(module: &[u8], key: &str, secret: &str) -> WasmSignature {
    WasmSignature::new(
        key,
        modreg::sign_message(&WasmSignature::message(module), secret).unwrap(),
    )
}

/// With authentication on, a module loads only with a trusted key's signature over its bytes,
/// checked before any of the module is parsed, compiled or run: an unsigned, foreign, forged
/// or altered module is refused as such even when it is not WebAssembly or its start function
/// never ends, and the compiling engine's disk cache gets nothing of it.
fn with_authentication_on_only_modules_signed_by_a_trusted_key_load(engine: WasmEngine) {
    let (cache, config) = with_empty_jit_cache(engine);
    let registry = signing::signing_registry();
    registry.wasm().configure_wasm(config).unwrap();
    let codecs = module("codecs.wasm");
    // One letter of a description changed: still a valid module, no longer the signed bytes.
    let mut tampered = codecs.clone();
    let at = tampered
        .windows(b"Rotates".len())
        .position(|w| w == b"Rotates")
        .unwrap();
    tampered[at] = b'r';
    let spinning = spinning_start();
    let not_wasm = b"\0asm, and then not a module at all".to_vec();
    let signed = sign(&codecs, "release", SECRET);
    type Expected = fn(&SecurityError) -> bool;
    let unsigned: Expected = |e| matches!(e, SecurityError::Unsigned { .. });
    let untrusted: Expected = |e| matches!(e, SecurityError::UntrustedKey { .. });
    let forged: Expected = |e| matches!(e, SecurityError::BadSignature { .. });
    let by = |bytes: &[u8], key, secret| Some(sign(bytes, key, secret));
    let cases: [(&str, &[u8], Option<WasmSignature>, Expected); 8] = [
        ("unsigned", &codecs, None, unsigned),
        (
            "signed by a stranger",
            &codecs,
            by(&codecs, "stranger", OTHER_SECRET),
            untrusted,
        ),
        (
            "forged",
            &codecs,
            by(&codecs, "release", OTHER_SECRET),
            forged,
        ),
        (
            "altered after signing",
            &tampered,
            Some(signed.clone()),
            forged,
        ),
        ("unsigned, not WebAssembly", &not_wasm, None, unsigned),
        (
            "forged, not WebAssembly",
            &not_wasm,
            by(&not_wasm, "release", OTHER_SECRET),
            forged,
        ),
        (
            "unsigned, a start function that never ends",
            &spinning,
            None,
            unsigned,
        ),
        (
            "forged, a start function that never ends",
            &spinning,
            by(&spinning, "release", OTHER_SECRET),
            forged,
        ),
    ];
    for (what, bytes, signature, expected) in &cases {
        let outcome = registry
            .wasm()
            .load_wasm_bytes("codecs.wasm", bytes, signature.as_ref());
        let compiled = std::fs::read_dir(cache.path()).map_or(0, |dir| dir.count());
        assert_eq!(compiled, 0, "{what}: the compiling engine's cache got it");
        assert_refused!(outcome, e if expected(e), what);
        assert!(registry.plugin("rot13").is_none(), "{what}");
    }
    // Signed by a trusted key, a module is checked as any other: it must still run.
    let err = registry
        .wasm()
        .load_wasm_bytes(
            "spinner.wasm",
            &spinning,
            Some(&sign(&spinning, "release", SECRET)),
        )
        .unwrap_err();
    assert!(
        matches!(err.kind(), PluginErrorKind::WasmModule { .. }),
        "{err}"
    );
    registry
        .wasm()
        .load_wasm_bytes("codecs.wasm", &codecs, Some(&signed))
        .unwrap();
    rot13_still_answers(&registry);
}

/// Under access control a module loads only for a principal allowed to register every plugin
/// it lists, and that is asked before the module is compiled or its start function runs
/// (`Change::Declare`): without a principal, or by one whose grant does not cover a plugin (by
/// operation, or by type), the load is refused as `AccessDenied` even when the module's start
/// function never ends, and the compiling engine's cache gets nothing of it. An allowed load
/// is audited once per plugin, a refused one once.
fn under_access_control_a_module_loads_only_for_a_principal_allowed_its_plugins(
    engine: WasmEngine,
) {
    let (cache, config) = with_empty_jit_cache(engine);
    let registry = ModuleRegistry::new();
    registry.wasm().configure_wasm(config).unwrap();
    registry
        .configure_plugin_access_control(
            PluginAccessControlConfig::new()
                .with_role_based_access(true)
                .with_access_logging(true)
                .with_role(Role::new("encoders").allow_types(
                    Operation::Register,
                    "*",
                    [PluginType::Encoding],
                ))
                .with_role(Role::new("reader").allow(Operation::Discover, "*")),
        )
        .unwrap();
    let codecs = module("codecs.wasm");
    let spinning = spinning_start();
    let encoder = Principal::new("ed").with_role("encoders");
    let reader = Principal::new("rita").with_role("reader");
    // What, by whom, which module.
    let cases = [
        ("no principal", None, "codecs.wasm", codecs.as_slice()),
        ("a reader", Some(&reader), "codecs.wasm", &codecs),
        (
            "an encoder, a data processor that never starts",
            Some(&encoder),
            "spinner.wasm",
            &spinning,
        ),
    ];
    let load = |principal: Option<&Principal>, name: &str, bytes: &[u8]| {
        let load = || registry.wasm().load_wasm_bytes(name, bytes, None);
        match principal {
            Some(principal) => registry
                .on_behalf_of(principal.clone())
                .unwrap()
                .changes(load),
            None => load(),
        }
    };
    for (what, principal, name, bytes) in cases {
        let who = principal.map_or("-", Principal::name);
        let outcome = load(principal, name, bytes);
        assert_refused!(
            outcome,
            SecurityError::AccessDenied { principal, .. } if principal == who,
            what
        );
        let compiled = std::fs::read_dir(cache.path()).map_or(0, |dir| dir.count());
        assert_eq!(compiled, 0, "{what}: the compiling engine's cache got it");
        assert!(registry.plugin("rot13").is_none(), "{what}");
    }
    let refusals =
        registry.audit_log(|e| e.operation == Operation::Register && !e.decision.allowed);
    assert_eq!(refusals.len(), 3, "one refusal a load: {refusals:?}");
    load(Some(&encoder), "codecs.wasm", &codecs).unwrap();
    rot13_still_answers(&registry);
    let allowed = registry.audit_log(|e| e.principal == "ed" && e.decision.allowed);
    assert_eq!(
        allowed.iter().filter(|e| e.plugin == "rot13").count(),
        1,
        "each plugin's registration audited once: {allowed:?}"
    );
}

/// A new version that validates but can never be instantiated is refused before it replaces
/// anything: the version before it keeps serving, and the refusal is counted.
fn a_version_that_cannot_be_instantiated_never_replaces_a_working_one(engine: WasmEngine) {
    let registry = registry_with(WasmConfig::new().with_engine(engine));
    let v1 = wasm_text::guest_answering("one", "1.0.0");
    registry
        .wasm()
        .load_wasm_bytes("greeter.wasm", &v1, None)
        .unwrap();
    let contract = |extra: &str, pages: u32, alloc_param: &str| {
        format!(
            r#"(module
                {extra}
                (memory (export "memory") {pages})
                (func (export "modreg_alloc") (param {alloc_param}) (result i32) (i32.const 1024))
                (func (export "modreg_process") (param i32 i32 i32) (result i32) (i32.const 0)))"#
        )
    };
    let cases = [
        (
            "a start function that never ends",
            contract("(func $spin (loop (br 0))) (start $spin)", 1, "i32"),
        ),
        (
            "an import with the wrong signature",
            contract(
                r#"(import "modreg" "panic_message" (func (param i64)))"#,
                1,
                "i32",
            ),
        ),
        ("4 GiB of initial memory", contract("", 65_536, "i32")),
        ("an export of the wrong type", contract("", 1, "i64")),
    ];
    for (what, text) in &cases {
        let v2 = wasm_text::text_guest(text, "greeter", "2.0.0");
        let err = registry
            .wasm()
            .load_wasm_bytes("greeter.wasm", &v2, None)
            .expect_err(what);
        assert!(
            matches!(err.kind(), PluginErrorKind::WasmModule { .. }),
            "{what}: {err}"
        );
        assert_eq!(answer_of(&registry, "greeter"), b"one", "{what}");
        assert_eq!(registry.plugin("greeter").unwrap().version(), "1.0.0");
    }
    assert_eq!(registry.wasm().wasm_modules_refused(), cases.len() as u64);
}

/// A compiled-in plugin a module could try to impersonate.
#[modreg::plugin(type = Encryption, version = "1.0.0")]
#[derive(Default)]
struct Sealer;

impl modreg::PluginBehavior for Sealer {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.iter().map(|b| b ^ 0x5a).collect())
    }
}

/// A file in a plugin directory never silently replaces a compiled-in plugin (an encryptor
/// that returns the plaintext); the host may allow it explicitly.
fn a_module_takes_a_compiled_in_name_only_when_the_host_allows_it(engine: WasmEngine) {
    let registry = ModuleRegistry::new();
    assert!(registry.plugin("sealer").is_some(), "compiled in");
    let impostor = wasm_text::guest_typed("sealer", "plain", "1.0.0", "encryption");
    let err = registry
        .wasm()
        .load_wasm_bytes("impostor.wasm", &impostor, None)
        .unwrap_err();
    assert!(err.to_string().contains("compiled in"), "{err}");
    let sealer = registry.create_plugin("sealer").unwrap();
    assert_eq!(sealer.process(b"a").unwrap(), [b'a' ^ 0x5a]);
    registry
        .wasm()
        .configure_wasm(
            WasmConfig::new()
                .with_engine(engine)
                .with_replace_compiled(true),
        )
        .unwrap();
    registry
        .wasm()
        .load_wasm_bytes("impostor.wasm", &impostor, None)
        .unwrap();
    assert_eq!(answer_of(&registry, "sealer"), b"plain");
}

/// The sandbox configured again (a new time budget, a state file named or dropped) forgets no
/// signed version it accepted: an older signed module is still refused, and a state file
/// named afterwards holds what was accepted before.
#[test]
fn a_new_sandbox_configuration_keeps_the_signed_versions_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("wasm-versions.json");
    let registry = signing::signing_registry();
    let load = |registry: &ModuleRegistry, bytes: &[u8]| {
        registry.wasm().load_wasm_bytes(
            "greeter.wasm",
            bytes,
            Some(&sign(bytes, "release", SECRET)),
        )
    };
    let v1 = wasm_text::guest_answering("one", "1.0.0");
    let v2 = wasm_text::guest_answering("two", "2.0.0");
    load(&registry, &v2).unwrap();
    let configure = |config: WasmConfig| registry.wasm().configure_wasm(config).unwrap();
    configure(WasmConfig::new().with_time_budget(Duration::from_secs(2)));
    assert!(load(&registry, &v1).is_err(), "configured again");
    configure(WasmConfig::new().with_state_file(&state));
    assert!(load(&registry, &v1).is_err(), "with a state file");
    let restarted = signing::signing_registry();
    restarted
        .wasm()
        .configure_wasm(WasmConfig::new().with_state_file(&state))
        .unwrap();
    assert!(
        load(&restarted, &v1).is_err(),
        "the state file holds what was accepted before it was named"
    );
    load(&restarted, &v2).unwrap();
}

/// Every state file (the sandbox's signed versions, the security layer's replay state) is
/// refused in a directory another user may write, who could put an older record back: when
/// it is named, and at each use after (a signed load). It fails closed, and is used once the
/// directory is the host's alone.
#[cfg(unix)]
#[test]
fn a_state_file_another_user_may_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("state");
    std::fs::create_dir(&dir).unwrap();
    let guarded = |guarded: bool| {
        let mode = if guarded { 0o700 } else { 0o777 };
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let refused = |what: &str, result: Result<(), PluginError>| {
        let error = result.expect_err(what).to_string();
        assert!(
            error.contains("may be written by other users (mode 777)"),
            "{what}: {error}"
        );
    };
    type Name = fn(&ModuleRegistry, &std::path::Path) -> Result<(), PluginError>;
    let names: [(&str, Name); 2] = [
        ("the signed versions", |registry, dir| {
            registry
                .wasm()
                .configure_wasm(WasmConfig::new().with_state_file(dir.join("modules.json")))
        }),
        ("the replay state", |registry, dir| {
            registry
                .security()
                .persist_replay_state(dir.join("manifests.json"))
        }),
    ];
    for (what, name) in names {
        let registry = signing::signing_registry();
        guarded(false);
        refused(what, name(&registry, &dir));
        guarded(true);
        name(&registry, &dir).unwrap();
    }
    // Named, then left open: the next signed load is refused.
    let registry = signing::signing_registry();
    registry
        .wasm()
        .configure_wasm(WasmConfig::new().with_state_file(dir.join("modules.json")))
        .unwrap();
    let v1 = wasm_text::guest_answering("one", "1.0.0");
    let load = || {
        registry
            .wasm()
            .load_wasm_bytes("greeter.wasm", &v1, Some(&sign(&v1, "release", SECRET)))
            .map(drop)
    };
    guarded(false);
    refused("a signed load", load());
    assert!(registry.create_plugin("greeter").is_err());
    guarded(true);
    load().unwrap();
    assert_eq!(answer_of(&registry, "greeter"), b"one");
}

/// A signed module may only replace an older one (signatures bind bytes, not versions), and
/// with a state file the rule holds after a restart.
#[test]
fn a_signed_module_only_replaces_an_older_one_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("wasm-versions.json");
    let start = || {
        let registry = signing::signing_registry();
        registry
            .wasm()
            .configure_wasm(WasmConfig::new().with_state_file(&state))
            .unwrap();
        registry
    };
    let v1 = wasm_text::guest_answering("one", "1.0.0");
    let v2 = wasm_text::guest_answering("two", "2.0.0");
    let v2_rebuilt = wasm_text::guest_answering("TWO", "2.0.0");
    let load = |registry: &ModuleRegistry, bytes: &[u8]| {
        registry.wasm().load_wasm_bytes(
            "greeter.wasm",
            bytes,
            Some(&sign(bytes, "release", SECRET)),
        )
    };
    let registry = start();
    load(&registry, &v1).unwrap();
    load(&registry, &v2).unwrap();
    let err = load(&registry, &v1).unwrap_err();
    assert!(
        err.to_string().contains("may only replace an older one"),
        "{err}"
    );
    assert!(
        load(&registry, &v2_rebuilt).is_err(),
        "same version, other bytes"
    );
    assert_eq!(answer_of(&registry, "greeter"), b"two");
    // A forged signature is refused by the security layer and leaves the record alone.
    let v3 = wasm_text::guest_answering("three", "3.0.0");
    assert!(
        registry
            .wasm()
            .load_wasm_bytes(
                "greeter.wasm",
                &v3,
                Some(&sign(&v3, "release", OTHER_SECRET))
            )
            .is_err()
    );
    drop(registry);
    let restarted = start();
    assert!(load(&restarted, &v1).is_err(), "after a restart too");
    load(&restarted, &v2).unwrap();
    assert_eq!(answer_of(&restarted, "greeter"), b"two");
    load(&restarted, &v3).unwrap();
}

/// One bulk instruction larger than a slice of fuel (a 62 MiB `memory.fill`) gets the fuel
/// it needs at once: it completes well within the time budget instead of being retried
/// until the budget ends; under a fuel cap smaller than it needs, it stops at once.
fn a_large_bulk_instruction_is_fuelled_at_once_or_stopped_at_once(engine: WasmEngine) {
    let fill = wasm_text::text_guest(
        r#"(module
            (memory (export "memory") 1000)
            (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "modreg_process") (param i32 i32 i32) (result i32)
                (memory.fill (i32.const 2048) (i32.const 97) (i32.const 65011712))
                (i32.store (i32.const 0) (i32.const 0))
                (i32.store (i32.const 4) (i32.const 2048))
                (i32.store (i32.const 8) (i32.const 3))
                (i32.const 0)))"#,
        "filler",
        "1.0.0",
    );
    let registry = registry_with(
        WasmConfig::new()
            .with_engine(engine)
            .with_time_budget(Duration::from_secs(5)),
    );
    registry
        .wasm()
        .load_wasm_bytes("filler.wasm", &fill, None)
        .unwrap();
    // Retried slice by slice, it ran until the budget ended: a `Timeout`, not an answer.
    assert_eq!(answer_of(&registry, "filler"), b"aaa");
    registry
        .wasm()
        .configure_wasm(
            WasmConfig::new()
                .with_engine(engine)
                .with_time_budget(Duration::from_secs(5))
                .with_fuel(10_000),
        )
        .unwrap();
    registry
        .wasm()
        .load_wasm_bytes("filler.wasm", &fill, None)
        .unwrap();
    let answer = registry.create_plugin("filler").unwrap().process(b"");
    if matches!(
        engine,
        WasmEngine::Interpreter | WasmEngine::LazyInterpreter
    ) {
        // Stopped for its fuel (`Trapped`), not at the 5 s deadline (`Timeout`): the
        // interpreter charges a bulk instruction by the bytes it copies.
        let err = answer.unwrap_err();
        assert!(
            matches!(err.kind(), PluginErrorKind::Trapped { .. }),
            "{err}"
        );
    } else {
        // Compiled code charges one unit per instruction, a bulk one too (it runs at memory
        // speed: the deadline is never at stake).
        assert_eq!(answer.unwrap(), b"aaa");
    }
}

/// Idle instances keep memory for the next call, so they are bounded: an instance whose
/// guest grew its memory past its share of `max_idle_memory` (divided by the pool's size) is
/// dropped when its call ends, one within it is kept, and all modules together keep at most
/// `max_idle_memory`; a replaced module's idle memory goes with it.
fn idle_instances_give_back_grown_memory_and_stay_under_a_cap_across_modules(engine: WasmEngine) {
    // A guest that grows its memory by `pages` on each call.
    let grower = |name: &str, pages: u32| {
        wasm_text::text_guest(
            &format!(
                r#"(module
                    (memory (export "memory") 1)
                    (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
                    (func (export "modreg_process") (param i32 i32 i32) (result i32)
                        (drop (memory.grow (i32.const {pages})))
                        (i32.store (i32.const 0) (i32.const 0))
                        (i32.store (i32.const 4) (i32.const 1024))
                        (i32.store (i32.const 8) (i32.const 0))
                        (i32.const 0)))"#
            ),
            name,
            "1.0.0",
        )
    };
    let registry = registry_with(
        WasmConfig::new()
            .with_engine(engine)
            .with_guest_state(GuestState::Shared)
            .with_pool_size(4)
            .with_max_idle_memory(4 << 20),
    );
    for (file, name, pages) in [("big.wasm", "grower", 100), ("small.wasm", "nibbler", 1)] {
        registry
            .wasm()
            .load_wasm_bytes(file, &grower(name, pages), None)
            .unwrap();
    }
    // The instances made at load wait idle: one page each.
    assert_eq!(registry.wasm().idle_memory_bytes(), 2 * (64 << 10));
    answer_of(&registry, "grower");
    assert_eq!(
        registry.wasm().idle_memory_bytes(),
        64 << 10,
        "the instance that grew to 101 pages (past its share, 1 MiB) was dropped"
    );
    answer_of(&registry, "nibbler");
    assert_eq!(
        registry.wasm().idle_memory_bytes(),
        2 * (64 << 10),
        "the instance that grew to 2 pages (within its share) was kept"
    );
    // Kept, it is the next call's guest: its memory grows on from where the last call left it.
    answer_of(&registry, "nibbler");
    assert_eq!(registry.wasm().idle_memory_bytes(), 3 * (64 << 10));
    registry.wasm().unload_wasm_module("small.wasm").unwrap();
    registry.wasm().unload_wasm_module("big.wasm").unwrap();
    assert_eq!(registry.wasm().idle_memory_bytes(), 0);

    let registry = registry_with(
        WasmConfig::new()
            .with_engine(engine)
            .with_max_idle_memory(64 << 10)
            .with_guest_state(GuestState::Shared),
    );
    // Shared guests: an instance a call used goes back to the pool, within the cap.
    for (file, name) in [("a.wasm", "greeter-a"), ("b.wasm", "greeter-b")] {
        let module = wasm_text::guest_named(name, "hi", "1.0.0");
        registry
            .wasm()
            .load_wasm_bytes(file, &module, None)
            .unwrap();
        answer_of(&registry, name);
    }
    assert_eq!(
        registry.wasm().idle_memory_bytes(),
        64 << 10,
        "one page across both modules"
    );
    registry.wasm().unload_wasm_module("a.wasm").unwrap();
    registry.wasm().unload_wasm_module("b.wasm").unwrap();
    assert_eq!(registry.wasm().idle_memory_bytes(), 0);
}

fn reloading_replaces_new_calls_while_old_instances_finish_on_the_old_code(engine: WasmEngine) {
    let registry = registry_with(WasmConfig::new().with_engine(engine));
    let v1 = wasm_text::guest_answering("one", "1.0.0");
    let v2 = wasm_text::guest_answering("two", "2.0.0");
    registry
        .wasm()
        .load_wasm_bytes("greeter.wasm", &v1, None)
        .unwrap();
    let old = registry.create_plugin("greeter").unwrap();
    assert_eq!(old.process(b"").unwrap(), b"one");
    registry
        .wasm()
        .load_wasm_bytes("greeter.wasm", &v2, None)
        .unwrap();
    assert_eq!(
        old.process(b"").unwrap(),
        b"one",
        "an instance keeps its code"
    );
    let new = registry.create_plugin("greeter").unwrap();
    assert_eq!(new.process(b"").unwrap(), b"two");
    assert_eq!(registry.plugin("greeter").unwrap().version(), "2.0.0");
    // A corrupt version is refused (and alerted); the loaded one keeps serving.
    registry
        .configure_advanced_plugin_monitoring(
            AdvancedPluginMonitoringConfig::new().with_plugin_alerting(true),
        )
        .unwrap();
    assert!(
        registry
            .wasm()
            .load_wasm_bytes("greeter.wasm", b"\0asm garbage", None)
            .is_err()
    );
    let alerts = registry.take_alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].kind, AlertKind::ModuleRefused);
    assert_eq!(alerts[0].plugin, "greeter.wasm");
    assert_eq!(answer_of(&registry, "greeter"), b"two");
    registry.wasm().unload_wasm_module("greeter.wasm").unwrap();
    assert!(registry.plugin("greeter").is_none());
}

/// Modules come and go without end (a watched directory rewritten for months: versions
/// replaced, modules of ever new names loaded and unloaded, refused before and after they
/// compiled, files that come and go) and leave nothing behind: the heap this thread holds stays flat over hundreds of
/// rounds, on a default registry and on one with every monitoring switch on (alerts keyed by
/// module names no withdrawal forgets). The interpreter kept every module it compiled in the
/// registry's engine (kilobytes a load of these small modules), the alert
/// cooldowns kept every refused module's name, and directory passes every refused file's.
fn replaced_and_refused_modules_give_their_memory_back(engine: WasmEngine) {
    let monitored = AdvancedPluginMonitoringConfig::new()
        .with_plugin_metrics(true)
        .with_performance_metrics(true)
        .with_security_metrics(true)
        .with_health_metrics(true)
        .with_plugin_alerting(true)
        .with_alert_rules(modreg::AlertRules::new().with_cooldown(Duration::ZERO));
    for monitoring in [None, Some(monitored)] {
        let registry = registry_with(WasmConfig::new().with_engine(engine));
        let monitored = monitoring.is_some();
        if let Some(config) = monitoring {
            registry
                .configure_advanced_plugin_monitoring(config)
                .unwrap();
            registry
                .configure_plugin_health_monitoring(
                    modreg::PluginHealthMonitoringConfig::new()
                        .with_plugin_health_checks(true)
                        .with_plugin_health_metrics(true)
                        .with_plugin_health_dashboard(true),
                )
                .unwrap();
        }
        let versions = [
            wasm_text::guest_answering("one", "1.0.0"),
            wasm_text::guest_answering("two", "2.0.0"),
        ];
        // Compiled, then refused: it lists no plugins.
        let unlisted = wat::parse_str(wasm_text::ECHO).unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
        let round = |i: usize| {
            for (version, answer) in versions.iter().zip([&b"one"[..], b"two"]) {
                registry
                    .wasm()
                    .load_wasm_bytes("greeter.wasm", version, None)
                    .unwrap();
                assert_eq!(answer_of(&registry, "greeter"), answer);
            }
            let (module, plugin) = (format!("m{i}.wasm"), format!("p{i}"));
            let bytes = wasm_text::guest_named(&plugin, "x", "1.0.0");
            registry
                .wasm()
                .load_wasm_bytes(&module, &bytes, None)
                .unwrap();
            assert_eq!(answer_of(&registry, &plugin), b"x");
            if monitored {
                let report = registry.run_health_checks().unwrap();
                assert!(report.plugins.contains_key(&plugin));
            }
            registry.wasm().unload_wasm_module(&module).unwrap();
            for (module, bytes) in [
                (format!("bad{i}.wasm"), &b"\0asm garbage"[..]),
                ("unlisted.wasm".to_owned(), &unlisted[..]),
            ] {
                let refused = registry.wasm().load_wasm_bytes(&module, bytes, None);
                assert!(refused.is_err());
            }
            // A directory pass over files of new names, one loaded and one refused, then gone.
            let (good, bad) = (
                dir.join(format!("g{i}.wasm")),
                dir.join(format!("d{i}.wasm")),
            );
            std::fs::write(
                &good,
                wasm_text::guest_named(&format!("g{i}"), "x", "1.0.0"),
            )
            .unwrap();
            std::fs::write(&bad, b"\0asm garbage").unwrap();
            let report = registry.wasm().load_wasm_plugins(dir).unwrap();
            assert_eq!((report.loaded.len(), report.refused.len()), (1, 1));
            std::fs::remove_file(&good).unwrap();
            std::fs::remove_file(&bad).unwrap();
            let report = registry.wasm().load_wasm_plugins(dir).unwrap();
            assert_eq!(report.removed, [format!("g{i}.wasm")]);
            let alerts = registry.take_alerts();
            assert_eq!(alerts.len(), if monitored { 3 } else { 0 }, "{alerts:?}");
        };
        // What is kept once (pools, caches, the first records) is kept by then.
        for i in 0..100 {
            round(i);
        }
        // Two windows of 100 rounds each: what grows with rounds grows in both; something
        // kept once grows one at most. (A loaded CI run once held 6.6 KB more over 200
        // rounds, monitored, in the lazy interpreter; the cause was not found: not
        // monitoring's metric snapshots, 342 bytes over rounds spanning 24 s.)
        let rounds = 100;
        let grown: Vec<isize> = (0..2)
            .map(|window| {
                let before = held_memory::held();
                for i in 100 + window * rounds..100 + (window + 1) * rounds {
                    round(i);
                }
                held_memory::held() - before
            })
            .collect();
        assert!(
            grown.iter().min().is_some_and(|least| *least <= 4 << 10),
            "{grown:?} bytes more held in two windows of {rounds} rounds (monitoring configured: {monitored})"
        );
    }
}

fn one_plugin_serves_many_threads_each_in_its_own_sandbox(engine: WasmEngine) {
    let registry = host(WasmConfig::new().with_engine(engine));
    let rot13 = registry.create_plugin("rot13").unwrap();
    std::thread::scope(|scope| {
        for thread in 0..8u8 {
            let rot13 = &rot13;
            scope.spawn(move || {
                for call in 0..25u8 {
                    let input = [b'a' + (thread + call) % 26; 100];
                    let expected = [b'a' + (thread + call + 13) % 26; 100];
                    assert_eq!(rot13.process(&input).unwrap(), expected);
                }
            });
        }
    });
}

#[test]
fn a_module_cannot_take_over_another_modules_plugin() {
    let registry = ModuleRegistry::new();
    let first = wasm_text::guest_named("shared-name", "one", "1.0.0");
    let second = wasm_text::guest_named("shared-name", "two", "1.0.0");
    registry
        .wasm()
        .load_wasm_bytes("first.wasm", &first, None)
        .unwrap();
    let refused = registry
        .wasm()
        .load_wasm_bytes("second.wasm", &second, None)
        .unwrap_err();
    assert!(
        matches!(refused.kind(), PluginErrorKind::AlreadyRegistered { name, existing } if name == "shared-name" && existing == "loaded from `first.wasm`"),
        "{refused:?}"
    );
    // Reloading the owner replaces it.
    registry
        .wasm()
        .load_wasm_bytes("first.wasm", &second, None)
        .unwrap();
    let answer = answer_of(&registry, "shared-name");
    assert_eq!(answer, b"two");
}

/// A plugin the application registers at run time, `name` at `version` (its constructor fails).
fn application_plugin(name: &'static str, version: &str) -> PluginConfig {
    PluginConfig::new()
        .with_name(name)
        .with_version(version)
        .with_type(PluginType::DataProcessor)
        .with_constructor(move |_| Err(PluginError::processing(name, "the application's")))
}

/// A module owns the plugins it registered, and only while they are its: one removed by hand
/// (`unregister_plugin`) is no longer the module's, so its name can go to the application or
/// to another module, and neither the module's reload nor its unloading touches what took it.
#[test]
fn a_module_owns_only_the_plugins_still_its_own() {
    let registry = ModuleRegistry::new();
    let version = |name: &str| registry.plugin(name).map(|p| p.version().to_owned());
    registry
        .wasm()
        .load_wasm_bytes("codec.wasm", &wasm_text::fake_hex_codec("x"), None)
        .unwrap();
    // Another module takes a name the first gave up.
    registry
        .registrations()
        .unregister_plugin("x-decode")
        .unwrap();
    let other = wasm_text::guest_named("x-decode", "other", "2.0.0");
    registry
        .wasm()
        .load_wasm_bytes("other.wasm", &other, None)
        .unwrap();
    // The application takes the other.
    registry
        .registrations()
        .unregister_plugin("x-encode")
        .unwrap();
    registry
        .register_plugin(application_plugin("x-encode", "9.0.0"))
        .unwrap();
    let owners = || (version("x-encode"), answer_of(&registry, "x-decode"));
    let before = owners();
    assert_eq!(before, (Some("9.0.0".to_owned()), b"other".to_vec()));
    // Loading the first module again would take both back: refused, and nothing changes.
    let refused = registry
        .wasm()
        .load_wasm_bytes("codec.wasm", &wasm_text::fake_hex_codec("x"), None)
        .unwrap_err();
    assert!(
        matches!(refused.kind(), PluginErrorKind::AlreadyRegistered { .. }),
        "{refused:?}"
    );
    assert_eq!(owners(), before);
    // Unloading it removes nothing of theirs.
    assert_eq!(
        registry.wasm().unload_wasm_module("codec.wasm").unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(owners(), before);
    // And the name it gave up is free for it once more when its taker goes.
    registry.wasm().unload_wasm_module("other.wasm").unwrap();
    registry
        .wasm()
        .load_wasm_bytes(
            "codec.wasm",
            &wasm_text::with_plugin(wasm_text::fake_hex_codec("y"), "x-decode"),
            None,
        )
        .unwrap();
    assert_eq!(answer_of(&registry, "x-decode"), b"");
}

/// Any sequence of module loads (two modules, two versions each, with a plugin name both may
/// hold), unloads, and registrations and removals by the application leaves each name to the
/// owner a model says: a module takes only names that are free or its own (else its load is
/// refused and changes nothing), its version drops what the one before held and it does not,
/// and an unload or a removal by another hand takes only what it still holds.
#[test]
fn any_sequence_of_loads_and_registrations_leaves_each_name_to_its_owner() {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    #[derive(Clone, Copy, Debug)]
    enum Op {
        /// Module 0 or 1 at version 0 (it holds the shared name) or 1 (it does not).
        Load(usize, usize),
        Unload(usize),
        Register(usize),
        Unregister(usize),
    }
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Owner {
        Module(usize),
        Application,
    }
    const NAMES: [&str; 3] = ["own-0", "own-1", "shared"];
    let files = ["zero.wasm", "one.wasm"];
    let held = |m: usize, v: usize| -> Vec<usize> { if v == 0 { vec![m, 2] } else { vec![m] } };
    let module = |m: usize, v: usize| {
        let mut names = held(m, v).into_iter().map(|n| NAMES[n]);
        let first = wasm_text::guest_named(names.next().unwrap(), "", &format!("1.{v}.0"));
        names.fold(first, wasm_text::with_plugin)
    };
    let op = prop_oneof![
        3 => (0..2usize, 0..2usize).prop_map(|(m, v)| Op::Load(m, v)),
        1 => (0..2usize).prop_map(Op::Unload),
        1 => (0..3usize).prop_map(Op::Register),
        1 => (0..3usize).prop_map(Op::Unregister),
    ];
    let refused_loads = std::cell::Cell::new(0);
    seeded::runner(256)
        .run(&proptest::collection::vec(op, 1..32), |ops| {
            let registry = ModuleRegistry::new();
            let sandbox = registry.wasm();
            let mut owners: BTreeMap<usize, Owner> = BTreeMap::new();
            let mut loaded = [false; 2];
            for op in ops {
                match op {
                    Op::Load(m, v) => {
                        let wanted = held(m, v);
                        let free = wanted
                            .iter()
                            .all(|n| owners.get(n).is_none_or(|o| *o == Owner::Module(m)));
                        let result = sandbox.load_wasm_bytes(files[m], &module(m, v), None);
                        prop_assert_eq!(result.is_ok(), free, "{:?}: {:?}", op, result);
                        if free {
                            owners.retain(|n, o| *o != Owner::Module(m) || wanted.contains(n));
                            owners.extend(wanted.iter().map(|&n| (n, Owner::Module(m))));
                            loaded[m] = true;
                        } else {
                            refused_loads.set(refused_loads.get() + 1);
                        }
                    }
                    Op::Unload(m) => {
                        let result = sandbox.unload_wasm_module(files[m]);
                        prop_assert_eq!(result.is_ok(), loaded[m], "{:?}", op);
                        if loaded[m] {
                            let mut expected: Vec<&str> = (owners.iter())
                                .filter(|(_, o)| **o == Owner::Module(m))
                                .map(|(&n, _)| NAMES[n])
                                .collect();
                            expected.sort_unstable();
                            prop_assert_eq!(result.unwrap(), expected);
                            owners.retain(|_, o| *o != Owner::Module(m));
                            loaded[m] = false;
                        }
                    }
                    Op::Register(n) => {
                        let result =
                            registry.register_plugin(application_plugin(NAMES[n], "9.0.0"));
                        prop_assert_eq!(result.is_ok(), !owners.contains_key(&n), "{:?}", op);
                        owners.entry(n).or_insert(Owner::Application);
                    }
                    Op::Unregister(n) => {
                        let result = registry.registrations().unregister_plugin(NAMES[n]);
                        prop_assert_eq!(result.is_ok(), owners.remove(&n).is_some(), "{:?}", op);
                    }
                }
                for (n, name) in NAMES.iter().enumerate() {
                    let holder = registry.plugin(name).map(|p| {
                        p.metadata()
                            .get("wasm.module")
                            .map(|file| (*file).to_owned())
                    });
                    let expected = owners.get(&n).map(|o| match o {
                        Owner::Module(m) => Some(files[*m].to_owned()),
                        Owner::Application => None,
                    });
                    prop_assert_eq!(holder, expected, "{} after {:?}", name, op);
                }
            }
            Ok(())
        })
        .unwrap();
    // The refusal the model predicts is reached, not only loads that find their names free.
    assert!(refused_loads.get() > 0);
}

/// A module's reload is all or none across its typed and its bytes plugins: a version whose
/// bytes plugin is refused (its name is taken) leaves the version before it serving, and none
/// of the refused version's typed plugins registered.
#[test]
fn a_refused_reload_registers_none_of_its_typed_plugins() {
    use sandboxed_trait::PRICING;

    let registry = registry_with(WasmConfig::new().with_replace_compiled(true));
    registry.registrations().add_registry(&PRICING);
    let sandboxed = || {
        registry
            .catalog()
            .typed_plugins(&PRICING)
            .into_iter()
            .filter(|p| p.sandboxed)
            .count()
    };
    registry
        .wasm()
        .load_wasm_bytes(
            "m.wasm",
            &wasm_text::guest_named("first", "one", "1.0.0"),
            None,
        )
        .unwrap();
    registry
        .register_plugin(application_plugin("taken", "1.0.0"))
        .unwrap();
    let pricing = std::fs::read(wasm_guests::pricing_module()).unwrap();
    let refused = registry
        .wasm()
        .load_wasm_bytes(
            "m.wasm",
            &wasm_text::with_plugin(pricing.clone(), "taken"),
            None,
        )
        .unwrap_err();
    assert!(
        matches!(refused.kind(), PluginErrorKind::AlreadyRegistered { name, .. } if name == "taken"),
        "{refused:?}"
    );
    assert_eq!(sandboxed(), 0);
    assert_eq!(answer_of(&registry, "first"), b"one");
    // The same version without the taken name replaces the first wholly.
    registry
        .wasm()
        .load_wasm_bytes("m.wasm", &pricing, None)
        .unwrap();
    assert!(sandboxed() > 0);
    assert!(registry.plugin("first").is_none());
    // Each says which module it came from.
    let typed = registry.catalog().typed_plugins(&PRICING);
    assert!(
        typed
            .iter()
            .all(|p| p.source.as_deref() == p.sandboxed.then_some("m.wasm")),
        "{typed:?}"
    );
}

/// Every path a module is refused by counts it once in `wasm_modules_refused` (the same call
/// logs it and tells the layers `ModuleRefused`): its bytes, its file over the size limit, its
/// signature file, loaded as bytes, from a file or by a directory pass; a pass that refuses it
/// again without a word does not count it again.
#[test]
fn every_refusal_of_a_module_is_counted_once() {
    let scratch = tempfile::tempdir().unwrap();
    let (single, dir) = (scratch.path().join("single"), scratch.path().join("dir"));
    let registry = registry_with(WasmConfig::new().with_max_module_bytes(4096));
    let write = |path: std::path::PathBuf, bytes: &[u8]| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        age(&path);
        path
    };
    let big = vec![0u8; 5000];
    let signed = |name: &str| wasm_text::guest_named(name, "x", "1.0.0");
    // Each refuses by one path and says how many it refused.
    type Refusal<'a> = (&'static str, Box<dyn Fn() -> u64 + 'a>);
    let refusals: [Refusal; 4] = [
        (
            "bytes",
            Box::new(|| {
                let refused = registry.wasm().load_wasm_bytes("b.wasm", b"junk", None);
                u64::from(refused.is_err())
            }),
        ),
        (
            "a file over the limit",
            Box::new(|| {
                let path = write(single.join("big.wasm"), &big);
                u64::from(registry.wasm().load_wasm_plugin(path).is_err())
            }),
        ),
        (
            "a file's signature file",
            Box::new(|| {
                write(single.join("sig.wasm.sig"), b"not a signature");
                let path = write(single.join("sig.wasm"), &signed("sig"));
                u64::from(registry.wasm().load_wasm_plugin(path).is_err())
            }),
        ),
        (
            "a directory pass, both",
            Box::new(|| {
                write(dir.join("big.wasm"), &big);
                write(dir.join("sig.wasm.sig"), b"not a signature");
                write(dir.join("sig.wasm"), &signed("sig"));
                let first = registry.wasm().load_wasm_plugins(&dir).unwrap();
                let again = registry.wasm().load_wasm_plugins(&dir).unwrap();
                assert_eq!(again.unchanged, ["big.wasm", "sig.wasm"], "{again:?}");
                first.refused.len() as u64
            }),
        ),
    ];
    let mut expected = 0;
    for (path, refuse) in refusals {
        expected += refuse();
        assert_eq!(registry.wasm().wasm_modules_refused(), expected, "{path}");
    }
    assert_eq!(expected, 5);
    #[cfg(feature = "prometheus")]
    assert!(
        registry
            .prometheus_text()
            .contains("\nmodreg_wasm_modules_refused_total 5\n"),
        "{}",
        registry.prometheus_text()
    );
}

/// A module file refused for what it is (over the size limit) is refused once, not at every
/// pass (each would log it again), while its size and time stay; a new version over the limit
/// is refused anew; the sandbox configured again with a larger limit loads it.
#[test]
fn a_module_file_over_the_size_limit_is_refused_once() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let registry = registry_with(WasmConfig::new().with_max_module_bytes(64));
    let path = dir.join("big.wasm");
    std::fs::write(&path, wasm_text::guest_named("big", "big", "1.0.0")).unwrap();
    age(&path);
    let pass = || registry.wasm().load_wasm_plugins(dir).unwrap();
    let report = pass();
    assert!(
        refused_once(&report, "big.wasm", "over the limit"),
        "{report:?}"
    );
    assert_eq!(pass().unchanged, ["big.wasm"]);
    assert_eq!(registry.wasm().wasm_modules_refused(), 1);
    std::fs::write(&path, wasm_text::guest_named("big", "big", "1.0.10")).unwrap();
    age(&path);
    assert_eq!(pass().refused.len(), 1);
    assert_eq!(pass().unchanged, ["big.wasm"]);
    assert_eq!(registry.wasm().wasm_modules_refused(), 2);
    // Written just now, a file has no stamp until it settles: refused once, and not again
    // when it settles (a stamp where there was none, the same refusal).
    std::fs::write(&path, wasm_text::guest_named("big", "big", "1.0.11")).unwrap();
    assert_eq!(pass().refused.len(), 1);
    assert_eq!(pass().unchanged, ["big.wasm"]);
    age(&path);
    assert_eq!(pass().unchanged, ["big.wasm"]);
    assert_eq!(registry.wasm().wasm_modules_refused(), 3);
    registry.wasm().configure_wasm(WasmConfig::new()).unwrap();
    let report = pass();
    assert_eq!(
        report.loaded.keys().collect::<Vec<_>>(),
        ["big.wasm"],
        "{report:?}"
    );
}

/// A module file that cannot be read for a reason that may pass (here a link to a file not
/// there yet) is read again at every pass, but refused (logged, counted, told to the layers)
/// once while the error stays the same: a pass every second would raise an alert every second.
/// Another error is refused again; the file is loaded once it can be read.
#[cfg(unix)]
#[test]
fn a_module_file_that_cannot_be_read_is_refused_once_until_the_error_changes() {
    let scratch = tempfile::tempdir().unwrap();
    let (dir, target) = (scratch.path().join("dir"), scratch.path().join("late"));
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(&target, dir.join("late.wasm")).unwrap();
    let registry = registry_with(WasmConfig::new());
    let pass = || registry.wasm().load_wasm_plugins(&dir).unwrap();
    let refused =
        |report: &modreg::WasmLoadReport, reason: &str| refused_once(report, "late.wasm", reason);
    let report = pass();
    assert!(refused(&report, "cannot read"), "{report:?}");
    for _ in 0..3 {
        let report = pass();
        assert_eq!(report.unchanged, ["late.wasm"], "{report:?}");
        assert!(report.refused.is_empty(), "{report:?}");
    }
    assert_eq!(registry.wasm().wasm_modules_refused(), 1);
    // Another error: refused again.
    std::fs::create_dir(&target).unwrap();
    let report = pass();
    assert!(refused(&report, "not a regular file"), "{report:?}");
    assert_eq!(registry.wasm().wasm_modules_refused(), 2);
    // Readable at last.
    std::fs::remove_dir(&target).unwrap();
    std::fs::write(&target, wasm_text::guest_named("late", "late", "1.0.0")).unwrap();
    let report = pass();
    assert_eq!(
        report.loaded.keys().collect::<Vec<_>>(),
        ["late.wasm"],
        "{report:?}"
    );
    assert_eq!(registry.wasm().wasm_modules_refused(), 2);
}

/// A signature file whose status cannot be read (a link that loops) leaves its module without
/// a stamp, so read at every pass: refused once while the module and the error stay the same,
/// and loaded once the signature file is gone (the refusal says nothing of the module).
#[cfg(unix)]
#[test]
fn a_module_whose_signature_file_cannot_be_read_is_refused_once() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let registry = registry_with(WasmConfig::new());
    let module = dir.join("looped.wasm");
    std::fs::write(&module, wasm_text::guest_named("looped", "looped", "1.0.0")).unwrap();
    age(&module);
    let sig = dir.join("looped.wasm.sig");
    std::os::unix::fs::symlink(&sig, &sig).unwrap();
    let pass = || registry.wasm().load_wasm_plugins(dir).unwrap();
    let report = pass();
    assert!(
        refused_once(&report, "looped.wasm", "signature file cannot be read"),
        "{report:?}"
    );
    for _ in 0..3 {
        let report = pass();
        assert_eq!(report.unchanged, ["looped.wasm"], "{report:?}");
    }
    assert_eq!(registry.wasm().wasm_modules_refused(), 1);
    std::fs::remove_file(&sig).unwrap();
    let report = pass();
    assert_eq!(
        report.loaded.keys().collect::<Vec<_>>(),
        ["looped.wasm"],
        "{report:?}"
    );
}

/// Whether a directory pass refused one module, `module`, for a reason that says `reason`.
fn refused_once(report: &modreg::WasmLoadReport, module: &str, reason: &str) -> bool {
    matches!(&report.refused[..], [(name, error)] if name == module
        && error.to_string().contains(reason))
}

/// Sets `file`'s modification time a minute back: past the window in which a directory pass
/// reads a file at every pass, so that its size and time stand for its bytes.
fn age(file: &std::path::Path) {
    let old = std::time::SystemTime::now() - Duration::from_secs(60);
    let file = std::fs::File::options().write(true).open(file).unwrap();
    file.set_modified(old).unwrap();
}

/// A module refused for want of a signature is loaded once its signature file is put beside
/// it (copied after the module, as a deployment does), though the module's bytes did not
/// change; an old unchanged module whose signature file is replaced is read again too.
#[test]
fn a_module_refused_unsigned_loads_once_its_signature_arrives() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let registry = signing::signing_registry();
    let module = wasm_text::guest_named("late", "signed", "1.0.0");
    let path = dir.join("late.wasm");
    std::fs::write(&path, &module).unwrap();
    let report = registry.wasm().load_wasm_plugins(dir).unwrap();
    assert_eq!(report.refused.len(), 1, "{report:?}");
    age(&path);
    let report = registry.wasm().load_wasm_plugins(dir).unwrap();
    assert_eq!(report.unchanged, ["late.wasm"], "{report:?}");

    let sig = dir.join("late.wasm.sig");
    std::fs::write(&sig, sign(&module, "release", SECRET).to_toml()).unwrap();
    let report = registry.wasm().load_wasm_plugins(dir).unwrap();
    assert_eq!(
        report.loaded.keys().collect::<Vec<_>>(),
        ["late.wasm"],
        "{report:?}"
    );
    assert_eq!(answer_of(&registry, "late"), b"signed");
    age(&sig);
    let report = registry.wasm().load_wasm_plugins(dir).unwrap();
    assert_eq!(report.unchanged, ["late.wasm"], "{report:?}");
}

/// A module file refused because a name it lists is held elsewhere (by another module, by the
/// application) is tried again once the registry changed, and only then: a plugin moved to a
/// new file written before the old one is removed serves from the new file after the pass
/// that sees the old one gone, and the application giving up a name lets the module that
/// wanted it load; a typed module loads once the host is given its trait's registry. One
/// refused under the sandbox's configuration (a compiled-in name) is tried again once the
/// sandbox is configured again. (Aged files, so that their size and time stand for their
/// bytes.)
#[test]
fn a_refused_module_file_is_tried_again_once_what_refused_it_changed() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let registry = ModuleRegistry::new();
    let pass = || registry.wasm().load_wasm_plugins(dir).unwrap();
    let write = |file: &str, module: Vec<u8>| {
        let path = dir.join(file);
        std::fs::write(&path, module).unwrap();
        age(&path);
    };
    let refused_for_a_name = |report: &modreg::WasmLoadReport, file: &str| {
        matches!(&report.refused[..], [(name, error)] if name == file
            && matches!(error.kind(), PluginErrorKind::AlreadyRegistered { .. }))
    };
    write("a.wasm", wasm_text::guest_named("moved", "old", "1.0.0"));
    assert_eq!(pass().loaded.len(), 1);
    write("b.wasm", wasm_text::guest_named("moved", "new", "1.0.0"));
    let report = pass();
    assert!(refused_for_a_name(&report, "b.wasm"), "{report:?}");
    // Refused once: nothing changed, so the next pass does not try it again.
    let report = pass();
    assert_eq!(report.unchanged, ["a.wasm", "b.wasm"], "{report:?}");
    std::fs::remove_file(dir.join("a.wasm")).unwrap();
    let report = pass();
    assert_eq!(
        report.loaded.keys().collect::<Vec<_>>(),
        ["b.wasm"],
        "{report:?}"
    );
    assert_eq!(answer_of(&registry, "moved"), b"new");

    // The application holds a name a module wants, then gives it up.
    registry
        .register_plugin(application_plugin("wanted", "9.0.0"))
        .unwrap();
    write(
        "c.wasm",
        wasm_text::guest_named("wanted", "module", "1.0.0"),
    );
    let report = pass();
    assert!(refused_for_a_name(&report, "c.wasm"), "{report:?}");
    assert_eq!(pass().unchanged, ["b.wasm", "c.wasm"]);
    registry
        .registrations()
        .unregister_plugin("wanted")
        .unwrap();
    let report = pass();
    assert_eq!(
        report.loaded.keys().collect::<Vec<_>>(),
        ["c.wasm"],
        "{report:?}"
    );
    assert_eq!(answer_of(&registry, "wanted"), b"module");

    write(
        "d.wasm",
        wasm_text::guest_typed("sealer", "plain", "1.0.0", "encryption"),
    );
    let report = pass();
    assert!(
        matches!(&report.refused[..], [(name, error)] if name == "d.wasm" && error.to_string().contains("compiled in")),
        "{report:?}"
    );
    assert_eq!(pass().unchanged, ["b.wasm", "c.wasm", "d.wasm"]);
    registry
        .wasm()
        .configure_wasm(WasmConfig::new().with_replace_compiled(true))
        .unwrap();
    let report = pass();
    assert_eq!(
        report.loaded.keys().collect::<Vec<_>>(),
        ["d.wasm"],
        "{report:?}"
    );
    assert_eq!(answer_of(&registry, "sealer"), b"plain");

    // A typed module whose trait the host was not given serves once it is.
    write(
        "e.wasm",
        std::fs::read(wasm_guests::pricing_module()).unwrap(),
    );
    let report = pass();
    assert!(
        matches!(&report.refused[..], [(name, error)] if name == "e.wasm"
            && matches!(error.kind(), PluginErrorKind::TraitNotServed { .. })),
        "{report:?}"
    );
    assert_eq!(pass().refused.len(), 0);
    registry
        .registrations()
        .add_registry(&sandboxed_trait::PRICING);
    let report = pass();
    assert_eq!(
        report.loaded.keys().collect::<Vec<_>>(),
        ["e.wasm"],
        "{report:?}"
    );
}

/// A refusal the registry lifted is settled by the pass that reads the file again, whichever
/// way that pass ends: the same bytes loaded meanwhile by another hand (`load_wasm_bytes`), or
/// a signature file that cannot be parsed. The pass after it does not read the file again (so
/// another version loaded by hand under the file's name stays, as over any unchanged file),
/// nor refuse it again.
#[test]
fn a_lifted_refusal_is_settled_by_the_pass_that_reads_the_file_again() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let registry = ModuleRegistry::new();
    let pass = || registry.wasm().load_wasm_plugins(dir).unwrap();
    let refused_for = |file: &str, plugin: &'static str| {
        registry
            .register_plugin(application_plugin(plugin, "9.0.0"))
            .unwrap();
        let module = wasm_text::guest_named(plugin, "first", "1.0.0");
        let path = dir.join(file);
        std::fs::write(&path, &module).unwrap();
        age(&path);
        let report = pass();
        assert!(
            matches!(&report.refused[..], [(name, error)] if name == file
                && matches!(error.kind(), PluginErrorKind::AlreadyRegistered { .. })),
            "{report:?}"
        );
        registry.registrations().unregister_plugin(plugin).unwrap();
        module
    };

    // Loaded by another hand once the name was free: the pass finds the same bytes loaded.
    let module = refused_for("a.wasm", "taken");
    registry
        .wasm()
        .load_wasm_bytes("a.wasm", &module, None)
        .unwrap();
    assert_eq!(pass().unchanged, ["a.wasm"]);
    registry
        .wasm()
        .load_wasm_bytes(
            "a.wasm",
            &wasm_text::guest_named("taken", "by hand", "1.0.1"),
            None,
        )
        .unwrap();
    let report = pass();
    assert_eq!(report.unchanged, ["a.wasm"], "{report:?}");
    assert_eq!(answer_of(&registry, "taken"), b"by hand");

    // Its signature file cannot be parsed: refused for that once, until that file changes.
    refused_for("b.wasm", "unsigned");
    let sig = dir.join("b.wasm.sig");
    std::fs::write(&sig, "not a signature").unwrap();
    age(&sig);
    let report = pass();
    assert!(
        matches!(&report.refused[..], [(name, error)] if name == "b.wasm"
            && error.to_string().contains("signature")),
        "{report:?}"
    );
    let report = pass();
    assert_eq!(report.unchanged, ["a.wasm", "b.wasm"], "{report:?}");
    std::fs::remove_file(&sig).unwrap();
    let report = pass();
    assert_eq!(
        report.loaded.keys().collect::<Vec<_>>(),
        ["b.wasm"],
        "{report:?}"
    );
}

/// Under authentication, a module file refused for its signer (a key not trusted) is refused
/// once, whatever else loads meanwhile, and tried again once a layer's configuration changed:
/// trusting the key loads it at the next pass, the file untouched. So is a removal the layers
/// refused (unsigned): switching authentication off removes the module at the next pass.
#[test]
fn a_refusal_by_the_layers_is_tried_again_once_their_configuration_changed() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let registry = signing::signing_registry();
    let pass = || registry.wasm().load_wasm_plugins(dir).unwrap();
    let deploy = |file: &str, plugin: &str, key: &str, secret: &str| {
        let module = wasm_text::guest_named(plugin, plugin, "1.0.0");
        let path = dir.join(file);
        std::fs::write(&path, &module).unwrap();
        let sig = dir.join(format!("{file}.sig"));
        std::fs::write(&sig, sign(&module, key, secret).to_toml()).unwrap();
        age(&path);
        age(&sig);
    };
    deploy("a.wasm", "foreign", "other", OTHER_SECRET);
    let report = pass();
    assert!(
        matches!(&report.refused[..], [(name, error)] if name == "a.wasm"
            && matches!(error.kind(), PluginErrorKind::Layer { .. })),
        "{report:?}"
    );
    // Another module loading changes the registry, not what refused this one.
    deploy("b.wasm", "trusted", "release", SECRET);
    let report = pass();
    assert_eq!(
        report.loaded.keys().collect::<Vec<_>>(),
        ["b.wasm"],
        "{report:?}"
    );
    assert_eq!(report.unchanged, ["a.wasm"], "{report:?}");
    assert_eq!(pass().unchanged, ["a.wasm", "b.wasm"]);
    registry
        .configure_advanced_plugin_security(
            modreg::AdvancedPluginSecurityConfig::new()
                .with_plugin_authentication(true)
                .with_trusted_key(modreg::TrustedKey::public_of("release", SECRET).unwrap())
                .with_trusted_key(modreg::TrustedKey::public_of("other", OTHER_SECRET).unwrap()),
        )
        .unwrap();
    let report = pass();
    assert_eq!(
        report.loaded.keys().collect::<Vec<_>>(),
        ["a.wasm"],
        "{report:?}"
    );
    assert_eq!(answer_of(&registry, "foreign"), b"foreign");

    std::fs::remove_file(dir.join("b.wasm")).unwrap();
    let report = pass();
    assert!(
        matches!(&report.refused[..], [(name, error)] if name == "b.wasm"
            && matches!(error.kind(), PluginErrorKind::Layer { .. })),
        "{report:?}"
    );
    assert_eq!(pass().unchanged, ["b.wasm", "a.wasm"]);
    assert_eq!(answer_of(&registry, "trusted"), b"trusted");
    registry
        .configure_advanced_plugin_security(
            modreg::AdvancedPluginSecurityConfig::new().with_plugin_authentication(false),
        )
        .unwrap();
    assert_eq!(pass().removed, ["b.wasm"]);
    assert!(registry.plugin("trusted").is_none());
}

/// A module rewritten with bytes of the same length in the same tick of the file system's
/// clock (FAT's is two seconds, ext3's and HFS+'s one: the test sets the time back to the
/// first write's) is read again by the next pass: a file changed within two seconds of a pass
/// is not judged by its size and time, which cannot tell the two apart.
#[test]
fn a_rewrite_in_the_same_clock_tick_is_seen_by_the_next_pass() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let path = dir.join("tick.wasm");
    let first = wasm_text::guest_named("tick", "1", "1.0.0");
    let second = wasm_text::guest_named("tick", "2", "2.0.0");
    assert_eq!(first.len(), second.len());
    std::fs::write(&path, &first).unwrap();
    let written = std::fs::metadata(&path).unwrap().modified().unwrap();
    let registry = registry_with(WasmConfig::new());
    registry.wasm().load_wasm_plugins(dir).unwrap();
    assert_eq!(answer_of(&registry, "tick"), b"1");
    let set_time = |time| {
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(time).unwrap();
    };
    std::fs::write(&path, &second).unwrap();
    set_time(written);
    let report = registry.wasm().load_wasm_plugins(dir).unwrap();
    assert!(report.loaded.contains_key("tick.wasm"), "{report:?}");
    assert_eq!(answer_of(&registry, "tick"), b"2");
    // Once a file is older than that, its size and time stand for it: an unchanged file is
    // not read again.
    set_time(std::time::SystemTime::now() - Duration::from_secs(60));
    registry.wasm().load_wasm_plugins(dir).unwrap();
    let report = registry.wasm().load_wasm_plugins(dir).unwrap();
    assert_eq!(report.unchanged, ["tick.wasm"]);
}

/// A module rebuilt to the same size and given the time of the one before (as deployments
/// that give every file one time do) is seen by the next pass, whether written in place or
/// renamed over the old file: on Unix the stamp holds the inode and the status-change time,
/// which no tool sets back.
#[cfg(unix)]
#[test]
fn a_module_rebuilt_to_the_same_size_and_time_is_seen() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let path = dir.join("same.wasm");
    let one_time = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1);
    let deploy = |bytes: &[u8], renamed: bool| {
        let written = if renamed {
            dir.join("same.wasm.tmp")
        } else {
            path.clone()
        };
        std::fs::write(&written, bytes).unwrap();
        let file = std::fs::File::options().write(true).open(&written).unwrap();
        file.set_modified(one_time).unwrap();
        drop(file);
        if renamed {
            std::fs::rename(&written, &path).unwrap();
        }
    };
    let registry = ModuleRegistry::new();
    let pass = || registry.wasm().load_wasm_plugins(dir).unwrap();
    let versions = ["1.0.1", "1.0.2", "1.0.3"].map(|v| wasm_text::guest_named("same", v, v));
    assert!(versions.iter().all(|v| v.len() == versions[0].len()));
    deploy(&versions[0], false);
    assert_eq!(pass().loaded.len(), 1);
    assert_eq!(pass().unchanged, ["same.wasm"]);
    for (version, renamed) in [(&versions[1], false), (&versions[2], true)] {
        deploy(version, renamed);
        let report = pass();
        assert!(report.loaded.contains_key("same.wasm"), "{report:?}");
        assert_eq!(pass().unchanged, ["same.wasm"]);
    }
    assert_eq!(answer_of(&registry, "same"), b"1.0.3");
}

#[test]
fn passes_over_a_directory_from_two_threads_finish() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let module = dir.join("greeter.wasm");
    let versions = [
        wasm_text::guest_answering("one", "1.0.0"),
        wasm_text::guest_answering("two", "2.0.0"),
        b"\0asm corrupt".to_vec(),
    ];
    std::fs::write(&module, &versions[0]).unwrap();
    let registry = ModuleRegistry::new();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..60 {
                registry.wasm().load_wasm_plugins(dir).unwrap();
            }
        });
        scope.spawn(|| {
            for round in 0..60 {
                let staging = dir.join("greeter.staging");
                std::fs::write(&staging, &versions[round % 3]).unwrap();
                std::fs::rename(&staging, &module).unwrap();
                registry.wasm().load_wasm_plugins(dir).unwrap();
            }
        });
    });
    // The last version written was the corrupt one: a version before it still answers
    // (which one depends on how the two threads' passes interleaved).
    let answer = answer_of(&registry, "greeter");
    assert!(answer == b"one" || answer == b"two", "{answer:?}");
    std::fs::write(&module, &versions[1]).unwrap();
    registry.wasm().load_wasm_plugins(dir).unwrap();
    let answer = answer_of(&registry, "greeter");
    assert_eq!(answer, b"two");
}

/// A zero interval between hot reload's passes is taken as 10 ms, not as "pass without end".
#[test]
fn a_zero_reload_interval_passes_at_most_every_ten_milliseconds() {
    let scratch = tempfile::tempdir().unwrap();
    let registry = std::sync::Arc::new(ModuleRegistry::new());
    let started = std::time::Instant::now();
    let watcher = registry.watch_wasm_plugins(scratch.path(), Duration::ZERO);
    std::thread::sleep(Duration::from_millis(200));
    let passes = watcher.passes();
    // The first pass at once, then one per 10 ms at most.
    let most = 1 + started.elapsed().as_millis() / 10;
    assert!(
        u128::from(passes) <= most,
        "{passes} passes in {:?}",
        started.elapsed()
    );
}

/// Hot reload follows file notifications: with a one-hour poll interval, a new module, a
/// changed one and a removed one each serve (or stop) without waiting for it, and a burst of
/// writes is one pass, not one per write.
#[cfg(target_os = "linux")]
#[test]
fn hot_reload_follows_file_events_and_coalesces_a_burst() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let registry = std::sync::Arc::new(ModuleRegistry::new());
    let watcher = registry.watch_wasm_plugins(dir, Duration::from_secs(3600));
    assert!(watcher.is_event_driven());
    // Waits (polling the registry, up to 20 s on a loaded machine) for `check`.
    let eventually = |what: &str, check: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !check() {
            assert!(Instant::now() < deadline, "{what}: not seen");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let write = |name: &str, bytes: &[u8]| {
        // Written beside, then moved into place: the watcher never sees half a module.
        let staging = dir.join(format!(".{name}.tmp"));
        std::fs::write(&staging, bytes).unwrap();
        std::fs::rename(&staging, dir.join(name)).unwrap();
    };
    write("greeter.wasm", &wasm_text::guest_answering("one", "1.0.0"));
    eventually("a new module", &|| registry.plugin("greeter").is_some());
    assert_eq!(answer_of(&registry, "greeter"), b"one");
    write("greeter.wasm", &wasm_text::guest_answering("two", "2.0.0"));
    eventually("a changed module", &|| {
        registry
            .plugin("greeter")
            .is_some_and(|p| p.version() == "2.0.0")
    });
    assert_eq!(answer_of(&registry, "greeter"), b"two");

    let before = watcher.passes();
    for i in 0..40u32 {
        write(
            &format!("burst-{i}.wasm"),
            &wasm_text::guest_named(&format!("burst-{i}"), "b", "1.0.0"),
        );
    }
    eventually("a burst of 40 modules", &|| {
        registry.plugin("burst-39").is_some()
    });
    let passes = watcher.passes() - before;
    assert!(
        passes < 40,
        "{passes} passes for 40 writes: a burst is coalesced"
    );

    // A file beside the modules that never stops changing (a log appended to every 5 ms)
    // does not hold a change back: a burst lasts at most `MAX_COALESCE` (250 ms).
    let writing = std::sync::atomic::AtomicBool::new(true);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            use std::io::Write as _;
            let mut log = std::fs::File::create(dir.join("noise.log")).unwrap();
            // Past `eventually`'s 20 s, so that a failing check ends the test.
            let until = Instant::now() + Duration::from_secs(25);
            while writing.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < until {
                log.write_all(b"a line\n").unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        std::thread::sleep(Duration::from_millis(100));
        write(
            "greeter.wasm",
            &wasm_text::guest_answering("three", "3.0.0"),
        );
        eventually("a change while another file keeps changing", &|| {
            registry
                .plugin("greeter")
                .is_some_and(|p| p.version() == "3.0.0")
        });
        writing.store(false, std::sync::atomic::Ordering::Relaxed);
    });

    std::fs::remove_file(dir.join("greeter.wasm")).unwrap();
    eventually("a removed module", &|| registry.plugin("greeter").is_none());
    drop(watcher);
}

/// A fresh guest per call (the default) is an instance put back into its first state after
/// each call, in every engine: its memory, its table and the global it does not export, all
/// changed by each call, are as they were for every call. A module whose state a copy cannot
/// put back (a passive segment, which a call may drop), a guest that grew its memory (which
/// cannot shrink), and one whose first allocation traps (the state after it is what a reset
/// puts back), get new instances instead: an instance is kept idle for the next call only
/// where it was reset.
fn a_fresh_guest_is_reset_to_its_first_state_or_made_anew(engine: WasmEngine) {
    let input = "(i32.const 1024)";
    let guests = [
        (
            "reset",
            wasm_text::stateful_guest("reset", "", "", input),
            true,
        ),
        (
            "passive",
            wasm_text::stateful_guest("passive", r#"(data "passive")"#, "", input),
            false,
        ),
        (
            "grows",
            wasm_text::stateful_guest("grows", "", "(drop (memory.grow (i32.const 1)))", input),
            false,
        ),
        (
            "alloc-traps",
            wasm_text::stateful_guest("alloc-traps", "", "", "(unreachable)"),
            false,
        ),
    ];
    let (_cache, config) = with_empty_jit_cache(engine);
    for (name, module, reset) in guests {
        // The second time, the compiling engines take the module from their cache: what it
        // exports says what a reset puts back.
        for pass in ["compiled", "cached"] {
            let registry = loaded_in(config.clone(), name, &module);
            let plugin = registry.create_plugin(name).unwrap();
            for call in 0..200 {
                assert_eq!(
                    plugin.process(b"").unwrap(),
                    b"0001",
                    "{engine:?} {name} {pass}: call {call} saw what an earlier one left"
                );
            }
            // The instance the load made went with the first call; what waits idle now was
            // reset after a call.
            assert_eq!(
                registry.wasm().idle_memory_bytes() > 0,
                reset,
                "{engine:?} {name} {pass}: an instance was kept for the next call"
            );
        }
    }
}

/// A registry configured with `config`, with `module` loaded as `NAME.wasm`.
fn loaded_in(config: WasmConfig, name: &str, module: &[u8]) -> ModuleRegistry {
    let registry = ModuleRegistry::new();
    registry.wasm().configure_wasm(config).unwrap();
    registry
        .wasm()
        .load_wasm_bytes(&format!("{name}.wasm"), module, None)
        .unwrap();
    registry
}

/// Where an instance made to be reset could not be (a call grew its memory), the next new
/// instances are plain ones, one after the first such failure and twice as many after each
/// failure in a row (making one to be reset costs more, for nothing where calls grow); the
/// first instance reset again ends that. Seen through what is kept idle after each call: only
/// an instance that was reset is. Every answer, plain or reset, is a first call's.
fn a_fresh_guest_that_grew_makes_the_next_ones_plain_for_a_while(engine: WasmEngine) {
    let grows_on_input = "(if (i32.ne (local.get 2) (i32.const 0)) \
        (then (drop (memory.grow (i32.const 1)))))";
    let module =
        wasm_text::stateful_guest("grows-on-input", "", grows_on_input, "(i32.const 1024)");
    let config = WasmConfig::new().with_engine(engine);
    let registry = loaded_in(config, "grows-on-input", &module);
    let plugin = registry.create_plugin("grows-on-input").unwrap();
    // (input that grows the guest, an instance kept idle after the call)
    let calls = [
        (false, false), // the load's instance, not made to be reset
        (false, true),  // made to be reset, and reset
        (true, false),  // the reset one grew: the next instance is plain
        (false, false), // plain
        (false, true),  // made to be reset again, and reset
        (true, false),  // grew: one plain
        (true, false),  // plain (it grew too: nothing was kept)
        (true, false),  // made to be reset, grew again: two plain
        (false, false),
        (false, false),
        (false, true), // made to be reset, and reset
        (false, true), // the idle one, reset again
    ];
    for (call, (grows, kept)) in calls.into_iter().enumerate() {
        let input: &[u8] = if grows { b"x" } else { b"" };
        assert_eq!(
            plugin.process(input).unwrap(),
            b"0001",
            "{engine:?}: call {call} saw what an earlier one left"
        );
        assert_eq!(
            registry.wasm().idle_memory_bytes() > 0,
            kept,
            "{engine:?}: call {call}: an instance was kept for the next call"
        );
    }
}

/// A guest's state lives as the host chose: by default no call sees what another left (its
/// globals and its memory); per instance, one instance's calls share it and no other
/// instance sees it; per principal, the instances made on one principal's behalf share it;
/// shared, any call of the module may find what another left. Each on the plain creation
/// path, through a handle, and with two threads.
fn a_guests_state_lives_per_call_per_instance_or_shared_as_configured(engine: WasmEngine) {
    let answers = |state: Option<GuestState>| {
        let registry = ModuleRegistry::new();
        if let Some(state) = state {
            registry
                .wasm()
                .configure_wasm(
                    WasmConfig::new()
                        .with_engine(engine)
                        .with_guest_state(state),
                )
                .unwrap();
        }
        registry
            .wasm()
            .load_wasm_bytes("counter.wasm", &wasm_text::counting_guest("counter"), None)
            .unwrap();
        let first = registry.create_plugin("counter").unwrap();
        let second = registry.create_plugin("counter").unwrap();
        let handle = registry
            .instances()
            .handle("counter")
            .unwrap()
            .create()
            .unwrap();
        let calls = [
            first.process(b"").unwrap(),
            first.process(b"").unwrap(),
            second.process(b"").unwrap(),
            handle.process(b"").unwrap(),
            handle.process(b"").unwrap(),
        ];
        calls.map(|answer| String::from_utf8(answer).unwrap())
    };
    // Each answer is the global's count then the memory byte's: "00" is a guest no call used.
    assert_eq!(answers(None), ["00"; 5], "fresh per call is the default");
    assert_eq!(answers(Some(GuestState::FreshPerCall)), ["00"; 5]);
    assert_eq!(
        answers(Some(GuestState::PerInstance)),
        ["00", "11", "00", "00", "11"]
    );
    assert_eq!(
        answers(Some(GuestState::Shared)),
        ["00", "11", "22", "33", "44"]
    );

    // Per principal: the instances made on one principal's behalf (through its access scope,
    // or a handle inside `on_behalf_of`) share its guest; another principal's and one made on
    // nobody's behalf never see it.
    let registry = registry_with(
        WasmConfig::new()
            .with_engine(engine)
            .with_guest_state(GuestState::PerPrincipal),
    );
    registry
        .wasm()
        .load_wasm_bytes("counter.wasm", &wasm_text::counting_guest("counter"), None)
        .unwrap();
    let alice = registry.on_behalf_of(Principal::new("alice")).unwrap();
    let bob = registry.on_behalf_of(Principal::new("bob")).unwrap();
    let (alice_1, alice_2) = (
        alice.create_plugin("counter").unwrap(),
        alice.create_plugin("counter").unwrap(),
    );
    let bob_1 = bob.create_plugin("counter").unwrap();
    let alice_3 = modreg::on_behalf_of("alice", || {
        registry
            .instances()
            .handle("counter")
            .unwrap()
            .create()
            .unwrap()
    });
    let nobodys = registry.create_plugin("counter").unwrap();
    let calls = [
        &alice_1, &alice_1, &alice_2, &bob_1, &nobodys, &nobodys, &bob_1, &alice_3,
    ]
    .map(|plugin| String::from_utf8(plugin.process(b"").unwrap()).unwrap());
    assert_eq!(calls, ["00", "11", "22", "00", "00", "00", "11", "33"]);
    // The async call is the same guest's.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let answer = runtime.block_on(alice_2.process_async(b"")).unwrap();
    assert_eq!(answer, b"44");
    // A principal's guest goes with its module.
    registry.wasm().unload_wasm_module("counter.wasm").unwrap();
    registry
        .wasm()
        .load_wasm_bytes("counter.wasm", &wasm_text::counting_guest("counter"), None)
        .unwrap();
    let again = alice.create_plugin("counter").unwrap();
    assert_eq!(again.process(b"").unwrap(), b"00");
    // An instance the host shares between callers is nobody's, whoever asked for it first:
    // it never calls alice's guest (which has counted one call by now).
    registry
        .configure_advanced_plugin_system(
            modreg::AdvancedPluginConfiguration::new().with_instance_sharing(true),
        )
        .unwrap();
    let shared = modreg::on_behalf_of("alice", || {
        registry.instances().shared_plugin("counter").unwrap()
    });
    assert_eq!(shared.process(b"").unwrap(), b"00");
    assert_eq!(shared.process(b"").unwrap(), b"00");
    assert_eq!(again.process(b"").unwrap(), b"11");

    // Principals come and go: with room for four one-page guests in the registry's memory,
    // twenty principals each get one, the guests of those that called least recently making
    // room (they kept every new principal out with `MemoryLimit` before); a principal that
    // called recently keeps its state, one long gone starts afresh.
    let registry = registry_with(
        WasmConfig::new()
            .with_engine(engine)
            .with_guest_state(GuestState::PerPrincipal)
            .with_max_total_memory(4 << 16),
    );
    registry
        .wasm()
        .load_wasm_bytes("counter.wasm", &wasm_text::counting_guest("counter"), None)
        .unwrap();
    let call_as = |principal: &str| -> String {
        modreg::on_behalf_of(principal, || {
            let answer = registry.create_plugin("counter").unwrap().process(b"");
            String::from_utf8(answer.unwrap()).unwrap()
        })
    };
    for i in 0..20 {
        assert_eq!(call_as(&format!("p{i}")), "00", "principal {i}");
    }
    assert_eq!(call_as("p19"), "11", "a recent principal keeps its guest");
    assert_eq!(call_as("p0"), "00", "a principal long gone starts afresh");
    assert!(registry.wasm().memory_bytes() <= 4 << 16);

    // 10,000 calls from 8 threads on one fresh-per-call instance and on a handle's instances:
    // every call starts from nothing, so no call sees what another left (0 leaks).
    let registry = ModuleRegistry::new();
    registry
        .wasm()
        .load_wasm_bytes("counter.wasm", &wasm_text::counting_guest("counter"), None)
        .unwrap();
    let counter = registry.create_plugin("counter").unwrap();
    let handle = registry.instances().handle("counter").unwrap();
    let leaks = std::sync::atomic::AtomicUsize::new(0);
    let calls = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for thread in 0..8 {
            let (counter, handle, leaks, calls) = (&counter, &handle, &leaks, &calls);
            scope.spawn(move || {
                let own = handle.create().unwrap();
                for call in 0..1_250 {
                    let plugin = if (thread + call) % 2 == 0 {
                        counter
                    } else {
                        &own
                    };
                    if plugin.process(b"").unwrap() != b"00" {
                        leaks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(calls.into_inner(), 10_000);
    assert_eq!(
        leaks.into_inner(),
        0,
        "a fresh call saw another call's state"
    );
}

/// All instances of all modules of a registry hold at most `with_max_total_memory` at once:
/// one more instance past it is refused with `MemoryLimit`, and dropping one makes room.
fn instances_of_every_module_share_one_memory_cap(engine: WasmEngine) {
    let registry = registry_with(
        WasmConfig::new()
            .with_engine(engine)
            .with_guest_state(GuestState::PerInstance)
            .with_max_total_memory(3 << 16),
    );
    for (file, name) in [("a.wasm", "a"), ("b.wasm", "b")] {
        registry
            .wasm()
            .load_wasm_bytes(file, &wasm_text::counting_guest(name), None)
            .unwrap();
    }
    // The instance each module made at load: two pages, one each.
    assert_eq!(registry.wasm().memory_bytes(), 2 << 16);
    let kept: Vec<_> = ["a", "b", "a"]
        .iter()
        .map(|name| {
            let plugin = registry.create_plugin(name).unwrap();
            plugin.process(b"").unwrap();
            plugin
        })
        .collect();
    assert_eq!(registry.wasm().memory_bytes(), 3 << 16);
    let over = registry.create_plugin("b").unwrap();
    let err = over.process(b"").unwrap_err();
    assert!(
        matches!(err.kind(), PluginErrorKind::MemoryLimit { .. }),
        "{err}"
    );
    drop(kept);
    assert_eq!(over.process(b"").unwrap(), b"00");
    assert_eq!(registry.wasm().memory_bytes(), 1 << 16);
}

/// A guest that grows its memory (little fuel, much time) is stopped at its deadline while it
/// grows: once the time budget is spent, the store's limiter refuses to grow and the call ends
/// as a `Timeout` (on this machine after 6 ms for a 1 ms budget, where waiting for the next
/// slice of fuel took 47 ms; `imports::tests::memory_does_not_grow_past_the_deadline` checks
/// the limiter itself).
fn memory_growth_stops_at_the_deadline(engine: WasmEngine) {
    let registry = host(
        WasmConfig::new()
            .with_engine(engine)
            .with_time_budget(Duration::from_millis(1))
            .with_memory_limit(1 << 30)
            .with_max_total_memory(2 << 30),
    );
    let started = Instant::now();
    let error = registry
        .create_plugin("memory-bomb")
        .unwrap()
        .process(b"")
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(error.kind(), PluginErrorKind::Timeout { .. }),
        "{error:?} after {took:?}"
    );
}

/// Host functions, one table over the ways to call a plugin (a created instance, a handle's
/// instance) on a registry that offers them and on a default one: a declared permission runs
/// the function (bytes, typed, an answer larger than the guest's first buffer), an undeclared
/// one is refused and audited, an unknown name is not found, a failure or a panic is the call's
/// error with its message, a slow function stops at the deadline; monitoring counts the calls
/// that ran, per function.
/// An async host function suspends the guest that calls it: awaited through `process_async`,
/// the caller's task yields its thread, so a thousand guests wait at once on two worker
/// threads; called through `process`, the thread waits. Either way the guest's deadline bounds
/// the wait, and the host goes on.
fn async_host_functions_suspend_the_guest_instead_of_a_thread(engine: WasmEngine) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use modreg::{HostFunction, HostFunctionError};

    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (now, peak) = (Arc::clone(&in_flight), Arc::clone(&most));
    let config = WasmConfig::new()
        .with_engine(engine)
        .with_time_budget(Duration::from_secs(10))
        .with_host_function(HostFunction::new_async(
            "nap",
            "kv.read",
            move |_, input| {
                let (now, peak) = (Arc::clone(&now), Arc::clone(&peak));
                async move {
                    let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(running, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    Ok::<_, HostFunctionError>([b"slept:", &input[..]].concat())
                }
            },
        ))
        .with_host_function(HostFunction::new_async("ready", "kv.read", |_, _| async {
            Ok::<_, HostFunctionError>(b"at once".to_vec())
        }));
    let registry = host(config);
    let ask = Arc::new(registry.create_plugin("ask-host").unwrap());

    // 400 guests, each awaiting a 10 ms host function, from two worker threads (the bench runs
    // a thousand).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let answers = runtime.block_on(async {
        let calls: Vec<_> = (0..400)
            .map(|i| {
                let ask = Arc::clone(&ask);
                tokio::spawn(async move {
                    let input = format!("nap:{i}");
                    ask.process_async(input.as_bytes()).await
                })
            })
            .collect();
        let mut answers = Vec::new();
        for call in calls {
            answers.push(call.await.unwrap());
        }
        answers
    });
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer.as_ref().unwrap(), format!("slept:{i}").as_bytes());
    }
    // Suspended guests, not blocked threads: far more than two waited at once.
    assert!(
        most.load(Ordering::SeqCst) > 100,
        "at most {} at once",
        most.load(Ordering::SeqCst)
    );
    assert_eq!(in_flight.load(Ordering::SeqCst), 0);

    // Through `process` the thread waits for the answer.
    assert_eq!(ask.process(b"ready").unwrap(), b"at once");

    // An instance that keeps its own guest awaits the same way, and keeps the guest.
    let kept = host(
        WasmConfig::new()
            .with_engine(engine)
            .with_guest_state(GuestState::PerInstance)
            .with_host_function(HostFunction::new_async("nap", "kv.read", |_, _| async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                Ok::<_, HostFunctionError>(b"slept".to_vec())
            })),
    );
    let own = kept.create_plugin("ask-host").unwrap();
    for _ in 0..3 {
        assert_eq!(
            runtime.block_on(own.process_async(b"nap")).unwrap(),
            b"slept"
        );
    }

    // A function that never answers is bounded by the guest's deadline, on both paths.
    let strict = host(
        WasmConfig::new()
            .with_engine(engine)
            .with_time_budget(Duration::from_millis(100))
            .with_host_function(HostFunction::new_async("never", "kv.read", |_, _| {
                std::future::pending::<Result<Vec<u8>, HostFunctionError>>()
            })),
    );
    let stuck = strict.create_plugin("ask-host").unwrap();
    let timed_out = |r: Result<Vec<u8>, PluginError>| {
        matches!(
            r.map_err(PluginError::into_kind),
            Err(PluginErrorKind::Timeout { .. })
        )
    };
    assert!(timed_out(stuck.process(b"never")));
    assert!(timed_out(runtime.block_on(stuck.process_async(b"never"))));
    rot13_still_answers(&strict);
}

fn host_functions_run_only_under_a_declared_permission_and_are_counted(engine: WasmEngine) {
    use modreg::{HostFunction, HostFunctionError};
    let offered = WasmConfig::new()
        .with_engine(engine)
        .with_time_budget(Duration::from_millis(200))
        .with_host_function(HostFunction::new("kv.get", "kv.read", |call, key| {
            assert_eq!((call.plugin, call.function), ("ask-host", "kv.get"));
            match key {
                b"alpha" => Ok(b"1".to_vec()),
                _ => Err(HostFunctionError::failed("no such key")),
            }
        }))
        .with_host_function(HostFunction::new("secret", "secret.read", |_, _| {
            Ok(b"hunter2".to_vec())
        }))
        .with_host_function(HostFunction::new("big", "kv.read", |_, _| {
            Ok(vec![b'x'; 10_000])
        }))
        .with_host_function(HostFunction::new("boom", "kv.read", |_, _| {
            panic!("on purpose")
        }))
        .with_host_function(HostFunction::new("slow", "kv.read", |_, _| {
            std::thread::sleep(Duration::from_millis(250));
            Ok(Vec::new())
        }))
        .with_host_function(HostFunction::typed(
            "add",
            "math",
            |_, (a, b): (u32, u32)| {
                a.checked_add(b)
                    .ok_or_else(|| HostFunctionError::failed("overflow"))
            },
        ));
    type Expect = fn(&Result<Vec<u8>, PluginError>) -> bool;
    let table: [(&str, &[u8], Expect, Expect); 8] = [
        // (plugin, input, on the offering registry, on a default registry)
        (
            "ask-host",
            b"kv.get:alpha",
            |r| matches!(r, Ok(out) if out == b"1"),
            |r| matches!(r, Err(e) if e.to_string().contains("no such function")),
        ),
        (
            "ask-host",
            b"kv.get:beta",
            |r| matches!(r, Err(e) if e.to_string().contains("no such key")),
            |r| r.is_err(),
        ),
        (
            "ask-host",
            b"secret",
            |r| matches!(r, Err(e) if matches!(e.kind(), PluginErrorKind::PermissionDenied { permission, .. } if permission == "secret.read")),
            |r| matches!(r, Err(e) if e.to_string().contains("no such function")),
        ),
        (
            "ask-host",
            b"missing",
            |r| matches!(r, Err(e) if e.to_string().contains("no such function")),
            |r| matches!(r, Err(e) if e.to_string().contains("no such function")),
        ),
        (
            "ask-host",
            b"big",
            |r| r.as_ref().is_ok_and(|out| out.len() == 10_000),
            |r| r.is_err(),
        ),
        (
            "ask-host",
            b"boom",
            |r| matches!(r, Err(e) if e.to_string().contains("`boom` panicked")),
            |r| r.is_err(),
        ),
        (
            "ask-host",
            b"slow",
            |r| matches!(r, Err(e) if matches!(e.kind(), PluginErrorKind::Timeout { .. })),
            |r| r.is_err(),
        ),
        (
            "add-on-host",
            b"2 3",
            |r| matches!(r, Ok(out) if out == b"5"),
            |r| matches!(r, Err(e) if e.to_string().contains("no such function")),
        ),
    ];
    for (configured, config) in [
        (true, offered),
        (false, WasmConfig::new().with_engine(engine)),
    ] {
        let registry = host(config);
        registry
            .configure_plugin_monitoring(PluginMonitoringConfig::new().with_plugin_metrics(true))
            .unwrap();
        for (plugin, input, on_offering, on_default) in &table {
            let expected = if configured { on_offering } else { on_default };
            let created = registry.create_plugin(plugin).unwrap();
            let from_handle = registry
                .instances()
                .handle(plugin)
                .unwrap()
                .create()
                .unwrap();
            for (path, instance) in [("create_plugin", &created), ("handle", &from_handle)] {
                let answer = instance.process(input);
                assert!(
                    expected(&answer),
                    "{plugin} {:?} via {path} (configured: {configured}): {answer:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
        let counted = registry.plugin_metrics("ask-host").unwrap().host_calls;
        let refusals = registry.audit_log(|e| e.principal == "sandbox" && !e.decision.allowed);
        if configured {
            // Two paths each; the refused `secret` and the unknown `missing` did not run.
            let calls = |name: &str| counted.get(name).map(|m| (m.calls, m.errors));
            assert_eq!(calls("kv.get"), Some((4, 2)), "{counted:?}");
            assert_eq!(calls("big"), Some((2, 0)));
            assert_eq!(calls("boom"), Some((2, 2)));
            assert_eq!(calls("secret"), None);
            assert_eq!(calls("missing"), None);
            let typed = registry.plugin_metrics("add-on-host").unwrap().host_calls;
            assert_eq!(typed.get("add").map(|m| m.calls), Some(2));
            assert_eq!(refusals.len(), 2, "{refusals:?}");
            assert!(
                refusals
                    .iter()
                    .all(|r| r.decision.reason.contains("secret.read"))
            );
        } else {
            assert!(counted.is_empty(), "{counted:?}");
            assert!(refusals.is_empty(), "{refusals:?}");
        }
        rot13_still_answers(&registry);
    }

    // A guest lying about its buffers: an answer asked for before any call, an input it
    // claims is 4 GiB, an input past the end of its memory. Each is a code, nothing is
    // allocated for the claimed length, and the host goes on.
    let liar = wasm_text::text_guest_declaring(
        r#"(module
            (import "modreg" "host_call"
                (func $call (param i32 i32 i32 i32 i32 i32) (result i64)))
            (import "modreg" "host_answer" (func $answer (param i32 i32) (result i64)))
            (memory (export "memory") 1)
            (data (i32.const 100) "kv.get")
            (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "modreg_process") (param i32 i32 i32) (result i32)
                (i64.store (i32.const 40) (call $answer (i32.const 200) (i32.const 16)))
                (i64.store (i32.const 48) (call $call (i32.const 100) (i32.const 6)
                    (i32.const 0) (i32.const -1) (i32.const 200) (i32.const 16)))
                (i64.store (i32.const 56) (call $call (i32.const 100) (i32.const 6)
                    (i32.const 65530) (i32.const 100) (i32.const 200) (i32.const 16)))
                (i32.store (i32.const 0) (i32.const 0))
                (i32.store (i32.const 4) (i32.const 40))
                (i32.store (i32.const 8) (i32.const 24))
                (i32.const 0)))"#,
        "liar",
        &["kv.read"],
    );
    let registry = registry_with(WasmConfig::new().with_engine(engine).with_host_function(
        HostFunction::new("kv.get", "kv.read", |_, _| Ok(b"1".to_vec())),
    ));
    registry
        .wasm()
        .load_wasm_bytes("liar.wasm", &liar, None)
        .unwrap();
    let answer = registry
        .create_plugin("liar")
        .unwrap()
        .process(b"")
        .unwrap();
    let codes: Vec<i64> = answer
        .chunks(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    // NOT_FOUND (-2), FAILED (-3), FAILED (-3).
    assert_eq!(codes, [-2, -3, -3]);
}

/// Version 1 and version 2 of the plugins record, served side by side in one registry: the
/// Rust and C guests write version 1; version-2 records carry the limits their plugin asks to
/// run under, which narrow the host's and never widen them. A limit the host does not know and
/// a version it does not read are refused at load, by name.
fn abi_versions_one_and_two_serve_side_by_side(engine: WasmEngine) {
    use wasm_text::ECHO;
    const SPIN: &str = r#"(module
        (memory (export "memory") 1)
        (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
        (func (export "modreg_process") (param i32 i32 i32) (result i32)
            (loop $again (br $again))
            (i32.const 0)))"#;
    const GROW: &str = r#"(module
        (memory (export "memory") 1)
        (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
        (func (export "modreg_process") (param i32 i32 i32) (result i32)
            (loop $again
                (br_if $again (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
            unreachable))"#;
    let registry = host(
        WasmConfig::new()
            .with_engine(engine)
            .with_time_budget(Duration::from_secs(1)),
    );
    registry
        .wasm()
        .load_wasm_plugin(c_guest::c_hex_module())
        .unwrap();
    let v2 = [
        ("tight-echo", ECHO, &["output_bytes=16"][..]),
        ("tight-spin", SPIN, &["time_budget_ms=20"]),
        ("loose-spin", SPIN, &["time_budget_ms=600000"]),
        ("fuelled-spin", SPIN, &["fuel=1000"]),
        ("small-grow", GROW, &["memory_bytes=131072"]),
    ];
    for (name, text, limits) in v2 {
        registry
            .wasm()
            .load_wasm_bytes(
                &format!("{name}.wasm"),
                &wasm_text::text_guest_limited(text, name, limits),
                None,
            )
            .unwrap();
    }
    // Which record each plugin came from.
    let abi = |name: &str| {
        registry
            .plugin(name)
            .unwrap()
            .metadata()
            .get("wasm.abi")
            .map(|v| (*v).to_owned())
    };
    for (name, version) in [
        ("wasm-hex-encode", "1"),
        // The Rust guest's rot13 names a limit in `export!`: version 2 beside version 1 in
        // one module.
        ("rot13", "2"),
        ("c-hex-encode", "1"),
        ("tight-echo", "2"),
        ("small-grow", "2"),
    ] {
        assert_eq!(abi(name).as_deref(), Some(version), "{name}");
    }
    let asked = registry.plugin("tight-spin").unwrap();
    assert_eq!(
        asked.metadata().get("wasm.limits"),
        Some(&"time_budget_ms=20")
    );
    assert_eq!(
        registry
            .plugin("wasm-hex-encode")
            .unwrap()
            .metadata()
            .get("wasm.limits"),
        None
    );
    let rot13 = registry.create_plugin("rot13").unwrap();
    assert_eq!(rot13.process(&[b'a'; 65_536]).unwrap().len(), 65_536);
    assert!(matches!(
        rot13.process(&[b'a'; 65_537]).unwrap_err().kind(),
        PluginErrorKind::TooLarge { limit: 65_536, .. }
    ));
    // Version 1 beside version 2, in the same registry.
    let hex = registry.create_plugin("wasm-hex-encode").unwrap();
    assert_eq!(hex.process(b"hi").unwrap(), b"6869");
    let c_hex = registry.create_plugin("c-hex-encode").unwrap();
    assert_eq!(c_hex.process(b"hi").unwrap(), b"6869");
    let echo = registry.create_plugin("tight-echo").unwrap();
    assert_eq!(echo.process(b"sixteen bytes!!!").unwrap().len(), 16);
    assert!(matches!(
        echo.process(&[b'x'; 17]).unwrap_err().kind(),
        PluginErrorKind::TooLarge { limit: 16, .. }
    ));

    let stopped = |name: &str| {
        let started = Instant::now();
        let error = registry
            .create_plugin(name)
            .unwrap()
            .process(b"")
            .unwrap_err();
        (error, started.elapsed())
    };
    let (error, took) = stopped("tight-spin");
    assert!(
        matches!(error.kind(), PluginErrorKind::Timeout { budget, .. } if *budget == Duration::from_millis(20)),
        "{error:?}"
    );
    // A correctness bound, generous for a loaded machine: stopped by its own 20 ms, not
    // the host's second.
    assert!(
        took < Duration::from_millis(500),
        "its own 20 ms, not the host's 1 s: {took:?}"
    );
    let (error, _) = stopped("loose-spin");
    assert!(
        matches!(error.kind(), PluginErrorKind::Timeout { budget, .. } if *budget == Duration::from_secs(1)),
        "the host's budget, not the 10 minutes asked: {error:?}"
    );
    let (error, _) = stopped("fuelled-spin");
    assert!(
        matches!(error.kind(), PluginErrorKind::Trapped { trap, .. } if trap.contains("fuel of 1000")),
        "{error:?}"
    );
    let (error, _) = stopped("small-grow");
    assert!(
        matches!(
            error.kind(),
            PluginErrorKind::MemoryLimit { limit: 131_072, .. }
        ),
        "{error:?}"
    );

    // What this host cannot honour is refused at load, with where and why.
    let unknown = wasm_text::text_guest_limited(ECHO, "asks-speed", &["speed=9"]);
    let error = registry
        .wasm()
        .load_wasm_bytes("asks-speed.wasm", &unknown, None)
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("plugin `asks-speed`: unknown limit `speed`"),
        "{error}"
    );
    let mut future = wasm_text::text_guest_limited(ECHO, "from-the-future", &[]);
    let at = future
        .windows(b"modreg.plugins".len())
        .position(|w| w == b"modreg.plugins")
        .unwrap()
        + b"modreg.plugins".len();
    future[at] = 4;
    let error = registry
        .wasm()
        .load_wasm_bytes("future.wasm", &future, None)
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("record 0 has format version 4; this host reads 1, 2 and 3"),
        "{error}"
    );
    assert!(
        registry.plugin("asks-speed").is_none() && registry.plugin("from-the-future").is_none()
    );
    rot13_still_answers(&registry);
}

/// A guest is configured by its module: settings the host holds for a WebAssembly plugin are
/// refused when it is created, never silently dropped.
fn settings_for_a_guest_are_refused_not_dropped(engine: WasmEngine) {
    let registry = host(WasmConfig::new().with_engine(engine));
    registry
        .registrations()
        .set_plugin_settings("rot13", modreg::PluginSettings::default().with("shift", 3))
        .unwrap();
    let error = registry.create_plugin("rot13").err().expect("refused");
    assert!(
        matches!(error.kind(), PluginErrorKind::Invalid { field, .. } if *field == "plugin settings"),
        "{error}"
    );
    assert!(error.to_string().contains("rot13"), "{error}");
    // Without them, it is created as before.
    registry
        .registrations()
        .set_plugin_settings("rot13", modreg::PluginSettings::default())
        .unwrap();
    rot13_still_answers(&registry);
}

/// A configuration part of which could not take effect is refused whole, and the one before
/// it stays: a zero time budget (no call could run) and, in a build with the compiling
/// engines, a compiled-module cache with an interpreter (which makes no machine code: the
/// directory would be unused, silently). The same cache with a compiling engine is taken.
#[test]
fn a_configuration_that_could_not_take_effect_is_refused_and_the_one_before_stays() {
    let scratch = tempfile::tempdir().unwrap();
    let cache = scratch.path().join("cache");
    let before = Duration::from_secs(7);
    // (what, the configuration, the field the refusal names, or `None` where it is taken)
    #[cfg_attr(not(feature = "wasm-jit"), allow(unused_mut))]
    let mut cases: Vec<(&str, WasmConfig, Option<&str>)> = vec![(
        "a zero time budget",
        WasmConfig::new().with_time_budget(Duration::ZERO),
        Some("WebAssembly time budget"),
    )];
    #[cfg(feature = "wasm-jit")]
    cases.extend([
        (
            "a cache with the interpreter",
            WasmConfig::new().with_jit_cache_dir(&cache),
            Some("WebAssembly compiled-module cache"),
        ),
        (
            "a cache with the lazy interpreter",
            WasmConfig::new()
                .with_engine(WasmEngine::LazyInterpreter)
                .with_jit_cache_dir(&cache),
            Some("WebAssembly compiled-module cache"),
        ),
        (
            "a cache with Cranelift",
            WasmConfig::new()
                .with_jit_cache_dir(&cache)
                .with_engine(WasmEngine::Jit),
            None,
        ),
        (
            "a cache with Winch",
            WasmConfig::new()
                .with_engine(WasmEngine::JitBaseline)
                .with_jit_cache_dir(&cache),
            None,
        ),
        (
            "a cache limit without a cache",
            WasmConfig::new()
                .with_engine(WasmEngine::Jit)
                .with_jit_cache_limit(1 << 20),
            Some("WebAssembly compiled-module cache limit"),
        ),
        (
            "a cache limit with a cache",
            WasmConfig::new()
                .with_engine(WasmEngine::Jit)
                .with_jit_cache_limit(1 << 20)
                .with_jit_cache_dir(&cache),
            None,
        ),
    ]);
    for (what, config, refused) in cases {
        let registry = registry_with(WasmConfig::new().with_time_budget(before));
        let answer = registry.wasm().configure_wasm(config.clone());
        let now = registry.wasm().wasm_config();
        match refused {
            Some(expected) => {
                let error = answer.expect_err(what);
                assert!(
                    matches!(error.kind(), PluginErrorKind::Invalid { field, .. } if *field == expected),
                    "{what}: {error}"
                );
                assert_eq!(now.time_budget(), before, "{what}: the one before stays");
                assert_eq!(now.jit_cache_dir(), None, "{what}");
            }
            None => {
                answer.unwrap_or_else(|error| panic!("{what}: {error}"));
                assert_eq!(now.engine(), config.engine(), "{what}");
                assert_eq!(now.jit_cache_dir(), Some(cache.as_path()), "{what}");
                assert_eq!(now.jit_cache_limit(), config.jit_cache_limit(), "{what}");
            }
        }
    }
    // Nothing was made for a refused cache (and the compiling engines make it at a load).
    assert!(!cache.exists());
}

/// A file of the compiling engine's cache for module `two` (SHA-256 `digest`) holding the
/// machine code of the cache file `other`: what someone who may write the directory and
/// knows the format can put there.
#[cfg(feature = "wasm-jit")]
fn forged_cache_file(digest: &[u8; 32], other: &std::path::Path) -> Vec<u8> {
    let code = std::fs::read(other).unwrap().split_off(32);
    let mut file = WasmSignature::message(&[&digest[..], &code].concat()).to_vec();
    file.extend_from_slice(&code);
    file
}

/// The compiling engine keeps a module's machine code on disk under the module's SHA-256 and
/// the engine's fingerprint: a later load takes it from there (what runs is the file's code),
/// and a damaged file, or another module's, is never used: the module is compiled again and
/// the file replaced.
#[cfg(feature = "wasm-jit")]
#[test]
fn the_jit_cache_serves_machine_code_and_never_a_damaged_file() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("cache");
    let config = WasmConfig::new()
        .with_engine(WasmEngine::Jit)
        .with_jit_cache_dir(&dir);
    let greeter = |version: &[u8]| {
        let registry = registry_with(config.clone());
        let bytes = if version == b"one" {
            wasm_text::guest_answering("one", "1.0.0")
        } else {
            wasm_text::guest_answering("two", "2.0.0")
        };
        registry
            .wasm()
            .load_wasm_bytes("greeter.wasm", &bytes, None)
            .unwrap();
        answer_of(&registry, "greeter")
    };
    let cached = || -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "cwasm"))
            .collect();
        files.sort_by_key(|path| std::fs::metadata(path).unwrap().modified().unwrap());
        files
    };
    assert_eq!(greeter(b"one"), b"one");
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(greeter(b"two"), b"two");
    let files = cached();
    assert_eq!(files.len(), 2, "one file per module: {files:?}");
    let (one, two) = (&files[0], &files[1]);
    let two_compiled = std::fs::read(two).unwrap();

    // Another module's file under this one's name is not used: its sum is of the other
    // module. (It was run before the sum bound a file to its module.)
    std::fs::copy(one, two).unwrap();
    assert_eq!(greeter(b"two"), b"two");
    assert_eq!(std::fs::read(two).unwrap(), two_compiled);

    // What runs is the cached file: the first module's code, in a file made for the second
    // one, is what the second module's load runs. (The cache directory is the host's to
    // guard: `the_jit_cache_is_used_only_where_no_other_user_may_write`.)
    let digest = WasmSignature::message(&wasm_text::guest_answering("two", "2.0.0"));
    std::fs::write(two, forged_cache_file(&digest, one)).unwrap();
    assert_eq!(greeter(b"two"), b"one");

    // A damaged file is not used: the module is compiled again and the file written anew.
    let mut damaged = two_compiled.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    std::fs::write(two, &damaged).unwrap();
    assert_eq!(greeter(b"two"), b"two");
    assert_eq!(std::fs::read(two).unwrap(), two_compiled);
    // A short file too.
    std::fs::write(two, b"short").unwrap();
    assert_eq!(greeter(b"two"), b"two");
    assert_eq!(std::fs::read(two).unwrap(), two_compiled);

    // Another compiler's code is another file: the baseline engine, on the same directory,
    // neither takes Cranelift's file nor replaces it.
    let registry = registry_with(config.clone().with_engine(WasmEngine::JitBaseline));
    registry
        .wasm()
        .load_wasm_bytes(
            "greeter.wasm",
            &wasm_text::guest_answering("two", "2.0.0"),
            None,
        )
        .unwrap();
    assert_eq!(answer_of(&registry, "greeter"), b"two");
    assert_eq!(cached().len(), 3, "{:?}", cached());
    assert_eq!(std::fs::read(two).unwrap(), two_compiled);
}

/// The compiling engine's cache runs machine code from its files, so on Unix it makes its
/// directory its owner's alone and uses no directory and no file that another user owns or
/// may write: such a file is what runs otherwise (the forgery below runs where the directory
/// and the file are the host's). A refused file is compiled again and replaced; a refused
/// directory is not used at all.
#[cfg(all(unix, feature = "wasm-jit"))]
#[test]
fn the_jit_cache_is_used_only_where_no_other_user_may_write() {
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("cache");
    let config = WasmConfig::new()
        .with_engine(WasmEngine::Jit)
        .with_jit_cache_dir(&dir);
    let load = |name: &str| {
        let registry = registry_with(config.clone());
        registry
            .wasm()
            .load_wasm_bytes(
                "greeter.wasm",
                &wasm_text::guest_answering(name, "1.0.0"),
                None,
            )
            .unwrap();
        answer_of(&registry, "greeter")
    };
    let file_of = |name: &str| {
        let digest = WasmSignature::message(&wasm_text::guest_answering(name, "1.0.0"));
        let prefix: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| {
                path.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&prefix)
            })
            .unwrap()
    };
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().mode() & 0o777;
    let chmod = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    assert_eq!(load("one"), b"one");
    assert_eq!(load("two"), b"two");
    let (one, two) = (file_of("one"), file_of("two"));
    // Made by the cache: its owner's alone.
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&two), 0o600);
    let digest = WasmSignature::message(&wasm_text::guest_answering("two", "1.0.0"));
    let forge = || {
        let _ = std::fs::remove_file(&two);
        std::fs::File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&two)
            .unwrap()
            .write_all(&forged_cache_file(&digest, &one))
            .unwrap();
    };
    forge();
    assert_eq!(load("two"), b"one", "the host's file is what runs");

    // A file others may write: not used, compiled again and replaced by the host's own.
    chmod(&two, 0o666);
    assert_eq!(load("two"), b"two");
    assert_eq!(mode(&two), 0o600);
    // A directory others may write (group or world, sticky or not): not used at all.
    for refused in [0o770, 0o777, 0o1777] {
        forge();
        chmod(&dir, refused);
        assert_eq!(load("two"), b"two", "{refused:o}");
        chmod(&dir, 0o700);
        assert_eq!(load("two"), b"one", "{refused:o}: the same file used again");
    }
    // Owned by another user (a root test run can give them away).
    let me = std::fs::metadata(scratch.path()).unwrap().uid();
    if me == 0 {
        let nobody = Some(65_534);
        std::os::unix::fs::chown(&two, nobody, None).unwrap();
        assert_eq!(load("two"), b"two");
        assert_eq!(std::fs::metadata(&two).unwrap().uid(), me, "replaced");
        forge();
        std::os::unix::fs::chown(&dir, nobody, None).unwrap();
        assert_eq!(load("two"), b"two");
        std::os::unix::fs::chown(&dir, Some(me), None).unwrap();
        assert_eq!(load("two"), b"one");
    }
}

/// The compiling engine's disk cache stays under its limit: storing a module removes the
/// least recently used files (a load from the cache renews its file), and a file larger than
/// the limit is not kept.
#[cfg(feature = "wasm-jit")]
#[test]
fn the_jit_cache_stays_under_its_limit_removing_the_least_recently_used() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("cache");
    // Three modules of one shape: their machine code is about one size.
    let modules: Vec<Vec<u8>> = ["a", "b", "c"]
        .iter()
        .map(|name| wasm_text::guest_named("greeter", name, "1.0.0"))
        .collect();
    // Loads `module` with the cache limited to `limit`; the SHA-256 its plugin carries.
    let load = |module: &[u8], limit: u64| -> String {
        let registry = registry_with(
            WasmConfig::new()
                .with_engine(WasmEngine::Jit)
                .with_jit_cache_dir(&dir)
                .with_jit_cache_limit(limit),
        );
        registry
            .wasm()
            .load_wasm_bytes("greeter.wasm", module, None)
            .unwrap();
        answer_of(&registry, "greeter");
        let info = registry.plugin("greeter").unwrap();
        let metadata = info.metadata();
        (*metadata.get("wasm.sha256").unwrap()).to_owned()
    };
    let cached = || -> Vec<(String, u64)> {
        let mut files: Vec<(String, u64)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap())
            .map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                (name, entry.metadata().unwrap().len())
            })
            .filter(|(name, _)| name.ends_with(".cwasm"))
            .collect();
        files.sort();
        files
    };
    let holds = |sha256: &str| cached().iter().any(|(name, _)| name.starts_with(sha256));
    // Unlimited: a file per module, and their sizes.
    let sums: Vec<String> = modules.iter().map(|m| load(m, u64::MAX)).collect();
    let sizes: Vec<u64> = cached().iter().map(|(_, size)| *size).collect();
    let (smallest, largest) = (*sizes.iter().min().unwrap(), *sizes.iter().max().unwrap());
    assert_eq!(sizes.len(), 3);
    assert!(smallest * 6 > largest * 5, "{sizes:?}");
    std::fs::remove_dir_all(&dir).unwrap();

    // Room for two files, not three.
    let limit = largest * 2 + largest / 2;
    let pause = || std::thread::sleep(Duration::from_millis(20));
    load(&modules[0], limit);
    pause();
    load(&modules[1], limit);
    pause();
    // From the cache: `a` is now the most recently used.
    load(&modules[0], limit);
    pause();
    load(&modules[2], limit);
    assert!(holds(&sums[0]) && holds(&sums[2]), "{:?}", cached());
    assert!(
        !holds(&sums[1]),
        "the least recently used goes: {:?}",
        cached()
    );
    let total: u64 = cached().iter().map(|(_, size)| size).sum();
    assert!(total <= limit, "{total} > {limit}");
    // Files that are not the cache's are neither counted nor removed; a temporary file a
    // killed process left mid-write goes once it is old, one being written does not.
    std::fs::write(dir.join("notes.txt"), vec![b'x'; 4 * limit as usize]).unwrap();
    let temporary = |age: u64, pid: u32| {
        let path = dir.join(format!("{}-{:016x}.{pid}.tmp", "ab".repeat(32), 7));
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(1 << 20).unwrap();
        let time = std::time::SystemTime::now() - Duration::from_secs(age);
        file.set_modified(time).unwrap();
        path
    };
    let (left, writing) = (temporary(3_600, 1), temporary(0, 2));
    let not_ours = dir.join("notes.1.tmp");
    std::fs::write(&not_ours, b"x").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&not_ours)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(3_600))
        .unwrap();
    pause();
    load(&modules[1], limit);
    assert!(dir.join("notes.txt").exists() && not_ours.exists());
    assert!(!left.exists(), "a killed process's temporary file stays");
    assert!(writing.exists(), "a temporary file being written went");
    assert_eq!(cached().len(), 2, "{:?}", cached());

    // A limit smaller than one file: nothing is kept, and the module still serves.
    load(&modules[0], smallest / 2);
    assert!(cached().is_empty(), "{:?}", cached());
}

/// Each test above that takes an engine, run once per engine this build has: the same table,
/// the same assertions, in the interpreter (validating at load, and validating each function
/// at its first call) and (feature `wasm-jit`) in Cranelift's and in Winch's compiled code.
macro_rules! on_every_engine {
    ($($test:ident),* $(,)?) => {
        mod interpreter {
            $(
                #[test]
                fn $test() {
                    super::$test(super::WasmEngine::Interpreter);
                }
            )*
        }

        mod lazy_interpreter {
            $(
                #[test]
                fn $test() {
                    super::$test(super::WasmEngine::LazyInterpreter);
                }
            )*
        }

        #[cfg(feature = "wasm-jit")]
        mod jit {
            $(
                #[test]
                fn $test() {
                    super::$test(super::WasmEngine::Jit);
                }
            )*
        }

        #[cfg(feature = "wasm-jit")]
        mod jit_baseline {
            $(
                #[test]
                fn $test() {
                    super::$test(super::WasmEngine::JitBaseline);
                }
            )*
        }
    };
}

on_every_engine!(
    a_codec_compiled_from_the_bundled_source_runs_in_the_sandbox,
    guests_in_rust_and_in_c_pass_the_conformance_kit,
    wasm_plugins_are_found_by_the_same_queries,
    hostile_guests_are_stopped_with_typed_errors_and_the_host_goes_on,
    the_time_budget_frees_the_thread_within_its_budget,
    a_fuel_cap_stops_a_loop_deterministically,
    grants_open_only_what_they_name,
    modules_that_break_the_contract_are_refused_before_they_run,
    a_version_that_cannot_be_instantiated_never_replaces_a_working_one,
    a_module_takes_a_compiled_in_name_only_when_the_host_allows_it,
    a_large_bulk_instruction_is_fuelled_at_once_or_stopped_at_once,
    idle_instances_give_back_grown_memory_and_stay_under_a_cap_across_modules,
    reloading_replaces_new_calls_while_old_instances_finish_on_the_old_code,
    replaced_and_refused_modules_give_their_memory_back,
    settings_for_a_guest_are_refused_not_dropped,
    one_plugin_serves_many_threads_each_in_its_own_sandbox,
    a_guests_state_lives_per_call_per_instance_or_shared_as_configured,
    a_fresh_guest_is_reset_to_its_first_state_or_made_anew,
    a_fresh_guest_that_grew_makes_the_next_ones_plain_for_a_while,
    instances_of_every_module_share_one_memory_cap,
    memory_growth_stops_at_the_deadline,
    async_host_functions_suspend_the_guest_instead_of_a_thread,
    host_functions_run_only_under_a_declared_permission_and_are_counted,
    abi_versions_one_and_two_serve_side_by_side,
    with_authentication_on_only_modules_signed_by_a_trusted_key_load,
    under_access_control_a_module_loads_only_for_a_principal_allowed_its_plugins,
    modules_whose_instances_would_cost_too_much_are_refused_before_they_compile,
    damaged_modules_are_refused_or_served_and_never_panic,
    any_answer_record_is_read_as_the_abi_says,
    any_import_call_is_answered_as_the_abi_says,
    any_sequence_of_sandbox_operations_keeps_the_books,
    the_guests_and_the_compiled_in_codecs_answer_alike,
    any_sequence_of_directory_changes_is_followed_by_a_pass,
    any_sequence_of_signed_directory_changes_is_followed_by_a_pass,
);

/// A module whose section declares what a registration refuses (a plugin's name, version,
/// permission or dependency) is refused before it compiles, with an error that names the
/// module and what it declared, and registers nothing.
#[test]
fn a_module_declaring_what_a_registration_refuses_is_refused_by_name() {
    let cases: [(&str, Vec<u8>, &str); 6] = [
        (
            "a name",
            wasm_text::guest_named("Bad Name", "x", "1.0.0"),
            "`Bad Name`",
        ),
        (
            "no name",
            wasm_text::guest_named("", "x", "1.0.0"),
            "plugin name ``",
        ),
        (
            "a version",
            wasm_text::guest_named("ok", "x", "1.x"),
            "`1.x`",
        ),
        (
            "a permission",
            wasm_text::echo_guest("ok", "1.0.0", "data-processor", &["Net!"], &[]),
            "`Net!`",
        ),
        (
            "a permission twice",
            wasm_text::echo_guest("ok", "1.0.0", "data-processor", &["net", "net"], &[]),
            "listed twice",
        ),
        (
            "a dependency",
            wasm_text::echo_guest("ok", "1.0.0", "data-processor", &[], &["other >= x"]),
            "other >= x",
        ),
    ];
    let registry = ModuleRegistry::new();
    let before = registry.plugins().len();
    for (case, module, named) in cases {
        let error = registry
            .wasm()
            .load_wasm_bytes("bad.wasm", &module, None)
            .unwrap_err();
        assert!(
            matches!(error.kind(), PluginErrorKind::WasmModule { module, reason }
                if module == "bad.wasm" && reason.contains(named)),
            "{case}: {error}"
        );
        assert_eq!(registry.plugins().len(), before, "{case}");
    }
}
