//! Another `linkme` table of the same element type in the same binary (as a second major
//! version of this crate, or an unrelated crate, would declare) does not mix with the
//! registry's: each sees only its own entries.

#![cfg(not(any(feature = "inventory", target_family = "wasm")))]
#![expect(
    unsafe_code,
    reason = "linkme's distributed_slice declares link-section statics, which the lint counts as unsafe"
)]

use linkme::distributed_slice;
use modreg::{
    ModuleRegistry, Plugin, PluginBehavior, PluginDescriptor, PluginError, PluginErrorKind,
    PluginSettings, PluginType, SourceLocation, plugin,
};

#[distributed_slice]
static OTHER_PLUGINS: [PluginDescriptor];

fn never(_: &PluginSettings) -> Result<Box<dyn Plugin>, PluginError> {
    Err(PluginError::from(PluginErrorKind::NoImplementation {
        name: "stranger".into(),
    }))
}

#[distributed_slice(OTHER_PLUGINS)]
static STRANGER: PluginDescriptor = PluginDescriptor::new(
    "stranger",
    "9.0.0",
    PluginType::Storage,
    never,
    SourceLocation::new("other", "other", "other.rs", 1),
);

#[plugin(type = Storage)]
#[derive(Default)]
struct Local;

impl PluginBehavior for Local {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

#[test]
fn tables_stay_apart() {
    let registry = ModuleRegistry::new();
    assert!(registry.plugin("local").is_some());
    assert!(registry.plugin("stranger").is_none());
    assert_eq!(OTHER_PLUGINS.len(), 1);
    assert_eq!(OTHER_PLUGINS[0].name(), "stranger");
    assert!(
        modreg::PLUGINS
            .entries()
            .iter()
            .all(|d| d.name() != "stranger")
    );
    assert_eq!(modreg::BACKEND, "linkme");
}
