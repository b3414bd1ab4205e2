//! A plugin at the crate root, and a link anchor.

use modreg::{PluginBehavior, PluginError, plugin};

modreg::link_anchor!();

/// At the crate root.
#[plugin(type = Storage, name = "root-one")]
#[derive(Default)]
pub struct RootOne;

impl PluginBehavior for RootOne {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}
