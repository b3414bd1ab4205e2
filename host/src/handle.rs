//! Resolved handles: a plugin looked up once, created many times.
//!
//! `registry.instances().handle("gzip-compress")?` does the name lookup; `handle.create()` is then
//! `create_plugin` without it. Nothing is skipped that `create_plugin` would do: the handle
//! reads the registry's per-plugin decision on every call, so a configuration change (a
//! switch, a runtime registration that shadows the name, a removal) applies to the next
//! `create()` as it would to the next `create_plugin`.

use std::sync::Arc;

use crate::registry::ModuleRegistry;
use modreg_core::PluginError;
use modreg_core::{Plugin, PluginDescriptor};

/// A plugin of a [`ModuleRegistry`], resolved by name once.
///
/// ```
/// use modreg_core::{plugin, PluginBehavior, PluginError};
/// use modreg_host::ModuleRegistry;
///
/// #[plugin(type = Encoding)]
/// #[derive(Default)]
/// struct LoudEcho;
///
/// impl PluginBehavior for LoudEcho {
///     fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
///         Ok(data.to_ascii_uppercase())
///     }
/// }
///
/// let registry = ModuleRegistry::new();
/// let shout = registry.instances().handle("loud-echo")?;
/// for word in [&b"a"[..], b"b"] {
///     assert_eq!(shout.create()?.process(word)?, word.to_ascii_uppercase());
/// }
/// # Ok::<(), PluginError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct PluginHandle<'r> {
    registry: &'r ModuleRegistry,
    name: &'r str,
    /// The compiled-in plugin's position in the index and its entry; `None` for a runtime
    /// registration.
    found: Option<(u32, &'static PluginDescriptor)>,
}

impl<'r> PluginHandle<'r> {
    /// The plugin's name.
    pub fn name(&self) -> &'r str {
        self.name
    }

    /// A new instance, exactly as [`ModuleRegistry::create_plugin`] would make it now.
    #[inline]
    pub fn create(&self) -> Result<Box<dyn Plugin>, PluginError> {
        match self.found {
            Some((position, descriptor)) => {
                self.registry.create_at(position, descriptor, self.name)
            }
            None => self.registry.create_plugin(self.name),
        }
    }

    /// An instance to share, as [`crate::Instances::shared_plugin`] gives it.
    pub fn shared(&self) -> Result<Arc<dyn Plugin>, PluginError> {
        self.registry.shared_plugin(self.name)
    }
}

impl ModuleRegistry {
    /// What [`Instances::handle`](crate::Instances::handle) does.
    pub(crate) fn handle<'r>(&'r self, name: &'r str) -> Result<PluginHandle<'r>, PluginError> {
        if self.plugin(name).is_none() {
            return Err(self.not_found(name));
        }
        let found = self.index().find(name);
        Ok(PluginHandle {
            registry: self,
            name,
            found,
        })
    }
}
