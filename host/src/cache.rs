//! The discovery cache used when `plugin_caching` is on.
//!
//! Results are keyed by the query itself (not a rendering of it) and kept as one shared slice
//! per query, dropped whenever the registry changes, so a cached answer is always the answer
//! the registry would compute now.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::info::PluginInfo;
use crate::query::{PluginCapabilityQuery, PluginDiscoveryQuery};
use modreg_core::PluginError;

/// How the discovery cache has been used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Queries answered from the cache.
    pub hits: u64,
    /// Queries computed (and then cached).
    pub misses: u64,
}

/// A discovery query, as the cache keys it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum QueryKey {
    /// `discover_plugins`.
    Discovery(PluginDiscoveryQuery),
    /// `discover_plugins_by_capabilities`.
    Capabilities(PluginCapabilityQuery),
}

#[derive(Debug, Default)]
pub(crate) struct DiscoveryCache {
    entries: Mutex<HashMap<QueryKey, Arc<[PluginInfo]>>>,
    generation: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl DiscoveryCache {
    /// Forgets every result; called after each change to the registry.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<QueryKey, Arc<[PluginInfo]>>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached result for `key`, shared, or `compute`'s, cached unless the registry
    /// changed meanwhile.
    pub(crate) fn get_or_compute(
        &self,
        key: QueryKey,
        compute: impl FnOnce() -> Result<Vec<PluginInfo>, PluginError>,
    ) -> Result<Arc<[PluginInfo]>, PluginError> {
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(found) = self.lock().get(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Arc::clone(found));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let found: Arc<[PluginInfo]> = compute()?.into();
        let mut entries = self.lock();
        if self.generation.load(Ordering::Acquire) == generation {
            entries.insert(key, Arc::clone(&found));
        }
        Ok(found)
    }

    /// How many times the registry changed (each change forgets every result).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}
