//! `Overlay`: what was registered, removed or configured at run time, as one immutable
//! snapshot that a registry swaps atomically (see `registry.rs`).

use std::sync::Arc;

use crate::configuration::{EnvironmentPluginConfiguration, Switches};
use crate::factory::PluginFactoryConfig;
use crate::persistent::{PersistentMap, PersistentSet};
use crate::runtime::RuntimeEntry;
use crate::sandboxed::SandboxedRegistration;
use modreg_core::FactoryDescriptor;
use modreg_core::PluginSettings;

/// What was registered, removed or configured at run time.
///
/// Its maps are persistent (`persistent.rs`): a writer's copy shares every node it does not change,
/// so a registration costs O(log n) however many entries there are, and readers keep the
/// snapshot they loaded.
#[derive(Clone, Default)]
pub(crate) struct Overlay {
    /// Runtime entries by name; they shadow compiled-in plugins of the same name.
    pub(crate) entries: PersistentMap<Arc<RuntimeEntry>>,
    /// Plugins of `#[sandboxed]` traits by name, registered by a source (`sandboxed.rs`).
    pub(crate) sandboxed: PersistentMap<Arc<SandboxedRegistration>>,
    /// By source (a WebAssembly module), the names its last batch registered: where its
    /// entries are found without walking every entry. A name here another hand removed or
    /// replaced since is not the source's any more: each entry's own `source` says
    /// ([`still_held`](Self::still_held)), so this is a list of candidates, replaced whole by
    /// the source's next batch and dropped when it is withdrawn.
    pub(crate) sources: PersistentMap<Arc<[String]>>,
    /// Runtime mocks by the name they stand in for (`mock_of`).
    pub(crate) mocks: PersistentMap<String>,
    /// Compiled-in plugins that were unregistered.
    pub(crate) removed: PersistentSet,
    /// Runtime factory names mapped to compiled-in factories.
    pub(crate) factories: PersistentMap<(PluginFactoryConfig, &'static FactoryDescriptor)>,
    /// Settings handed to plugins at construction, by plugin name.
    pub(crate) settings: PersistentMap<PluginSettings>,
    /// The switches set by `configure_*`, before the environment's.
    pub(crate) base_flags: Switches,
    /// Environment profiles by name.
    pub(crate) environments: PersistentMap<EnvironmentPluginConfiguration>,
    /// The active environment, if any.
    pub(crate) environment: Option<String>,
    /// `base_flags` with the active environment's applied: what the registry obeys.
    pub(crate) flags: Switches,
}

impl Overlay {
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
            && self.sandboxed.is_empty()
            && self.removed.is_empty()
            && self.factories.is_empty()
            && self.settings.is_empty()
            && self.environment.is_none()
            && self.flags.is_default()
    }

    /// Of `names` (a source's last batch), those whose runtime entry and those whose
    /// sandboxed entry `source` still holds.
    pub(crate) fn still_held(&self, names: &[String], source: &str) -> (Vec<String>, Vec<String>) {
        let holds = |of: Option<&Arc<str>>| of.is_some_and(|of| &**of == source);
        let (mut plain, mut typed) = (Vec::new(), Vec::new());
        for name in names {
            if (self.entries.get(name)).is_some_and(|e| holds(e.source.as_ref())) {
                plain.push(name.clone());
            }
            if (self.sandboxed.get(name)).is_some_and(|e| holds(e.source.as_ref())) {
                typed.push(name.clone());
            }
        }
        (plain, typed)
    }

    /// The active environment's profile.
    pub(crate) fn profile(&self) -> Option<&EnvironmentPluginConfiguration> {
        self.environment
            .as_ref()
            .and_then(|e| self.environments.get(e))
    }

    /// Recomputes `flags` from `base_flags` and the active environment.
    pub(crate) fn refresh_flags(&mut self) {
        let mut flags = self.base_flags.clone();
        if let Some(profile) = self.profile() {
            profile.apply(&mut flags);
        }
        self.flags = flags;
    }

    /// Indexes `name` as a mock if its entry says `mock_of`.
    pub(crate) fn remember_mock(&mut self, name: &str) {
        if let Some(real) = self.entries.get(name).and_then(|e| e.mock_of.clone()) {
            self.mocks.insert(real, name.to_owned());
        }
    }

    /// Drops the mock index entry of a replaced or removed runtime entry.
    pub(crate) fn forget_mock(&mut self, entry: &RuntimeEntry) {
        if let Some(real) = &entry.mock_of
            && self.mocks.get(real) == Some(&entry.name)
        {
            self.mocks.remove(real);
        }
    }

    pub(crate) fn hides(&self, name: &str) -> bool {
        self.removed.contains(name) || self.entries.contains_key(name)
    }
}
