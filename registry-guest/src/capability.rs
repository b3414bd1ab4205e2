//! What a guest may ask of its host: a granted file, a granted environment variable, and
//! reporting its own panic. Natively the same calls read the file system and the environment
//! directly (a native plugin has no sandbox).

use std::fmt;

/// Why a capability call gave nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapabilityError {
    /// The host refused: the plugin does not hold the grant (it did not declare the
    /// permission, or the host did not give it). The host audits every refusal.
    Denied,
    /// There is no such file or variable.
    NotFound,
    /// The host could not read it (an I/O error, or over its size limit).
    Failed,
}

impl fmt::Display for CapabilityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CapabilityError::Denied => "denied by the host: no grant",
            CapabilityError::NotFound => "not found",
            CapabilityError::Failed => "the host could not read it",
        })
    }
}

impl std::error::Error for CapabilityError {}

/// Reads the file at `path`, which must lie under the directory the host granted
/// (permission `file.read`); the host opens it read-only.
pub fn read_file(path: &str) -> Result<Vec<u8>, CapabilityError> {
    imp::read_file(path)
}

/// Reads the environment variable `name`, which the host must have granted (permission
/// `env.name` grants the variable `NAME`, its name upper-cased).
pub fn env_var(name: &str) -> Result<String, CapabilityError> {
    let bytes = imp::env_var(name)?;
    String::from_utf8(bytes).map_err(|_| CapabilityError::Failed)
}

/// Makes a panic report its message to the host before the module traps (once).
pub(crate) fn report_panics() {
    imp::report_panics();
}

#[cfg(target_family = "wasm")]
mod imp {
    use modreg_core::wasm_abi::{DENIED, NOT_FOUND};

    use super::CapabilityError;

    mod host {
        #[allow(unsafe_code)]
        #[link(wasm_import_module = "modreg")]
        unsafe extern "C" {
            pub(super) fn read_file(
                path: *const u8,
                path_len: usize,
                out: *mut u8,
                out_cap: usize,
            ) -> i64;
            pub(super) fn env_var(
                name: *const u8,
                name_len: usize,
                out: *mut u8,
                out_cap: usize,
            ) -> i64;
            pub(super) fn panic_message(message: *const u8, len: usize);
        }
    }

    type Import = unsafe extern "C" fn(*const u8, usize, *mut u8, usize) -> i64;

    /// Asks `import` for `key`, growing the buffer once if the answer did not fit (twice if it
    /// grew in between).
    fn fetch(import: Import, key: &str) -> Result<Vec<u8>, CapabilityError> {
        let mut buffer = Vec::<u8>::with_capacity(4096);
        for _ in 0..3 {
            #[allow(unsafe_code)]
            // SAFETY: `key` is valid for `key.len()` bytes and `buffer` for `capacity()`
            // writable bytes; the host writes at most `capacity()` bytes and keeps neither.
            let answer = unsafe {
                import(
                    key.as_ptr(),
                    key.len(),
                    buffer.as_mut_ptr(),
                    buffer.capacity(),
                )
            };
            let len = match answer {
                DENIED => return Err(CapabilityError::Denied),
                NOT_FOUND => return Err(CapabilityError::NotFound),
                n if n < 0 => return Err(CapabilityError::Failed),
                n => usize::try_from(n).map_err(|_| CapabilityError::Failed)?,
            };
            if len <= buffer.capacity() {
                #[allow(unsafe_code)]
                // SAFETY: the host wrote `len` bytes, no more than the capacity, into `buffer`.
                unsafe {
                    buffer.set_len(len);
                }
                return Ok(buffer);
            }
            buffer.reserve_exact(len);
        }
        Err(CapabilityError::Failed)
    }

    pub(super) fn read_file(path: &str) -> Result<Vec<u8>, CapabilityError> {
        fetch(host::read_file, path)
    }

    pub(super) fn env_var(name: &str) -> Result<Vec<u8>, CapabilityError> {
        fetch(host::env_var, name)
    }

    pub(super) fn report_panics() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                let message = info.to_string();
                #[allow(unsafe_code)]
                // SAFETY: `message` is valid for `message.len()` bytes; the host copies it.
                unsafe {
                    host::panic_message(message.as_ptr(), message.len());
                }
            }));
        });
    }
}

#[cfg(not(target_family = "wasm"))]
mod imp {
    use std::io::ErrorKind;

    use super::CapabilityError;

    pub(super) fn read_file(path: &str) -> Result<Vec<u8>, CapabilityError> {
        std::fs::read(path).map_err(|e| match e.kind() {
            ErrorKind::NotFound => CapabilityError::NotFound,
            ErrorKind::PermissionDenied => CapabilityError::Denied,
            _ => CapabilityError::Failed,
        })
    }

    pub(super) fn env_var(name: &str) -> Result<Vec<u8>, CapabilityError> {
        std::env::var_os(name)
            .map(std::ffi::OsString::into_encoded_bytes)
            .ok_or(CapabilityError::NotFound)
    }

    pub(super) fn report_panics() {}
}
