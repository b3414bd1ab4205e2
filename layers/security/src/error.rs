//! `SecurityError`: what the security layer refuses with. It reaches callers inside a
//! [`PluginError`] (`PluginErrorKind::Layer`, layer `security`); read it back with
//! `err.layer_error::<SecurityError>()`.

use modreg_core::PluginError;

/// Why the security layer refused.
///
/// ```
/// use modreg_core::PluginError;
/// use modreg_security::SecurityError;
///
/// let err = PluginError::from(SecurityError::Unsigned { plugin: "csv-reader".into() });
/// assert!(matches!(err.layer_error::<SecurityError>(), Some(SecurityError::Unsigned { .. })));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecurityError {
    /// Every sandbox worker thread is busy (calls that timed out may still be running): the
    /// call is refused rather than given another thread.
    #[error(
        "plugin `{plugin}` cannot run: all {limit} sandbox workers are busy (calls that timed out may still be running)"
    )]
    SandboxExhausted {
        /// The plugin.
        plugin: String,
        /// How many workers may run at once.
        limit: usize,
    },

    /// A principal may not do what it asked.
    #[error("principal `{principal}` may not {operation} plugin `{plugin}`")]
    AccessDenied {
        /// Who asked.
        principal: String,
        /// What was asked.
        operation: &'static str,
        /// On which plugin.
        plugin: String,
    },

    /// An audit file is configured and cannot be written: the operation is refused rather
    /// than done unrecorded.
    #[error(
        "the audit file cannot be written ({reason}); `{operation}` of plugin `{plugin}` is refused"
    )]
    AuditUnavailable {
        /// What was asked.
        operation: &'static str,
        /// On which plugin.
        plugin: String,
        /// Why the file cannot be written.
        reason: String,
    },

    /// Authentication is on and the change carries no signature.
    #[error(
        "the change to `{plugin}` is unsigned, and plugin authentication requires a trusted key's signature (a signed manifest; for a WebAssembly module, its `.wasm.sig` file)"
    )]
    Unsigned {
        /// The plugin concerned (a WebAssembly module's file name when the module itself is
        /// checked, before its plugins are read).
        plugin: String,
    },

    /// The signature names a key that is not trusted.
    #[error("the change to `{plugin}` is signed with key `{key}`, which is not trusted")]
    UntrustedKey {
        /// The plugin concerned (or a WebAssembly module's file name).
        plugin: String,
        /// The key named.
        key: String,
    },

    /// The signature does not match what was signed: it was altered, or signed by another
    /// key.
    #[error(
        "the change to `{plugin}` does not match its signature by key `{key}`: it was altered or wrongly signed"
    )]
    BadSignature {
        /// The plugin concerned (or a WebAssembly module's file name).
        plugin: String,
        /// The key named.
        key: String,
    },
}

impl From<SecurityError> for PluginError {
    fn from(error: SecurityError) -> Self {
        PluginError::from_layer("security", error)
    }
}
