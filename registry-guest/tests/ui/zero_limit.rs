use modreg_core::{PluginBehavior, PluginError, plugin};

#[plugin(type = DataProcessor, capabilities = ["test"])]
#[derive(Default)]
pub struct Starved;

impl PluginBehavior for Starved {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        Ok(data.to_vec())
    }
}

modreg_guest::export!(Starved { fuel: 0 });

fn main() {}
