//! The contract a plugin fulfils.

use crate::descriptor::Descriptor;
use crate::error::PluginError;
use crate::health::HealthStatus;
use crate::plugin_type::PluginType;
use crate::settings::PluginSettings;

/// An entry of a registry's link-time table; without a parameter, of the default registry of
/// [`Plugin`]. See [`Descriptor`] for its builder and accessors.
pub type PluginDescriptor<T = dyn Plugin> = Descriptor<T>;

/// Creates an instance from its settings (empty when none are configured).
pub type Constructor<T = dyn Plugin> = fn(&PluginSettings) -> Result<Box<T>, PluginError>;

/// Creates an instance that needs no settings and cannot fail.
pub type InfallibleConstructor<T = dyn Plugin> = fn() -> Box<T>;

/// A plugin: something with a name, a version, a type and capabilities that processes bytes.
///
/// This is the interface of the specification. Write it by hand, or put
/// [`#[plugin]`](crate::plugin) on the struct and implement only [`PluginBehavior`]: every
/// such struct gets this trait from one implementation in this crate, which reads the table
/// entry the attribute wrote.
///
/// ```
/// use modreg_core::{Plugin, PluginError, PluginType};
///
/// struct Echo { caps: Vec<String> }
///
/// impl Plugin for Echo {
///     fn name(&self) -> &str { "echo" }
///     fn version(&self) -> &str { "1.0.0" }
///     fn plugin_type(&self) -> PluginType { PluginType::DataProcessor }
///     fn capabilities(&self) -> &[String] { &self.caps }
///     fn initialize(&mut self) -> Result<(), PluginError> { Ok(()) }
///     fn cleanup(&mut self) -> Result<(), PluginError> { Ok(()) }
///     fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> { Ok(data.to_vec()) }
/// }
///
/// let echo = Echo { caps: vec!["processing".into()] };
/// assert_eq!(echo.process(b"hi").unwrap(), b"hi");
/// ```
pub trait Plugin: Send + Sync {
    /// Get the plugin name
    fn name(&self) -> &str;

    /// Get the plugin version
    fn version(&self) -> &str;

    /// Get the plugin type
    fn plugin_type(&self) -> PluginType;

    /// Get the plugin capabilities
    fn capabilities(&self) -> &[String];

    /// Initialize the plugin
    fn initialize(&mut self) -> Result<(), PluginError>;

    /// Cleanup the plugin
    fn cleanup(&mut self) -> Result<(), PluginError>;

    /// Process data
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError>;

    /// [`process`](Self::process) as a future, for a plugin that waits on something (a
    /// sandboxed guest awaiting the embedder's async host function): awaiting it yields the
    /// thread instead of blocking it. The default runs `process` when first polled. A wrapper
    /// that forwards it applies its policy around the inner future; one that does not keeps
    /// the default, and the call goes through its `process` (its policy holds; the thread
    /// blocks).
    fn process_async<'a>(&'a self, data: &'a [u8]) -> crate::typed_sandbox::BoxFuture<'a, Vec<u8>> {
        Box::pin(async move { self.process(data) })
    }

    /// The compiled-in table entry this plugin was made from, if any.
    ///
    /// `#[plugin]` structs answer their entry; a hand-written plugin keeps the default, `None`.
    fn descriptor(&self) -> Option<&'static PluginDescriptor> {
        None
    }

    /// How the plugin is doing; health checks call it. The default reports healthy.
    fn health(&self) -> HealthStatus {
        HealthStatus::Healthy
    }

    /// Whether [`stream`](Self::stream) works a piece at a time, in memory that does not grow
    /// with the input. The default, `false`, says the plugin needs its whole input: a caller
    /// then buffers it itself, with the limit it chooses ([`stream::buffered`](crate::stream::buffered)).
    fn streams(&self) -> bool {
        false
    }

    /// This plugin's output for `input`, read as it is produced (see [`crate::stream`]). The
    /// default reads the whole input (at most
    /// [`DEFAULT_MAX_BUFFERED_BYTES`](crate::stream::DEFAULT_MAX_BUFFERED_BYTES)) and calls
    /// [`process`](Self::process). A plugin that overrides it overrides
    /// [`streams`](Self::streams) too; a wrapper that forwards one forwards both, with its
    /// policy applied to the stream (one that does not keeps the defaults: the stream then
    /// goes through its `process`, and its policy holds there).
    fn stream<'a>(&'a self, input: crate::stream::Reader<'a>) -> crate::stream::Reader<'a> {
        crate::stream::buffered(
            self.name(),
            input,
            crate::stream::DEFAULT_MAX_BUFFERED_BYTES,
            move |data| self.process(data),
        )
    }
}

/// The behaviour of a `#[plugin]` struct: the part its author writes.
///
/// With the attribute, the struct is a [`Plugin`]: name, version, type and capabilities
/// come from the table entry, and the three calls below are forwarded here. Only `process` is
/// required.
///
/// ```
/// use modreg_core::{plugin, Plugin, PluginBehavior, PluginError};
///
/// #[plugin(type = DataProcessor, capabilities = ["text", "uppercase"])]
/// #[derive(Default)]
/// struct Shout;
///
/// impl PluginBehavior for Shout {
///     fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
///         Ok(data.to_ascii_uppercase())
///     }
/// }
///
/// let shout = Shout;
/// assert_eq!(shout.name(), "shout");
/// assert_eq!(shout.capabilities(), ["text", "uppercase"]);
/// // Both traits have `process`; name the one you mean, or call through `dyn Plugin`.
/// assert_eq!(Plugin::process(&shout, b"hey").unwrap(), b"HEY");
/// ```
pub trait PluginBehavior: Send + Sync {
    /// Transforms `data`.
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError>;

    /// Prepares the plugin; the default does nothing.
    fn initialize(&mut self) -> Result<(), PluginError> {
        Ok(())
    }

    /// Releases what `initialize` acquired; the default does nothing.
    fn cleanup(&mut self) -> Result<(), PluginError> {
        Ok(())
    }

    /// How the plugin is doing; the default reports healthy.
    fn health(&self) -> HealthStatus {
        HealthStatus::Healthy
    }

    /// Whether [`stream`](Self::stream) works a piece at a time ([`Plugin::streams`]); `false`
    /// by default.
    fn streams(&self) -> bool {
        false
    }

    /// The output for `input`, read as it is produced ([`Plugin::stream`]). The default gives
    /// the input back (`Err(input)`, as `Arc::try_unwrap` gives back what it cannot take): it
    /// is then buffered and handed to [`process`](Self::process).
    fn stream<'a>(
        &'a self,
        input: crate::stream::Reader<'a>,
    ) -> Result<crate::stream::Reader<'a>, crate::stream::Reader<'a>> {
        Err(input)
    }
}

/// A `#[plugin]` type's table entry, known at compile time: `#[plugin]` implements it. Not
/// public API.
///
/// It gives the default registry's structs their [`Plugin`] implementation (below), and a
/// WebAssembly guest writes the entries into a custom section with it.
#[doc(hidden)]
pub trait HasDescriptor<T: ?Sized + 'static> {
    /// The table entry of the type (the `static` in the link-time table).
    const DESCRIPTOR: &'static PluginDescriptor<T>;
}

/// The specification's interface for every `#[plugin]` struct of the default registry: name,
/// version, type and capabilities from its table entry, the calls forwarded to its
/// [`PluginBehavior`]. One implementation for all of them, instead of one generated per
/// struct.
impl<P: PluginBehavior + HasDescriptor<dyn Plugin>> Plugin for P {
    fn name(&self) -> &str {
        P::DESCRIPTOR.name()
    }

    fn version(&self) -> &str {
        P::DESCRIPTOR.version()
    }

    fn plugin_type(&self) -> PluginType {
        P::DESCRIPTOR.plugin_type()
    }

    fn capabilities(&self) -> &[String] {
        capabilities_of(P::DESCRIPTOR)
    }

    fn initialize(&mut self) -> Result<(), PluginError> {
        PluginBehavior::initialize(self)
    }

    fn cleanup(&mut self) -> Result<(), PluginError> {
        PluginBehavior::cleanup(self)
    }

    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        PluginBehavior::process(self, data)
    }

    fn descriptor(&self) -> Option<&'static PluginDescriptor> {
        Some(P::DESCRIPTOR)
    }

    fn health(&self) -> HealthStatus {
        PluginBehavior::health(self)
    }

    fn streams(&self) -> bool {
        PluginBehavior::streams(self)
    }

    fn stream<'a>(&'a self, input: crate::stream::Reader<'a>) -> crate::stream::Reader<'a> {
        match PluginBehavior::stream(self, input) {
            Ok(output) => output,
            Err(input) => crate::stream::buffered(
                self.name(),
                input,
                crate::stream::DEFAULT_MAX_BUFFERED_BYTES,
                move |data| self.process(data),
            ),
        }
    }
}

/// The capabilities of a `#[plugin]` as `String`s, made once per descriptor and kept for the
/// life of the program (one small allocation per plugin that is asked).
fn capabilities_of(descriptor: &'static PluginDescriptor) -> &'static [String] {
    use std::collections::HashMap;
    use std::sync::{OnceLock, PoisonError, RwLock};
    type Cache = RwLock<HashMap<usize, &'static [String]>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    let key = std::ptr::from_ref(descriptor).addr();
    if let Some(found) = cache
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return found;
    }
    let mut cache = cache.write().unwrap_or_else(PoisonError::into_inner);
    let found: &mut &'static [String] = cache.entry(key).or_insert_with(|| {
        let owned: Vec<String> = descriptor
            .capabilities()
            .iter()
            .map(|c| (*c).to_owned())
            .collect();
        Box::leak(owned.into_boxed_slice())
    });
    found
}
