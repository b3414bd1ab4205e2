//! Host functions: what an embedder offers its guests beyond files and variables, each behind
//! a permission the plugin must declare.
//!
//! A [`HostFunction`] has a name (what the guest asks for), a permission (what its plugin must
//! declare in `#[plugin(permissions = [...])]`) and the function itself, bytes in and bytes
//! out, or typed with serde ([`HostFunction::typed`], encoded with `postcard`, as
//! `modreg_guest::host_call_typed` encodes). It travels with the sandbox's configuration
//! ([`WasmConfig::with_host_function`](crate::WasmConfig::with_host_function)), so every
//! module loaded under that configuration sees it, and only those.
//!
//! A call is refused (`DENIED`, and an `Event::CapabilityRefused` the security layer audits)
//! when the plugin does not declare the permission; it runs under the guest's deadline (one
//! made past it does not run, one that ends past it stops the guest); a panic in it is caught
//! and is the call's failure. Each call is an `Event::HostFunctionCalled`, which the
//! monitoring layer counts per plugin and function.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// What a host function is told of its caller.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct HostCall<'a> {
    /// The plugin whose guest called.
    pub plugin: &'a str,
    /// The host function's name.
    pub function: &'a str,
}

/// Why a host function failed: the guest gets the message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostFunctionError {
    /// The function could not do what was asked.
    #[error("{0}")]
    Failed(String),
    /// A typed function's input was not the type it takes.
    #[error("the input is not a `{expected}`: {reason}")]
    BadInput {
        /// The type the function takes.
        expected: &'static str,
        /// What the decoder said.
        reason: String,
    },
}

impl HostFunctionError {
    /// A failure with `message`.
    pub fn failed(message: impl Into<String>) -> Self {
        HostFunctionError::Failed(message.into())
    }
}

type Call = dyn Fn(HostCall<'_>, &[u8]) -> Result<Vec<u8>, HostFunctionError> + Send + Sync;

/// An async host function's answer, to be awaited.
pub(crate) type Answer =
    Pin<Box<dyn Future<Output = Result<Vec<u8>, HostFunctionError>> + Send + 'static>>;

type AsyncCall = dyn Fn(HostCall<'_>, Vec<u8>) -> Answer + Send + Sync;

/// The function itself.
#[derive(Clone)]
enum Body {
    Sync(Arc<Call>),
    Async(Arc<AsyncCall>),
}

/// What starting a host function gave.
pub(crate) enum Started {
    /// A synchronous function's answer.
    Done(Result<Vec<u8>, HostFunctionError>),
    /// An async function's answer, to be awaited while the guest is suspended.
    Pending(Answer),
}

/// A function the host offers to guests whose plugin declares its permission.
#[derive(Clone)]
pub struct HostFunction {
    name: Arc<str>,
    permission: Arc<str>,
    body: Body,
}

impl fmt::Debug for HostFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostFunction")
            .field("name", &self.name)
            .field("permission", &self.permission)
            .finish_non_exhaustive()
    }
}

/// The same function: the same name, permission and closure (not an equal closure).
impl PartialEq for HostFunction {
    fn eq(&self, other: &Self) -> bool {
        let same_body = match (&self.body, &other.body) {
            (Body::Sync(a), Body::Sync(b)) => Arc::ptr_eq(a, b),
            (Body::Async(a), Body::Async(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        self.name == other.name && self.permission == other.permission && same_body
    }
}

impl Eq for HostFunction {}

impl HostFunction {
    /// A function named `name`, callable by guests whose plugin declares `permission`, that
    /// answers bytes for bytes.
    pub fn new(
        name: impl Into<String>,
        permission: impl Into<String>,
        call: impl Fn(HostCall<'_>, &[u8]) -> Result<Vec<u8>, HostFunctionError> + Send + Sync + 'static,
    ) -> Self {
        HostFunction {
            name: name.into().into(),
            permission: permission.into().into(),
            body: Body::Sync(Arc::new(call)),
        }
    }

    /// An async function: the guest that calls it is suspended while its future runs, and
    /// resumed with the answer. Called through
    /// [`Plugin::process_async`](modreg_core::Plugin::process_async) (and a `#[sandboxed]`
    /// trait's `async fn`), the caller's task yields its thread meanwhile; called through
    /// `process`, the calling thread waits. Either way the future runs under the guest's
    /// deadline: one still running then is dropped, and the call is a `Timeout`.
    ///
    /// ```
    /// use modreg_wasm::{HostFunction, HostFunctionError};
    ///
    /// let lookup = HostFunction::new_async("kv.get", "kv.read", |_, key: Vec<u8>| async move {
    ///     // An embedder's own I/O: a database, an HTTP client...
    ///     Ok::<_, HostFunctionError>(key.to_ascii_uppercase())
    /// });
    /// assert!(lookup.is_async());
    /// ```
    pub fn new_async<F>(
        name: impl Into<String>,
        permission: impl Into<String>,
        call: impl Fn(HostCall<'_>, Vec<u8>) -> F + Send + Sync + 'static,
    ) -> Self
    where
        F: Future<Output = Result<Vec<u8>, HostFunctionError>> + Send + 'static,
    {
        HostFunction {
            name: name.into().into(),
            permission: permission.into().into(),
            body: Body::Async(Arc::new(move |caller, input| {
                Box::pin(call(caller, input)) as Answer
            })),
        }
    }

    /// Whether it is an async function ([`new_async`](Self::new_async)).
    pub fn is_async(&self) -> bool {
        matches!(self.body, Body::Async(_))
    }

    /// A function that takes an `I` and answers an `O`, both encoded with `postcard` (what
    /// `modreg_guest::host_call_typed` sends and expects). An input that does not decode is
    /// [`HostFunctionError::BadInput`].
    pub fn typed<I, O>(
        name: impl Into<String>,
        permission: impl Into<String>,
        call: impl Fn(HostCall<'_>, I) -> Result<O, HostFunctionError> + Send + Sync + 'static,
    ) -> Self
    where
        I: DeserializeOwned,
        O: Serialize,
    {
        Self::new(name, permission, move |caller, bytes| {
            let input = postcard::from_bytes(bytes).map_err(|e| HostFunctionError::BadInput {
                expected: std::any::type_name::<I>(),
                reason: e.to_string(),
            })?;
            let output = call(caller, input)?;
            postcard::to_allocvec(&output).map_err(|e| HostFunctionError::Failed(e.to_string()))
        })
    }

    /// The name guests call it by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The permission a plugin must declare to call it.
    pub fn permission(&self) -> &str {
        &self.permission
    }

    /// Runs it: the answer of a synchronous function, an async one's future.
    pub(crate) fn start(&self, caller: HostCall<'_>, input: Vec<u8>) -> Started {
        match &self.body {
            Body::Sync(call) => Started::Done(call(caller, &input)),
            Body::Async(call) => Started::Pending(call(caller, input)),
        }
    }

    /// Runs a synchronous function (tests).
    #[cfg(test)]
    fn call(&self, caller: HostCall<'_>, input: &[u8]) -> Result<Vec<u8>, HostFunctionError> {
        match self.start(caller, input.to_vec()) {
            Started::Done(answer) => answer,
            Started::Pending(_) => unreachable!("a synchronous function"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_function_decodes_its_input_and_encodes_its_answer() {
        let add = HostFunction::typed("add", "math", |_, (a, b): (u32, u32)| Ok(a + b));
        let caller = HostCall {
            plugin: "p",
            function: "add",
        };
        let input = postcard::to_allocvec(&(2u32, 3u32)).unwrap();
        let answer = add.call(caller, &input).unwrap();
        assert_eq!(postcard::from_bytes::<u32>(&answer).unwrap(), 5);
        assert!(matches!(
            add.call(caller, &[]),
            Err(HostFunctionError::BadInput { .. })
        ));
        assert_eq!((add.name(), add.permission()), ("add", "math"));
    }
}
