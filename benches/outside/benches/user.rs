//! The calls a user's binary makes, measured from outside the workspace.
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use modreg::{AdvancedPluginMonitoringConfig, ModuleRegistry, PluginBehavior, PluginError, plugin};

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
}

criterion_group!(benches, user);
criterion_main!(benches);
