#[allow(unused_imports)]
use modreg_core::{plugin_factory, Plugin, PluginError};

#[plugin_factory(name = "f", type = DataProcessor, interface = "data processor")]
fn make(_: &str) -> Result<Box<dyn Plugin>, PluginError> { Err(PluginError::processing("f", "never")) }

fn main() {}
