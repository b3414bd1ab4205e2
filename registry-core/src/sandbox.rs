//! Containing a plugin's panic: the call returns `PluginError::Panicked` instead of
//! unwinding through the host.
//!
//! This keeps the registry and every other plugin working after one plugin panics. It does
//! not stop memory corruption in `unsafe` code, an abort, or a plugin that never returns.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::PluginError;

/// Runs `call` for `plugin`, turning a panic into an error that names the plugin and call.
pub fn guard<T>(
    plugin: &str,
    during: &'static str,
    call: impl FnOnce() -> Result<T, PluginError>,
) -> Result<T, PluginError> {
    catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with a non-text payload".to_owned());
        #[cfg(feature = "host")]
        tracing::error!(plugin, during, message, "plugin panicked");
        Err(PluginError::Panicked {
            plugin: plugin.to_owned(),
            during,
            message,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_naming_the_plugin() {
        let err = guard::<()>("p", "process", || panic!("boom")).unwrap_err();
        assert_eq!(err.to_string(), "plugin `p` panicked in process: boom");
        assert_eq!(guard("p", "process", || Ok(1)).unwrap(), 1);
    }
}
