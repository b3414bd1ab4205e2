#[allow(unused_imports)]
use modreg_core::{plugin, plugin_factory, Plugin, PluginBehavior, PluginError};

#[plugin(type = Storage, depends_on = [">= 1.0"])]
struct A;

fn main() {}
