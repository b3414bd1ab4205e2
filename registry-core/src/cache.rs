//! The discovery cache used when `plugin_caching` is on.
//!
//! Results are keyed by the query and dropped whenever the registry changes, so a cached
//! answer is always the answer the registry would compute now.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::PluginError;
use crate::info::PluginInfo;

/// How the discovery cache has been used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Queries answered from the cache.
    pub hits: u64,
    /// Queries computed (and then cached).
    pub misses: u64,
}

#[derive(Debug, Default)]
pub(crate) struct DiscoveryCache {
    entries: Mutex<HashMap<String, Vec<PluginInfo>>>,
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<PluginInfo>>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached result for `key`, or `compute`'s, cached unless the registry changed
    /// meanwhile.
    pub(crate) fn get_or_compute(
        &self,
        key: String,
        compute: impl FnOnce() -> Result<Vec<PluginInfo>, PluginError>,
    ) -> Result<Vec<PluginInfo>, PluginError> {
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(found) = self.lock().get(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(found.clone());
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let found = compute()?;
        let mut entries = self.lock();
        if self.generation.load(Ordering::Acquire) == generation {
            entries.insert(key, found.clone());
        }
        Ok(found)
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}
