#[allow(unused_imports)]
use modreg_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[plugin(type = DataProcessor, colour = "red")]
struct A;

fn main() {}
