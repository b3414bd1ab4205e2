// The default registry has no metadata type.
use modreg_core::{PluginBehavior, PluginError, plugin};

#[plugin(type = DataProcessor, meta = 1)]
#[derive(Default)]
struct Upper;

impl PluginBehavior for Upper {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_ascii_uppercase())
    }
}

fn main() {}
