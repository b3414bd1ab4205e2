use modreg_core::{PluginBehavior, PluginError, plugin};

#[plugin(type = DataProcessor, capabilities = ["test"])]
#[derive(Default)]
pub struct Fast;

impl PluginBehavior for Fast {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

modreg_guest::export!(Fast { speed: 9 });

fn main() {}
