//! A plugin crate that names `modreg` as `registry` in its `Cargo.toml`.

use registry::{PluginBehavior, PluginError};

/// Found through the renamed dependency, named with `crate = ...` as `linkme` asks.
#[registry::plugin(type = Storage, capabilities = ["renamed"], crate = registry)]
#[derive(Debug, Default)]
pub struct FoundThroughRename;

impl PluginBehavior for FoundThroughRename {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

mod elsewhere {
    pub use registry as runtime;
}

/// Found through an explicit `crate = path`.
#[registry::plugin(type = Storage, crate = elsewhere::runtime)]
#[derive(Debug, Default)]
pub struct FoundThroughCratePath;

impl PluginBehavior for FoundThroughCratePath {
    fn process(&self, _: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(b"path".to_vec())
    }
}
