//! A plugin at the crate root, and a link anchor.

use modreg::{PluginBehavior, PluginError, plugin};

modreg::link_anchor!();

/// A registry of the application's own trait, declared in a module and re-exported: plugin
/// crates name it by the re-export.
pub mod api {
    /// One stage of a pipeline.
    pub trait Stage: Send + Sync {
        /// The stage's mark.
        fn mark(&self) -> &'static str;
    }

    /// What a stage declares about itself, read without creating it.
    #[derive(Debug)]
    pub struct StageMeta {
        /// A short label.
        pub label: &'static str,
    }

    modreg::registry!(pub STAGES: dyn Stage, meta = StageMeta);
}

pub use api::{STAGES, Stage, StageMeta};

/// The last stage, whatever the others' priorities.
#[plugin(registry = STAGES, after = "middle", meta = StageMeta { label: "z" })]
#[derive(Default)]
pub struct Last;

impl Stage for Last {
    fn mark(&self) -> &'static str {
        "last"
    }
}

/// At the crate root; runs after `hidden-two`.
#[plugin(type = Storage, name = "root-one", after = "hidden-two")]
#[derive(Default)]
pub struct RootOne;

impl PluginBehavior for RootOne {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}
