//! Typed metadata: `registry!(pub CODECS: dyn Codec, meta = CodecMeta)` gives each plugin a
//! `const` value of the user's type, read and filtered without creating an instance.
//!
//! Each descriptor points at its plugin's value (a `static` `#[plugin(meta = ...)]` writes,
//! checked against the registry's type by the compiler); the first call that reads the
//! metadata pairs every entry with its value once, so a filter reads two fields per plugin.

use std::ops::Deref;
use std::sync::OnceLock;

use crate::plugin::PluginDescriptor;
use crate::typed::Registry;

/// The metadata of a registry declared without `meta`. Not public API.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoMeta;

/// What a plugin that gives no `meta` gets: only a registry without `meta` has it. Not
/// public API.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "the plugins of this registry carry metadata of type `{Self}`: give it with `#[plugin(meta = ...)]`",
    label = "this plugin gives no `meta`"
)]
pub trait MetaRequired {
    /// The value a plugin without `meta` carries.
    const NONE: Self;
}

impl MetaRequired for NoMeta {
    const NONE: Self = NoMeta;
}

/// A plugin of a registry with metadata: its descriptor and its `meta` value.
///
/// Derefs to the descriptor, so `entry.name()` and `entry.capabilities()` read as they do on
/// a [`Registry`]'s entries.
pub struct MetaEntry<T: ?Sized + 'static, M: 'static> {
    descriptor: &'static PluginDescriptor<T>,
    meta: &'static M,
}

impl<T: ?Sized, M> MetaEntry<T, M> {
    /// The plugin's metadata.
    #[inline]
    pub fn meta(&self) -> &'static M {
        self.meta
    }

    /// The plugin's descriptor.
    #[inline]
    pub fn descriptor(&self) -> &'static PluginDescriptor<T> {
        self.descriptor
    }
}

// Not derived: a derive would ask `T: Clone`, and a trait object is not.
impl<T: ?Sized, M> Clone for MetaEntry<T, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized, M> Copy for MetaEntry<T, M> {}

impl<T: ?Sized, M> Deref for MetaEntry<T, M> {
    type Target = PluginDescriptor<T>;

    fn deref(&self) -> &PluginDescriptor<T> {
        self.descriptor
    }
}

impl<T: ?Sized, M: std::fmt::Debug> std::fmt::Debug for MetaEntry<T, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaEntry")
            .field("name", &self.descriptor.name())
            .field("meta", self.meta)
            .finish()
    }
}

/// A registry whose plugins each carry a value of type `M`: declared with
/// `registry!(pub NAME: dyn Trait, meta = M)`.
///
/// Everything a [`Registry`] does is here through `Deref` (lookup, queries, creation, order,
/// fan-out); [`entries`](Self::entries) pairs each plugin with its metadata.
///
/// ```
/// use modreg_core::{plugin, registry};
///
/// pub trait Codec: Send + Sync {
///     fn encode(&self, input: &[u8]) -> Vec<u8>;
/// }
///
/// #[derive(Debug)]
/// pub struct CodecMeta {
///     pub extensions: &'static [&'static str],
/// }
///
/// registry!(pub CODECS: dyn Codec, meta = CodecMeta);
///
/// #[plugin(registry = CODECS, meta = CodecMeta { extensions: &["gz", "gzip"] })]
/// #[derive(Default)]
/// struct Gzip;
///
/// impl Codec for Gzip {
///     fn encode(&self, input: &[u8]) -> Vec<u8> {
///         input.to_vec()
///     }
/// }
///
/// # fn main() {
/// let gz: Vec<&str> = CODECS
///     .entries()
///     .iter()
///     .filter(|e| e.meta().extensions.contains(&"gz"))
///     .map(|e| e.name())
///     .collect();
/// assert_eq!(gz, ["gzip"]);
/// assert_eq!(CODECS.meta("gzip").unwrap().extensions[1], "gzip");
/// # }
/// ```
pub struct MetaRegistry<T: ?Sized + 'static, M: 'static> {
    registry: Registry<T>,
    entries: OnceLock<Vec<MetaEntry<T, M>>>,
}

impl<T: ?Sized, M: 'static> MetaRegistry<T, M> {
    /// `registry`, whose plugins carry `M`. `registry!` calls this.
    pub const fn new(registry: Registry<T>) -> Self {
        MetaRegistry {
            registry,
            entries: OnceLock::new(),
        }
    }

    /// The registry without its metadata: what the host's functions over registries take.
    pub fn registry(&self) -> &Registry<T> {
        &self.registry
    }

    /// Every plugin with its metadata, sorted by name.
    #[inline]
    pub fn entries(&self) -> &[MetaEntry<T, M>] {
        match self.entries.get() {
            Some(entries) => entries,
            None => self.pair(),
        }
    }

    #[cold]
    fn pair(&self) -> &[MetaEntry<T, M>] {
        self.entries.get_or_init(|| {
            self.registry
                .entries()
                .iter()
                .filter_map(|&descriptor| {
                    // Every plugin of this registry has a value of type `M`: the compiler
                    // checked `#[plugin(meta = ...)]` against the registry's declaration.
                    let meta = descriptor.meta_any()?.downcast_ref::<M>()?;
                    Some(MetaEntry { descriptor, meta })
                })
                .collect()
        })
    }

    /// The metadata of the plugin called `name`.
    pub fn meta(&self, name: &str) -> Option<&'static M> {
        let position = self.registry.index().position(name)?;
        self.entries()
            .get(position as usize)
            .filter(|e| e.descriptor.name() == name)
            .map(|e| e.meta)
    }
}

impl<T: ?Sized, M> Deref for MetaRegistry<T, M> {
    type Target = Registry<T>;

    fn deref(&self) -> &Registry<T> {
        &self.registry
    }
}

impl<T: ?Sized, M> std::fmt::Debug for MetaRegistry<T, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaRegistry")
            .field("registry", &self.registry)
            .field("meta", &std::any::type_name::<M>())
            .finish_non_exhaustive()
    }
}
