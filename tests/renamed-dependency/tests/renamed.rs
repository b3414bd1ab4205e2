//! The attributes find the runtime crate however the user's `Cargo.toml` names it, and obey
//! an explicit `crate = path`.

use registry::{ModuleRegistry, Plugin};
use renamed_dependency_check::FoundThroughRename;

#[test]
fn both_are_registered_in_the_one_table() {
    let registry = ModuleRegistry::new();
    registry
        .catalog()
        .expect_plugins(["found-through-rename", "found-through-crate-path"])
        .unwrap();
    let plugin = registry.create_plugin("found-through-crate-path").unwrap();
    assert_eq!(plugin.process(b"").unwrap(), b"path");
    assert_eq!(FoundThroughRename.capabilities(), ["renamed"]);
}
