//! The link-time tables that `#[plugin]`, `#[plugin_factory]` and `registry!` write, and the two
//! ways of building them.
//!
//! - `linkme` (the default): one distributed slice per table, laid out by the linker; no code
//!   runs before `main`. A table's name carries the defining crate's name (or, for the
//!   default registry, this crate's major version), so that two registries never share a
//!   link section.
//! - `inventory` (feature `inventory`): each entry is submitted by a constructor that runs
//!   before `main`; for targets `linkme` does not support, such as WebAssembly.
//!
//! Every registry has a hidden module named like its `static` `NAME` (the two live in different
//! namespaces, so a `use` of the static brings the module along, as `linkme` does with its
//! macro): `NAME::Object` (its trait object type), `NAME::table` (its table; `NAME::Entry` on
//! `inventory`). Generated code reaches them with [`submit_plugin!`](crate::__submit_plugin)
//! through any path that names the static; the default registry's are in [`default_registry`].
//! The trait object type is also a hidden alias `__modreg_NAME_Object` beside the static, which
//! the module re-exports: a `registry!` must therefore be at module level, not in a function.

use crate::typed::Registry;

#[cfg(not(any(feature = "inventory", target_family = "wasm")))]
mod backend {
    /// Declares a registry: its `static` and, in a hidden module of the same name, its trait
    /// object type and its table. Not public API.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __declare_registry {
        ($kind:ident ($($attr:tt)*) ($($vis:tt)*) $name:ident $table:ident $object:ident $meta:ident $plugin_type:literal ($($ty:tt)+) ($($m:tt)+)) => {
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            $($vis)* type $object = $($ty)+;

            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            $($vis)* type $meta = $($m)+;

            #[doc(hidden)]
            #[allow(non_snake_case)]
            $($vis)* mod $name {
                pub type Object = super::$object;

                pub type Meta = super::$meta;

                pub const PLUGIN_TYPE: &str = $plugin_type;

                pub use $crate::__private_0_1_0::in_registry as expand;

                #[$crate::__private_0_1_0::linkme::distributed_slice]
                #[linkme(crate = $crate::__private_0_1_0::linkme)]
                pub static $table: [$crate::__private_0_1_0::PluginDescriptor<Object>];

                pub use self::$table as table;

                pub fn collect() -> $crate::__private_0_1_0::Vec<&'static $crate::__private_0_1_0::PluginDescriptor<Object>> {
                    $table.iter().collect()
                }
            }

            $crate::__private_0_1_0::registry_static! {
                $kind ($($attr)*) ($($vis)*) $name ($($ty)+) ($($m)+)
            }
        };
    }

    /// Adds a plugin descriptor to a registry's table. Not public API.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __submit_plugin {
        (($($object:tt)+) ($($table:tt)+) ($($entry:tt)+) $name:ident = $value:expr) => {
            #[$crate::__private_0_1_0::linkme::distributed_slice($($table)+)]
            #[linkme(crate = $crate::__private_0_1_0::linkme)]
            static $name: $crate::__private_0_1_0::PluginDescriptor<$($object)+> = $value;
        };
    }

    /// Adds a factory descriptor to the table. Not public API.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __submit_factory {
        ($name:ident = $value:expr) => {
            #[$crate::__private_0_1_0::linkme::distributed_slice(
                $crate::__private_0_1_0::MODREG_FACTORIES_V0
            )]
            #[linkme(crate = $crate::__private_0_1_0::linkme)]
            static $name: $crate::__private_0_1_0::FactoryDescriptor = $value;
        };
    }

    use linkme::distributed_slice;

    use crate::factory_descriptor::FactoryDescriptor;

    /// Every `#[plugin_factory]` in the binary.
    #[distributed_slice]
    pub static MODREG_FACTORIES_V0: [FactoryDescriptor];

    pub(crate) fn factories() -> Vec<&'static FactoryDescriptor> {
        MODREG_FACTORIES_V0.iter().collect()
    }
}

#[cfg(any(feature = "inventory", target_family = "wasm"))]
mod backend {
    /// Declares a registry: its `static` and, in a hidden module of the same name, its trait
    /// object type and its table. Not public API.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __declare_registry {
        ($kind:ident ($($attr:tt)*) ($($vis:tt)*) $name:ident $table:ident $object:ident $meta:ident $plugin_type:literal ($($ty:tt)+) ($($m:tt)+)) => {
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            $($vis)* type $object = $($ty)+;

            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            $($vis)* type $meta = $($m)+;

            #[doc(hidden)]
            #[allow(non_snake_case)]
            $($vis)* mod $name {
                pub type Object = super::$object;

                pub type Meta = super::$meta;

                pub const PLUGIN_TYPE: &str = $plugin_type;

                pub use $crate::__private_0_1_0::in_registry as expand;

                pub struct Entry(pub &'static $crate::__private_0_1_0::PluginDescriptor<Object>);

                $crate::__private_0_1_0::inventory::collect!(Entry);

                pub fn collect() -> $crate::__private_0_1_0::Vec<&'static $crate::__private_0_1_0::PluginDescriptor<Object>> {
                    $crate::__private_0_1_0::inventory::iter::<Entry>.into_iter().map(|entry| entry.0).collect()
                }
            }

            $crate::__private_0_1_0::registry_static! {
                $kind ($($attr)*) ($($vis)*) $name ($($ty)+) ($($m)+)
            }
        };
    }

    /// Adds a plugin descriptor to a registry's table. Not public API.
    #[cfg(not(all(feature = "guest", target_family = "wasm")))]
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __submit_plugin {
        (($($object:tt)+) ($($table:tt)+) ($($entry:tt)+) $name:ident = $value:expr) => {
            static $name: $crate::__private_0_1_0::PluginDescriptor<$($object)+> = $value;
            $crate::__private_0_1_0::inventory::submit! {
                $($entry)+(&$name)
            }
        };
    }

    /// In a WebAssembly plugin module (feature `guest`, which `modreg-guest` turns on), a
    /// descriptor is made but put into no table: `modreg_guest::export!` reaches the plugins it
    /// exports without one, and a table entry would keep every method of the plugin's trait
    /// object in the module (for the default registry, all of `Plugin`'s, streams included),
    /// which every load hashes and parses and every fresh instance sets up. Not public API.
    #[cfg(all(feature = "guest", target_family = "wasm"))]
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __submit_plugin {
        (($($object:tt)+) ($($table:tt)+) ($($entry:tt)+) $name:ident = $value:expr) => {
            static $name: $crate::__private_0_1_0::PluginDescriptor<$($object)+> = $value;
        };
    }

    /// Adds a factory descriptor to the table. Not public API.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __submit_factory {
        ($name:ident = $value:expr) => {
            static $name: $crate::__private_0_1_0::FactoryDescriptor = $value;
            $crate::__private_0_1_0::inventory::submit! {
                $crate::__private_0_1_0::FactoryEntry(&$name)
            }
        };
    }

    use crate::factory_descriptor::FactoryDescriptor;

    /// One submitted factory. Not public API.
    #[doc(hidden)]
    #[derive(Debug)]
    pub struct FactoryEntry(pub &'static FactoryDescriptor);

    inventory::collect!(FactoryEntry);

    pub(crate) fn factories() -> Vec<&'static FactoryDescriptor> {
        inventory::iter::<FactoryEntry>
            .into_iter()
            .map(|entry| entry.0)
            .collect()
    }
}

#[cfg(any(feature = "inventory", target_family = "wasm"))]
pub use backend::FactoryEntry;
#[cfg(not(any(feature = "inventory", target_family = "wasm")))]
pub use backend::MODREG_FACTORIES_V0;

/// Writes a plugin's items, reached as `NAME::expand!` through the registry's hidden module: a
/// path that does not name a registry is one error at that path, and the items that would name
/// its table are not written. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __in_registry {
    ($($item:tt)*) => {
        $($item)*
    };
}

/// The `static` of a registry: a [`Registry`] or, with `meta = M`, a
/// [`MetaRegistry`](crate::MetaRegistry). Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __registry_static {
    (plain ($($attr:tt)*) ($($vis:tt)*) $name:ident ($($ty:tt)+) ($($m:tt)+)) => {
        $($attr)*
        $($vis)* static $name: $crate::Registry<$($ty)+> =
            $crate::Registry::new(::core::stringify!($name), $name::collect)
                .with_abi($crate::__private_0_1_0::abi_of!($($ty)+));
    };
    (with_meta ($($attr:tt)*) ($($vis:tt)*) $name:ident ($($ty:tt)+) ($($m:tt)+)) => {
        $($attr)*
        $($vis)* static $name: $crate::MetaRegistry<$($ty)+, $($m)+> = $crate::MetaRegistry::new(
            $crate::Registry::new(::core::stringify!($name), $name::collect)
                .with_abi($crate::__private_0_1_0::abi_of!($($ty)+)),
        );
    };
}

/// The ABI of a registry's trait object type when its trait is `#[sandboxed]`, else `None`,
/// as a `fn` a `static` can hold. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __abi_of {
    ($($ty:tt)+) => {
        || {
            #[allow(unused_imports)]
            use $crate::__private_0_1_0::{AbiOfPlain as _, AbiOfSandboxed as _};
            (&&$crate::__private_0_1_0::AbiProbe::<$($ty)+>::NEW).abi()
        }
    };
}

/// The default registry's hidden module: the table `#[plugin]` without `registry =` adds to.
#[doc(hidden)]
pub mod default_registry {
    #[cfg(any(feature = "inventory", target_family = "wasm"))]
    pub use super::inventory_table::*;
    #[cfg(not(any(feature = "inventory", target_family = "wasm")))]
    pub use super::linkme_table::*;
}

#[cfg(not(any(feature = "inventory", target_family = "wasm")))]
mod linkme_table {
    use linkme::distributed_slice;

    use crate::plugin::Plugin;
    use crate::plugin::PluginDescriptor;

    /// The trait object type of the default registry.
    pub type Object = dyn Plugin;

    /// Every `#[plugin]` of the default registry in the binary.
    #[distributed_slice]
    pub static MODREG_PLUGINS_V0: [PluginDescriptor];

    pub use self::MODREG_PLUGINS_V0 as table;

    /// Every descriptor in the table.
    pub fn collect() -> Vec<&'static PluginDescriptor> {
        MODREG_PLUGINS_V0.iter().collect()
    }
}

#[cfg(any(feature = "inventory", target_family = "wasm"))]
mod inventory_table {
    use crate::plugin::Plugin;
    use crate::plugin::PluginDescriptor;

    /// The trait object type of the default registry.
    pub type Object = dyn Plugin;

    /// One submitted plugin.
    #[derive(Debug)]
    pub struct Entry(pub &'static PluginDescriptor);

    inventory::collect!(Entry);

    /// Every descriptor submitted.
    pub fn collect() -> Vec<&'static PluginDescriptor> {
        inventory::iter::<Entry>
            .into_iter()
            .map(|entry| entry.0)
            .collect()
    }
}

/// The default registry: every `#[plugin]` without `registry =`, the specification's
/// byte processors.
pub static PLUGINS: Registry<dyn crate::plugin::Plugin> =
    Registry::new("PLUGINS", default_registry::collect).with_factories(backend::factories);

/// The name of the registration backend compiled in: `linkme` or `inventory`.
pub const BACKEND: &str = if cfg!(any(feature = "inventory", target_family = "wasm")) {
    "inventory"
} else {
    "linkme"
};
