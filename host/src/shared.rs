//! Shared instances: one `Arc<dyn Plugin>` per plugin while instance sharing is on.
//!
//! `process` takes `&self` and every plugin is `Send + Sync`, so one instance can serve every
//! caller. With the host's instance-sharing switch on (the advanced configuration's, which
//! `with_instance_sharing(true)` sets) the registry keeps the first instance it makes of each
//! plugin and hands out clones of it until the configuration changes; with it off, each call
//! makes a new one. Either way the instance comes from `create_plugin`, so every policy
//! (permissions, the sandbox, monitoring) applies to it as to any other.

use std::sync::Arc;

use crate::registry::ModuleRegistry;
use modreg_core::Plugin;
use modreg_core::PluginError;

/// One shared instance of a plugin, kept by the caller for a hot loop: see
/// [`crate::Instances::shared_handle`].
///
/// [`get`](Self::get) checks with one atomic load that the registry's configuration is the one
/// the instance was made under, and hands out a reference to it: no lock, no hash, no
/// reference count. After any change (a switch, a grant, a registration or removal) the next
/// `get` takes a new instance through [`crate::Instances::shared_plugin`], so every policy
/// applies to it as to any other, and a refusal is returned instead of the old instance.
///
/// ```
/// use modreg_core::{plugin, PluginBehavior, PluginError};
/// use modreg_host::ModuleRegistry;
///
/// #[plugin(type = Encoding)]
/// #[derive(Default)]
/// struct SharedShout;
///
/// impl PluginBehavior for SharedShout {
///     fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
///         Ok(data.to_ascii_uppercase())
///     }
/// }
///
/// let registry = ModuleRegistry::new();
/// let mut shout = registry.instances().shared_handle("shared-shout")?;
/// for word in [&b"a"[..], b"b"] {
///     assert_eq!(shout.get()?.process(word)?, word.to_ascii_uppercase());
/// }
/// # Ok::<(), PluginError>(())
/// ```
pub struct SharedHandle<'r> {
    registry: &'r ModuleRegistry,
    name: &'r str,
    /// The configuration generation `instance` was taken under.
    generation: u64,
    instance: Arc<dyn Plugin>,
}

impl std::fmt::Debug for SharedHandle<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedHandle")
            .field("name", &self.name)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl SharedHandle<'_> {
    /// The plugin's name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The kept instance, or a new one (or the refusal) if the configuration changed since it
    /// was taken.
    #[inline]
    pub fn get(&mut self) -> Result<&Arc<dyn Plugin>, PluginError> {
        if self.registry.interests.generation() != self.generation {
            self.refresh()?;
        }
        Ok(&self.instance)
    }

    #[cold]
    fn refresh(&mut self) -> Result<(), PluginError> {
        // Read before taking the instance: a change in between leaves the handle one
        // generation behind, so the next `get` takes yet another instance (never the reverse).
        let generation = self.registry.interests.generation();
        self.instance = self.registry.shared_plugin(self.name)?;
        self.generation = generation;
        Ok(())
    }
}

impl ModuleRegistry {
    /// What [`Instances::shared_handle`](crate::Instances::shared_handle) does.
    pub(crate) fn shared_handle<'r>(
        &'r self,
        name: &'r str,
    ) -> Result<SharedHandle<'r>, PluginError> {
        let generation = self.interests.generation();
        let instance = self.shared_plugin(name)?;
        Ok(SharedHandle {
            registry: self,
            name,
            generation,
            instance,
        })
    }

    /// What [`Instances::shared_plugin`](crate::Instances::shared_plugin) does.
    pub(crate) fn shared_plugin(&self, name: &str) -> Result<Arc<dyn Plugin>, PluginError> {
        let generation = self.interests.generation();
        if let Some(kept) = self.shared.get(name, generation) {
            return Ok(kept);
        }
        let sharing = self.snapshot().flags.instance_sharing;
        // An instance shared between callers is nobody's: it must not carry the principal
        // that happened to ask first (state kept per principal would leak through it).
        let plugin: Arc<dyn Plugin> = if sharing {
            crate::acting::on_nobodys_behalf(|| self.create_plugin(name))?.into()
        } else {
            self.create_plugin(name)?.into()
        };
        if sharing {
            self.shared.keep(name, generation, Arc::clone(&plugin));
        }
        Ok(plugin)
    }
}
