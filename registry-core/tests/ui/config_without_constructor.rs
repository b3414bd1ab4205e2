#[allow(unused_imports)]
use modreg_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[derive(serde::Deserialize)]
struct Settings { level: u32 }

#[plugin(type = Storage, config = Settings)]
struct A;

impl PluginBehavior for A {
    fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> { Ok(data.to_vec()) }
}

fn main() {}
