//! Calling a host function the embedder offers (`modreg_wasm::HostFunction`): by name, bytes
//! in and bytes out, or typed with serde (`postcard`, as the host's `HostFunction::typed`
//! decodes). The plugin must declare the function's permission in
//! `#[plugin(permissions = [...])]`, or the host refuses and audits the call.
//!
//! Natively there is no host to ask: every call answers [`HostCallError::NotFound`].

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a host function call gave no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostCallError {
    /// The plugin does not declare the function's permission; the host audited the refusal.
    #[error("denied by the host: the plugin does not declare the function's permission")]
    Denied,
    /// The host offers no function of that name (or this is a native build).
    #[error("the host offers no such function")]
    NotFound,
    /// The function failed, with its message.
    #[error("the host function failed: {0}")]
    Failed(String),
    /// A typed call's input could not be encoded, or its answer decoded.
    #[error("the typed call could not be encoded or decoded: {0}")]
    Encoding(String),
}

/// Calls host function `name` with `input`; its answer.
pub fn host_call(name: &str, input: &[u8]) -> Result<Vec<u8>, HostCallError> {
    imp::host_call(name, input)
}

/// Calls host function `name` with `input` encoded, and decodes its answer as an `O`.
pub fn host_call_typed<I: Serialize, O: DeserializeOwned>(
    name: &str,
    input: &I,
) -> Result<O, HostCallError> {
    let bytes = postcard::to_allocvec(input).map_err(|e| HostCallError::Encoding(e.to_string()))?;
    let answer = host_call(name, &bytes)?;
    postcard::from_bytes(&answer).map_err(|e| HostCallError::Encoding(e.to_string()))
}

#[cfg(target_family = "wasm")]
mod imp {
    use modreg_core::wasm_abi::{DENIED, FAILED, NOT_FOUND};

    use super::HostCallError;

    mod host {
        #[allow(unsafe_code)]
        #[link(wasm_import_module = "modreg")]
        unsafe extern "C" {
            pub(super) fn host_call(
                name: *const u8,
                name_len: usize,
                input: *const u8,
                input_len: usize,
                out: *mut u8,
                out_cap: usize,
            ) -> i64;
            pub(super) fn host_answer(out: *mut u8, out_cap: usize) -> i64;
        }
    }

    /// The answer the host keeps for `host_answer`, `len` bytes of it.
    fn kept(len: i64) -> Result<Vec<u8>, HostCallError> {
        let failed = || HostCallError::Failed("the host's answer could not be read".into());
        let len = usize::try_from(len).map_err(|_| failed())?;
        let mut buffer = Vec::<u8>::with_capacity(len);
        #[allow(unsafe_code)]
        // SAFETY: `buffer` is valid for `capacity()` writable bytes; the host writes at most
        // that many.
        let written = unsafe { host::host_answer(buffer.as_mut_ptr(), buffer.capacity()) };
        if usize::try_from(written).ok() != Some(len) {
            return Err(failed());
        }
        #[allow(unsafe_code)]
        // SAFETY: the host wrote exactly `len` bytes, the capacity, into `buffer`.
        unsafe {
            buffer.set_len(len);
        }
        Ok(buffer)
    }

    pub(super) fn host_call(name: &str, input: &[u8]) -> Result<Vec<u8>, HostCallError> {
        let mut buffer = Vec::<u8>::with_capacity(4096);
        #[allow(unsafe_code)]
        // SAFETY: `name` and `input` are valid for their lengths, `buffer` for `capacity()`
        // writable bytes; the host writes at most `capacity()` bytes and keeps none of them.
        let answer = unsafe {
            host::host_call(
                name.as_ptr(),
                name.len(),
                input.as_ptr(),
                input.len(),
                buffer.as_mut_ptr(),
                buffer.capacity(),
            )
        };
        match answer {
            DENIED => Err(HostCallError::Denied),
            NOT_FOUND => Err(HostCallError::NotFound),
            FAILED => {
                // The failure's message is kept like an answer; asked for its length first.
                #[allow(unsafe_code)]
                // SAFETY: a zero-capacity buffer: the host writes nothing.
                let len = unsafe { host::host_answer(buffer.as_mut_ptr(), 0) };
                let message = kept(len)?;
                Err(HostCallError::Failed(
                    String::from_utf8_lossy(&message).into_owned(),
                ))
            }
            n if n < 0 => Err(HostCallError::Failed(format!("the host answered {n}"))),
            n if usize::try_from(n).is_ok_and(|n| n <= buffer.capacity()) => {
                #[allow(unsafe_code)]
                // SAFETY: the host wrote `n` bytes, no more than the capacity, into `buffer`.
                unsafe {
                    buffer.set_len(usize::try_from(n).unwrap_or(0));
                }
                Ok(buffer)
            }
            n => kept(n),
        }
    }
}

#[cfg(not(target_family = "wasm"))]
mod imp {
    use super::HostCallError;

    pub(super) fn host_call(_name: &str, _input: &[u8]) -> Result<Vec<u8>, HostCallError> {
        Err(HostCallError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natively_there_is_no_host_function() {
        assert_eq!(host_call("anything", b""), Err(HostCallError::NotFound));
        assert_eq!(
            host_call_typed::<u32, u32>("add", &1),
            Err(HostCallError::NotFound)
        );
    }
}
