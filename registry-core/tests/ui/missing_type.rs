#[allow(unused_imports)]
use modreg_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[plugin(capabilities = ["processing"])]
struct A;

fn main() {}
