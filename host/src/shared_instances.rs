//! `SharedInstances`: the instances `shared_plugin` keeps, one per plugin, tagged with the
//! configuration generation they were made under (see `shared.rs`).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use foldhash::fast::FixedState;

use modreg_core::Plugin;

/// An instance and the configuration generation it was made under.
type Kept = (u64, Arc<dyn Plugin>);

/// The kept instances, by name.
#[derive(Default)]
pub(crate) struct SharedInstances {
    kept: RwLock<HashMap<Box<str>, Kept, FixedState>>,
}

impl std::fmt::Debug for SharedInstances {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("SharedInstances")
            .field("kept", &kept.len())
            .finish()
    }
}

impl SharedInstances {
    /// The instance of `name` made under `generation`, if one was kept.
    pub(crate) fn get(&self, name: &str, generation: u64) -> Option<Arc<dyn Plugin>> {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        match kept.get(name) {
            Some((made, plugin)) if *made == generation => Some(Arc::clone(plugin)),
            _ => None,
        }
    }

    /// Keeps `plugin` for `name`, made under `generation`.
    pub(crate) fn keep(&self, name: &str, generation: u64, plugin: Arc<dyn Plugin>) {
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        kept.insert(name.into(), (generation, plugin));
    }

    /// Drops every kept instance (the configuration changed).
    pub(crate) fn clear(&self) {
        self.kept
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
