//! Many threads at once: registration racing discovery and instantiation.

#[path = "support/handmade.rs"]
#[macro_use]
mod handmade;

use std::sync::{Arc, Barrier};
use std::thread;

use modreg::{
    ModuleRegistry, PluginBehavior, PluginCapabilityQuery, PluginConfig, PluginDiscoveryQuery,
    PluginError, PluginType, plugin,
};

#[plugin(type = Storage, capabilities = ["kv"])]
#[derive(Default)]
struct Shelf;

impl PluginBehavior for Shelf {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

/// A runtime plugin that reports the name it was registered under.
struct Named(String);

handmade_plugin!(Named, |this| &this.0, Storage);

const THREADS: usize = 8;
const PER_THREAD: usize = 200;

#[test]
fn registration_discovery_and_instantiation_race_without_loss() {
    let registry = Arc::new(ModuleRegistry::new());
    let barrier = Arc::new(Barrier::new(THREADS * 2));
    let mut handles = Vec::new();
    for t in 0..THREADS {
        let (writer, writer_barrier) = (registry.clone(), barrier.clone());
        handles.push(thread::spawn(move || {
            let (registry, barrier) = (writer, writer_barrier);
            barrier.wait();
            for i in 0..PER_THREAD {
                let name = format!("runtime-{t}-{i}");
                registry
                    .register_plugin(
                        PluginConfig::new()
                            .with_name(&name)
                            .with_version("1.0.0")
                            .with_type(PluginType::Storage)
                            .add_capability("kv")
                            .with_constructor({
                                let name = name.clone();
                                move |_| Ok(Box::new(Named(name.clone())))
                            }),
                    )
                    .unwrap();
                if i % 4 == 0 {
                    registry.registrations().unregister_plugin(&name).unwrap();
                }
            }
        }));
        let (reader, reader_barrier) = (registry.clone(), barrier.clone());
        handles.push(thread::spawn(move || {
            let (registry, barrier) = (reader, reader_barrier);
            barrier.wait();
            for _ in 0..PER_THREAD {
                let found = registry
                    .discover_plugins_by_capabilities(
                        PluginCapabilityQuery::new().with_required_capabilities(["kv"]),
                    )
                    .unwrap();
                let mut names: Vec<&str> = found.iter().map(modreg::PluginInfo::name).collect();
                let before = names.len();
                names.dedup();
                assert_eq!(before, names.len(), "a snapshot never shows a name twice");
                assert!(names.contains(&"shelf"));
                registry.create_plugin("shelf").unwrap();
            }
        }));
    }
    for handle in handles {
        handle.join().unwrap();
    }
    let runtime = registry
        .discover_plugins(PluginDiscoveryQuery::new().with_name_prefix("runtime-"))
        .unwrap();
    assert_eq!(
        runtime.len(),
        THREADS * PER_THREAD * 3 / 4,
        "no registration lost"
    );
    for info in &runtime {
        registry.create_plugin(info.name()).unwrap();
    }
}
