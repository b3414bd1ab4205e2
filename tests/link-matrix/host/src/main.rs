//! Prints the plugins that reached this binary, then what `expect_plugins` says.

use modreg::ModuleRegistry;

// The one line that keeps a plugin crate in the binary.
use private_plugins as _;

fn main() {
    // A crate that exports a link anchor can be kept by calling it instead.
    root_plugins::link();
    let registry = ModuleRegistry::new();
    let names: Vec<&str> = registry
        .index()
        .entries()
        .iter()
        .map(|d| d.name())
        .collect();
    println!("backend={} plugins={}", modreg::BACKEND, names.join(","));
    let order: Vec<&str> = registry.index().in_order().map(|d| d.name()).collect();
    println!("order={}", order.join(","));
    let stages: Vec<String> = root_plugins::STAGES
        .call_all(|stage| stage.mark().to_owned())
        .expect("the stages are ordered");
    let labels: Vec<&str> = root_plugins::STAGES
        .entries()
        .iter()
        .map(|e| e.meta().label)
        .collect();
    println!("stages={} labels={}", stages.join(","), labels.join(","));
    match registry.catalog().expect_plugins([
        "root-one",
        "hidden-two",
        "deeply-hidden-three",
        "forgotten-four",
    ]) {
        Ok(()) => println!("expect: all present"),
        Err(error) => println!("expect: {error}"),
    }
}
