//! `Registry<T>`: the compiled-in plugins of one trait object type, indexed on first use.
//!
//! # What is a registry
//!
//! [`registry!`](crate::registry!) declares a `static` registry for a trait object type and a
//! link-time table beside it; `#[plugin(registry = NAME)]` puts a `const` descriptor into that
//! table from any crate. The first call that needs the index sorts the table once (see
//! [`PluginIndex`]); every later lookup, query and creation reads that index.
//!
//! The specification's byte processor is one such registry, [`PLUGINS`](crate::PLUGINS), and
//! `#[plugin]` without `registry =` adds to it.
//!
//! # Creating instances
//!
//! [`create`](Registry::create) resolves the name, checks what was decided when the index was
//! built (a duplicate name, an unmet `depends_on`), then constructs under the panic guard: a
//! constructor that panics is [`PluginErrorKind::Panicked`], not an unwinding host.

use std::sync::OnceLock;

use crate::error::{PluginError, PluginErrorKind};
use crate::factory_descriptor::FactoryDescriptor;
use crate::index::PluginIndex;
use crate::plugin::PluginDescriptor;
use crate::plugin_type::PluginType;
use crate::settings::PluginSettings;
use crate::typed_sandbox::TraitAbi;

/// Collects a registry's descriptors from its link-time table.
pub type Collect<T> = fn() -> Vec<&'static PluginDescriptor<T>>;

/// The compiled-in plugins of trait object type `T`.
///
/// Declare one with [`registry!`](crate::registry!); a `static` needs no code before `main`.
///
/// ```
/// use modreg_core::{plugin, registry, PluginError};
///
/// pub trait Greeter: Send + Sync {
///     fn greet(&self, who: &str) -> String;
/// }
///
/// registry!(pub GREETERS: dyn Greeter);
///
/// #[plugin(registry = GREETERS, capabilities = ["polite"])]
/// #[derive(Default)]
/// struct Formal;
///
/// impl Greeter for Formal {
///     fn greet(&self, who: &str) -> String {
///         format!("Good morning, {who}.")
///     }
/// }
///
/// # fn main() -> Result<(), PluginError> {
/// let formal = GREETERS.create("formal")?;
/// assert_eq!(formal.greet("Ada"), "Good morning, Ada.");
/// assert_eq!(GREETERS.with_capabilities(&["polite"])[0].name(), "formal");
/// let concrete: Box<Formal> = GREETERS.create_as("formal")?;
/// # let _ = concrete;
/// # Ok(())
/// # }
/// ```
pub struct Registry<T: ?Sized + 'static> {
    name: &'static str,
    collect: Collect<T>,
    factories: fn() -> Vec<&'static FactoryDescriptor>,
    abi: fn() -> Option<TraitAbi<T>>,
    index: OnceLock<PluginIndex<T>>,
}

fn no_abi<T: ?Sized>() -> Option<TraitAbi<T>> {
    None
}

fn no_factories() -> Vec<&'static FactoryDescriptor> {
    Vec::new()
}

impl<T: ?Sized> Registry<T> {
    /// A registry called `name` over the table `collect` reads. `registry!` calls this.
    pub const fn new(name: &'static str, collect: Collect<T>) -> Self {
        Registry {
            name,
            collect,
            factories: no_factories,
            abi: no_abi,
            index: OnceLock::new(),
        }
    }

    /// The same registry with a table of factories. Not public API.
    #[doc(hidden)]
    pub const fn with_factories(
        mut self,
        factories: fn() -> Vec<&'static FactoryDescriptor>,
    ) -> Self {
        self.factories = factories;
        self
    }

    /// The same registry, whose trait's ABI `abi` answers. Not public API.
    #[doc(hidden)]
    pub const fn with_abi(mut self, abi: fn() -> Option<TraitAbi<T>>) -> Self {
        self.abi = abi;
        self
    }

    /// The ABI of the registry's trait when it is [`#[sandboxed]`](macro@crate::sandboxed):
    /// a host loads WebAssembly plugins of this registry with it. `None` for any other trait.
    pub fn sandboxed(&self) -> Option<TraitAbi<T>> {
        (self.abi)()
    }

    /// The registry's name, as declared.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The index over the table, built by the first caller.
    #[inline]
    pub fn index(&self) -> &PluginIndex<T> {
        match self.index.get() {
            Some(index) => index,
            None => self.build_index(),
        }
    }

    #[cold]
    fn build_index(&self) -> &PluginIndex<T> {
        self.index
            .get_or_init(|| PluginIndex::build((self.collect)(), (self.factories)()))
    }

    /// The plugin called `name`.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&'static PluginDescriptor<T>> {
        self.index().get(name)
    }

    /// Every plugin, sorted by name.
    pub fn entries(&self) -> &[&'static PluginDescriptor<T>] {
        self.index().entries()
    }

    /// The plugins of type `ty`, sorted by name.
    pub fn of_type(&self, ty: PluginType) -> Vec<&'static PluginDescriptor<T>> {
        self.index().of_type(ty).collect()
    }

    /// The plugins with every capability in `required`, sorted by name.
    pub fn with_capabilities(&self, required: &[&str]) -> Vec<&'static PluginDescriptor<T>> {
        self.index().with_capabilities(required)
    }

    /// The plugins whose name, description or capabilities contain every word of `text`
    /// (case-insensitive), sorted by name.
    pub fn search(&self, text: &str) -> Vec<&'static PluginDescriptor<T>> {
        let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
        self.entries()
            .iter()
            .copied()
            .filter(|d| {
                let description = d.description().to_lowercase();
                words.iter().all(|w| {
                    d.name().contains(w.as_str())
                        || description.contains(w.as_str())
                        || d.capabilities().iter().any(|c| c.contains(w.as_str()))
                })
            })
            .collect()
    }

    /// Creates the plugin called `name` with no settings.
    #[inline]
    pub fn create(&self, name: &str) -> Result<Box<T>, PluginError> {
        self.resolve(name)?.instantiate_default()
    }

    /// Creates the plugin called `name` with `settings` (read into its `config` type).
    pub fn create_with(
        &self,
        name: &str,
        settings: &PluginSettings,
    ) -> Result<Box<T>, PluginError> {
        self.resolve(name)?.instantiate(settings)
    }

    /// Creates the plugin called `name` as its concrete type `C`; a `name` that is another
    /// type is [`PluginErrorKind::WrongType`].
    pub fn create_as<C: 'static>(&self, name: &str) -> Result<Box<C>, PluginError> {
        self.resolve(name)?
            .instantiate_as::<C>(&crate::settings::EMPTY)
    }

    /// Creates the plugin called `name` with `settings`, as its concrete type `C`.
    pub fn create_as_with<C: 'static>(
        &self,
        name: &str,
        settings: &PluginSettings,
    ) -> Result<Box<C>, PluginError> {
        self.resolve(name)?.instantiate_as::<C>(settings)
    }

    /// The entry for `name` if it may be created: registered once, with its dependencies met.
    #[inline]
    pub fn resolve(&self, name: &str) -> Result<&'static PluginDescriptor<T>, PluginError> {
        match self.index().get_checked(name) {
            Some((descriptor, true)) => Ok(descriptor),
            Some((descriptor, false)) => Err(self.unmet(descriptor)),
            None => Err(self.not_found(name)),
        }
    }

    #[cold]
    fn unmet(&self, descriptor: &PluginDescriptor<T>) -> PluginError {
        self.index()
            .check_dependencies(descriptor)
            .err()
            .unwrap_or_else(|| {
                PluginError::from(PluginErrorKind::NoImplementation {
                    name: descriptor.name().to_owned(),
                })
            })
    }

    /// The error for a name the index does not have: a conflict if two definitions claimed
    /// it, else `NotFound` with the closest names.
    #[cold]
    pub fn not_found(&self, name: &str) -> PluginError {
        let index = self.index();
        if let Some(conflict) = index.conflict(name) {
            return conflict.to_error();
        }
        PluginError::from(PluginErrorKind::NotFound {
            name: name.to_owned(),
            suggestions: crate::error::close_names(name, index.entries().iter().map(|d| d.name())),
        })
    }

    /// Fails when a name was defined twice (naming both definitions), or when `before`/`after`
    /// name a plugin the registry does not have or order plugins in a circle.
    pub fn check(&self) -> Result<(), PluginError> {
        let index = self.index();
        match index.conflicts().first() {
            Some(conflict) => Err(conflict.to_error()),
            None => index.order_check(),
        }
    }

    /// Fails, naming every absent plugin, unless all of `names` are in the table.
    ///
    /// Call it at startup with the plugins your program relies on, so that a plugin crate the
    /// linker dropped is a clear error and not a silent gap.
    pub fn expect<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Result<(), PluginError> {
        crate::error::expect_all(names, |name| self.get(name).is_some())
    }
}

impl<T: ?Sized> std::fmt::Debug for Registry<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("name", &self.name)
            .field("indexed", &self.index.get().map(PluginIndex::len))
            .finish_non_exhaustive()
    }
}
