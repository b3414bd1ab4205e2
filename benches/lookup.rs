//! Lookup by name, by type and by capability, and `create_plugin`, at 10, 1,000 and 10,000
//! plugins, each beside what a user would otherwise write:
//!
//! - `hashmap`: a `HashMap<String, fn() -> Box<dyn Plugin>>` registry (std hasher);
//! - `linear`: a scan with string comparison over every entry, as iterating `inventory` does;
//! - `direct`: `Box::new` of the plugin, for `create_plugin`.
//!
//! The tables are made in memory with the same `const` builder `#[plugin]` expands to, and
//! indexed by the same `PluginIndex` the registry builds from the link-time table.
//!
//! `typed_create` does the same for a registry of a user's own trait (`registry!`), with a real
//! `#[plugin]` in its link-time table.
//!
//! Run: `cargo bench -p modreg --bench lookup`.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use modreg::{
    ModuleRegistry, Plugin, PluginCapabilityQuery, PluginDescriptor, PluginError, PluginIndex,
    PluginSettings, PluginType, SourceLocation,
};

const SIZES: [usize; 3] = [10, 1_000, 10_000];
const TYPES: [PluginType; 4] = [
    PluginType::DataProcessor,
    PluginType::Analyzer,
    PluginType::Storage,
    PluginType::Security,
];
const HERE: SourceLocation = SourceLocation {
    crate_name: "bench",
    module_path: "bench",
    file: "lookup.rs",
    line: 1,
};

/// A plugin with a little state, so that `Box::new` allocates as a real plugin's would.
#[derive(Default)]
struct BenchPlugin {
    key: u64,
}

impl Plugin for BenchPlugin {
    fn name(&self) -> &str {
        "bench"
    }
    fn version(&self) -> &str {
        "1.0.0"
    }
    fn plugin_type(&self) -> PluginType {
        PluginType::DataProcessor
    }
    fn capabilities(&self) -> &[String] {
        &[]
    }
    fn initialize(&mut self) -> Result<(), PluginError> {
        Ok(())
    }
    fn cleanup(&mut self) -> Result<(), PluginError> {
        Ok(())
    }
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let key = self.key.to_le_bytes()[0];
        Ok(data.iter().map(|b| b ^ key).collect())
    }
}

fn construct(_: &PluginSettings) -> Result<Box<dyn Plugin>, PluginError> {
    Ok(Box::new(BenchPlugin::default()))
}

fn construct_plain() -> Box<dyn Plugin> {
    Box::new(BenchPlugin::default())
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// `n` descriptors; plugin `i` has capabilities `cap-{i%7}`, `cap-{7+i%11}`, `cap-{18+i%13}`,
/// so the two-capability query `cap-0 & cap-7` matches one plugin in 77.
fn table(n: usize) -> &'static [PluginDescriptor] {
    let descriptors: Vec<PluginDescriptor> = (0..n)
        .map(|i| {
            let caps: &'static [&'static str] = Box::leak(Box::new([
                leak(format!("cap-{}", i % 7)),
                leak(format!("cap-{}", 7 + i % 11)),
                leak(format!("cap-{}", 18 + i % 13)),
            ]));
            PluginDescriptor::new(
                leak(format!("plugin-{i:05}")),
                "1.0.0",
                TYPES[i % TYPES.len()],
                construct,
                HERE,
            )
            .with_capabilities(caps)
            // As `#[plugin]` without `config` writes it.
            .with_infallible_constructor(construct_plain)
        })
        .collect();
    Box::leak(descriptors.into_boxed_slice())
}

struct Fixture {
    table: &'static [PluginDescriptor],
    registry: ModuleRegistry,
    hashmap: HashMap<String, fn() -> Box<dyn Plugin>>,
    probe: String,
}

fn fixture(n: usize) -> Fixture {
    let table = table(n);
    let registry = ModuleRegistry::with_index(PluginIndex::build(table.iter(), []));
    let hashmap = table
        .iter()
        .map(|d| {
            (
                d.name().to_owned(),
                construct_plain as fn() -> Box<dyn Plugin>,
            )
        })
        .collect();
    Fixture {
        table,
        registry,
        hashmap,
        probe: format!("plugin-{:05}", n / 2),
    }
}

fn linear_by_name<'a>(table: &'a [PluginDescriptor], name: &str) -> Option<&'a PluginDescriptor> {
    table.iter().find(|d| d.name() == name)
}

fn by_name(c: &mut Criterion) {
    let mut group = c.benchmark_group("name_lookup");
    for n in SIZES {
        let f = fixture(n);
        group.bench_with_input(BenchmarkId::new("registry", n), &f.probe, |b, name| {
            b.iter(|| {
                f.registry
                    .index()
                    .get(black_box(name))
                    .map(PluginDescriptor::name)
            });
        });
        group.bench_with_input(BenchmarkId::new("hashmap", n), &f.probe, |b, name| {
            b.iter(|| {
                f.hashmap
                    .get_key_value(black_box(name.as_str()))
                    .map(|(k, _)| k.len())
            });
        });
        group.bench_with_input(BenchmarkId::new("linear", n), &f.probe, |b, name| {
            b.iter(|| linear_by_name(f.table, black_box(name)).map(PluginDescriptor::name));
        });
    }
    group.finish();
}

fn by_type(c: &mut Criterion) {
    let mut group = c.benchmark_group("type_lookup");
    for n in SIZES {
        let f = fixture(n);
        let ty = PluginType::Storage;
        group.bench_with_input(BenchmarkId::new("registry", n), &ty, |b, ty| {
            b.iter(|| {
                f.registry
                    .index()
                    .of_type(*black_box(ty))
                    .collect::<Vec<_>>()
            });
        });
        group.bench_with_input(BenchmarkId::new("linear", n), &ty, |b, ty| {
            b.iter(|| {
                f.table
                    .iter()
                    .filter(|d| d.plugin_type() == *black_box(ty))
                    .collect::<Vec<_>>()
            });
        });
    }
    group.finish();
}

fn by_capability(c: &mut Criterion) {
    let mut group = c.benchmark_group("capability_query");
    let required = ["cap-0", "cap-7"];
    for n in SIZES {
        let f = fixture(n);
        group.bench_with_input(
            BenchmarkId::new("registry_index", n),
            &required,
            |b, req| {
                b.iter(|| f.registry.index().with_capabilities(black_box(req)));
            },
        );
        group.bench_with_input(
            BenchmarkId::new("registry_discover", n),
            &required,
            |b, req| {
                b.iter(|| {
                    f.registry
                        .discover_plugins_by_capabilities(
                            PluginCapabilityQuery::new()
                                .with_required_capabilities(*black_box(req)),
                        )
                        .map(|found| found.len())
                });
            },
        );
        group.bench_with_input(BenchmarkId::new("linear", n), &required, |b, req| {
            b.iter(|| {
                f.table
                    .iter()
                    .filter(|d| {
                        black_box(req)
                            .iter()
                            .all(|r| d.capabilities().iter().any(|c| c == r))
                    })
                    .collect::<Vec<_>>()
            });
        });
    }
    group.finish();
}

fn create(c: &mut Criterion) {
    let mut group = c.benchmark_group("create_plugin");
    for n in SIZES {
        let f = fixture(n);
        group.bench_with_input(BenchmarkId::new("registry", n), &f.probe, |b, name| {
            b.iter(|| f.registry.create_plugin(black_box(name)));
        });
        let resolved = f.registry.index().get(&f.probe).unwrap();
        group.bench_with_input(BenchmarkId::new("registry_resolved", n), &(), |b, ()| {
            b.iter(|| black_box(resolved).instantiate_default());
        });
        group.bench_with_input(BenchmarkId::new("hashmap", n), &f.probe, |b, name| {
            b.iter(|| f.hashmap.get(black_box(name.as_str())).map(|make| make()));
        });
        group.bench_with_input(BenchmarkId::new("direct_fn_pointer", n), &(), |b, ()| {
            let make: fn() -> Box<dyn Plugin> = construct_plain;
            b.iter(|| black_box(make)());
        });
        group.bench_with_input(BenchmarkId::new("direct", n), &(), |b, ()| {
            b.iter(|| Box::new(black_box(BenchPlugin::default())) as Box<dyn Plugin>);
        });
    }
    group.finish();
}

/// A registry of a user's own trait, as `registry!` declares it, with one real `#[plugin]`.
pub trait Shape: Send + Sync {
    fn sides(&self) -> u64;
}

modreg::registry!(SHAPES: dyn Shape);

#[modreg::plugin(registry = SHAPES)]
#[derive(Default)]
struct Triangle {
    key: u64,
}

impl Shape for Triangle {
    fn sides(&self) -> u64 {
        3 + self.key
    }
}

fn make_triangle() -> Box<dyn Shape> {
    Box::new(Triangle::default())
}

/// `SHAPES.create(name)` beside a `HashMap<String, fn() -> Box<dyn Shape>>` and `Box::new`.
fn typed_create(c: &mut Criterion) {
    let mut group = c.benchmark_group("typed_create");
    let name = "triangle".to_owned();
    group.bench_function("registry", |b| {
        b.iter(|| SHAPES.create(black_box(&name)));
    });
    let resolved = SHAPES.get(&name).unwrap();
    group.bench_function("registry_resolved", |b| {
        b.iter(|| black_box(resolved).instantiate_default());
    });
    let map: HashMap<String, fn() -> Box<dyn Shape>> =
        [(name.clone(), make_triangle as fn() -> Box<dyn Shape>)].into();
    group.bench_function("hashmap", |b| {
        b.iter(|| map.get(black_box(name.as_str())).map(|make| make()));
    });
    group.bench_function("direct", |b| {
        b.iter(|| Box::new(black_box(Triangle::default())) as Box<dyn Shape>);
    });
    group.finish();
}

criterion_group!(
    benches,
    by_name,
    by_type,
    by_capability,
    create,
    typed_create
);
criterion_main!(benches);
