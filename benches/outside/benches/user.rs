//! The calls a user's binary makes, measured from outside the workspace.
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use criterion::BatchSize;
use modreg::{
    AdvancedPluginMonitoringConfig, ModuleRegistry, PluginBehavior, PluginConfig, PluginError,
    PluginType, plugin,
};

#[plugin(type = DataProcessor, version = "1.0.0")]
#[derive(Default)]
struct Copy64;

impl PluginBehavior for Copy64 {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

fn user(c: &mut Criterion) {
    let data = [7u8; 64];
    let plain = ModuleRegistry::new();
    let monitored = ModuleRegistry::new();
    monitored
        .configure_advanced_plugin_monitoring(
            AdvancedPluginMonitoringConfig::new().with_plugin_metrics(true),
        )
        .unwrap();
    let metered = monitored.create_plugin("copy64").unwrap();
    let mut group = c.benchmark_group("user");
    group.bench_function("create_plugin", |b| b.iter(|| plain.create_plugin(black_box("copy64"))));
    group.bench_function("index_get", |b| b.iter(|| plain.index().get(black_box("copy64")).is_some()));
    group.bench_function("create_plugin_monitored", |b| {
        b.iter(|| monitored.create_plugin(black_box("copy64")))
    });
    group.bench_function("process_monitored", |b| b.iter(|| metered.process(black_box(&data))));
    group.finish();

    // 100,000 runtime registrations in one batch, into a fresh registry each time.
    let mut group = c.benchmark_group("user");
    group.sample_size(10);
    group.bench_function("register_plugins_100k", |b| {
        b.iter_batched(
            || {
                let configs: Vec<PluginConfig> = (0..100_000)
                    .map(|i| {
                        PluginConfig::new()
                            .with_name(format!("runtime-{i:06}"))
                            .with_version("1.0.0")
                            .with_type(PluginType::Storage)
                            .add_capability("storage")
                    })
                    .collect();
                (ModuleRegistry::new(), configs)
            },
            |(registry, configs)| {
                registry.registrations().register_plugins(configs).unwrap();
                black_box(registry)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, user);
criterion_main!(benches);
