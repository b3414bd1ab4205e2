//! The WebAssembly sandbox beside the same plugin compiled in, in the same run:
//!
//! - `wasm_process`: `hex-encode` on 64 B and 64 KiB, native (`modreg-plugins` linked in) and
//!   as a guest (the same source built into `codecs.wasm`, exported as `wasm-hex-encode`), both
//!   through `Box<dyn Plugin>`; the guest in each `GuestState`: a fresh instance per call (the
//!   default), one per plugin instance, or shared idle instances; and the same codec written in
//!   C (`c-hex-encode`, `examples/wasm-guests/c/hex.c`), fresh and per instance;
//! - `wasm_load`: loading `codecs.wasm` (check, compile, register five plugins) into a fresh
//!   registry, unsigned and signed, validated at load and at each function's first call
//!   (`WasmEngine::LazyInterpreter`); the SHA-256 of its bytes alone, which every load pays;
//!   and 100 one-plugin modules into one;
//! - `wasm_reload`: a changed module in a watched directory, from the write to the new code
//!   answering;
//! - `wasm_call`: the sandbox's own cost: a guest that does nothing (kept, and fresh per call),
//!   and one that calls the host 1,000 times;
//! - `wasm_typed`: a method of a user's `#[sandboxed]` trait with a 64-byte struct argument
//!   (`examples/sandboxed-trait`), native and in the guest, beside a 64-byte bytes call;
//! - `wasm_async`: 1,000 guest calls at once, each awaiting a 10 ms async host function, on a
//!   runtime with two worker threads;
//! - `wasm_jit_*` (feature `wasm-jit`): the compiling engine beside native code and the
//!   interpreter: `hex-encode` 64 B and 64 KiB, a no-op call kept and fresh, loading the
//!   codecs module compiled and from the disk cache.
//!
//! The guests are built from source first (`tests/support/wasm_guests.rs`, `c_guest.rs`: the C
//! guest needs clang and lld).
//!
//! Run: `cargo bench -p modreg --features wasm,encoding --bench wasm` (and
//! `--features wasm-jit,encoding ... -- wasm_jit` for the compiling engine).

#[path = "../tests/support/c_guest.rs"]
mod c_guest;
#[path = "../tests/support/signing.rs"]
mod signing;
#[path = "../tests/support/wasm_guests.rs"]
#[allow(dead_code)]
mod wasm_guests;
#[path = "../tests/support/wasm_text.rs"]
#[allow(dead_code)]
mod wasm_text;

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use modreg::{GuestState, ModuleRegistry, WasmConfig, WasmEngine, WasmSignature};

use signing::RELEASE_SECRET as SECRET;

fn codecs() -> Vec<u8> {
    std::fs::read(wasm_guests::plugin_dir().join("codecs.wasm")).expect("the guest was built")
}

fn sandboxed(config: WasmConfig) -> ModuleRegistry {
    let registry = ModuleRegistry::new();
    registry.wasm().configure_wasm(config).unwrap();
    registry
        .wasm()
        .load_wasm_bytes("codecs.wasm", &codecs(), None)
        .expect("codecs.wasm loads");
    registry
        .wasm()
        .load_wasm_plugin(c_guest::c_hex_module())
        .expect("c-hex.wasm loads");
    registry
}

fn process(c: &mut Criterion) {
    let native = ModuleRegistry::new()
        .create_plugin("hex-encode")
        .expect("hex-encode is compiled in");
    let guest = |state, name| {
        sandboxed(WasmConfig::new().with_guest_state(state))
            .create_plugin(name)
            .unwrap()
    };
    let guests = [
        (
            "wasm_fresh_per_call",
            guest(GuestState::FreshPerCall, "wasm-hex-encode"),
        ),
        (
            "wasm_per_instance",
            guest(GuestState::PerInstance, "wasm-hex-encode"),
        ),
        ("wasm_shared", guest(GuestState::Shared, "wasm-hex-encode")),
        // The same codec written in C: 2 KB, one page of memory, a bump allocator.
        (
            "c_fresh_per_call",
            guest(GuestState::FreshPerCall, "c-hex-encode"),
        ),
        (
            "c_per_instance",
            guest(GuestState::PerInstance, "c-hex-encode"),
        ),
    ];
    let mut group = c.benchmark_group("wasm_process");
    for size in [64usize, 64 << 10] {
        let input = vec![0xa5u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("native", size), &input, |b, input| {
            b.iter(|| native.process(black_box(input)).unwrap());
        });
        for (name, guest) in &guests {
            group.bench_with_input(BenchmarkId::new(*name, size), &input, |b, input| {
                b.iter(|| guest.process(black_box(input)).unwrap());
            });
        }
    }
    group.finish();
}

fn load(c: &mut Criterion) {
    let bytes = codecs();
    let mut group = c.benchmark_group("wasm_load");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    // Unsigned, then signed (the registry requires a trusted key's signature), each in the
    // interpreter that validates at load and in the one that validates each function at its
    // first call.
    let signature = WasmSignature::new(
        "release",
        modreg::sign_message(&WasmSignature::message(&bytes), SECRET).unwrap(),
    );
    let cases: [(&str, WasmEngine, bool); 4] = [
        ("codecs.wasm", WasmEngine::Interpreter, false),
        ("codecs.wasm_signed", WasmEngine::Interpreter, true),
        ("codecs.wasm_lazy", WasmEngine::LazyInterpreter, false),
        ("codecs.wasm_lazy_signed", WasmEngine::LazyInterpreter, true),
    ];
    for (id, engine, signed) in cases {
        group.bench_function(id, |b| {
            b.iter_batched(
                || {
                    let registry = if signed {
                        signing::signing_registry()
                    } else {
                        ModuleRegistry::new()
                    };
                    let config = WasmConfig::new().with_engine(engine);
                    registry.wasm().configure_wasm(config).unwrap();
                    registry
                },
                |registry| {
                    registry
                        .wasm()
                        .load_wasm_bytes(
                            "codecs.wasm",
                            black_box(&bytes),
                            signed.then_some(&signature),
                        )
                        .unwrap();
                    registry
                },
                BatchSize::SmallInput,
            );
        });
    }
    // The floor of every load above: the SHA-256 of the module's bytes (what a signature
    // signs, and the module's identity), which each load computes once before anything else.
    group.bench_function("codecs.wasm_sha256_only", |b| {
        b.iter(|| WasmSignature::message(black_box(&bytes)));
    });
    // 100 small modules (one plugin each, as the text guests are) into one registry, cold.
    let small: Vec<(String, Vec<u8>)> = (0..100)
        .map(|i| {
            let name = format!("small-{i}");
            let bytes = wasm_text::guest_named(&name, "ok", "1.0.0");
            (format!("{name}.wasm"), bytes)
        })
        .collect();
    group.throughput(Throughput::Elements(100));
    group.bench_function("100_small_modules", |b| {
        b.iter_batched(
            ModuleRegistry::new,
            |registry| {
                for (name, bytes) in &small {
                    registry
                        .wasm()
                        .load_wasm_bytes(name, black_box(bytes), None)
                        .unwrap();
                }
                registry
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

/// A guest that calls the host's `panic_message` with an empty message 1,000 times, then
/// answers nothing: (its call - a no-op call) / 1,000 is one guest-to-host call.
const HOST_CALLS: &str = r#"(module
    (import "modreg" "panic_message" (func $host (param i32 i32)))
    (memory (export "memory") 1)
    (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
    (func (export "modreg_process") (param i32 i32 i32) (result i32)
        (local $left i32)
        (local.set $left (i32.const 1000))
        (loop $again
            (call $host (i32.const 0) (i32.const 0))
            (local.set $left (i32.sub (local.get $left) (i32.const 1)))
            (br_if $again (local.get $left)))
        (i32.store (i32.const 0) (i32.const 0))
        (i32.store (i32.const 4) (i32.const 32))
        (i32.store (i32.const 8) (i32.const 0))
        (i32.const 0)))"#;

/// The sandbox's own cost: a call to a guest that does nothing, kept or fresh, and a guest
/// that calls the host 1,000 times.
fn call(c: &mut Criterion) {
    let guest = |state, bytes: &[u8], name: &str| {
        let registry = ModuleRegistry::new();
        registry
            .wasm()
            .configure_wasm(WasmConfig::new().with_guest_state(state))
            .unwrap();
        registry
            .wasm()
            .load_wasm_bytes(&format!("{name}.wasm"), bytes, None)
            .unwrap();
        let plugin = registry.create_plugin(name).unwrap();
        (registry, plugin)
    };
    let noop = wasm_text::guest_named("noop", "", "1.0.0");
    let host_calls = wasm_text::text_guest(HOST_CALLS, "host-calls", "1.0.0");
    let cases = [
        (
            "noop_per_instance",
            guest(GuestState::PerInstance, &noop, "noop"),
        ),
        (
            "noop_fresh_per_call",
            guest(GuestState::FreshPerCall, &noop, "noop"),
        ),
        (
            "host_calls_1000_per_instance",
            guest(GuestState::PerInstance, &host_calls, "host-calls"),
        ),
    ];
    let mut group = c.benchmark_group("wasm_call");
    for (name, (_registry, plugin)) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| plugin.process(black_box(b"")).unwrap());
        });
    }
    group.finish();
}

/// A typed call (a `#[sandboxed]` trait's method, its 64-byte struct argument encoded, its
/// enum-free `Result<u64, _>` decoded) beside the native call and beside today's bytes call
/// of 64 bytes (rot13), each guest kept (`PerInstance`) and fresh per call.
fn typed(c: &mut Criterion) {
    use sandboxed_trait::{Order, PRICING};
    let order = Order {
        item: "bread".to_owned(),
        quantity: 3,
        express: true,
        coupon: Some("HALF".to_owned()),
        note: "ring twice; the parcel goes to the neighbour at 1".to_owned(),
    };
    let encoded = postcard::to_allocvec(&order).unwrap();
    assert_eq!(encoded.len(), 64, "the argument is 64 bytes encoded");
    let pricing = |state| {
        let registry = ModuleRegistry::new();
        registry.registrations().add_registry(&PRICING);
        registry
            .wasm()
            .configure_wasm(
                WasmConfig::new()
                    .with_guest_state(state)
                    .with_replace_compiled(true),
            )
            .unwrap();
        registry
            .wasm()
            .load_wasm_plugin(wasm_guests::pricing_module())
            .unwrap();
        let plugin = registry
            .instances()
            .create_from(&PRICING, "catalog")
            .unwrap();
        assert_eq!(plugin.pointer_bits(), Ok(32));
        (registry, plugin)
    };
    let rot13 = |state| {
        sandboxed(WasmConfig::new().with_guest_state(state))
            .create_plugin("rot13")
            .unwrap()
    };
    let native = PRICING.create("catalog").unwrap();
    let (_kept_host, kept) = pricing(GuestState::PerInstance);
    let (_fresh_host, fresh) = pricing(GuestState::FreshPerCall);
    let bytes_kept = rot13(GuestState::PerInstance);
    let bytes_fresh = rot13(GuestState::FreshPerCall);
    let input = [b'a'; 64];
    let mut group = c.benchmark_group("wasm_typed");
    group.bench_function("native_quote", |b| {
        b.iter(|| native.quote(black_box(&order)).unwrap());
    });
    group.bench_function("typed_quote_per_instance", |b| {
        b.iter(|| kept.quote(black_box(&order)).unwrap());
    });
    group.bench_function("bytes_rot13_64B_per_instance", |b| {
        b.iter(|| bytes_kept.process(black_box(&input)).unwrap());
    });
    group.bench_function("typed_quote_fresh", |b| {
        b.iter(|| fresh.quote(black_box(&order)).unwrap());
    });
    group.bench_function("bytes_rot13_64B_fresh", |b| {
        b.iter(|| bytes_fresh.process(black_box(&input)).unwrap());
    });
    group.finish();
}

/// 1,000 guest calls at once, each awaiting an async host function that sleeps 10 ms, from a
/// runtime with two worker threads: suspended guests, not blocked threads.
fn async_host(c: &mut Criterion) {
    use modreg::{HostFunction, HostFunctionError};
    use std::sync::Arc;
    let registry = ModuleRegistry::new();
    registry
        .wasm()
        .configure_wasm(
            WasmConfig::new().with_host_function(HostFunction::new_async(
                "nap",
                "kv.read",
                |_, _| async {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    Ok::<_, HostFunctionError>(b"slept".to_vec())
                },
            )),
        )
        .unwrap();
    registry
        .wasm()
        .load_wasm_plugin(wasm_guests::plugin_dir().join("hostile.wasm"))
        .unwrap();
    let ask = Arc::new(registry.create_plugin("ask-host").unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("wasm_async");
    group.sample_size(10);
    group.bench_function("1000_calls_awaiting_10ms_host_function", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let calls: Vec<_> = (0..1000)
                    .map(|_| {
                        let ask = Arc::clone(&ask);
                        tokio::spawn(async move { ask.process_async(b"nap").await })
                    })
                    .collect();
                for call in calls {
                    assert_eq!(call.await.unwrap().unwrap(), b"slept");
                }
            });
        });
    });
    group.finish();
}

/// From a changed module written into a watched directory to the new code answering: the
/// file notification, 30 ms of quiet to coalesce a burst (`COALESCE`), the load, the swap.
fn reload(c: &mut Criterion) {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let registry = std::sync::Arc::new(ModuleRegistry::new());
    let _watcher = registry.watch_wasm_plugins(dir, std::time::Duration::from_secs(3600));
    let mut version = 0u64;
    let mut group = c.benchmark_group("wasm_reload");
    group.sample_size(10);
    group.bench_function("changed_file_serving", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                version += 1;
                let answer = format!("v{version}");
                let bytes = wasm_text::guest_answering(&answer, &format!("1.0.{version}"));
                let staging = dir.join(".greeter.tmp");
                std::fs::write(&staging, &bytes).unwrap();
                let started = std::time::Instant::now();
                std::fs::rename(&staging, dir.join("greeter.wasm")).unwrap();
                loop {
                    let serving = registry
                        .create_plugin("greeter")
                        .ok()
                        .and_then(|p| p.process(b"").ok());
                    if serving.as_deref() == Some(answer.as_bytes()) {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();
}

/// The compiling engines (feature `wasm-jit`) beside native code and the interpreter, in the
/// same run: `hex-encode` on 64 B and 64 KiB (Cranelift's code and Winch's), a no-op call, the
/// codecs module's fresh instance per call, and loading the codecs module (compiled by each
/// compiler, and from the disk cache).
#[cfg(feature = "wasm-jit")]
fn jit(c: &mut Criterion) {
    let native = ModuleRegistry::new()
        .create_plugin("hex-encode")
        .expect("hex-encode is compiled in");
    let guest = |engine, state| {
        let registry = sandboxed(
            WasmConfig::new()
                .with_engine(engine)
                .with_guest_state(state),
        );
        registry.create_plugin("wasm-hex-encode").unwrap()
    };
    let guests = [
        (
            "interpreter_per_instance",
            guest(WasmEngine::Interpreter, GuestState::PerInstance),
        ),
        (
            "jit_per_instance",
            guest(WasmEngine::Jit, GuestState::PerInstance),
        ),
        (
            "jit_fresh_per_call",
            guest(WasmEngine::Jit, GuestState::FreshPerCall),
        ),
        ("jit_shared", guest(WasmEngine::Jit, GuestState::Shared)),
        (
            "jit_baseline_per_instance",
            guest(WasmEngine::JitBaseline, GuestState::PerInstance),
        ),
    ];
    let mut group = c.benchmark_group("wasm_jit_process");
    for size in [64usize, 64 << 10] {
        let input = vec![0xa5u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("native", size), &input, |b, input| {
            b.iter(|| native.process(black_box(input)).unwrap());
        });
        for (name, guest) in &guests {
            group.bench_with_input(BenchmarkId::new(*name, size), &input, |b, input| {
                b.iter(|| guest.process(black_box(input)).unwrap());
            });
        }
    }
    group.finish();

    let noop = wasm_text::guest_named("noop", "", "1.0.0");
    let noop_in = |state| {
        let registry = ModuleRegistry::new();
        registry
            .wasm()
            .configure_wasm(
                WasmConfig::new()
                    .with_engine(WasmEngine::Jit)
                    .with_guest_state(state),
            )
            .unwrap();
        registry
            .wasm()
            .load_wasm_bytes("noop.wasm", &noop, None)
            .unwrap();
        let plugin = registry.create_plugin("noop").unwrap();
        (registry, plugin)
    };
    let mut group = c.benchmark_group("wasm_jit_call");
    for (name, state) in [
        ("noop_per_instance", GuestState::PerInstance),
        ("noop_fresh_per_call", GuestState::FreshPerCall),
    ] {
        let (_registry, plugin) = noop_in(state);
        group.bench_function(name, |b| {
            b.iter(|| plugin.process(black_box(b"")).unwrap());
        });
    }
    group.finish();

    let bytes = codecs();
    let scratch = tempfile::tempdir().unwrap();
    let cache = scratch.path();
    let mut group = c.benchmark_group("wasm_jit_load");
    group.sample_size(10);
    for (name, config) in [
        (
            "codecs.wasm_compiled",
            WasmConfig::new().with_engine(WasmEngine::Jit),
        ),
        (
            "codecs.wasm_compiled_baseline",
            WasmConfig::new().with_engine(WasmEngine::JitBaseline),
        ),
        (
            "codecs.wasm_from_disk_cache",
            WasmConfig::new()
                .with_engine(WasmEngine::Jit)
                .with_jit_cache_dir(cache),
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let registry = ModuleRegistry::new();
                    registry.wasm().configure_wasm(config.clone()).unwrap();
                    registry
                },
                |registry| {
                    registry
                        .wasm()
                        .load_wasm_bytes("codecs.wasm", black_box(&bytes), None)
                        .unwrap();
                    registry
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

#[cfg(not(feature = "wasm-jit"))]
fn jit(_: &mut Criterion) {}

criterion_group!(benches, process, load, call, typed, async_host, reload, jit);
criterion_main!(benches);
