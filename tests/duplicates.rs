//! Two compiled-in plugins with one name: an error naming both, never an overwrite.

use modreg::{ModuleRegistry, PluginBehavior, PluginError, PluginErrorKind};

mod first {
    use super::*;

    #[modreg::plugin(type = Storage, name = "twin")]
    #[derive(Default)]
    pub struct Twin;

    impl PluginBehavior for Twin {
        fn process(&self, _: &[u8]) -> Result<Vec<u8>, PluginError> {
            Ok(b"first".to_vec())
        }
    }
}

mod second {
    use super::*;

    #[modreg::plugin(type = Storage, name = "twin")]
    #[derive(Default)]
    pub struct Twin;

    impl PluginBehavior for Twin {
        fn process(&self, _: &[u8]) -> Result<Vec<u8>, PluginError> {
            Ok(b"second".to_vec())
        }
    }
}

#[test]
fn both_definitions_are_named() {
    let registry = ModuleRegistry::new();
    let err = registry.catalog().check().unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("duplicates::first") && text.contains("duplicates::second"),
        "{text}"
    );
    assert!(
        text.contains("duplicates.rs:8") && text.contains("duplicates.rs:22"),
        "{text}"
    );

    let created = registry.create_plugin("twin");
    assert!(matches!(
        created.as_ref().map_err(PluginError::kind),
        Err(PluginErrorKind::DuplicatePlugin { .. })
    ));
    assert!(
        registry.plugin("twin").is_none(),
        "neither definition is used"
    );
}
