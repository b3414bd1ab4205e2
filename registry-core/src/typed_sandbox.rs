//! Plugins of a user's own trait run in the sandbox: the trait's ABI, written by
//! [`#[sandboxed]`](macro@crate::sandboxed).
//!
//! # What the attribute writes
//!
//! On `#[sandboxed] pub trait Codec { ... }` the attribute writes, beside the trait:
//!
//! - a **proxy**: a type implementing `Codec` whose every method encodes its arguments, asks
//!   a [`TypedCall`] to run method number `n` in the guest, and decodes the answer, so a host
//!   hands out a `Box<dyn Codec>` whether the plugin is linked in or loaded from a module;
//! - the **dispatch** a guest runs: method number `n`'s arguments decoded, the method called
//!   on the guest's own plugin, its whole result encoded (a method's `Err` travels as the
//!   user's error value, not as a string);
//! - the **fingerprint**: a hash of the trait's name, its methods' names in order and their
//!   written argument and result types. A module's plugins section carries the fingerprint of
//!   the trait its plugins were built against; a host refuses a module whose fingerprint is
//!   not its own trait's, naming the trait and both fingerprints.
//!
//! All of it is [`SandboxedTrait`], implemented for `dyn Codec`. `registry!` finds it by
//! itself: a registry of a sandboxed trait object type knows its [`TraitAbi`]
//! ([`Registry::sandboxed`](crate::Registry::sandboxed)).
//!
//! The attribute's code needs this crate's `sandboxed` feature (the encoding, `postcard`); the
//! facade `modreg` and `modreg-guest` turn it on.
//!
//! # The encoding
//!
//! Arguments are encoded as one tuple, results as the method's return value, both with
//! `postcard` (serde's data model, compact, no schema at run time); a method's input in the
//! guest call is its number (`u32`, little-endian) followed by the encoded tuple
//! (`docs/wasm-abi.md`, "Typed plugins").
//!
//! # Failures
//!
//! Every method of a sandboxed trait returns `Result<T, E>` (an `async fn` too): a guest can
//! fail where a native call cannot (its fuel, memory or time ran out, it trapped). Such a
//! failure reaches the caller as `E::from(PluginError)`, so `E: From<PluginError>`; the
//! plugin's own `Err` reaches it unchanged.
//!
//! # Async methods
//!
//! An `async fn` of an `#[async_trait]` trait is served too. A guest cannot wait on anything
//! (no clock, no I/O), so its future is polled to its end inside the one guest call, and the
//! proxy's future makes that call when it is first polled: the caller's task runs the guest,
//! bounded by the sandbox's deadline, on the thread that polls it.

use crate::error::PluginError;

/// A call's answer, to be awaited: what [`Plugin::process_async`](crate::Plugin::process_async)
/// and [`TypedCall::call_async`] return.
pub type BoxFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, PluginError>> + Send + 'a>>;

/// The host's way into one sandboxed plugin: runs method number `method` on the encoded
/// arguments, answers the encoded result.
pub trait TypedCall: Send + Sync {
    /// The plugin's name, for errors.
    fn plugin_name(&self) -> &str;

    /// Runs method `method` (its position in the trait) on `arguments`.
    fn call(&self, method: u32, arguments: &[u8]) -> Result<Vec<u8>, PluginError>;

    /// [`call`](Self::call) as a future: an `async fn` of the trait awaits it, so a guest
    /// awaiting an async host function yields the caller's thread. The default calls `call`
    /// when first polled.
    fn call_async(&self, method: u32, arguments: Vec<u8>) -> BoxFuture<'_, Vec<u8>> {
        Box::pin(async move { self.call(method, &arguments) })
    }
}

/// The input of a typed call as a `Plugin::process` takes it: the method's number
/// (little-endian), then the encoded arguments.
pub fn framed(method: u32, arguments: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(4 + arguments.len());
    input.extend_from_slice(&method.to_le_bytes());
    input.extend_from_slice(arguments);
    input
}

/// A framed input split into the method's number and the encoded arguments; `None` when it is
/// shorter than a number.
pub fn unframed(input: &[u8]) -> Option<(u32, &[u8])> {
    let (method, arguments) = input.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*method), arguments))
}

/// A framed typed call run on `target` in this process, answered as a `Plugin`'s `process`
/// answers one (the method's `Err` as a [`MethodError`]): the guest's side, for a source that
/// runs a typed plugin natively (an in-process source, a test double).
pub fn run_framed<T: ?Sized + SandboxedTrait>(
    plugin: &str,
    target: &T,
    input: &[u8],
) -> Result<Vec<u8>, PluginError> {
    let (method, arguments) = unframed(input).ok_or_else(|| {
        PluginError::processing(
            plugin,
            "a typed call starts with its method's number (4 bytes)",
        )
    })?;
    let answer = target.dispatch(method, arguments)?;
    if answer.failed {
        return Err(PluginError::from_plugin(
            plugin,
            MethodError(answer.encoded),
        ));
    }
    Ok(answer.encoded)
}

/// A trait whose plugins can run in the sandbox: implemented for its trait object type by
/// [`#[sandboxed]`](macro@crate::sandboxed).
pub trait SandboxedTrait {
    /// The trait's name, as written.
    const TRAIT_NAME: &'static str;
    /// The hash of the trait's methods and their written types (16 hex digits).
    const FINGERPRINT: &'static str;
    /// The methods' names, in order: a method's number is its position here.
    const METHODS: &'static [&'static str];

    /// A host-side instance whose methods run in the guest through `call`.
    fn proxy(call: Box<dyn TypedCall>) -> Box<Self>;

    /// The guest's side: runs method number `method` of `self` on the encoded `arguments`,
    /// answers the encoded result (the method's own `Err` included).
    fn dispatch(&self, method: u32, arguments: &[u8]) -> Result<Dispatched, PluginError>;
}

/// What a method answered, encoded: its whole `Result`, and whether that is an `Err`.
#[derive(Debug)]
pub struct Dispatched {
    /// The encoded return value.
    pub encoded: Vec<u8>,
    /// Whether the method returned `Err`: the call then counts as a failed one (monitoring,
    /// logs) while its caller still receives its own error value.
    pub failed: bool,
}

/// A typed method's own `Err`, encoded, as a `Plugin`'s `process` reports it
/// ([`PluginErrorKind::Plugin`](crate::PluginErrorKind::Plugin)'s source): a failed call to the
/// layers, the method's error value to the proxy ([`recovered`]).
#[derive(Debug)]
pub struct MethodError(pub Vec<u8>);

impl std::fmt::Display for MethodError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the method returned its error ({} bytes encoded)",
            self.0.len()
        )
    }
}

impl std::error::Error for MethodError {}

/// The answer of a typed call made as a `Plugin`'s `process`: a [`MethodError`] is the
/// method's encoded `Err`, an answer like any other; every other error stays one.
pub fn recovered(answer: Result<Vec<u8>, PluginError>) -> Result<Vec<u8>, PluginError> {
    match answer {
        Ok(encoded) => Ok(encoded),
        Err(error) => match error.into_kind() {
            crate::PluginErrorKind::Plugin { plugin, source } => {
                match source.downcast::<MethodError>() {
                    Ok(method_error) => Ok(method_error.0),
                    Err(source) => Err(PluginError::from(crate::PluginErrorKind::Plugin {
                        plugin,
                        source,
                    })),
                }
            }
            other => Err(PluginError::from(other)),
        },
    }
}

/// What a registry knows of its sandboxed trait: the name and fingerprint a module must
/// carry, and how to make the host's proxy.
pub struct TraitAbi<T: ?Sized> {
    /// The trait's name.
    pub trait_name: &'static str,
    /// The trait's fingerprint.
    pub fingerprint: &'static str,
    /// The methods' names, in order.
    pub methods: &'static [&'static str],
    /// Makes a `Box<T>` whose methods run through the given call.
    pub proxy: fn(Box<dyn TypedCall>) -> Box<T>,
}

impl<T: ?Sized> Clone for TraitAbi<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for TraitAbi<T> {}

impl<T: ?Sized> std::fmt::Debug for TraitAbi<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraitAbi")
            .field("trait_name", &self.trait_name)
            .field("fingerprint", &self.fingerprint)
            .field("methods", &self.methods)
            .finish_non_exhaustive()
    }
}

impl<T: ?Sized + SandboxedTrait> TraitAbi<T> {
    /// The ABI [`#[sandboxed]`](macro@crate::sandboxed) wrote for `T`.
    pub fn of() -> Self {
        TraitAbi {
            trait_name: T::TRAIT_NAME,
            fingerprint: T::FINGERPRINT,
            methods: T::METHODS,
            proxy: T::proxy,
        }
    }
}

/// What `registry!` writes to learn whether its trait is sandboxed, without a bound on it
/// (autoref specialization: `(&&AbiProbe::<T>::NEW).abi()` picks [`AbiOfSandboxed`] where
/// `T: SandboxedTrait`, else [`AbiOfPlain`]). Not public API.
#[doc(hidden)]
pub struct AbiProbe<T: ?Sized>(std::marker::PhantomData<fn() -> Box<T>>);

impl<T: ?Sized> std::fmt::Debug for AbiProbe<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AbiProbe")
    }
}

impl<T: ?Sized> AbiProbe<T> {
    /// The probe. Not public API.
    pub const NEW: Self = AbiProbe(std::marker::PhantomData);
}

/// The probe's answer for a sandboxed trait. Not public API.
#[doc(hidden)]
pub trait AbiOfSandboxed<T: ?Sized> {
    /// The trait's ABI.
    fn abi(&self) -> Option<TraitAbi<T>>;
}

impl<T: ?Sized + SandboxedTrait> AbiOfSandboxed<T> for &AbiProbe<T> {
    fn abi(&self) -> Option<TraitAbi<T>> {
        Some(TraitAbi::of())
    }
}

/// The probe's answer for any other trait. Not public API.
#[doc(hidden)]
pub trait AbiOfPlain<T: ?Sized> {
    /// None.
    fn abi(&self) -> Option<TraitAbi<T>>;
}

impl<T: ?Sized> AbiOfPlain<T> for AbiProbe<T> {
    fn abi(&self) -> Option<TraitAbi<T>> {
        None
    }
}

/// What the code `#[sandboxed]` writes calls: the encoding and the guest's executor. Needs
/// the `sandboxed` feature (`postcard`). Not public API.
#[cfg(feature = "sandboxed")]
#[doc(hidden)]
pub mod encoding {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use serde::Serialize;
    use serde::de::DeserializeOwned;

    pub use super::Dispatched;
    use super::TypedCall;
    use crate::error::{PluginError, PluginErrorKind};

    /// The item whose absence tells a user the feature is off.
    pub const THE_SANDBOXED_FEATURE_OF_MODREG_CORE: () = ();

    fn failed(plugin: &str, reason: String) -> PluginError {
        PluginError::from(PluginErrorKind::Processing {
            plugin: plugin.to_owned(),
            reason,
        })
    }

    /// `value` encoded.
    pub fn encode<V: Serialize + ?Sized>(plugin: &str, value: &V) -> Result<Vec<u8>, PluginError> {
        postcard::to_allocvec(value)
            .map_err(|e| failed(plugin, format!("its typed value cannot be encoded: {e}")))
    }

    /// `bytes` decoded as a `V`, every byte used.
    pub fn decode<V: DeserializeOwned>(plugin: &str, bytes: &[u8]) -> Result<V, PluginError> {
        match postcard::take_from_bytes(bytes) {
            Ok((value, [])) => Ok(value),
            Ok((_, rest)) => Err(failed(
                plugin,
                format!("its typed value has {} bytes left over", rest.len()),
            )),
            Err(e) => Err(failed(
                plugin,
                format!("its typed value cannot be decoded: {e}"),
            )),
        }
    }

    /// The host's side of one method: `arguments` encoded, method `method` run through
    /// `call`, its result decoded.
    pub fn call<A: Serialize, R: DeserializeOwned>(
        call: &dyn TypedCall,
        method: u32,
        arguments: &A,
    ) -> Result<R, PluginError> {
        let plugin = call.plugin_name();
        let answer = call.call(method, &encode(plugin, arguments)?)?;
        decode(plugin, &answer)
    }

    /// [`call`] for an `async fn`: the arguments encoded at once, the call awaited.
    pub async fn call_async<A: Serialize, R: DeserializeOwned>(
        call: &dyn TypedCall,
        method: u32,
        arguments: &A,
    ) -> Result<R, PluginError> {
        let plugin = call.plugin_name();
        let encoded = encode(plugin, arguments)?;
        let answer = call.call_async(method, encoded).await?;
        decode(plugin, &answer)
    }

    /// Runs `future` to its end on this thread: what a guest's `async fn` is, where nothing
    /// can wake it later (no clock, no I/O). A future that waits is an error, not a hang.
    pub fn block_on<F: Future>(plugin: &str, future: F) -> Result<F::Output, PluginError> {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        // A future may yield a few times before it finishes; one that still waits after that
        // waits for something the sandbox cannot give.
        for _ in 0..64 {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return Ok(output);
            }
        }
        Err(failed(
            plugin,
            "its async method waited for something a sandboxed guest cannot receive".to_owned(),
        ))
    }

    /// The error for a method number the trait does not have.
    pub fn no_method(trait_name: &str, method: u32, count: usize) -> PluginError {
        failed(
            trait_name,
            format!("no method number {method}: the trait has {count}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PluginErrorKind;

    #[test]
    fn a_framed_call_splits_back_and_a_method_error_is_recovered() {
        let input = framed(7, b"args");
        assert_eq!(unframed(&input), Some((7, &b"args"[..])));
        assert_eq!(unframed(b"abc"), None);

        let method_error = PluginError::from_plugin("p", MethodError(b"err".to_vec()));
        assert_eq!(recovered(Err(method_error)).unwrap(), b"err");
        assert_eq!(recovered(Ok(b"ok".to_vec())).unwrap(), b"ok");
        // Any other failure stays one, its kind and source kept.
        let io = PluginError::from_plugin("p", std::io::Error::other("disk"));
        let kept = recovered(Err(io)).unwrap_err();
        assert!(
            matches!(kept.kind(), PluginErrorKind::Plugin { .. }),
            "{kept:?}"
        );
        let timeout = PluginError::from(PluginErrorKind::Timeout {
            plugin: "p".into(),
            budget: std::time::Duration::from_secs(1),
        });
        assert!(matches!(
            recovered(Err(timeout)).unwrap_err().kind(),
            PluginErrorKind::Timeout { .. }
        ));
    }
}
