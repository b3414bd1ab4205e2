#[allow(unused_imports)]
use modreg_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[plugin_factory(name = "f", type = DataProcessor)]
struct F;

fn main() {}
