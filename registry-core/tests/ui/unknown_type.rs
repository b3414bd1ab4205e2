#[allow(unused_imports)]
use modreg_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[plugin(type = DataProcesor)]
struct A;

fn main() {}
