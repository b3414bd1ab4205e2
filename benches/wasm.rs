//! The WebAssembly sandbox beside the same plugin compiled in, in the same run:
//!
//! - `wasm_process`: `hex-encode` on 64 B and 64 KiB, native (`modreg-plugins` linked in) and
//!   as a guest (the same source built into `codecs.wasm`, exported as `wasm-hex-encode`), both
//!   through `Box<dyn Plugin>`; the guest in each `GuestState`: a fresh instance per call (the
//!   default), one per plugin instance, or shared idle instances;
//! - `wasm_load`: loading `codecs.wasm` (check, compile, register five plugins) into a fresh
//!   registry.
//!
//! The guests are built from source first (`tests/support/wasm_guests.rs`).
//!
//! Run: `cargo bench -p modreg --features wasm,encoding --bench wasm`.

#[path = "../tests/support/wasm_guests.rs"]
#[allow(dead_code)]
mod wasm_guests;

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use modreg::{GuestState, ModuleRegistry, WasmConfig};

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
}

fn process(c: &mut Criterion) {
    let native = ModuleRegistry::new()
        .create_plugin("hex-encode")
        .expect("hex-encode is compiled in");
    let guest = |state| {
        sandboxed(WasmConfig::new().with_guest_state(state))
            .create_plugin("wasm-hex-encode")
            .unwrap()
    };
    let guests = [
        ("wasm_fresh_per_call", guest(GuestState::FreshPerCall)),
        ("wasm_per_instance", guest(GuestState::PerInstance)),
        ("wasm_shared", guest(GuestState::Shared)),
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
    group.bench_function("codecs.wasm", |b| {
        b.iter_batched(
            ModuleRegistry::new,
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
    group.finish();
}

criterion_group!(benches, process, load);
criterion_main!(benches);
