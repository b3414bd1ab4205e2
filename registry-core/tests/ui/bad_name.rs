#[allow(unused_imports)]
use modreg_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[plugin(type = Storage, name = "My_Plugin")]
struct A;

fn main() {}
