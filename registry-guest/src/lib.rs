//! Build `#[plugin]` structs into a WebAssembly module that a modreg host loads at run time.
//!
//! Write the plugins as for a native build, then name them once with [`export!`] in a crate
//! built as a `cdylib` for `wasm32-unknown-unknown`:
//!
//! ```
//! use modreg_core::{plugin, PluginBehavior, PluginError};
//!
//! #[plugin(type = Encoding, capabilities = ["encoding", "rot13"])]
//! #[derive(Default)]
//! pub struct Rot13;
//!
//! impl PluginBehavior for Rot13 {
//!     fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
//!         Ok(data.iter().map(|b| match b {
//!             b'a'..=b'z' => (b - b'a' + 13) % 26 + b'a',
//!             b'A'..=b'Z' => (b - b'A' + 13) % 26 + b'A',
//!             _ => *b,
//!         }).collect())
//!     }
//! }
//!
//! modreg_guest::export!(Rot13);
//! ```
//!
//! On a WebAssembly target, `export!` writes the plugins' table entries (name, version, type,
//! capabilities, description, permissions) into the module's `modreg.plugins` custom section at
//! compile time, so a host lists and discovers the module without running any of it, and
//! exports the calls of [`modreg_core::wasm_abi`]. On any other target it does nothing, and the
//! same source is an ordinary native plugin.
//!
//! A guest has no capability it was not granted: no WASI, no clock, no file, no network. What
//! the host grants (a plugin must also declare the permission) it reaches through
//! [`read_file`] (permission `file.read`: a read-only directory the host chose) and [`env_var`]
//! (permission `env.name`: the variable `NAME`, upper-cased).

#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(doctest, doc = include_str!("../README.md"))]

mod capability;
mod host_call;
mod runtime;

pub use crate::capability::{CapabilityError, env_var, read_file};
pub use crate::host_call::{HostCallError, host_call, host_call_typed};

/// Exports the listed `#[plugin]` types from this WebAssembly module, in this order.
///
/// Use it once per module, at the crate root of a `cdylib`. Each type must be a `#[plugin]`
/// of the default registry with a `Default` (or settings-free) constructor.
///
/// A plugin may name the limits it asks to run under, in braces after it; a host applies the
/// tighter of its own and these (they narrow, never widen), and a name it does not know is a
/// compile error here:
///
/// ```ignore
/// modreg_guest::export!(Rot13 { output_bytes: 1048576, time_budget_ms: 100 }, Other);
/// ```
///
/// Limits: `time_budget_ms`, `memory_bytes`, `output_bytes`, `fuel`, each a positive integer
/// literal. A plugin with limits is written as a version-2 record (`docs/wasm-abi.md`).
///
/// Plugins of a user's own `#[sandboxed]` trait (`modreg_core::typed_sandbox`) are exported
/// with the trait object type first; their records are version 3, carrying the trait's name
/// and fingerprint, and their calls are typed:
///
/// ```ignore
/// modreg_guest::export!(dyn Shapes: Geometry, Strict { fuel: 1000000 });
/// ```
#[macro_export]
macro_rules! export {
    (dyn $trait:path : $($plugin:ty $({ $($limit:ident : $value:literal),* $(,)? })?),+ $(,)?) => {
        const _: () = {
            type Object = dyn $trait;
            const ENTRIES: &[&$crate::__private::PluginDescriptor<Object>] = &[
                $(<$plugin as $crate::__private::HasDescriptor<Object>>::DESCRIPTOR),+
            ];
            $crate::__export_limits!($($plugin $({ $($limit : $value),* })?),+);
            const TRAIT: &str = <Object as $crate::__private::SandboxedTrait>::TRAIT_NAME;
            const FINGERPRINT: &str = <Object as $crate::__private::SandboxedTrait>::FINGERPRINT;
            const LEN: usize = $crate::__private::metadata_len_typed(ENTRIES, LIMITS, TRAIT, FINGERPRINT);

            #[cfg(target_family = "wasm")]
            #[allow(unsafe_code)]
            #[unsafe(link_section = "modreg.plugins")]
            #[used]
            static METADATA: [u8; LEN] = $crate::__private::metadata_typed(ENTRIES, LIMITS, TRAIT, FINGERPRINT);

            ::std::thread_local! {
                static INSTANCES: ::core::cell::RefCell<::std::vec::Vec<::core::option::Option<::std::boxed::Box<Object>>>> =
                    const { ::core::cell::RefCell::new(::std::vec::Vec::new()) };
            }

            #[cfg(target_family = "wasm")]
            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn modreg_alloc(len: u32) -> u32 {
                $crate::__private::alloc(len)
            }

            #[cfg(target_family = "wasm")]
            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn modreg_process(plugin: u32, ptr: u32, len: u32) -> u32 {
                $crate::__private::process_typed(ENTRIES, &INSTANCES, plugin, ptr, len)
            }
        };
    };
    ($($plugin:ty $({ $($limit:ident : $value:literal),* $(,)? })?),+ $(,)?) => {
        const _: () = {
            const ENTRIES: &[&$crate::__private::PluginDescriptor] = &[
                $(<$plugin as $crate::__private::HasDescriptor<dyn $crate::__private::Plugin>>::DESCRIPTOR),+
            ];
            $crate::__export_limits!($($plugin $({ $($limit : $value),* })?),+);
            const LEN: usize = $crate::__private::metadata_len_limited(ENTRIES, LIMITS);

            #[cfg(target_family = "wasm")]
            #[allow(unsafe_code)]
            #[unsafe(link_section = "modreg.plugins")]
            #[used]
            static METADATA: [u8; LEN] = $crate::__private::metadata_limited(ENTRIES, LIMITS);

            #[cfg(target_family = "wasm")]
            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn modreg_alloc(len: u32) -> u32 {
                $crate::__private::alloc(len)
            }

            #[cfg(target_family = "wasm")]
            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            extern "C" fn modreg_process(plugin: u32, ptr: u32, len: u32) -> u32 {
                // The plugins are made without their entries (`ENTRIES` is read at compile
                // time only, above): see `make`.
                const PLUGINS: &[$crate::__private::Make] = &[$($crate::__private::make::<$plugin>),+];
                $crate::__private::process(PLUGINS, plugin, ptr, len)
            }
        };
    };
}

/// `LIMITS`, each plugin's limits as `name=value`, checked at compile time. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_limits {
    ($($plugin:ty $({ $($limit:ident : $value:literal),* $(,)? })?),+) => {
        const LIMITS: &[&[&str]] = &[
            $(&[$($(concat!(stringify!($limit), "=", $value)),*)?]),+
        ];
        // An unknown limit's name is an error at that name: there is no such item.
        const _: () = {
            $($($($crate::__private::limits::$limit;)*)?)+
        };
        const _: () = {
            let mut plugin = 0;
            while plugin < LIMITS.len() {
                let mut limit = 0;
                while limit < LIMITS[plugin].len() {
                    assert!(
                        $crate::__private::has_positive_value(LIMITS[plugin][limit]),
                        "every limit's value must be a positive integer"
                    );
                    limit += 1;
                }
                plugin += 1;
            }
        };
    };
}

// Not public API. Used by generated code.
#[doc(hidden)]
pub mod __private {
    pub use modreg_core::__private_0_1_0::{HasDescriptor, Plugin, PluginDescriptor};
    pub use modreg_core::typed_sandbox::SandboxedTrait;
    pub use modreg_core::wasm_abi::{
        has_positive_value, metadata_len_limited, metadata_len_typed, metadata_limited,
        metadata_typed,
    };

    pub use crate::runtime::{Make, alloc, make, process, process_typed};

    /// The limits `export!` knows, one item each, so that an unknown name fails to resolve at
    /// that name.
    #[allow(non_upper_case_globals)]
    pub mod limits {
        /// A call's time budget, in milliseconds.
        pub const time_budget_ms: () = ();
        /// The bytes an instance's memory may grow to during the plugin's calls.
        pub const memory_bytes: () = ();
        /// The most bytes a call may answer.
        pub const output_bytes: () = ();
        /// A call's fuel cap.
        pub const fuel: () = ();
    }
}
