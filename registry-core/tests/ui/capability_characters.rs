#[allow(unused_imports)]
use modreg_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[plugin(type = Storage, capabilities = ["Key Value"])]
struct A;

fn main() {}
