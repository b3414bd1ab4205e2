#[allow(unused_imports)]
use modreg_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[plugin(type = Storage, depends_on = ["base-plugin >= one"])]
struct A;

fn main() {}
