//! The link-time tables that `#[plugin]` and `#[plugin_factory]` add to, and the two ways of
//! building them.
//!
//! - `linkme` (the default): one distributed slice per table, laid out by the linker; no code
//!   runs before `main`. The slices' names carry the crate's major version, so that two
//!   incompatible versions of this crate in one binary keep separate tables.
//! - `inventory` (feature `inventory`): each entry is submitted by a constructor that runs
//!   before `main`; for targets `linkme` does not support, such as WebAssembly.
//!
//! Generated code calls [`submit_plugin!`](crate::__submit_plugin) and
//! [`submit_factory!`](crate::__submit_factory), whose expansion depends on the backend.

use crate::{FactoryDescriptor, PluginDescriptor};

#[cfg(not(feature = "inventory"))]
mod backend {
    use linkme::distributed_slice;

    use crate::{FactoryDescriptor, PluginDescriptor};

    /// Every `#[plugin]` in the binary.
    #[distributed_slice]
    pub static MODREG_PLUGINS_V0: [PluginDescriptor];

    /// Every `#[plugin_factory]` in the binary.
    #[distributed_slice]
    pub static MODREG_FACTORIES_V0: [FactoryDescriptor];

    pub(crate) fn plugins() -> impl Iterator<Item = &'static PluginDescriptor> {
        MODREG_PLUGINS_V0.iter()
    }

    pub(crate) fn factories() -> impl Iterator<Item = &'static FactoryDescriptor> {
        MODREG_FACTORIES_V0.iter()
    }

    /// Adds a plugin descriptor to the table. Not public API.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __submit_plugin {
        ($name:ident = $value:expr) => {
            #[$crate::__private::linkme::distributed_slice($crate::__private::MODREG_PLUGINS_V0)]
            #[linkme(crate = $crate::__private::linkme)]
            static $name: $crate::__private::PluginDescriptor = $value;
        };
    }

    /// Adds a factory descriptor to the table. Not public API.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __submit_factory {
        ($name:ident = $value:expr) => {
            #[$crate::__private::linkme::distributed_slice($crate::__private::MODREG_FACTORIES_V0)]
            #[linkme(crate = $crate::__private::linkme)]
            static $name: $crate::__private::FactoryDescriptor = $value;
        };
    }
}

#[cfg(feature = "inventory")]
mod backend {
    use crate::{FactoryDescriptor, PluginDescriptor};

    /// One submitted plugin. Not public API.
    #[doc(hidden)]
    #[derive(Debug)]
    pub struct PluginEntry(pub &'static PluginDescriptor);

    /// One submitted factory. Not public API.
    #[doc(hidden)]
    #[derive(Debug)]
    pub struct FactoryEntry(pub &'static FactoryDescriptor);

    inventory::collect!(PluginEntry);
    inventory::collect!(FactoryEntry);

    pub(crate) fn plugins() -> impl Iterator<Item = &'static PluginDescriptor> {
        inventory::iter::<PluginEntry>
            .into_iter()
            .map(|entry| entry.0)
    }

    pub(crate) fn factories() -> impl Iterator<Item = &'static FactoryDescriptor> {
        inventory::iter::<FactoryEntry>
            .into_iter()
            .map(|entry| entry.0)
    }

    /// Adds a plugin descriptor to the table. Not public API.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __submit_plugin {
        ($name:ident = $value:expr) => {
            static $name: $crate::__private::PluginDescriptor = $value;
            $crate::__private::inventory::submit! {
                $crate::__private::PluginEntry(&$name)
            }
        };
    }

    /// Adds a factory descriptor to the table. Not public API.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __submit_factory {
        ($name:ident = $value:expr) => {
            static $name: $crate::__private::FactoryDescriptor = $value;
            $crate::__private::inventory::submit! {
                $crate::__private::FactoryEntry(&$name)
            }
        };
    }
}

#[cfg(feature = "inventory")]
pub use backend::{FactoryEntry, PluginEntry};
#[cfg(not(feature = "inventory"))]
pub use backend::{MODREG_FACTORIES_V0, MODREG_PLUGINS_V0};

/// The name of the registration backend compiled in: `linkme` or `inventory`.
pub const BACKEND: &str = if cfg!(feature = "inventory") {
    "inventory"
} else {
    "linkme"
};

/// Every compiled-in plugin descriptor, in no particular order.
pub(crate) fn compiled_plugins() -> impl Iterator<Item = &'static PluginDescriptor> {
    backend::plugins()
}

/// Every compiled-in factory descriptor, in no particular order.
pub(crate) fn compiled_factories() -> impl Iterator<Item = &'static FactoryDescriptor> {
    backend::factories()
}
