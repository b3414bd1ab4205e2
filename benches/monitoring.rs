//! What monitoring costs a `process` call on 64 bytes, beside the same call unmonitored, in
//! one run; and what it costs `create_plugin` (the layers' answer is cached per plugin, so a
//! monitored creation is the constructor and the cached wrappers).
//!
//! Run: `cargo bench -p modreg --bench monitoring`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use modreg::{
    AdvancedPluginMonitoringConfig, ModuleRegistry, Plugin, PluginBehavior, PluginError, plugin,
};

/// Copies its input: the cheapest real work, so that overhead shows.
#[plugin(type = DataProcessor, version = "1.0.0")]
#[derive(Default)]
struct Copy64;

impl PluginBehavior for Copy64 {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

fn registry(config: Option<AdvancedPluginMonitoringConfig>) -> Box<dyn Plugin> {
    let registry = ModuleRegistry::new();
    if let Some(config) = config {
        registry
            .configure_advanced_plugin_monitoring(config)
            .unwrap();
    }
    registry.create_plugin("copy64").unwrap()
}

fn overhead(c: &mut Criterion) {
    let data = [7u8; 64];
    let mut group = c.benchmark_group("process_64_bytes");
    let plain = registry(None);
    group.bench_function("unmonitored", |b| {
        b.iter(|| plain.process(black_box(&data)))
    });
    let off = registry(Some(
        AdvancedPluginMonitoringConfig::new().with_plugin_metrics(false),
    ));
    group.bench_function("monitoring_off", |b| {
        b.iter(|| off.process(black_box(&data)))
    });
    let counters = registry(Some(
        AdvancedPluginMonitoringConfig::new().with_plugin_metrics(true),
    ));
    group.bench_function("metrics", |b| b.iter(|| counters.process(black_box(&data))));
    let latency = registry(Some(
        AdvancedPluginMonitoringConfig::new()
            .with_plugin_metrics(true)
            .with_performance_metrics(true),
    ));
    group.bench_function("metrics_and_latency", |b| {
        b.iter(|| latency.process(black_box(&data)))
    });
    let direct = Copy64;
    group.bench_function("direct_call", |b| {
        b.iter(|| PluginBehavior::process(&direct, black_box(&data)))
    });
    group.finish();
}

/// The same call made by two threads at once on one shared monitored instance: what the
/// counters cost when callers would contend for them. Each iteration is one call on each
/// thread (wall time).
fn two_threads(c: &mut Criterion) {
    let data = [7u8; 64];
    let mut group = c.benchmark_group("process_64_bytes_2_threads");
    let configs = [
        ("unmonitored", None),
        (
            "metrics",
            Some(AdvancedPluginMonitoringConfig::new().with_plugin_metrics(true)),
        ),
        (
            "metrics_and_latency",
            Some(
                AdvancedPluginMonitoringConfig::new()
                    .with_plugin_metrics(true)
                    .with_performance_metrics(true),
            ),
        ),
    ];
    for (name, config) in configs {
        let plugin = registry(config);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = std::time::Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..2 {
                        scope.spawn(|| {
                            for _ in 0..iters {
                                let _ = black_box(plugin.process(black_box(&data)));
                            }
                        });
                    }
                });
                start.elapsed()
            });
        });
    }
    group.finish();
}

/// `create_plugin` of one compiled-in plugin, unmonitored and with metrics on, in one run.
fn creation(c: &mut Criterion) {
    let mut group = c.benchmark_group("create_plugin");
    let plain = ModuleRegistry::new();
    group.bench_function("unmonitored", |b| {
        b.iter(|| plain.create_plugin(black_box("copy64")))
    });
    let monitored = ModuleRegistry::new();
    monitored
        .configure_advanced_plugin_monitoring(
            AdvancedPluginMonitoringConfig::new().with_plugin_metrics(true),
        )
        .unwrap();
    group.bench_function("metrics", |b| {
        b.iter(|| monitored.create_plugin(black_box("copy64")))
    });
    group.finish();
}

criterion_group!(benches, overhead, two_threads, creation);
criterion_main!(benches);
