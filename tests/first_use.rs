//! The first use of the table from many threads at the same moment builds one index.
//! (Alone in its test binary, so that nothing touched the table before.)

use std::sync::{Arc, Barrier};
use std::thread;

use modreg::{ModuleRegistry, PluginBehavior, PluginError, plugin};

#[plugin(type = Storage, capabilities = ["kv"])]
#[derive(Default)]
struct Shelf;

impl PluginBehavior for Shelf {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

const THREADS: usize = 8;

#[test]
fn first_use_from_many_threads_builds_one_index() {
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                barrier.wait();
                let registry = ModuleRegistry::new();
                let plugin = registry.create_plugin("shelf").unwrap();
                (
                    std::ptr::from_ref(registry.index()).addr(),
                    plugin.process(b"x").unwrap(),
                )
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(
        results.windows(2).all(|w| w[0].0 == w[1].0),
        "every registry shares one index"
    );
    assert!(results.iter().all(|r| r.1 == b"x"));
}
