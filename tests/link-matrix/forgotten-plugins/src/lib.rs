//! A plugin crate the host depends on but never names.

use modreg::{PluginBehavior, PluginError, plugin};

/// Never linked into the host.
#[plugin(type = Storage, name = "forgotten-four")]
#[derive(Default)]
pub struct ForgottenFour;

impl PluginBehavior for ForgottenFour {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}
