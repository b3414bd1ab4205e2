//! The registries of users' own traits a host was given
//! ([`Registrations::add_registry`](crate::Registrations::add_registry)): from then on
//! configuration files, `set_plugin_settings` and `check()` treat their plugins as they treat
//! the host's own. Seen without their trait: names, and what their index decided (duplicates,
//! order).

use std::sync::{PoisonError, RwLock};

use modreg_core::{PluginError, Registry, SourceLocation};

/// A registry of any trait, as the host sees it.
pub trait TypedRegistry: Send + Sync {
    /// The registry's name, as declared.
    fn registry_name(&self) -> &'static str;

    /// Whether a plugin of that name is in the registry.
    fn has_plugin(&self, name: &str) -> bool;

    /// Every plugin's name, sorted.
    fn plugin_names(&self) -> Vec<&'static str>;

    /// What the registry's index found wrong: a name defined twice, an impossible order.
    fn check_registry(&self) -> Result<(), PluginError>;

    /// Its trait's name and fingerprint when the trait is `#[sandboxed]`.
    fn sandboxed_trait(&self) -> Option<(&'static str, &'static str)>;

    /// Where its compiled-in plugin `name` is defined, if it has one.
    fn compiled_location(&self, name: &str) -> Option<SourceLocation>;
}

impl<T: ?Sized + 'static> TypedRegistry for Registry<T> {
    fn registry_name(&self) -> &'static str {
        self.name()
    }

    fn has_plugin(&self, name: &str) -> bool {
        self.get(name).is_some() || self.index().conflict(name).is_some()
    }

    fn plugin_names(&self) -> Vec<&'static str> {
        self.entries().iter().map(|d| d.name()).collect()
    }

    fn check_registry(&self) -> Result<(), PluginError> {
        self.check()
    }

    fn sandboxed_trait(&self) -> Option<(&'static str, &'static str)> {
        self.sandboxed()
            .map(|abi| (abi.trait_name, abi.fingerprint))
    }

    fn compiled_location(&self, name: &str) -> Option<SourceLocation> {
        self.get(name).map(modreg_core::Descriptor::location)
    }
}

/// The typed registries a host knows, each once.
#[derive(Default)]
pub(crate) struct TypedRegistries(RwLock<Vec<&'static dyn TypedRegistry>>);

impl TypedRegistries {
    /// Adds `registry` unless it is known already.
    pub(crate) fn add(&self, registry: &'static dyn TypedRegistry) {
        let mut known = self.0.write().unwrap_or_else(PoisonError::into_inner);
        let address = std::ptr::from_ref(registry).cast::<()>();
        if !known
            .iter()
            .any(|r| std::ptr::from_ref(*r).cast::<()>() == address)
        {
            known.push(registry);
        }
    }

    fn known(&self) -> Vec<&'static dyn TypedRegistry> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether a known registry has a plugin called `name`.
    pub(crate) fn has_plugin(&self, name: &str) -> bool {
        self.known().iter().any(|r| r.has_plugin(name))
    }

    /// Every plugin name of every known registry.
    pub(crate) fn plugin_names(&self) -> Vec<&'static str> {
        self.known().iter().flat_map(|r| r.plugin_names()).collect()
    }

    /// The first problem of a known registry.
    pub(crate) fn check(&self) -> Result<(), PluginError> {
        self.known().iter().try_for_each(|r| r.check_registry())
    }

    /// The known registry of the `#[sandboxed]` trait `trait_name`.
    pub(crate) fn serving(&self, trait_name: &str) -> Option<&'static dyn TypedRegistry> {
        self.known().into_iter().find(|r| {
            r.sandboxed_trait()
                .is_some_and(|(name, _)| name == trait_name)
        })
    }

    /// The known registries' names.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        self.known().iter().map(|r| r.registry_name()).collect()
    }
}

impl std::fmt::Debug for TypedRegistries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}
