//! Runtime registration at scale: `register_plugin` one at a time and `register_plugins` in
//! one batch, for 1,000, 10,000 and 100,000 plugins, beside the registry a user would write:
//!
//! - `rwlock_hashmap`: `RwLock<HashMap<String, Entry>>`, one write lock per registration
//!   (readers block while a writer holds the lock; ours never do).
//!
//! Criterion reports time per element (throughput), so the per-registration cost at 100k
//! and at 1k can be read side by side.
//!
//! Run: `cargo bench -p modreg --bench registration`.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::RwLock;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use modreg::{ModuleRegistry, PluginConfig, PluginIndex, PluginType};

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn configs(n: usize) -> Vec<PluginConfig> {
    (0..n)
        .map(|i| {
            PluginConfig::new()
                .with_name(format!("runtime-{i:06}"))
                .with_version("1.0.0")
                .with_type(PluginType::Storage)
                .add_capability("storage")
        })
        .collect()
}

/// What a hand-written runtime registry keeps per plugin.
#[expect(dead_code, reason = "stored as a registry would, never read back here")]
struct Entry {
    version: String,
    plugin_type: PluginType,
    capabilities: Vec<String>,
}

fn empty_registry() -> ModuleRegistry {
    // An empty compiled-in index: only runtime registration is measured.
    ModuleRegistry::with_index(<PluginIndex>::build([], []))
}

fn registration(c: &mut Criterion) {
    let mut group = c.benchmark_group("register");
    group.sample_size(10);
    for n in SIZES {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("register_plugin", n), &n, |b, &n| {
            b.iter_batched(
                || (empty_registry(), configs(n)),
                |(registry, configs)| {
                    for config in configs {
                        registry.register_plugin(config).unwrap();
                    }
                    black_box(registry)
                },
                BatchSize::PerIteration,
            );
        });
        group.bench_with_input(BenchmarkId::new("register_plugins", n), &n, |b, &n| {
            b.iter_batched(
                || (empty_registry(), configs(n)),
                |(registry, configs)| {
                    registry.registrations().register_plugins(configs).unwrap();
                    black_box(registry)
                },
                BatchSize::PerIteration,
            );
        });
        group.bench_with_input(BenchmarkId::new("rwlock_hashmap", n), &n, |b, &n| {
            b.iter_batched(
                || {
                    let names: Vec<String> = (0..n).map(|i| format!("runtime-{i:06}")).collect();
                    (RwLock::new(HashMap::<String, Entry>::new()), names)
                },
                |(map, names)| {
                    for name in names {
                        let mut map = map.write().unwrap();
                        assert!(!map.contains_key(&name), "names are unique");
                        map.insert(
                            name,
                            Entry {
                                version: "1.0.0".to_owned(),
                                plugin_type: PluginType::Storage,
                                capabilities: vec!["storage".to_owned()],
                            },
                        );
                    }
                    black_box(map)
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, registration);
criterion_main!(benches);
