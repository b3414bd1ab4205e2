//! Without the default feature `registered`, the bundled types are plain `PluginBehavior`
//! implementations: they work when called, and none of them is in the registry.
//! `.ci/run` runs it: `cargo test -p modreg-plugins --no-default-features --features encoding --test unregistered`.

#![cfg(all(not(feature = "registered"), feature = "encoding"))]

use modreg_core::PluginBehavior;
use modreg_host::ModuleRegistry;
use modreg_plugins::encoding::{HexDecode, HexEncode};

#[test]
fn without_registered_the_codecs_work_and_none_is_registered() {
    assert_eq!(HexEncode.process(b"\x01\xff").unwrap(), b"01ff");
    assert_eq!(HexDecode.process(b"01ff").unwrap(), b"\x01\xff");
    let registry = ModuleRegistry::new();
    for name in modreg_plugins::enabled_plugins() {
        assert!(registry.index().get(name).is_none(), "{name} is registered");
    }
}
