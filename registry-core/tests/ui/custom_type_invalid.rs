#[allow(unused_imports)]
use modreg_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[plugin(type = Custom("Bad Type"))]
struct A;

fn main() {}
