#[allow(unused_imports)]
use modreg_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[plugin_factory(name = "f", type = DataProcessor, variant = ["a"])]
fn make(_: &str) -> Result<Box<dyn Plugin>, PluginError> { unreachable!() }

fn main() {}
